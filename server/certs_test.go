package server_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

func init() {
	expect(map[string]string{
		"certs.issue": "BC", "certs.list": "ADBCU", "certs.get": "ADBCU", "certs.pdf": "ADBCU", "certs.print": "ADBCU",
		"certs.history": "ADBCU", "certs.operate": "ABC", "verify.pdf": "*", "verify.ref": "*", "status_list": "*",
	})
}

// fixture is one record of the repository's testdata/food-licence-samples.json.
type fixture = fixtures.Food

func foodFixtures(t testing.TB) []fixture { return fixtures.FoodRecords(t) }

func pdfsig(t testing.TB, pdf []byte) string {
	t.Helper()
	fixtures.NeedTool(t, "pdfsig", "poppler-utils")
	path := filepath.Join(t.TempDir(), "c.pdf")
	os.WriteFile(path, pdf, 0o600)
	out, _ := exec.Command("pdfsig", path).CombinedOutput()
	return string(out)
}

// TestIssueFromFixtures issues twenty fixture certificates on blank forms, and checks each PDF
// with pdfsig, pdftotext and the verify endpoint.
func TestIssueFromFixtures(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)[:20]
	for i, f := range fs {
		serial := fmt.Sprintf("SC%08d", i+1)
		c := issue(t, e, "lizhou-clerk", issueRequest(f, seal, serial))
		if _, err := certs.ParseIdentifier(c.Identifier); err != nil || !strings.HasPrefix(c.Identifier, "1.2.156.3005.2."+demo.TypeFood+".") {
			t.Fatalf("identifier %s: %v", c.Identifier, err)
		}
		if c.Status != certs.StatusValid || c.Serial != serial || c.Values["发证机关"] != "广元市利州区行政审批局" {
			t.Fatalf("certificate: %+v", c)
		}
		r := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil)
		if out := pdfsig(t, r.Body); out != "" && !strings.Contains(out, "Signature is Valid.") {
			t.Fatalf("pdfsig on certificate %s:\n%s", c.ID, out)
		}
		if i == 0 {
			if fixtures.NeedTool(t, "pdftotext", "poppler-utils") != "" {
				path := filepath.Join(t.TempDir(), "c.pdf")
				os.WriteFile(path, r.Body, 0o600)
				txt, _ := exec.Command("pdftotext", path, "-").Output()
				for _, want := range []string{f.Fields["经营者名称"], c.LicenceNumber, "广元市利州区行政审批局"} {
					if !bytes.Contains(txt, []byte(want)) {
						t.Errorf("pdftotext lacks %q", want)
					}
				}
			}
			var v certs.PDFVerdict
			e.Must(200, "POST", "/api/v1/verify", "", r.Body).Decode(t, &v)
			if v.Verdict != certs.VerdictValid || v.Certificate == nil || v.Certificate.Identifier != c.Identifier {
				t.Fatalf("verify the PDF: %+v", v)
			}
			bad := bytes.Clone(r.Body)
			bad[len(bad)/3] ^= 0x01
			e.Must(200, "POST", "/api/v1/verify", "", bad).Decode(t, &v)
			if v.Verdict != certs.VerdictModified {
				t.Fatalf("verify a copy with one byte changed: %+v", v)
			}
			if out := pdfsig(t, bad); out != "" && strings.Contains(out, "Signature is Valid.") {
				t.Fatalf("pdfsig accepts a changed copy:\n%s", out)
			}
		}
	}
	// the blank forms are used: a second certificate on the first serial is refused
	r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	if r.Status != 409 || !strings.Contains(string(r.Body), "当前状态：已使用") {
		t.Fatalf("reusing a blank serial: %d %s", r.Status, r.Body)
	}
}

// TestConcurrentIssueSameSerial: 100 clerks' requests race for one blank form; exactly one
// certificate is issued and the others get 409.
func TestConcurrentIssueSameSerial(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	var wg sync.WaitGroup
	codes := make([]int, 100)
	for i := range codes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			codes[i] = e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(fs[i], seal, "SC00000042")).Status
		}(i)
	}
	wg.Wait()
	n := map[int]int{}
	for _, c := range codes {
		n[c]++
	}
	if n[201] != 1 || n[409] != 99 {
		t.Fatalf("statuses: %v, want one 201 and 99 409", n)
	}
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates?limit=500", "lizhou-clerk", nil).Decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Serial != "SC00000042" {
		t.Fatalf("certificates after the race: %d", len(l.Items))
	}
}

