package seals_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/seals"

	"github.com/emmansun/gmsm/smx509"
)

// TestRenewECDSA renews an ECDSA seal: a new key and certificate until the new date, the old
// certificate kept; a PDF signed before still validates as the seal's, one signed after uses
// the new certificate; the audit log has seal.renew; revoking afterwards lists both serials.
func TestRenewECDSA(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s := e.create(t, e.lizhouSeal())
	signTime := regStart.Add(time.Hour)
	e.clock.Set(signTime)
	g, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, signTime)
	if err != nil {
		t.Fatal(err)
	}
	before, err := seals.SignPDF(gofpdfDoc(t), g.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", signTime))
	if err != nil {
		t.Fatal(err)
	}

	// Refusals.
	newEnd := s.ValidTo.AddDate(2, 0, 0)
	_, err = e.reg.Renew(ctx, e.lizhou, s.ID, newEnd, "到期续期")
	wantCode(t, err, certseal.EForbidden)
	_, err = e.reg.Renew(ctx, e.admin, s.ID, newEnd, " ")
	wantCode(t, err, certseal.EInvalid)
	_, err = e.reg.Renew(ctx, e.admin, s.ID, s.ValidTo, "到期续期")
	wantCode(t, err, certseal.EInvalid)
	if ce, ok := err.(*certseal.Error); !ok || ce.Detail["field"] != "valid_to" {
		t.Errorf("error %#v has no valid_to field detail", err)
	}
	_, err = e.reg.Renew(ctx, e.admin, "ES510802999999", newEnd, "到期续期")
	wantCode(t, err, certseal.ENotFound)

	renewAt := signTime.Add(24 * time.Hour)
	e.clock.Set(renewAt)
	r, err := e.reg.Renew(ctx, e.admin, s.ID, newEnd, "到期续期")
	if err != nil {
		t.Fatal(err)
	}
	if r.CertSerial == s.CertSerial || bytes.Equal(r.Certificate, s.Certificate) || !r.ValidTo.Equal(newEnd.UTC()) || !r.ValidFrom.Equal(s.ValidFrom) {
		t.Errorf("renewed: serial %s (was %s), valid %v..%v", r.CertSerial, s.CertSerial, r.ValidFrom, r.ValidTo)
	}
	if len(r.Earlier) != 1 || r.Earlier[0].Serial != s.CertSerial || !bytes.Equal(r.Earlier[0].Certificate, s.Certificate) || !r.Earlier[0].ReplacedAt.Equal(renewAt) {
		t.Errorf("earlier: %+v", r.Earlier)
	}
	nc, err := x509.ParseCertificate(r.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.reg.CA(ctx)
	if err := nc.CheckSignatureFrom(ca.Cert); err != nil || !nc.NotAfter.Equal(newEnd) {
		t.Errorf("new certificate: %v, not after %v", err, nc.NotAfter)
	}
	oc, _ := x509.ParseCertificate(s.Certificate)
	if publicKeysSame(oc, nc) {
		t.Error("the renewed seal kept its key pair")
	}

	// The PDF signed before the renewal is still the seal's.
	reps, err := e.reg.ValidateWithStatus(ctx, before)
	if err != nil || len(reps) != 1 {
		t.Fatalf("validate: %v %+v", err, reps)
	}
	if rp := reps[0]; !rp.Valid || !rp.Trusted || !rp.Registered || rp.StatusAtSigning != seals.StatusActive || rp.StatusNow != seals.StatusActive || len(rp.Problems) != 0 {
		t.Errorf("signed before the renewal: %+v", rp)
	}
	// A new signature uses the new certificate and key.
	g2, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, renewAt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(g2.Cert.Raw, r.Certificate) || !publicKeysSameKey(g2.Signer.Public(), nc) {
		t.Error("SignerFor after the renewal does not give the new certificate and key")
	}
	after, err := seals.SignPDF(gofpdfDoc(t), g2.Options(1, [4]float64{380, 80, 500, 200}, "电子证照签章", renewAt))
	if err != nil {
		t.Fatal(err)
	}
	reps, err = e.reg.ValidateWithStatus(ctx, after)
	if err != nil || len(reps) != 1 || !reps[0].Registered || reps[0].Serial != r.CertSerial || len(reps[0].Problems) != 0 {
		t.Errorf("signed after the renewal: %v %+v", err, reps)
	}

	// The audit event.
	var ev *audit.Event
	if err := e.db.View(func(tx *store.Tx) error {
		evs, _, err := audit.List(tx, audit.Filter{Action: "seal.renew"}, 0, 10)
		if len(evs) == 1 {
			ev = &evs[0]
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ev == nil || ev.Object != s.ID || !strings.Contains(string(ev.Detail), s.CertSerial) || !strings.Contains(string(ev.Detail), r.CertSerial) || !strings.Contains(string(ev.Detail), "到期续期") {
		t.Errorf("audit seal.renew: %+v", ev)
	}

	// Revoked after the renewal: both certificates in the CRL, the old PDF revoked now.
	e.clock.Set(renewAt.Add(time.Hour))
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	crl, err := e.reg.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseRevocationList(crl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range l.RevokedCertificateEntries {
		got[x.SerialNumber.Text(16)] = true
	}
	if len(got) != 2 || !got[s.CertSerial] || !got[r.CertSerial] {
		t.Errorf("CRL lists %v, want %s and %s", got, s.CertSerial, r.CertSerial)
	}
	reps, err = e.reg.ValidateWithStatus(ctx, before)
	if err != nil || len(reps) != 1 || reps[0].StatusNow != seals.StatusRevoked || !strings.Contains(strings.Join(reps[0].Problems, ";"), "吊销") {
		t.Errorf("old PDF after revocation: %v %+v", err, reps)
	}
	_, err = e.reg.Renew(ctx, e.admin, s.ID, newEnd.AddDate(1, 0, 0), "续期")
	wantCode(t, err, certseal.EConflict)

	t.Run("openssl", func(t *testing.T) {
		fixtures.NeedTool(t, "openssl", "openssl")
		f := filepath.Join(t.TempDir(), "crl.der")
		os.WriteFile(f, crl, 0o600)
		out, ok := openssl(t, "crl", "-inform", "DER", "-in", f, "-noout", "-text")
		if !ok || !strings.Contains(strings.ToUpper(out), strings.ToUpper(s.CertSerial)) || !strings.Contains(strings.ToUpper(out), strings.ToUpper(r.CertSerial)) {
			t.Errorf("openssl crl -text:\n%s", out)
		}
	})
}

func publicKeysSame(a, b *x509.Certificate) bool { return publicKeysSameKey(a.PublicKey, b) }

func publicKeysSameKey(pub any, c *x509.Certificate) bool {
	k, ok := pub.(interface{ Equal(x crypto.PublicKey) bool })
	return ok && k.Equal(c.PublicKey)
}

// TestRenewSM2 renews an SM2 seal: the SESeal is made again with the new certificate and
// validity (and OpenSSL checks its maker signature); a SES_Signature made before verifies, and
// after the seal is revoked it is revoked; the SM2 CRL lists both serials.
func TestRenewSM2(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	hash := docHash("食品经营许可证 JY25108020000016")
	at := regStart.Add(time.Hour)
	e.clock.Set(at)
	old, err := g.SignSES(hash, at, "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	renewAt := at.Add(24 * time.Hour)
	e.clock.Set(renewAt)
	newEnd := s.ValidTo.AddDate(2, 0, 0)
	r, err := e.reg.Renew(ctx, e.admin, s.ID, newEnd, "到期续期")
	if err != nil {
		t.Fatal(err)
	}
	if r.CertSerial == s.CertSerial || len(r.Earlier) != 1 || r.Earlier[0].Serial != s.CertSerial {
		t.Fatalf("renewed: %+v", r)
	}
	der, _, err := e.reg.ESeal(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(der, g.ESeal) {
		t.Fatal("the SESeal was not made again")
	}
	es, err := seals.ParseESeal(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(es.Certs) != 1 || !bytes.Equal(es.Certs[0], r.Certificate) || !es.ValidEnd.Equal(newEnd) || !es.ValidStart.Equal(renewAt) || !es.CreateDate.Equal(renewAt) {
		t.Errorf("SESeal after renewal: valid %v..%v created %v, holds the new certificate %v", es.ValidStart, es.ValidEnd, es.CreateDate, len(es.Certs) == 1 && bytes.Equal(es.Certs[0], r.Certificate))
	}
	if v, err := e.reg.VerifyESeal(ctx, der); err != nil || !v.OK || !v.Registered {
		t.Errorf("VerifyESeal after renewal: %+v, %v", v, err)
	}
	if v, err := e.reg.VerifyESeal(ctx, g.ESeal); err != nil || !v.OK || !v.Registered {
		t.Errorf("VerifyESeal of the SESeal before renewal: %+v, %v", v, err)
	}
	ca, _ := e.reg.SM2CA(ctx)
	dir := t.TempDir()
	if out, ok := pkeyVerify(t, dir, pubPEMOf(t, ca.Cert.Raw), es.SealInfoDER(), es.SignedValue); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of the renewed SESeal's maker signature:\n%s", out)
	}

	// The old signature still verifies, as the registered seal's.
	if v, err := e.reg.VerifySES(ctx, old, hash); err != nil || !v.OK || !v.Registered {
		t.Errorf("a SES_Signature made before the renewal: %+v, %v", v, err)
	}
	// A new one carries the new SESeal and certificate.
	g2, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, renewAt)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := g2.SignSES(hash, renewAt, "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := seals.ParseSES(sig)
	if err != nil || !bytes.Equal(p.Cert, r.Certificate) || !bytes.Equal(p.ESeal.Raw, der) {
		t.Errorf("signature after renewal: %v, new certificate and SESeal: %v", err, err == nil && bytes.Equal(p.Cert, r.Certificate))
	}
	if v, err := e.reg.VerifySES(ctx, sig, hash); err != nil || !v.OK || !v.Registered || v.Cert.SerialNumber.Text(16) != r.CertSerial {
		t.Errorf("a SES_Signature made after the renewal: %+v, %v", v, err)
	}

	// Revoked: the old signature is revoked too, and the SM2 CRL lists both.
	e.clock.Set(renewAt.Add(time.Hour))
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string][]byte{"old": old, "new": sig} {
		if v, err := e.reg.VerifySES(ctx, d, hash); err != nil || v.Code != seals.SESRevoked {
			t.Errorf("%s signature after revocation: %+v, %v; want %s", name, v, err, seals.SESRevoked)
		}
	}
	crl, err := e.reg.SM2CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := smx509.ParseRevocationList(crl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, x := range rl.RevokedCertificateEntries {
		got[x.SerialNumber.Text(16)] = true
	}
	if len(got) != 2 || !got[s.CertSerial] || !got[r.CertSerial] {
		t.Errorf("SM2 CRL lists %v, want %s and %s", got, s.CertSerial, r.CertSerial)
	}
	out, ok := openssl(t, "crl", "-inform", "DER", "-in", writeFile(t, dir, "crl.der", crl), "-noout", "-text")
	if !ok || !strings.Contains(strings.ToUpper(out), strings.ToUpper(s.CertSerial)) || !strings.Contains(strings.ToUpper(out), strings.ToUpper(r.CertSerial)) {
		t.Errorf("openssl crl -text:\n%s", out)
	}
}

// TestRenewRacesScan uploads a scan while a renewal is between making its SESeal and storing
// it: the scan wins, the renewal gets EConflict and stores nothing; renewed again, the SESeal
// shows the scan. (The other order, a scan whose SESeal was made before a renewal, is refused by
// updateScan's UpdatedAt check, which TestScanRemakesESeal's code path shares.)
func TestRenewRacesScan(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, _ := e.sm2Seal(t)
	pic, _, err := e.reg.Picture(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	scan, err := pic.PNG(4)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(regStart.Add(time.Second))
	var scanErr error
	seals.SetRenewHook(e.reg, func() { _, scanErr = e.reg.SetScan(ctx, e.admin, s.ID, scan) })
	_, err = e.reg.Renew(ctx, e.admin, s.ID, s.ValidTo.AddDate(1, 0, 0), "到期续期")
	wantCode(t, err, certseal.EConflict)
	if scanErr != nil {
		t.Fatalf("the scan upload: %v", scanErr)
	}
	cur, err := e.reg.Get(ctx, s.ID)
	if err != nil || cur.CertSerial != s.CertSerial || len(cur.Earlier) != 0 || !cur.HasScan {
		t.Errorf("after the lost renewal: %v %+v", err, cur)
	}
	seals.SetRenewHook(e.reg, nil)
	// Now the renewal (from the record with the scan) succeeds, and its SESeal shows the scan.
	e.clock.Set(regStart.Add(2 * time.Second))
	r, err := e.reg.Renew(ctx, e.admin, s.ID, s.ValidTo.AddDate(1, 0, 0), "到期续期")
	if err != nil {
		t.Fatal(err)
	}
	der, _, _ := e.reg.ESeal(ctx, s.ID)
	if es, err := seals.ParseESeal(der); err != nil || !bytes.Equal(es.Picture, scan) || !bytes.Equal(es.Certs[0], r.Certificate) {
		t.Errorf("SESeal after renewal with a scan: %v", err)
	}
}
