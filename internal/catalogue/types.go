package catalogue

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// Channel is how a licence type's certificates reach the issuing office (domain.md).
type Channel string

// The four supply channels.
const (
	ChannelElectronic Channel = "electronic"            // 一体化平台证照目录, no paper blank
	ChannelPrinter    Channel = "designated_printer"    // 国家部委定点印制企业
	ChannelLocalPrint Channel = "local_print"           // 市、县区自行印制
	ChannelProvincial Channel = "provincial_collection" // 省直审批部门领取
)

// Channels lists the channels.
var Channels = []Channel{ChannelElectronic, ChannelPrinter, ChannelLocalPrint, ChannelProvincial}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	for _, x := range Channels {
		if c == x {
			return true
		}
	}
	return false
}

// Label returns the channel's Chinese name.
func (c Channel) Label() string {
	switch c {
	case ChannelElectronic:
		return "电子证照"
	case ChannelPrinter:
		return "定点印制企业采购"
	case ChannelLocalPrint:
		return "自行印制"
	case ChannelProvincial:
		return "省直部门领取"
	}
	return string(c)
}

// HolderKind is who may hold a licence of a type.
type HolderKind string

// Holder kinds.
const (
	HolderPerson HolderKind = "natural_person"
	HolderEntity HolderKind = "legal_entity"
	HolderAny    HolderKind = "any"
)

