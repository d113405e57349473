package certs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"certseal"
	"certseal/seals"
)

// anySigned reports whether one of the checks is of a real signature: a CMS signature whose
// signer certificate the validator read (seals.SignatureReport.Signed), which is exactly when the
// check names the signer. A /ByteRange without one (junk, or damaged beyond reading) says
// nothing about whether the file was changed.
func anySigned(cs []SignatureCheck) bool {
	for _, c := range cs {
		if c.SealID != "" || c.SealName != "" || c.Org != "" {
			return true
		}
	}
	return false
}

// signedPartHashes returns the SHA-256 (hex) of the signed revision of every valid signature that
// does not cover the whole file, once per distinct length: for a certificate with bytes appended,
// the hash of the file as issued.
func signedPartHashes(pdf []byte, checks []SignatureCheck) []string {
	seen := map[int64]bool{}
	var out []string
	for _, ch := range checks {
		if !ch.Valid || ch.CoversWholeDoc || ch.SignedLength <= 0 || ch.SignedLength >= int64(len(pdf)) || seen[ch.SignedLength] {
			continue
		}
		seen[ch.SignedLength] = true
		sum := sha256.Sum256(pdf[:ch.SignedLength])
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}

// Verdicts on the seal at the time of sealing.
const (
	// VerdictSealInvalid: a trusted timestamp proves the certificate was sealed when the seal
	// was no longer good (revoked, suspended, expired, or its certificate out of validity).
	VerdictSealInvalid = "seal_invalid_at_signing"
	// VerdictIndeterminate: the signature holds, but without a trusted timestamp nothing proves
	// it was made while the seal was good, and the seal's certificate has expired since or the
	// seal has been revoked.
	VerdictIndeterminate = "indeterminate"
)

// ReasonProvenValid is the reason a verdict gives when a trusted timestamp proves the seal was
// good when it sealed.
const ReasonProvenValid = "签章时印章有效，已由可信时间戳证明"

func init() {
	verdictLabels[VerdictSealInvalid] = "签章时印章已失效"
	verdictLabels[VerdictIndeterminate] = "无法确定（签章时间没有可信证明）"
}

// longTermCheck copies the report's timestamp, level and validity into the check.
func longTermCheck(c *SignatureCheck, r seals.Report) {
	if !r.Timestamp.IsZero() {
		t := r.Timestamp
		c.ProvenTime = &t
	}
	c.TSA, c.PAdESLevel, c.DocTimestamp = r.TSA, string(r.Level), r.DocTimestamp
	c.CertValidAtSigning, c.CertValidNow = r.CertValidAtSigning, r.CertValidNow
	c.statusAtSign, c.statusNow = r.StatusAtSigning, r.StatusNow
	if r.DocTimestamp { // not a seal: it says nothing of the seal's identity
		c.SealID, c.SealName, c.Org = "", "", ""
	}
}

// sealCheck returns the seal's signature among the checks: the first that is not a document
// timestamp and names a seal.
func sealCheck(cs []SignatureCheck) *SignatureCheck {
	for i := range cs {
		if !cs[i].DocTimestamp && cs[i].SealID != "" {
			return &cs[i]
		}
	}
	return nil
}

// atSealing judges the seal at the time of sealing (issue 16) for a verdict that is otherwise
// settled on the signatures and the file, and reports the proven time, the TSA and the level:
// with a trusted timestamp, the seal's status and certificate at the proven time decide (a seal
// good then stays good, with ReasonProvenValid; one sealed after its revocation is refused);
// without one, a seal whose certificate has expired since, or which has been revoked, is
// indeterminate, as the signer's own clock proves nothing.
func atSealing(out *PDFVerdict, checks []SignatureCheck) {
	c := sealCheck(checks)
	if c == nil {
		return
	}
	out.ProvenTime, out.TSA, out.PAdESLevel = c.ProvenTime, c.TSA, c.PAdESLevel
	if out.Verdict != "" || !c.Valid {
		return
	}
	if c.ProvenTime != nil {
		switch {
		case c.statusAtSign != seals.StatusActive && c.statusAtSign != seals.StatusUnknown:
			out.Verdict = VerdictSealInvalid
			out.Reasons = append(out.Reasons, fmt.Sprintf("可信时间戳证明签章时（%s）印章状态为“%s”，签章无效", c.ProvenTime.In(certseal.China).Format("2006-01-02 15:04:05"), c.statusAtSign.Label()))
		case !c.CertValidAtSigning:
			out.Verdict = VerdictSealInvalid
			out.Reasons = append(out.Reasons, "可信时间戳证明签章时印章证书不在有效期内，签章无效")
		case c.statusAtSign == seals.StatusActive:
			out.Reasons = append(out.Reasons, ReasonProvenValid)
		}
		return
	}
	switch {
	case !c.CertValidNow:
		out.Verdict = VerdictIndeterminate
		out.Reasons = append(out.Reasons, "签章没有可信时间戳，印章证书现已过期，无法证明签章时印章有效")
	case c.statusNow == seals.StatusRevoked:
		out.Verdict = VerdictIndeterminate
		out.Reasons = append(out.Reasons, "签章没有可信时间戳，印章现已吊销，无法证明签章早于吊销")
	}
}
