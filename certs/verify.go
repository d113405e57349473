package certs

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"certseal"
	"certseal/internal/store"
)

// PublicView is what anyone may see of a certificate when verifying it (核验): the core fields,
// the status now with its national code and label, the issuer, the seal and the validity. A
// natural person's name and document number are masked (see MaskPersonName); the free-text
// reason of the status is not shown (the issuer reads it through the authenticated API).
type PublicView struct {
	Identifier     string `json:"identifier"`
	LicenceNumber  string `json:"licence_number"`
	Name           string `json:"name"`
	Version        int    `json:"version"`
	HolderName     string `json:"holder_name"`
	HolderCode     string `json:"holder_code"`
	HolderCodeType string `json:"holder_code_type"`
	IssuerName     string `json:"issuer_name"`
	IssuerCode     string `json:"issuer_code"`
	SealName       string `json:"seal_name"`
	SealID         string `json:"seal_id"`
	IssueDate      string `json:"issue_date"`
	ValidFrom      string `json:"valid_from"`
	ValidTo        string `json:"valid_to,omitempty"`
	Status         Status `json:"status"`
	StatusLabel    string `json:"status_label"`
	ItemName       string `json:"item_name"`
	SupersededBy   string `json:"superseded_by,omitempty"` // identifier of the newer version that took effect
	// SupersededFrom is the date the newer version took effect (with SupersededBy).
	SupersededFrom string `json:"superseded_from,omitempty"`
	CheckedAt      string `json:"checked_at"`
}

func (s *Service) publicView(tx *store.Tx, c Certificate) PublicView {
	s.present(&c)
	holderName, holderCode := publicHolder(c.Holder)
	v := PublicView{Identifier: c.Identifier, LicenceNumber: c.LicenceNumber, Name: c.Name, Version: c.Version,
		HolderName: holderName, HolderCode: holderCode, HolderCodeType: c.Holder.CodeType,
		IssuerName: c.IssuerName, IssuerCode: c.IssuerCode, SealName: c.SealName, SealID: c.SealID, IssueDate: c.IssueDate,
		ValidFrom: c.ValidFrom, ValidTo: c.ValidTo, Status: c.Status, StatusLabel: c.Status.Label(),
		ItemName: c.ItemName, CheckedAt: s.Clock.Now().In(certseal.China).Format("2006-01-02 15:04:05")}

	v.StatusLabel = c.StatusLabel // as of now: 未生效, 已由第N版取代 (present)
	if c.Superseded(s.Clock.Now()) {
		v.SupersededFrom = c.SupersededFrom
		if n, err := GetTx(tx, c.SupersededBy); err == nil {
			v.SupersededBy = n.Identifier
		}
	}
	return v
}

// Lookup returns the public view of a certificate found by identifier or licence number: for a
// number, the newest version, or the one still in force while the newest has not taken effect.
// It returns an *certseal.Error (ENotFound, or EInvalid for a reference that is neither).
func (s *Service) Lookup(ctx context.Context, ref string) (PublicView, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 120 {
		return PublicView{}, certseal.Errorf(certseal.EInvalid, "请输入证照标识或证照编号")
	}
	var v PublicView
	err := s.DB.View(func(tx *store.Tx) error {
		c, err := LookupTx(tx, ref)
		if err != nil {
			if strings.HasPrefix(ref, IdentifierPrefix) {
				if _, perr := ParseIdentifier(ref); perr != nil {
					return perr
				}
			}
			return err
		}
		if ref != c.Identifier {
			c = inForce(tx, c, s.Clock.Now())
		}
		v = s.publicView(tx, c)
		return nil
	})
	return v, err
}

// inForce returns, for a licence number whose newest version has not taken effect yet (a renewal
// before the end of the old one), the previous version still in force; otherwise c.
func inForce(tx *store.Tx, c Certificate, now time.Time) Certificate {
	if c.PreviousID == "" || c.effectiveStatus(now) != StatusPending {
		return c
	}
	prev, err := GetTx(tx, c.PreviousID)
	if err != nil || prev.effectiveStatus(now) != StatusValid {
		return c
	}
	return prev
}

// Verdicts of a PDF verification.
const (
	VerdictValid     = "valid"
	VerdictModified  = "modified"
	VerdictUnknown   = "unknown"
	VerdictRevoked   = "revoked"
	VerdictSuspended = "suspended"
	VerdictExpired   = "expired"
	// VerdictSuperseded: a newer version (renewal, change, transfer in) has taken effect; the
	// label is 已由第N版取代 and the certificate's superseded_by names the new identifier.
	VerdictSuperseded = "superseded"
	// VerdictNotYetValid: the certificate's validity has not begun (未生效).
	VerdictNotYetValid = "not_yet_valid"
	// VerdictTransferred: transferred out (06) to another bureau, not yet transferred in.
	VerdictTransferred = "transferred_out"
)

