package server_test

import (
	"bytes"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
)

// TestCatalogueImportAPI: the dry run through the API changes nothing, the apply with its
// digest does what it showed, a second apply writes nothing, a bad file and a stale digest are
// refused with the database unchanged, and the claim binds the new type to the new item.
func TestCatalogueImportAPI(t *testing.T) {
	e := testenv.Start(t)
	csv := []byte("事项编码,事项名称,设定依据,事项类型,事项层级,子项编码,子项名称\n" +
		"000120001000,药品零售企业许可,《中华人民共和国药品管理法》第五十二条,行政许可,县级,000120001001,药品零售企业许可（新办）\n" +
		"000113007000,建筑工程施工许可证核发（含变更）,《中华人民共和国建筑法》第七条；《建筑工程施工许可管理办法》,行政许可,县级,,\n")
	before := e.Snapshot()
	var plan catalogue.Plan
	e.Must(200, "POST", "/api/v1/catalogue/import?dry_run=true&filename=事项目录.csv", "admin", csv).Decode(t, &plan)
	if plan.Added != 1 || plan.Changed != 1 || plan.Applied || len(plan.Entries) != 2 || plan.Entries[1].Changes[0].Old != "建筑工程施工许可证核发" {
		t.Fatalf("dry run: %+v", plan)
	}
	for _, bad := range []struct {
		path string
		body []byte
		code string
	}{
		{"/api/v1/catalogue/import?filename=a.csv", []byte("事项编码,事项名称\n1,甲\n"), "invalid_argument"},
		{"/api/v1/catalogue/import?filename=a.csv&expect=0000", csv, "conflict"},
		{"/api/v1/catalogue/import?dry_run=maybe&filename=a.csv", csv, "invalid_argument"},
		{"/api/v1/catalogue/import?filename=a.csv", bytes.Repeat([]byte("x"), catalogue.MaxImportFile+1), "payload_too_large"},
	} {
		if r := e.Do("POST", bad.path, "admin", bad.body); r.ErrorCode() != bad.code {
			t.Errorf("%s: %d %s, want %s", bad.path, r.Status, r.Body, bad.code)
		}
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("the dry run or a refused import changed the database")
	}
	var applied catalogue.Plan
	e.Must(200, "POST", "/api/v1/catalogue/import?filename=事项目录.csv&expect="+plan.Digest, "admin", csv).Decode(t, &applied)
	if !applied.Applied || applied.Digest != plan.Digest {
		t.Fatalf("apply: %+v", applied)
	}
	var it catalogue.Item
	e.Must(200, "GET", "/api/v1/catalogue-items/000113007000", "auditor", nil).Decode(t, &it)
	if it.Name != "建筑工程施工许可证核发（含变更）" {
		t.Fatalf("item after the import: %+v", it)
	}
	once := e.Snapshot()
	var again catalogue.Plan
	e.Must(200, "POST", "/api/v1/catalogue/import?filename=事项目录.csv", "admin", csv).Decode(t, &again)
	if again.Applied || again.Unchanged != 2 || !bytes.Equal(once, e.Snapshot()) {
		t.Fatalf("second apply: %+v (database changed: %v)", again, !bytes.Equal(once, e.Snapshot()))
	}
	var res catalogue.ClaimResult
	e.Must(200, "POST", "/api/v1/catalogue/claims", "admin", map[string]any{"item_code": "000120001001",
		"handling_org_id": e.Orgs["广元市利州区行政审批局"], "type_codes": []string{demo.TypeBusiness}}).Decode(t, &res)
	if len(res.Bound) != 1 || res.Item.HandlingOrgID != e.Orgs["广元市利州区行政审批局"] || res.Item.ClaimedAt.IsZero() {
		t.Fatalf("claim: %+v", res)
	}
	var types struct{ Items []catalogue.LicenceType }
	e.Must(200, "GET", "/api/v1/catalogue-items/000120001001/licence-types", "auditor", nil).Decode(t, &types)
	if len(types.Items) != 1 || types.Items[0].Code != demo.TypeBusiness {
		t.Fatalf("types of the claimed sub-item: %+v", types.Items)
	}
}
