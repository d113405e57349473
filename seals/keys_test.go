package seals_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/seals"
)

func TestSealCertificate(t *testing.T) {
	f := newFixture(t)
	c := f.cert
	if c.Subject.CommonName != "利州区行政审批局行政审批专用章" || !slices.Equal(c.Subject.Organization, []string{"利州区行政审批局"}) {
		t.Errorf("subject: got %v", c.Subject)
	}
	if c.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment {
		t.Errorf("key usage: got %v", c.KeyUsage)
	}
	if !slices.ContainsFunc(c.UnknownExtKeyUsage, seals.OIDDocumentSigning.Equal) {
		t.Errorf("ext key usage: got %v, want id-kp-documentSigning", c.UnknownExtKeyUsage)
	}
	if _, err := c.Verify(x509.VerifyOptions{Roots: f.roots(), CurrentTime: signAt, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("chain: %v", err)
	}
	// A seal valid beyond the CA is refused.
	k, _ := seals.NewSealKey()
	_, err := f.ca.IssueSeal(seals.SealSubject{ID: "1", Name: "x", Org: "y"}, k.Public(), signAt, signAt.AddDate(50, 0, 0))
	if certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("beyond the CA: got %v, want %s", err, certseal.EInvalid)
	}
}

func TestCRL(t *testing.T) {
	f := newFixture(t)
	der, err := f.ca.CRL([]seals.Revoked{{Serial: f.cert.SerialNumber, At: signAt, Reason: 4}}, signAt, signAt.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := crl.CheckSignatureFrom(f.ca.Cert); err != nil {
		t.Errorf("CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(f.cert.SerialNumber) != 0 {
		t.Errorf("revoked: got %v, want serial %v", crl.RevokedCertificateEntries, f.cert.SerialNumber)
	}
	if _, err := f.ca.CRL([]seals.Revoked{{Serial: big.NewInt(1)}}, signAt, signAt); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("next == now: got %v, want %s", err, certseal.EInvalid)
	}
}

func TestKeyring(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	kr, err := seals.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := seals.NewSealKey()
	sealed, err := kr.Seal(key)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	if bytes.Contains(sealed, der[len(der)-32:]) {
		t.Fatal("the sealed key contains the key in clear")
	}
	back, err := kr.Open(sealed)
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(back.(*ecdsa.PrivateKey)) {
		t.Error("opened key differs")
	}
	if err := kr.Verify(kr.CheckValue()); err != nil {
		t.Errorf("verify own check value: %v", err)
	}

	wrong, _ := seals.NewKeyring(bytes.Repeat([]byte{8}, 32))
	if err := wrong.Verify(kr.CheckValue()); certseal.ErrorCode(err) != certseal.EForbidden || !strings.Contains(certseal.ErrorMessage(err), "主密钥不正确") {
		t.Errorf("wrong master, verify: got %v, want 主密钥不正确", err)
	}
	if _, err := wrong.Open(sealed); certseal.ErrorCode(err) != certseal.EForbidden || !strings.Contains(certseal.ErrorMessage(err), "主密钥不正确") {
		t.Errorf("wrong master, open: got %v, want 主密钥不正确", err)
	}
	damaged := bytes.Clone(sealed)
	damaged[len(damaged)-1] ^= 1
	if _, err := kr.Open(damaged); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("damaged: got %v, want %s", err, certseal.EInvalid)
	}
	if _, err := seals.NewKeyring(master[:16]); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("short master: got %v, want %s", err, certseal.EInvalid)
	}
}

func TestMasterKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	key, created, err := seals.LoadMasterKey("", path, true)
	if err != nil || !created || len(key) != 32 {
		t.Fatalf("create: got %d bytes, created %v, %v", len(key), created, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(path)
	again, created, err := seals.LoadMasterKey(" \n", path, true)
	if err != nil || created || !bytes.Equal(again, key) {
		t.Errorf("reload: got created %v, %v; want the same key", created, err)
	}
	if _, err := seals.CreateMasterKeyFile(path); certseal.ErrorCode(err) != certseal.EConflict {
		t.Errorf("create over an existing file: got %v, want %s", err, certseal.EConflict)
	}

	// Starting with another master key (configured, from the environment) is refused and leaves the
	// stored keys and the key file as they were.
	kr, _ := seals.NewKeyring(key)
	check := kr.CheckValue()
	sk, _ := seals.NewSealKey()
	sealed, _ := kr.Seal(sk)
	other, _, err := seals.LoadMasterKey(strings.Repeat("ab", 32), path, true)
	if err != nil {
		t.Fatal(err)
	}
	okr, _ := seals.NewKeyring(other)
	if err := okr.Verify(check); certseal.ErrorCode(err) != certseal.EForbidden {
		t.Errorf("wrong key at start: got %v, want %s", err, certseal.EForbidden)
	}
	if _, err := okr.Open(sealed); certseal.ErrorCode(err) != certseal.EForbidden {
		t.Errorf("wrong key open: got %v, want %s", err, certseal.EForbidden)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}

	if _, _, err := seals.LoadMasterKey("not a key", path, true); certseal.ErrorCode(err) != certseal.EInvalid || strings.Contains(err.Error(), "not a key") {
		t.Errorf("bad env: got %v, want %s without echoing the value", err, certseal.EInvalid)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := seals.ReadMasterKeyFile(path); certseal.ErrorCode(err) != certseal.EForbidden {
		t.Errorf("world-readable key file: got %v, want %s", err, certseal.EForbidden)
	}
}

func TestParseMasterKey(t *testing.T) {
	for name, s := range map[string]string{
		"hex":    strings.Repeat("0f", 32),
		"base64": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"raw64":  "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
	} {
		if k, err := seals.ParseMasterKey(" " + s + "\n"); err != nil || len(k) != 32 {
			t.Errorf("%s: got %d bytes, %v", name, len(k), err)
		}
	}
	if _, err := seals.ParseMasterKey("abcd"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("short: got %v, want %s", err, certseal.EInvalid)
	}
}

func TestCAImport(t *testing.T) {
	ca, err := seals.NewCA("测试根证书", signAt, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(ca.Signer)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	got, err := seals.CAFromPEM(ca.CertificatePEM(), keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) {
		t.Error("imported certificate differs")
	}
	other, _ := seals.NewCA("另一个", signAt, 24*time.Hour)
	if _, err := seals.CAFromPEM(other.CertificatePEM(), keyPEM); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("mismatched key: got %v, want %s", err, certseal.EInvalid)
	}

	fixtures.NeedTool(t, "openssl", "openssl")
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertificatePEM(), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600)
	p12 := filepath.Join(dir, "ca.p12")
	out, err := exec.Command("openssl", "pkcs12", "-export", "-in", filepath.Join(dir, "ca.pem"), "-inkey", filepath.Join(dir, "key.pem"),
		"-out", p12, "-passout", "pass:secret", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1").CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("openssl pkcs12: %v\n%s", err, out)
		}
		t.Skipf("openssl pkcs12: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(p12)
	got, err = seals.CAFromPKCS12(data, "secret")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Cert.Equal(ca.Cert) {
		t.Error("PKCS#12 certificate differs")
	}
	if _, err := seals.CAFromPKCS12(data, "wrong"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("wrong password: got %v, want %s", err, certseal.EInvalid)
	}
}
