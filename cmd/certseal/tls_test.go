package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"certseal/internal/fixtures"
)

// testCA is a certificate authority made by the test, and the server certificates it signs.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "certseal test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a server certificate for 127.0.0.1 and localhost with the given serial, and its
// key, to certFile and keyFile.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "certseal.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// write through a rename, as a certificate renewal tool does
	for path, b := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
	} {
		if err := os.WriteFile(path+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
}

var httpsRE = regexp.MustCompile(`listening on (https://[0-9.:]+)`)
var redirectRE = regexp.MustCompile(`redirecting (http://[0-9.:]+) to https`)

// TestServeTLS: serve -tls-cert/-tls-key answers HTTPS that Go's TLS client verifies against
// the test's CA (and openssl s_client, when installed), refuses TLS 1.1, marks the session
// cookie Secure, redirects plain HTTP with -redirect-http, and on SIGHUP serves a new
// certificate to new connections while a connection already open goes on working.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca.issue(t, 100, certFile, keyFile)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-nosync", "-data", filepath.Join(dir, "data"),
			"-tls-cert", certFile, "-tls-key", keyFile, "-redirect-http", "127.0.0.1:0"}, stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited with %d: %s", code, stderr)
		}
	})
	var base, plain string
	for base == "" || plain == "" {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited with %d: %s %s", code, stdout, stderr)
		case <-time.After(20 * time.Millisecond):
			if m := httpsRE.FindStringSubmatch(stdout.String()); m != nil {
				base = m[1]
			}
			if m := redirectRE.FindStringSubmatch(stdout.String()); m != nil {
				plain = m[1]
			}
		}
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// get fetches path and reports the serial of the server's certificate and whether the
	// connection was reused.
	get := func(path string) (*http.Response, int64, bool) {
		t.Helper()
		reused := false
		req, _ := http.NewRequest("GET", base+path, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Fatalf("GET %s: not over TLS 1.2+: %+v", path, resp.TLS)
		}
		return resp, resp.TLS.PeerCertificates[0].SerialNumber.Int64(), reused
	}
	resp, serial, _ := get("/healthz")
	if resp.StatusCode != 200 || serial != 100 {
		t.Fatalf("healthz over TLS: %d, certificate serial %d, want 200 and 100", resp.StatusCode, serial)
	}
	// The session cookie of a page served over TLS is Secure.
	resp, _, _ = get("/login")
	secure := false
	for _, c := range resp.Cookies() {
		secure = secure || c.Secure
		if !c.Secure {
			t.Errorf("cookie %s over TLS is not Secure", c.Name)
		}
	}
	if !secure {
		t.Error("the sign-in page set no cookie to check")
	}

	// An old protocol is refused.
	old := &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}
	if c, err := tls.Dial("tcp", strings.TrimPrefix(base, "https://"), old); err == nil {
		c.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// Plain HTTP is redirected to the same path over HTTPS.
	presp, err := client.Get(plain + "/verify?x=1")
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	u, _ := url.Parse(base)
	if want := "https://127.0.0.1:" + u.Port() + "/verify?x=1"; presp.StatusCode != http.StatusPermanentRedirect || presp.Header.Get("Location") != want {
		t.Errorf("plain HTTP: %d to %q, want 308 to %q", presp.StatusCode, presp.Header.Get("Location"), want)
	}

	// SIGHUP: the renewed certificate is served to new connections; the open one goes on.
	ca.issue(t, 200, certFile, keyFile)
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "tls certificate reloaded") {
		if time.Now().After(deadline) {
			t.Fatalf("no reload logged: %s", stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, serial, reused := get("/healthz"); !reused || serial != 100 {
		t.Errorf("after SIGHUP on the open connection: reused %v, serial %d; want the same connection (serial 100) still working", reused, serial)
	}
	fresh := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp2, err := fresh.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("a new connection after SIGHUP: %v", err)
	}
	resp2.Body.Close()
	if s := resp2.TLS.PeerCertificates[0].SerialNumber.Int64(); s != 200 {
		t.Errorf("a new connection after SIGHUP got certificate serial %d, want 200", s)
	}

	// A real TLS client of another implementation verifies the chain.
	fixtures.NeedTool(t, "openssl", "openssl")
	cmd := exec.Command("openssl", "s_client", "-connect", strings.TrimPrefix(base, "https://"), "-CAfile", caFile,
		"-verify_return_error", "-verify_ip", "127.0.0.1")
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verify return code: 0 (ok)") {
		t.Fatalf("openssl s_client: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`Protocol *: TLSv1\.[23]|New, TLSv1\.[23]`).Match(out) {
		t.Errorf("openssl s_client: no TLS 1.2+ protocol line:\n%s", out)
	}
}
