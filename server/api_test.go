package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"certseal"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
)

func validOrg(n int) map[string]any {
	return map[string]any{
		"name": fmt.Sprintf("测试机构%d", n), "kind": "county_department",
		"uscc": certseal.MakeUSCC(fmt.Sprintf("11510802MB99%05d", n)), "area_code": "510802",
	}
}

// TestBadInputWritesNothing sends every kind of bad request and checks the status, the error
// code, a Chinese message, and that the database did not change at all.
func TestBadInputWritesNothing(t *testing.T) {
	e := testenv.Start(t)
	goodUSCC := validOrg(1)["uscc"].(string)
	badUSCC := goodUSCC[:17] + string("0123456789ABCDEFGHJKLMNPQRTUWXY"[(strings.IndexByte("0123456789ABCDEFGHJKLMNPQRTUWXY", goodUSCC[17])+1)%31])
	item := map[string]any{"code": "999999001000", "name": "测试事项", "item_type": "行政许可", "level": "county"}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"malformed json", "POST", "/api/v1/orgs", `{"name": "x",`, 400, "invalid_argument"},
		{"not an object", "POST", "/api/v1/orgs", `[1,2]`, 400, "invalid_argument"},
		{"empty body", "POST", "/api/v1/orgs", ``, 400, "invalid_argument"},
		{"trailing data", "POST", "/api/v1/orgs", `{"name":"a"} {"name":"b"}`, 400, "invalid_argument"},
		{"unknown field", "POST", "/api/v1/orgs", `{"name":"a","colour":"red"}`, 400, "invalid_argument"},
		{"wrong type", "POST", "/api/v1/orgs", `{"name": 12}`, 400, "invalid_argument"},
		{"over-long name", "POST", "/api/v1/orgs", map[string]any{"name": strings.Repeat("长", 101), "kind": "printer", "uscc": goodUSCC}, 400, "invalid_argument"},
		{"body too large", "POST", "/api/v1/orgs", `{"name":"` + strings.Repeat("a", 1<<20+10) + `"}`, 413, "payload_too_large"},
		{"bad uscc check", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "printer", "uscc": badUSCC}, 400, "invalid_argument"},
		{"short uscc", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "printer", "uscc": "9151"}, 400, "invalid_argument"},
		{"unknown kind", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "bank", "uscc": goodUSCC}, 400, "invalid_argument"},
		{"unknown parent", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "printer", "uscc": goodUSCC, "parent_id": "999"}, 404, "not_found"},
		{"duplicate uscc", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "city_center", "uscc": demo.CityCenterOrg().USCC}, 409, "conflict"},
		{"bad area code", "POST", "/api/v1/orgs", map[string]any{"name": "甲", "kind": "printer", "uscc": goodUSCC, "area_code": "51080"}, 400, "invalid_argument"},
		{"role does not fit org", "POST", "/api/v1/users", map[string]any{"username": "newclerk", "name": "新", "org_id": "1", "role": "clerk"}, 400, "invalid_argument"},
		{"duplicate username", "POST", "/api/v1/users", map[string]any{"username": "admin", "name": "新", "org_id": "1", "role": "admin"}, 409, "conflict"},
		{"bad username", "POST", "/api/v1/users", map[string]any{"username": "a b", "name": "新", "org_id": "1", "role": "admin"}, 400, "invalid_argument"},
		{"duplicate item code", "POST", "/api/v1/catalogue-items", map[string]any{"code": "000117001000", "name": "重复", "item_type": "行政许可", "level": "county"}, 409, "conflict"},
		{"duplicate sub-item code", "POST", "/api/v1/catalogue-items", map[string]any{"code": "999999001000", "name": "测试", "item_type": "行政许可", "level": "county", "sub_items": []map[string]string{{"code": "000117001001", "name": "子项"}}}, 409, "conflict"},
		{"bad item type", "POST", "/api/v1/catalogue-items", map[string]any{"code": "999999001000", "name": "测试", "item_type": "许可", "level": "county"}, 400, "invalid_argument"},
		{"over-long legal basis", "POST", "/api/v1/catalogue-items", map[string]any{"code": "999999001000", "name": "测试", "item_type": "行政许可", "level": "county", "legal_basis": strings.Repeat("法", 2001)}, 400, "invalid_argument"},
		{"duplicate type code", "POST", "/api/v1/licence-types", map[string]any{"code": demo.TypeFood, "name": "重复", "definer_name": "总局", "holder_kind": "any", "channel": "electronic"}, 409, "conflict"},
		{"type code bad uscc", "POST", "/api/v1/licence-types", map[string]any{"code": "11100000000013338X032", "name": "新", "definer_name": "总局", "holder_kind": "any", "channel": "electronic"}, 400, "invalid_argument"},
		{"paper type without width", "POST", "/api/v1/licence-types", map[string]any{"code": "11100000000013338W099", "name": "新", "definer_name": "总局", "holder_kind": "any", "channel": "local_print"}, 400, "invalid_argument"},
		{"bind unknown item", "POST", "/api/v1/licence-types/" + demo.TypeFood + "/bindings", map[string]any{"item_code": "123456789"}, 404, "not_found"},
		{"bind unknown type", "POST", "/api/v1/licence-types/11100000000013338W099/bindings", map[string]any{"item_code": "000117001000"}, 404, "not_found"},
		{"bind twice", "POST", "/api/v1/licence-types/" + demo.TypeFood + "/bindings", map[string]any{"item_code": "000117001000"}, 409, "conflict"},
		{"unbind missing", "DELETE", "/api/v1/licence-types/" + demo.TypeFood + "/bindings/000113007000", nil, 404, "not_found"},
		{"update unknown item", "PATCH", "/api/v1/catalogue-items/nope", map[string]any{"name": "新名称"}, 404, "not_found"},
		{"patch with unknown field", "PATCH", "/api/v1/catalogue-items/000117001000", item, 400, "invalid_argument"},
		{"bad limit", "GET", "/api/v1/orgs?limit=0", nil, 400, "invalid_argument"},
		{"bad kind filter", "GET", "/api/v1/orgs?kind=bank", nil, 400, "invalid_argument"},
		{"unknown route", "GET", "/api/v1/nothing", nil, 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/orgs", nil, 405, "method_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.Snapshot()
			r := e.Do(c.method, c.path, "admin", c.body)
			if r.Status != c.status || r.ErrorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s\n%.300s", r.Status, r.ErrorCode(), c.status, c.code, r.Body)
			}
			msg := r.JSON(t)["error"].(map[string]any)["message"].(string)
			if !hasHan(msg) {
				t.Errorf("message %q has no Chinese", msg)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Error("a refused request changed the database")
			}
		})
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