func TestIdempotentIssue(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	req := issueRequest(foodFixtures(t)[3], seal, "SC00000100")
	do := func(body any) *testenv.Response {
		raw, _ := json.Marshal(body)
		hreq, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/certificates", bytes.NewReader(raw))
		hreq.Header.Set("Authorization", "Bearer "+e.Tokens["lizhou-clerk"])
		hreq.Header.Set("Content-Type", "application/json")
		hreq.Header.Set("Idempotency-Key", "window-3-20260302-0001")
		resp, err := http.DefaultClient.Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return &testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
	}
	first := do(req)
	second := do(req)
	if first.Status != 201 || second.Status != 200 || second.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("statuses %d then %d", first.Status, second.Status)
	}
	var a, b certs.Certificate
	first.Decode(t, &a)
	second.Decode(t, &b)
	if a.ID != b.ID || a.Identifier != b.Identifier {
		t.Fatalf("a retry made a second certificate: %s and %s", a.ID, b.ID)
	}
	req.Values["投诉举报电话"] = "0839-12345"
	if r := do(req); r.Status != 409 {
		t.Fatalf("same key, different request: %d", r.Status)
	}
}

// TestLifecycle walks the operations: suspend, reinstate, revoke, the illegal reinstatement of a
// revoked certificate, renewal to a new version, and replacing a lost paper copy.
func TestLifecycle(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	a := issue(t, e, "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	op := func(user, id string, body map[string]any, want int) certs.Certificate {
		t.Helper()
		var c certs.Certificate
		e.Must(want, "POST", "/api/v1/certificates/"+id+"/operations", user, body).Decode(t, &c)
		return c
	}
	lookup := func(ref string) certs.PublicView {
		var v certs.PublicView
		e.Must(200, "GET", "/verify/"+ref, "", nil).Decode(t, &v)
		return v
	}
	if c := op("lizhou-clerk", a.ID, map[string]any{"op": "suspend", "reason": "经营场所不符合要求，责令整改"}, 200); c.Status != certs.StatusSuspended {
		t.Fatalf("suspend: %s", c.Status)
	}
	if v := lookup(a.LicenceNumber); v.Status != certs.StatusSuspended {
		t.Fatalf("public view after suspend: %s", v.Status)
	}
	e.Must(403, "POST", "/api/v1/certificates/"+a.ID+"/operations", "zhaohua-clerk", map[string]any{"op": "reinstate", "reason": "整改完成"})
	op("lizhou-officer", a.ID, map[string]any{"op": "reinstate", "reason": "整改完成"}, 200)
	op("admin", a.ID, map[string]any{"op": "revoke", "reason": "以欺骗手段取得许可"}, 200)
	r := e.Must(409, "POST", "/api/v1/certificates/"+a.ID+"/operations", "lizhou-clerk", map[string]any{"op": "reinstate", "reason": "误操作"})
	if r.ErrorCode() != "conflict" {
		t.Fatalf("reinstating a revoked certificate: %s", r.Body)
	}
	e.Must(400, "POST", "/api/v1/certificates/"+a.ID+"/operations", "lizhou-clerk", map[string]any{"op": "suspend"})
	e.Must(400, "POST", "/api/v1/certificates/"+a.ID+"/operations", "lizhou-clerk", map[string]any{"op": "fly", "reason": "试试看"})

	// renewal makes version 002 linked to the first, on a new blank form
	b := issue(t, e, "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002"))
	oldEnd, _ := time.Parse("2006-01-02", b.ValidTo)
	newEnd := oldEnd.AddDate(4, 0, 0).Format("2006-01-02")
	nb := op("lizhou-clerk", b.ID, map[string]any{"op": "renew", "reason": "有效期届满前申请延续", "valid_to": newEnd, "blank_serial": "SC00000003"}, 200)
	if nb.Version != 2 || nb.PreviousID != b.ID || !strings.Contains(nb.Identifier, ".002.") || nb.LicenceNumber != b.LicenceNumber || nb.ValidTo != newEnd || nb.ValidFrom != oldEnd.AddDate(0, 0, 1).Format("2006-01-02") {
		t.Fatalf("renewed: %+v", nb)
	}
	if _, err := certs.ParseIdentifier(nb.Identifier); err != nil {
		t.Fatal(err)
	}
	// renewed before its end, the old version stays in force until the new one takes effect
	// (TestRenewBeforeExpiry follows it past that day)
	old := lookup(b.Identifier)
	if old.Status != certs.StatusValid || old.SupersededBy != "" {
		t.Fatalf("old version after renewal: %+v", old)
	}
	if v := lookup(b.LicenceNumber); v.Identifier != b.Identifier {
		t.Fatalf("the licence number finds %s, want the version in force", v.Identifier)
	}
	e.Must(409, "POST", "/api/v1/certificates/"+b.ID+"/operations", "lizhou-clerk", map[string]any{"op": "suspend", "reason": "对旧版本操作"})
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+nb.ID+"/pdf", "lizhou-clerk", nil).Body
	if out := pdfsig(t, pdf); out != "" && !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("pdfsig on the renewed version:\n%s", out)
	}

	// replacing a lost paper copy moves the certificate to a new blank form
	rc := op("lizhou-clerk", nb.ID, map[string]any{"op": "replace", "reason": "持证人遗失纸质证照", "blank_serial": "SC00000004", "report_ref": "遗失声明 广元日报 2026-03-01"}, 200)
	// the renewal has not taken effect yet: the answer says 00 未生效, as every read does
	if rc.Serial != "SC00000004" || rc.Status != certs.StatusPending {
		t.Fatalf("replaced: %+v", rc)
	}
	var h struct{ Items []certs.Operation }
	e.Must(200, "GET", "/api/v1/certificates/"+nb.ID+"/history", "lizhou-clerk", nil).Decode(t, &h)
	if len(h.Items) != 2 || h.Items[0].Op != "renew" || h.Items[1].Op != "replace" {
		t.Fatalf("history: %+v", h.Items)
	}
	print := e.Must(200, "GET", "/api/v1/certificates/"+nb.ID+"/print.pdf", "lizhou-clerk", nil)
	if !bytes.HasPrefix(print.Body, []byte("%PDF")) {
		t.Fatal("print.pdf is not a PDF")
	}
}

