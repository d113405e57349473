package use

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/seals"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// CopySealName is the name of the city center's seal that signs copies (its registration in the
// seal registry): the first active ECDSA seal of the city center with this name, else its first
// active ECDSA seal.
const CopySealName = "电子证照用证专用章"

// copySeal returns the id of the seal that signs copies.
func (s *Service) copySeal(ctx context.Context) (string, string, error) {
	var center certseal.Org
	if err := s.DB.View(func(tx *store.Tx) error {
		var err error
		center, err = orgs.CityCenterTx(tx)
		return err
	}); err != nil {
		return "", "", err
	}
	list, _, err := s.Seals.List(ctx, seals.SealFilter{OrgID: center.ID, Status: seals.StatusActive}, "", 200)
	if err != nil {
		return "", "", err
	}
	id := ""
	for _, sl := range list {
		if sl.Algorithm != "" && sl.Algorithm != seals.AlgECDSAP256 {
			continue
		}
		if strings.Contains(sl.Name, CopySealName) {
			return sl.ID, center.Name, nil
		}
		if id == "" {
			id = sl.ID
		}
	}
	if id == "" {
		return "", "", certseal.Errorf(certseal.EConflict, "市政务服务中心还没有可用的 ECDSA 电子印章，不能制作加注件；请管理员先登记印章")
	}
	return id, center.Name, nil
}

// Normalise checks a request's fields and fills in the copy's validity; it returns a
// *certseal.Error (EInvalid) naming the first bad field.
func (r *Request) Normalise(now time.Time) error {
	r.Ref, r.HolderCode, r.TypeCode = strings.TrimSpace(r.Ref), strings.ToUpper(strings.TrimSpace(r.HolderCode)), strings.TrimSpace(r.TypeCode)
	r.ItemCode, r.BusinessSerial, r.ConsentCode = strings.TrimSpace(r.ItemCode), strings.TrimSpace(r.BusinessSerial), strings.TrimSpace(r.ConsentCode)
	switch {
	case r.Ref == "" && (r.HolderCode == "" || r.TypeCode == ""):
		return certseal.Errorf(certseal.EInvalid, "请填写证照标识或证照编号，或者持证主体代码和证照类型").WithDetail("field", "ref")
	case len(r.Ref) > 120 || len(r.HolderCode) > 40 || len(r.TypeCode) > 40 || len(r.ItemCode) > 40:
		return certseal.Errorf(certseal.EInvalid, "证照标识、主体代码、类型或事项编码过长")
	case r.ItemCode == "":
		return certseal.Errorf(certseal.EInvalid, "请填写办理事项编码").WithDetail("field", "item_code")
	case !validSerial(r.BusinessSerial):
		return certseal.Errorf(certseal.EInvalid, "办件编号应为 1 至 %d 位字母、数字或 - _ / .", MaxSerialLen).WithDetail("field", "business_serial")
	case r.ConsentCode != "" && !ValidCode(r.ConsentCode):
		return certseal.Errorf(EConsentInvalid, "用证授权码应为 6 位数字").WithDetail("field", "consent_code")
	}
	p, err := trimmed(r.Purpose, "用途", MaxPurposeLen, false)
	if err != nil {
		return err
	}
	r.Purpose = p
	today := now.In(certseal.China)
	last := today.AddDate(0, 0, DefaultCopyDays)
	if r.ValidUntil != "" {
		t, err := time.ParseInLocation("2006-01-02", r.ValidUntil, certseal.China)
		if err != nil {
			return certseal.Errorf(certseal.EInvalid, "加注件有效期应为日期，如 2026-12-31").WithDetail("field", "valid_until")
		}
		if t.Before(today.Truncate(24*time.Hour)) || t.After(today.AddDate(0, 0, MaxCopyDays)) {
			return certseal.Errorf(certseal.EInvalid, "加注件有效期应在今天至 %d 天之内", MaxCopyDays).WithDetail("field", "valid_until")
		}
		last = t
	}
	r.ValidUntil = last.Format("2006-01-02")
	return nil
}

// find returns the certificate a request names.
func (s *Service) find(ctx context.Context, r *Request) (certs.Certificate, error) {
	if r.Ref != "" {
		var c certs.Certificate
		err := s.DB.View(func(tx *store.Tx) error {
			var err error
			c, err = certs.LookupTx(tx, r.Ref)
			return err
		})
		return c, err
	}
	list, _, err := s.Certs.List(ctx, certseal.System, certs.Filter{HolderCode: r.HolderCode, TypeCode: r.TypeCode}, "", 50)
	if err != nil {
		return certs.Certificate{}, err
	}
	for _, c := range list { // the newest in force
		if c.Status == certs.StatusValid {
			return c, nil
		}
	}
	if len(list) > 0 {
		return list[0], nil
	}
	return certs.Certificate{}, certseal.Errorf(certseal.ENotFound, "没有找到持证主体代码为 %s、证照类型为 %s 的证照", r.HolderCode, r.TypeCode)
}