func TestCatalogueFlow(t *testing.T) {
	e := testenv.Start(t)
	e.Must(201, "POST", "/api/v1/catalogue-items", "admin", map[string]any{
		"code": "000117003000", "name": "小餐饮经营许可", "item_type": "行政许可", "level": "county", "transferred": true,
		"legal_basis": "《四川省食品小作坊、小经营店及摊贩管理条例》",
		"sub_items":   []map[string]string{{"code": "000117003001", "name": "小餐饮经营许可（新办）"}},
	})
	code := "11100000000013338W040"
	e.Must(201, "POST", "/api/v1/licence-types", "scj", map[string]any{
		"code": code, "name": "小餐饮经营许可证", "definer_name": "四川省市场监督管理局", "responsible_org_id": e.Orgs["广元市市场监督管理局"],
		"holder_kind": "any", "min_validity_months": 12, "max_validity_months": 36, "channel": "local_print", "serial_prefix": "XC", "serial_width": 6,
	})
	// a department may not define types another department is responsible for
	e.Must(403, "POST", "/api/v1/licence-types", "zjj", map[string]any{
		"code": "11100000000013338W041", "name": "甲", "definer_name": "乙", "responsible_org_id": e.Orgs["广元市市场监督管理局"],
		"holder_kind": "any", "channel": "electronic",
	})
	e.Must(201, "POST", "/api/v1/licence-types/"+code+"/bindings", "admin", map[string]string{"item_code": "000117003001"})
	bs := e.Must(200, "GET", "/api/v1/licence-types/"+code+"/bindings", "lizhou-clerk", nil).JSON(t)["items"].([]any)
	if len(bs) != 1 || bs[0].(map[string]any)["item_name"] != "小餐饮经营许可（新办）" {
		t.Errorf("bindings: %v", bs)
	}
	types := e.Must(200, "GET", "/api/v1/catalogue-items/000117003001/licence-types", "lizhou-clerk", nil).JSON(t)["items"].([]any)
	if len(types) != 1 || types[0].(map[string]any)["code"] != code {
		t.Errorf("types of sub-item: %v", types)
	}
	e.Must(204, "DELETE", "/api/v1/licence-types/"+code+"/bindings/000117003001", "admin", nil)
	types = e.Must(200, "GET", "/api/v1/catalogue-items/000117003001/licence-types", "lizhou-clerk", nil).JSON(t)["items"].([]any)
	if len(types) != 0 {
		t.Errorf("after unbinding, types of sub-item: %v", types)
	}
	upd := e.Must(200, "PATCH", "/api/v1/licence-types/"+code, "scj", map[string]any{"template_id": "food-business-licence"}).JSON(t)
	if upd["template_id"] != "food-business-licence" {
		t.Errorf("update: %v", upd)
	}
}

