package server_test

import (
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
	"certseal/internal/tsa/tsahttp"
)

// opensslTSA starts OpenSSL's own TSA (`openssl ts -reply`) behind a tiny HTTP wrapper, with a
// CA and a TSA certificate made by openssl, and returns its URL, its CA (PEM) and the CA file.
func opensslTSA(t *testing.T) (url string, caPEM []byte, caFile string) {
	t.Helper()
	openssl := fixtures.NeedTool(t, "openssl", "openssl")
	dir := t.TempDir()
	run := func(args ...string) {
		cmd := exec.Command(openssl, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	os.WriteFile(filepath.Join(dir, "ext.cnf"), []byte("[tsa_ext]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n"), 0o600)
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=OpenSSL Test TSA CA")
	run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=OpenSSL Test TSA")
	run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem", "-days", "365", "-extfile", "ext.cnf", "-extensions", "tsa_ext")
	os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600)
	cnf := "[tsa]\ndefault_tsa = tsa1\n[tsa1]\ndir = " + dir + "\nserial = $dir/serial\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha1\n"
	os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(cnf), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
		f, _ := os.CreateTemp(dir, "q*.tsq")
		f.Write(q)
		f.Close()
		out := f.Name() + ".tsr"
		if b, err := exec.Command(openssl, "ts", "-reply", "-config", filepath.Join(dir, "tsa.cnf"), "-queryfile", f.Name(), "-out", out).CombinedOutput(); err != nil {
			http.Error(w, string(b), 500)
			return
		}
		b, _ := os.ReadFile(out)
		w.Header().Set("Content-Type", tsahttp.ReplyType)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	caPEM, _ = os.ReadFile(filepath.Join(dir, "ca.pem"))
	return srv.URL, caPEM, filepath.Join(dir, "ca.pem")
}

// TestIssueWithOpenSSLTSA: certseal configured with OpenSSL's TSA (an RSA TSA, ESS signing
// certificate v1) issues a B-LT certificate; the verdict names that TSA and proves the time;
// `openssl ts -verify` checks the signature timestamp embedded in the PDF over the signature
// value, with OpenSSL's CA; pdfsig still says the seal's signature is valid.
func TestIssueWithOpenSSLTSA(t *testing.T) {
	url, caPEM, caFile := opensslTSA(t)
	e := testenv.StartWith(t, testenv.Options{TSA: url, TSACA: caPEM})
	seal := sealOf(t, e, "lizhou-clerk")
	c := e.Must(201, "POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001")).JSON(t)
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+c["id"].(string)+"/pdf", "lizhou-clerk", nil).Body
	v := e.Must(200, "POST", "/api/v1/verify", "", pdf).JSON(t)
	if v["verdict"] != "valid" || v["pades_level"] != "B-LT" || v["tsa"] != "OpenSSL Test TSA" || v["proven_time"] == nil {
		t.Fatalf("verify: %v", v)
	}
	// The CMS of the seal's signature, as an outside reader finds it.
	m := regexp.MustCompile(`/Contents\s*<([0-9A-Fa-f]+)>`).FindSubmatch(pdf)
	cms, _ := hex.DecodeString(string(m[1]))
	oid := []byte{0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e}
	k := strings.Index(string(cms), string(oid))
	if k < 0 {
		t.Fatal("no signature-time-stamp-token in the CMS")
	}
	set := cms[k+len(oid):]
	tok := derElem(set[derHeader(set):])
	sigOID := []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02}
	j := strings.LastIndex(string(cms[:k]), string(sigOID))
	rest := cms[j+len(sigOID):]
	sig := derElem(rest)
	sig = sig[derHeader(sig):]
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "tok"), tok, 0o600)
	os.WriteFile(filepath.Join(dir, "sig"), sig, 0o600)
	out, err := exec.Command("openssl", "ts", "-verify", "-data", filepath.Join(dir, "sig"), "-in", filepath.Join(dir, "tok"), "-token_in", "-CAfile", caFile).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify on the embedded token: %v\n%s", err, out)
	}
	fixtures.NeedTool(t, "pdfsig", "poppler-utils")
	f := filepath.Join(dir, "c.pdf")
	os.WriteFile(f, pdf, 0o600)
	if out, _ := exec.Command("pdfsig", f).CombinedOutput(); !strings.Contains(string(out), "Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}
}

// derHeader returns the length of the tag and length octets of the DER element b.
func derHeader(b []byte) int {
	if b[1] < 0x80 {
		return 2
	}
	return 2 + int(b[1]&0x7f)
}

// derElem returns the DER element at the start of b.
func derElem(b []byte) []byte {
	h := derHeader(b)
	n := int(b[1])
	if b[1] >= 0x80 {
		n = 0
		for _, c := range b[2:h] {
			n = n<<8 | int(c)
		}
	}
	return b[:h+n]
}
