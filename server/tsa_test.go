package server_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/internal/tsa"
	"certseal/internal/tsa/tsahttp"
	"certseal/inventory"
	"certseal/server"
)

func init() { expect(map[string]string{"tsa": "*"}) }

// TestBuiltinTSAOverHTTP: with -tsa builtin, POST /tsa answers RFC 3161 queries with tokens of
// the city center's TSA that OpenSSL verifies against the root CA; /readyz reports the TSA
// and the PAdES level; an issued certificate is B-LT. Without a TSA, /tsa is 404 and /readyz
// says none.
func TestBuiltinTSAOverHTTP(t *testing.T) {
	e := testenv.StartWith(t, testenv.Options{TSA: "builtin"})
	ready := e.Must(200, "GET", "/readyz", "", nil).JSON(t)
	rt, _ := ready["tsa"].(map[string]any)
	if rt["mode"] != "builtin" || rt["pades_level"] != "B-LT" {
		t.Errorf("readyz: %v", ready)
	}
	sum := sha256.Sum256([]byte("签名值"))
	q, _ := tsa.NewRequest(tsa.SHA256, sum[:], nil)
	resp, err := http.Post(e.HTTP.URL+server.TSAPath, tsahttp.QueryType, bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tsahttp.ReplyType {
		t.Fatalf("POST /tsa: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	tok, err := tsa.ParseResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.App.Seals.CA(t.Context())
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if info, err := tsa.Verify(tok, tsa.SHA256, sum[:], roots); err != nil || !info.Trusted {
		t.Fatalf("token: %+v %v", info, err)
	}
	openssl := fixtures.NeedTool(t, "openssl", "openssl")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "r.tsr"), body, 0o600)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertificatePEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "data"), []byte("签名值"), 0o600)
	out, err := exec.Command(openssl, "ts", "-verify", "-data", filepath.Join(dir, "data"), "-in", filepath.Join(dir, "r.tsr"), "-CAfile", filepath.Join(dir, "ca.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify: %v %s", err, out)
	}
	// Issue a certificate: B-LT, proven.
	seal := sealOf(t, e, "lizhou-clerk")
	c := e.Must(201, "POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001")).JSON(t)
	pdf := e.Must(200, "GET", "/api/v1/certificates/"+c["id"].(string)+"/pdf", "lizhou-clerk", nil).Body
	v := e.Must(200, "POST", "/api/v1/verify", "", pdf).JSON(t)
	if v["verdict"] != "valid" || v["pades_level"] != "B-LT" || v["tsa"] == nil || v["proven_time"] == nil {
		t.Errorf("verify: %v", v)
	}

	plain := testenv.Start(t)
	if r := plain.Do("POST", server.TSAPath, "", q); r.Status != 404 {
		t.Errorf("POST /tsa without a TSA: %d", r.Status)
	}
	if rt, _ := plain.Must(200, "GET", "/readyz", "", nil).JSON(t)["tsa"].(map[string]any); rt["mode"] != "none" {
		t.Errorf("readyz without a TSA: %v", rt)
	}
}

// TestIssueTSADownIs503: with an external TSA that does not answer, POST /api/v1/certificates
// answers 503 unavailable 时间戳服务不可用, the blank form stays in stock and /readyz shows the
// failure.
func TestIssueTSADownIs503(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	url := down.URL
	down.Close()
	ca, _ := testenv.Start(t).App.Seals.CA(t.Context()) // any CA: the TSA never answers
	e := testenv.StartWith(t, testenv.Options{TSA: url, TSACA: ca.CertificatePEM()})
	seal := sealOf(t, e, "lizhou-clerk")
	r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	if r.Status != 503 || r.ErrorCode() != "unavailable" || !strings.Contains(string(r.Body), "时间戳服务不可用") {
		t.Fatalf("issue with the TSA down: %d %s", r.Status, r.Body)
	}
	var st inventory.State
	e.App.DB.View(func(tx *store.Tx) error {
		_, st, _ = inventory.StateTx(tx, demo.TypeFood, "SC00000001")
		return nil
	})
	if st != inventory.InStock {
		t.Errorf("blank form after the failed issue: %v, want in stock", st)
	}
	rt, _ := e.Must(200, "GET", "/readyz", "", nil).JSON(t)["tsa"].(map[string]any)
	if rt["mode"] != "url" || rt["last_error"] == nil || rt["pades_level"] != "B-LT" {
		t.Errorf("readyz: %v", rt)
	}
}
