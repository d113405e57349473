package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/server"
	"certseal/server/web"
)

// TestSessionsPerUser: 2,000 sign-ins of one account keep only its newest sessions and never
// end another user's session.
func TestSessionsPerUser(t *testing.T) {
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Millisecond}
	tab := web.NewSessionTable(t, clock, 10, 0)
	other, err := tab.Login("2")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 2000 {
		id, err := tab.Login("1")
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	if !tab.Valid(other) {
		t.Fatal("2,000 sign-ins of one account ended another user's session")
	}
	live := 0
	for _, id := range ids {
		if tab.Valid(id) {
			live++
		}
	}
	if live != 10 {
		t.Fatalf("%d sessions of one user live, want 10", live)
	}
	for _, id := range ids[len(ids)-10:] {
		if !tab.Valid(id) {
			t.Fatal("one of the user's 10 newest sessions was dropped")
		}
	}
}

// TestSessionsGlobalCap: when the table is full, a new sign-in is refused with a clear error;
// nobody else's session is dropped for it.
func TestSessionsGlobalCap(t *testing.T) {
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Millisecond}
	tab := web.NewSessionTable(t, clock, 10, 5)
	var ids []string
	for i := range 5 {
		id, err := tab.Login(fmt.Sprint(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	_, err := tab.Login("9")
	if certseal.ErrorCode(err) != certseal.EUnavailable || !strings.Contains(certseal.ErrorMessage(err), "会话") {
		t.Fatalf("a sign-in into a full table: %v, want unavailable with a message", err)
	}
	for i, id := range ids {
		if !tab.Valid(id) {
			t.Fatalf("session %d was dropped for a new sign-in", i)
		}
	}
	// A user already signed in may still sign in again: it replaces their own oldest session.
	if _, err := web.NewSessionTable(t, clock, 1, 1).Login("1"); err != nil {
		t.Fatal(err)
	}
	one := web.NewSessionTable(t, clock, 1, 1)
	a, _ := one.Login("1")
	b, err := one.Login("1")
	if err != nil || one.Valid(a) || !one.Valid(b) {
		t.Fatalf("re-sign-in at the cap: %v, old valid %v, new valid %v", err, one.Valid(a), one.Valid(b))
	}
	// Sessions that timed out make room.
	clock.Set(clock.Now().Add(3 * time.Hour))
	if _, err := tab.Login("9"); err != nil {
		t.Fatalf("after the sessions expired: %v", err)
	}
}

// TestSafeNext: only a path on this site is followed after signing in.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/issue", "/issue"},
		{"/certificates/12?tab=pdf", "/certificates/12?tab=pdf"},
		{"/certificates?q=%E5%BC%A0", "/certificates?q=%E5%BC%A0"},
		{"", ""},
		{"issue", ""},
		{"//evil.example/x", ""},
		{"/\\evil.example/x", ""},
		{"/\\/evil.example/x", ""},
		{"\\\\evil.example", ""},
		{"/\t/evil.example/x", ""},
		{"/\n/evil.example/x", ""},
		{"/\r\n/evil.example", ""},
		{"/ /evil.example", ""},
		{"/x\x00", ""},
		{"/x\x7f", ""},
		{"/%09/evil.example/x", ""},
		{"/%0a/evil.example/x", ""},
		{"/%2F%2Fevil.example/x", ""},
		{"/%2f/evil.example", ""},
		{"/%5Cevil.example", ""},
		{"/%5c%5cevil.example", ""},
		{"/%2e%2e/admin", ""},
		{"/a/../b", ""},
		{"/./issue", ""},
		{"/%zz", ""},
		{"http://evil.example/x", ""},
		{"https:evil.example", ""},
		{"javascript:alert(1)", ""},
		{"/issue#frag", "/issue"},
		{"/" + strings.Repeat("a", 600), ""},
	} {
		if got := web.SafeNext(tc.in); got != tc.want {
			t.Errorf("SafeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLoginOpenRedirect: the reported redirect to another site does not happen.
func TestLoginOpenRedirect(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	_, page, _ := b.do("GET", "/login?next=/%09/evil.example/x", nil)
	if strings.Contains(page, "evil.example") {
		t.Fatalf("the login form carries the foreign next:\n%s", page)
	}
	st, _, h := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"lizhou-clerk"},
		"password": {w.Passwords["lizhou-clerk"]}, "next": {"/\t/evil.example/x"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/issue" {
		t.Fatalf("login with a foreign next: %d to %q, want 303 to /issue", st, h.Get("Location"))
	}
}

// TestWebSessionsPerUser: through the sign-in form, a user's 11th sign-in ends that user's
// oldest session and nobody else's.
func TestWebSessionsPerUser(t *testing.T) {
	w := startWeb(t, "lizhou-clerk", "zhaohua-clerk")
	other := w.client(t)
	if st, _ := other.login("zhaohua-clerk", w.Passwords["zhaohua-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	var bs []*browser
	for i := range server.DefaultSessionsPerUser + 1 {
		b := w.client(t)
		if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
			t.Fatalf("login %d: %d\n%s", i, st, body)
		}
		bs = append(bs, b)
	}
	if st, _, _ := bs[0].do("GET", "/issue", nil); st != http.StatusSeeOther {
		t.Fatalf("the user's oldest session after %d more sign-ins: %d, want a redirect to /login", server.DefaultSessionsPerUser, st)
	}
	for i, b := range append(bs[1:], other) {
		if st, _, _ := b.do("GET", "/issue", nil); st != http.StatusOK {
			t.Fatalf("session %d: %d, want 200", i, st)
		}
	}
}

// TestSessionsSurviveRestart: a session cookie still works after the service restarts on the
// same data directory; an administrator's new password, the user's own password change (from
// another browser) and disabling the user each end it.
func TestSessionsSurviveRestart(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	if st, _ := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d", st)
	}
	if st, _, _ := b.do("GET", "/issue", nil); st != http.StatusOK {
		t.Fatalf("before the restart: %d", st)
	}
	uid := w.userID(t, "lizhou-clerk")

	w.HTTP.Close()
	w.App.Close()
	a, err := app.Open(app.Config{Data: w.App.Config.Data, NoSync: true, Clock: w.Clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() { srv.Close(); a.Close() })
	b.url = srv.URL // a cookie jar ignores the port: the cookie goes to the new server
	if st, _, h := b.do("GET", "/issue", nil); st != http.StatusOK {
		t.Fatalf("after the restart: %d (to %s), want 200: the session was lost", st, h.Get("Location"))
	}

	signedOut := func(b *browser, what string) {
		t.Helper()
		if st, _, h := b.do("GET", "/issue", nil); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
			t.Fatalf("after %s: %d to %q, want a redirect to /login", what, st, h.Get("Location"))
		}
	}
	admin := certseal.Actor{UserID: certseal.System.UserID, Username: "test-admin", Role: certseal.RoleAdmin}
	pw := "pw-lizhou-clerk-2027"
	if err := a.Orgs.SetPassword(context.Background(), admin, uid, pw); err != nil {
		t.Fatal(err)
	}
	signedOut(b, "an administrator set a new password")

	// The user's own change, from one browser: that browser stays signed in, the other is out.
	other := w.client(t)
	other.url = srv.URL
	for _, c := range []*browser{b, other} {
		if st, _ := c.login("lizhou-clerk", pw); st != http.StatusSeeOther {
			t.Fatalf("login with the new password: %d", st)
		}
	}
	_, page, _ := b.do("GET", "/account", nil)
	pw2 := "pw-lizhou-clerk-2028"
	st, _, h := b.do("POST", "/account", url.Values{"csrf": {csrfOf(t, page)}, "old": {pw}, "new": {pw2}, "new2": {pw2}})
	if st != http.StatusSeeOther || h.Get("Location") != "/account" {
		t.Fatalf("password change: %d to %q", st, h.Get("Location"))
	}
	if st, body, _ := b.do("GET", "/account", nil); st != http.StatusOK || !strings.Contains(body, "密码已修改") {
		t.Fatalf("the browser that changed the password: %d, flash shown %v", st, strings.Contains(body, "密码已修改"))
	}
	signedOut(other, "the user changed the password in another browser")

	// Disabling ends the session for good: enabling the user again does not bring it back.
	if _, err := a.Orgs.SetUserDisabled(context.Background(), admin, uid, true); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Orgs.SetUserDisabled(context.Background(), admin, uid, false); err != nil {
		t.Fatal(err)
	}
	signedOut(b, "the user was disabled and enabled again")
}

// BenchmarkSessionLookup: the cost a signed-in page pays to find its session in the store.
func BenchmarkSessionLookup(b *testing.B) {
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)}
	tab := web.NewSessionTable(b, clock, 10, 0)
	var ids []string
	for i := range 1000 {
		id, err := tab.Login(fmt.Sprint(i%300 + 1))
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if !tab.Valid(ids[len(ids)-1-i%10]) {
			b.Fatal("a live session was not found")
		}
	}
}
