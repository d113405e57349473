package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal/seals"
)

func TestCAImport(t *testing.T) {
	ca, err := seals.NewCA("四川省政务服务测试根证书", time.Now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(ca.Signer)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	os.WriteFile(certFile, ca.CertificatePEM(), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)

	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"ca", "import", "-data", data, "-cert", certFile, "-key", keyFile}, &out, &errb); code != 0 {
		t.Fatalf("ca import: %d %s", code, errb.String())
	}
	r := serve(t, "-data", data, "-demo")
	resp, err := http.Get(r.url + "/api/v1/ca/certificate")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(bytes.TrimSpace(served), bytes.TrimSpace(ca.CertificatePEM())) {
		t.Fatalf("the service serves another CA:\n%s", served)
	}
	r.stop(t)
	// once seals were issued under it, the CA cannot be replaced
	errb.Reset()
	if code := Main(context.Background(), []string{"ca", "import", "-data", data, "-cert", certFile, "-key", keyFile}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "不能更换根证书") {
		t.Fatalf("second import: %d %s", code, errb.String())
	}
	if code := Main(context.Background(), []string{"ca", "import", "-data", data}, &out, &errb); code != 2 {
		t.Fatalf("import without files: %d", code)
	}
}