func TestIssueRefusals(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	other := sealOf(t, e, "zhaohua-clerk")
	f := foodFixtures(t)[5]
	mod := func(fn func(r *certs.IssueRequest)) certs.IssueRequest {
		r := issueRequest(f, seal, "SC00000010")
		fn(&r)
		return r
	}
	cases := []struct {
		name   string
		user   string
		req    any
		status int
	}{
		{"unbound item", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.ItemCode = "000113007000" }), 400},
		{"unknown item", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.ItemCode = "nope" }), 404},
		{"another bureau's seal", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.SealID = other }), 403},
		{"unknown seal", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.SealID = "ES510802999999" }), 404},
		{"serial of another bureau", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Serial = "SC00001300" }), 409},
		{"serial never received", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Serial = "SC99999999" }), 404},
		{"serial with wrong prefix", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Serial = "XX00000010" }), 400},
		{"no serial for a paper type", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Serial = "" }), 400},
		{"bad holder code", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Holder.Code = "91510802AA191BG790" }), 400},
		{"validity too long", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.ValidTo = "2040-01-01" }), 400},
		{"validity in the past", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.ValidTo = "2025-01-01" }), 400},
		{"missing required field", "lizhou-clerk", mod(func(r *certs.IssueRequest) { delete(r.Values, "经营项目") }), 400},
		{"unknown field", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Values["颜色"] = "红" }), 400},
		{"issuer given differently", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Values["发证机关"] = "别的机关" }), 400},
		{"character outside the font", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Values["住所"] = "广元市𠀀路1号" }), 400},
		{"licence number given", "lizhou-clerk", mod(func(r *certs.IssueRequest) { r.Values["许可证编号"] = "JY1" }), 400},
		{"unknown json field", "lizhou-clerk", `{"type_code":"x","colour":"red"}`, 400},
		{"auditor", "auditor", mod(func(r *certs.IssueRequest) {}), 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.Snapshot()
			r := e.Do("POST", "/api/v1/certificates", c.user, c.req)
			if r.Status != c.status {
				t.Fatalf("got %d, want %d: %s", r.Status, c.status, r.Body)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Error("a refused issue wrote to the database")
			}
		})
	}
}

