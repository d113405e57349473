package server_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jung-kurt/gofpdf"

	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/seals"
	"certseal/server"
)

func init() {
	expect(map[string]string{
		"seals.list": "ADBCU", "seals.create": "A", "seals.validate": "ADBCU", "seals.get": "ADBCU",
		"seals.suspend": "A", "seals.reinstate": "A", "seals.revoke": "A", "seals.renew": "A",
		"seals.image_svg": "*", "seals.image_png": "*",
		"seals.scan_put": "A", "seals.scan_delete": "A", "seals.uses": "ABU",
		"ca.certificate": "*", "ca.crl": "*",
	})
}

type sealJSON struct {
	ID              string           `json:"id"`
	Name            string           `json:"name"`
	OrgID           string           `json:"org_id"`
	Code            string           `json:"code"`
	Status          string           `json:"status"`
	EffectiveStatus string           `json:"effective_status"`
	CertSerial      string           `json:"cert_serial"`
	History         []map[string]any `json:"history"`
}

// sealRaw sends a request with a non-JSON body of the given content type.
func sealRaw(t testing.TB, e *testenv.Env, method, path, user, ct string, body []byte, hdr ...string) *testenv.Response {
	t.Helper()
	req, err := http.NewRequest(method, e.HTTP.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.Tokens[user])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// demoSeal returns the demo seal of the named county bureau.
func demoSeal(t testing.TB, e *testenv.Env, bureau string) sealJSON {
	t.Helper()
	var l struct {
		Items []struct {
			sealJSON
			Algorithm string `json:"algorithm"`
		}
	}
	e.Must(200, "GET", "/api/v1/seals?org_id="+e.Orgs[bureau], "admin", nil).Decode(t, &l)
	var out []sealJSON
	for _, s := range l.Items {
		if s.Algorithm != seals.AlgSM2 { // 利州区's seal also has an SM2 registration (OFD)
			out = append(out, s.sealJSON)
		}
	}
	if len(out) != 1 {
		t.Fatalf("%s has %d ECDSA seals, want its demo seal", bureau, len(out))
	}
	return out[0]
}

func newSealBody(e *testenv.Env) map[string]any {
	return map[string]any{
		"name": "广元市利州区行政审批局公章", "org_id": e.Orgs["广元市利州区行政审批局"], "type": "official", "code": "5108029990001",
		"authorisation": map[string]any{"number": "广府函〔2026〕3号", "date": "2026-02-20"},
		"licence_types": []string{demo.TypeFood}, "valid_to": "2029-03-01",
	}
}

func TestSealRoutes(t *testing.T) {
	e := testenv.Start(t)
	count := func(user, query string) int {
		var l struct{ Items []sealJSON }
		e.Must(200, "GET", "/api/v1/seals"+query, user, nil).Decode(t, &l)
		return len(l.Items)
	}
	// every bureau's demo seal is registered for ECDSA (PDF) and SM2 (OFD); the city center has
	// the ECDSA seal that signs purpose-stamped copies (用证)
	for user, want := range map[string]int{"admin": 17, "auditor": 17, "lizhou-clerk": 2, "zhaohua-officer": 2, "scj": 0} {
		if got := count(user, ""); got != want {
			t.Errorf("%s sees %d seals, want %d", user, got, want)
		}
	}
	e.Must(403, "GET", "/api/v1/seals?org_id="+e.Orgs["广元市昭化区行政审批局"], "lizhou-clerk", nil)
	e.Must(400, "GET", "/api/v1/seals?status=lost", "admin", nil)
	lz := demoSeal(t, e, "广元市利州区行政审批局")
	if lz.Name != "广元市利州区行政审批局行政审批专用章" || lz.Status != "active" || len(lz.Code) != 13 {
		t.Errorf("demo seal %+v", lz)
	}
	e.Must(200, "GET", "/api/v1/seals/"+lz.ID, "lizhou-clerk", nil)
	e.Must(404, "GET", "/api/v1/seals/"+lz.ID, "zhaohua-clerk", nil)

	// Register a seal; the answer carries the certificate and never a key.
	r := e.Must(201, "POST", "/api/v1/seals", "admin", newSealBody(e))
	var s sealJSON
	r.Decode(t, &s)
	if r.Header.Get("Location") != "/api/v1/seals/"+s.ID || !strings.HasPrefix(s.ID, "ES510802") || s.Status != "active" {
		t.Errorf("created %+v at %s", s, r.Header.Get("Location"))
	}
	for _, bad := range []string{"PRIVATE", "sealed", "CSK1", `"key"`} {
		if bytes.Contains(r.Body, []byte(bad)) {
			t.Errorf("the answer contains %q", bad)
		}
	}

	// Status changes.
	snap := e.Snapshot()
	for _, body := range []any{map[string]any{}, map[string]any{"reason": "  "}, map[string]any{"reason": "x", "force": true}} {
		if r := e.Do("POST", "/api/v1/seals/"+s.ID+"/revoke", "admin", body); r.Status != 400 {
			t.Errorf("revoke with %v: got %d, want 400", body, r.Status)
		}
	}
	if !bytes.Equal(e.Snapshot(), snap) {
		t.Error("a refused revocation wrote to the database")
	}
	e.Must(200, "POST", "/api/v1/seals/"+s.ID+"/suspend", "admin", map[string]any{"reason": "印章送检"})
	e.Must(409, "POST", "/api/v1/seals/"+s.ID+"/suspend", "admin", map[string]any{"reason": "印章送检"})
	e.Must(200, "POST", "/api/v1/seals/"+s.ID+"/reinstate", "admin", map[string]any{"reason": "送检完毕"})
	e.Must(200, "POST", "/api/v1/seals/"+s.ID+"/revoke", "admin", map[string]any{"reason": "印章损坏"}).Decode(t, &s)
	if s.Status != "revoked" || len(s.History) != 4 {
		t.Errorf("after revoke: %+v", s)
	}
	e.Must(409, "POST", "/api/v1/seals/"+s.ID+"/reinstate", "admin", map[string]any{"reason": "恢复"})
	e.Must(404, "POST", "/api/v1/seals/ES510802999999/suspend", "admin", map[string]any{"reason": "x"})

	// The use log: admin, auditor and the owning bureau's officer; not another bureau's.
	e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/uses", "admin", nil)
	e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/uses", "auditor", nil)
	e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/uses", "lizhou-officer", nil)
	e.Must(404, "GET", "/api/v1/seals/"+lz.ID+"/uses", "zhaohua-officer", nil)

	// The CA certificate, PEM and DER, and the CRL with the revoked seal.
	pemResp := e.Must(200, "GET", "/api/v1/ca/certificate", "", nil)
	block, _ := pem.Decode(pemResp.Body)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("CA certificate is not PEM: %q", pemResp.Body)
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA || ca.Subject.CommonName != seals.CAName {
		t.Fatalf("CA certificate: %v %v", err, ca.Subject)
	}
	der := e.Must(200, "GET", "/api/v1/ca/certificate?format=der", "", nil)
	if !bytes.Equal(der.Body, ca.Raw) || der.Header.Get("Content-Type") != "application/pkix-cert" {
		t.Errorf("DER certificate differs or has type %q", der.Header.Get("Content-Type"))
	}
	e.Must(400, "GET", "/api/v1/ca/certificate?format=p7b", "", nil)
	crlResp := e.Must(200, "GET", "/api/v1/ca/crl", "", nil)
	if ct := crlResp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("CRL content type %q", ct)
	}
	crl, err := x509.ParseRevocationList(crlResp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Text(16) != s.CertSerial {
		t.Errorf("CRL lists %v, want the revoked seal's serial %s", crl.RevokedCertificateEntries, s.CertSerial)
	}
}

func TestSealImages(t *testing.T) {
	e := testenv.Start(t)
	lz := demoSeal(t, e, "广元市利州区行政审批局")
	r := e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/image.png", "", nil)
	if ct := r.Header.Get("Content-Type"); ct != "image/png" || !strings.Contains(r.Header.Get("Cache-Control"), "public") {
		t.Errorf("PNG headers: %v", r.Header)
	}
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("image.png is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 42*server.DefaultSealPxPerMM {
		t.Errorf("PNG is %d px wide, want %d", b.Dx(), 42*server.DefaultSealPxPerMM)
	}
	transparent, red := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			switch {
			case ca == 0:
				transparent++
			case ca > 0xf000 && cr > 0xc000 && cg < 0x4000 && cb < 0x4000:
				red++
			}
		}
	}
	if _, _, _, a := img.At(b.Min.X, b.Min.Y).RGBA(); a != 0 || transparent < b.Dx()*b.Dy()/4 || red < b.Dx()*b.Dy()/20 {
		t.Errorf("PNG: corner alpha %d, %d transparent and %d red pixels of %d", a, transparent, red, b.Dx()*b.Dy())
	}
	if path := os.Getenv("CERTSEAL_SEAL_PNG"); path != "" {
		os.WriteFile(path, r.Body, 0o644)
	}
	// Cacheable: the same version answers 304.
	if etag := r.Header.Get("ETag"); etag == "" {
		t.Error("no ETag")
	} else if r2 := sealRaw(t, e, "GET", "/api/v1/seals/"+lz.ID+"/image.png", "", "", nil, "If-None-Match", etag); r2.Status != 304 {
		t.Errorf("If-None-Match: got %d, want 304", r2.Status)
	}
	big := e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/image.png?px_per_mm=12", "", nil)
	if cfg, err := png.DecodeConfig(bytes.NewReader(big.Body)); err != nil || cfg.Width != 42*12 {
		t.Errorf("px_per_mm=12: %v %d", err, cfg.Width)
	}
	e.Must(400, "GET", "/api/v1/seals/"+lz.ID+"/image.png?px_per_mm=100", "", nil)
	e.Must(404, "GET", "/api/v1/seals/ES510802999999/image.png", "", nil)

	svg := e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/image.svg", "", nil)
	if ct := svg.Header.Get("Content-Type"); ct != "image/svg+xml" || !bytes.Contains(svg.Body, []byte("<svg")) || !bytes.Contains(svg.Body, []byte("</svg>")) {
		t.Errorf("image.svg: %s %.100q", ct, svg.Body)
	}

	// An uploaded scan replaces the drawing; deleting it brings the drawing back.
	scan := r.Body
	put := sealRaw(t, e, "PUT", "/api/v1/seals/"+lz.ID+"/scan", "admin", "image/png", scan)
	if put.Status != 200 || !strings.Contains(string(put.Body), `"has_scan":true`) {
		t.Fatalf("put scan: %d %s", put.Status, put.Body)
	}
	svg2 := e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/image.svg", "", nil)
	if !bytes.Contains(svg2.Body, []byte("data:image/png;base64,")) {
		t.Error("the SVG does not show the uploaded scan")
	}
	if svg2.Header.Get("ETag") == svg.Header.Get("ETag") {
		t.Error("the ETag did not change with the scan")
	}
	e.Must(200, "DELETE", "/api/v1/seals/"+lz.ID+"/scan", "admin", nil)
	e.Must(404, "DELETE", "/api/v1/seals/"+lz.ID+"/scan", "admin", nil)
}

