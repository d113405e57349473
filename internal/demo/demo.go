// Package demo loads the Guangyuan demo data: the city center, three city departments, the eight
// county-level approval bureaus, two county original departments, catalogue items, licence types
// and their bindings, and users for each. It runs once per database; tokens are generated fresh
// and returned to the caller to print, never fixed in code.
package demo

import (
	"fmt"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

var keyLoaded = []byte("demo_loaded")

// Login is a demo user with the API token made for them.
type Login struct {
	Username string
	Role     certseal.Role
	OrgName  string
	Token    string
	// Password is the web password generated for the user when serving with -demo ("" otherwise).
	Password string
}

// Result says what Load did.
type Result struct {
	Loaded bool    // false when the demo data was already there
	Logins []Login // one per demo user, with fresh tokens
	Orgs   map[string]string
}

// Step adds more demo data inside the same transaction as Load; later parts of the service
// (seals, stock, templates) register theirs. orgIDs maps organisation names to ids.
type Step func(tx *store.Tx, now time.Time, orgIDs map[string]string) error

// BankName is the demo using organisation (用证单位): a bank that asks for a holder's licence
// when opening an account.
const BankName = "广元示范银行股份有限公司"

// CityCenterName is the city center's name.
const CityCenterName = "广元市政务服务和公共资源交易中心"

// Bureaus are the county-level approval bureaus by their full official names, as on their seals
// and certificates (a district's organs carry the city's name, a county's do not), with their
// area codes ("" for the development zone, which has none of its own).
var Bureaus = []struct{ Name, Area string }{
	{"广元市利州区行政审批局", "510802"},
	{"广元市昭化区行政审批局", "510811"},
	{"广元市朝天区行政审批局", "510812"},
	{"旺苍县行政审批局", "510821"},
	{"青川县行政审批局", "510822"},
	{"剑阁县行政审批局", "510823"},
	{"苍溪县行政审批局", "510824"},
	{"广元经济技术开发区行政审批局", ""},
}

// CityDepartments are the demo city departments.
var CityDepartments = []string{"广元市市场监督管理局", "广元市住房和城乡建设局", "广元市交通运输局"}

// Licence type codes of the demo (definer USCC + 3 digits).
const (
	TypeFood          = "11100000000013338W032" // 食品经营许可证, 国家市场监督管理总局
	TypeConstruction  = "11100000000019526C001" // 建筑工程施工许可证, 住房和城乡建设部
	TypeRoadTransport = "11100000000019713D005" // 道路运输经营许可证, 交通运输部
	TypeBusiness      = "11100000000013338W001" // 营业执照 (electronic)
)

// uscc makes a valid demo USCC: registration and category code, area code, and a 9-character
// organisation code from n.
func uscc(kind string, area string, n int) string {
	if area == "" {
		area = "510800"
	}
	return certseal.MakeUSCC(fmt.Sprintf("%s%sMB15%05d", kind, area, n))
}

// CityCenterOrg returns the city center organisation as init and the demo create it.
func CityCenterOrg() certseal.Org {
	return certseal.Org{Name: CityCenterName, Kind: certseal.KindCityCenter, USCC: uscc("12", "510800", 1), AreaCode: "510800"}
}

// EnsureCityCenter returns the city center, creating it when the database has none.
func EnsureCityCenter(tx *store.Tx, now time.Time) (certseal.Org, bool, error) {
	return orgs.EnsureCityCenterTx(tx, now, CityCenterOrg())
}

// Load adds the demo data unless it is already there, with the extra steps after the
// foundation's own, in one transaction: all or nothing.
func Load(db *store.DB, now time.Time, steps ...Step) (Result, error) {
	var res Result
	err := db.Update(func(tx *store.Tx) error {
		res = Result{}
		if tx.Has(store.Meta, keyLoaded) {
			return nil
		}
		ids, logins, err := foundation(tx, now)
		if err != nil {
			return err
		}
		for _, st := range steps {
			if err := st(tx, now, ids); err != nil {
				return err
			}
		}
		res = Result{Loaded: true, Logins: logins, Orgs: ids}
		return tx.Put(store.Meta, keyLoaded, []byte(now.UTC().Format(time.RFC3339)))
	})
	return res, err
}

func foundation(tx *store.Tx, now time.Time) (map[string]string, []Login, error) {
	sys := certseal.System
	ids := map[string]string{}
	center, _, err := EnsureCityCenter(tx, now)
	if err != nil {
		return nil, nil, err
	}
	ids[center.Name] = center.ID
	add := func(o certseal.Org) error {
		if err := o.Validate(); err != nil {
			return fmt.Errorf("demo org %s: %w", o.Name, err)
		}
		if existing, err := orgs.ByUSCC(tx, o.USCC); err == nil {
			ids[o.Name] = existing.ID
			return nil
		}
		created, err := orgs.Create(tx, now, sys, o)
		if err != nil {
			return fmt.Errorf("demo org %s: %w", o.Name, err)
		}
		ids[o.Name] = created.ID
		return nil
	}
	for i, name := range CityDepartments {
		if err := add(certseal.Org{Name: name, Kind: certseal.KindCityDepartment, USCC: uscc("11", "510800", 10+i), AreaCode: "510800", ParentID: center.ID}); err != nil {
			return nil, nil, err
		}
	}
	for i, b := range Bureaus {
		if err := add(certseal.Org{Name: b.Name, Kind: certseal.KindCountyBureau, USCC: uscc("11", b.Area, 20+i), AreaCode: b.Area, ParentID: center.ID}); err != nil {
			return nil, nil, err
		}
	}
	countyDepts := []certseal.Org{
		{Name: "广元市利州区市场监督管理局", Kind: certseal.KindCountyDept, USCC: uscc("11", "510802", 40), AreaCode: "510802", ParentID: ids["广元市市场监督管理局"]},
		{Name: "苍溪县交通运输局", Kind: certseal.KindCountyDept, USCC: uscc("11", "510824", 41), AreaCode: "510824", ParentID: ids["广元市交通运输局"]},
	}
	for _, o := range countyDepts {
		if err := add(o); err != nil {
			return nil, nil, err
		}
	}
	for _, o := range []certseal.Org{
		{Name: "四川省市场监督管理局", Kind: certseal.KindProvincialDept, USCC: uscc("11", "510000", 50), AreaCode: "510000"},
		{Name: "四川省住房和城乡建设厅", Kind: certseal.KindProvincialDept, USCC: uscc("11", "510000", 51), AreaCode: "510000"},
		{Name: "成都川印证件印务有限公司", Kind: certseal.KindPrinter, USCC: certseal.MakeUSCC("91510100MA6C1234" + "5"), AreaCode: "510100"},
		{Name: BankName, Kind: certseal.KindUsingOrg, USCC: certseal.MakeUSCC("91510800MA6C5678" + "9"), AreaCode: "510800"},
	} {
		if err := add(o); err != nil {
			return nil, nil, err
		}
	}

	items := []catalogue.Item{
		{Code: "000117001000", Name: "食品经营许可", ItemType: "行政许可", Level: "county", Transferred: true,
			LegalBasis: "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》",
			SubItems:   []catalogue.SubItem{{Code: "000117001001", Name: "食品经营许可（新办）"}, {Code: "000117001002", Name: "食品经营许可（变更）"}, {Code: "000117001003", Name: "食品经营许可（延续）"}}},
		{Code: "000113007000", Name: "建筑工程施工许可证核发", ItemType: "行政许可", Level: "county", Transferred: true,
			LegalBasis: "《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》"},
		{Code: "000114008000", Name: "道路旅客运输经营许可", ItemType: "行政许可", Level: "county", Transferred: true,
			LegalBasis: "《中华人民共和国道路运输条例》第十条"},
		{Code: "000114009000", Name: "道路货物运输经营许可", ItemType: "行政许可", Level: "county", Transferred: false,
			LegalBasis: "《中华人民共和国道路运输条例》第二十四条", HandlingOrgID: ids["苍溪县交通运输局"]},
		{Code: "000117002000", Name: "个体工商户设立登记", ItemType: "行政许可", Level: "county", Transferred: true,
			LegalBasis: "《促进个体工商户发展条例》；《中华人民共和国市场主体登记管理条例》"},
	}
	for _, it := range items {
		if err := it.Validate(); err != nil {
			return nil, nil, fmt.Errorf("demo item %s: %w", it.Code, err)
		}
		if _, err := catalogue.GetItem(tx, it.Code); err == nil {
			continue
		}
		if _, err := catalogue.CreateItemTx(tx, now, sys, it); err != nil {
			return nil, nil, fmt.Errorf("demo item %s: %w", it.Code, err)
		}
	}
	types := []catalogue.LicenceType{
		{Code: TypeFood, Name: "食品经营许可证", DefinerName: "国家市场监督管理总局", ResponsibleOrgID: ids["广元市市场监督管理局"],
			HolderKind: catalogue.HolderAny, MinValidityMonths: 12, MaxValidityMonths: 60, Channel: catalogue.ChannelPrinter,
			SerialPrefix: "SC", SerialWidth: 8, NumberPattern: "JY{field:主体业态:食品销售经营者=1,餐饮服务经营者=2,单位食堂=3}{area}{seq:6}{check:iso7064-mod11-10}", TemplateID: "food-business-licence",
			Format: catalogue.FormatPDFOFD}, // a PDF and an OFD (SM2 seal) of every food licence
		{Code: TypeConstruction, Name: "建筑工程施工许可证", DefinerName: "中华人民共和国住房和城乡建设部", ResponsibleOrgID: ids["广元市住房和城乡建设局"],
			HolderKind: catalogue.HolderEntity, MinValidityMonths: 3, MaxValidityMonths: 36, Channel: catalogue.ChannelProvincial,
			SerialPrefix: "JZ", SerialWidth: 7, NumberPattern: "{area}{year}{seq:4}0101", TemplateID: "construction-permit"},
		{Code: TypeRoadTransport, Name: "道路运输经营许可证", DefinerName: "中华人民共和国交通运输部", ResponsibleOrgID: ids["广元市交通运输局"],
			HolderKind: catalogue.HolderAny, MinValidityMonths: 12, MaxValidityMonths: 48, Channel: catalogue.ChannelLocalPrint,
			SerialPrefix: "DY", SerialWidth: 8, NumberPattern: "川交运管许可广字{area}{seq:6}号", TemplateID: "road-transport-licence"},
		{Code: TypeBusiness, Name: "个体工商户营业执照", DefinerName: "国家市场监督管理总局", ResponsibleOrgID: ids["广元市市场监督管理局"],
			HolderKind: catalogue.HolderAny, Channel: catalogue.ChannelElectronic, NumberPattern: "{area}{year}{seq:8}", TemplateID: "generic-licence"},
	}
	for _, t := range types {
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("demo licence type %s: %w", t.Name, err)
		}
		if _, err := catalogue.GetType(tx, t.Code); err == nil {
			continue
		}
		if _, err := catalogue.CreateTypeTx(tx, now, sys, t); err != nil {
			return nil, nil, fmt.Errorf("demo licence type %s: %w", t.Name, err)
		}
	}
	for _, b := range [][2]string{
		{TypeFood, "000117001000"}, {TypeFood, "000117001001"}, {TypeFood, "000117001002"}, {TypeFood, "000117001003"},
		{TypeConstruction, "000113007000"},
		{TypeRoadTransport, "000114008000"}, {TypeRoadTransport, "000114009000"},
		{TypeBusiness, "000117002000"},
	} {
		if catalogue.IsBound(tx, b[0], b[1]) {
			continue
		}
		if _, err := catalogue.BindTx(tx, now, sys, b[0], b[1]); err != nil {
			return nil, nil, err
		}
	}

	var logins []Login
	user := func(username, name, org string, role certseal.Role) error {
		u, err := orgs.UserByName(tx, username)
		if err != nil {
			u, err = orgs.CreateUserTx(tx, now, sys, certseal.User{Username: username, Name: name, OrgID: ids[org], Role: role})
			if err != nil {
				return fmt.Errorf("demo user %s: %w", username, err)
			}
		}
		_, secret, err := orgs.CreateTokenTx(tx, now, sys, u.ID, "demo")
		if err != nil {
			return err
		}
		logins = append(logins, Login{Username: username, Role: role, OrgName: org, Token: secret})
		return nil
	}
	steps := []struct {
		username, name, org string
		role                certseal.Role
	}{
		{"admin", "系统管理员", CityCenterName, certseal.RoleAdmin},
		{"auditor", "审计员", CityCenterName, certseal.RoleAuditor},
		{"scj", "市场监管局经办人", "广元市市场监督管理局", certseal.RoleDeptOfficer},
		{"zjj", "住建局经办人", "广元市住房和城乡建设局", certseal.RoleDeptOfficer},
		{"jtj", "交通局经办人", "广元市交通运输局", certseal.RoleDeptOfficer},
		{"lz-scj", "利州区市场监管局经办人", "广元市利州区市场监督管理局", certseal.RoleBureauOfficer},
		{"cx-jtj", "苍溪县交通运输局经办人", "苍溪县交通运输局", certseal.RoleBureauOfficer},
		{"bank-user", "银行开户经办人", BankName, certseal.RoleUserDept},
	}
	pinyin := []string{"lizhou", "zhaohua", "chaotian", "wangcang", "qingchuan", "jiange", "cangxi", "jkq"}
	for i, b := range Bureaus {
		steps = append(steps,
			struct {
				username, name, org string
				role                certseal.Role
			}{pinyin[i] + "-officer", b.Name + "经办人", b.Name, certseal.RoleBureauOfficer},
			struct {
				username, name, org string
				role                certseal.Role
			}{pinyin[i] + "-clerk", b.Name + "窗口", b.Name, certseal.RoleClerk})
	}
	for _, s := range steps {
		if err := user(s.username, s.name, s.org, s.role); err != nil {
			return nil, nil, err
		}
	}
	return ids, logins, nil
}