// LicenceType is a licence type (证照类型) with its GB/T 36904 type code.
type LicenceType struct {
	// Code is the 21-character type code: the definer's USCC and a 3-digit sequence.
	Code string `json:"code"`
	Name string `json:"name"`
	// DefinerName is the body that defines the type (e.g. 国家市场监督管理总局); its USCC is the
	// first 18 characters of Code.
	DefinerName string `json:"definer_name"`
	// ResponsibleOrgID is the city department that buys or collects the type's blank forms.
	ResponsibleOrgID string     `json:"responsible_org_id,omitempty"`
	HolderKind       HolderKind `json:"holder_kind"`
	// MinValidityMonths and MaxValidityMonths bound a certificate's validity; 0 max means no end.
	MinValidityMonths int     `json:"min_validity_months"`
	MaxValidityMonths int     `json:"max_validity_months"`
	Channel           Channel `json:"channel"`
	// SerialPrefix and SerialWidth describe the printed serial (印制编号) of the paper form: the
	// prefix and the number of digits that follow it. Electronic types have neither.
	SerialPrefix string `json:"serial_prefix,omitempty"`
	SerialWidth  int    `json:"serial_width,omitempty"`
	// NumberPattern is the pattern of the licence number (证照编号), e.g. "{area}{year}{seq:6}";
	// ParseNumberPattern describes the syntax. Empty: the service's default pattern.
	NumberPattern string `json:"number_pattern,omitempty"`
	// TemplateID is the certificate template the type is printed from.
	TemplateID string `json:"template_id,omitempty"`
	// Format is the files a certificate of the type is issued as: FormatPDF, FormatOFD or
	// FormatPDFOFD. Empty (every record stored before the field existed) reads as FormatPDF.
	Format    Format    `json:"format,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Format is the file format(s) of a licence type's certificates.
type Format string

// The formats: a PDF (PAdES, ECDSA seal), an OFD (GB/T 38540, SM2 seal), or both files of one
// certificate.
const (
	FormatPDF    Format = "pdf"
	FormatOFD    Format = "ofd"
	FormatPDFOFD Format = "pdf+ofd"
)

// Valid reports whether f is a known format; empty is (it reads as FormatPDF).
func (f Format) Valid() bool {
	switch f {
	case "", FormatPDF, FormatOFD, FormatPDFOFD:
		return true
	}
	return false
}

// Or returns f, or FormatPDF when f is empty.
func (f Format) Or() Format {
	if f == "" {
		return FormatPDF
	}
	return f
}

// PDF reports whether a certificate of the format has a PDF file.
func (f Format) PDF() bool { return f.Or() != FormatOFD }

// OFD reports whether a certificate of the format has an OFD file.
func (f Format) OFD() bool { return f == FormatOFD || f == FormatPDFOFD }

// DefinerUSCC returns the first 18 characters of the type code.
func (t *LicenceType) DefinerUSCC() string {
	if len(t.Code) < 18 {
		return ""
	}
	return t.Code[:18]
}

// HasPaperForm reports whether the type is printed on pre-printed blank forms with serials.
func (t *LicenceType) HasPaperForm() bool { return t.Channel != ChannelElectronic && t.SerialWidth > 0 }

// FormatSerial returns the printed serial for number n, e.g. prefix "SP" width 8 and 42 give
// "SP00000042".
func (t *LicenceType) FormatSerial(n uint64) string {
	return fmt.Sprintf("%s%0*d", t.SerialPrefix, t.SerialWidth, n)
}

// MaxSerial returns the largest number the type's digit width allows (0 without a paper form).
func (t *LicenceType) MaxSerial() uint64 {
	if t.SerialWidth <= 0 {
		return 0
	}
	m := uint64(1)
	for i := 0; i < t.SerialWidth; i++ {
		m *= 10
	}
	return m - 1
}

// ParseSerial parses a printed serial of this type and returns its number. It returns an *Error
// with code EInvalid when the prefix or the digit width does not match.
func (t *LicenceType) ParseSerial(s string) (uint64, error) {
	if !t.HasPaperForm() {
		return 0, certseal.Errorf(certseal.EInvalid, "证照类型“%s”没有纸质空白证照", t.Name)
	}
	if !strings.HasPrefix(s, t.SerialPrefix) {
		return 0, certseal.Errorf(certseal.EInvalid, "印制编号 %q 的前缀应为 %q", s, t.SerialPrefix)
	}
	digits := s[len(t.SerialPrefix):]
	if len(digits) != t.SerialWidth {
		return 0, certseal.Errorf(certseal.EInvalid, "印制编号 %q 的数字部分应为%d位", s, t.SerialWidth)
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, certseal.Errorf(certseal.EInvalid, "印制编号 %q 的数字部分含有非数字字符", s)
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// Validate checks the type's own fields and returns an *Error with code EInvalid naming the first
// bad one.
func (t *LicenceType) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	if len(t.Code) != 21 {
		return certseal.Errorf(certseal.EInvalid, "证照类型代码应为21位（定义机构统一社会信用代码18位加3位顺序码），实际为%d位", len(t.Code))
	}
	if err := certseal.CheckUSCC(t.Code[:18]); err != nil {
		return certseal.Errorf(certseal.EInvalid, "证照类型代码前18位：%s", certseal.ErrorMessage(err))
	}
	for i := 18; i < 21; i++ {
		if t.Code[i] < '0' || t.Code[i] > '9' {
			return certseal.Errorf(certseal.EInvalid, "证照类型代码后3位应为数字")
		}
	}
	if err := checkName("证照类型名称", t.Name); err != nil {
		return err
	}
	if err := checkName("定义机构名称", t.DefinerName); err != nil {
		return err
	}
	switch t.HolderKind {
	case HolderPerson, HolderEntity, HolderAny:
	default:
		return certseal.Errorf(certseal.EInvalid, "持证主体类型 %q 无效，应为 natural_person、legal_entity 或 any", t.HolderKind)
	}
	if t.MinValidityMonths < 0 || t.MaxValidityMonths < 0 || t.MaxValidityMonths > 1200 ||
		(t.MaxValidityMonths > 0 && t.MinValidityMonths > t.MaxValidityMonths) {
		return certseal.Errorf(certseal.EInvalid, "有效期范围无效：最短%d个月，最长%d个月", t.MinValidityMonths, t.MaxValidityMonths)
	}
	if !t.Channel.Valid() {
		return certseal.Errorf(certseal.EInvalid, "供应渠道 %q 无效，应为 electronic、designated_printer、local_print 或 provincial_collection", t.Channel)
	}
	if t.Channel == ChannelElectronic {
		if t.SerialPrefix != "" || t.SerialWidth != 0 {
			return certseal.Errorf(certseal.EInvalid, "电子证照没有印制编号，不能设置编号前缀和位数")
		}
	} else {
		if t.SerialWidth < 1 || t.SerialWidth > MaxSerialWidth {
			return certseal.Errorf(certseal.EInvalid, "纸质证照的印制编号位数应为1至%d", MaxSerialWidth)
		}
		if len(t.SerialPrefix) > MaxSerialPrefix || strings.IndexFunc(t.SerialPrefix, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) >= 0 {
			return certseal.Errorf(certseal.EInvalid, "印制编号前缀应为至多%d位大写字母或数字", MaxSerialPrefix)
		}
		if t.SerialPrefix != "" && t.SerialPrefix[len(t.SerialPrefix)-1] >= '0' && t.SerialPrefix[len(t.SerialPrefix)-1] <= '9' {
			return certseal.Errorf(certseal.EInvalid, "印制编号前缀不能以数字结尾（否则编号会有歧义）")
		}
	}
	if t.NumberPattern != "" {
		if _, err := ParseNumberPattern(t.NumberPattern); err != nil {
			return err
		}
	}
	if !t.Format.Valid() {
		return certseal.Errorf(certseal.EInvalid, "证照文件格式 %q 无效，应为 pdf、ofd 或 pdf+ofd", t.Format)
	}
	if len(t.TemplateID) > 64 {
		return certseal.Errorf(certseal.EInvalid, "模板标识不能超过64个字符")
	}
	return nil
}

// GetType returns the licence type with the given code inside tx, or an *Error with code
// ENotFound.
func GetType(tx *store.Tx, code string) (LicenceType, error) {
	var t LicenceType
	ok, err := tx.GetJSON(bucketTypes, []byte(code), &t)
	if err != nil {
		return t, err
	}
	if !ok {
		return t, certseal.Errorf(certseal.ENotFound, "证照类型 %q 不存在", code)
	}
	return t, nil
}

// AllTypes returns every licence type in code order.
func AllTypes(tx *store.Tx) ([]LicenceType, error) {
	var out []LicenceType
	err := tx.Scan(bucketTypes, nil, nil, func(_, v []byte) error {
		var t LicenceType
		if err := json.Unmarshal(v, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	return out, err
}

func checkResponsible(tx *store.Tx, t *LicenceType) error {
	if t.ResponsibleOrgID == "" {
		return nil
	}
	o, err := orgs.Get(tx, t.ResponsibleOrgID)
	if err != nil {
		return certseal.Errorf(certseal.ENotFound, "负责采购或领取的部门 %q 不存在", t.ResponsibleOrgID)
	}
	if o.Kind != certseal.KindCityDepartment && o.Kind != certseal.KindCityCenter {
		return certseal.Errorf(certseal.EInvalid, "负责采购或领取的应为市级部门，“%s”是%s", o.Name, o.Kind.Label())
	}
	return nil
}

// CreateType validates and stores a new licence type. A city department officer may only create
// types their own department is responsible for. It returns an *Error: EInvalid, ENotFound,
// EForbidden or EConflict (the code is taken).
func (s *Service) CreateType(ctx context.Context, actor certseal.Actor, t LicenceType) (LicenceType, error) {
	if err := t.Validate(); err != nil {
		return t, err
	}
	if actor.Role == certseal.RoleDeptOfficer && t.ResponsibleOrgID != actor.OrgID {
		return t, certseal.Errorf(certseal.EForbidden, "市级部门只能定义本部门负责的证照类型")
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		t, err = CreateTypeTx(tx, s.Clock.Now(), actor, t)
		return err
	})
	return t, err
}

// CreateTypeTx is CreateType inside the caller's transaction, with t already validated.
func CreateTypeTx(tx *store.Tx, now time.Time, actor certseal.Actor, t LicenceType) (LicenceType, error) {
	if tx.Has(bucketTypes, []byte(t.Code)) {
		return t, certseal.Errorf(certseal.EConflict, "证照类型代码 %s 已存在", t.Code)
	}
	if err := checkResponsible(tx, &t); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = now.UTC(), now.UTC()
	if err := tx.PutJSON(bucketTypes, []byte(t.Code), t); err != nil {
		return t, err
	}
	return t, audit.Append(tx, now, actor, "licence_type.create", "licence_type/"+t.Code, t)
}

// TypePatch holds the fields UpdateType may change. The code, the channel and the serial format
// never change once blanks may exist; the template and number pattern may.
type TypePatch struct {
	Name              *string     `json:"name"`
	DefinerName       *string     `json:"definer_name"`
	ResponsibleOrgID  *string     `json:"responsible_org_id"`
	HolderKind        *HolderKind `json:"holder_kind"`
	MinValidityMonths *int        `json:"min_validity_months"`
	MaxValidityMonths *int        `json:"max_validity_months"`
	NumberPattern     *string     `json:"number_pattern"`
	TemplateID        *string     `json:"template_id"`
	Format            *Format     `json:"format"`
}

// UpdateType applies p to the licence type. It returns an *Error: ENotFound, EInvalid or
// EForbidden (a city department changing another department's type).
func (s *Service) UpdateType(ctx context.Context, actor certseal.Actor, code string, p TypePatch) (LicenceType, error) {
	var t LicenceType
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if t, err = GetType(tx, code); err != nil {
			return err
		}
		if actor.Role == certseal.RoleDeptOfficer && t.ResponsibleOrgID != actor.OrgID {
			return certseal.Errorf(certseal.EForbidden, "市级部门只能修改本部门负责的证照类型")
		}
		before := t
		if p.Name != nil {
			t.Name = *p.Name
		}
		if p.DefinerName != nil {
			t.DefinerName = *p.DefinerName
		}
		if p.Format != nil {
			t.Format = *p.Format
		}
		if p.ResponsibleOrgID != nil {
			t.ResponsibleOrgID = *p.ResponsibleOrgID
		}
		if p.HolderKind != nil {
			t.HolderKind = *p.HolderKind
		}
		if p.MinValidityMonths != nil {
			t.MinValidityMonths = *p.MinValidityMonths
		}
		if p.MaxValidityMonths != nil {
			t.MaxValidityMonths = *p.MaxValidityMonths
		}
		if p.NumberPattern != nil {
			t.NumberPattern = *p.NumberPattern
		}
		if p.TemplateID != nil {
			t.TemplateID = *p.TemplateID
		}
		if err := t.Validate(); err != nil {
			return err
		}
		if actor.Role == certseal.RoleDeptOfficer && t.ResponsibleOrgID != actor.OrgID {
			return certseal.Errorf(certseal.EForbidden, "市级部门不能把证照类型转给其他部门负责")
		}
		if err := checkResponsible(tx, &t); err != nil {
			return err
		}
		now := s.Clock.Now()
		t.UpdatedAt = now.UTC()
		if err := tx.PutJSON(bucketTypes, []byte(t.Code), t); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "licence_type.update", "licence_type/"+t.Code, map[string]any{"before": before, "after": t})
	})
	return t, err
}

// GetType returns the licence type with the given code, or an *Error with code ENotFound.
func (s *Service) GetType(ctx context.Context, code string) (LicenceType, error) {
	var t LicenceType
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		t, err = GetType(tx, code)
		return err
	})
	return t, err
}

// TypeFilter selects licence types in ListTypes.
type TypeFilter struct {
	Channel          Channel
	ResponsibleOrgID string
	Query            string
}

// ListTypes returns up to limit licence types matching f in code order after the cursor, and the
// next cursor ("" at the end).
func (s *Service) ListTypes(ctx context.Context, f TypeFilter, after string, limit int) ([]LicenceType, string, error) {
	var out []LicenceType
	var next []byte
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		out, next, err = store.Page(tx, bucketTypes, nil, cursor(after), limit, func(t *LicenceType) bool {
			return (f.Channel == "" || t.Channel == f.Channel) && (f.ResponsibleOrgID == "" || t.ResponsibleOrgID == f.ResponsibleOrgID) &&
				(f.Query == "" || strings.Contains(t.Name, f.Query) || strings.Contains(t.Code, f.Query))
		})
		return err
	})
	return out, string(next), err
}

// Binding links a licence type to a catalogue item or sub-item (认领/绑定).
type Binding struct {
	TypeCode  string    `json:"type_code"`
	ItemCode  string    `json:"item_code"`
	ItemName  string    `json:"item_name"`
	CreatedAt time.Time `json:"created_at"`
}

// Bind binds the licence type to the item or sub-item with the given code. It returns an *Error:
// ENotFound for an unknown type or item, EConflict when they are already bound.
func (s *Service) Bind(ctx context.Context, actor certseal.Actor, typeCode, itemCode string) (Binding, error) {
	var b Binding
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		b, err = BindTx(tx, s.Clock.Now(), actor, typeCode, itemCode)
		return err
	})
	return b, err
}

// BindTx is Bind inside the caller's transaction.
func BindTx(tx *store.Tx, now time.Time, actor certseal.Actor, typeCode, itemCode string) (Binding, error) {
	if _, err := GetType(tx, typeCode); err != nil {
		return Binding{}, err
	}
	it, err := ResolveCode(tx, itemCode)
	if err != nil {
		return Binding{}, err
	}
	key := store.Key(typeCode, itemCode)
	if tx.Has(bucketBindings, key) {
		return Binding{}, certseal.Errorf(certseal.EConflict, "证照类型 %s 已绑定事项 %s", typeCode, itemCode)
	}
	name := it.Name
	for _, sub := range it.SubItems {
		if sub.Code == itemCode {
			name = sub.Name
		}
	}
	b := Binding{TypeCode: typeCode, ItemCode: itemCode, ItemName: name, CreatedAt: now.UTC()}
	if err := tx.PutJSON(bucketBindings, key, b); err != nil {
		return b, err
	}
	if err := tx.Put(bucketByItem, store.Key(itemCode, typeCode), []byte{1}); err != nil {
		return b, err
	}
	return b, audit.Append(tx, now, actor, "binding.create", "licence_type/"+typeCode, b)
}

// Unbind removes a binding. It returns an *Error with code ENotFound when there is none.
func (s *Service) Unbind(ctx context.Context, actor certseal.Actor, typeCode, itemCode string) error {
	return s.DB.Update(func(tx *store.Tx) error {
		key := store.Key(typeCode, itemCode)
		if !tx.Has(bucketBindings, key) {
			return certseal.Errorf(certseal.ENotFound, "证照类型 %s 与事项 %s 没有绑定", typeCode, itemCode)
		}
		if err := tx.Delete(bucketBindings, key); err != nil {
			return err
		}
		if err := tx.Delete(bucketByItem, store.Key(itemCode, typeCode)); err != nil {
			return err
		}
		return audit.Append(tx, s.Clock.Now(), actor, "binding.delete", "licence_type/"+typeCode, map[string]string{"item_code": itemCode})
	})
}

// IsBound reports whether the licence type is bound to the item or sub-item code.
func IsBound(tx *store.Tx, typeCode, itemCode string) bool {
	return tx.Has(bucketBindings, store.Key(typeCode, itemCode))
}

// BindingsOfType returns the bindings of a licence type, by item code. It returns an *Error with
// code ENotFound for an unknown type.
func (s *Service) BindingsOfType(ctx context.Context, typeCode string) ([]Binding, error) {
	var out []Binding
	err := s.DB.View(func(tx *store.Tx) error {
		if _, err := GetType(tx, typeCode); err != nil {
			return err
		}
		return tx.Scan(bucketBindings, store.Prefix(typeCode), nil, func(_, v []byte) error {
			var b Binding
			if err := json.Unmarshal(v, &b); err != nil {
				return err
			}
			out = append(out, b)
			return nil
		})
	})
	return out, err
}

// TypesOfItem returns the licence types bound to an item or sub-item code. It returns an *Error
// with code ENotFound for an unknown code.
func (s *Service) TypesOfItem(ctx context.Context, itemCode string) ([]LicenceType, error) {
	var out []LicenceType
	err := s.DB.View(func(tx *store.Tx) error {
		if _, err := ResolveCode(tx, itemCode); err != nil {
			return err
		}
		return tx.Scan(bucketByItem, store.Prefix(itemCode), nil, func(k, _ []byte) error {
			typeCode := string(k[len(itemCode)+1:])
			t, err := GetType(tx, typeCode)
			if err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
	})
	return out, err
}
