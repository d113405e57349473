package web_test

import (
	"net/url"
	"strings"
	"testing"

	"certseal/internal/demo"
)

// TestWebCreateSM2Seal registers an SM2 seal on the admin page: the card names the algorithm and
// links the SESeal; a refused form keeps what was entered and names the problem.
func TestWebCreateSM2Seal(t *testing.T) {
	e := startWebFix(t)
	admin := e.signedIn(t, "admin")
	_, page, _ := admin.do("GET", "/admin/seals", nil)
	if !strings.Contains(page, `id="seal-create"`) || !strings.Contains(page, `value="sm2"`) {
		t.Fatal("the seals page has no registration form with the SM2 choice")
	}
	form := url.Values{
		"csrf": {csrfOf(t, page)}, "action": {"create"}, "name": {"广元市利州区行政审批局公章"}, "org_id": {e.Orgs["广元市利州区行政审批局"]},
		"type": {"official"}, "code": {"5108029990077"}, "auth_number": {"广府函〔2026〕3号"}, "auth_date": {"2026-02-20"},
		"valid_to": {"2029-03-01"}, "algorithm": {"sm2"}, "licence_types": {demo.TypeFood},
	}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("code", "12")
	st, page, _ := admin.do("POST", "/admin/seals", bad)
	if st != 400 || !strings.Contains(page, "印章编码应为 13 位数字") || !strings.Contains(page, `value="广府函〔2026〕3号"`) {
		t.Errorf("refused form: %d, message or entered values missing", st)
	}
	st, _, h := admin.do("POST", "/admin/seals", form)
	if st != 303 || h.Get("Location") != "/admin/seals" {
		t.Fatalf("create: %d %v", st, h)
	}
	_, page, _ = admin.do("GET", "/admin/seals", nil)
	if !strings.Contains(page, "已登记印章“广元市利州区行政审批局公章”") || !strings.Contains(page, "SM2 国密") || !strings.Contains(page, "/eseal") {
		t.Errorf("after create: no flash, algorithm or SESeal link:\n%s", page)
	}
	// A clerk cannot register seals.
	clerk := e.signedIn(t, "lizhou-clerk")
	if st, _, _ := clerk.do("POST", "/admin/seals", form); st != 403 && st != 404 {
		t.Errorf("a clerk's registration: %d", st)
	}
}

// TestWebRenewSeal renews a seal on the admin page: the card offers the renewal form, a bad date
// is refused, and a renewal shows the new end date and certificate serial.
func TestWebRenewSeal(t *testing.T) {
	e := startWebFix(t)
	admin := e.signedIn(t, "admin")
	_, page, _ := admin.do("GET", "/admin/seals", nil)
	if !strings.Contains(page, `value="renew"`) {
		t.Fatal("the seals page has no renewal form")
	}
	i := strings.Index(page, `name="id" value="`)
	if i < 0 {
		t.Fatal("no seal id on the page")
	}
	id := page[i+len(`name="id" value="`):]
	id = id[:strings.IndexByte(id, '"')]
	form := url.Values{"csrf": {csrfOf(t, page)}, "action": {"renew"}, "id": {id}, "reason": {"到期续期"}, "valid_to": {"2040-01"}}
	if st, page, _ := admin.do("POST", "/admin/seals", form); st != 400 || !strings.Contains(page, "YYYY-MM-DD") {
		t.Errorf("a bad date: %d", st)
	}
	form.Set("valid_to", "2040-01-01")
	st, _, h := admin.do("POST", "/admin/seals", form)
	if st != 303 || h.Get("Location") != "/admin/seals" {
		t.Fatalf("renew: %d %v", st, h)
	}
	_, page, _ = admin.do("GET", "/admin/seals", nil)
	if !strings.Contains(page, "已续期至 2040-01-01") || !strings.Contains(page, "2040-01-01") {
		t.Errorf("after renew: no flash or new date")
	}
	clerk := e.signedIn(t, "lizhou-clerk")
	if st, _, _ := clerk.do("POST", "/admin/seals", form); st != 403 && st != 404 {
		t.Errorf("a clerk's renewal: %d", st)
	}
}
