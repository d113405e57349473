package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

// previewForm is the issuing form of the web page for a request, with the given action.
func previewForm(csrf string, req certs.IssueRequest, idem, action string) url.Values {
	form := url.Values{"csrf": {csrf}, "type": {req.TypeCode}, "item": {req.ItemCode}, "holder_code_type": {"001"},
		"valid_to": {req.ValidTo}, "serial": {req.Serial}, "idem": {idem}, "action": {action}}
	for k, v := range req.Values {
		form.Set("f."+k, v)
	}
	return form
}

// TestWebPreviewPrintsWhatIssuePrints: for every 10th of the 200 sample records (the values of
// all 200 are compared in package certs, TestPreviewIssueBatchSameValues), the web form's
// preview prints exactly the text of the certificate the same form then issues — the issuer,
// the dates, the holder and every value — except the licence number, which is allocated on
// issue and stands as certs.PreviewNumber until then.
func TestWebPreviewPrintsWhatIssuePrints(t *testing.T) {
	fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	_, page, _ := b.do("GET", "/issue?type="+demo.TypeFood+"&item=000117001001", nil)
	csrf := csrfOf(t, page)
	for i, f := range foodFixtures(t) {
		if i%10 != 0 {
			continue
		}
		req := issueRequest(f, "", fmt.Sprintf("SC%08d", i+1))
		idem := fmt.Sprintf("preview-test-%d", i)
		if st, body, _ := b.do("POST", "/issue", previewForm(csrf, req, idem, "preview")); st != http.StatusOK || !strings.Contains(body, "预览已生成") {
			t.Fatalf("record %d: preview: %d\n%s", i, st, body)
		}
		st, preview, _ := b.do("GET", "/issue/preview.pdf", nil)
		if st != http.StatusOK || !strings.HasPrefix(preview, "%PDF-") {
			t.Fatalf("record %d: preview PDF: %d", i, st)
		}
		st, body, h := b.do("POST", "/issue", previewForm(csrf, req, idem, "issue"))
		if st != http.StatusSeeOther {
			t.Fatalf("record %d: issue: %d\n%s", i, st, body)
		}
		var c certs.Certificate
		w.Must(200, "GET", "/api/v1"+h.Get("Location"), "lizhou-clerk", nil).Decode(t, &c)
		issued := w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
		want := strings.ReplaceAll(pdfText(t, issued), c.LicenceNumber, certs.PreviewNumber)
		if got := pdfText(t, []byte(preview)); got != want || !strings.Contains(got, f.Fields["发证机关"]) {
			t.Fatalf("record %d (%s): the preview prints\n%s\nthe certificate issued from the same form prints (number replaced)\n%s", i, f.Fields["经营者名称"], got, want)
		}
	}
}

// TestWebPreviewRefusesWhatIssueRefuses: the preview of a form that issue would refuse (a
// validity outside the type's range, a blank form not in stock) is refused with issue's message,
// instead of showing a certificate that cannot be issued.
func TestWebPreviewRefusesWhatIssueRefuses(t *testing.T) {
	w := startWeb(t, "lizhou-clerk")
	b := w.client(t)
	if st, body := b.login("lizhou-clerk", w.Passwords["lizhou-clerk"]); st != http.StatusSeeOther {
		t.Fatalf("login: %d\n%s", st, body)
	}
	_, page, _ := b.do("GET", "/issue?type="+demo.TypeFood+"&item=000117001001", nil)
	csrf := csrfOf(t, page)
	p, err := w.App.Orgs.PrincipalOf(context.Background(), w.userID(t, "lizhou-clerk"))
	if err != nil {
		t.Fatal(err)
	}
	seal := sealOf(t, w.Env, "lizhou-clerk")
	f := foodFixtures(t)[7]
	for name, change := range map[string]func(*certs.IssueRequest){
		"validity too long":  func(r *certs.IssueRequest) { r.ValidTo = "2040-01-01" },
		"validity too short": func(r *certs.IssueRequest) { r.ValidTo = "2026-06-01" },
		"blank not in stock": func(r *certs.IssueRequest) { r.Serial = "SC00099999" },
	} {
		t.Run(name, func(t *testing.T) {
			req := issueRequest(f, seal, "SC00000008")
			change(&req)
			refusal := w.App.Certs.Check(context.Background(), p.Actor(), req)
			if refusal == nil {
				t.Fatal("issue would accept the request")
			}
			msg := html.EscapeString(certseal.ErrorMessage(refusal))
			st, body, _ := b.do("POST", "/issue", previewForm(csrf, req, "refuse-"+name, "preview"))
			if st == http.StatusOK || strings.Contains(body, "预览已生成") || !strings.Contains(body, msg) {
				t.Fatalf("preview: %d, want issue's refusal %q\n%s", st, msg, body)
			}
		})
	}
}
