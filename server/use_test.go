package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"certseal/certs"
	"certseal/certs/use"
	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
)

// useEnv is a running service with one issued food licence.
func useEnv(t *testing.T) (*testenv.Env, certs.Certificate, fixture) {
	t.Helper()
	e := testenv.Start(t)
	f := foodFixtures(t)[0]
	c := testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(f, testenv.SealOf(t, e, "lizhou-clerk"), "SC00000001"))
	return e, c, f
}

// consentCode asks for a consent code as the holder, who uploads the certificate's PDF (the food
// licences' holders are legal entities: their public 统一社会信用代码 proves nothing).
func consentCode(t *testing.T, e *testenv.Env, c certs.Certificate) use.Grant {
	t.Helper()
	var g use.Grant
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	r := postFile(t, e, "/api/v1/consents", pdf)
	if r.Status != 201 {
		t.Fatalf("consent by file: %d %s", r.Status, r.Body)
	}
	r.Decode(t, &g)
	if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(g.Code) || g.Identifier != c.Identifier {
		t.Fatalf("grant %+v: want a 6-digit code for %s", g, c.Identifier)
	}
	return g
}

func useRequest(c certs.Certificate, code string) use.Request {
	return use.Request{Ref: c.Identifier, ItemCode: "000117002000", BusinessSerial: "BANK-2026-0001", Purpose: "开户",
		ConsentCode: code, ValidUntil: "2026-12-31"}
}

// pdfsigBoth checks with pdfsig that the copy carries two signatures and both are valid.
func pdfsigBoth(t *testing.T, pdf []byte) {
	t.Helper()
	out := pdfsig(t, pdf)
	if n := strings.Count(out, "Signature #"); n != 2 {
		t.Fatalf("pdfsig finds %d signatures, want 2:\n%s", n, out)
	}
	if n := strings.Count(out, "Signature Validation: Signature is Valid."); n != 2 {
		t.Fatalf("pdfsig: want both signatures valid:\n%s", out)
	}
}

