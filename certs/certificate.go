package certs

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
)

// Status is a certificate's status, with the codes of the national e-licence platforms.
type Status string

// Statuses.
const (
	StatusValid          Status = "01" // 有效
	StatusSuspended      Status = "02" // 暂扣
	StatusRevoked        Status = "03" // 撤销
	StatusCancelled      Status = "04" // 注销
	StatusExpired        Status = "05" // 失效
	StatusTransferredOut Status = "06" // 办理转出
	StatusPenalty        Status = "07" // 吊销
	StatusOther          Status = "99" // 其他 (with a reason: withdrawn, superseded by a new version)
	// StatusPending (未生效) is not a national code and never stored: it is how a valid record
	// reads before its valid_from (a renewal issued before the old version ends). It is reported
	// to the national platforms as 01.
	StatusPending Status = "00"
)

// Label returns the status's Chinese name.
func (s Status) Label() string {
	switch s {
	case StatusValid:
		return "有效"
	case StatusSuspended:
		return "暂扣"
	case StatusRevoked:
		return "撤销"
	case StatusCancelled:
		return "注销"
	case StatusExpired:
		return "失效"
	case StatusTransferredOut:
		return "办理转出"
	case StatusPenalty:
		return "吊销"
	case StatusOther:
		return "其他"
	case StatusPending:
		return "未生效"
	}
	return string(s)
}

// Holder is who holds a certificate (持证主体).
type Holder struct {
	Name string `json:"name"`
	Code string `json:"code"`
	// CodeType is the kind of Code: "001" unified social credit code, "111" citizen ID number,
	// "999" other.
	CodeType string `json:"code_type"`
}

// Holder code types.
const (
	CodeUSCC    = "001"
	CodeIDCard  = "111"
	CodeOtherID = "999"
)

var otherCodeRE = regexp.MustCompile(`^[0-9A-Za-z()（）\-]{1,40}$`)

