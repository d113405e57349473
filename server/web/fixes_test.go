package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/seals"
)

// The fixes of issue #11 §4 (web pages): China time, display names, Chinese labels, the HTML
// 404, every form error at once, the holder asked for once, and only the operations allowed.

var (
	tagRe  = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	isoRe  = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d|\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)|\bUTC\b`)
	spaces = regexp.MustCompile(`\s+`)
)

// pageTexts returns the text nodes of a page (what a reader sees), trimmed, without empty ones.
func pageTexts(page string) []string {
	var out []string
	for _, s := range tagRe.Split(page, -1) {
		if s = strings.TrimSpace(spaces.ReplaceAllString(html.UnescapeString(s), " ")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// rawEnums are the stored values of every enumeration a page may show: none may appear as text.
func rawEnums() map[string]bool {
	out := map[string]bool{}
	add := func(vs ...string) {
		for _, v := range vs {
			out[v] = true
		}
	}
	for _, k := range certseal.OrgKinds {
		add(string(k))
	}
	for _, r := range certseal.Roles {
		add(string(r))
	}
	for _, c := range catalogue.Channels {
		add(string(c))
	}
	add(catalogue.Levels...)
	for _, s := range inventory.States {
		add(string(s))
	}
	for _, k := range inventory.Kinds {
		add(string(k))
	}
	add(string(inventory.StocktakePending), string(inventory.StocktakeApproved), string(inventory.StocktakeRejected))
	add(string(demand.RoundOpen), string(demand.RoundClosed), string(demand.Yearly), string(demand.TopUp))
	add(string(demand.Draft), string(demand.Submitted), string(demand.Withdrawn), string(demand.Approved))
	add(string(certs.BatchChecking), string(certs.BatchIssuing), string(certs.BatchDone), string(certs.BatchFailed))
	add(string(seals.StatusActive), string(seals.StatusSuspended), string(seals.StatusRevoked))
	add("system")
	return out
}

// webFixEnv is a web service with a food licence issued on a blank form by the Lizhou clerk,
// suspended and reinstated, so that its page has a history.
type webFixEnv struct {
	*webEnv
	cert      certs.Certificate
	clerkName string
}

func startWebFix(t *testing.T) *webFixEnv {
	t.Helper()
	w := startWeb(t, "admin", "auditor", "scj", "lizhou-officer", "lizhou-clerk")
	e := &webFixEnv{webEnv: w}
	req := issueRequest(foodFixtures(t)[0], sealOf(t, w.Env, "lizhou-clerk"), "SC00000001")
	e.cert = issue(t, w.Env, "lizhou-clerk", req)
	for _, op := range []string{"suspend", "reinstate"} {
		w.Must(200, "POST", "/api/v1/certificates/"+e.cert.ID+"/operations", "lizhou-clerk", certs.OperationRequest{Op: op, Reason: "现场检查"})
	}
	err := w.App.DB.View(func(tx *store.Tx) error {
		u, err := orgs.UserByName(tx, "lizhou-clerk")
		e.clerkName = u.Name
		return err
	})
	if err != nil || e.clerkName == "" || e.clerkName == "lizhou-clerk" {
		t.Fatalf("the clerk's display name %q: %v", e.clerkName, err)
	}
	return e
}

func (e *webFixEnv) signedIn(t *testing.T, user string) *browser {
	t.Helper()
	b := e.client(t)
	if st, body := b.login(user, e.Passwords[user]); st != http.StatusSeeOther {
		t.Fatalf("%s: login %d\n%s", user, st, body)
	}
	return b
}

// TestWebTimesNamesLabels opens every page of every role and checks that no text shows an ISO or
// UTC time, a login name where a person is meant, or a stored enumeration value instead of its
// Chinese label; and that the certificate's page shows its history in China time with the
// clerk's display name, and the system's expiry as 系统.
func TestWebTimesNamesLabels(t *testing.T) {
	e := startWebFix(t)
	enums := rawEnums()
	pages := []string{"/account", "/certificates", "/certificates/" + e.cert.ID, "/stock", "/receipts", "/stocktake", "/exports", "/summary",
		"/demand", "/issue", "/issue?type=" + demo.TypeFood + "&item=000117001001", "/batch", "/void", "/dept/receive", "/dept/distribute",
		"/admin/orgs", "/admin/users", "/admin/catalogue", "/admin/types", "/admin/templates", "/admin/seals", "/admin/rounds", "/admin/audit"}
	for _, u := range []string{"admin", "auditor", "scj", "lizhou-officer", "lizhou-clerk"} {
		b := e.signedIn(t, u)
		for _, p := range pages {
			st, body, _ := b.do("GET", p, nil)
			if st != 200 {
				continue
			}
			// The login names are shown as such on the account page and in the users' list.
			logins := p == "/account" || p == "/admin/users"
			seen := map[string]bool{}
			for _, s := range pageTexts(body) {
				if seen[s] {
					continue
				}
				seen[s] = true
				if isoRe.MatchString(s) {
					t.Errorf("%s GET %s shows a raw time: %q", u, p, s)
				}
				if enums[s] && !(logins && (s == "admin" || s == "auditor")) {
					t.Errorf("%s GET %s shows the raw value %q instead of its Chinese label", u, p, s)
				}
				if s == "lizhou-clerk" && !logins {
					t.Errorf("%s GET %s shows the login name %q instead of the user's name", u, p, s)
				}
			}
		}
	}
	b := e.signedIn(t, "lizhou-clerk")
	_, page, _ := b.do("GET", "/certificates/"+e.cert.ID, nil)
	texts := strings.Join(pageTexts(page), "|")
	// The test clock is 2026-03-02 09:00 in China (01:00 UTC).
	if !strings.Contains(texts, "2026-03-02 09:00") {
		t.Errorf("the history does not show China time 2026-03-02 09:00:\n%s", texts)
	}
	if !strings.Contains(texts, "签发人|"+e.clerkName) {
		t.Errorf("签发人 is not the clerk's name %q:\n%s", e.clerkName, texts)
	}
	if strings.Count(texts, e.clerkName) < 3 {
		t.Errorf("经办人 of the history is not the clerk's name %q:\n%s", e.clerkName, texts)
	}
	_, page, _ = e.signedIn(t, "admin").do("GET", "/admin/catalogue", nil)
	if !strings.Contains(strings.Join(pageTexts(page), "|"), "|县级|") {
		t.Errorf("the catalogue does not show 层级 县级")
	}
	// The expiry sweep runs as the system: its row names 系统.
	e.Clock.T = time.Date(2031, 1, 1, 9, 0, 0, 0, certseal.China)
	if n, err := e.App.Certs.ExpireDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d %v", n, err)
	}
	e.setPassword(t, "lizhou-clerk", "pw-lizhou-clerk-2031") // the sessions and passwords of 2026 have expired
	_, page, _ = e.signedIn(t, "lizhou-clerk").do("GET", "/certificates/"+e.cert.ID, nil)
	if texts := strings.Join(pageTexts(page), "|"); !strings.Contains(texts, "|系统|") || strings.Contains(texts, "|system|") {
		t.Errorf("the system's expiry is not shown as 系统:\n%s", texts)
	}
}

// TestWebNotFound: a browser asking for an unknown page gets a Chinese HTML page with the layout
// and a link home; the API keeps its JSON error.
func TestWebNotFound(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	get := func(path, accept string) (int, string, string) {
		req, _ := http.NewRequest("GET", w.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, resp.Header.Get("Content-Type"), b.String()
	}
	browserAccept := "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	for _, p := range []string{"/no-such-page", "/certificates/1/nothing", "/admin/nothing"} {
		st, ct, body := get(p, browserAccept)
		if st != http.StatusNotFound || !strings.HasPrefix(ct, "text/html") || !strings.Contains(body, "页面不存在") ||
			!strings.Contains(body, `href="/"`) || !strings.Contains(body, "广元市证照管理系统") {
			t.Errorf("browser GET %s: %d %s\n%s", p, st, ct, body)
		}
	}
	for _, c := range []struct{ path, accept string }{{"/api/v1/no-such", browserAccept}, {"/api/v1/no-such", ""}, {"/no-such-page", "application/json"}} {
		st, ct, body := get(c.path, c.accept)
		var e struct{ Error struct{ Code string } }
		if st != http.StatusNotFound || !strings.HasPrefix(ct, "application/json") || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != certseal.ENotFound {
			t.Errorf("GET %s (Accept %q): %d %s\n%s", c.path, c.accept, st, ct, body)
		}
	}
}

var opOptionRe = regexp.MustCompile(`<option value="([a-z_]+)">`)

var targetRe = regexp.MustCompile(`<option value="([^"]+)">([^<]+)</option>`)