// authorisedTx returns the live authorisation of org for the item and type, or nil.
func authorisedTx(tx *store.Tx, now time.Time, orgID, itemCode, typeCode string) (*Authorisation, error) {
	var found *Authorisation
	today := now.In(certseal.China).Format("2006-01-02")
	err := tx.Scan(bucketAuths, nil, nil, func(_, v []byte) error {
		var a Authorisation
		if err := jsonUnmarshal(v, &a); err != nil {
			return err
		}
		if !a.Revoked && a.OrgID == orgID && a.ItemCode == itemCode && (a.TypeCode == "" || a.TypeCode == typeCode) && today <= a.ValidTo {
			found = &a
			return store.ErrStop
		}
		return nil
	})
	return found, err
}

// Make records a use of a certificate by the actor's organisation and makes its purpose-stamped
// copy. Consent is a standing authorisation of the organisation for the item (and type), else
// the holder's consent code. Without either it returns a *certseal.Error with code
// EConsentRequired whose detail "certificate" is the public verdict (and nothing else is
// returned); a wrong code is EConsentInvalid (and counts a failure); other errors: EInvalid,
// ENotFound, EConflict for a certificate not in force, ERateLimited after too many failures.
// Nothing is recorded unless the whole use is.
func (s *Service) Make(ctx context.Context, actor certseal.Actor, r Request) (Use, error) {
	now := s.Clock.Now()
	if err := r.Normalise(now); err != nil {
		return Use{}, err
	}
	key := "user:" + actor.UserID
	if s.blocked(key, now) {
		return Use{}, tooMany()
	}
	c, err := s.find(ctx, &r)
	if err != nil {
		return Use{}, err
	}
	var org certseal.Org
	var auth *Authorisation
	var itemName string
	if err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if org, err = orgOf(tx, actor); err != nil {
			return err
		}
		it, err := itemOf(tx, r.ItemCode)
		if err != nil {
			return err
		}
		itemName = it.Name
		auth, err = authorisedTx(tx, now, actor.OrgID, it.Code, c.TypeCode)
		if err == nil && auth == nil && it.Code != r.ItemCode {
			auth, err = authorisedTx(tx, now, actor.OrgID, r.ItemCode, c.TypeCode)
		}
		return err
	}); err != nil {
		return Use{}, err
	}
	if auth == nil && r.ConsentCode == "" {
		pv, err := s.Certs.Lookup(ctx, c.Identifier)
		if err != nil {
			return Use{}, err
		}
		return Use{}, certseal.Errorf(EConsentRequired, "需要持证人出示的用证授权码，或市政务服务中心对本单位该事项的授权；现在只能提供公开核验结果").WithDetail("certificate", pv)
	}
	if st := c.StatusText(now); st != certs.StatusValid.Label() {
		return Use{}, certseal.Errorf(certseal.EConflict, "证照当前状态为「%s」，不能制作加注件", st)
	}
	sealID, centerName, err := s.copySeal(ctx)
	if err != nil {
		return Use{}, err
	}
	// Check the code before the work (a wrong one is recorded now); it is redeemed again,
	// and consumed, in the transaction that records the use.
	if auth == nil {
		if err := s.checkConsent(actor, org.Name, key, c.ID, r.ConsentCode, false, func(*store.Tx, *Consent) error { return nil }); err != nil {
			return Use{}, err
		}
	}
	orig, _, err := s.Certs.PDF(ctx, certseal.System, c.ID)
	if err != nil {
		return Use{}, err
	}
	var useID uint64
	if err := s.DB.View(func(tx *store.Tx) error { useID = tx.Sequence(bucketUses) + 1; return nil }); err != nil {
		return Use{}, err
	}
	u := Use{CertificateID: c.ID, Identifier: c.Identifier, LicenceNumber: c.LicenceNumber, LicenceName: c.Name, HolderName: c.Holder.Name,
		TypeCode: c.TypeCode, ItemCode: r.ItemCode, ItemName: itemName, BusinessSerial: r.BusinessSerial, Purpose: r.Purpose,
		OrgID: org.ID, OrgName: org.Name, UserID: actor.UserID, Username: actor.Username, Time: now, ValidUntil: r.ValidUntil, SealID: sealID,
		OriginalSize: len(orig)}
	sum := sha256.Sum256(orig)
	u.OriginalSHA256 = hex.EncodeToString(sum[:])
	pdf, err := s.stamp(ctx, orig, &u, useID, centerName, now)
	if err != nil {
		return Use{}, err
	}
	// the copy goes to the document store, durably, before the commit that records it (a copy is
	// about twice a certificate: nothing that large belongs in the database, nor in etcd)
	if u.CopySHA256, err = s.Certs.PutDocument(pdf); err != nil {
		return Use{}, err
	}
	u.CopySize = len(pdf)
	commit := func(tx *store.Tx, cs *Consent) error {
		if tx.Sequence(bucketUses)+1 != useID { // another use took the number printed on the copy
			return errRetry
		}
		if cs != nil {
			u.Consent, u.ConsentID = ConsentCode, cs.ID
		} else {
			u.Consent, u.ConsentID = ConsentAuthorisation, auth.ID
		}
		id, err := tx.NextID(bucketUses)
		if err != nil {
			return err
		}
		u.ID = strconv.FormatUint(id, 10)
		u.CopyURL = s.BaseURL + "/api/v1/uses/" + u.ID + "/copy"
		if err := tx.PutJSON(bucketUses, store.U64(id), u); err != nil {
			return err
		}
		if err := tx.Put(bucketUsesByCert, append(store.Prefix(c.ID), store.U64(id)...), nil); err != nil {
			return err
		}
		if err := certs.ReferDocumentTx(tx, u.CopySHA256, "use/"+u.ID); err != nil {
			return err
		}
		if err := tx.Put(bucketCopyHash, []byte(u.CopySHA256), []byte(u.ID)); err != nil {
			return err
		}
		ck := store.Key(org.ID, u.Consent)
		if err := tx.Put(bucketCounts, ck, store.U64(store.ParseU64(tx.Get(bucketCounts, ck))+1)); err != nil {
			return err
		}
		if err := s.Seals.RecordUseTx(tx, now, certseal.System, sealID, u.CopySHA256, "电子证照加注件（用证 "+u.ID+"）", c.ID); err != nil {
			return err
		}
		if cs != nil {
			if err := logTx(tx, now, c.ID, "consent.redeemed", org.Name, actor.Username, "用证授权码 "+cs.ID+" 已使用", u.ID); err != nil {
				return err
			}
		}
		detail := fmt.Sprintf("事项 %s（%s），办件编号 %s，用途：%s，加注件 %s 前有效，依据：%s", itemName, r.ItemCode, r.BusinessSerial, r.Purpose, u.ValidUntil, consentLabel(u.Consent))
		if err := logTx(tx, now, c.ID, "use", org.Name, actor.Username, detail, u.ID); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "use.create", "certificate/"+c.ID, map[string]any{
			"use_id": u.ID, "item_code": r.ItemCode, "business_serial": r.BusinessSerial, "purpose": r.Purpose,
			"consent": u.Consent, "consent_id": u.ConsentID, "valid_until": u.ValidUntil, "copy_sha256": u.CopySHA256})
	}
	if auth != nil {
		err = s.DB.Update(func(tx *store.Tx) error { return commit(tx, nil) })
	} else {
		err = s.checkConsent(actor, org.Name, key, c.ID, r.ConsentCode, true, commit)
	}
	if errors.Is(err, errRetry) {
		return Use{}, certseal.Errorf(certseal.EUnavailable, "同时有其他用证请求，请重试")
	}
	if err != nil {
		return Use{}, err
	}
	return u, nil
}

