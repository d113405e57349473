package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"certseal"
	"certseal/internal/orgs"
	"certseal/server"
)

// TestLoginRateLimited: a burst of sign-in posts from one address beyond LoginBurst gets 429
// with Retry-After and a Chinese message.
func TestLoginRateLimited(t *testing.T) {
	w := startWeb(t)
	b := w.client(t)
	for i := range server.DefaultLoginBurst {
		// No form token: refused at once (400) without a password check, but counted.
		if st, body, _ := b.do("POST", "/login", url.Values{"username": {"admin"}, "password": {"x"}}); st != http.StatusBadRequest {
			t.Fatalf("post %d: %d\n%s", i, st, body)
		}
	}
	st, body, h := b.do("POST", "/login", url.Values{"username": {"admin"}, "password": {"x"}})
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "频繁") {
		t.Fatalf("post %d: %d, Retry-After %q, want 429 with Retry-After\n%s", server.DefaultLoginBurst+1, st, h.Get("Retry-After"), body)
	}
}

// TestTokenCreateRateLimited: token creation is limited per client address.
func TestTokenCreateRateLimited(t *testing.T) {
	e := startWeb(t)
	for i := range server.DefaultLoginBurst {
		e.Must(201, "POST", "/api/v1/tokens", "lizhou-clerk", map[string]string{"name": "t" + strconv.Itoa(i)})
	}
	r := e.Do("POST", "/api/v1/tokens", "lizhou-clerk", map[string]string{"name": "one too many"})
	if r.Status != http.StatusTooManyRequests || r.ErrorCode() != certseal.ERateLimited || r.Header.Get("Retry-After") == "" {
		t.Fatalf("token %d: %d %s, Retry-After %q", server.DefaultLoginBurst+1, r.Status, r.Body, r.Header.Get("Retry-After"))
	}
}

// TestLoginAddressThrottled: an address that failed AddrMaxFailures times is answered 429 with
// Retry-After, even with the right password.
func TestLoginAddressThrottled(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	for i := range orgs.DefaultAddrMaxFailures {
		if st, body := b.login("nobody"+strconv.Itoa(i), "wrong-password-1"); st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d\n%s", i, st, body)
		}
	}
	_, page, _ := b.do("GET", "/login", nil)
	st, body, h := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"lizhou-clerk"}, "password": {w.Passwords["lizhou-clerk"]}})
	if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "失败次数过多") {
		t.Fatalf("after %d failures: %d, Retry-After %q\n%s", orgs.DefaultAddrMaxFailures, st, h.Get("Retry-After"), body)
	}
}

// TestWebLoginSameAnswer: an unknown user, a locked account and a disabled account get the same
// page status and message.
func TestWebLoginSameAnswer(t *testing.T) {
	w := startWeb(t, "lizhou-clerk", "lizhou-officer", "admin")
	b := w.client(t)
	for range orgs.MaxFailures {
		b.login("lizhou-officer", "wrong-password-1")
	}
	if _, err := w.App.Orgs.SetUserDisabled(t.Context(), certseal.System, w.userID(t, "lizhou-clerk"), true); err != nil {
		t.Fatal(err)
	}
	msgRe := func(body string) string {
		i := strings.Index(body, "用户名或密码错误")
		if i < 0 {
			return ""
		}
		return body[i : i+strings.Index(body[i:], "<")]
	}
	var first string
	for _, tc := range []struct{ name, user, pw string }{
		{"unknown", "no-such-user", "wrong-password-1"},
		{"locked", "lizhou-officer", w.Passwords["lizhou-officer"]},
		{"disabled", "lizhou-clerk", w.Passwords["lizhou-clerk"]},
		{"wrong", "admin", "wrong-password-1"},
	} {
		st, body := b.login(tc.user, tc.pw)
		got := strconv.Itoa(st) + " " + msgRe(body)
		if first == "" {
			first = got
		}
		if st != http.StatusUnauthorized || msgRe(body) == "" || got != first {
			t.Errorf("%s: %q, want 401 and the same message as the others (%q)", tc.name, got, first)
		}
	}
}

// TestCSRFOnlyFromBody: the form token counts only in the form body or the X-CSRF-Token header,
// never in the query string.
func TestCSRFOnlyFromBody(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	_, page := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"])
	token := csrfOf(t, page)
	form := url.Values{"type": {"11100000000013338W032"}, "first": {"SC00000499"}, "reason": {"打印错位"}}
	if st, body, _ := b.do("POST", "/void?csrf="+url.QueryEscape(token), form); st != http.StatusForbidden {
		t.Fatalf("token in the query string: %d, want 403\n%s", st, body)
	}
	req, _ := http.NewRequest("POST", w.URL+"/void", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", token)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token in the X-CSRF-Token header: %d, want 303", resp.StatusCode)
	}
	// The sign-in form too.
	b2 := w.client(t)
	_, page, _ = b2.do("GET", "/login", nil)
	st, body, _ := b2.do("POST", "/login?csrf="+url.QueryEscape(csrfOf(t, page)), url.Values{"username": {"lizhou-clerk"}, "password": {w.Passwords["lizhou-clerk"]}})
	if st != http.StatusBadRequest {
		t.Fatalf("sign-in token in the query string: %d, want 400\n%s", st, body)
	}
}
