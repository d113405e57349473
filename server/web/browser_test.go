package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/inventory/demand"
)

// The browser tests drive Debian's chromium (headless) with chromedp. They skip when chromium
// is not installed, and fail under CI=true, where .ci/run installs it. Each is bounded by a 60-second context.
// CERTSEAL_SCREENSHOTS=dir also saves screenshots of the main pages there (docs/screenshots).

const chromiumPath = "/usr/bin/chromium"

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		fixtures.NeedTool(t, chromiumPath, "chromium") // fails under CI=true, skips elsewhere
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "zh-CN"),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium does not start: %v", err)
		}
		t.Skipf("chromium does not start: %v", err)
	}
	return bctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		c, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(c, chromedp.Location())
		body, _ := chromedp.Run(c, chromedp.Text(chromedp.CSS("main")))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// eval runs a script (awaiting a promise) and returns its string value.
func eval(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// script is an action that runs a script for its effect.
func script(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Evaluate[any](expr)(ctx, tg)
		return chromedp.Void{}, err
	}
}

// shot saves a full-page screenshot when CERTSEAL_SCREENSHOTS names a directory.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CERTSEAL_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *webEnv) browserLogin(t *testing.T, ctx context.Context, user string) {
	t.Helper()
	run(t, ctx, "login as "+user,
		chromedp.Navigate(w.URL+"/login"),
		chromedp.WaitVisible(chromedp.ID("#username")),
		chromedp.SendKeys(chromedp.ID("#username"), user),
		chromedp.SendKeys(chromedp.ID("#password"), w.Passwords[user]),
		chromedp.Click(chromedp.ID("#login")),
		chromedp.WaitVisible(chromedp.CSS("header .user")),
	)
}