// PDFVerdict is the answer to "is this PDF a valid certificate of ours?".
type PDFVerdict struct {
	Verdict     string           `json:"verdict"`
	Label       string           `json:"label"`
	Reasons     []string         `json:"reasons"`
	SHA256      string           `json:"sha256"`
	Certificate *PublicView      `json:"certificate,omitempty"`
	Signatures  []SignatureCheck `json:"signatures"`
	// ProvenTime is the sealing time proven by a trusted timestamp, TSA its authority,
	// PAdESLevel the seal signature's level (atSealing).
	ProvenTime *time.Time `json:"proven_time,omitempty"`
	TSA        string     `json:"tsa,omitempty"`
	PAdESLevel string     `json:"pades_level,omitempty"`
	// Format is "ofd" for an OFD package (VerifyOFD); absent for a PDF.
	Format string `json:"format,omitempty"`
}

var verdictLabels = map[string]string{
	VerdictValid: "有效", VerdictModified: "文件已被改动", VerdictUnknown: "无法确认（非本系统签发）",
	VerdictRevoked: "已撤销或不再有效", VerdictSuspended: "已暂扣", VerdictExpired: "已过期失效",
	VerdictSuperseded: "已由新版本取代", VerdictNotYetValid: "未生效", VerdictTransferred: "已办理转出",
}

// VerdictLabel returns the Chinese label of a verdict ("" for an unknown one); a superseded
// certificate's own label names the version (已由第N版取代).
func VerdictLabel(verdict string) string { return verdictLabels[verdict] }

// MaxVerifyPDF is the largest PDF POST /api/v1/verify accepts.
const MaxVerifyPDF = 20 << 20

// VerifyPDF checks a PDF: its signatures (with the seal's status at signing time and now), that
// its hash is one we issued, and the certificate's current status. It returns an error only
// when the store fails; a broken file is a verdict, not an error.
func (s *Service) VerifyPDF(ctx context.Context, pdf []byte) (PDFVerdict, error) {
	now := s.Clock.Now()
	sum := sha256.Sum256(pdf)
	out := PDFVerdict{SHA256: hex.EncodeToString(sum[:])}
	var checks []SignatureCheck
	reports, err := s.Validator.ValidateWithStatus(ctx, pdf)
	if err != nil {
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "无法读取文件中的签名："+certseal.ErrorMessage(err))
	} else {
		checks = signatureChecks(reports)
	}
	out.Signatures = checks
	var c Certificate
	found := false
	parts := signedPartHashes(pdf, checks) // hashed before the read transaction
	err = s.DB.View(func(tx *store.Tx) error {
		if cert, err := ByHashTx(tx, out.SHA256); err == nil {
			c, found = cert, true
			v := s.publicView(tx, c)
			out.Certificate = &v
			return nil
		}
		// A signed revision followed by appended bytes: find the certificate by the signed part,
		// which ends where the signature's byte range ends (one hash per signature, never one
		// per %%EOF: a file of many appended %%EOF markers must not cost quadratic time).
		for _, h := range parts {
			if cert, err := ByHashTx(tx, h); err == nil {
				v := s.publicView(tx, cert)
				out.Certificate = &v
				c = cert
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	switch {
	case out.Verdict != "":
	case len(checks) == 0:
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "文件中没有电子签章")
	case !anySigned(checks):
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "文件中没有可读取的电子签章")
	case !allValid(checks):
		out.Verdict = VerdictModified
		out.Reasons = append(out.Reasons, "电子签章验证失败：文件在签章后被改动")
	case !found && out.Certificate != nil:
		out.Verdict = VerdictModified
		out.Reasons = append(out.Reasons, "签章后文件末尾被追加了内容（签章部分完好）")
	case !found:
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "签章有效，但这份文件不是本系统签发的证照")
	}
	for _, ch := range checks {
		if !ch.Trusted && out.Verdict == "" {
			out.Reasons = append(out.Reasons, "签章证书不是由本系统的根证书签发的")
		}
		out.Reasons = append(out.Reasons, ch.Problems...)
	}
	atSealing(&out, checks)
	return finish(out, &c, now), nil
}

// statusVerdict is the verdict on an intact PDF of a certificate in force no longer.
func statusVerdict(st Status) string {
	switch st {
	case StatusSuspended:
		return VerdictSuspended
	case StatusExpired:
		return VerdictExpired
	case StatusTransferredOut:
		return VerdictTransferred
	}
	return VerdictRevoked
}

func allValid(cs []SignatureCheck) bool {
	for _, c := range cs {
		if !c.Valid {
			return false
		}
	}
	return true
}

// ListSigner signs the status list (ECDSA over SHA-256, the signature in ASN.1 DER) and gives
// the signer's certificate in PEM. *seals.Registry implements it with the root CA's key.
type ListSigner interface {
	SignStatusList(ctx context.Context, data []byte) (signature, signerCertPEM []byte, err error)
}

