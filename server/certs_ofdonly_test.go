package server_test

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	imgpng "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/seals"
)

// makeOFDOnly makes the demo food licence an OFD-only type through the API.
func makeOFDOnly(t *testing.T, e *testenv.Env) {
	t.Helper()
	var typ struct{ Format string }
	e.Must(200, "PATCH", "/api/v1/licence-types/"+demo.TypeFood, "admin", map[string]any{"format": "ofd"}).Decode(t, &typ)
	if typ.Format != "ofd" {
		t.Fatalf("format after the patch: %q", typ.Format)
	}
}

// sm2SealOf returns the id of the SM2 registration among user's organisation's seals.
func sm2SealOf(t *testing.T, e *testenv.Env, user string) string {
	t.Helper()
	var l struct {
		Items []struct{ ID, Algorithm string }
	}
	e.Must(200, "GET", "/api/v1/seals", user, nil).Decode(t, &l)
	for _, s := range l.Items {
		if s.Algorithm == seals.AlgSM2 {
			return s.ID
		}
	}
	t.Fatalf("%s's organisation has no SM2 seal", user)
	return ""
}

// TestIssueOFDOnlyAPI: a licence type whose format is ofd, end to end through the API. The
// certificate's one document is the OFD (sealed by the SM2 registration); GET .../pdf answers
// 404 no_pdf; the OFD downloads and verifies valid through POST /api/v1/verify, a changed file
// is modified, the renewal is an OFD-only version (not yet valid), revoking it makes it revoked; the overlay print is
// still a PDF; a batch makes OFDs alone in its ZIP, each valid; OpenSSL and ofd.js accept the
// downloaded OFD; the QR code zbarimg reads from ofd.js's rendering and from the overlay print
// verifies with the SM2 seal's key and leads to the certificate.
func TestIssueOFDOnlyAPI(t *testing.T) {
	e := testenv.Start(t)
	makeOFDOnly(t, e)
	sm2 := sm2SealOf(t, e, "lizhou-clerk")
	f := foodFixtures(t)[0]
	c := issue(t, e, "lizhou-clerk", issueRequest(f, sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	if c.PDFSHA256 != "" || c.PDFSize != 0 || c.OFDSHA256 == "" || c.SealID != sm2 || c.OFDSealID != sm2 {
		t.Fatalf("ofd-only certificate: pdf %q, ofd %q by %s, seal %s (SM2 seal %s)", c.PDFSHA256, c.OFDSHA256, c.OFDSealID, c.SealID, sm2)
	}

	r := e.Do("GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil)
	var eb struct {
		Error struct {
			Code, Message string
			Detail        map[string]any
		}
	}
	r.Decode(t, &eb)
	if r.Status != 404 || eb.Error.Code != "not_found" || eb.Error.Detail["reason"] != certs.ErrCodeNoPDF || !strings.Contains(eb.Error.Message, "该证照只有 OFD 文件") {
		t.Fatalf("GET pdf of an ofd-only certificate: %d %s", r.Status, r.Body)
	}
	r = e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/ofd", "lizhou-clerk", nil)
	pkg := r.Body
	if r.Header.Get("Content-Type") != "application/ofd" || len(pkg) != c.OFDSize || r.Header.Get("ETag") != `"`+c.OFDSHA256+`"` {
		t.Fatalf("OFD download: %v, %d bytes (recorded %d)", r.Header, len(pkg), c.OFDSize)
	}
	if pr := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/print.pdf", "lizhou-clerk", nil); !bytes.HasPrefix(pr.Body, []byte("%PDF-")) {
		t.Errorf("overlay print is not a PDF: %.20q", pr.Body)
	}

	verify := func(b []byte) certs.PDFVerdict {
		t.Helper()
		var v certs.PDFVerdict
		e.Must(200, "POST", "/api/v1/verify", "", b).Decode(t, &v)
		return v
	}
	if v := verify(pkg); v.Verdict != certs.VerdictValid || v.Format != "ofd" || v.Certificate == nil || v.Certificate.Identifier != c.Identifier ||
		len(v.Signatures) != 1 || v.Signatures[0].SealID != sm2 {
		t.Fatalf("verify the OFD: %+v", v)
	}
	var pub certs.PublicView
	e.Must(200, "GET", "/verify/"+c.Identifier, "", nil).Decode(t, &pub)
	if pub.Identifier != c.Identifier || pub.Status != certs.StatusValid || pub.SealID != sm2 {
		t.Errorf("verify by identifier: %+v", pub)
	}
	files := unzipOFD(t, pkg)
	for i, fl := range files {
		if fl.name != "Doc_0/Pages/Page_0/Content.xml" && fl.name != "OFD.xml" {
			continue
		}
		bad := append([]ofdEntry{}, files...)
		data := bytes.Clone(fl.data)
		data[len(data)/2] ^= 0x01
		bad[i] = ofdEntry{fl.name, data}
		if v := verify(zipOFD(t, bad)); v.Verdict != certs.VerdictModified || !strings.Contains(strings.Join(v.Reasons, "\n"), fl.name) {
			t.Errorf("%s changed: %s %v", fl.name, v.Verdict, v.Reasons)
		}
	}

	// Renewal: an OFD-only version 2 on a new blank form, sealed by the same SM2 seal.
	to, _ := time.Parse("2006-01-02", c.ValidTo)
	var nv certs.Certificate
	e.Must(200, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk",
		map[string]any{"op": "renew", "reason": "到期延续", "valid_to": to.AddDate(3, 0, 0).Format("2006-01-02"), "blank_serial": "SC00000002"}).Decode(t, &nv)
	if nv.Version != 2 || nv.PDFSHA256 != "" || nv.OFDSHA256 == "" || nv.OFDSealID != sm2 {
		t.Fatalf("renewed: %+v", nv)
	}
	e.Must(404, "GET", "/api/v1/certificates/"+nv.ID+"/pdf", "lizhou-clerk", nil)
	npkg := e.Must(200, "GET", "/api/v1/certificates/"+nv.ID+"/ofd", "lizhou-clerk", nil).Body
	if v := verify(npkg); v.Verdict != certs.VerdictNotYetValid {
		t.Errorf("verify the renewal's OFD: %s %v", v.Verdict, v.Reasons)
	}
	// Revoked: the verdict follows the live status.
	e.Must(200, "POST", "/api/v1/certificates/"+nv.ID+"/operations", "lizhou-clerk", map[string]any{"op": "revoke", "reason": "以欺骗手段取得"})
	if v := verify(npkg); v.Verdict != certs.VerdictRevoked {
		t.Errorf("verify the OFD of a revoked certificate: %s %v", v.Verdict, v.Reasons)
	}

	// A batch of three: the ZIP holds three OFDs and no PDF, each valid.
	m := foodMapping(sealOf(t, e, "lizhou-clerk"))
	m["first_serial"] = "SC00000010"
	var b certs.Batch
	upload(t, e, "lizhou-clerk", "三行.csv", csvOf(t, batchRows(t, 3, 0), true), m, false).Decode(t, &b)
	b = waitBatch(t, e, "lizhou-clerk", b.ID)
	if b.Status != certs.BatchDone || b.Done != 3 {
		t.Fatalf("batch: %+v", b)
	}
	zr := e.Must(200, "GET", "/api/v1/certificates/batches/"+b.ID+"/zip", "lizhou-clerk", nil)
	z, err := zip.NewReader(bytes.NewReader(zr.Body), int64(len(zr.Body)))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.File) != 3 {
		t.Fatalf("%d files in the batch's ZIP, want 3 OFDs", len(z.File))
	}
	for _, zf := range z.File {
		rc, _ := zf.Open()
		one, _ := io.ReadAll(rc)
		rc.Close()
		if !strings.HasSuffix(zf.Name, ".ofd") {
			t.Errorf("ZIP entry %s is not an OFD", zf.Name)
		}
		if v := verify(one); v.Verdict != certs.VerdictValid || v.Certificate == nil || v.Certificate.LicenceNumber+".ofd" != zf.Name {
			t.Errorf("%s: %s %v", zf.Name, v.Verdict, v.Reasons)
		}
	}

	// The seal-use log of the SM2 seal has the certificate's OFD.
	var uses struct{ Items []seals.Use }
	e.Must(200, "GET", "/api/v1/seals/"+sm2+"/uses?limit=100", "lizhou-officer", nil).Decode(t, &uses)
	found := false
	for _, u := range uses.Items {
		found = found || u.ObjectID == "certificate/"+c.ID && u.DocSHA256 == c.OFDSHA256
	}
	if !found {
		t.Errorf("the SM2 seal's uses lack the certificate's OFD: %+v", uses.Items)
	}

	// Outside tools: OpenSSL on the package's digests and SES signature, ofd.js renders it.
	opensslCheckOFD(t, files)
	shot := ofdjsCheck(t, pkg, f.Fields["经营者名称"], c.LicenceNumber)

	// The QR code, read by zbarimg from ofd.js's rendering of the OFD and from the overlay print:
	// the record's text, signed with the SM2 seal's key, leading to the certificate.
	fixtures.NeedTool(t, "zbarimg", "zbar-tools")
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	var sl struct{ Certificate []byte }
	e.Must(200, "GET", "/api/v1/seals/"+sm2, "lizhou-clerk", nil).Decode(t, &sl)
	cert, err := smx509.ParseCertificate(sl.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	pubKey := cert.PublicKey.(*ecdsa.PublicKey)
	png := filepath.Join(t.TempDir(), "ofd.png")
	f2, err := os.Create(png)
	if err != nil {
		t.Fatal(err)
	}
	if err := imgpng.Encode(f2, shot); err != nil {
		t.Fatal(err)
	}
	f2.Close()
	out, err := exec.Command("zbarimg", "-q", "--raw", png).Output()
	if err != nil {
		t.Fatalf("zbarimg found no QR code in ofd.js's rendering: %v", err)
	}
	print := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/print.pdf", "lizhou-clerk", nil).Body
	for name, text := range map[string]string{"the OFD (ofd.js)": strings.TrimSpace(string(out)), "the overlay print": zbarPDF(t, print, "100")} {
		if text != c.QRText || text == "" {
			t.Fatalf("%s: QR code says %q, want the record's %q", name, text, c.QRText)
		}
		if id, err := certs.VerifyQR(text, pubKey); err != nil || id != c.ID {
			t.Errorf("%s: VerifyQR with the SM2 seal's key = %q, %v; want %s", name, id, err, c.ID)
		}
		var v certs.PublicView
		e.Must(200, "GET", text[strings.Index(text, certs.ShortPath):], "", nil).Decode(t, &v)
		if v.Identifier != c.Identifier {
			t.Errorf("%s: the QR code leads to %s, want %s", name, v.Identifier, c.Identifier)
		}
	}
}

// TestIssueOFDOnlyWithoutSM2SealAPI: when the bureau's SM2 seal is revoked, issuing an OFD-only
// licence is refused with 409 no_sm2_seal and a Chinese message, and changes nothing: the
// database (the blank-form ledger with it: the form stays in stock) is as it was.
func TestIssueOFDOnlyWithoutSM2SealAPI(t *testing.T) {
	e := testenv.Start(t)
	makeOFDOnly(t, e)
	sm2 := sm2SealOf(t, e, "lizhou-clerk")
	e.Must(200, "POST", "/api/v1/seals/"+sm2+"/revoke", "admin", map[string]any{"reason": "密钥遗失"})
	before := e.Snapshot()
	r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	var eb struct {
		Error struct {
			Code, Message string
			Detail        map[string]any
		}
	}
	r.Decode(t, &eb)
	if r.Status != 409 || eb.Error.Detail["reason"] != certs.ErrCodeNoSM2Seal || !hasHan(eb.Error.Message) {
		t.Fatalf("issue without an SM2 seal: %d %s", r.Status, r.Body)
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Error("a refused issue changed the database")
	}
}
