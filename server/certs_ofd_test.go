package server_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/seals"
)

func init() {
	expect(map[string]string{"certs.ofd": "ADBCU"})
}

type ofdEntry struct {
	name string
	data []byte
}

func unzipOFD(t testing.TB, pkg []byte) []ofdEntry {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		t.Fatal(err)
	}
	var out []ofdEntry
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ofdEntry{f.Name, b})
	}
	return out
}

func zipOFD(t testing.TB, files []ofdEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(f.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestIssueOFD: a clerk issues a food licence, whose demo type is pdf+ofd; the certificate has
// both files under one record; both download and verify through POST /api/v1/verify; tampering
// with any file of the OFD, removing one or adding one is reported as modified, naming the file;
// OpenSSL checks the downloaded OFD's digests and SES signature value.
func TestIssueOFD(t *testing.T) {
	e := testenv.Start(t)
	var typ struct{ Format string }
	e.Must(200, "GET", "/api/v1/licence-types/"+demo.TypeFood, "admin", nil).Decode(t, &typ)
	if typ.Format != "pdf+ofd" {
		t.Fatalf("demo food licence format %q, want pdf+ofd", typ.Format)
	}
	f := foodFixtures(t)[0]
	c := issue(t, e, "lizhou-clerk", issueRequest(f, sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	if c.OFDSHA256 == "" || c.OFDSize == 0 || c.OFDSealID == "" || c.OFDSealID == c.SealID || c.PDFSHA256 == "" {
		t.Fatalf("certificate files: pdf %s, ofd %s %d by %s (pdf seal %s)", c.PDFSHA256, c.OFDSHA256, c.OFDSize, c.OFDSealID, c.SealID)
	}
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	r := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/ofd", "lizhou-clerk", nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/ofd" || !strings.Contains(r.Header.Get("Content-Disposition"), ".ofd") {
		t.Errorf("OFD headers: %v", r.Header)
	}
	pkg := r.Body
	if len(pkg) != c.OFDSize {
		t.Fatalf("downloaded OFD: %d bytes, recorded %d", len(pkg), c.OFDSize)
	}
	verify := func(b []byte) certs.PDFVerdict {
		t.Helper()
		var v certs.PDFVerdict
		e.Must(200, "POST", "/api/v1/verify", "", b).Decode(t, &v)
		return v
	}
	if v := verify(pdf); v.Verdict != certs.VerdictValid || v.Certificate == nil || v.Certificate.Identifier != c.Identifier {
		t.Fatalf("verify the PDF: %+v", v)
	}
	v := verify(pkg)
	if v.Verdict != certs.VerdictValid || v.Format != "ofd" || v.Certificate == nil || v.Certificate.Identifier != c.Identifier ||
		len(v.Signatures) != 1 || v.Signatures[0].SealID != c.OFDSealID {
		t.Fatalf("verify the OFD: %+v", v)
	}

	files := unzipOFD(t, pkg)
	for i, fl := range files {
		bad := append([]ofdEntry{}, files...)
		data := bytes.Clone(fl.data)
		data[len(data)/2] ^= 0x01
		bad[i] = ofdEntry{fl.name, data}
		if v := verify(zipOFD(t, bad)); v.Verdict != certs.VerdictModified || (!strings.HasSuffix(fl.name, "SignedValue.dat") && !strings.Contains(strings.Join(v.Reasons, "\n"), fl.name)) {
			t.Errorf("%s changed: %s %v", fl.name, v.Verdict, v.Reasons)
		}
		if strings.HasPrefix(fl.name, "Doc_0/Signs/") {
			continue // without its signature, the package is not sealed at all
		}
		gone := append(append([]ofdEntry{}, files[:i]...), files[i+1:]...)
		if v := verify(zipOFD(t, gone)); v.Verdict != certs.VerdictModified || !strings.Contains(strings.Join(v.Reasons, "\n"), fl.name) {
			t.Errorf("%s removed: %s %v", fl.name, v.Verdict, v.Reasons)
		}
	}
	added := append(append([]ofdEntry{}, files...), ofdEntry{"Doc_0/Res/extra.xml", []byte("<x/>")})
	if v := verify(zipOFD(t, added)); v.Verdict != certs.VerdictModified || !strings.Contains(strings.Join(v.Reasons, "\n"), "Doc_0/Res/extra.xml") {
		t.Errorf("file added: %s %v", v.Verdict, v.Reasons)
	}
	// Revoked: the verdict follows the certificate's live status.
	e.Must(200, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{"op": "revoke", "reason": "申请注销"})
	if v := verify(pkg); v.Verdict != certs.VerdictRevoked {
		t.Errorf("verify the OFD of a revoked certificate: %+v", v)
	}

	opensslCheckOFD(t, files)
}

// opensslCheckOFD checks an issued OFD package (its files) with OpenSSL: every Reference digest
// is `openssl dgst -sm3` of its file, the SES_Signature's dataHash is that of Signature.xml, and
// its signature value verifies over TBS_Sign with the signer certificate's SM2 key
// (`openssl pkeyutl -verify`).
func opensslCheckOFD(t *testing.T, files []ofdEntry) {
	t.Helper()
	if fixtures.NeedTool(t, "openssl", "openssl") == "" {
		return
	}
	dir := t.TempDir()
	var sigXML, sigDER []byte
	byName := map[string][]byte{}
	for _, fl := range files {
		byName[fl.name] = fl.data
	}
	sigXML, sigDER = byName["Doc_0/Signs/Sign_0/Signature.xml"], byName["Doc_0/Signs/Sign_0/SignedValue.dat"]
	refs := regexp.MustCompile(`<ofd:Reference FileRef="/([^"]+)"><ofd:CheckValue>([^<]+)</ofd:CheckValue>`).FindAllSubmatch(sigXML, -1)
	if len(refs) != len(files)-2 {
		t.Fatalf("%d References for %d files", len(refs), len(files))
	}
	for i, ref := range refs {
		p := filepath.Join(dir, "ref"+string(rune('a'+i)))
		os.WriteFile(p, byName[string(ref[1])], 0o600)
		out, err := exec.Command("openssl", "dgst", "-sm3", "-binary", "-out", p+".sm3", p).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl dgst: %s", out)
		}
		sum, _ := os.ReadFile(p + ".sm3")
		if got := base64.StdEncoding.EncodeToString(sum); got != string(ref[2]) {
			t.Errorf("%s: CheckValue %s, openssl %s", ref[1], ref[2], got)
		}
	}
	ses, err := seals.ParseSES(sigDER)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "Signature.xml"), sigXML, 0o600)
	out, err := exec.Command("openssl", "dgst", "-sm3", "-r", filepath.Join(dir, "Signature.xml")).CombinedOutput()
	if err != nil || strings.Fields(string(out))[0] != hex.EncodeToString(ses.DataHash) {
		t.Errorf("openssl dgst -sm3 Signature.xml = %s, SES dataHash %x", out, ses.DataHash)
	}
	// The signature value over the DER of TBS_Sign, with the signer certificate's SM2 key.
	certFile, pubFile, tbsFile, sigFile := filepath.Join(dir, "signer.der"), filepath.Join(dir, "signer.pub"), filepath.Join(dir, "tbs.der"), filepath.Join(dir, "sig.der")
	os.WriteFile(certFile, ses.Cert, 0o600)
	pub, err := exec.Command("openssl", "x509", "-inform", "DER", "-in", certFile, "-pubkey", "-noout").Output()
	if err != nil {
		t.Fatalf("openssl x509 -pubkey of the signer certificate: %v", err)
	}
	os.WriteFile(pubFile, pub, 0o600)
	os.WriteFile(tbsFile, ses.TBSDER(), 0o600)
	os.WriteFile(sigFile, ses.Signature, 0o600)
	out, err = exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+seals.SM2DefaultUID, "-in", tbsFile, "-sigfile", sigFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of the SES_Signature over TBS_Sign: %v\n%s", err, out)
	}
}