// TestUseWithConsentCode walks the chain: a bank's user gets only the public verdict without
// consent; the holder proves possession and gets a code; a wrong code is refused; the right one
// gives a use and a copy signed twice (pdfsig and mutool), which verifies as a copy for its
// purpose, then as expired after its date; the code is single-use; the use log shows each step.
func TestUseWithConsentCode(t *testing.T) {
	e, c, _ := useEnv(t)
	req := useRequest(c, "")
	before := e.Snapshot()
	r := e.Must(403, "POST", "/api/v1/uses", "bank-user", req)
	if r.ErrorCode() != use.EConsentRequired || !strings.Contains(string(r.Body), "用证授权码") {
		t.Fatalf("without consent: %s", r.Body)
	}
	var denied struct {
		Error struct {
			Detail struct{ Certificate certs.PublicView }
		}
	}
	r.Decode(t, &denied)
	if pv := denied.Error.Detail.Certificate; pv.Identifier != c.Identifier || pv.Status != certs.StatusValid {
		t.Fatalf("the public verdict: %+v", pv)
	}
	if strings.Contains(string(r.Body), `"values"`) || strings.Contains(string(r.Body), `"copy_url"`) {
		t.Fatalf("the refusal gives more than the public verdict: %s", r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a refused use changed the database")
	}

	// The licence number and the holder's 统一社会信用代码, public both, are no proof for a legal
	// entity's licence, right or wrong: only its file is (TestConsentByNumberForPerson for a
	// person's ID number). An unknown number is no proof either.
	for _, code := range []string{c.Holder.Code, "91510800MA6C00000X"} {
		r = e.Must(403, "POST", "/api/v1/consents", "", map[string]string{"ref": c.LicenceNumber, "holder_code": code})
		if !strings.Contains(string(r.Body), use.ReasonFileRequired) || !strings.Contains(string(r.Body), "请上传电子证照文件") {
			t.Fatalf("a legal entity's public code as a proof: %s", r.Body)
		}
	}
	r = e.Must(403, "POST", "/api/v1/consents", "", map[string]string{"ref": "JY19999999999999", "holder_code": c.Holder.Code})
	if !strings.Contains(string(r.Body), "不匹配") {
		t.Fatalf("an unknown number: %s", r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a refused proof changed the database")
	}
	g := consentCode(t, e, c)
	wrong := "000000"
	if g.Code == wrong {
		wrong = "000001"
	}
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, wrong)); r.ErrorCode() != use.EConsentInvalid {
		t.Fatalf("wrong code: %s", r.Body)
	}
	var u use.Use
	e.Must(201, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code)).Decode(t, &u)
	if u.Consent != use.ConsentCode || u.OrgName != "广元示范银行股份有限公司" || u.Purpose != "开户" || u.BusinessSerial != "BANK-2026-0001" ||
		u.ValidUntil != "2026-12-31" || !strings.HasSuffix(u.CopyURL, "/api/v1/uses/"+u.ID+"/copy") || u.ItemName == "" {
		t.Fatalf("use: %+v", u)
	}
	if !strings.Contains(strings.Join(u.Stamp, ""), "仅供广元示范银行股份有限公司开户使用，2026年12月31日前有效") {
		t.Fatalf("stamp: %q", u.Stamp)
	}
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code)); r.ErrorCode() != use.EConsentInvalid {
		t.Fatalf("the code was used twice: %s", r.Body)
	}
	copyPDF := e.Must(200, "GET", "/api/v1/uses/"+u.ID+"/copy", "bank-user", nil).Body
	orig := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	if !bytes.HasPrefix(copyPDF, orig) {
		t.Fatal("the copy does not keep the original bytes in front (not an incremental update)")
	}
	pdfsigBoth(t, copyPDF)
	if p := os.Getenv("CERTSEAL_WRITE_COPY"); p != "" { // for a look at the copy: pdftoppm -png
		os.WriteFile(p, copyPDF, 0o600)
	}
	mutoolVerifies(t, copyPDF)
	e.Must(403, "GET", "/api/v1/uses/"+u.ID+"/copy", "lizhou-clerk", nil) // not a reader of uses
	text := testenv.PDFText(t, copyPDF)
	if !strings.Contains(text, c.Holder.Name) {
		t.Fatalf("the copy lost the certificate's text:\n%s", text)
	}

	var v use.Verdict
	e.Must(200, "POST", "/api/v1/verify", "", copyPDF).Decode(t, &v)
	if v.Verdict != certs.VerdictValid || v.Copy == nil || v.Copy.OrgName != u.OrgName || v.Copy.Purpose != "开户" ||
		v.Copy.ValidUntil != "2026-12-31" || v.Copy.Expired || v.Copy.OriginalVerdict != certs.VerdictValid || len(v.Signatures) != 2 {
		t.Fatalf("copy verdict: %+v %+v", v, v.Copy)
	}
	if v.Certificate == nil || v.Certificate.Identifier != c.Identifier {
		t.Fatalf("copy verdict names no certificate: %+v", v)
	}
	var ov use.Verdict
	e.Must(200, "POST", "/api/v1/verify", "", orig).Decode(t, &ov)
	if ov.Verdict != certs.VerdictValid || ov.Copy != nil {
		t.Fatalf("the original verifies as %+v", ov)
	}
	// A changed copy is not a copy of ours any more.
	bad := bytes.Clone(copyPDF)
	bad = append(bad, "\n% appended\n"...)
	var bv use.Verdict
	e.Must(200, "POST", "/api/v1/verify", "", bad).Decode(t, &bv)
	if bv.Verdict == certs.VerdictValid {
		t.Fatalf("a copy with bytes appended verifies as %s", bv.Verdict)
	}

	e.Clock.Set(time.Date(2027, 1, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600)))
	e.Must(200, "POST", "/api/v1/verify", "", copyPDF).Decode(t, &v)
	if v.Verdict != certs.VerdictExpired || !v.Copy.Expired || v.Copy.OriginalVerdict != certs.VerdictValid || !strings.Contains(v.Label, "加注件") {
		t.Fatalf("after its date the copy verifies as %s %q (copy %+v)", v.Verdict, v.Label, v.Copy)
	}

	var log struct {
		Items []use.Use
		Log   []use.Entry
	}
	e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/uses", "lizhou-clerk", nil).Decode(t, &log)
	var actions []string
	for _, l := range log.Log {
		actions = append(actions, l.Action)
	}
	if got, want := strings.Join(actions, " "), "consent.issued consent.failed consent.redeemed use consent.failed"; got != want {
		t.Fatalf("use log %q, want %q", got, want)
	}
	if len(log.Items) != 1 || log.Items[0].ID != u.ID {
		t.Fatalf("uses of the certificate: %+v", log.Items)
	}
	e.Must(404, "GET", "/api/v1/certificates/"+c.ID+"/uses", "zhaohua-clerk", nil)

	audit := string(e.Must(200, "GET", "/api/v1/audit?limit=200", "admin", nil).Body)
	for _, a := range []string{"use.consent.issue", "use.consent.fail", "use.create"} {
		if !strings.Contains(audit, `"`+a+`"`) {
			t.Errorf("audit log has no %s", a)
		}
	}
}

