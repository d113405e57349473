package web_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/seals"
)

// The administration pages and the change form of issue #21, driven in Debian's chromium with
// real clicks and typing (selects are set, as a user picks from a list).

// adminBrowser starts chromium, failing (not skipping) in CI when it is missing.
func adminBrowser(t *testing.T) context.Context {
	t.Helper()
	fixtures.NeedTool(t, "chromium", "chromium")
	return newBrowser(t)
}

// typeInto clears the input and types s into it, as a user does.
func typeInto(id, s string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := chromedp.Evaluate[any](`document.querySelector(`+jsString(id)+`).value = ''`)(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.SendKeys(chromedp.CSS(id), s)(ctx, tg)
	}
}

// shotAt saves a screenshot of the window (1280×900) with the element at its top, when
// CERTSEAL_SCREENSHOTS names a directory: for the long pages whose full picture is unreadable.
func shotAt(t *testing.T, ctx context.Context, name, sel string) {
	t.Helper()
	dir := os.Getenv("CERTSEAL_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
		if _, err := chromedp.Evaluate[any](`document.querySelector(`+jsString(sel)+`).scrollIntoView()`)(ctx, tg); err != nil {
			return nil, err
		}
		return chromedp.CaptureScreenshot()(ctx, tg)
	})
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *webEnv) sealsWithCode(t *testing.T, code string) []seals.Seal {
	t.Helper()
	all, _, err := w.App.Seals.List(context.Background(), seals.SealFilter{}, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []seals.Seal
	for _, s := range all {
		if s.Code == code {
			out = append(out, s)
		}
	}
	return out
}

// TestWebBrowserAdminSeals: the administrator draws a new seal before saving it, a bad code is
// named inline and registers nothing, then registers it for ECDSA and SM2 at once (the twin),
// views a seal's use log, and revokes the new seal with a reason after confirming.
func TestWebBrowserAdminSeals(t *testing.T) {
	ctx := adminBrowser(t)
	w := startWeb(t, "admin", "lizhou-clerk")
	// One use on the log of 利州区's seal: a certificate issued with it.
	sealID := sealOf(t, w.Env, "lizhou-clerk")
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealID, "SC00000001"))
	w.browserLogin(t, ctx, "admin")
	const code = "5108129990011"
	fill := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(w.URL + "/admin/seals"),
		chromedp.WaitVisible(chromedp.ID("#seal-create")),
		typeInto("#seal-name", "广元市朝天区行政审批局行政审批专用章"),
		chromedp.SetValue(chromedp.ID("#seal-org"), w.Orgs["广元市朝天区行政审批局"]),
		typeInto("#seal-code", "12"),
		typeInto("#seal-auth-number", "广府函〔2026〕9号"),
		script(`document.querySelector('#seal-auth-date').value = '2026-02-20'; document.querySelector('#seal-valid-to').value = '2029-03-01'`),
		chromedp.SetValue(chromedp.ID("#diameter_mm"), "45"),
		chromedp.Click(chromedp.ID("#alg-sm2")), // ECDSA is checked already: both
		chromedp.SetValue(chromedp.ID("#seal-types"), demo.TypeFood),
		chromedp.Click(chromedp.ID("#seal-preview-btn")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	}
	run(t, ctx, "a preview with a bad code", fill...)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "公章编码") || !strings.Contains(msg, "13 位数字") {
		t.Fatalf("the error does not name the code:\n%s", msg)
	}
	if n := eval(t, ctx, `String(document.querySelectorAll('#seal-create label.invalid').length)`); n != "1" {
		t.Fatalf("%s fields marked, want the code", n)
	}
	if v := eval(t, ctx, `document.querySelector('#seal-name').value + '|' + document.querySelector('#diameter_mm').value + '|' + document.querySelector('#alg-sm2').checked`); v != "广元市朝天区行政审批局行政审批专用章|45|true" {
		t.Fatalf("the refused form lost what was entered: %s", v)
	}
	if got := w.sealsWithCode(t, "12"); len(got) != 0 {
		t.Fatalf("a refused preview registered %d seals", len(got))
	}
	run(t, ctx, "preview", typeInto("#seal-code", code), chromedp.Click(chromedp.ID("#seal-preview-btn")), chromedp.WaitVisible(chromedp.ID("#seal-preview")))
	// The drawing is an image the page shows, of the seal's size.
	if v := eval(t, ctx, `new Promise(r => { const i = document.querySelector('#seal-preview img'); const ok = () => r(i.naturalWidth > 0 ? 'ok' : 'broken'); i.complete ? ok() : i.onload = ok; i.onerror = () => r('error'); })`); v != "ok" {
		t.Fatalf("the seal preview image: %s", v)
	}
	if v := eval(t, ctx, `atob(document.querySelector('#seal-preview img').src.split(',')[1]).slice(0, 120)`); !strings.Contains(v, `width="45mm"`) {
		t.Fatalf("the preview is not a 45 mm seal: %s", v)
	}
	if got := w.sealsWithCode(t, code); len(got) != 0 {
		t.Fatalf("the preview registered %d seals", len(got))
	}
	shotAt(t, ctx, "admin-seal-preview", "#seal-create")
	run(t, ctx, "register", chromedp.Click(chromedp.ID("#seal-create-btn")), waitText(".flash", "已登记印章"))
	got := w.sealsWithCode(t, code)
	if len(got) != 2 || got[0].Algorithm == got[1].Algorithm || got[0].DiameterMM != 45 || got[1].DiameterMM != 45 {
		t.Fatalf("registered %+v, want an ECDSA and an SM2 seal of 45 mm", got)
	}
	if f := text(t, ctx, ".flash"); !strings.Contains(f, "ECDSA P-256") || !strings.Contains(f, "SM2 国密") {
		t.Fatalf("flash %q does not name both registrations", f)
	}
	shotAt(t, ctx, "admin-seals", "main")

	// The use log of 利州区's seal shows the certificate.
	run(t, ctx, "uses", chromedp.Click(chromedp.ID("#uses-"+sealID)), waitText("#uses", "证照 "+c.ID))
	shot(t, ctx, "admin-seal-uses")

	// Revoking asks first; without a reason nothing is sent (the field is required), with one
	// the seal is revoked.
	newID := got[0].ID
	status := `#seals .card:has(#scan-` + newID + `) form:not(.renew)`
	run(t, ctx, "revoke",
		chromedp.Navigate(w.URL+"/admin/seals"),
		chromedp.WaitVisible(chromedp.ID("#seal-create")),
		script(`window.confirm = (m) => { localStorage.setItem('confirmed', m); return true; }`),
		chromedp.SendKeys(chromedp.CSS(status+` input[name=reason]`), "印章信息登记有误，予以吊销"),
		chromedp.Click(chromedp.CSS(status+` button[value=revoke]`)),
		waitText(".flash", "现在的状态为"),
	)
	if m := eval(t, ctx, `localStorage.getItem('confirmed') || ''`); !strings.Contains(m, "确认吊销该印章") {
		t.Fatalf("revoking asked %q, want the revocation's own confirmation", m)
	}
	s, err := w.App.Seals.Get(context.Background(), newID)
	if err != nil || s.Status != seals.StatusRevoked || s.StatusReason != "印章信息登记有误，予以吊销" {
		t.Fatalf("after revoking: %+v %v", s.Status, err)
	}
}