var errRetry = certseal.Errorf(certseal.EUnavailable, "retry")

func consentLabel(k string) string {
	if k == ConsentAuthorisation {
		return "市政务服务中心授权"
	}
	return "持证人用证授权码"
}

// StampLines returns the lines of a copy's purpose stamp.
func StampLines(u *Use, useID uint64, centerName string, now time.Time) []string {
	until := u.ValidUntil
	if t, err := time.Parse("2006-01-02", until); err == nil {
		until = t.Format("2006年1月2日")
	}
	return wrap([]string{
		"仅供" + u.OrgName + u.Purpose + "使用，" + until + "前有效",
		"用证部门：" + u.OrgName + "　办件编号：" + u.BusinessSerial,
		"加注日期：" + now.In(certseal.China).Format("2006年1月2日") + "　用证编号：" + strconv.FormatUint(useID, 10),
		centerName + "加注（电子证照加注件）",
	}, 40)
}

// wrap breaks lines longer than n characters.
func wrap(lines []string, n int) []string {
	var out []string
	for _, l := range lines {
		r := []rune(l)
		for len(r) > n {
			out = append(out, string(r[:n]))
			r = r[n:]
		}
		out = append(out, string(r))
	}
	return out
}

// stamp returns the copy: orig with the purpose stamp as the visible appearance of a second
// signature by the city center's seal (an incremental update: the issuer's signature still
// covers the original bytes, which are unchanged in front).
func (s *Service) stamp(ctx context.Context, orig []byte, u *Use, useID uint64, centerName string, now time.Time) ([]byte, error) {
	u.Stamp = StampLines(u, useID, centerName, now)
	pic, err := seals.DrawBanner(u.Stamp, 4.2)
	if err != nil {
		return nil, err
	}
	sg, err := s.Seals.SignerFor(ctx, certseal.System, u.SealID, u.TypeCode, now)
	if err != nil {
		return nil, err
	}
	w, h, err := seals.PageSize(orig, 1)
	if err != nil {
		return nil, err
	}
	// The stamp goes in the band above the page's foot, between the QR code (left) and the
	// issuer's seal (right), where the built-in templates leave the paper empty.
	pw, ph := pic.SizeMM()
	bw := w * 0.46
	bh := math.Min(bw*ph/pw, h*0.11)
	bw = bh * pw / ph
	cx, cy := w*0.43, h*0.145
	rect := [4]float64{cx - bw/2, cy - bh/2, cx + bw/2, cy + bh/2}
	o := sg.Options(1, rect, "电子证照加注件："+u.Purpose, now)
	o.Picture, o.Fit = pic, true
	o.Location = u.OrgName
	return seals.SignPDF(orig, o)
}

