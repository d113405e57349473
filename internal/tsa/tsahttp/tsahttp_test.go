package tsahttp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/internal/tsa"
	"certseal/internal/tsa/tsahttp"
)

// authority returns a built-in authority with its own CA, as the seal registry makes one: an
// ECDSA P-256 key, a certificate with the critical EKU id-kp-timeStamping.
func authority(t *testing.T, now time.Time) (*tsa.Authority, *x509.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "测试根证书"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{tsa.OIDTimeStamping})
	tT := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "测试时间戳服务"}, NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 37}, Critical: true, Value: eku}}}
	der, err := x509.CreateCertificate(rand.Reader, tT, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	var serial atomic.Int64
	return &tsa.Authority{Signer: key, Cert: cert, Chain: []*x509.Certificate{ca}, Accuracy: tsa.Accuracy{Seconds: 1},
		Now: func() time.Time { return now }, NextSerial: func() (*big.Int, error) { return big.NewInt(serial.Add(1)), nil }}, ca
}

func pemFile(t *testing.T, dir, name string, c *x509.Certificate) string {
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBuiltinTokenVerifiesInOpenSSL: a token of the built-in authority, fetched over HTTP by
// the client, verifies with `openssl ts -verify` against the data and the CA, and
// `openssl ts -reply -text` shows the policy, the serial and the accuracy.
func TestBuiltinTokenVerifiesInOpenSSL(t *testing.T) {
	openssl := fixtures.NeedTool(t, "openssl", "openssl")
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	a, ca := authority(t, now)
	srv := httptest.NewServer(tsahttp.Handler(a))
	defer srv.Close()
	data := []byte("签章的签名值")
	sum := sha256.Sum256(data)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	c := &tsahttp.Client{URL: srv.URL, Roots: roots}
	tok, err := c.Timestamp(context.Background(), tsa.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	info, err := tsa.Verify(tok, tsa.SHA256, sum[:], roots)
	if err != nil || !info.Trusted || !info.Time.Equal(now) || info.Policy != tsa.PolicyOID || info.TSAName() != "测试时间戳服务" {
		t.Fatalf("verify: %+v %v", info, err)
	}
	dir := t.TempDir()
	caFile := pemFile(t, dir, "ca.pem", ca)
	// The full response as a TSA client saves it.
	q, _ := tsa.NewRequest(tsa.SHA256, sum[:], big.NewInt(42))
	resp, err := a.Respond(q)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "resp.tsr"), resp, 0o600)
	os.WriteFile(filepath.Join(dir, "data"), data, 0o600)
	os.WriteFile(filepath.Join(dir, "tok.der"), tok, 0o600)
	run := func(args ...string) string {
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("ts", "-verify", "-data", filepath.Join(dir, "data"), "-in", filepath.Join(dir, "resp.tsr"), "-CAfile", caFile); !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify (response): %s", out)
	}
	if out := run("ts", "-verify", "-data", filepath.Join(dir, "data"), "-in", filepath.Join(dir, "tok.der"), "-token_in", "-CAfile", caFile); !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify (token): %s", out)
	}
	text := run("ts", "-reply", "-in", filepath.Join(dir, "resp.tsr"), "-text")
	for _, want := range []string{"Status: Granted.", "Policy OID: " + tsa.PolicyOID, "Serial number: 0x02", "Time stamp: Mar  2 08:00:00 2026 GMT", "Accuracy: 0x01 seconds", "Nonce: 0x2A"} {
		if !strings.Contains(text, want) {
			t.Errorf("openssl ts -reply -text lacks %q:\n%s", want, text)
		}
	}
	// A different document does not verify: the check can fail.
	os.WriteFile(filepath.Join(dir, "other"), []byte("另一份"), 0o600)
	if out, err := exec.Command(openssl, "ts", "-verify", "-data", filepath.Join(dir, "other"), "-in", filepath.Join(dir, "resp.tsr"), "-CAfile", caFile).CombinedOutput(); err == nil {
		t.Errorf("openssl verified a token over other data: %s", out)
	}
}

// opensslTSA starts OpenSSL's own TSA (`openssl ts -reply`) behind a tiny HTTP wrapper, with
// a CA and a TSA certificate made by openssl, and returns its URL and CA certificate.
func opensslTSA(t *testing.T) (string, *x509.Certificate) {
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
	run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/CN=OpenSSL Test TSA CA")
	run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/CN=OpenSSL Test TSA")
	run("x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem", "-days", "365", "-extfile", "ext.cnf", "-extensions", "tsa_ext")
	os.WriteFile(filepath.Join(dir, "serial"), []byte("01\n"), 0o600)
	cnf := "[tsa]\ndefault_tsa = tsa1\n[tsa1]\ndir = " + dir + "\nserial = $dir/serial\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\nordering = no\ntsa_name = no\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n"
	os.WriteFile(filepath.Join(dir, "tsa.cnf"), []byte(cnf), 0o600)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := io.ReadAll(io.LimitReader(r.Body, 8192))
		f, _ := os.CreateTemp(dir, "q*.tsq")
		f.Write(q)
		f.Close()
		out := f.Name() + ".tsr"
		cmd := exec.Command(openssl, "ts", "-reply", "-config", filepath.Join(dir, "tsa.cnf"), "-queryfile", f.Name(), "-out", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			http.Error(w, string(b), 500)
			return
		}
		b, _ := os.ReadFile(out)
		w.Header().Set("Content-Type", tsahttp.ReplyType)
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	b, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	blk, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, ca
}

