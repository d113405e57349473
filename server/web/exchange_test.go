package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestWebExchangeAuditor: an auditor's exchange page offers the downloads and the code table but
// no import or claim form, and a forged import post is refused.
func TestWebExchangeAuditor(t *testing.T) {
	w := startWeb(t, "auditor")
	b := w.client(t)
	if code, _ := b.login("auditor", w.Passwords["auditor"]); code != 303 {
		t.Fatalf("login: %d", code)
	}
	code, page, _ := b.do("GET", "/admin/exchange", nil)
	if code != 200 || !strings.Contains(page, `id="export-form"`) || !strings.Contains(page, "已签发新版本") {
		t.Fatalf("auditor's exchange page: %d\n%s", code, page)
	}
	if strings.Contains(page, `id="import-form"`) || strings.Contains(page, `id="claim-form"`) {
		t.Fatal("the auditor's page offers the import or the claim")
	}
	form := url.Values{"csrf": {csrfOf(t, page)}, "item_code": {"000117001000"}}
	if code, _, _ := b.do("POST", "/admin/exchange/claim", form); code != 403 {
		t.Fatalf("an auditor's claim: %d, want 403", code)
	}
	code, body, h := b.do("GET", "/admin/exchange/changes.json?after=0", nil)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !strings.Contains(body, `"format": "certseal-exchange/1"`) {
		t.Fatalf("auditor's JSON download: %d %v\n%s", code, h, body)
	}
}
