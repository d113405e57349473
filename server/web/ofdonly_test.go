package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"certseal/internal/demo"
)

// startOFDOnly starts the web pages with the demo food licence made OFD-only (format ofd) and one
// certificate of it issued by the 利州区 clerk.
func startOFDOnly(t *testing.T) (*webEnv, string, int) {
	t.Helper()
	w := startWeb(t, "lizhou-clerk")
	w.Must(200, "PATCH", "/api/v1/licence-types/"+demo.TypeFood, "admin", map[string]any{"format": "ofd"})
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, w.Env, "lizhou-clerk"), "SC00000001"))
	if c.PDFSHA256 != "" || c.OFDSHA256 == "" {
		t.Fatalf("not an ofd-only certificate: pdf %q ofd %q", c.PDFSHA256, c.OFDSHA256)
	}
	return w, c.ID, c.OFDSize
}

// TestWebOFDOnly: the certificate page of an OFD-only licence links the OFD and the overlay print
// and no PDF, and says so; the OFD downloads; the PDF address answers a page saying the certificate has only
// an OFD.
func TestWebOFDOnly(t *testing.T) {
	w, id, size := startOFDOnly(t)
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	st, page, _ := b.do("GET", "/certificates/"+id, nil)
	if st != 200 || !strings.Contains(page, `id="ofd-link"`) || strings.Contains(page, `id="pdf-link"`) || !strings.Contains(page, `id="print-link"`) || !strings.Contains(page, `id="ofd-only"`) {
		t.Fatalf("certificate page: %d; want the OFD and print links and no PDF link\n%s", st, page)
	}
	st, pkg, hdr := b.do("GET", "/certificates/"+id+"/certificate.ofd", nil)
	if st != 200 || hdr.Get("Content-Type") != "application/ofd" || len(pkg) != size {
		t.Fatalf("OFD download: %d %s, %d bytes (want %d)", st, hdr.Get("Content-Type"), len(pkg), size)
	}
	st, body, _ := b.do("GET", "/certificates/"+id+"/certificate.pdf", nil)
	if st != http.StatusNotFound || !strings.Contains(body, "该证照只有 OFD 文件") {
		t.Errorf("PDF of an ofd-only certificate: %d\n%s", st, body)
	}
}

// TestBrowserOFDOnlyCertificate: in Chromium, the certificate page of an OFD-only licence shows
// the OFD download and no PDF button (screenshot certificate-ofd-only.png).
func TestBrowserOFDOnlyCertificate(t *testing.T) {
	w, id, _ := startOFDOnly(t)
	ctx := newBrowser(t)
	w.browserLogin(t, ctx, "lizhou-clerk")
	run(t, ctx, "certificate page",
		chromedp.Navigate(w.URL+"/certificates/"+id),
		chromedp.WaitVisible(chromedp.ID("#ofd-link")),
	)
	if n := eval(t, ctx, `String(document.querySelectorAll('#pdf-link').length)`); n != "0" {
		t.Errorf("%s PDF links on an ofd-only certificate's page", n)
	}
	if l := text(t, ctx, "#ofd-link"); !strings.Contains(l, "OFD") {
		t.Errorf("OFD link reads %q", l)
	}
	if h := text(t, ctx, "#ofd-only"); !strings.Contains(h, "该证照只有 OFD 文件") {
		t.Errorf("the page's note on the files reads %q", h)
	}
	shot(t, ctx, "certificate-ofd-only")
}
