package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"certseal/certs"
	"certseal/internal/demo"
)

// TestWebFormErrors: a form with several mistakes lists them all, each by its field.
func TestWebFormErrors(t *testing.T) {
	e := startWebFix(t)
	errorsOf := func(page string) []string {
		i := strings.Index(page, `id="error"`)
		if i < 0 {
			return nil
		}
		j := strings.Index(page[i:], "</div>")
		var out []string
		for _, m := range regexp.MustCompile(`(?s)<li[^>]*>(.*?)</li>`).FindAllStringSubmatch(page[i:i+j], -1) {
			out = append(out, strings.Join(pageTexts(m[1]), ""))
		}
		return out
	}
	check := func(what, page string, want ...string) {
		t.Helper()
		got := errorsOf(page)
		if len(got) < len(want) {
			t.Errorf("%s: %d errors listed, want at least %d: %q", what, len(got), len(want), got)
			return
		}
		all := strings.Join(got, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: no error about %q in %q", what, w, got)
			}
		}
	}

	clerk := e.signedIn(t, "lizhou-clerk")
	_, page, _ := clerk.do("GET", "/issue?type="+demo.TypeFood+"&item=000117001001", nil)
	form := url.Values{"csrf": {csrfOf(t, page)}, "type": {demo.TypeFood}, "item": {"000117001001"}, "holder_code_type": {"001"},
		"f.统一社会信用代码": {"12345"}, "valid_to": {"明年"}, "action": {"preview"}}
	st, page, _ := clerk.do("POST", "/issue", form)
	if st != http.StatusBadRequest {
		t.Errorf("issue form with errors: %d", st)
	}
	check("issue form", page, "经营者名称", "统一社会信用代码", "有效期至")

	scj := e.signedIn(t, "scj")
	_, page, _ = scj.do("GET", "/dept/receive", nil)
	form = url.Values{"csrf": {csrfOf(t, page)}, "type": {demo.TypeFood}, "first": {""}, "last": {""}, "unit_cost": {"abc"}}
	_, page, _ = scj.do("POST", "/dept/receive", form)
	check("receive form", page, "起始印制编号", "终止印制编号", "单价", "供货单位", "合同或发票号")

	admin := e.signedIn(t, "admin")
	_, page, _ = admin.do("GET", "/admin/users", nil)
	form = url.Values{"csrf": {csrfOf(t, page)}, "action": {"create"}, "username": {"a"}, "name": {""}, "org_id": {"1"}, "role": {"clerk"}}
	_, page, _ = admin.do("POST", "/admin/users", form)
	check("user form", page, "用户名", "姓名", "角色")

	_, page, _ = admin.do("GET", "/admin/orgs", nil)
	form = url.Values{"csrf": {csrfOf(t, page)}, "name": {""}, "kind": {"county_bureau"}, "uscc": {"123"}, "area_code": {"51"}}
	_, page, _ = admin.do("POST", "/admin/orgs", form)
	check("org form", page, "机构名称", "统一社会信用代码", "行政区划代码")
}

// TestWebIssueHolderOnce: the issue form asks for the holder's name and code once, in the
// template's own fields, and the certificate's holder is filled from them.
func TestWebIssueHolderOnce(t *testing.T) {
	e := startWebFix(t)
	b := e.signedIn(t, "lizhou-clerk")
	_, page, _ := b.do("GET", "/issue?type="+demo.TypeFood+"&item=000117001001", nil)
	if strings.Contains(page, `name="holder_name"`) || strings.Contains(page, `name="holder_code"`) {
		t.Error("the form asks for the holder's name and code beside 经营者名称 and 统一社会信用代码")
	}
	for _, f := range []string{`name="f.经营者名称"`, `name="f.统一社会信用代码"`, `name="holder_code_type"`} {
		if !strings.Contains(page, f) {
			t.Errorf("the form has no %s", f)
		}
	}
	req := issueRequest(foodFixtures(t)[1], "", "")
	form := url.Values{"csrf": {csrfOf(t, page)}, "type": {demo.TypeFood}, "item": {"000117001001"}, "holder_code_type": {"001"},
		"valid_to": {req.ValidTo}, "serial": {"SC00000002"}, "action": {"issue"}}
	for k, v := range req.Values {
		form.Set("f."+k, v)
	}
	st, body, h := b.do("POST", "/issue", form)
	if st != http.StatusSeeOther {
		t.Fatalf("issue: %d\n%s", st, body)
	}
	var c certs.Certificate
	e.Must(200, "GET", "/api/v1"+h.Get("Location"), "lizhou-clerk", nil).Decode(t, &c)
	if c.Holder.Name != req.Holder.Name || c.Holder.Code != req.Holder.Code || c.Values["经营者名称"] != req.Holder.Name {
		t.Fatalf("holder %+v, values %q; want %s %s", c.Holder, c.Values["经营者名称"], req.Holder.Name, req.Holder.Code)
	}
}