func TestPublicVerify(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[7], seal, "SC00000007"))
	req, _ := http.NewRequest("GET", e.HTTP.URL+"/verify/"+c.Identifier, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	page.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(page.String(), "有效") || !strings.Contains(page.String(), c.Holder.Name) {
		t.Fatalf("HTML verify page: %d\n%s", resp.StatusCode, page.String())
	}
	e.Must(404, "GET", "/verify/JY00000000000000", "", nil)
	e.Must(400, "GET", "/verify/1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.G", "", nil)
	var sl certs.StatusList
	e.Must(200, "GET", "/api/v1/status-list", "", nil).Decode(t, &sl)
	if sl.Proof.Signature == "" || len(sl.Lists) != 2 {
		t.Fatalf("status list: %+v", sl)
	}
	// the public routes are rate limited per client address
	limited := false
	for i := 0; i < 100 && !limited; i++ {
		limited = e.Do("GET", "/verify/"+c.LicenceNumber, "", nil).Status == 429
	}
	if !limited {
		t.Error("100 quick public lookups were never rate limited")
	}
}

// TestConsistencyCheckFindsStrays: the check that the crash test relies on does find a used
// serial without a certificate, and a certificate whose serial is not used.
func TestConsistencyCheckFindsStrays(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	bad, n, err := certs.CheckConsistency(context.Background(), e.App.DB, e.App.Documents, e.App.Inventory)
	if err != nil || len(bad) != 0 || n != 1 {
		t.Fatalf("after one issue: %v %d %v", bad, n, err)
	}
	clerk := certseal.Actor{UserID: "x", Username: "lizhou-clerk", OrgID: e.Orgs["广元市利州区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk}
	if _, err := e.App.Inventory.Use(context.Background(), clerk, demo.TypeFood, "SC00000002", "手工登记"); err != nil {
		t.Fatal(err)
	}
	bad, _, _ = certs.CheckConsistency(context.Background(), e.App.DB, e.App.Documents, e.App.Inventory)
	if len(bad) != 1 || !strings.Contains(bad[0].Problem, "已使用 2 张") {
		t.Fatalf("a used serial without a certificate: %+v", bad)
	}
}

// TestExpiry: past its end date a certificate reads as expired at once, and the sweep records
// the expiry as an operation with its outbox event.
func TestExpiry(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[9], seal, "SC00000009"))
	e.Must(409, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{"op": "expire", "reason": "提前办理"})
	end, _ := time.ParseInLocation("2006-01-02", c.ValidTo, certseal.China)
	e.Clock.Set(end.AddDate(0, 0, 1).Add(time.Hour))
	var v certs.PublicView
	e.Must(200, "GET", "/verify/"+c.LicenceNumber, "", nil).Decode(t, &v)
	if v.Status != certs.StatusExpired {
		t.Fatalf("after the end date the public view says %s", v.Status)
	}
	n, err := e.App.Certs.ExpireDue(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("sweep expired %d: %v", n, err)
	}
	if n, _ := e.App.Certs.ExpireDue(context.Background()); n != 0 {
		t.Fatalf("a second sweep expired %d more", n)
	}
	var h struct{ Items []certs.Operation }
	e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/history", "lizhou-clerk", nil).Decode(t, &h)
	if len(h.Items) != 2 || h.Items[1].Op != "expire" || h.Items[1].Code != "04" || h.Items[1].By != "system" {
		t.Fatalf("history after the sweep: %+v", h.Items)
	}
	// an expired certificate may still be cancelled, but not suspended
	e.Must(409, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{"op": "suspend", "reason": "过期后暂扣"})
	e.Must(200, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{"op": "cancel", "reason": "持证人申请注销"})
}

