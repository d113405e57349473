package seals

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/store"
)

// Signing is what signing with a seal needs: the seal, its signature algorithm, its private key
// (opened from the Keyring, as a crypto.Signer: the key itself never leaves the package), its
// certificate, the CA chain and the picture. Pass Options to SignPDF; for an SM2 seal, SignSES
// makes a GB/T 38540 electronic signature.
type Signing struct {
	Seal      Seal
	Algorithm Algorithm // the seal's (Seal.SigningAlgorithm)
	Signer    crypto.Signer
	Cert      *x509.Certificate // for an SM2 seal, parsed by smx509 (crypto/x509 cannot verify under it)
	Chain     []*x509.Certificate
	Picture   *Picture
	// ESeal is the DER SESeal (GB/T 38540 v4) of an SM2 seal, nil for an ECDSA seal.
	ESeal []byte
	// LongTerm is the PAdES level, TSA and CRLs the registry signs with (SetLongTerm); nil for
	// plain signatures. SignSES takes its TSA for the SES_Signature's timeStamp.
	LongTerm *LongTerm
}

// Options returns the SignOptions that place the seal at rect (PDF points) on page, with the
// reason and the signing time at, signed with the seal's algorithm.
func (g *Signing) Options(page int, rect [4]float64, reason string, at time.Time) SignOptions {
	return SignOptions{
		Signer: g.Signer, Cert: g.Cert, Chain: g.Chain, Page: page, Rect: rect, Picture: g.Picture,
		Reason: reason, Name: g.Seal.Name, Time: at, Algorithm: g.Algorithm, LongTerm: g.LongTerm,
	}
}

// mayUse checks that actor may sign with s at t for the licence type typeCode ("" skips the
// type check): the seal belongs to the actor's organisation (or the actor is certseal.System, the
// service itself), is active, within its validity at t, and authorised for the type.
func mayUse(s Seal, actor certseal.Actor, typeCode string, t time.Time) error {
	if actor.UserID != certseal.System.UserID && s.OrgID != actor.OrgID {
		return certseal.Errorf(certseal.EForbidden, "印章 %s（%s）属于%s，本机构不能使用", s.ID, s.Name, s.OrgName).WithDetail("seal_id", s.ID)
	}
	switch s.Status {
	case StatusSuspended:
		return certseal.Errorf(certseal.EConflict, "印章 %s（%s）已暂停使用：%s", s.ID, s.Name, s.StatusReason).WithDetail("status", string(s.Status))
	case StatusRevoked:
		return certseal.Errorf(certseal.EConflict, "印章 %s（%s）已吊销：%s", s.ID, s.Name, s.StatusReason).WithDetail("status", string(s.Status))
	}
	switch {
	case !t.Before(s.ValidTo):
		return certseal.Errorf(certseal.EConflict, "印章 %s（%s）已于 %s 过期", s.ID, s.Name, s.ValidTo.In(certseal.China).Format("2006-01-02")).WithDetail("status", string(StatusExpired))
	case t.Before(s.ValidFrom):
		return certseal.Errorf(certseal.EConflict, "印章 %s（%s）自 %s 起才能使用", s.ID, s.Name, s.ValidFrom.In(certseal.China).Format("2006-01-02")).WithDetail("status", string(StatusNotYetValid))
	}
	if typeCode != "" && !s.Authorises(typeCode) {
		return certseal.Errorf(certseal.EForbidden, "印章 %s（%s）未被授权签发证照类型 %s", s.ID, s.Name, typeCode).WithDetail("licence_type", typeCode)
	}
	return nil
}