// mutoolVerifies checks the copy's signatures with mutool sign -v: both are found and neither
// reports a changed document for its revision.
func mutoolVerifies(t *testing.T, pdf []byte) {
	t.Helper()
	bin := fixtures.NeedTool(t, "mutool", "mupdf-tools")
	p := filepath.Join(t.TempDir(), "copy.pdf")
	if err := os.WriteFile(p, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "sign", "-v", p).CombinedOutput()
	s := string(out)
	first, last, _ := strings.Cut(s[strings.Index(s, "Verifying signature"):], "\nVerifying signature")
	if strings.Count(s, "Verifying signature") != 2 || strings.Contains(s, "invalid") ||
		!strings.Contains(first, "The signature is valid but there have been edits since signing.") ||
		!strings.Contains(last, "The document is unchanged since signing.") || !strings.Contains(last, "电子证照用证专用章") {
		t.Fatalf("mutool sign -v: want the bureau's signature valid for its revision and the city center's over the whole copy:\n%s", s)
	}
}

// TestConsentExpires: a code is valid for ten minutes of the service's clock.
func TestConsentExpires(t *testing.T) {
	e, c, _ := useEnv(t)
	g := consentCode(t, e, c)
	if d := g.ExpiresAt.Sub(e.Clock.Now()); d > 10*time.Minute || d < 9*time.Minute {
		t.Fatalf("code valid for %v, want 10 minutes", d)
	}
	e.Clock.Set(g.ExpiresAt.Add(time.Second))
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code)); r.ErrorCode() != use.EConsentInvalid {
		t.Fatalf("expired code: %s", r.Body)
	}
}

// TestConsentBruteForce: five wrong codes lock the certificate's live codes (the right one then
// fails too), and ten failures of one user within fifteen minutes stop that user's requests.
func TestConsentBruteForce(t *testing.T) {
	e, c, _ := useEnv(t)
	g := consentCode(t, e, c)
	tried := 0
	for i := 0; tried < use.MaxCodeFailures; i++ {
		code := strings.Repeat("0", 5) + string(rune('0'+i))
		if code == g.Code {
			continue
		}
		e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, code))
		tried++
	}
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code)); r.ErrorCode() != use.EConsentInvalid {
		t.Fatalf("after %d wrong codes the right one: %s", use.MaxCodeFailures, r.Body)
	}
	for i := 0; i < use.MaxAddrFailures; i++ {
		e.Do("POST", "/api/v1/uses", "bank-user", useRequest(c, "12345x"[:5]+"9"))
	}
	if r := e.Must(429, "POST", "/api/v1/uses", "bank-user", useRequest(c, "123456")); r.ErrorCode() != "rate_limited" {
		t.Fatalf("after many failures: %s", r.Body)
	}
	// The window passes: the user may try again (and a fresh code works).
	e.Clock.Set(e.Clock.Now().Add(use.FailureWindow + time.Minute))
	g = consentCode(t, e, c)
	e.Must(201, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code))
}