// TestQRCodeDecodes reads the QR code of an issued certificate with zbarimg (Debian zbar-tools)
// at ordinary resolutions: the e-certificate's from a 120 dpi rendering, the overlay print's
// (print.pdf) from 100 dpi. Both hold the short URL in alphanumeric characters, whose signature
// verifies with the seal's public key, and the URL leads to the certificate's verification.
func TestQRCodeDecodes(t *testing.T) {
	fixtures.NeedTool(t, "zbarimg", "zbar-tools")
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[11], seal, "SC00000011"))
	var s struct{ Certificate []byte }
	e.Must(200, "GET", "/api/v1/seals/"+seal, "lizhou-clerk", nil).Decode(t, &s)
	cert, err := x509.ParseCertificate(s.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ doc, dpi string }{{"pdf", "120"}, {"print.pdf", "100"}} {
		pdf := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/"+tc.doc, "lizhou-clerk", nil).Body
		text := zbarPDF(t, pdf, tc.dpi)
		if text != c.QRText || text == "" {
			t.Fatalf("%s at %s dpi: QR code says %q, want the record's %q", tc.doc, tc.dpi, text, c.QRText)
		}
		for _, r := range text {
			if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", r) {
				t.Fatalf("%s: QR text %q has %q, outside the QR alphanumeric set", tc.doc, text, r)
			}
		}
		id, err := certs.VerifyQR(text, cert.PublicKey.(*ecdsa.PublicKey))
		if err != nil || id != c.ID {
			t.Fatalf("%s: VerifyQR(%q) = %q, %v; want %s", tc.doc, text, id, err, c.ID)
		}
		i := strings.Index(text, certs.ShortPath)
		var v certs.PublicView
		e.Must(200, "GET", text[i:], "", nil).Decode(t, &v)
		if v.Identifier != c.Identifier {
			t.Fatalf("%s leads to %s, want %s", text[i:], v.Identifier, c.Identifier)
		}
		k := len(text) - 20 // a character inside the signature
		tampered := text[:k] + map[bool]string{true: "B", false: "A"}[text[k] == 'A'] + text[k+1:]
		if _, err := certs.VerifyQR(tampered, cert.PublicKey.(*ecdsa.PublicKey)); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("a tampered QR text verifies: %v", err)
		}
	}
	// The lower-case form a person types leads to the same page; a reference that is not one
	// is refused.
	ref, _ := certs.ShortRef(c.ID)
	var v certs.PublicView
	e.Must(200, "GET", "/v/"+strings.ToLower(ref), "", nil).Decode(t, &v)
	if v.Identifier != c.Identifier {
		t.Fatalf("/v/%s leads to %s", strings.ToLower(ref), v.Identifier)
	}
	if r := e.Do("GET", "/V/WWW", "", nil); r.Status != http.StatusBadRequest || r.ErrorCode() != "invalid_argument" {
		t.Errorf("/V/WWW: %d %s, want 400 invalid", r.Status, r.Body)
	}
}

// zbarPDF renders the first page of pdf at dpi and returns what zbarimg reads in it.
func zbarPDF(t *testing.T, pdf []byte, dpi string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.pdf"), pdf, 0o600)
	if out, err := exec.Command("pdftoppm", "-png", "-r", dpi, "-singlefile", filepath.Join(dir, "c.pdf"), filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	out, err := exec.Command("zbarimg", "-q", "--raw", filepath.Join(dir, "page.png")).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code at %s dpi: %v", dpi, err)
	}
	return strings.TrimSpace(string(out))
}

// The shared request and sheet helpers of the end-to-end tests (cmd/app/testenv).
var (
	issueRequest = testenv.IssueRequest
	sealOf       = testenv.SealOf
	issue        = testenv.Issue
	batchRows    = testenv.BatchRows
	csvOf        = testenv.CSV
	waitFor      = testenv.WaitFor
	pdfText      = testenv.PDFText
)