// SignerFor returns what signing a certificate of licence type typeCode with the seal at time at
// needs, after checking that the seal exists, belongs to the actor's organisation, is active,
// within its validity at at, and authorised for the type. Opened keys are cached in memory per
// seal. It returns a *certseal.Error: ENotFound for an unknown seal, EForbidden for another
// organisation's seal or a type the seal is not authorised for, EConflict for a suspended,
// revoked or expired seal; and the errors of the Keyring, CA and Picture otherwise.
func (r *Registry) SignerFor(ctx context.Context, actor certseal.Actor, sealID, typeCode string, at time.Time) (*Signing, error) {
	if strings.TrimSpace(typeCode) == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	var s Seal
	var sealed, eseal []byte
	err := r.db.View(func(tx *store.Tx) error {
		var err error
		if s, err = getTx(tx, sealID); err != nil {
			return err
		}
		if err := mayUse(s, actor, typeCode, at); err != nil {
			return err
		}
		if v := tx.Get(BucketESeals, []byte(s.ID)); v != nil {
			eseal = append([]byte(nil), v...)
		}
		if r.cachedSigner(s.ID) == nil {
			sealed = tx.Get(BucketKeys, []byte(s.ID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	alg, err := s.SigningAlgorithm()
	if err != nil {
		return nil, err
	}
	key := r.cachedSigner(s.ID)
	if key == nil {
		if sealed == nil {
			if err := r.db.View(func(tx *store.Tx) error {
				sealed = tx.Get(BucketKeys, []byte(s.ID))
				return nil
			}); err != nil {
				return nil, err
			}
		}
		if sealed == nil {
			return nil, certseal.Errorf(certseal.EInternal, "印章 %s 缺少密钥", s.ID)
		}
		if key, err = r.keys.Open(sealed); err != nil {
			return nil, err
		}
		r.cacheSigner(s.ID, key)
	}
	cert, err := s.cert()
	if err != nil {
		return nil, err
	}
	chain, err := r.sealChain(ctx, alg.Name())
	if err != nil {
		return nil, err
	}
	pic, _, err := r.Picture(ctx, s.ID)
	if err != nil {
		return nil, err
	}
	if alg.Name() == AlgSM2 && eseal == nil {
		return nil, certseal.Errorf(certseal.EInternal, "SM2 印章 %s 缺少电子印章数据（SESeal）", s.ID)
	}
	lt, err := r.longTerm(ctx)
	if err != nil {
		return nil, err
	}
	return &Signing{Seal: s, Algorithm: alg, Signer: key, Cert: cert, Chain: chain, Picture: pic, ESeal: eseal, LongTerm: lt}, nil
}

func (r *Registry) cachedSigner(id string) crypto.Signer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signers[id]
}

func (r *Registry) cacheSigner(id string, k crypto.Signer) {
	r.mu.Lock()
	r.signers[id] = k
	r.mu.Unlock()
}

// Use is one entry of the seal-use log: which seal signed which document, when, who, and for
// what.
type Use struct {
	Seq       uint64    `json:"seq"`
	SealID    string    `json:"seal_id"`
	Time      time.Time `json:"time"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	OrgID     string    `json:"org_id"`
	DocSHA256 string    `json:"doc_sha256"` // hexadecimal
	Purpose   string    `json:"purpose"`
	ObjectID  string    `json:"object_id,omitempty"` // e.g. the certificate's id
}

// MaxPurposeLen bounds a use's purpose.
const MaxPurposeLen = 200

func useKey(sealID string, seq uint64) []byte { return append(store.Prefix(sealID), store.U64(seq)...) }

// RecordUseTx appends to the seal-use log, inside the caller's transaction (the one that stores
// the signed document), that actor signed the document whose SHA-256 is docSHA256 with the seal
// at now, for purpose, about objectID. It checks again, in that transaction, that the seal
// exists and that actor may still use it at now (it may have been suspended since SignerFor),
// so that a document signed meanwhile is not stored. It returns a *certseal.Error: ENotFound,
// EForbidden or EConflict as SignerFor does, EInvalid when the purpose is empty or too long;
// and the store's error otherwise.
func RecordUseTx(tx *store.Tx, now time.Time, actor certseal.Actor, sealID string, docSHA256 [32]byte, purpose, objectID string) error {
	purpose = strings.TrimSpace(purpose)
	if purpose == "" {
		return certseal.Errorf(certseal.EInvalid, "请说明用印事由")
	}
	if utf8.RuneCountInString(purpose) > MaxPurposeLen || len(objectID) > 200 {
		return certseal.Errorf(certseal.EInvalid, "用印事由不能超过 %d 个字", MaxPurposeLen)
	}
	s, err := getTx(tx, sealID)
	if err != nil {
		return err
	}
	if err := mayUse(s, actor, "", now); err != nil {
		return err
	}
	seq, err := tx.NextID(BucketUses)
	if err != nil {
		return err
	}
	u := Use{Seq: seq, SealID: s.ID, Time: now.UTC(), UserID: actor.UserID, Username: actor.Username, OrgID: actor.OrgID,
		DocSHA256: hex.EncodeToString(docSHA256[:]), Purpose: purpose, ObjectID: objectID}
	return tx.PutJSON(BucketUses, useKey(s.ID, seq), u)
}

// Uses returns up to limit entries of the seal's use log, newest first, before the cursor
// `before` ("" for the first page), and the cursor of the next page ("" when there is none). It
// returns a *certseal.Error: ENotFound for an unknown seal, EInvalid for a bad cursor.
func (r *Registry) Uses(ctx context.Context, sealID, before string, limit int) ([]Use, string, error) {
	if limit <= 0 {
		limit = 50
	}
	var start []byte
	if before != "" {
		n, err := strconv.ParseUint(before, 10, 64)
		if err != nil || n == 0 {
			return nil, "", certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", before)
		}
		start = useKey(sealID, n)
	}
	var out []Use
	next := ""
	err := r.db.View(func(tx *store.Tx) error {
		if _, err := getTx(tx, sealID); err != nil {
			return err
		}
		return tx.ScanReverse(BucketUses, store.Prefix(sealID), start, func(_, v []byte) error {
			var u Use
			if err := jsonUnmarshal(v, &u); err != nil {
				return err
			}
			if len(out) == limit {
				next = strconv.FormatUint(out[len(out)-1].Seq, 10)
				return store.ErrStop
			}
			out = append(out, u)
			return nil
		})
	})
	return out, next, err
}

// Report is a signature's validation report with the seal's status from the registry.
type Report struct {
	SignatureReport
	// Registered is true when the signer certificate is the certificate of a seal in this
	// registry (same seal id and serial number).
	Registered bool
	// StatusAtSigning and StatusNow are the seal's effective status at the signing time and now
	// (StatusUnknown when the seal is not registered or the signing time is unknown).
	StatusAtSigning Status
	StatusNow       Status
}

// ValidateWithStatus validates every signature in pdf (see ValidatePDF) against the registry's
// CA and adds the seal's status at the signing time and now, from the seal's status history.
// Problems with the status are added, in Chinese, to the report's Problems. It returns a
// *certseal.Error (EInvalid) when pdf is not a PDF, and the errors of CA otherwise.
func (r *Registry) ValidateWithStatus(ctx context.Context, pdf []byte) ([]Report, error) {
	roots, _, err := r.roots(ctx)
	if err != nil {
		return nil, err
	}
	now := r.clock.Now()
	reps, err := ValidatePDFContext(ctx, pdf, roots, now)
	if err != nil {
		return nil, err
	}
	out := make([]Report, len(reps))
	err = r.db.View(func(tx *store.Tx) error {
		for i, rep := range reps {
			out[i] = Report{SignatureReport: rep, StatusAtSigning: StatusUnknown, StatusNow: StatusUnknown}
			if rep.SealID == "" {
				continue
			}
			s, err := getTx(tx, rep.SealID)
			if err != nil || !s.hasSerial(rep.Serial) { // the current certificate or one before a renewal
				out[i].Problems = append(out[i].Problems, "签名证书不是本系统登记的印章证书")
				continue
			}
			out[i].Registered = true
			at := rep.Time // the claimed time, unless a trusted timestamp proves one
			if !rep.Timestamp.IsZero() {
				at = rep.Timestamp
			}
			if !at.IsZero() {
				out[i].StatusAtSigning = s.EffectiveStatus(at)
			}
			out[i].StatusNow = s.EffectiveStatus(now)
			switch out[i].StatusAtSigning {
			case StatusActive:
			case StatusUnknown:
				out[i].Problems = append(out[i].Problems, "无法确定签章时印章的状态")
			default:
				out[i].Problems = append(out[i].Problems, "签章时印章状态为“"+out[i].StatusAtSigning.Label()+"”")
			}
			if out[i].StatusNow == StatusRevoked {
				out[i].Problems = append(out[i].Problems, "印章现已吊销："+s.StatusReason)
			}
		}
		return nil
	})
	return out, err
}
