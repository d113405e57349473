package certseal

import (
	"strings"
	"time"
	"unicode/utf8"
)

// OrgKind is the kind of an organisation (机构类型).
type OrgKind string

// The kinds of organisation, as domain.md names them.
const (
	KindCityCenter     OrgKind = "city_center"           // 市政务服务和公共资源交易中心
	KindCityDepartment OrgKind = "city_department"       // 市级部门
	KindCountyBureau   OrgKind = "county_bureau"         // 县区行政审批局
	KindCountyDept     OrgKind = "county_department"     // 县区原审批部门
	KindProvincialDept OrgKind = "provincial_department" // 省直部门
	KindPrinter        OrgKind = "printer"               // 定点印制企业
	// KindUsingOrg is an organisation that uses licences (用证单位) without issuing any: a bank,
	// a tax office or a market regulator handling another matter (issue 20).
	KindUsingOrg OrgKind = "using_org" // 用证单位
)

// OrgKinds lists every kind, in display order.
var OrgKinds = []OrgKind{KindCityCenter, KindCityDepartment, KindCountyBureau, KindCountyDept, KindProvincialDept, KindPrinter, KindUsingOrg}

// Valid reports whether k is one of the known kinds.
func (k OrgKind) Valid() bool {
	for _, x := range OrgKinds {
		if k == x {
			return true
		}
	}
	return false
}

// Label returns the Chinese name of the kind, or the raw value for an unknown kind.
func (k OrgKind) Label() string {
	switch k {
	case KindCityCenter:
		return "市政务服务中心"
	case KindCityDepartment:
		return "市级部门"
	case KindCountyBureau:
		return "县区行政审批局"
	case KindCountyDept:
		return "县区原审批部门"
	case KindProvincialDept:
		return "省直部门"
	case KindPrinter:
		return "定点印制企业"
	case KindUsingOrg:
		return "用证单位"
	}
	return string(k)
}

