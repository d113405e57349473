package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"certseal"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/internal/testenv"
	"certseal/server"
)

// webRoutes are the web pages in the role table: public from the table's point of view, since
// every page checks the session cookie itself.
var webRoutes = map[string]string{}

func init() {
	for _, rt := range (&server.Web{}).Routes() {
		webRoutes[rt.Name] = "*"
	}
	expect(webRoutes)
}

// webEnv is a running service with the web pages and demo passwords set for some users.
type webEnv struct {
	*testenv.Env
	URL       string
	Passwords map[string]string
}

func startWeb(t testing.TB, users ...string) *webEnv {
	t.Helper()
	e := testenv.Start(t)
	w := &webEnv{Env: e, URL: e.HTTP.URL, Passwords: map[string]string{}}
	for _, u := range users {
		w.setPassword(t, u, "pw-"+u+"-2026")
	}
	return w
}

func (w *webEnv) userID(t testing.TB, username string) string {
	t.Helper()
	var id string
	err := w.App.DB.View(func(tx *store.Tx) error {
		u, err := orgs.UserByName(tx, username)
		id = u.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (w *webEnv) setPassword(t testing.TB, username, pw string) {
	t.Helper()
	if err := w.App.Orgs.SetPassword(context.Background(), certseal.System, w.userID(t, username), pw); err != nil {
		t.Fatal(err)
	}
	w.Passwords[username] = pw
}

// browser is a plain HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t   testing.TB
	c   *http.Client
	url string
}

func (w *webEnv) client(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, url: w.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), resp.Header
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// login signs in through the form and returns the CSRF token of the first page after it.
func (b *browser) login(user, pw string) (int, string) {
	b.t.Helper()
	_, page, _ := b.do("GET", "/login", nil)
	st, body, h := b.do("POST", "/login", url.Values{"csrf": {csrfOf(b.t, page)}, "username": {user}, "password": {pw}})
	if st == http.StatusSeeOther {
		_, body, _ = b.do("GET", h.Get("Location"), nil)
	}
	return st, body
}

func TestWebLoginSessionCookie(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	if st, _, h := b.do("GET", "/issue", nil); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("a page without a session: %d %s, want a redirect to /login", st, h.Get("Location"))
	}
	_, page, _ := b.do("GET", "/login", nil)
	st, _, h := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"lizhou-clerk"}, "password": {w.Passwords["lizhou-clerk"]}})
	if st != http.StatusSeeOther || h.Get("Location") != "/issue" {
		t.Fatalf("login: %d to %q", st, h.Get("Location"))
	}
	var cookie string
	for _, c := range h.Values("Set-Cookie") {
		if strings.HasPrefix(c, "certseal_session=") {
			cookie = c
		}
	}
	if !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") || strings.Contains(cookie, "Secure") {
		t.Fatalf("session cookie %q: want HttpOnly, SameSite=Strict, not Secure over plain HTTP", cookie)
	}
	if v := strings.TrimPrefix(strings.Split(cookie, ";")[0], "certseal_session="); len(v) != 43 {
		t.Fatalf("session id %q is not 32 random bytes", v)
	}
	st, body, _ := b.do("GET", "/issue", nil)
	if st != 200 || !strings.Contains(body, "利州区行政审批局") || !strings.Contains(body, "签发证照") {
		t.Fatalf("issue page: %d\n%s", st, body)
	}
	// The bearer-token API does not accept the session cookie.
	if st, _, _ := b.do("GET", "/api/v1/me", nil); st != http.StatusUnauthorized {
		t.Fatalf("API with a session cookie: %d, want 401", st)
	}
	// Logout ends the session.
	st, _, _ = b.do("POST", "/logout", url.Values{"csrf": {csrfOf(t, body)}})
	if st != http.StatusSeeOther {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := b.do("GET", "/issue", nil); st != http.StatusSeeOther {
		t.Fatalf("after logout: %d, want a redirect", st)
	}
}

