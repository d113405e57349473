package seals_test

import (
	"bytes"
	"encoding/asn1"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"certseal/internal/fixtures"
	"certseal/templates"
)

var (
	byteRangeRe = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)
	contentsRe  = regexp.MustCompile(`/Contents\s*<([0-9A-Fa-f]+)>`)
)

// signedParts returns the bytes a PDF's (last) signature covers and its CMS SignedData (DER,
// without the zero padding of /Contents), as an outside verifier reads them.
func signedParts(t *testing.T, pdf []byte) (content, cms []byte) {
	t.Helper()
	br := byteRangeRe.FindAllSubmatch(pdf, -1)
	ct := contentsRe.FindAllSubmatch(pdf, -1)
	if len(br) == 0 || len(ct) == 0 {
		t.Fatal("no /ByteRange or /Contents in the signed PDF")
	}
	var r [4]int
	for i := range r {
		r[i], _ = strconv.Atoi(string(br[len(br)-1][i+1]))
	}
	content = append(append([]byte{}, pdf[r[0]:r[0]+r[1]]...), pdf[r[2]:r[2]+r[3]]...)
	raw, err := hex.DecodeString(string(ct[len(ct)-1][1]))
	if err != nil {
		t.Fatal(err)
	}
	var v asn1.RawValue
	rest, err := asn1.Unmarshal(raw, &v)
	if err != nil {
		t.Fatalf("the /Contents is not DER: %v", err)
	}
	return content, raw[:len(raw)-len(rest)]
}

// TestOpenSSLVerifiesTheCMS: OpenSSL (`openssl cms -verify`), which nobody here wrote, checks
// the detached CMS signature of a signed certificate over the bytes its /ByteRange names, with
// the chain to our root CA; one changed byte of the content makes it refuse.
func TestOpenSSLVerifiesTheCMS(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	f := newFixture(t)
	signed := signAndCheck(t, f, certificatePDF(t, templates.Builtin()[0]))
	content, cms := signedParts(t, signed)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", f.ca.CertificatePEM())
	sig := write("sig.der", cms)
	verify := func(content []byte) (string, error) {
		out, err := exec.Command("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig,
			"-content", write("content.bin", content), "-CAfile", ca, "-purpose", "any", "-out", os.DevNull).CombinedOutput()
		return string(out), err
	}
	if out, err := verify(content); err != nil || !strings.Contains(out, "Verification successful") {
		t.Fatalf("openssl cms -verify: %v\n%s", err, out)
	}
	bad := bytes.Clone(content)
	bad[len(bad)/2] ^= 0x01
	if out, err := verify(bad); err == nil || strings.Contains(out, "Verification successful") {
		t.Fatalf("openssl cms -verify accepted a changed byte:\n%s", out)
	}
}

// TestMuPDFVerifiesTheSignature: MuPDF (`mutool sign -v`) finds the signature and says the
// document is unchanged since signing; after a changed byte it no longer does.
func TestMuPDFVerifiesTheSignature(t *testing.T) {
	fixtures.NeedTool(t, "mutool", "mupdf-tools")
	f := newFixture(t)
	signed := signAndCheck(t, f, certificatePDF(t, templates.Builtin()[0]))
	dir := t.TempDir()
	check := func(pdf []byte) string {
		p := filepath.Join(dir, "c.pdf")
		if err := os.WriteFile(p, pdf, 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command("mutool", "sign", "-v", p).CombinedOutput()
		return string(out)
	}
	if out := check(signed); !strings.Contains(out, "The document is unchanged since signing.") || !strings.Contains(out, "5108020012345") {
		t.Fatalf("mutool sign -v on the signed certificate:\n%s", out)
	}
	bad := bytes.Clone(signed)
	bad[tamperAt(t, bad)] ^= 0x01
	if out := check(bad); strings.Contains(out, "The document is unchanged since signing.") {
		t.Fatalf("mutool sign -v calls a changed copy unchanged:\n%s", out)
	}
}
