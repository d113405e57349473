package use

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/store"
)

// VerdictCopyExpired is the verdict on an intact copy whose validity has ended.
const VerdictCopyExpired = certs.VerdictExpired

// Verify checks a file that may be a purpose-stamped copy. For a file that is not one of our
// copies, ok is false and the caller verifies it as a certificate. For a copy: every signature
// must be valid and the last one, the city center's, must cover the whole file; the original
// (the bytes in front) is verified as a certificate, and the verdict is the original's when it
// is not valid, expired after the copy's last day, else valid. It returns an error only when
// the store fails.
func (s *Service) Verify(ctx context.Context, file []byte) (Verdict, bool, error) {
	sum := sha256.Sum256(file)
	digest := hex.EncodeToString(sum[:])
	var u Use
	found := false
	if err := s.DB.View(func(tx *store.Tx) error {
		id := tx.Get(bucketCopyHash, []byte(digest))
		if id == nil {
			return nil
		}
		var err error
		u, err = store.GetByID[Use](tx, bucketUses, string(id), "用证记录")
		found = err == nil
		return err
	}); err != nil || !found {
		return Verdict{}, false, err
	}
	now := s.Clock.Now()
	v, err := s.Certs.VerifyPDF(ctx, file)
	if err != nil {
		return Verdict{}, true, err
	}
	out := Verdict{PDFVerdict: v}
	out.Reasons = nil
	info := &CopyInfo{UseID: u.ID, OrgName: u.OrgName, Purpose: u.Purpose, ItemName: u.ItemName, BusinessSerial: u.BusinessSerial,
		StampedAt: u.Time.In(certseal.China).Format("2006-01-02"), ValidUntil: u.ValidUntil}
	out.Copy = info
	n := len(v.Signatures)
	intact := n >= 2 && u.OriginalSize <= len(file)
	for i, c := range v.Signatures {
		intact = intact && c.Valid && c.Trusted
		if i == n-1 {
			intact = intact && c.CoversWholeDoc && c.SealID == u.SealID
		}
	}
	orig := file[:min(u.OriginalSize, len(file))]
	if osum := sha256.Sum256(orig); hex.EncodeToString(osum[:]) != u.OriginalSHA256 {
		intact = false
	}
	if !intact {
		out.Verdict, out.Label = certs.VerdictModified, certs.VerdictLabel(certs.VerdictModified)
		out.Reasons = []string{"加注件的电子签章验证失败：文件在加注后被改动"}
		return out, true, nil
	}
	ov, err := s.Certs.VerifyPDF(ctx, bytes.Clone(orig))
	if err != nil {
		return out, true, err
	}
	info.OriginalVerdict, info.OriginalLabel = ov.Verdict, ov.Label
	out.Certificate = ov.Certificate
	out.ProvenTime, out.TSA, out.PAdESLevel = ov.ProvenTime, ov.TSA, ov.PAdESLevel
	last, _ := time.ParseInLocation("2006-01-02", u.ValidUntil, certseal.China)
	info.Expired = !now.Before(last.AddDate(0, 0, 1))
	lead := fmt.Sprintf("这是电子证照加注件：仅供%s%s使用（办理事项：%s，办件编号 %s），%s 前有效，由市政务服务中心于 %s 加注签章", u.OrgName, u.Purpose, u.ItemName, u.BusinessSerial, u.ValidUntil, info.StampedAt)
	switch {
	case ov.Verdict != certs.VerdictValid:
		out.Verdict, out.Label = ov.Verdict, "原证照"+ov.Label
		out.Reasons = append([]string{lead, "原证照核验结果：" + ov.Label}, ov.Reasons...)
	case info.Expired:
		out.Verdict, out.Label = VerdictCopyExpired, "加注件已过期"
		out.Reasons = []string{lead, fmt.Sprintf("加注件已于 %s 到期失效；原证照本身仍有效", u.ValidUntil)}
	default:
		out.Verdict, out.Label = certs.VerdictValid, "有效（加注件）"
		out.Reasons = []string{lead, "两个电子签章均有效，文件未被改动；原证照状态有效"}
	}
	return out, true, nil
}
