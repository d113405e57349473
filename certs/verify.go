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
// the status now, the issuer, the seal and the validity. A citizen ID number is masked.
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
	StatusReason   string `json:"status_reason,omitempty"`
	ItemName       string `json:"item_name"`
	SupersededBy   string `json:"superseded_by,omitempty"` // identifier of the newer version
	CheckedAt      string `json:"checked_at"`
}

func mask(code, codeType string) string {
	if codeType == CodeIDCard && len(code) == 18 {
		return code[:6] + "********" + code[14:]
	}
	return code
}

func (s *Service) publicView(tx *store.Tx, c Certificate) PublicView {
	s.present(&c)
	v := PublicView{Identifier: c.Identifier, LicenceNumber: c.LicenceNumber, Name: c.Name, Version: c.Version,
		HolderName: c.Holder.Name, HolderCode: mask(c.Holder.Code, c.Holder.CodeType), HolderCodeType: c.Holder.CodeType,
		IssuerName: c.IssuerName, IssuerCode: c.IssuerCode, SealName: c.SealName, SealID: c.SealID, IssueDate: c.IssueDate,
		ValidFrom: c.ValidFrom, ValidTo: c.ValidTo, Status: c.Status, StatusLabel: c.Status.Label(), StatusReason: c.StatusReason,
		ItemName: c.ItemName, CheckedAt: s.Clock.Now().In(certseal.China).Format("2006-01-02 15:04:05")}
	if c.SupersededBy != "" {
		if n, err := GetTx(tx, c.SupersededBy); err == nil {
			v.SupersededBy = n.Identifier
		}
	}
	return v
}

// Lookup returns the public view of a certificate found by identifier or licence number. It
// returns an *certseal.Error (ENotFound, or EInvalid for a reference that is neither).
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
		v = s.publicView(tx, c)
		return nil
	})
	return v, err
}

// Verdicts of a PDF verification.
const (
	VerdictValid     = "valid"
	VerdictModified  = "modified"
	VerdictUnknown   = "unknown"
	VerdictRevoked   = "revoked"
	VerdictSuspended = "suspended"
	VerdictExpired   = "expired"
)

// PDFVerdict is the answer to "is this PDF a valid certificate of ours?".
type PDFVerdict struct {
	Verdict     string           `json:"verdict"`
	Label       string           `json:"label"`
	Reasons     []string         `json:"reasons"`
	SHA256      string           `json:"sha256"`
	Certificate *PublicView      `json:"certificate,omitempty"`
	Signatures  []SignatureCheck `json:"signatures"`
}

var verdictLabels = map[string]string{
	VerdictValid: "有效", VerdictModified: "文件已被改动", VerdictUnknown: "无法确认（非本系统签发）",
	VerdictRevoked: "已撤销或不再有效", VerdictSuspended: "已暂扣", VerdictExpired: "已过期失效",
}

// MaxVerifyPDF is the largest PDF POST /api/v1/verify accepts.
const MaxVerifyPDF = 20 << 20

// VerifyPDF checks a PDF: its signatures (with the seal's status at signing time and now), that
// its hash is one we issued, and the certificate's current status. It returns an error only
// when the store fails; a broken file is a verdict, not an error.
func (s *Service) VerifyPDF(ctx context.Context, pdf []byte) (PDFVerdict, error) {
	now := s.Clock.Now()
	sum := sha256.Sum256(pdf)
	out := PDFVerdict{SHA256: hex.EncodeToString(sum[:])}
	checks, err := s.Validator.Validate(ctx, pdf, now)
	if err != nil {
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "无法读取文件中的签名："+certseal.ErrorMessage(err))
	}
	out.Signatures = checks
	var c Certificate
	found := false
	err = s.DB.View(func(tx *store.Tx) error {
		if cert, err := ByHashTx(tx, out.SHA256); err == nil {
			c, found = cert, true
			v := s.publicView(tx, c)
			out.Certificate = &v
			return nil
		}
		// A signed revision followed by appended bytes: find the certificate by the signed part.
		for _, ch := range checks {
			if ch.Valid && !ch.CoversWholeDoc {
				for n := len(pdf) - 1; n > 0; n-- {
					if bytes.HasSuffix(pdf[:n+1], []byte("%%EOF")) || bytes.HasSuffix(pdf[:n+1], []byte("%%EOF\n")) {
						part := sha256.Sum256(pdf[:n+1])
						if cert, err := ByHashTx(tx, hex.EncodeToString(part[:])); err == nil {
							v := s.publicView(tx, cert)
							out.Certificate = &v
							c = cert
							return nil
						}
					}
				}
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
	if out.Verdict == "" {
		switch out.Certificate.Status {
		case StatusValid:
			out.Verdict = VerdictValid
			out.Reasons = append(out.Reasons, "签章有效，文件未被改动，证照状态有效")
		case StatusSuspended:
			out.Verdict = VerdictSuspended
		case StatusExpired:
			out.Verdict = VerdictExpired
		default:
			out.Verdict = VerdictRevoked
		}
		if out.Verdict != VerdictValid {
			out.Reasons = append(out.Reasons, fmt.Sprintf("证照当前状态：%s%s", out.Certificate.StatusLabel, reasonSuffix(out.Certificate.StatusReason)))
		}
	}
	out.Label = verdictLabels[out.Verdict]
	if out.Reasons == nil {
		out.Reasons = []string{}
	}
	return out, nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return "（原因：" + r + "）"
}

func allValid(cs []SignatureCheck) bool {
	for _, c := range cs {
		if !c.Valid {
			return false
		}
	}
	return true
}

// ListSigner signs the status list. The seal registry's CA implements it.
type ListSigner interface {
	SignList(data []byte) (signature []byte, signerCertPEM []byte, err error)
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
			case StatusValid:
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
	sig, pem, err := signer.SignList(unsigned)
	if err != nil {
		return nil, err
	}
	l.Proof.Type, l.Proof.Algorithm = "DataIntegrityProof", "ES256"
	l.Proof.Signature = base64.RawURLEncoding.EncodeToString(sig)
	l.Proof.SignerPEM = string(pem)
	return l, nil
}