// TestWebCertOps: the certificate's page offers only what its status allows.
func TestWebCertOps(t *testing.T) {
	e := startWebFix(t)
	b := e.signedIn(t, "lizhou-clerk")
	ops := func() []string {
		_, page, _ := b.do("GET", "/certificates/"+e.cert.ID, nil)
		i := strings.Index(page, `id="op-form"`)
		if i < 0 {
			return nil
		}
		var out []string
		for _, m := range opOptionRe.FindAllStringSubmatch(page[i:], -1) {
			out = append(out, m[1])
		}
		return out
	}
	for _, c := range []struct {
		op   string // done before looking; "" for none
		want string
	}{
		{"", "suspend withdraw revoke cancel penalty_withdraw transfer_out renew replace"},
		{"suspend", "reinstate withdraw revoke cancel penalty_withdraw"},
		{"reinstate", "suspend withdraw revoke cancel penalty_withdraw transfer_out renew replace"},
		{"transfer_out", "cancel_transfer"},
		{"cancel_transfer", "suspend withdraw revoke cancel penalty_withdraw transfer_out renew replace"},
		{"revoke", ""},
	} {
		switch c.op {
		case "":
		case "transfer_out":
			// Through the page's own form: it offers the receiving bureaus, never the issuer.
			_, page, _ := b.do("GET", "/certificates/"+e.cert.ID, nil)
			m := targetRe.FindAllStringSubmatch(page, -1)
			var target string
			for _, o := range m {
				if strings.Contains(o[2], "利州区行政审批局") {
					t.Errorf("the transfer-out form offers the issuer itself: %s", o[2])
				}
				if strings.Contains(o[2], "昭化区行政审批局") {
					target = o[1]
				}
			}
			if target == "" {
				t.Fatalf("the transfer-out form offers no 昭化区行政审批局: %v", m)
			}
			st, _, _ := b.do("POST", "/certificates/"+e.cert.ID, url.Values{"csrf": {csrfOf(t, page)}, "op": {"transfer_out"}, "reason": {"测试办理"}, "target_org_id": {target}})
			if st != http.StatusSeeOther {
				t.Fatalf("transfer out through the page: %d", st)
			}
		default:
			e.Must(200, "POST", "/api/v1/certificates/"+e.cert.ID+"/operations", "lizhou-clerk", certs.OperationRequest{Op: c.op, Reason: "测试办理"})
		}
		if got := strings.Join(ops(), " "); got != c.want {
			t.Errorf("after %q the page offers %q, want %q", c.op, got, c.want)
		}
		// A valid certificate shows no reason beside 有效 (the reinstatement's is in the history).
		if c.op == "reinstate" {
			_, page, _ := b.do("GET", "/certificates/"+e.cert.ID, nil)
			_, pub, _ := e.client(t).do("GET", "/verify?ref="+url.QueryEscape(e.cert.LicenceNumber), nil)
			if strings.Contains(page, "（测试办理）") || strings.Contains(pub, "原因：测试办理") || !strings.Contains(pub, "有效") {
				t.Error("a valid certificate's page or public verification shows the reinstatement's reason as its status reason")
			}
		}
	}
	_, page, _ := b.do("GET", "/certificates/"+e.cert.ID, nil)
	if strings.Contains(page, `id="op-form"`) {
		t.Error("a revoked certificate still has the operation form")
	}
}

// TestWebCatalogueLevels: every 层级 the catalogue page offers is a level the catalogue takes
// (the page offered "province", which every form refused; the level is "provincial").
func TestWebCatalogueLevels(t *testing.T) {
	w := startWeb(t, "admin")
	b := w.client(t)
	if st, body := b.login("admin", w.Passwords["admin"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d %s", st, body)
	}
	_, page, _ := b.do("GET", "/admin/catalogue", nil)
	sel := regexp.MustCompile(`(?s)<select name="level">(.*?)</select>`).FindStringSubmatch(page)
	if sel == nil {
		t.Fatal("the catalogue page has no level select")
	}
	values := regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(sel[1], -1)
	if len(values) == 0 {
		t.Fatal("the level select has no options")
	}
	for _, v := range values {
		if !slices.Contains(catalogue.Levels, v[1]) {
			t.Errorf("the page offers level %q, which is not one of %v", v[1], catalogue.Levels)
		}
	}
}
