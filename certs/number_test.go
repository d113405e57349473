package certs_test

import (
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
)

// foodPattern is the national 食品经营许可证 number: JY, 主体业态, area, sequence, check digit.
const foodPattern = "JY{field:主体业态:食品销售经营者=1,餐饮服务经营者=2,单位食堂=3}{area}{seq:6}{check:iso7064-mod11-10}"

// TestMod1110KnownValues checks ISO 7064 MOD 11,10 against published valid numbers (Croatian OIB
// numbers, which use MOD 11,10 over ten digits), and that it catches every single-digit error.
func TestMod1110KnownValues(t *testing.T) {
	for _, valid := range []string{"69435151530", "94577403194", "12345678903", "00000000001"} {
		c, err := certs.CheckDigit(catalogue.CheckMod1110, valid[:10])
		if err != nil || c != valid[10] {
			t.Errorf("MOD 11,10 of %s = %q, %v; want %q", valid[:10], c, err, valid[10])
		}
		if !certs.HasValidCheckDigit(catalogue.CheckMod1110, valid) {
			t.Errorf("%s does not verify", valid)
		}
		for i := 0; i < len(valid); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == valid[i] {
					continue
				}
				bad := valid[:i] + string(d) + valid[i+1:]
				if certs.HasValidCheckDigit(catalogue.CheckMod1110, bad) {
					t.Fatalf("%s (one digit of %s changed) verifies", bad, valid)
				}
			}
		}
	}
	if _, err := certs.CheckDigit(catalogue.CheckMod1110, "12A4"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("MOD 11,10 of a letter: %v", err)
	}
	// MOD 37,36 is the identifier's check character (domain.md's real identifier).
	if c, err := certs.CheckDigit(catalogue.CheckMod3736, "11100000000013338W03211220000013544541J2430599001"); err != nil || c != 'F' {
		t.Errorf("MOD 37,36 = %q, %v; want F", c, err)
	}
}

// TestFoodLicenceNumber: the national 食品经营许可证 number of a 餐饮服务经营者 in 利州区
// (510802) is JY2 510802 NNNNNN C with a valid MOD 11,10 check digit; the 主体业态 decides the
// first digit; an unknown 主体业态 is refused naming the field.
func TestFoodLicenceNumber(t *testing.T) {
	cases := []struct {
		kind string
		seq  uint64
		want string
	}{
		{"餐饮服务经营者（小型餐馆）", 1, "JY25108020000016"},
		{"餐饮服务经营者（饮品店）", 2, "JY25108020000024"},
		{"食品销售经营者（便利店）", 1, "JY15108020000010"},
		{"单位食堂（学校食堂）", 1, "JY35108020000017"},
		{"  单位食堂", 999999, ""},
	}
	for _, c := range cases {
		n, err := certs.FormatNumber(foodPattern, certs.NumberInput{Area: "510802", Year: 2026, Seq: c.seq, Values: map[string]string{"主体业态": c.kind}})
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if c.want != "" && n != c.want {
			t.Errorf("%s #%d: %s, want %s", c.kind, c.seq, n, c.want)
		}
		if len(n) != 16 || !strings.HasPrefix(n, "JY") || !certs.HasValidCheckDigit(catalogue.CheckMod1110, n[2:]) {
			t.Errorf("%s: %s is not JY + 14 digits with a MOD 11,10 check digit", c.kind, n)
		}
	}
	for _, kind := range []string{"", "网络食品经营者", "其他"} {
		_, err := certs.FormatNumber(foodPattern, certs.NumberInput{Area: "510802", Seq: 1, Values: map[string]string{"主体业态": kind}})
		if certseal.ErrorCode(err) != certseal.EInvalid || !strings.Contains(certseal.ErrorMessage(err), "主体业态") {
			t.Errorf("主体业态 %q: %v, want invalid_argument naming 主体业态", kind, err)
		}
	}
	// other patterns keep their form
	for _, c := range []struct{ pattern, want string }{
		{"{area}{year}{seq:4}0101", "51080220260007" + "0101"},
		{"川交运管许可广字{area}{seq:6}号", "川交运管许可广字510802000007号"},
	} {
		if n, err := certs.FormatNumber(c.pattern, certs.NumberInput{Area: "510802", Year: 2026, Seq: 7}); err != nil || n != c.want {
			t.Errorf("%s: %s, %v; want %s", c.pattern, n, err, c.want)
		}
	}
	if _, err := certs.FormatNumber("{seq:2}", certs.NumberInput{Seq: 100}); certseal.ErrorCode(err) != certseal.EConflict {
		t.Errorf("a sequence wider than its pattern: %v", err)
	}
}

// TestIssueIsOneCommit: issuing a certificate makes one write transaction (the licence number,
// identifier serial and record id are reserved in memory, not in a commit of their own before
// the render), and a service started again on the database goes on after the numbers it holds.
func TestIssueIsOneCommit(t *testing.T) {
	e := newEnv(t)
	before := e.db.Commits()
	a := e.issue(0, 1)
	if n := e.db.Commits() - before; n != 1 {
		t.Fatalf("one issue made %d commits, want 1", n)
	}
	b := e.issue(1, 2)
	// a second service over the same database (a restart) starts from the stored counters
	old := e.svc
	again := &certs.Service{DB: old.DB, Clock: old.Clock, Seals: old.Seals, Templates: old.Templates, Validator: old.Validator,
		Renderer: old.Renderer, Docs: old.Docs, BaseURL: old.BaseURL}
	c, _, err := again.Issue(ctx, e.clerk, e.foodRequest(2, serial(3)), "")
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{a.ID, b.ID, c.ID}
	idents := map[string]bool{a.Identifier: true, b.Identifier: true, c.Identifier: true}
	numbers := map[string]bool{a.LicenceNumber: true, b.LicenceNumber: true, c.LicenceNumber: true}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] || len(idents) != 3 || len(numbers) != 3 {
		t.Fatalf("ids %v, identifiers %v, numbers %v: not all distinct", ids, idents, numbers)
	}
	if c.ID != "3" || !strings.Contains(c.Identifier, "0000003.") {
		t.Fatalf("after a restart: id %s identifier %s, want id 3 and serial 3", c.ID, c.Identifier)
	}
}