// Org is an organisation (机构): the city center, a city or county department, a county approval
// bureau, a provincial department or a printer.
type Org struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Kind     OrgKind `json:"kind"`
	USCC     string  `json:"uscc"`
	AreaCode string  `json:"area_code,omitempty"`
	ParentID string  `json:"parent_id,omitempty"`
	// PrintOffsetX and PrintOffsetY calibrate the organisation's printer for overlay printing
	// onto blank forms (套打), in millimetres; positive moves the print right and down.
	PrintOffsetX float64   `json:"print_offset_x_mm"`
	PrintOffsetY float64   `json:"print_offset_y_mm"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Limits on organisation fields; the OpenAPI document states them too.
const (
	MaxNameLen = 100 // characters of an organisation, item or type name
)

// Validate checks the organisation's own fields (not its parent, which needs the store). It
// returns an *Error with code EInvalid and a Chinese message naming the first bad field.
func (o *Org) Validate() error {
	o.Name = strings.TrimSpace(o.Name)
	if o.Name == "" {
		return Errorf(EInvalid, "机构名称不能为空")
	}
	if utf8.RuneCountInString(o.Name) > MaxNameLen {
		return Errorf(EInvalid, "机构名称不能超过%d个字符", MaxNameLen)
	}
	if !o.Kind.Valid() {
		return Errorf(EInvalid, "未知的机构类型 %q", o.Kind)
	}
	if err := CheckUSCC(o.USCC); err != nil {
		return err
	}
	if o.AreaCode != "" && !ValidAreaCode(o.AreaCode) {
		return Errorf(EInvalid, "行政区划代码 %q 应为6位数字", o.AreaCode)
	}
	if o.PrintOffsetX < -20 || o.PrintOffsetX > 20 || o.PrintOffsetY < -20 || o.PrintOffsetY > 20 {
		return Errorf(EInvalid, "套打偏移量应在 -20 至 20 毫米之间")
	}
	return nil
}

// ValidAreaCode reports whether s is a 6-digit administrative area code (行政区划代码).
func ValidAreaCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Area is a county-level area of Guangyuan with its code.
type Area struct {
	Code string
	Name string
}

// GuangyuanAreas are the city and its county-level areas (domain.md). 广元经济技术开发区 has no
// area code of its own and is not listed.
var GuangyuanAreas = []Area{
	{"510800", "广元市"},
	{"510802", "利州区"},
	{"510811", "昭化区"},
	{"510812", "朝天区"},
	{"510821", "旺苍县"},
	{"510822", "青川县"},
	{"510823", "剑阁县"},
	{"510824", "苍溪县"},
}

// usccChars are the 31 characters of a USCC, in the order of their values (GB 32100-2015).
const usccChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// USCCCheck returns the GB 32100-2015 check character for the first 17 characters of a unified
// social credit code. It returns an *Error (EInvalid) when a character is not allowed there.
func USCCCheck(first17 string) (byte, error) {
	if len(first17) != 17 {
		return 0, Errorf(EInvalid, "统一社会信用代码本体应为17位")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(usccChars, first17[i])
		if v < 0 {
			return 0, Errorf(EInvalid, "统一社会信用代码第%d位 %q 不是允许的字符", i+1, first17[i])
		}
		sum += v * usccWeights[i]
	}
	c := 31 - sum%31
	if c == 31 {
		c = 0
	}
	return usccChars[c], nil
}

// CheckUSCC validates an 18-character unified social credit code (统一社会信用代码): its
// alphabet, its area-code segment and its check character. It returns an *Error with code
// EInvalid and a Chinese message saying what is wrong.
func CheckUSCC(s string) error {
	if len(s) != 18 {
		return Errorf(EInvalid, "统一社会信用代码应为18位，实际为%d位", utf8.RuneCountInString(s))
	}
	want, err := USCCCheck(s[:17])
	if err != nil {
		return err
	}
	if !ValidAreaCode(s[2:8]) {
		return Errorf(EInvalid, "统一社会信用代码第3至8位应为行政区划代码")
	}
	if s[17] != want {
		return Errorf(EInvalid, "统一社会信用代码 %s 的校验位错误（应为 %c）", s, want)
	}
	return nil
}

// MakeUSCC returns a valid USCC made of the 17 given characters and their check character. It
// panics on a bad character; it is for demo data and tests.
func MakeUSCC(first17 string) string {
	c, err := USCCCheck(first17)
	if err != nil {
		panic(err)
	}
	return first17 + string(c)
}

// Role is what a user may do. What each role may do on each route is one table in package server.
type Role string

// The roles.
const (
	RoleAdmin         Role = "admin"          // city center administrator
	RoleDeptOfficer   Role = "dept_officer"   // city department officer
	RoleBureauOfficer Role = "bureau_officer" // county bureau or county department officer
	RoleClerk         Role = "clerk"          // service window clerk
	RoleAuditor       Role = "auditor"        // read-only
	// RoleUserDept is a user of a department that uses licences (用证部门): it asks for a
	// holder's certificate with the holder's consent and gets a purpose-stamped copy.
	RoleUserDept Role = "user_dept"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleDeptOfficer, RoleBureauOfficer, RoleClerk, RoleAuditor, RoleUserDept}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Label returns the Chinese name of the role.
func (r Role) Label() string {
	switch r {
	case RoleAdmin:
		return "管理员"
	case RoleDeptOfficer:
		return "市级部门经办人"
	case RoleBureauOfficer:
		return "县区经办人"
	case RoleClerk:
		return "窗口工作人员"
	case RoleAuditor:
		return "审计员"
	case RoleUserDept:
		return "用证部门"
	}
	return string(r)
}

// RoleFits reports whether a user of role r may belong to an organisation of kind k: admins to
// the city center, department officers to city departments, bureau officers and clerks to county
// bureaus and county departments; auditors anywhere; users of a using department (用证部门) to a
// using organisation or to a city, county or provincial department.
func RoleFits(r Role, k OrgKind) bool {
	switch r {
	case RoleAdmin:
		return k == KindCityCenter
	case RoleDeptOfficer:
		return k == KindCityDepartment
	case RoleBureauOfficer, RoleClerk:
		return k == KindCountyBureau || k == KindCountyDept
	case RoleAuditor:
		return true
	case RoleUserDept:
		return k == KindUsingOrg || k == KindCityDepartment || k == KindCountyDept || k == KindProvincialDept
	}
	return false
}

// User is a person who signs in, in one organisation, with one role.
type User struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Name      string    `json:"name"`
	OrgID     string    `json:"org_id"`
	Role      Role      `json:"role"`
	Disabled  bool      `json:"disabled,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Actor is who does something: the user, their organisation and role. Every service method that
// changes something takes an Actor, and the audit log records it.
type Actor struct {
	UserID   string  `json:"user_id"`
	Username string  `json:"username"`
	OrgID    string  `json:"org_id"`
	OrgKind  OrgKind `json:"org_kind"`
	Role     Role    `json:"role"`
}

// System is the actor for what the service does by itself (demo loading, automatic expiry).
var System = Actor{UserID: "system", Username: "system", Role: RoleAdmin, OrgKind: KindCityCenter}