func TestSealBadInputWritesNothing(t *testing.T) {
	e := testenv.Start(t)
	lz := demoSeal(t, e, "广元市利州区行政审批局")
	drawing := e.Must(200, "GET", "/api/v1/seals/"+lz.ID+"/image.png", "", nil).Body
	with := func(k string, v any) map[string]any {
		m := newSealBody(e)
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	snap := e.Snapshot()
	for name, c := range map[string]struct {
		body   any
		status int
	}{
		"unknown field":        {with("colour", "red"), 400},
		"unknown nested field": {with("authorisation", map[string]any{"number": "x", "date": "2026-01-01", "signed_by": "y"}), 400},
		"code of 12 digits":    {with("code", "510802999000"), 400},
		"code with letters":    {with("code", "51080299900AB"), 400},
		"code as a number":     {with("code", 5108029990001), 400},
		"duplicate code":       {with("code", lz.Code), 409},
		"unknown org":          {with("org_id", "99999"), 404},
		"approval seal of a city department": {func() map[string]any {
			m := with("org_id", e.Orgs["广元市市场监督管理局"])
			m["type"] = "dedicated_approval"
			return m
		}(), 400},
		"printer":               {with("org_id", e.Orgs["成都川印证件印务有限公司"]), 400},
		"unknown licence type":  {with("licence_types", []string{"11100000000013338W999"}), 404},
		"no licence types":      {with("licence_types", []string{}), 400},
		"no authorisation":      {with("authorisation", nil), 400},
		"bad valid_to":          {with("valid_to", "next year"), 400},
		"no valid_to":           {with("valid_to", nil), 400},
		"valid_to in the past":  {with("valid_to", "2020-01-01"), 400},
		"valid beyond the CA":   {with("valid_to", "2090-01-01"), 400},
		"name too long":         {with("name", strings.Repeat("章", 41)), 400},
		"not JSON":              {"name=x", 400},
		"unknown type":          {with("type", "personal"), 400},
		"diameter out of range": {with("diameter_mm", 5), 400},
		"empty name":            {with("name", " "), 400},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.Do("POST", "/api/v1/seals", "admin", c.body)
			if r.Status != c.status {
				t.Errorf("got %d, want %d\n%s", r.Status, c.status, r.Body)
			}
			if m := r.JSON(t); !hasHan(m["error"].(map[string]any)["message"].(string)) {
				t.Errorf("message not in Chinese: %s", r.Body)
			}
			if !bytes.Equal(e.Snapshot(), snap) {
				t.Error("a refused request wrote to the database")
			}
		})
	}
	for name, c := range map[string]struct {
		method, path, ct string
		body             []byte
		status           int
	}{
		"scan as JSON":              {"PUT", "/api/v1/seals/" + lz.ID + "/scan", "application/json", []byte("{}"), 415},
		"scan not a PNG":            {"PUT", "/api/v1/seals/" + lz.ID + "/scan", "image/png", []byte("GIF89a"), 400},
		"scan too large":            {"PUT", "/api/v1/seals/" + lz.ID + "/scan", "image/png", make([]byte, seals.MaxScanBytes+1), 413},
		"scan empty":                {"PUT", "/api/v1/seals/" + lz.ID + "/scan", "image/png", nil, 400},
		"scan without transparency": {"PUT", "/api/v1/seals/" + lz.ID + "/scan", "image/png", pngOpaque(t), 400},
		"scan of unknown seal":      {"PUT", "/api/v1/seals/ES510802999999/scan", "image/png", drawing, 404},
		"validate as JSON":          {"POST", "/api/v1/seals/validate", "application/json", []byte("{}"), 415},
		"validate not a PDF":        {"POST", "/api/v1/seals/validate", "application/pdf", []byte("hello"), 400},
		"validate too large":        {"POST", "/api/v1/seals/validate", "application/pdf", make([]byte, server.MaxPDFBytes+1), 413},
	} {
		t.Run(name, func(t *testing.T) {
			r := sealRaw(t, e, c.method, c.path, "admin", c.ct, c.body)
			if r.Status != c.status {
				t.Errorf("got %d, want %d\n%.300s", r.Status, c.status, r.Body)
			}
			if !bytes.Equal(e.Snapshot(), snap) {
				t.Error("a refused request wrote to the database")
			}
		})
	}
}