// TestClientAgainstOpenSSLTSA: certseal's client timestamps against OpenSSL's TSA; the token
// verifies, chains to OpenSSL's CA, and names its policy.
func TestClientAgainstOpenSSLTSA(t *testing.T) {
	url, ca := opensslTSA(t)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	sum := sha256.Sum256([]byte("signature value"))
	tok, err := (&tsahttp.Client{URL: url, Roots: roots, Timeout: 20 * time.Second}).Timestamp(context.Background(), tsa.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	info, err := tsa.Verify(tok, tsa.SHA256, sum[:], roots)
	if err != nil || !info.Trusted || info.Policy != "1.2.3.4.1" || info.TSAName() != "OpenSSL Test TSA" {
		t.Fatalf("got %+v, %v", info, err)
	}
	// Another CA does not trust it.
	_, other := authority(t, time.Now())
	op := x509.NewCertPool()
	op.AddCert(other)
	if _, err := (&tsahttp.Client{URL: url, Roots: op, Timeout: 20 * time.Second}).Timestamp(context.Background(), tsa.SHA256, sum[:]); certseal.ErrorCode(err) != certseal.EUnavailable {
		t.Errorf("a TSA of an untrusted CA: got %v, want unavailable", err)
	}
}

// TestClientFailsLoudly: a TSA that is down, slow, answers garbage, a refusal, the wrong
// imprint or the wrong nonce gives the unavailable error, never a token.
func TestClientFailsLoudly(t *testing.T) {
	now := time.Now()
	a, ca := authority(t, now)
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	sum := sha256.Sum256([]byte("x"))
	other := sha256.Sum256([]byte("y"))
	// answer rewrites the request the authority sees, to make a wrong answer.
	answer := func(rewrite func(*tsa.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q, _ := io.ReadAll(r.Body)
			req, err := tsa.ParseRequest(q)
			if err != nil {
				http.Error(w, "bad", 400)
				return
			}
			rewrite(req)
			tok, err := a.Stamp(tsa.SHA256, req.MessageImprint.HashedMessage, req.Nonce)
			if err != nil {
				http.Error(w, "bad", 500)
				return
			}
			resp, _ := asn1.Marshal(struct {
				Status struct{ Status int }
				Token  asn1.RawValue
			}{Token: asn1.RawValue{FullBytes: tok}})
			w.Write(resp)
		}
	}
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	cases := map[string]struct {
		url     string
		handler http.Handler
	}{
		"down":    {url: downURL},
		"slow":    {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(time.Second) })},
		"garbage": {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>oops</html>")) })},
		"http500": {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "x", 500) })},
		"refused": {handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := asn1.Marshal(struct{ Status struct{ Status int } }{Status: struct{ Status int }{2}})
			w.Write(b)
		})},
		"wrong imprint": {handler: answer(func(r *tsa.Request) { r.MessageImprint.HashedMessage = other[:] })},
		"wrong nonce":   {handler: answer(func(r *tsa.Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) })},
		"no nonce":      {handler: answer(func(r *tsa.Request) { r.Nonce = nil })},
		"good":          {handler: answer(func(r *tsa.Request) {})},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			url := tc.url
			if tc.handler != nil {
				s := httptest.NewServer(tc.handler)
				defer s.Close()
				url = s.URL
			}
			tok, err := (&tsahttp.Client{URL: url, Roots: roots, Timeout: 300 * time.Millisecond}).Timestamp(context.Background(), tsa.SHA256, sum[:])
			if name == "good" {
				if err != nil || tok == nil {
					t.Fatalf("good TSA: %v", err)
				}
				return
			}
			var ce *certseal.Error
			if tok != nil || !errors.As(err, &ce) || ce.Code != certseal.EUnavailable || !strings.HasPrefix(ce.Message, "时间戳服务不可用") {
				t.Fatalf("got %v (token %d bytes), want the unavailable error", err, len(tok))
			}
		})
	}
}

// TestHandlerRefusesWrongRequests: only POSTs of a time-stamp query get a reply.
func TestHandlerRefusesWrongRequests(t *testing.T) {
	a, _ := authority(t, time.Now())
	srv := httptest.NewServer(tsahttp.Handler(a))
	defer srv.Close()
	if r, _ := http.Get(srv.URL); r.StatusCode != 405 {
		t.Errorf("GET: %d", r.StatusCode)
	}
	if r, _ := http.Post(srv.URL, "application/octet-stream", bytes.NewReader([]byte{1})); r.StatusCode != 415 {
		t.Errorf("wrong type: %d", r.StatusCode)
	}
	r, _ := http.Post(srv.URL, tsahttp.QueryType, bytes.NewReader([]byte("junk")))
	b, _ := io.ReadAll(r.Body)
	if _, err := tsa.ParseResponse(b); r.StatusCode != 200 || err == nil || !strings.Contains(err.Error(), "status 2") {
		t.Errorf("junk query: %d %v", r.StatusCode, err)
	}
}