// StatusList is a signed list of revoked and suspended certificates in the manner of the W3C
// Bitstring Status List: bit i of a list is set when the certificate whose status_list_index is
// i has that status. Offline verifiers fetch it now and then.
type StatusList struct {
	Type       string    `json:"type"`
	Issuer     string    `json:"issuer"`
	ValidFrom  time.Time `json:"validFrom"`
	ValidUntil time.Time `json:"validUntil"`
	Size       uint64    `json:"size"`
	Lists      []struct {
		Purpose     string `json:"statusPurpose"`
		EncodedList string `json:"encodedList"` // base64url(gzip(bitstring)), most significant bit first
	} `json:"credentialSubject"`
	Proof struct {
		Type      string `json:"type"`
		Algorithm string `json:"alg"`
		Signature string `json:"signature"` // base64url ECDSA-SHA256 over the list without proof
		SignerPEM string `json:"signer_certificate"`
	} `json:"proof"`
}

// StatusList builds the signed status list from the records. It returns an error when the
// store or the signer fails.
func (s *Service) StatusList(ctx context.Context, signer ListSigner, issuer string) (*StatusList, error) {
	now := s.Clock.Now()
	var revoked, suspended []byte
	var size uint64
	err := s.DB.View(func(tx *store.Tx) error {
		size = tx.Sequence(bucketRecords)
		n := (size + 8) / 8
		if n < 16*1024 {
			n = 16 * 1024 // 131,072 entries at least, so the list does not reveal how many exist
		}
		revoked, suspended = make([]byte, n), make([]byte, n)
		return tx.Scan(bucketRecords, nil, nil, func(_, v []byte) error {
			var c Certificate
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			i := c.StatusIndex
			switch c.effectiveStatus(now) {
			case StatusSuspended:
				suspended[i/8] |= 0x80 >> (i % 8)
			case StatusValid, StatusPending: // 未生效 is not revoked: its dates tell the rest
			default:
				revoked[i/8] |= 0x80 >> (i % 8)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	l := &StatusList{Type: "BitstringStatusListCredential", Issuer: issuer, ValidFrom: now.UTC(), ValidUntil: now.UTC().Add(24 * time.Hour), Size: size}
	for _, p := range []struct {
		name string
		bits []byte
	}{{"revocation", revoked}, {"suspension", suspended}} {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(p.bits)
		zw.Close()
		l.Lists = append(l.Lists, struct {
			Purpose     string `json:"statusPurpose"`
			EncodedList string `json:"encodedList"`
		}{p.name, base64.RawURLEncoding.EncodeToString(buf.Bytes())})
	}
	unsigned, err := json.Marshal(struct {
		*StatusList
		Proof any `json:"proof,omitempty"`
	}{StatusList: l})
	if err != nil {
		return nil, err
	}
	der, pem, err := signer.SignStatusList(ctx, unsigned)
	if err != nil {
		return nil, err
	}
	// ES256 as JOSE defines it: the 64-byte R‖S, not the signer's DER.
	sig, err := p256Raw(der)
	if err != nil {
		return nil, err
	}
	l.Proof.Type, l.Proof.Algorithm = "DataIntegrityProof", "ES256"
	l.Proof.Signature = base64.RawURLEncoding.EncodeToString(sig)
	l.Proof.SignerPEM = string(pem)
	return l, nil
}

// finish completes a verdict whose signature and file checked out (out.Verdict still empty) from
// the certificate's live status at now, and sets the label; the PDF and the OFD verification
// share it.
func finish(out PDFVerdict, c *Certificate, now time.Time) PDFVerdict {
	label := ""
	if out.Verdict == "" {
		switch {
		case c.Superseded(now):
			out.Verdict, label = VerdictSuperseded, c.SupersededLabel()
			out.Reasons = append(out.Reasons, fmt.Sprintf("签章有效，文件未被改动；证照%s（%s），请以新版本为准", c.SupersededLabel(), out.Certificate.SupersededBy))
		case out.Certificate.Status == StatusValid:
			out.Verdict = VerdictValid
			out.Reasons = append(out.Reasons, "签章有效，文件未被改动，证照状态有效")
		case out.Certificate.Status == StatusPending:
			out.Verdict = VerdictNotYetValid
			out.Reasons = append(out.Reasons, fmt.Sprintf("签章有效，文件未被改动；证照自%s起生效，目前尚未生效", c.ValidFrom))
		default:
			out.Verdict = statusVerdict(out.Certificate.Status)
			out.Reasons = append(out.Reasons, fmt.Sprintf("证照当前状态：%s", out.Certificate.StatusLabel))
		}
	}
	out.Label = verdictLabels[out.Verdict]
	if label != "" {
		out.Label = label
	}
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	return out
}