// pngOpaque is a PNG without any transparent pixel, which a scan must have.
func pngOpaque(t testing.TB) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestSealSignEndToEnd signs a PDF with 利州区's demo seal through the registry, checks it with
// pdfsig and the validate endpoint, revokes the seal and validates again.
func TestSealSignEndToEnd(t *testing.T) {
	e := testenv.Start(t)
	ctx := context.Background()
	lz := demoSeal(t, e, "广元市利州区行政审批局")
	clerk, err := e.App.Orgs.Authenticate(ctx, e.Tokens["lizhou-clerk"])
	if err != nil {
		t.Fatal(err)
	}
	reg := e.App.Seals
	at := e.Clock.Now()
	g, err := reg.SignerFor(ctx, clerk.Actor(), lz.ID, demo.TypeFood, at)
	if err != nil {
		t.Fatal(err)
	}
	p := gofpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 14)
	p.Text(30, 40, "Food business licence")
	var doc bytes.Buffer
	if err := p.Output(&doc); err != nil {
		t.Fatal(err)
	}
	signed, err := seals.SignPDF(doc.Bytes(), g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", at))
	if err != nil {
		t.Fatal(err)
	}
	// Another bureau's clerk may not use it.
	other, _ := e.App.Orgs.Authenticate(ctx, e.Tokens["zhaohua-clerk"])
	if _, err := reg.SignerFor(ctx, other.Actor(), lz.ID, demo.TypeFood, at); err == nil {
		t.Error("zhaohua's clerk got 利州区's seal")
	}

	if fixtures.NeedTool(t, "pdfsig", "poppler-utils") != "" {
		path := filepath.Join(t.TempDir(), "signed.pdf")
		os.WriteFile(path, signed, 0o600)
		if out, _ := exec.Command("pdfsig", path).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
			t.Errorf("pdfsig: got\n%s\nwant Signature is Valid.", out)
		}
	}

	var res struct {
		AllValid   bool `json:"all_valid"`
		Signatures []struct {
			Valid, Trusted, Registered bool
			SealID                     string `json:"seal_id"`
			StatusAtSigning            string `json:"status_at_signing"`
			StatusNow                  string `json:"status_now"`
			Problems                   []string
		}
	}
	validate := func() {
		t.Helper()
		r := sealRaw(t, e, "POST", "/api/v1/seals/validate", "zhaohua-clerk", "application/pdf", signed)
		if r.Status != 200 {
			t.Fatalf("validate: %d %s", r.Status, r.Body)
		}
		res.Signatures = nil
		r.Decode(t, &res)
		if len(res.Signatures) != 1 {
			t.Fatalf("validate: %s", r.Body)
		}
	}
	validate()
	if s := res.Signatures[0]; !res.AllValid || !s.Valid || !s.Trusted || !s.Registered || s.SealID != lz.ID || s.StatusAtSigning != "active" || s.StatusNow != "active" {
		t.Errorf("before revocation: %+v", res)
	}
	e.Clock.Set(at.Add(72 * time.Hour))
	e.Must(200, "POST", "/api/v1/seals/"+lz.ID+"/revoke", "admin", map[string]any{"reason": "印章遗失"})
	validate()
	if s := res.Signatures[0]; !res.AllValid || !s.Valid || s.StatusAtSigning != "active" || s.StatusNow != "revoked" {
		t.Errorf("after revocation: got %+v; want valid, active at signing, revoked now", res)
	}
	if _, err := reg.SignerFor(ctx, clerk.Actor(), lz.ID, demo.TypeFood, e.Clock.Now()); err == nil {
		t.Error("a revoked seal still signs")
	}
}