// Get returns a use the actor may see: its own organisation's, or any for administrators and
// auditors. It returns an *certseal.Error (ENotFound).
func (s *Service) Get(ctx context.Context, actor certseal.Actor, id string) (Use, error) {
	var u Use
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		u, err = store.GetByID[Use](tx, bucketUses, id, "用证记录")
		if err == nil && !seesUse(actor, &u) {
			return certseal.Errorf(certseal.ENotFound, "用证记录 %q 不存在", id)
		}
		return err
	})
	return u, err
}

func seesUse(actor certseal.Actor, u *Use) bool {
	return actor.Role == certseal.RoleAdmin || actor.Role == certseal.RoleAuditor || actor.OrgID == u.OrgID
}

// Copy returns the purpose-stamped copy of a use the actor may see, and the use.
func (s *Service) Copy(ctx context.Context, actor certseal.Actor, id string) ([]byte, Use, error) {
	u, err := s.Get(ctx, actor, id)
	if err != nil {
		return nil, u, err
	}
	pdf, err := s.Certs.Document(ctx, u.CopySHA256) // checked against its digest
	return pdf, u, err
}

// Filter selects uses in List; zero fields match everything.
type Filter struct {
	OrgID         string
	CertificateID string
	From, To      time.Time // [From, To)
}

// MaxList is the most uses List returns.
const MaxList = 10000

// List returns the uses the actor may see matching f, newest first (at most MaxList).
func (s *Service) List(ctx context.Context, actor certseal.Actor, f Filter) ([]Use, error) {
	if actor.Role != certseal.RoleAdmin && actor.Role != certseal.RoleAuditor {
		f.OrgID = actor.OrgID
	}
	out := []Use{}
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.ScanReverse(bucketUses, nil, nil, func(_, v []byte) error {
			var u Use
			if err := jsonUnmarshal(v, &u); err != nil {
				return err
			}
			if (f.OrgID == "" || u.OrgID == f.OrgID) && (f.CertificateID == "" || u.CertificateID == f.CertificateID) &&
				(f.From.IsZero() || !u.Time.Before(f.From)) && (f.To.IsZero() || u.Time.Before(f.To)) {
				out = append(out, u)
				if len(out) == MaxList {
					return store.ErrStop
				}
			}
			return nil
		})
	})
	return out, err
}

// UsesOf returns the uses of a certificate the actor may read (as Log decides), newest first.
func (s *Service) UsesOf(ctx context.Context, actor certseal.Actor, certID string) ([]Use, error) {
	if _, err := s.Certs.Get(ctx, actor, certID); err != nil {
		return nil, err
	}
	return s.List(ctx, certseal.System, Filter{CertificateID: certID})
}

// Count is the number of uses by one organisation with one consent kind.
type Count struct {
	OrgID   string
	Consent string
	Uses    uint64
}

// Counts returns the number of uses per organisation and consent kind, from the counters the
// use transactions keep (for the metrics).
func (s *Service) Counts(ctx context.Context) ([]Count, error) {
	var out []Count
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketCounts, nil, nil, func(k, v []byte) error {
			org, kind, _ := bytes.Cut(k, []byte{0})
			out = append(out, Count{OrgID: string(org), Consent: string(kind), Uses: store.ParseU64(v)})
			return nil
		})
	})
	return out, err
}
