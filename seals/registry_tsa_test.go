package seals_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/internal/tsa"
	"certseal/seals"
)

// TestBuiltinTSA: the registry's authority has a certificate from the city CA with the
// critical EKU id-kp-timeStamping alone; its serials only grow, also across a reopening of the
// registry on the same database; its creation is kept.
func TestBuiltinTSA(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.reg.CA(ctx)
	if err := a.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Fatal(err)
	}
	critical := false
	for _, x := range a.Cert.Extensions {
		if x.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = x.Critical
		}
	}
	if !critical || len(a.Cert.ExtKeyUsage) != 1 || a.Cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || a.Cert.Subject.CommonName != seals.TSAName {
		t.Errorf("TSA certificate: critical %v, EKU %v, CN %q", critical, a.Cert.ExtKeyUsage, a.Cert.Subject.CommonName)
	}
	sum := sha256.Sum256([]byte("x"))
	serial := func(a *tsa.Authority) *big.Int {
		tok, err := a.Timestamp(ctx, tsa.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		info, err := tsa.Verify(tok, tsa.SHA256, sum[:], roots)
		if err != nil || !info.Trusted || !info.Time.Equal(e.clock.Now().UTC().Truncate(time.Second)) {
			t.Fatalf("token: %+v %v", info, err)
		}
		return info.Serial
	}
	s1, s2 := serial(a), serial(a)
	if s2.Cmp(s1) <= 0 {
		t.Errorf("serials %v then %v", s1, s2)
	}
	// A second registry on the same database (a restart) opens the same key and goes on above.
	keys, _ := seals.NewKeyring(e.master)
	reg2, err := seals.NewRegistry(e.db, keys, e.clock)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := reg2.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !a2.Cert.Equal(a.Cert) {
		t.Error("the reopened registry made a new TSA certificate")
	}
	if s3 := serial(a2); s3.Cmp(s2) <= 0 {
		t.Errorf("after reopening: serial %v, not above %v", s3, s2)
	}
	var n int
	e.db.View(func(tx *store.Tx) error {
		return tx.Scan(audit.Events, nil, nil, func(_, v []byte) error {
			if strings.Contains(string(v), "\"tsa.create\"") {
				n++
			}
			return nil
		})
	})
	if n != 1 {
		t.Errorf("%d tsa.create audit events, want 1", n)
	}
}

// TestVerifyAtSealingTime: a seal signs at B-LT through the registry; years later, past the
// seal certificate's expiry, and after the seal's revocation, the timestamp keeps the seal
// active at signing; a signature made (with the seal's key) after the revocation is at
// revoked status, by its proven time, whatever its claimed time.
func TestVerifyAtSealingTime(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.SetLongTerm(seals.LevelBLT, a, nil)
	s := e.create(t, e.lizhouSeal())
	signTime := regStart.Add(24 * time.Hour)
	e.clock.Set(signTime)
	g, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, signTime)
	if err != nil {
		t.Fatal(err)
	}
	if g.LongTerm == nil || g.LongTerm.Level != seals.LevelBLT || len(g.LongTerm.CRLs) != 1 {
		t.Fatalf("signing's long term: %+v", g.LongTerm)
	}
	signed, err := seals.SignPDF(gofpdfDoc(t), g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", signTime))
	if err != nil {
		t.Fatal(err)
	}
	// Revoke, then sign again with the seal's key at a claimed time before the revocation.
	e.clock.Set(signTime.Add(48 * time.Hour))
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(signTime.Add(72 * time.Hour))
	late := g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", signTime) // claims the old time
	lateSigned, err := seals.SignPDF(gofpdfDoc(t), late)
	if err != nil {
		t.Fatal(err)
	}
	// Six years on: the seal certificate (five years) has expired.
	e.clock.Set(signTime.AddDate(6, 0, 0))
	reps, err := e.reg.ValidateWithStatus(ctx, signed)
	if err != nil || len(reps) != 1 {
		t.Fatalf("%+v %v", reps, err)
	}
	r := reps[0]
	if !r.Valid || !r.Trusted || r.Modified || r.Level != seals.LevelBLT || r.StatusAtSigning != seals.StatusActive || r.CertValidNow || !r.CertValidAtSigning ||
		!r.Timestamp.Equal(signTime.UTC()) || r.TSA != seals.TSAName {
		t.Errorf("six years on: %+v", r)
	}
	reps, err = e.reg.ValidateWithStatus(ctx, lateSigned)
	if err != nil || len(reps) != 1 {
		t.Fatalf("%+v %v", reps, err)
	}
	if r := reps[0]; !r.Valid || r.StatusAtSigning != seals.StatusRevoked || !r.Timestamp.Equal(signTime.Add(72*time.Hour).UTC()) {
		t.Errorf("signed after the revocation: status at signing %s, proven %v; want revoked at %v", r.StatusAtSigning, r.Timestamp, signTime.Add(72*time.Hour))
	}
}