// TestIssuedOFDInOFDJS: the OFD a clerk downloads opens in ofd.js (testdata/ofdjs, headless
// Chromium): one page, the holder and the licence number as text, one signature whose SM2 value
// (VerifyRet) and Reference digests (digestCheck) ofd.js accepts.
func TestIssuedOFDInOFDJS(t *testing.T) {
	e := testenv.Start(t)
	f := foodFixtures(t)[0]
	c := issue(t, e, "lizhou-clerk", issueRequest(f, sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	pkg := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/ofd", "lizhou-clerk", nil).Body
	ofdjsCheck(t, pkg, f.Fields["经营者名称"], c.LicenceNumber)
}

// ofdjsCheck renders a certificate's OFD in ofd.js and checks it: one page with the holder, the
// licence number and the issuer as text, one signature whose SM2 value (VerifyRet) and Reference
// digests (digestCheck) ofd.js accepts. It returns the rendering.
func ofdjsCheck(t *testing.T, pkg []byte, holder, number string) image.Image {
	t.Helper()
	shot, res := fixtures.RenderOFD(t, pkg, 1123)
	if res.Pages != 1 {
		t.Fatalf("ofd.js rendered %d pages; console %q", res.Pages, res.Logs)
	}
	all := strings.Join(res.Texts, "")
	for _, want := range []string{holder, number, "广元市利州区行政审批局"} {
		if !strings.Contains(all, want) {
			t.Errorf("ofd.js text lacks %q", want)
		}
	}
	if len(res.Signatures) != 1 {
		t.Fatalf("ofd.js found %d signatures; console %q", len(res.Signatures), res.Logs)
	}
	if s := res.Signatures[0]; !s.VerifyRet || s.DigestOK == nil || !*s.DigestOK || s.Method != seals.OFDSignatureMethod {
		t.Errorf("ofd.js on the signature: %+v", s)
	}
	return shot
}
