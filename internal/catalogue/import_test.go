package catalogue_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

var admin = certseal.Actor{UserID: "u1", Username: "admin", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}

func snapshot(t *testing.T, db *store.DB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := db.Backup(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// provinceItems is a provincial item list against the demo catalogue: 食品经营许可 renamed
// with a new sub-item and one renamed, 建筑工程施工许可证核发 as it is, a new item with two
// sub-items (one row each).
const provinceItems = "\ufeff事项编码,事项名称,设定依据,事项类型,事项层级,子项编码,子项名称\n" +
	"000117001000,食品经营许可（含仅销售预包装食品备案）,《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》,行政许可,县级,000117001003,食品经营许可（延续换证）\n" +
	"000117001000,食品经营许可（含仅销售预包装食品备案）,《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》,行政许可,县级,000117001004,食品经营许可（注销）\n" +
	"000113007000,建筑工程施工许可证核发,《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》,行政许可,county,,\n" +
	"\n" +
	"000120001000,药品零售企业许可,《中华人民共和国药品管理法》第五十二条,行政许可,县级,000120001001,药品零售企业许可（新办）\n" +
	"000120001000,药品零售企业许可,《中华人民共和国药品管理法》第五十二条,行政许可,县级,000120001002,药品零售企业许可（变更）\n"

// provinceTypes is a provincial licence type list: the food licence with a longer validity, the
// business licence as it is, a new electronic type.
const provinceTypes = "证照类型代码,证照类型名称,定义机构,持证主体类型,最短有效期（月）,最长有效期（月）\n" +
	demo.TypeFood + ",食品经营许可证,国家市场监督管理总局,不限,12,72\n" +
	demo.TypeBusiness + ",个体工商户营业执照,国家市场监督管理总局,不限,0,0\n" +
	"11100000000013338W099,药品经营许可证,国家市场监督管理总局,法人,12,60\n"

func entry(t *testing.T, p catalogue.Plan, kind, code string) catalogue.PlanEntry {
	t.Helper()
	for _, e := range p.Entries {
		if e.Kind == kind && e.Code == code {
			return e
		}
	}
	t.Fatalf("plan has no %s %s: %+v", kind, code, p.Entries)
	return catalogue.PlanEntry{}
}

func changesOf(e catalogue.PlanEntry) []string {
	var out []string
	for _, c := range e.Changes {
		out = append(out, c.Field+": "+c.Old+" → "+c.New)
	}
	return out
}

func parse(t *testing.T, name, data string) *catalogue.Import {
	t.Helper()
	im, err := catalogue.ParseImport(name, []byte(data))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return im
}

// TestImportDryRunApply checks the dry run of an item list and a type list item by item, that
// it writes nothing, that the apply does exactly what it showed (audited), and that a second
// apply is a no-op that writes nothing.
func TestImportDryRunApply(t *testing.T) {
	db := demoDB(t)
	ctx := context.Background()
	s := &catalogue.Service{DB: db, Clock: &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Second}}
	items := parse(t, "事项目录.csv", provinceItems)
	types := parse(t, "证照类型.csv", provinceTypes)

	before := snapshot(t, db)
	ip, err := s.PlanImport(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := s.PlanImport(ctx, types)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, snapshot(t, db)) {
		t.Fatal("the dry run changed the database")
	}
	if ip.Added != 1 || ip.Changed != 1 || ip.Unchanged != 1 || ip.Errors != 0 || len(ip.Entries) != 3 {
		t.Fatalf("item plan: %+v", ip)
	}
	food := entry(t, ip, "item", "000117001000")
	wantFood := []string{"name: 食品经营许可 → 食品经营许可（含仅销售预包装食品备案）",
		"sub_items.000117001003: 食品经营许可（延续） → 食品经营许可（延续换证）", "sub_items.000117001004:  → 食品经营许可（注销）"}
	if food.Action != catalogue.ActionChange || food.Row != 2 || !slices.Equal(changesOf(food), wantFood) {
		t.Fatalf("食品经营许可: %s row %d %q", food.Action, food.Row, changesOf(food))
	}
	if e := entry(t, ip, "item", "000113007000"); e.Action != catalogue.ActionKeep || len(e.Changes) != 0 {
		t.Fatalf("建筑工程施工许可证核发: %+v", e)
	}
	if e := entry(t, ip, "item", "000120001000"); e.Action != catalogue.ActionAdd || e.Name != "药品零售企业许可" || e.Row != 6 {
		t.Fatalf("药品零售企业许可: %+v", e)
	}
	if tp.Added != 1 || tp.Changed != 1 || tp.Unchanged != 1 {
		t.Fatalf("type plan: %+v", tp)
	}
	if e := entry(t, tp, "type", demo.TypeFood); e.Action != catalogue.ActionChange || !slices.Equal(changesOf(e), []string{"max_validity_months: 60 → 72"}) {
		t.Fatalf("食品经营许可证: %s %q", e.Action, changesOf(e))
	}
	if e := entry(t, tp, "type", demo.TypeBusiness); e.Action != catalogue.ActionKeep {
		t.Fatalf("个体工商户营业执照: %+v", e)
	}
	if e := entry(t, tp, "type", "11100000000013338W099"); e.Action != catalogue.ActionAdd {
		t.Fatalf("药品经营许可证: %+v", e)
	}

	// apply exactly that
	got, err := s.ApplyImport(ctx, admin, items, ip.Digest)
	if err != nil || !got.Applied || got.Digest != ip.Digest {
		t.Fatalf("apply items: %+v %v", got, err)
	}
	if _, err := s.ApplyImport(ctx, admin, types, tp.Digest); err != nil {
		t.Fatal(err)
	}
	it, _ := s.GetItem(ctx, "000117001000")
	if it.Name != "食品经营许可（含仅销售预包装食品备案）" || len(it.SubItems) != 4 || it.SubItems[2].Name != "食品经营许可（延续换证）" ||
		it.SubItems[3] != (catalogue.SubItem{Code: "000117001004", Name: "食品经营许可（注销）"}) || !it.Transferred {
		t.Fatalf("食品经营许可 after the import: %+v", it)
	}
	if err := db.View(func(tx *store.Tx) error {
		owner, err := catalogue.ResolveCode(tx, "000117001004")
		if err != nil || owner.Code != "000117001000" {
			t.Errorf("the new sub-item code resolves to %q: %v", owner.Code, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	nw, err := s.GetItem(ctx, "000120001000")
	if err != nil || nw.Level != "county" || len(nw.SubItems) != 2 || nw.HandlingOrgID != "" || !nw.ClaimedAt.IsZero() {
		t.Fatalf("new item: %+v %v", nw, err)
	}
	ft, _ := s.GetType(ctx, demo.TypeFood)
	if ft.MaxValidityMonths != 72 || ft.Channel != catalogue.ChannelPrinter || ft.SerialPrefix != "SC" || ft.TemplateID != "food-business-licence" || ft.ResponsibleOrgID == "" {
		t.Fatalf("the food licence type lost the city's own fields: %+v", ft)
	}
	dt, err := s.GetType(ctx, "11100000000013338W099")
	if err != nil || dt.Channel != catalogue.ChannelElectronic || dt.HolderKind != catalogue.HolderEntity || dt.DefinerName != "国家市场监督管理总局" {
		t.Fatalf("new type: %+v %v", dt, err)
	}
	var actions []string
	db.View(func(tx *store.Tx) error {
		evs, _, err := audit.List(tx, audit.Filter{}, 0, 1000)
		for _, e := range evs {
			if e.Time.After(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
				actions = append(actions, e.Action+" "+e.Object)
			}
		}
		return err
	})
	slices.Sort(actions)
	wantActions := []string{"catalogue.import catalogue", "catalogue.import catalogue", "item.create item/000120001000", "item.update item/000117001000",
		"licence_type.create licence_type/11100000000013338W099", "licence_type.update licence_type/" + demo.TypeFood}
	if !slices.Equal(actions, wantActions) {
		t.Fatalf("audit: %q\nwant %q", actions, wantActions)
	}

	// a second apply is a no-op
	after := snapshot(t, db)
	for _, im := range []*catalogue.Import{items, types} {
		p, err := s.ApplyImport(ctx, admin, im, "")
		if err != nil || p.Applied || p.Added+p.Changed != 0 || p.Unchanged != len(p.Entries) {
			t.Fatalf("second apply: %+v %v", p, err)
		}
	}
	if !bytes.Equal(after, snapshot(t, db)) {
		t.Fatal("the second apply changed the database")
	}
}

// TestImportRefusals: a plan that changed since the dry run, an entry that cannot be applied, a
// role other than admin, and bad files are refused, and the database stays byte for byte.
func TestImportRefusals(t *testing.T) {
	db := demoDB(t)
	ctx := context.Background()
	s := &catalogue.Service{DB: db, Clock: certseal.SystemClock{}}
	items := parse(t, "a.csv", provinceItems)
	p, err := s.PlanImport(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	name := "食品经营许可（另一名称）"
	if _, err := s.UpdateItem(ctx, admin, "000117001000", catalogue.ItemPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, db)
	if _, err := s.ApplyImport(ctx, admin, items, p.Digest); certseal.ErrorCode(err) != certseal.EConflict {
		t.Fatalf("stale plan: %v", err)
	}
	clerk := admin
	clerk.Role = certseal.RoleClerk
	if _, err := s.ApplyImport(ctx, clerk, items, ""); certseal.ErrorCode(err) != certseal.EForbidden {
		t.Fatalf("a clerk: %v", err)
	}
	// a new item whose sub-item code belongs to another item
	taken := parse(t, "b.csv", "事项编码,事项名称,事项类型,事项层级,子项编码,子项名称\n000199000000,测试事项,行政许可,市级,000117001002,冒用的子项\n")
	tp, err := s.PlanImport(ctx, taken)
	if err != nil || tp.Errors != 1 || tp.Entries[0].Action != catalogue.ActionError || !strings.Contains(tp.Entries[0].Error, "000117001002") {
		t.Fatalf("plan with a taken code: %+v %v", tp, err)
	}
	if _, err := s.ApplyImport(ctx, admin, taken, ""); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("apply with an error entry: %v", err)
	}
	if !bytes.Equal(before, snapshot(t, db)) {
		t.Fatal("a refused import changed the database")
	}

	bad := map[string]string{
		"empty":         "",
		"no data":       "事项编码,事项名称,事项类型,事项层级\n",
		"unknown table": "名称,代码\n甲,1\n",
		"missing level": "事项编码,事项名称,事项类型\n0001,甲,行政许可\n",
		"bad level":     "事项编码,事项名称,事项类型,事项层级\n0001,甲,行政许可,乡级\n",
		"bad type":      "事项编码,事项名称,事项类型,事项层级\n0001,甲,行政审批,县级\n",
		"bad code":      "事项编码,事项名称,事项类型,事项层级\n00 01,甲,行政许可,县级\n",
		"dup code":      "事项编码,事项名称,事项类型,事项层级\n0001,甲,行政许可,县级\n0001,甲,行政许可,县级\n",
		"sub = item":    "事项编码,事项名称,事项类型,事项层级,子项编码,子项名称\n0001,甲,行政许可,县级,0001,乙\n",
		"rows disagree": "事项编码,事项名称,事项类型,事项层级,子项编码,子项名称\n0001,甲,行政许可,县级,0002,乙\n0001,丙,行政许可,县级,0003,丁\n",
		"type code":     "证照类型代码,证照类型名称,定义机构,持证主体类型\n123,甲证,乙局,不限\n",
		"type months":   "证照类型代码,证照类型名称,定义机构,持证主体类型,最长有效期（月）\n11100000000013338W099,甲证,乙局,不限,十二\n",
		"json format":   `{"format":"other/1","items":[]}`,
		"json unknown":  `{"format":"certseal-catalogue/1","items":[{"code":"0001","name":"甲","item_type":"行政许可","level":"county","handling_org_id":"x"}]}`,
		"json trailing": `{"format":"certseal-catalogue/1","items":[{"code":"0001","name":"甲","item_type":"行政许可","level":"county"}]} {}`,
		"json empty":    `{"format":"certseal-catalogue/1"}`,
		"gbk":           "\xca\xc2\xcf\xee\xb1\xe0\xc2\xeb\n",
	}
	for name, data := range bad {
		fn := "x.csv"
		if strings.HasPrefix(name, "json") {
			fn = "x.json"
		}
		_, err := catalogue.ParseImport(fn, []byte(data))
		if c := certseal.ErrorCode(err); c != certseal.EInvalid {
			t.Errorf("%s: %v, want invalid_argument", name, err)
		} else if msg := certseal.ErrorMessage(err); msg == "" || !strings.ContainsFunc(msg, func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
			t.Errorf("%s: message %q is not a Chinese sentence", name, msg)
		}
	}
	if _, err := catalogue.ParseImport("x.csv", bytes.Repeat([]byte("a"), catalogue.MaxImportFile+1)); certseal.ErrorCode(err) != certseal.ETooLarge {
		t.Errorf("a file over the limit: %v", err)
	}
	if _, err := catalogue.ParseImport("bad.csv", []byte(bad["bad level"])); !strings.Contains(certseal.ErrorMessage(err), "第2行") {
		t.Errorf("the message does not name the row: %v", err)
	}
}

// TestImportFormats: the same item list as JSON, CSV and XLSX parses to the same plan.
func TestImportFormats(t *testing.T) {
	db := demoDB(t)
	s := &catalogue.Service{DB: db, Clock: certseal.SystemClock{}}
	js, _ := json.Marshal(map[string]any{"format": catalogue.ImportFormat, "items": []map[string]any{
		{"code": "000117001000", "name": "食品经营许可（含仅销售预包装食品备案）", "legal_basis": "《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》", "item_type": "行政许可", "level": "county",
			"sub_items": []map[string]string{{"code": "000117001003", "name": "食品经营许可（延续换证）"}, {"code": "000117001004", "name": "食品经营许可（注销）"}}},
		{"code": "000113007000", "name": "建筑工程施工许可证核发", "legal_basis": "《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》", "item_type": "行政许可", "level": "county"},
		{"code": "000120001000", "name": "药品零售企业许可", "legal_basis": "《中华人民共和国药品管理法》第五十二条", "item_type": "行政许可", "level": "county",
			"sub_items": []map[string]string{{"code": "000120001001", "name": "药品零售企业许可（新办）"}, {"code": "000120001002", "name": "药品零售企业许可（变更）"}}},
	}})
	f := excelize.NewFile()
	for i, line := range strings.Split(strings.TrimPrefix(provinceItems, "\ufeff"), "\n") {
		if line == "" {
			continue
		}
		cells := strings.Split(line, ",")
		row := make([]any, len(cells))
		for j, c := range cells {
			row[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		f.SetSheetRow("Sheet1", cell, &row)
	}
	var xb bytes.Buffer
	if err := f.Write(&xb); err != nil {
		t.Fatal(err)
	}
	var entries [][]catalogue.PlanEntry
	for name, data := range map[string][]byte{"a.json": js, "a.csv": []byte(provinceItems), "a.xlsx": xb.Bytes()} {
		p, err := s.PlanImport(context.Background(), parse(t, name, string(data)))
		if err != nil {
			t.Fatal(err)
		}
		for i := range p.Entries {
			p.Entries[i].Row = 0 // JSON has no rows
		}
		entries = append(entries, p.Entries)
	}
	for i := 1; i < len(entries); i++ {
		a, _ := json.Marshal(entries[0])
		b, _ := json.Marshal(entries[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("the formats plan differently:\n%s\n%s", a, b)
		}
	}
}

// TestClaim: claiming records the handling organisation and binds the types; claiming again
// changes nothing; an unknown organisation or type changes nothing.
func TestClaim(t *testing.T) {
	db := demoDB(t)
	ctx := context.Background()
	s := &catalogue.Service{DB: db, Clock: certseal.SystemClock{}}
	im := parse(t, "a.csv", provinceItems)
	if _, err := s.ApplyImport(ctx, admin, im, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyImport(ctx, admin, parse(t, "t.csv", provinceTypes), ""); err != nil {
		t.Fatal(err)
	}
	var orgID string
	db.View(func(tx *store.Tx) error {
		os, err := orgs.All(tx)
		for _, o := range os {
			if o.Name == "广元市利州区行政审批局" {
				orgID = o.ID
			}
		}
		return err
	})
	before := snapshot(t, db)
	for _, req := range []catalogue.ClaimRequest{
		{ItemCode: "000120001001", HandlingOrgID: "nope", TypeCodes: []string{"11100000000013338W099"}},
		{ItemCode: "000120001001", HandlingOrgID: orgID, TypeCodes: []string{"11100000000013338W098"}},
		{ItemCode: "000120001001", TypeCodes: []string{"11100000000013338W099"}},
		{ItemCode: "999", HandlingOrgID: orgID},
	} {
		if _, err := s.Claim(ctx, admin, req); err == nil {
			t.Errorf("claim %+v succeeded", req)
		}
	}
	if !bytes.Equal(before, snapshot(t, db)) {
		t.Fatal("a refused claim changed the database")
	}
	res, err := s.Claim(ctx, admin, catalogue.ClaimRequest{ItemCode: "000120001001", HandlingOrgID: orgID, TypeCodes: []string{"11100000000013338W099"}})
	if err != nil || res.Item.Code != "000120001000" || res.Item.HandlingOrgID != orgID || res.Item.ClaimedAt.IsZero() || len(res.Bound) != 1 || res.Bound[0].ItemName != "药品零售企业许可（新办）" {
		t.Fatalf("claim: %+v %v", res, err)
	}
	types, _ := s.TypesOfItem(ctx, "000120001001")
	if len(types) != 1 || types[0].Code != "11100000000013338W099" {
		t.Fatalf("types of the sub-item: %+v", types)
	}
	once := snapshot(t, db)
	res, err = s.Claim(ctx, admin, catalogue.ClaimRequest{ItemCode: "000120001001", HandlingOrgID: orgID, TypeCodes: []string{"11100000000013338W099"}})
	if err != nil || len(res.Bound) != 0 || !slices.Equal(res.Existing, []string{"11100000000013338W099"}) {
		t.Fatalf("second claim: %+v %v", res, err)
	}
	if !bytes.Equal(once, snapshot(t, db)) {
		t.Fatal("the second claim changed the database")
	}
}