func TestPagination(t *testing.T) {
	e := testenv.Start(t)
	var all []string
	cursor := ""
	for page := 0; page < 20; page++ {
		r := e.Must(200, "GET", "/api/v1/orgs?limit=4&cursor="+cursor, "lizhou-clerk", nil)
		var l struct {
			Items      []struct{ ID string }
			NextCursor string `json:"next_cursor"`
		}
		r.Decode(t, &l)
		if len(l.Items) > 4 {
			t.Fatalf("page of %d items, limit 4", len(l.Items))
		}
		for _, it := range l.Items {
			all = append(all, it.ID)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	full := e.Must(200, "GET", "/api/v1/orgs?limit=500", "lizhou-clerk", nil).JSON(t)["items"].([]any)
	if len(all) != len(full) || len(all) < 10 {
		t.Fatalf("paged through %d orgs, one page has %d", len(all), len(full))
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Fatalf("org %s on two pages", id)
		}
		seen[id] = true
	}
}

func TestUsersScopedToOrg(t *testing.T) {
	e := testenv.Start(t)
	users := e.Must(200, "GET", "/api/v1/users", "lizhou-officer", nil).JSON(t)["items"].([]any)
	for _, u := range users {
		if u.(map[string]any)["org_id"] != e.Orgs["广元市利州区行政审批局"] {
			t.Errorf("bureau officer sees user of another org: %v", u)
		}
	}
	if len(users) != 2 {
		t.Errorf("利州区 has %d users, want 2", len(users))
	}
	e.Must(403, "GET", "/api/v1/users?org_id=1", "lizhou-officer", nil)
	// disabling a user stops their token at once
	var clerk struct{ ID string }
	for _, u := range users {
		if u.(map[string]any)["username"] == "lizhou-clerk" {
			clerk.ID = u.(map[string]any)["id"].(string)
		}
	}
	e.Must(200, "POST", "/api/v1/users/"+clerk.ID+"/disable", "admin", nil)
	if r := e.Do("GET", "/api/v1/me", "lizhou-clerk", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("disabled user: got %d, want 401", r.Status)
	}
	e.Must(200, "POST", "/api/v1/users/"+clerk.ID+"/enable", "admin", nil)
	e.Must(200, "GET", "/api/v1/me", "lizhou-clerk", nil)
}

func TestAuditRecordsChanges(t *testing.T) {
	e := testenv.Start(t)
	before := e.Must(200, "GET", "/api/v1/audit/verify", "auditor", nil).JSON(t)["events"].(float64)
	o := e.Must(201, "POST", "/api/v1/orgs", "admin", validOrg(7)).JSON(t)
	e.Must(200, "PATCH", "/api/v1/orgs/"+o["id"].(string), "admin", map[string]any{"print_offset_x_mm": 1.5})
	v := e.Must(200, "GET", "/api/v1/audit/verify", "auditor", nil).JSON(t)
	if v["ok"] != true || v["events"].(float64) != before+2 {
		t.Errorf("verify: %v, want ok with %v events", v, before+2)
	}
	events := e.Must(200, "GET", "/api/v1/audit?limit=2", "auditor", nil).JSON(t)["items"].([]any)
	if len(events) != 2 || events[0].(map[string]any)["action"] != "org.update" || events[1].(map[string]any)["action"] != "org.create" {
		t.Fatalf("newest events: %v", events)
	}
	if events[0].(map[string]any)["username"] != "admin" {
		t.Errorf("event actor: %v", events[0])
	}
	filtered := e.Must(200, "GET", "/api/v1/audit?object=org/"+o["id"].(string), "auditor", nil).JSON(t)["items"].([]any)
	if len(filtered) != 2 {
		t.Errorf("events of the org: %d, want 2", len(filtered))
	}
}

func TestBackupEndpoint(t *testing.T) {
	e := testenv.Start(t)
	if e.App.Config.Clustered() {
		// A cluster has no database file: 503 naming the two-part backup of docs/cluster.md.
		r := e.Must(503, "GET", "/api/v1/admin/backup", "admin", nil)
		if r.ErrorCode() != certseal.EUnavailable || !strings.Contains(string(r.Body), "docs/cluster.md") {
			t.Fatalf("backup on a cluster: %s", r.Body)
		}
		return
	}
	r := e.Must(200, "GET", "/api/v1/admin/backup", "admin", nil)
	if len(r.Body) < 4096 || !strings.Contains(r.Header.Get("Content-Disposition"), "certseal-") {
		t.Fatalf("backup: %d bytes, disposition %q", len(r.Body), r.Header.Get("Content-Disposition"))
	}
}

func TestHealth(t *testing.T) {
	e := testenv.Start(t)
	e.Must(200, "GET", "/healthz", "", nil)
	e.Must(200, "GET", "/readyz", "", nil)
	e.App.Server.SetReady(false)
	e.Must(503, "GET", "/readyz", "", nil)
	r := e.Do("GET", "/api/v1/orgs", "", nil)
	if r.Header.Get("X-Request-Id") == "" || !strings.Contains(string(r.Body), r.Header.Get("X-Request-Id")) {
		t.Errorf("error body does not carry the request id: %s", r.Body)
	}
}