// TestUseAuthorisation: the city center's standing authorisation for an item lets the bank use
// certificates for that item without a code, until it is revoked; it is audited.
func TestUseAuthorisation(t *testing.T) {
	e, c, _ := useEnv(t)
	bank := e.Orgs["广元示范银行股份有限公司"]
	e.Must(403, "POST", "/api/v1/use-authorisations", "bank-user", map[string]string{"org_id": bank, "item_code": "000117002000", "valid_to": "2026-12-31"})
	var a use.Authorisation
	e.Must(201, "POST", "/api/v1/use-authorisations", "admin", map[string]string{"org_id": bank, "item_code": "000117002000", "valid_to": "2026-12-31"}).Decode(t, &a)
	var u use.Use
	e.Must(201, "POST", "/api/v1/uses", "bank-user", useRequest(c, "")).Decode(t, &u)
	if u.Consent != use.ConsentAuthorisation || u.ConsentID != a.ID {
		t.Fatalf("use under authorisation: %+v", u)
	}
	// By the holder's code and the licence type instead of the certificate's number.
	byHolder := useRequest(c, "")
	byHolder.Ref, byHolder.HolderCode, byHolder.TypeCode = "", c.Holder.Code, c.TypeCode
	var u2 use.Use
	e.Must(201, "POST", "/api/v1/uses", "bank-user", byHolder).Decode(t, &u2)
	if u2.CertificateID != c.ID || u2.ID == u.ID {
		t.Fatalf("use by holder code: %+v", u2)
	}
	other := useRequest(c, "")
	other.ItemCode = "000113007000" // not authorised
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", other); r.ErrorCode() != use.EConsentRequired {
		t.Fatalf("another item: %s", r.Body)
	}
	e.Must(200, "PATCH", "/api/v1/use-authorisations/"+a.ID, "admin", map[string]string{"valid_to": "2026-06-30", "note": "续期前"})
	e.Must(200, "DELETE", "/api/v1/use-authorisations/"+a.ID, "admin", nil)
	e.Must(409, "DELETE", "/api/v1/use-authorisations/"+a.ID, "admin", nil)
	if r := e.Must(403, "POST", "/api/v1/uses", "bank-user", useRequest(c, "")); r.ErrorCode() != use.EConsentRequired {
		t.Fatalf("after revocation: %s", r.Body)
	}
	var l struct{ Items []use.Authorisation }
	e.Must(200, "GET", "/api/v1/use-authorisations", "bank-user", nil).Decode(t, &l)
	if len(l.Items) != 1 || !l.Items[0].Revoked || l.Items[0].ValidTo != "2026-06-30" {
		t.Fatalf("authorisations: %+v", l.Items)
	}
	audit := string(e.Must(200, "GET", "/api/v1/audit?limit=200", "admin", nil).Body)
	for _, s := range []string{"use.authorisation.create", "use.authorisation.update", "use.authorisation.revoke"} {
		if !strings.Contains(audit, s) {
			t.Errorf("audit has no %s", s)
		}
	}
}

