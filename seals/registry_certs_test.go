package seals_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"

	"certseal"
	"certseal/internal/store"
)

// TestRecordUseHex: the registry records a seal use from the document's SHA-256 in hexadecimal
// (as certificates keep it), and refuses anything that is not 64 hexadecimal digits, writing
// nothing.
func TestRecordUseHex(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	sum := sha256.Sum256([]byte("证照"))
	good := hex.EncodeToString(sum[:])
	for name, c := range map[string]struct {
		hash, code string
	}{
		"hex":          {good, ""},
		"upper case":   {strings.ToUpper(good), ""},
		"short":        {good[:62], certseal.EInvalid},
		"long":         {good + "00", certseal.EInvalid},
		"not hex":      {strings.Repeat("zz", 32), certseal.EInvalid},
		"empty":        {"", certseal.EInvalid},
		"odd, partial": {good[:63], certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			before, _, _ := e.reg.Uses(ctx, s.ID, "", 100)
			err := e.db.Update(func(tx *store.Tx) error {
				return e.reg.RecordUseTx(tx, e.clock.Now(), e.lizhou, s.ID, c.hash, "电子证照签章", "certificate/C1")
			})
			after, _, _ := e.reg.Uses(ctx, s.ID, "", 100)
			if c.code != "" {
				wantCode(t, err, c.code)
				if len(after) != len(before) {
					t.Error("a refused use was recorded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before)+1 || after[0].DocSHA256 != good || after[0].ObjectID != "certificate/C1" {
				t.Errorf("recorded %+v, want the hash %s", after, good)
			}
		})
	}
}

// TestSignStatusList: the status list's signature verifies with the root CA's public key from
// the certificate returned with it, and not over other data.
func TestSignStatusList(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	data := []byte(`{"type":"BitstringStatusListCredential"}`)
	sig, certPEM, err := e.reg.SignStatusList(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(certPEM)
	if b == nil {
		t.Fatalf("signer certificate is not PEM: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil || !cert.Equal(ca.Cert) {
		t.Fatalf("signer certificate is not the root CA: %v", err)
	}
	pub := cert.PublicKey.(*ecdsa.PublicKey)
	sum := sha256.Sum256(data)
	if !ecdsa.VerifyASN1(pub, sum[:], sig) {
		t.Error("the signature does not verify with the CA's key")
	}
	other := sha256.Sum256(append(data, ' '))
	if ecdsa.VerifyASN1(pub, other[:], sig) {
		t.Error("the signature verifies over other data")
	}
}
