package server_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"

	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
)

// TestFoodLicenceNumberNational: the built-in 食品经营许可证 type numbers certificates by the
// national rule: JY, the 主体业态 digit (2 for a 餐饮服务经营者), 利州区's area code 510802, a
// 6-digit sequence counted per 主体业态, and an ISO 7064 MOD 11,10 check digit; an unknown
// 主体业态 is refused, naming the field, and nothing is written.
func TestFoodLicenceNumberNational(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	serial := 0
	issueAs := func(kind string) certs.Certificate {
		t.Helper()
		serial++
		req := issueRequest(fs[serial], seal, fmt.Sprintf("SC%08d", serial))
		req.Values["主体业态"] = kind
		return issue(t, e, "lizhou-clerk", req)
	}
	national := regexp.MustCompile(`^JY[123]510802\d{7}$`)
	for i, c := range []struct{ kind, want string }{
		{"餐饮服务经营者（小型餐馆）", "JY2510802000001"},
		{"餐饮服务经营者（饮品店）", "JY2510802000002"},
		{"食品销售经营者（便利店）", "JY1510802000001"},
		{"单位食堂（学校食堂）", "JY3510802000001"},
		{"餐饮服务经营者（中型餐馆）", "JY2510802000003"},
	} {
		n := issueAs(c.kind).LicenceNumber
		if !national.MatchString(n) || n[:15] != c.want || !certs.HasValidCheckDigit(catalogue.CheckMod1110, n[2:]) {
			t.Errorf("certificate %d (%s): number %s, want %sC with a MOD 11,10 check digit", i+1, c.kind, n, c.want)
		}
	}
	serial++
	req := issueRequest(fs[serial], seal, fmt.Sprintf("SC%08d", serial))
	req.Values["主体业态"] = "网络食品交易第三方平台"
	before := e.Snapshot()
	r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", req)
	if r.Status != 400 || !bytes.Contains(r.Body, []byte("主体业态")) {
		t.Fatalf("unknown 主体业态: %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Error("a refused issue wrote to the database")
	}
}

// TestLicenceTypeNumberPatternChecked: POST /api/v1/licence-types refuses a number pattern that
// cannot make numbers (400 invalid_argument, in Chinese) and accepts the national food pattern.
func TestLicenceTypeNumberPatternChecked(t *testing.T) {
	e := testenv.Start(t)
	body := func(code, pattern string) map[string]any {
		return map[string]any{"code": code, "name": "测试证照", "definer_name": "国家市场监督管理总局", "holder_kind": "any",
			"channel": "electronic", "number_pattern": pattern}
	}
	for _, bad := range []string{"JY{area}", "{seq:6}{check:luhn}", "{field:主体业态}{seq:6}", "{seq:6"} {
		r := e.Do("POST", "/api/v1/licence-types", "admin", body("11100000000013338W099", bad))
		if r.Status != 400 || r.ErrorCode() != "invalid_argument" || !bytes.Contains(r.Body, []byte("证照编号规则")) {
			t.Errorf("pattern %q: %d %s", bad, r.Status, r.Body)
		}
	}
	e.Must(201, "POST", "/api/v1/licence-types", "admin",
		body("11100000000013338W098", "JY{field:主体业态:食品销售经营者=1,餐饮服务经营者=2,单位食堂=3}{area}{seq:6}{check:iso7064-mod11-10}"))
}