// TestUseBadInput: malformed requests are refused with a Chinese message and change nothing.
func TestUseBadInput(t *testing.T) {
	e, c, _ := useEnv(t)
	bank := e.Orgs["广元示范银行股份有限公司"]
	good := useRequest(c, "123456")
	mod := func(f func(r *use.Request)) use.Request { r := good; f(&r); return r }
	for name, tc := range map[string]struct {
		path, user string
		body       any
		status     int
	}{
		"no certificate":     {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.Ref = "" }), 400},
		"no item":            {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.ItemCode = "" }), 400},
		"unknown item":       {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.ItemCode = "999999999999" }), 404},
		"bad serial":         {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.BusinessSerial = "办件 1" }), 400},
		"no purpose":         {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.Purpose = " " }), 400},
		"long purpose":       {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.Purpose = strings.Repeat("用", 41) }), 400},
		"control characters": {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.Purpose = "开户\x00" }), 400},
		"bad date":           {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.ValidUntil = "2026-13-01" }), 400},
		"date too far":       {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.ValidUntil = "2030-01-01" }), 400},
		"date in the past":   {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.ValidUntil = "2026-01-01" }), 400},
		"unknown field":      {"/api/v1/uses", "bank-user", map[string]string{"ref": c.Identifier, "foo": "bar"}, 400},
		"unknown cert":       {"/api/v1/uses", "bank-user", mod(func(r *use.Request) { r.Ref = "JY10000000000000" }), 404},
		"empty proof":        {"/api/v1/consents", "", map[string]string{}, 400},
		"auth bad date":      {"/api/v1/use-authorisations", "admin", map[string]string{"org_id": bank, "item_code": "000117002000", "valid_to": "2040-01-01"}, 400},
		"auth bad org":       {"/api/v1/use-authorisations", "admin", map[string]string{"org_id": e.Orgs["广元市利州区行政审批局"], "item_code": "000117002000", "valid_to": "2026-12-31"}, 400},
		"auth no item":       {"/api/v1/use-authorisations", "admin", map[string]string{"org_id": bank, "valid_to": "2026-12-31"}, 400},
		"holder log no code": {"/api/v1/consents/log", "", map[string]string{"ref": c.Identifier, "consent_code": "12"}, 403},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.Snapshot()
			r := e.Do("POST", tc.path, tc.user, tc.body)
			if r.Status != tc.status {
				t.Fatalf("got %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			var b struct{ Error struct{ Message string } }
			json.Unmarshal(r.Body, &b)
			if !regexp.MustCompile(`\p{Han}`).MatchString(b.Error.Message) {
				t.Fatalf("message %q is not Chinese", b.Error.Message)
			}
			if name != "holder log no code" && !bytes.Equal(before, e.Snapshot()) {
				t.Fatal("a refused request changed the database")
			}
		})
	}
}