// Validate checks the holder. It returns an *certseal.Error (EInvalid) with a Chinese message.
func (h *Holder) Validate() error {
	h.Name = strings.TrimSpace(h.Name)
	h.Code = strings.ToUpper(strings.TrimSpace(h.Code))
	if h.Name == "" || utf8.RuneCountInString(h.Name) > 100 {
		return certseal.Errorf(certseal.EInvalid, "持证主体名称不能为空且不能超过100个字符")
	}
	switch h.CodeType {
	case CodeUSCC:
		if err := certseal.CheckUSCC(h.Code); err != nil {
			return certseal.Errorf(certseal.EInvalid, "持证主体代码：%s", certseal.ErrorMessage(err))
		}
	case CodeIDCard:
		if err := CheckIDCard(h.Code); err != nil {
			return err
		}
	case CodeOtherID:
		if !otherCodeRE.MatchString(h.Code) {
			return certseal.Errorf(certseal.EInvalid, "持证主体代码应为1至40位字母、数字或括号")
		}
	default:
		return certseal.Errorf(certseal.EInvalid, "持证主体代码类型 %q 无效，应为 001（统一社会信用代码）、111（居民身份证号码）或 999（其他）", h.CodeType)
	}
	return nil
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// CheckIDCard validates an 18-character citizen ID number (GB 11643-1999): 17 digits, a date of
// birth, and the MOD 11-2 check character. It returns an *certseal.Error (EInvalid).
func CheckIDCard(s string) error {
	if len(s) != 18 {
		return certseal.Errorf(certseal.EInvalid, "居民身份证号码应为18位")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if s[i] < '0' || s[i] > '9' {
			return certseal.Errorf(certseal.EInvalid, "居民身份证号码前17位应为数字")
		}
		sum += int(s[i]-'0') * idWeights[i]
	}
	if _, err := time.Parse("20060102", s[6:14]); err != nil {
		return certseal.Errorf(certseal.EInvalid, "居民身份证号码中的出生日期 %s 无效", s[6:14])
	}
	if "10X98765432"[sum%11] != s[17] {
		return certseal.Errorf(certseal.EInvalid, "居民身份证号码校验位错误")
	}
	return nil
}

// Certificate is an issued e-certificate: the record fields of the national platforms, the
// template version it was made with, the seal that signed it and the hash of its PDF.
type Certificate struct {
	ID            string `json:"id"`
	Identifier    string `json:"identifier"`
	Version       int    `json:"version"`
	PreviousID    string `json:"previous_id,omitempty"`
	SupersededBy  string `json:"superseded_by,omitempty"`
	LicenceNumber string `json:"licence_number"`
	Name          string `json:"name"` // the licence's name: the type's name
	TypeCode      string `json:"type_code"`
	ItemCode      string `json:"item_code"`
	ItemName      string `json:"item_name"`
	IssuerOrgID   string `json:"issuer_org_id"`
	IssuerName    string `json:"issuer_name"`
	IssuerCode    string `json:"issuer_code"`
	DefinerName   string `json:"definer_name"`
	DefinerCode   string `json:"definer_code"`
	AreaCode      string `json:"area_code"`
	Holder        Holder `json:"holder"`
	IssueDate     string `json:"issue_date"` // 2006-01-02, China time
	ValidFrom     string `json:"valid_from"`
	ValidTo       string `json:"valid_to,omitempty"` // empty: no end
	// Values are the template's field values as printed.
	Values          map[string]string `json:"values"`
	Extension       map[string]string `json:"extension,omitempty"`
	TemplateID      string            `json:"template_id"`
	TemplateVersion int               `json:"template_version"`
	SealID          string            `json:"seal_id"`
	SealName        string            `json:"seal_name"`
	Serial          string            `json:"blank_serial,omitempty"` // the printed serial of the paper form
	// PDFSHA256 and PDFSize are the signed PDF's; empty for an OFD-only certificate (a type
	// whose format is ofd), whose one document is the OFD.
	PDFSHA256 string `json:"pdf_sha256"`
	PDFSize   int    `json:"pdf_size"`
	// OFDSHA256 and OFDSize are the OFD file's (a pdf+ofd or ofd type), OFDSealID the SM2 seal
	// that sealed it (for an OFD-only certificate the same as SealID); all empty for a PDF-only
	// certificate.
	OFDSHA256    string    `json:"ofd_sha256,omitempty"`
	OFDSize      int       `json:"ofd_size,omitempty"`
	OFDSealID    string    `json:"ofd_seal_id,omitempty"`
	VerifyURL    string    `json:"verify_url"`
	QRText       string    `json:"qr_text,omitempty"` // what the QR code holds: the signed short URL
	Status       Status    `json:"status"`
	StatusLabel  string    `json:"status_label"`
	StatusReason string    `json:"status_reason,omitempty"`
	StatusIndex  uint64    `json:"status_list_index"`
	IssuedBy     string    `json:"issued_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// SupersededByIdentifier is the identifier of the newer version (renewal, change or transfer
	// in, whose id is SupersededBy) and SupersededFrom the date it takes effect: from that day
	// this version reads superseded (已由第N版取代); until then it stays as it is.
	SupersededByIdentifier string `json:"superseded_by_identifier,omitempty"`
	SupersededFrom         string `json:"superseded_from,omitempty"`
	// TransferToOrgID and TransferToName name the county bureau a certificate transferred out
	// (06) goes to: only that bureau may transfer it in (08), and it may read it meanwhile.
	TransferToOrgID string `json:"transfer_to_org_id,omitempty"`
	TransferToName  string `json:"transfer_to_name,omitempty"`
	// TransferFromOrgID and TransferFromName name the bureau a version transferred in came from;
	// that bureau may still read it.
	TransferFromOrgID string `json:"transfer_from_org_id,omitempty"`
	TransferFromName  string `json:"transfer_from_name,omitempty"`
}

// HasPDF reports whether the certificate has a signed PDF (every type but an OFD-only one).
func (c Certificate) HasPDF() bool { return c.PDFSHA256 != "" }

// HasOFD reports whether the certificate has a sealed OFD (a pdf+ofd or ofd type).
func (c Certificate) HasOFD() bool { return c.OFDSHA256 != "" }

// DateLayout is how dates are written in certificate records.
const DateLayout = "2006-01-02"

// ChineseDate writes a date the way certificates print it: 2026年3月2日.
func ChineseDate(d time.Time) string {
	return d.Format("2006年1月2日")
}

// parseDate parses a record date in China time.
func parseDate(s string) (time.Time, error) {
	return time.ParseInLocation(DateLayout, s, certseal.China)
}

// today is the date of now in China, as records write it.
func today(now time.Time) string { return now.In(certseal.China).Format(DateLayout) }

// effectiveStatus is the status as of now, computed on read from the clock: a valid certificate
// whose newer version has taken effect reads superseded (99) and one past its end date expired
// (05), even before the sweep records it; one before its valid_from reads 未生效 (00).
func (c *Certificate) effectiveStatus(now time.Time) Status {
	if c.Status == StatusValid {
		d := today(now)
		switch {
		case c.Superseded(now):
			return StatusOther
		case c.ValidTo != "" && d > c.ValidTo:
			return StatusExpired
		case c.ValidFrom != "" && d < c.ValidFrom:
			return StatusPending
		}
	}
	return c.Status
}

// Superseded reports whether a newer version of the certificate has taken effect by now.
func (c *Certificate) Superseded(now time.Time) bool {
	return c.SupersededBy != "" && (c.SupersededFrom == "" || today(now) >= c.SupersededFrom)
}

// SupersededLabel returns the Chinese words for a superseded version: 已由第N版取代.
func (c *Certificate) SupersededLabel() string {
	return fmt.Sprintf("已由第%d版取代", c.Version+1)
}

// StatusText returns the Chinese label of the certificate's status as of now, as pages show it:
// the status's label (未生效 before valid_from), or 已由第N版取代 for a superseded version.
func (c *Certificate) StatusText(now time.Time) string {
	if c.Superseded(now) {
		return c.SupersededLabel()
	}
	return c.effectiveStatus(now).Label()
}

// Expired reports whether the certificate's validity has ended by now.
func (c *Certificate) Expired(now time.Time) bool {
	return c.ValidTo != "" && c.effectiveStatus(now) == StatusExpired && c.Status == StatusValid
}
