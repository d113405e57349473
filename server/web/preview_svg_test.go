package web_test

import (
	"net/http"
	"strings"
	"testing"

	"certseal/internal/demo"
)

// TestWebPreviewSVG: the issue form's preview is an image the page shows (issue 21 item 5):
// /issue/preview.svg answers the same preview as the PDF, as inert SVG (its own sandboxing CSP,
// no script), carrying the holder's name, and the page shows it with the PDF one click away.
func TestWebPreviewSVG(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	if st, _, _ := b.do("GET", "/issue/preview.svg", nil); st != http.StatusNotFound {
		t.Fatalf("preview.svg before any preview: %d, want 404", st)
	}
	_, page, _ := b.do("GET", "/issue?type="+demo.TypeFood+"&item=000117001001", nil)
	f := foodFixtures(t)[7]
	req := issueRequest(f, "", "SC00000001")
	st, body, _ := b.do("POST", "/issue", previewForm(csrfOf(t, page), req, "svg-preview", "preview"))
	if st != http.StatusOK || !strings.Contains(body, `src="/issue/preview.svg"`) || !strings.Contains(body, `href="/issue/preview.pdf"`) {
		t.Fatalf("preview page: %d\n%s", st, body)
	}
	if strings.Contains(body, "<iframe") {
		t.Error("the preview is still a PDF frame")
	}
	st, svg, h := b.do("GET", "/issue/preview.svg", nil)
	if st != http.StatusOK || h.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("preview.svg: %d %s", st, h.Get("Content-Type"))
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") {
		t.Errorf("preview.svg CSP %q", csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("preview.svg may be sniffed")
	}
	if !strings.Contains(svg, `aria-label="`+f.Fields["经营者名称"]+`"`) || !strings.Contains(svg, `class="seal"`) {
		t.Errorf("preview.svg lacks the holder's name or the seal mark")
	}
	if strings.Contains(strings.ToLower(svg), "<script") {
		t.Error("preview.svg has a script")
	}
}
