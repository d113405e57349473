package seals_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"hash"
	"io"
	"testing"
	"time"

	"certseal"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/seals"
)

func TestAlgorithmByName(t *testing.T) {
	for _, tc := range []struct {
		name, want, code string
	}{
		{"", seals.AlgECDSAP256, ""},
		{"ecdsa-p256", seals.AlgECDSAP256, ""},
		{"sm2", seals.AlgSM2, ""},
		{"SM2", "", certseal.EInvalid},
		{"rsa-sha256", "", certseal.EInvalid},
		{"ECDSA-P256", "", certseal.EInvalid},
	} {
		a, err := seals.AlgorithmByName(tc.name)
		if tc.code != "" {
			wantCode(t, err, tc.code)
			continue
		}
		if err != nil || a.Name() != tc.want {
			t.Errorf("AlgorithmByName(%q) = %v, %v; want %s", tc.name, a, err, tc.want)
		}
	}
}

func TestECDSAP256(t *testing.T) {
	a := seals.ECDSAP256
	key, err := a.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := key.Public().(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() || !a.Accepts(k) {
		t.Fatalf("NewKey made a %T, want an accepted P-256 key", key.Public())
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if a.Accepts(p384.Public()) {
		t.Error("ecdsa-p256 accepts a P-384 key")
	}
	if a.NewHash().Size() != 32 || a.DigestAlgorithm().Algorithm.String() != "2.16.840.1.101.3.4.2.1" ||
		a.SignatureAlgorithm().Algorithm.String() != "1.2.840.10045.4.3.2" {
		t.Errorf("identifiers: digest %v, signature %v", a.DigestAlgorithm().Algorithm, a.SignatureAlgorithm().Algorithm)
	}
	msg := []byte("signed attributes")
	sig, err := a.Sign(rand.Reader, key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(key.Public(), msg, sig); err != nil {
		t.Errorf("Verify of a good signature: %v", err)
	}
	bad := append([]byte(nil), msg...)
	bad[0] ^= 1
	if a.Verify(key.Public(), bad, sig) == nil {
		t.Error("Verify accepts a signature over another message")
	}
	if a.Verify(p384.Public(), msg, sig) == nil {
		t.Error("Verify accepts a P-384 key")
	}
}

// countingAlg is ECDSAP256 that counts its uses, to see SignPDF goes through the Algorithm.
type countingAlg struct {
	seals.Algorithm
	signs, hashes int
	refuse        bool
}

func (c *countingAlg) Accepts(pub crypto.PublicKey) bool {
	return !c.refuse && c.Algorithm.Accepts(pub)
}
func (c *countingAlg) NewHash() hash.Hash { c.hashes++; return c.Algorithm.NewHash() }
func (c *countingAlg) Sign(r io.Reader, k crypto.Signer, msg []byte) ([]byte, error) {
	c.signs++
	return c.Algorithm.Sign(r, k, msg)
}

func TestSignPDFUsesTheAlgorithm(t *testing.T) {
	f := newFixture(t)
	alg := &countingAlg{Algorithm: seals.ECDSAP256}
	o := f.opts()
	o.Algorithm = alg
	signed, err := seals.SignPDF(gofpdfDoc(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if alg.signs != 1 || alg.hashes != 1 {
		t.Errorf("SignPDF signed %d and hashed %d times with the seal's algorithm, want 1 and 1", alg.signs, alg.hashes)
	}
	reps, err := seals.ValidatePDF(signed, f.roots(), signAt)
	if err != nil || len(reps) != 1 || !reps[0].Valid {
		t.Fatalf("reports %+v, %v; want one valid signature", reps, err)
	}
	alg.refuse = true
	_, err = seals.SignPDF(gofpdfDoc(t), o)
	wantCode(t, err, certseal.EInvalid)
}

// TestSealAlgorithm checks a seal records its algorithm, that a record stored before seals had
// one reads as ecdsa-p256 and signs, and that an unknown algorithm is refused.
func TestSealAlgorithm(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	now := regStart.Add(time.Hour)
	e.clock.Set(now)
	s := e.create(t, e.lizhouSeal())
	if s.Algorithm != seals.AlgECDSAP256 {
		t.Errorf("new seal's algorithm %q, want %s", s.Algorithm, seals.AlgECDSAP256)
	}
	n := e.lizhouSeal()
	n.Code, n.Algorithm = "5108020000009", "sm3"
	_, err := e.reg.Create(ctx, e.admin, n)
	wantCode(t, err, certseal.EInvalid)

	// Rewrite the record as an older version stored it: without the field.
	var rec map[string]any
	raw, _ := json.Marshal(s)
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "algorithm")
	old, _ := json.Marshal(rec)
	if err := e.db.Update(func(tx *store.Tx) error { return tx.Put(seals.BucketSeals, []byte(s.ID), old) }); err != nil {
		t.Fatal(err)
	}
	got, err := e.reg.Get(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Algorithm != seals.AlgECDSAP256 {
		t.Errorf("old record's algorithm %q, want %s", got.Algorithm, seals.AlgECDSAP256)
	}
	list, _, err := e.reg.List(ctx, seals.SealFilter{}, "", 10)
	if err != nil || len(list) != 1 || list[0].Algorithm != seals.AlgECDSAP256 {
		t.Errorf("List: %d seals, %v; want the old record as %s", len(list), err, seals.AlgECDSAP256)
	}
	g, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, now)
	if err != nil {
		t.Fatal(err)
	}
	if g.Algorithm != seals.ECDSAP256 {
		t.Errorf("SignerFor's algorithm %v, want ecdsa-p256", g.Algorithm)
	}
	if _, err := seals.SignPDF(gofpdfDoc(t), g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", now)); err != nil {
		t.Fatal(err)
	}
}
