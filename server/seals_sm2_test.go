package server_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
	"certseal/seals"

	"github.com/emmansun/gmsm/smx509"
)

func init() {
	expect(map[string]string{"seals.eseal": "*", "ca.sm2_certificate": "*", "ca.sm2_crl": "*"})
}

// TestSM2SealRoutes registers an SM2 seal through the API, downloads its SESeal (public) and
// has OpenSSL walk it and check the maker's signature with the SM2 root from the API; revokes
// it and finds it on the SM2 CRL only.
func TestSM2SealRoutes(t *testing.T) {
	e := testenv.Start(t)
	lz := demoSeal(t, e, "广元市利州区行政审批局")
	body := newSealBody(e)
	body["algorithm"] = "rsa"
	e.Must(400, "POST", "/api/v1/seals", "admin", body)
	body["algorithm"] = "sm2"
	var s struct {
		sealJSON
		Algorithm string `json:"algorithm"`
		ESeal     string `json:"eseal"`
	}
	e.Must(201, "POST", "/api/v1/seals", "admin", body).Decode(t, &s)
	if s.Algorithm != "sm2" || s.ESeal != "/api/v1/seals/"+s.ID+"/eseal" {
		t.Fatalf("created %+v", s)
	}
	// The ECDSA twin with the same code, for PDF readers.
	delete(body, "algorithm")
	e.Must(201, "POST", "/api/v1/seals", "admin", body)

	r := e.Must(200, "GET", s.ESeal, "", nil)
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" || !strings.Contains(r.Header.Get("Content-Disposition"), s.ID) {
		t.Errorf("eseal headers: %v", r.Header)
	}
	es, err := seals.ParseESeal(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if es.ESID != s.ID || es.Name != s.Name || len(es.Certs) != 1 {
		t.Errorf("SESeal %+v", es)
	}
	if r2 := sealRaw(t, e, "GET", s.ESeal, "", "", nil, "If-None-Match", r.Header.Get("ETag")); r2.Status != 304 {
		t.Errorf("conditional eseal: %d, want 304", r2.Status)
	}
	e.Must(404, "GET", "/api/v1/seals/"+lz.ID+"/eseal", "", nil)

	caPEM := e.Must(200, "GET", "/api/v1/ca/sm2/certificate", "", nil).Body
	ca, err := smx509.ParseCertificatePEM(caPEM)
	if err != nil || ca.Subject.CommonName != seals.SM2CAName || ca.SignatureAlgorithm != smx509.SM2WithSM3 {
		t.Fatalf("SM2 CA: %v %v", err, ca)
	}
	if der := e.Must(200, "GET", "/api/v1/ca/sm2/certificate?format=der", "", nil).Body; !bytes.Equal(der, ca.Raw) {
		t.Error("the SM2 CA's DER differs from its PEM")
	}
	if !bytes.Equal(es.MakerCert, ca.Raw) {
		t.Error("the SESeal's maker is not the SM2 CA the API serves")
	}

	// Revocation: on the SM2 CRL, signed by the SM2 CA; not on the ECDSA one.
	e.Must(200, "POST", "/api/v1/seals/"+s.ID+"/revoke", "admin", map[string]any{"reason": "印章遗失"})
	crlResp := e.Must(200, "GET", "/api/v1/ca/sm2/crl", "", nil)
	crl, err := smx509.ParseRevocationList(crlResp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(ca); err != nil {
		t.Errorf("SM2 CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Text(16) != s.CertSerial {
		t.Errorf("SM2 CRL lists %v, want %s", crl.RevokedCertificateEntries, s.CertSerial)
	}
	if ecdsaCRL := e.Must(200, "GET", "/api/v1/ca/crl", "", nil).Body; bytes.Contains(ecdsaCRL, crl.RevokedCertificateEntries[0].SerialNumber.Bytes()) {
		t.Error("the ECDSA CRL lists the SM2 seal")
	}
	// OpenSSL walks the downloaded SESeal and checks the maker's signature with the API's SM2 root.
	fixtures.NeedTool(t, "openssl", "openssl")
	{
		dir := t.TempDir()
		esFile := filepath.Join(dir, "seal.eseal")
		os.WriteFile(esFile, r.Body, 0o600)
		out, err := exec.Command("openssl", "asn1parse", "-inform", "DER", "-in", esFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), ":ES") || !strings.Contains(string(out), ":"+s.ID) || !strings.Contains(string(out), "SM2-with-SM3") {
			t.Errorf("openssl asn1parse of the downloaded SESeal: %v\n%s", err, out)
		}
		caFile := filepath.Join(dir, "ca.pem")
		os.WriteFile(caFile, caPEM, 0o600)
		pub, err := exec.Command("openssl", "x509", "-in", caFile, "-pubkey", "-noout").Output()
		if err != nil {
			t.Fatal(err)
		}
		pubFile, msgFile, sigFile := filepath.Join(dir, "pub.pem"), filepath.Join(dir, "info.der"), filepath.Join(dir, "sig.der")
		os.WriteFile(pubFile, pub, 0o600)
		os.WriteFile(msgFile, es.SealInfoDER(), 0o600)
		os.WriteFile(sigFile, es.SignedValue, 0o600)
		out, err = exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", pubFile, "-rawin", "-digest", "sm3",
			"-pkeyopt", "distid:"+seals.SM2DefaultUID, "-in", msgFile, "-sigfile", sigFile).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Signature Verified Successfully") {
			t.Errorf("openssl pkeyutl -verify of the SESeal's maker signature: %v\n%s", err, out)
		}
	}

}