func TestWebCSRF(t *testing.T) {
	w := startWeb(t, "lizhou-clerk", "admin")
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	form := url.Values{"type": {"11100000000013338W032"}, "first": {"SC00000499"}, "reason": {"打印错位"}}
	snap := w.Snapshot()
	st, body, _ := b.do("POST", "/void", form)
	if st != http.StatusForbidden || !strings.Contains(body, "表单校验码") {
		t.Fatalf("void without a CSRF token: %d, want 403\n%s", st, body)
	}
	form.Set("csrf", "forged-token-forged-token-forged-token-1234")
	if st, _, _ := b.do("POST", "/void", form); st != http.StatusForbidden {
		t.Fatalf("void with a wrong CSRF token: %d, want 403", st)
	}
	if string(w.Snapshot()) != string(snap) {
		t.Fatal("a refused form changed the database")
	}
	_, page, _ := b.do("GET", "/void", nil)
	form.Set("csrf", csrfOf(t, page))
	if st, body, _ := b.do("POST", "/void", form); st != http.StatusSeeOther {
		t.Fatalf("void with its token: %d\n%s", st, body)
	}
	// The sign-in form has its token too, bound to a cookie of its own.
	b2 := w.client(t)
	st, body, _ = b2.do("POST", "/login", url.Values{"username": {"admin"}, "password": {w.Passwords["admin"]}})
	if st != http.StatusBadRequest || !strings.Contains(body, "页面已过期") {
		t.Fatalf("login without its token: %d\n%s", st, body)
	}
	// A clerk may not use the administrator's pages.
	if st, _, _ := b.do("GET", "/admin/users", nil); st != http.StatusForbidden {
		t.Fatalf("clerk on /admin/users: %d, want 403", st)
	}
}

func TestWebLockout(t *testing.T) {
	w := startWeb(t, "lizhou-officer")
	b := w.client(t)
	for i := 1; i <= orgs.MaxFailures; i++ {
		st, body := b.login("lizhou-officer", "wrong-password-1")
		want := http.StatusUnauthorized
		if i == orgs.MaxFailures {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("attempt %d: %d, want %d\n%s", i, st, want, body)
		}
		if i < orgs.MaxFailures && !strings.Contains(body, "用户名或密码错误") {
			t.Fatalf("attempt %d: no message\n%s", i, body)
		}
	}
	st, body := b.login("lizhou-officer", w.Passwords["lizhou-officer"])
	if st != http.StatusTooManyRequests || !strings.Contains(body, "账号已锁定15分钟") {
		t.Fatalf("right password while locked: %d\n%s", st, body)
	}
}

// TestWebPages opens every page of each role's menu and checks it renders.
func TestWebPages(t *testing.T) {
	users := []string{"admin", "auditor", "scj", "lizhou-officer", "lizhou-clerk"}
	w := startWeb(t, users...)
	for _, u := range users {
		b := w.client(t)
		if st, body := b.login(u, w.Passwords[u]); st != http.StatusSeeOther {
			t.Fatalf("%s: login %d\n%s", u, st, body)
		}
		for _, p := range []string{"/account", "/certificates", "/stock", "/receipts", "/stocktake", "/exports", "/summary", "/demand", "/issue",
			"/void", "/dept/receive", "/dept/distribute", "/admin/orgs", "/admin/users", "/admin/catalogue", "/admin/types",
			"/admin/templates", "/admin/seals", "/admin/rounds", "/admin/audit?check=1"} {
			st, body, _ := b.do("GET", p, nil)
			if st != 200 && st != http.StatusForbidden {
				t.Errorf("%s GET %s: %d\n%s", u, p, st, body)
			}
			if st == 200 && (!strings.Contains(body, "</html>") || strings.Contains(body, "内部错误")) {
				t.Errorf("%s GET %s: broken page\n%s", u, p, body)
			}
		}
	}
	b := w.client(t)
	if st, body, _ := b.do("GET", "/verify", nil); st != 200 || !strings.Contains(body, "电子证照核验") {
		t.Fatalf("public /verify: %d", st)
	}
}

// TestWebRoutesDocumentedAndPublic checks what the role table and the OpenAPI tests will check
// once app.Open wires the pages: every page route is in the OpenAPI fragment
// (server/openapi/90-web.yaml), and answers a request
// without a session with neither 401 nor 403.
func TestWebRoutesDocumentedAndPublic(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("openapi", "90-web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	w := startWeb(t)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	routes := (&server.Web{}).Routes()
	for _, rt := range routes {
		if !rt.Public {
			t.Errorf("%s is not public in the route table", rt.Name)
		}
		if _, ok := doc.Paths[rt.Path][strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s is not in the OpenAPI fragment", rt.Method, rt.Path)
		}
		path := pathVar.ReplaceAllString(rt.Path, "999999")
		var body io.Reader
		if rt.Method == "POST" {
			body = strings.NewReader("{}")
		}
		req, _ := http.NewRequest(rt.Method, w.URL+path, body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			t.Errorf("%s %s without a session: %d", rt.Method, path, resp.StatusCode)
		}
	}
	n := 0
	for _, ops := range doc.Paths {
		n += len(ops) - btoi(ops["parameters"] != nil)
	}
	if n != len(routes) {
		t.Errorf("the fragment has %d operations, the module %d routes", n, len(routes))
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
