package seals_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/seals"

	"github.com/emmansun/gmsm/sm3"
)

// TestSESTimestamp: with the built-in TSA configured, an SM2 seal's SES_Signature carries a
// timeStamp over the SM3 of its signature value; it still verifies as an SES_Signature, the
// token verifies (and OpenSSL checks it over the signature value with the SM3 imprint); with a
// TSA that fails nothing is signed; without a TSA there is no timeStamp.
func TestSESTimestamp(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.reg.SetLongTerm(seals.LevelBLT, a, nil)
	_, g := e.sm2Seal(t)
	if g.LongTerm == nil {
		t.Fatal("the SM2 signing has no long-term set-up")
	}
	hash := docHash("doc")
	at := regStart.Add(time.Hour)
	der, err := g.SignSESTimestamped(ctx, hash, at, "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	s, err := seals.ParseSES(der)
	if err != nil || s.TimeStamp == nil {
		t.Fatalf("parse: %v, timeStamp %d bytes", err, len(s.TimeStamp))
	}
	v, err := e.reg.VerifySES(ctx, der, hash)
	if err != nil || !v.OK {
		t.Fatalf("VerifySES: %+v %v", v, err)
	}
	info, err := e.reg.SESTimestamp(ctx, der)
	if err != nil || info == nil || info.TSAName() != seals.TSAName || !info.Time.Equal(e.clock.Now().UTC().Truncate(time.Second)) {
		t.Fatalf("timestamp: %+v %v", info, err)
	}
	// Another signature, to show the token is bound to its own signature value.
	other, _ := g.SignSESTimestamped(ctx, docHash("other"), at, "certificate.ofd")
	so, _ := seals.ParseSES(other)
	if sm3.Sum(so.Signature) == sm3.Sum(s.Signature) {
		t.Fatal("two signatures alike")
	}

	openssl := fixtures.NeedTool(t, "openssl", "openssl")
	dir := t.TempDir()
	ca, _ := e.reg.CA(ctx)
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertificatePEM(), 0o600)
	os.WriteFile(filepath.Join(dir, "tok"), s.TimeStamp, 0o600)
	os.WriteFile(filepath.Join(dir, "sig"), s.Signature, 0o600)
	os.WriteFile(filepath.Join(dir, "othersig"), so.Signature, 0o600)
	out, err := exec.Command(openssl, "ts", "-verify", "-data", filepath.Join(dir, "sig"), "-in", filepath.Join(dir, "tok"), "-token_in", "-CAfile", filepath.Join(dir, "ca.pem")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Verification: OK") {
		t.Errorf("openssl ts -verify (SM3 imprint): %v\n%s", err, out)
	}
	if out, err := exec.Command(openssl, "ts", "-verify", "-data", filepath.Join(dir, "othersig"), "-in", filepath.Join(dir, "tok"), "-token_in", "-CAfile", filepath.Join(dir, "ca.pem")).CombinedOutput(); err == nil {
		t.Errorf("openssl verified the token over another signature value: %s", out)
	}

	// A TSA that fails: no signature.
	g.LongTerm = &seals.LongTerm{Level: seals.LevelBLT, TSA: &failingTSA{}}
	if der, err := g.SignSESTimestamped(ctx, hash, at, "certificate.ofd"); der != nil || certseal.ErrorCode(err) != certseal.EUnavailable {
		t.Errorf("failing TSA: %d bytes, %v", len(der), err)
	}
	// No TSA: no timeStamp.
	g.LongTerm = nil
	der, err = g.SignSESTimestamped(ctx, hash, at, "certificate.ofd")
	if s, _ := seals.ParseSES(der); err != nil || s.TimeStamp != nil {
		t.Errorf("without a TSA: %v, timeStamp %v", err, s)
	}
}