// browserWait waits until the script is true, retrying while the page navigates.
func browserWait(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool]("!!("+expr+")")(ctx, tg)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("timed out waiting for %s (last error %v)", expr, err)
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// waitText waits until the element's text contains want (after a navigation, so that the
// element of the page before it does not count).
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	return browserWait(fmt.Sprintf(`document.readyState == 'complete' && document.querySelector(%q) && document.querySelector(%q).textContent.includes(%q)`, sel, sel, want))
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// TestWebBrowserClerkIssues signs in as a window clerk, issues a food licence through the form
// (type, item, fields, a validation message, preview, issue), opens the PDF links, finds it in
// the certificate list, and verifies it on the public page.
func TestWebBrowserClerkIssues(t *testing.T) {
	ctx := newBrowser(t)
	w := startWeb(t, "lizhou-clerk")
	if os.Getenv("CERTSEAL_SCREENSHOTS") != "" {
		run(t, ctx, "login page", chromedp.Navigate(w.URL+"/login"), chromedp.WaitVisible(chromedp.ID("#username")))
		shot(t, ctx, "login")
	}
	w.browserLogin(t, ctx, "lizhou-clerk")
	f := foodFixtures(t)[0]
	req := issueRequest(f, "", "")
	values, _ := json.Marshal(req.Values)
	run(t, ctx, "pick the type and item",
		chromedp.Navigate(w.URL+"/issue"),
		chromedp.SetValue(chromedp.ID("#type"), demo.TypeFood),
		chromedp.Click(chromedp.ID("#next")),
		chromedp.WaitVisible(chromedp.ID("#item")),
		chromedp.SetValue(chromedp.ID("#item"), "000117001001"),
		chromedp.Click(chromedp.ID("#next")),
		chromedp.WaitVisible(chromedp.ID("#issue-form")),
	)
	// The holder's name and code are asked for once, in the template's fields (经营者名称,
	// 统一社会信用代码). A form without the holder's name, with a wrong code and a bad date lists
	// the three mistakes at once, each by its field.
	if n := eval(t, ctx, `String(document.querySelectorAll('#holder_name, #holder_code').length)`); n != "0" {
		t.Fatalf("the form asks for the holder apart from the template's fields (%s inputs)", n)
	}
	run(t, ctx, "fill the form with three mistakes",
		script(`(function(v){for (const k in v) { const el = document.querySelector('[name="f.'+k+'"]'); if (el) el.value = v[k]; }
			document.querySelector('[name="f.经营者名称"]').value = ''; document.querySelector('[name="f.统一社会信用代码"]').value = '91510802ABC';
			document.querySelector('#valid_to').type = 'text'; document.querySelector('#valid_to').value = '明年';})(`+string(values)+`)`),
		chromedp.Click(chromedp.ID("#preview")),
		chromedp.WaitVisible(chromedp.ID("#error")),
	)
	if n := eval(t, ctx, `String(document.querySelectorAll('#error li').length)`); n != "3" {
		t.Fatalf("%s errors listed, want 3:\n%s", n, text(t, ctx, "#error"))
	}
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "经营者名称") || !strings.Contains(msg, "统一社会信用代码") || !strings.Contains(msg, "有效期至") {
		t.Fatalf("the errors do not name 经营者名称, the code and 有效期至:\n%s", msg)
	}
	if n := eval(t, ctx, `String(document.querySelectorAll('#issue-form label.invalid').length)`); n != "3" {
		t.Fatalf("%s fields marked, want 3", n)
	}
	shot(t, ctx, "clerk-issue-errors")
	run(t, ctx, "preview",
		script(`(function(){document.querySelector('[name="f.经营者名称"]').value = `+jsString(req.Holder.Name)+`;
			document.querySelector('[name="f.统一社会信用代码"]').value = `+jsString(req.Holder.Code)+`;
			document.querySelector('#valid_to').type = 'date'; document.querySelector('#valid_to').value = `+jsString(req.ValidTo)+`;})()`),
		chromedp.Click(chromedp.ID("#preview")),
		chromedp.WaitVisible(chromedp.ID("#preview-box")),
		// The preview is an SVG image the browser draws itself (issue 21 item 5), not a PDF frame.
		browserWait(`document.getElementById('preview-image').complete && document.getElementById('preview-image').naturalWidth > 300`),
	)
	serial, _ := chromedp.Run(ctx, chromedp.Value(chromedp.ID("#serial")))
	if serial != "SC00000001" {
		t.Fatalf("suggested blank serial %q, want the first in stock SC00000001", serial)
	}
	shot(t, ctx, "clerk-issue")
	run(t, ctx, "issue",
		chromedp.Click(chromedp.ID("#issue")),
		chromedp.WaitVisible(chromedp.ID("#cert-status")),
	)
	if s := text(t, ctx, "#cert-status"); s != "有效" {
		t.Fatalf("status after issuing: %q", s)
	}
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "证照已签发") || !strings.Contains(s, "SC00000001") {
		t.Fatalf("flash after issuing: %q", s)
	}
	// Open the PDF links from the page, as the browser would, and check they are PDFs.
	for _, link := range []string{"#print-link", "#pdf-link"} {
		res := eval(t, ctx, `fetch(document.querySelector('`+link+`').href).then(r => r.arrayBuffer().then(b =>
			r.status + '|' + r.headers.get('Content-Type') + '|' + String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 5)))))`)
		if res != "200|application/pdf|%PDF-" {
			t.Fatalf("%s answered %q, want a PDF", link, res)
		}
	}
	number := text(t, ctx, "table.kv td")
	// The page offers only what the status allows: a valid certificate can be suspended, not
	// reinstated; once suspended, the other way round. The history shows China time and names.
	ops := func() string {
		return eval(t, ctx, `Array.from(document.querySelectorAll('#op option')).map(o => o.value).join(' ')`)
	}
	if o := ops(); !strings.Contains(o, "suspend") || strings.Contains(o, "reinstate") || strings.Contains(o, "cancel_transfer") {
		t.Fatalf("a valid certificate offers %q", o)
	}
	run(t, ctx, "suspend",
		script(`window.confirm = () => true`),
		chromedp.SetValue(chromedp.ID("#op"), "suspend"),
		chromedp.SendKeys(chromedp.ID("#reason"), "现场检查发现问题，责令整改"),
		chromedp.Click(chromedp.ID("#operate")),
		waitText(".flash", "暂扣"),
	)
	if o := ops(); !strings.Contains(o, "reinstate") || strings.Contains(o, "suspend") {
		t.Fatalf("a suspended certificate offers %q", o)
	}
	if h := text(t, ctx, "#history"); !strings.Contains(h, "2026-03-02 09:00") || !strings.Contains(h, "利州区行政审批局窗口") {
		t.Fatalf("history without China time or the clerk's name:\n%s", h)
	}
	run(t, ctx, "reinstate",
		script(`window.confirm = () => true`),
		chromedp.SetValue(chromedp.ID("#op"), "reinstate"),
		chromedp.SendKeys(chromedp.ID("#reason"), "已整改完毕，经复查合格"),
		chromedp.Click(chromedp.ID("#operate")),
		waitText(".flash", "有效"),
	)
	shot(t, ctx, "certificate")
	run(t, ctx, "certificate list",
		chromedp.Navigate(w.URL+"/certificates"),
		chromedp.SendKeys(chromedp.ID("#q"), req.Holder.Name),
		chromedp.Click(chromedp.ID("#search")),
		browserWait(`location.search.includes('q=') && document.readyState == 'complete' && document.querySelector('#cert-list')`),
	)
	if s := text(t, ctx, "#cert-list tbody"); !strings.Contains(s, number) {
		t.Fatalf("the list does not show %s:\n%s", number, s)
	}
	shot(t, ctx, "certificate-list")
	// An unknown page is a Chinese page with the menu and a link home.
	run(t, ctx, "unknown page", chromedp.Navigate(w.URL+"/certificates/1/no-such-page"), waitText("h1", "页面不存在"))
	if s := text(t, ctx, "#home-link"); s != "返回首页" {
		t.Fatalf("the 404 page's link home reads %q", s)
	}
	shot(t, ctx, "not-found")
	// Public verification, signed out, by the licence number.
	run(t, ctx, "verify",
		chromedp.Navigate(w.URL+"/verify"),
		chromedp.SendKeys(chromedp.ID("#ref"), number),
		chromedp.Click(chromedp.ID("#lookup")),
		waitText("#status", "有效"),
	)
	if s := text(t, ctx, "#status"); s != "有效" {
		t.Fatalf("public verification shows %q, want 有效", s)
	}
	shot(t, ctx, "verify")
}

