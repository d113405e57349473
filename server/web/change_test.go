package web_test

import (
	"net/url"
	"strings"
	"testing"

	"certseal/certs"
)

// TestWebChangeForm: only the issuing bureau's clerks and officers get the change form (the link
// on the certificate's page, and the page itself); a form that changes nothing, a value the
// template refuses and a suspended certificate are refused in Chinese and change nothing; a
// change issues version 2 with the history's diff.
func TestWebChangeForm(t *testing.T) {
	e := startWebFix(t)
	id := e.cert.ID
	path := "/certificates/" + id + "/change"
	for _, user := range []string{"admin", "auditor"} {
		b := e.signedIn(t, user)
		if _, page, _ := b.do("GET", "/certificates/"+id, nil); strings.Contains(page, `id="change-link"`) {
			t.Errorf("%s is offered the change form", user)
		}
		if st, _, _ := b.do("GET", path, nil); st != 403 {
			t.Errorf("%s opens the change form: %d", user, st)
		}
	}
	clerk := e.signedIn(t, "lizhou-clerk")
	_, page, _ := clerk.do("GET", "/certificates/"+id, nil)
	if !strings.Contains(page, `href="`+path+`"`) {
		t.Fatal("the clerk's certificate page has no change link")
	}
	st, page, _ := clerk.do("GET", path, nil)
	if st != 200 || !strings.Contains(page, `value="`+e.cert.Values["住所"]+`"`) {
		t.Fatalf("the change form: %d, without the current 住所", st)
	}
	csrf := csrfOf(t, page)
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {csrf}, "action": {"change"}, "reason": {"住所变更"}, "valid_to": {e.cert.ValidTo}, "serial": {"SC00000002"}}
		for k, val := range e.cert.Values {
			v.Set("f."+k, val)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	history := func(id string) []certs.Operation {
		var h struct{ Items []certs.Operation }
		e.Must(200, "GET", "/api/v1/certificates/"+id+"/history", "lizhou-clerk", nil).Decode(t, &h)
		return h.Items
	}
	n := len(history(id))
	for _, c := range []struct {
		name string
		form url.Values
		want string
	}{
		{"nothing changed", form(), "没有修改任何内容"},
		{"too long", form("f.住所", strings.Repeat("长", 400)), "住所"},
		{"no reason", form("f.住所", "新址", "reason", ""), "请填写变更原因"},
		{"bad date", form("f.住所", "新址", "valid_to", "明年"), "应为日期"},
		{"no serial", form("f.住所", "新址", "serial", ""), "新空白证照印制编号"},
		{"serial not in stock", form("f.住所", "新址", "serial", "SC09999999"), "SC09999999"},
	} {
		st, page, _ := clerk.do("POST", path, c.form)
		if st < 400 || st > 409 || !strings.Contains(page, c.want) || !strings.Contains(page, `id="error"`) {
			t.Errorf("%s: %d, want a refusal naming %q", c.name, st, c.want)
		}
		if got := len(history(id)); got != n {
			t.Fatalf("%s changed the history (%d operations, were %d)", c.name, got, n)
		}
	}
	st, _, h := clerk.do("POST", path, form("f.住所", "四川省广元市利州区新址路2号"))
	if st != 303 {
		t.Fatalf("the change: %d", st)
	}
	newID := strings.TrimPrefix(h.Get("Location"), "/certificates/")
	last := history(newID)[len(history(newID))-1]
	if last.Op != "change" || len(last.Changes) != 1 || last.Changes[0] != (certs.FieldChange{Field: "住所", Old: e.cert.Values["住所"], New: "四川省广元市利州区新址路2号"}) {
		t.Fatalf("the new version's last operation: %+v", last)
	}
	// The old version is superseded: no change form any more.
	if st, page, _ := clerk.do("GET", path, nil); st != 409 || !strings.Contains(page, "不能办理变更") {
		t.Fatalf("the change form of the old version: %d", st)
	}
}
