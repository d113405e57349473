package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
)

// expected is the role table as the people who use certseal expect it: A admin, D city
// department officer, B county bureau officer, C window clerk, U auditor, E department user
// (用证部门); "*" means public.
// Every route must be listed here, so adding a route forces a decision about who may call it.
var expected = map[string]string{}

// expect adds routes to the expected role table; each part's test file calls it from init.
func expect(m map[string]string) {
	for k, v := range m {
		if _, dup := expected[k]; dup {
			panic("route " + k + " expected twice")
		}
		expected[k] = v
	}
}

func init() { expect(foundationRoutes) }

var foundationRoutes = map[string]string{
	"healthz": "*", "readyz": "*", "openapi": "*",
	"me":          "ADBCUE",
	"orgs.list":   "ADBCU",
	"orgs.create": "A", "orgs.get": "ADBCU", "orgs.update": "A",
	"users.list": "ADBCU", "users.create": "A", "users.get": "ADBCU", "users.disable": "A", "users.enable": "A",
	"tokens.list": "ADBCUE", "tokens.create": "ADBCUE", "tokens.revoke": "ADBCUE",
	"items.list": "ADBCUE", "items.create": "A", "items.get": "ADBCUE", "items.update": "A", "items.types": "ADBCUE",
	"types.list": "ADBCUE", "types.create": "AD", "types.get": "ADBCUE", "types.update": "AD",
	"bindings.list": "ADBCU", "bindings.create": "A", "bindings.delete": "A",
	"audit.list": "AU", "audit.verify": "AU", "admin.backup": "A",
}

var roleUsers = map[byte]string{'A': "admin", 'D': "scj", 'B': "lizhou-officer", 'C': "lizhou-clerk", 'U': "auditor", 'E': "bank-user"}

var pathVar = regexp.MustCompile(`\{[^}]+\}`)

// TestRoleMatrix walks every route with every role: a role outside the expected set gets 403, a
// role inside it never does, and no credential gets 401.
func TestRoleMatrix(t *testing.T) {
	e := testenv.Start(t)
	routes := e.App.Server.AllRoutes()
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Name] = true
		want, ok := expected[rt.Name]
		if !ok {
			t.Errorf("route %s %s (%s) is not in the expected role table", rt.Method, rt.Path, rt.Name)
			continue
		}
		path := pathVar.ReplaceAllString(rt.Path, "999999")
		var body any
		if rt.Method == http.MethodPost || rt.Method == http.MethodPatch || rt.Method == http.MethodPut {
			body = "{}"
		}
		if want == "*" {
			if r := e.Do(rt.Method, path, "", body); r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
				t.Errorf("%s %s: public route answered %d", rt.Method, path, r.Status)
			}
			continue
		}
		if r := e.Do(rt.Method, path, "", body); r.Status != http.StatusUnauthorized || r.ErrorCode() != "unauthenticated" {
			t.Errorf("%s %s without a token: got %d %s, want 401 unauthenticated", rt.Method, path, r.Status, r.ErrorCode())
		}
		for _, letter := range []byte("ADBCUE") {
			user := roleUsers[letter]
			r := e.Do(rt.Method, path, user, body)
			allowed := strings.IndexByte(want, letter) >= 0
			if allowed && (r.Status == http.StatusForbidden || r.Status == http.StatusUnauthorized) {
				t.Errorf("%s %s as %s: got %d, want the role to be allowed\n%s", rt.Method, path, user, r.Status, r.Body)
			}
			if !allowed && r.Status != http.StatusForbidden {
				t.Errorf("%s %s as %s: got %d, want 403", rt.Method, path, user, r.Status)
			}
		}
	}
	for name := range expected {
		if !seen[name] {
			t.Errorf("expected role table names %s, which is not a route", name)
		}
	}
}

func TestBadToken(t *testing.T) {
	e := testenv.Start(t)
	for name, h := range map[string]string{
		"wrong scheme":  "Basic abc",
		"unknown token": "Bearer cst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"no prefix":     "Bearer 12345",
		"empty bearer":  "Bearer ",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.HTTP.URL+"/api/v1/me", nil)
			req.Header.Set("Authorization", h)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("got %d, want 401", resp.StatusCode)
			}
		})
	}
}

// TestTokenLifecycle creates, lists and revokes a token, and checks a revoked token stops
// working and a user cannot revoke another user's token.
func TestTokenLifecycle(t *testing.T) {
	e := testenv.Start(t)
	r := e.Must(201, "POST", "/api/v1/tokens", "lizhou-clerk", map[string]string{"name": "打印机电脑"})
	var tok struct {
		ID, Token string
	}
	r.Decode(t, &tok)
	if !strings.HasPrefix(tok.Token, "cst_") || len(tok.Token) < 40 {
		t.Fatalf("token %q does not look like a 32-byte token", tok.Token)
	}
	e.Tokens["new"] = tok.Token
	e.Must(200, "GET", "/api/v1/me", "new", nil)
	list := e.Must(200, "GET", "/api/v1/tokens", "lizhou-clerk", nil).JSON(t)
	if n := len(list["items"].([]any)); n != 2 {
		t.Errorf("clerk sees %d tokens, want 2 (demo + new)", n)
	}
	if strings.Contains(string(e.Must(200, "GET", "/api/v1/tokens", "admin", nil).Body), tok.Token) {
		t.Error("token list shows a secret")
	}
	e.Must(404, "DELETE", "/api/v1/tokens/"+tok.ID, "zhaohua-clerk", nil)
	e.Must(403, "POST", "/api/v1/tokens", "lizhou-clerk", map[string]string{"user_id": "1"})
	e.Must(200, "DELETE", "/api/v1/tokens/"+tok.ID, "lizhou-clerk", nil)
	e.Must(409, "DELETE", "/api/v1/tokens/"+tok.ID, "lizhou-clerk", nil)
	if r := e.Do("GET", "/api/v1/me", "new", nil); r.Status != 401 {
		t.Errorf("revoked token: got %d, want 401", r.Status)
	}
}