// TestConsentByFile: the holder proves possession by uploading the certificate's PDF; a file
// that is not one of ours gets no code, and counts as a failure of the address.
func TestConsentByFile(t *testing.T) {
	e, c, _ := useEnv(t)
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	post := func(body []byte) *testenv.Response { return postFile(t, e, "/api/v1/consents", body) }
	r := post(pdf)
	var g use.Grant
	r.Decode(t, &g)
	if r.Status != 201 || g.Identifier != c.Identifier || len(g.Code) != 6 {
		t.Fatalf("consent by file: %d %s", r.Status, r.Body)
	}
	before := e.Snapshot()
	if r := post([]byte("%PDF-1.7 junk")); r.Status != 403 || r.ErrorCode() != "permission_denied" {
		t.Fatalf("junk file: %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatal("a refused proof changed the database")
	}
}

// TestHolderLogAndExport: the holder reads the use log with a live code; the bank exports its
// uses as CSV and XLSX; the metric counts the use.
func TestHolderLogAndExport(t *testing.T) {
	e, c, _ := useEnv(t)
	g := consentCode(t, e, c)
	e.Must(201, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code))
	g2 := consentCode(t, e, c)
	var l struct{ Items []use.Entry }
	e.Must(200, "POST", "/api/v1/consents/log", "", map[string]string{"ref": c.LicenceNumber, "consent_code": g2.Code}).Decode(t, &l)
	var got []string
	for _, x := range l.Items {
		got = append(got, x.Action)
	}
	if strings.Join(got, " ") != "consent.issued consent.redeemed use consent.issued" {
		t.Fatalf("holder's log: %q", got)
	}
	if !strings.Contains(l.Items[2].Detail, "开户") || l.Items[2].OrgName != "广元示范银行股份有限公司" {
		t.Fatalf("use entry: %+v", l.Items[2])
	}
	csv := e.Must(200, "GET", "/api/v1/uses?format=csv&from=2026-03-01&to=2026-03-31", "bank-user", nil)
	if !strings.Contains(string(csv.Body), "BANK-2026-0001") || !strings.Contains(string(csv.Body), "持证人用证授权码") {
		t.Fatalf("csv:\n%s", csv.Body)
	}
	if n := strings.Count(string(e.Must(200, "GET", "/api/v1/uses?format=csv&from=2026-04-01", "bank-user", nil).Body), "BANK-"); n != 0 {
		t.Fatalf("a later period lists %d uses", n)
	}
	if n := strings.Count(string(e.Must(200, "GET", "/api/v1/uses?format=csv&org_id="+e.Orgs["广元市市场监督管理局"], "admin", nil).Body), "BANK-"); n != 0 {
		t.Fatalf("another department's export lists %d of the bank's uses", n)
	}
	x := e.Must(200, "GET", "/api/v1/uses?format=xlsx", "admin", nil)
	if !bytes.HasPrefix(x.Body, []byte("PK")) {
		t.Fatal("xlsx export is not a workbook")
	}
	m := string(e.Must(200, "GET", "/metrics", "admin", nil).Body)
	if !strings.Contains(m, `certseal_certificate_uses_total{consent="code",org_id="`+e.Orgs["广元示范银行股份有限公司"]+`"} 1`) {
		t.Fatalf("metrics have no use:\n%s", grepLines(m, "uses_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// postFile posts a PDF, signed out.
func postFile(t *testing.T, e *testenv.Env, path string, body []byte) *testenv.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.HTTP.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/pdf")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &testenv.Response{Status: resp.StatusCode, Body: raw}
}

// TestConsentByNumberForPerson: a person's ID number, which the public page masks, proves
// possession together with the licence number; a wrong one does not, and answers as an unknown
// number does.
func TestConsentByNumberForPerson(t *testing.T) {
	e := testenv.Start(t)
	req := testenv.IssueRequest(foodFixtures(t)[1], testenv.SealOf(t, e, "lizhou-clerk"), "SC00000002")
	req.Holder = certs.Holder{Name: "张三", Code: "11010519491231002X", CodeType: certs.CodeIDCard}
	c := testenv.Issue(t, e, "lizhou-clerk", req)
	pv := e.Must(200, "GET", "/verify/"+c.LicenceNumber, "", nil)
	if strings.Contains(string(pv.Body), c.Holder.Code) {
		t.Fatalf("the public page shows the ID number: %s", pv.Body)
	}
	var g use.Grant
	e.Must(201, "POST", "/api/v1/consents", "", map[string]string{"ref": c.LicenceNumber, "holder_code": strings.ToLower(c.Holder.Code)}).Decode(t, &g)
	if !use.ValidCode(g.Code) || g.Identifier != c.Identifier {
		t.Fatalf("grant %+v", g)
	}
	wrong := e.Must(403, "POST", "/api/v1/consents", "", map[string]string{"ref": c.LicenceNumber, "holder_code": "110105194912310038"})
	unknown := e.Must(403, "POST", "/api/v1/consents", "", map[string]string{"ref": "JY19999999999999", "holder_code": c.Holder.Code})
	if wrong.ErrorCode() != unknown.ErrorCode() || !strings.Contains(string(wrong.Body), "不匹配") || !strings.Contains(string(unknown.Body), "不匹配") {
		t.Fatalf("a wrong ID number and an unknown licence answer differently:\n%s\n%s", wrong.Body, unknown.Body)
	}
}
