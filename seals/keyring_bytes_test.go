package seals_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/seals"
)

// TestKeyringBytes: a secret sealed with SealBytes (webhook keys) opens only under the same
// master key, is never stored in clear, is never taken for a sealed private key, and any damage
// is refused.
func TestKeyringBytes(t *testing.T) {
	keyring := func() *seals.Keyring {
		master := make([]byte, seals.MasterKeySize)
		rand.Read(master)
		k, err := seals.NewKeyring(master)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, other := keyring(), keyring()
	secret := []byte("0123456789abcdef0123456789abcdef")
	sealed, err := k.SealBytes(secret)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := k.SealBytes(secret)
	if bytes.Contains(sealed, secret) || bytes.Equal(sealed, again) || !seals.IsSealedBytes(sealed) {
		t.Fatalf("sealed %x: contains the secret or repeats its nonce", sealed)
	}
	if got, err := k.OpenBytes(sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q %v", got, err)
	}
	if empty, err := k.SealBytes(nil); err != nil {
		t.Fatal(err)
	} else if got, err := k.OpenBytes(empty); err != nil || len(got) != 0 {
		t.Errorf("an empty secret: %q %v", got, err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	priv, err := seals.NewSealKey()
	if err != nil {
		t.Fatal(err)
	}
	sealedKey, err := k.Seal(priv)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		k    *seals.Keyring
		data []byte
		code string
	}{
		"another master key": {other, sealed, certseal.EForbidden},
		"changed ciphertext": {k, flip(len(sealed) - 1), certseal.EInvalid},
		"changed nonce":      {k, flip(9), certseal.EInvalid},
		"changed check":      {k, flip(5), certseal.EForbidden},
		"changed magic":      {k, flip(0), certseal.EInvalid},
		"truncated":          {k, sealed[:20], certseal.EInvalid},
		"empty":              {k, nil, certseal.EInvalid},
		"a sealed key":       {k, sealedKey, certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.k.OpenBytes(tc.data)
			wantCode(t, err, tc.code)
			if got != nil {
				t.Errorf("returned %q with the error", got)
			}
		})
	}
	if seals.IsSealedBytes(sealedKey) || seals.IsSealedBytes([]byte("CSB1")) {
		t.Error("a sealed key or a bare magic is taken for a sealed secret")
	}
	if _, err := k.Open(sealed); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("a sealed secret opened as a key: %v", err)
	}
}

// TestRegistryImportCAPKCS12: an administrator imports the root CA from a PKCS#12 file (made by
// openssl) while no seal exists; the wrong password and another role are refused.
func TestRegistryImportCAPKCS12(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	e := newRegEnv(t)
	ctx := context.Background()
	own, err := seals.NewCA("广元市导入根证书", regStart.Add(-time.Hour), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(own.Signer)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), own.CertificatePEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	p12 := filepath.Join(dir, "ca.p12")
	if out, err := exec.Command("openssl", "pkcs12", "-export", "-in", filepath.Join(dir, "ca.pem"), "-inkey", filepath.Join(dir, "key.pem"),
		"-out", p12, "-passout", "pass:secret", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs12: %v\n%s", err, out)
	}
	data, err := os.ReadFile(p12)
	if err != nil {
		t.Fatal(err)
	}
	before := e.backup(t)
	wantCode(t, e.reg.ImportCAPKCS12(ctx, e.admin, data, "wrong"), certseal.EInvalid)
	wantCode(t, e.reg.ImportCAPKCS12(ctx, e.lizhou, data, "secret"), certseal.EForbidden)
	if !bytes.Equal(before, e.backup(t)) {
		t.Error("a refused import wrote to the database")
	}
	if err := e.reg.ImportCAPKCS12(ctx, e.admin, data, "secret"); err != nil {
		t.Fatal(err)
	}
	if ca, err := e.reg.CA(ctx); err != nil || !ca.Cert.Equal(own.Cert) {
		t.Fatalf("CA after import: %v", err)
	}
	e.create(t, e.lizhouSeal())
	wantCode(t, e.reg.ImportCAPKCS12(ctx, e.admin, data, "secret"), certseal.EConflict)
}
