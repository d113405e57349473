package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"certseal"
	"certseal/certs/use"
	"certseal/internal/fixtures"
)

// TestWebBrowserUse walks the use of a certificate in the browser: the holder, signed out,
// proves possession on the verification page and gets a 6-digit code with a QR code; the bank's
// user is refused without it (only the public verdict is shown), then makes the use with it and
// downloads the copy; the copy uploaded on the verification page is a copy for the bank's
// account opening, valid until its date and expired after it; the issuer's clerk sees the use
// and the use log on the certificate's page.
func TestWebBrowserUse(t *testing.T) {
	ctx := newBrowser(t)
	w := startWeb(t, "bank-user", "lizhou-clerk")
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, w.Env, "lizhou-clerk"), "SC00000001"))

	// The holder is a legal entity, whose 统一社会信用代码 is public: the number and code are
	// refused, the licence's own file proves possession.
	run(t, ctx, "the holder tries the public code",
		chromedp.Navigate(w.URL+"/verify"),
		chromedp.WaitVisible(chromedp.ID("#consent-form")),
		chromedp.SendKeys(chromedp.ID("#consent-ref"), c.LicenceNumber),
		chromedp.SendKeys(chromedp.ID("#consent-holder"), c.Holder.Code),
		chromedp.Click(chromedp.ID("#consent-submit")),
		waitText("body", "请上传电子证照文件"),
	)
	certPDF := w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	certFile := filepath.Join(t.TempDir(), "证照.pdf")
	if err := os.WriteFile(certFile, certPDF, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "the holder asks for a code",
		chromedp.Navigate(w.URL+"/verify"),
		chromedp.WaitVisible(chromedp.ID("#consent-form")),
		chromedp.SetUploadFiles(chromedp.ID("#consent-file"), []string{certFile}),
		chromedp.Click(chromedp.ID("#consent-submit")),
		waitText("h1", "出示证照给用证部门"),
		chromedp.WaitVisible(chromedp.ID("#consent-qr")),
	)
	code := text(t, ctx, "#consent-code")
	if !use.ValidCode(code) {
		t.Fatalf("the page shows the code %q", code)
	}
	shot(t, ctx, "use-consent")
	// The QR code holds the certificate's identifier and the code (read back with zbarimg).
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	qrFile := filepath.Join(t.TempDir(), "consent.png")
	if err := os.WriteFile(qrFile, png, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(fixtures.NeedTool(t, "zbarimg", "zbar-tools"), "-q", "--raw", qrFile).Output()
	if got, want := strings.TrimSpace(string(out)), "CERTSEAL-CONSENT:"+c.Identifier+":"+code; err != nil || got != want {
		t.Fatalf("zbarimg reads %q (%v), want %q", got, err, want)
	}

	w.browserLogin(t, ctx, "bank-user")
	fill := func(code string) chromedp.Action[chromedp.Void] {
		return script(`(function(){document.querySelector('#ref').value = ` + jsString(c.Identifier) + `;
			document.querySelector('#consent_code').value = ` + jsString(code) + `;
			document.querySelector('#item_code').value = '000117002000';
			document.querySelector('#business_serial').value = 'BANK-2026-0001';
			document.querySelector('#purpose').value = '开户';
			document.querySelector('#valid_until').value = '2026-12-31';})()`)
	}
	run(t, ctx, "a use without the code",
		chromedp.Navigate(w.URL+"/use"),
		chromedp.WaitVisible(chromedp.ID("#use-form")),
		fill(""),
		chromedp.Click(chromedp.ID("#use-submit")),
		chromedp.WaitVisible(chromedp.ID("#public-verdict")),
	)
	if msg := text(t, ctx, "#error"); !strings.Contains(msg, "用证授权码") {
		t.Fatalf("the refusal says %q", msg)
	}
	if s := text(t, ctx, "#public-status"); s != "有效" {
		t.Fatalf("the public verdict shows %q", s)
	}
	shot(t, ctx, "use-denied")
	run(t, ctx, "a use with the code",
		fill(code),
		chromedp.Click(chromedp.ID("#use-submit")),
		chromedp.WaitVisible(chromedp.ID("#use-result")),
	)
	if s := text(t, ctx, "#use-stamp"); !strings.Contains(s, "仅供广元示范银行股份有限公司开户使用") {
		t.Fatalf("the stamp reads %q", s)
	}
	useID := text(t, ctx, "#use-id")
	shot(t, ctx, "use-request")
	// The copy link downloads the PDF (fetched in the page, with the session).
	if got := eval(t, ctx, `fetch(document.querySelector('#copy-link').href).then(r => r.status + ' ' + r.headers.get('content-type'))`); got != "200 application/pdf" {
		t.Fatalf("the copy link answers %s", got)
	}
	run(t, ctx, "the use records",
		chromedp.Navigate(w.URL+"/use-records"),
		chromedp.WaitVisible(chromedp.ID("#use-records")),
	)
	if s := text(t, ctx, "#use-records"); !strings.Contains(s, "BANK-2026-0001") || !strings.Contains(s, "银行开户经办人") {
		t.Fatalf("the use records read:\n%s", s)
	}
	if got := eval(t, ctx, `fetch(document.querySelector('#export-csv').href).then(r => r.text()).then(t => String(t.includes('BANK-2026-0001') && t.includes('用证编号')))`); got != "true" {
		t.Fatal("the CSV export has no use")
	}
	shot(t, ctx, "use-records")
	copyPDF := w.Must(200, "GET", "/api/v1/uses/"+useID+"/copy", "bank-user", nil).Body
	file := filepath.Join(t.TempDir(), "加注件.pdf")
	if err := os.WriteFile(file, copyPDF, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "verify the copy",
		chromedp.Navigate(w.URL+"/verify"),
		chromedp.WaitVisible(chromedp.ID("#file")),
		chromedp.SetUploadFiles(chromedp.ID("#file"), []string{file}),
		chromedp.Click(chromedp.ID("#upload")),
		chromedp.WaitVisible(chromedp.ID("#copy-info")),
	)
	if s, org := text(t, ctx, "#status"), text(t, ctx, "#copy-org"); s != "有效（加注件）" || org != "广元示范银行股份有限公司" || text(t, ctx, "#copy-purpose") != "开户" {
		t.Fatalf("the copy verifies as %q for %q", s, org)
	}
	shot(t, ctx, "use-verify-copy")
	w.Clock.Set(time.Date(2027, 1, 2, 9, 0, 0, 0, certseal.China))
	run(t, ctx, "verify the copy after its date",
		chromedp.Navigate(w.URL+"/verify"),
		chromedp.WaitVisible(chromedp.ID("#file")),
		chromedp.SetUploadFiles(chromedp.ID("#file"), []string{file}),
		chromedp.Click(chromedp.ID("#upload")),
		chromedp.WaitVisible(chromedp.ID("#copy-info")),
	)
	if s := text(t, ctx, "#status"); s != "加注件已过期" || !strings.Contains(text(t, ctx, "#copy-until"), "已过期") {
		t.Fatalf("after its date the copy verifies as %q", s)
	}

	w.browserLogin(t, ctx, "lizhou-clerk")
	run(t, ctx, "the certificate's uses",
		chromedp.Navigate(w.URL+"/certificates/"+c.ID),
		chromedp.Click(chromedp.ID("#uses-link")),
		chromedp.WaitVisible(chromedp.ID("#use-log")),
	)
	if s := text(t, ctx, "#use-log"); !strings.Contains(s, "生成用证授权码") || !strings.Contains(s, "使用用证授权码") || !strings.Contains(s, "BANK-2026-0001") {
		t.Fatalf("the use log reads:\n%s", s)
	}
	if s := text(t, ctx, "#cert-uses"); !strings.Contains(s, "广元示范银行股份有限公司") || !strings.Contains(s, "开户") {
		t.Fatalf("the uses read:\n%s", s)
	}
	shot(t, ctx, "use-certificate")
}