var generatedPw = regexp.MustCompile(`初始密码：(\S+)`)

// TestWebBrowserAdminUsersTokens: the administrator creates a user (a bad form is named inline
// and creates nothing; only roles that fit the organisation are offered), gives them a password
// made by the service, the user signs in with it; the administrator resets it, which ends the
// user's session; then makes an API token (shown once), which works, and revokes it, which stops
// it at once. An organisation is edited, a bad area code refused inline, and the organisation
// form checks the USCC's check digit as it is typed.
func TestWebBrowserAdminUsersTokens(t *testing.T) {
	ctx := adminBrowser(t)
	w := startWeb(t, "admin")
	w.browserLogin(t, ctx, "admin")
	users := func() int {
		us, _, err := w.App.Orgs.ListUsers(context.Background(), "", "", 1000)
		if err != nil {
			t.Fatal(err)
		}
		return len(us)
	}
	before := users()
	run(t, ctx, "a bad user form",
		chromedp.Navigate(w.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("#user-create")),
		chromedp.SetValue(chromedp.ID("#user-org"), w.Orgs["广元市朝天区行政审批局"]),
		script(`document.querySelector('#user-org').dispatchEvent(new Event('change'))`),
	)
	// A county bureau takes bureau officers, clerks and auditors, not administrators.
	if roles := eval(t, ctx, `Array.from(document.querySelectorAll('#user-role option')).filter(o => !o.disabled).map(o => o.value).join(' ')`); roles != "bureau_officer clerk auditor" {
		t.Fatalf("roles offered for a county bureau: %q", roles)
	}
	run(t, ctx, "submit the bad form",
		typeInto("#user-username", "a"),
		chromedp.SetValue(chromedp.ID("#user-role"), "clerk"),
		chromedp.Click(chromedp.ID("#user-add")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "用户名") || !strings.Contains(msg, "姓名") {
		t.Fatalf("the errors do not name the username and the name:\n%s", msg)
	}
	if n := users(); n != before {
		t.Fatalf("a refused form made a user: %d users, were %d", n, before)
	}
	run(t, ctx, "create the user",
		typeInto("#user-username", "zt-clerk2"),
		typeInto("#user-name", "朝天区窗口二"),
		chromedp.Click(chromedp.ID("#user-add")),
		waitText(".flash", "已添加用户 zt-clerk2"),
	)
	if n := users(); n != before+1 {
		t.Fatalf("%d users after creating one, were %d", n, before)
	}
	run(t, ctx, "make a password",
		script(`window.confirm = () => true`),
		chromedp.Click(chromedp.CSS(`#pw-zt-clerk2 button`)),
		waitText(".flash", "初始密码"),
	)
	m := generatedPw.FindStringSubmatch(text(t, ctx, ".flash"))
	if m == nil {
		t.Fatalf("no password in %q", text(t, ctx, ".flash"))
	}
	shot(t, ctx, "admin-users")
	// The new user signs in (a second client, its own session) and is asked to change it.
	user := w.client(t)
	if st, page := user.login("zt-clerk2", m[1]); st != http.StatusSeeOther || !strings.Contains(page, "请先修改") {
		t.Fatalf("the new user's sign-in: %d\n%s", st, page)
	}
	if st, _, _ := user.do("GET", "/account", nil); st != http.StatusOK {
		t.Fatalf("the new user's account page: %d", st)
	}
	// A reset with a given password ends the user's session.
	run(t, ctx, "reset the password",
		script(`window.confirm = () => true`),
		chromedp.SendKeys(chromedp.CSS(`#pw-zt-clerk2 input[name=password]`), "Reset-pass-2026"),
		chromedp.Click(chromedp.CSS(`#pw-zt-clerk2 button`)),
		waitText(".flash", "已为 zt-clerk2 设置密码"),
	)
	if st, _, h := user.do("GET", "/account", nil); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Fatalf("the user's session after the reset: %d %s, want a redirect to /login", st, h.Get("Location"))
	}
	if st, _ := w.client(t).login("zt-clerk2", "Reset-pass-2026"); st != http.StatusSeeOther {
		t.Fatalf("sign-in with the reset password: %d", st)
	}

	// Tokens: a form without a name is refused inline; a token is shown once and works.
	tokens := func() int {
		ts, err := w.App.Orgs.ListTokens(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		return len(ts)
	}
	nt := tokens()
	uid := w.userID(t, "zt-clerk2")
	run(t, ctx, "a token without a name",
		chromedp.Navigate(w.URL+"/admin/tokens"),
		chromedp.WaitVisible(chromedp.ID("#token-create")),
		chromedp.SetValue(chromedp.ID("#token-user"), uid),
		chromedp.Click(chromedp.ID("#token-create-btn")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "令牌名称") {
		t.Fatalf("the error does not name the token's name:\n%s", msg)
	}
	if tokens() != nt {
		t.Fatal("a refused form made a token")
	}
	run(t, ctx, "create a token",
		chromedp.SendKeys(chromedp.ID("#token-name"), "朝天区业务系统对接"),
		chromedp.Click(chromedp.ID("#token-create-btn")),
		chromedp.WaitVisible(chromedp.ID("#token-secret")),
	)
	secret := text(t, ctx, "#token-value")
	if !strings.HasPrefix(secret, "cst_") {
		t.Fatalf("token shown: %q", secret)
	}
	shot(t, ctx, "admin-tokens")
	api := func() int {
		req, _ := http.NewRequest("GET", w.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := api(); st != http.StatusOK {
		t.Fatalf("the new token answered %d", st)
	}
	ts, _ := w.App.Orgs.ListTokens(context.Background(), uid)
	if len(ts) != 1 {
		t.Fatalf("%d tokens of the user", len(ts))
	}
	run(t, ctx, "revoke the token",
		chromedp.Navigate(w.URL+"/admin/tokens"),
		chromedp.WaitVisible(chromedp.ID("#tokens")),
		script(`window.confirm = () => true`),
		chromedp.Click(chromedp.ID("#revoke-"+ts[0].ID)),
		waitText(".flash", "已吊销令牌"),
	)
	if st := api(); st != http.StatusUnauthorized {
		t.Fatalf("the revoked token answered %d", st)
	}
	if strings.Contains(text(t, ctx, "main"), secret) {
		t.Fatal("the token list shows the secret again")
	}
	if s := text(t, ctx, "#token-"+ts[0].ID); !strings.Contains(s, "已吊销") {
		t.Fatalf("the token's row after revoking: %q", s)
	}

	// Organisations: the USCC check digit inline, an edit refused inline, then saved.
	run(t, ctx, "type a USCC with a wrong check digit",
		chromedp.Navigate(w.URL+"/admin/orgs"),
		chromedp.WaitVisible(chromedp.ID("#org-create")),
		chromedp.SendKeys(chromedp.ID("#org-uscc"), "11510812MB0000000X"),
		waitText("[data-uscc-msg]", "校验位错误"),
	)
	good := text(t, ctx, "[data-uscc-msg]")
	want := regexp.MustCompile(`应为“(.)”`).FindStringSubmatch(good)
	if want == nil {
		t.Fatalf("the check message names no check digit: %q", good)
	}
	run(t, ctx, "type the right check digit",
		typeInto("#org-uscc", "11510812MB0000000"+want[1]),
		waitText("[data-uscc-msg]", "校验位正确"),
	)
	shot(t, ctx, "admin-orgs")
	id := w.Orgs["广元市朝天区行政审批局"]
	orig, _ := w.App.Orgs.GetOrg(context.Background(), id)
	run(t, ctx, "a bad area code",
		chromedp.Click(chromedp.ID("#edit-"+id)),
		chromedp.WaitVisible(chromedp.ID("#org-edit")),
		typeInto("#org-area", "51"),
		waitText("[data-area-name]", "应为6位数字"),
		chromedp.Click(chromedp.ID("#org-save")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "行政区划代码") {
		t.Fatalf("the error does not name the area code:\n%s", msg)
	}
	if o, _ := w.App.Orgs.GetOrg(context.Background(), id); o.AreaCode != orig.AreaCode || o.UpdatedAt != orig.UpdatedAt {
		t.Fatalf("a refused edit changed the organisation: %+v", o)
	}
	shot(t, ctx, "admin-org-edit-error")
	run(t, ctx, "save the edit",
		typeInto("#org-area", "510812"),
		typeInto("#org-name", "广元市朝天区行政审批局（政务服务中心）"),
		chromedp.Click(chromedp.ID("#org-save")),
		waitText(".flash", "已保存机构"),
	)
	if o, _ := w.App.Orgs.GetOrg(context.Background(), id); o.Name != "广元市朝天区行政审批局（政务服务中心）" {
		t.Fatalf("the edit was not saved: %+v", o)
	}
}

// TestWebBrowserClerkChanges: a clerk changes a certificate's address (住所) from its page: a form
// without a reason is refused inline and changes nothing, the preview lists the change, the
// new version is issued, its PDF has the new address and the history shows 住所：old → new.
func TestWebBrowserClerkChanges(t *testing.T) {
	ctx := adminBrowser(t)
	w := startWeb(t, "lizhou-clerk")
	f := foodFixtures(t)[1]
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(f, sealOf(t, w.Env, "lizhou-clerk"), "SC00000001"))
	oldAddr, newAddr := c.Values["住所"], "四川省广元市利州区万缘新区嘉陵路88号"
	w.browserLogin(t, ctx, "lizhou-clerk")
	run(t, ctx, "open the change form",
		chromedp.Navigate(w.URL+"/certificates/"+c.ID),
		chromedp.WaitVisible(chromedp.ID("#change-link")),
		chromedp.Click(chromedp.ID("#change-link")),
		chromedp.WaitVisible(chromedp.ID("#change-form")),
	)
	if v := eval(t, ctx, `document.querySelector('[name="f.住所"]').value`); v != oldAddr {
		t.Fatalf("the form shows 住所 %q, want the current %q", v, oldAddr)
	}
	if v := eval(t, ctx, `document.querySelector('#serial').value`); v != "SC00000002" {
		t.Fatalf("the new blank serial offered: %q", v)
	}
	run(t, ctx, "change without a reason",
		typeInto(`[name="f.住所"]`, newAddr),
		chromedp.Click(chromedp.ID("#preview")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "变更原因") {
		t.Fatalf("the error does not name the reason:\n%s", msg)
	}
	if v := eval(t, ctx, `document.querySelector('[name="f.住所"]').value`); v != newAddr {
		t.Fatalf("the refused form lost the new address: %q", v)
	}
	var h struct{ Items []certs.Operation }
	w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/history", "lizhou-clerk", nil).Decode(t, &h)
	if len(h.Items) != 1 {
		t.Fatalf("a refused change changed the history: %+v", h.Items)
	}
	shot(t, ctx, "change-error")
	run(t, ctx, "preview",
		chromedp.SendKeys(chromedp.ID("#reason"), "经营者住所迁移"),
		chromedp.Click(chromedp.ID("#preview")),
		chromedp.WaitVisible(chromedp.ID("#preview-box")),
	)
	if d := text(t, ctx, "#change-diff tbody"); !strings.Contains(d, "住所") || !strings.Contains(d, oldAddr) || !strings.Contains(d, newAddr) {
		t.Fatalf("the preview's changes:\n%s", d)
	}
	res := eval(t, ctx, `fetch(document.querySelector('#preview-link').href).then(r => r.status + '|' + r.headers.get('Content-Type'))`)
	if res != "200|application/pdf" {
		t.Fatalf("the preview PDF answered %q", res)
	}
	shot(t, ctx, "change-preview")
	run(t, ctx, "issue the change",
		script(`window.confirm = () => true`),
		chromedp.Click(chromedp.ID("#change")),
		waitText(".flash", "已办理变更"),
	)
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	u, _ := url.Parse(loc)
	newID := strings.TrimPrefix(u.Path, "/certificates/")
	if newID == c.ID || newID == "" {
		t.Fatalf("after the change the page is %s", loc)
	}
	if hist := text(t, ctx, "#history"); !strings.Contains(hist, "住所："+oldAddr+" → "+newAddr) {
		t.Fatalf("the history does not show 住所：old → new:\n%s", hist)
	}
	shot(t, ctx, "change-history")
	pdf := w.Must(200, "GET", "/api/v1/certificates/"+newID+"/pdf", "lizhou-clerk", nil).Body
	txt := strings.Join(strings.Fields(pdfText(t, pdf)), "")
	if !strings.Contains(txt, newAddr) || strings.Contains(txt, strings.Join(strings.Fields(oldAddr), "")) {
		t.Fatalf("the new version's PDF does not have the new address only:\n%s", txt)
	}
	var nc certs.Certificate
	w.Must(200, "GET", "/api/v1/certificates/"+newID, "lizhou-clerk", nil).Decode(t, &nc)
	if nc.Version != 2 || nc.Serial != "SC00000002" || nc.PreviousID != c.ID {
		t.Fatalf("the new version: version %d serial %s previous %s", nc.Version, nc.Serial, nc.PreviousID)
	}
	// The old version's page shows the change in its history too.
	run(t, ctx, "the old version", chromedp.Navigate(w.URL+"/certificates/"+c.ID), waitText("#history", "住所："+oldAddr+" → "+newAddr))
}