// jsString quotes s for a script.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestWebBrowserBureauFilesDemand opens a yearly round, then signs in as a county bureau
// officer, saves and submits the demand filing prefilled with the stock, amends it, and voids a
// spoiled blank form.
func TestWebBrowserBureauFilesDemand(t *testing.T) {
	ctx := newBrowser(t)
	w := startWeb(t, "lizhou-officer", "scj", "admin")
	dem := w.App.Demand
	if dem == nil {
		t.Fatal("the demand service is not wired")
	}
	admin, err := w.App.Orgs.PrincipalOf(context.Background(), w.userID(t, "admin"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = dem.OpenRound(context.Background(), admin.Actor(), demand.RoundRequest{Kind: demand.Yearly, Year: 2026,
		Deadline: w.Clock.Now().AddDate(0, 1, 0), Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}, {Code: demo.TypeConstruction}, {Code: demo.TypeRoadTransport}}})
	if err != nil {
		t.Fatal(err)
	}
	w.browserLogin(t, ctx, "lizhou-officer")
	run(t, ctx, "demand page", chromedp.Navigate(w.URL+"/demand"), chromedp.WaitVisible(chromedp.ID("#demand-form")))
	if s := text(t, ctx, "#demand-form tbody"); !strings.Contains(s, "500") || !strings.Contains(s, "食品经营许可证") {
		t.Fatalf("the filing is not prefilled with today's stock (500 food blanks):\n%s", s)
	}
	run(t, ctx, "save a draft",
		chromedp.SetValue(chromedp.ID("#qty-"+demo.TypeFood), "800"),
		chromedp.SendKeys(chromedp.ID("#contact"), "张三"),
		chromedp.SendKeys(chromedp.ID("#phone"), "0839-3260000"),
		chromedp.Click(chromedp.ID("#save")),
		waitText(".flash", "草稿已保存"),
	)
	if s := text(t, ctx, "#filing-status"); !strings.Contains(s, "草稿") {
		t.Fatalf("after saving: %q", s)
	}
	shot(t, ctx, "demand-filing")
	run(t, ctx, "submit",
		chromedp.Click(chromedp.ID("#submit")),
		chromedp.WaitVisible(chromedp.ID("#amend")),
	)
	if s := text(t, ctx, "#filing-status"); !strings.Contains(s, "已报送") {
		t.Fatalf("after submitting: %q", s)
	}
	run(t, ctx, "amend",
		chromedp.SetValue(chromedp.ID("#qty-"+demo.TypeFood), "900"),
		chromedp.Click(chromedp.ID("#amend")),
		waitText(".flash", "已修改"),
	)
	if s := text(t, ctx, ".flash"); !strings.Contains(s, "已修改") {
		t.Fatalf("after amending: %q", s)
	}
	// Stock, then void one spoiled form.
	run(t, ctx, "stock", chromedp.Navigate(w.URL+"/stock"), chromedp.WaitVisible(chromedp.ID("#stock")))
	if s := text(t, ctx, "#stock"); !strings.Contains(s, "SC00000001") {
		t.Fatalf("stock page:\n%s", s)
	}
	shot(t, ctx, "bureau-stock")
	run(t, ctx, "void",
		chromedp.Navigate(w.URL+"/void"),
		chromedp.WaitVisible(chromedp.ID("#void-form")),
		script(`window.confirm = () => true`),
		chromedp.SendKeys(chromedp.ID("#void-first"), "SC00000500"),
		chromedp.SendKeys(chromedp.ID("#void-reason"), "打印错位"),
		chromedp.Click(chromedp.ID("#void")),
		waitText(".flash", "已作废"),
	)
	if s := text(t, ctx, "#voids"); !strings.Contains(s, "SC00000500") {
		t.Fatalf("void list:\n%s", s)
	}
	if os.Getenv("CERTSEAL_SCREENSHOTS") == "" {
		return
	}
	// Screenshots of the city department's summary and the administrator's seals.
	for _, p := range []struct{ user, path, name string }{{"scj", "/summary", "city-summary"}, {"admin", "/admin/seals", "admin-seals"}} {
		run(t, ctx, "logout", chromedp.Click(chromedp.CSS("header form button")), chromedp.WaitVisible(chromedp.ID("#username")))
		w.browserLogin(t, ctx, p.user)
		run(t, ctx, p.name, chromedp.Navigate(w.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main")), chromedp.Sleep(300*time.Millisecond))
		shot(t, ctx, p.name)
	}
}

// TestWebBrowserClerkBatch checks a batch through the browser: the file form's dry run (a
// multipart form with its CSRF token), then the page of a batch waiting to be checked, whose
// progress app.js polls until the batch is done and the page shows the full bar and the ZIP link.
func TestWebBrowserClerkBatch(t *testing.T) {
	ctx := newBrowser(t)
	w := startWeb(t, "lizhou-clerk")
	data := csvOf(t, batchRows(t, 5, 0), true)
	file := filepath.Join(t.TempDir(), "食品经营许可-第一批.csv")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	w.browserLogin(t, ctx, "lizhou-clerk")
	run(t, ctx, "dry run",
		chromedp.Navigate(w.URL+"/batch"),
		chromedp.SetValue(chromedp.ID("#batch-type"), demo.TypeFood),
		chromedp.Click(chromedp.ID("#batch-next")),
		chromedp.WaitVisible(chromedp.ID("#batch-form")),
		chromedp.SetUploadFiles(chromedp.ID("#batch-file"), []string{file}),
		chromedp.Click(chromedp.ID("#batch-check")),
		waitText("#batch-report-summary", "全部通过检查"),
	)
	// A batch stored without waking the runner waits to be checked (the runner looks every
	// minute): its page polls until the test wakes the runner.
	clerk, err := w.App.Orgs.PrincipalOf(context.Background(), w.userID(t, "lizhou-clerk"))
	if err != nil {
		t.Fatal(err)
	}
	m := certs.BatchMapping{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: sealOf(t, w.Env, "lizhou-clerk"),
		HolderName: "经营者名称", HolderCode: "统一社会信用代码", ValidTo: "有效期至", FirstSerial: "SC00000001"}
	b, err := w.App.Certs.StartBatch(context.Background(), clerk.Actor(), "食品经营许可-第一批.csv", data, m)
	if err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "batch page while checking",
		chromedp.Navigate(w.URL+"/batch/"+b.ID),
		waitText("#batch-label", "检查中"),
		chromedp.Sleep(1500*time.Millisecond), // at least one poll
	)
	if s := text(t, ctx, "#batch-text"); !strings.Contains(s, "已检查 0 / 5 行") {
		t.Fatalf("batch text while waiting: %q", s)
	}
	w.App.Batches.Kick()
	run(t, ctx, "the page follows the batch", waitText("#batch-zip", "下载"))
	if v := eval(t, ctx, `(function(){const p = document.querySelector('#batch-bar'); return p.value + '/' + p.max})()`); v != "5/5" {
		t.Fatalf("progress bar at %s, want 5/5", v)
	}
	if s := text(t, ctx, "#batch-text"); !strings.Contains(s, "已完成：签发 5 张") {
		t.Fatalf("batch text %q", s)
	}
	res := eval(t, ctx, `fetch(document.querySelector('#batch-zip').href).then(r => r.arrayBuffer().then(b =>
		r.status + '|' + r.headers.get('Content-Type') + '|' + String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 2)))))`)
	if res != "200|application/zip|PK" {
		t.Fatalf("the ZIP link answered %q", res)
	}
	shot(t, ctx, "clerk-batch")
}
