package seals_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"certseal"
	"certseal/internal/demo"
	"certseal/seals"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// sm2Seal registers 利州区's dedicated approval seal as an SM2 seal and returns it with what
// signing with it needs.
func (e *regEnv) sm2Seal(t testing.TB) (seals.Seal, *seals.Signing) {
	t.Helper()
	n := e.lizhouSeal()
	n.Algorithm = seals.AlgSM2
	s := e.create(t, n)
	g, err := e.reg.SignerFor(context.Background(), e.lizhou, s.ID, demo.TypeFood, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s, g
}

func docHash(doc string) []byte {
	sum := sm3.Sum([]byte(doc))
	return sum[:]
}

// TestSM3KnownAnswer is GB/T 32905's example: SM3("abc").
func TestSM3KnownAnswer(t *testing.T) {
	h := seals.SM2.NewHash()
	h.Write([]byte("abc"))
	got := hex.EncodeToString(h.Sum(nil))
	if want := "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"; got != want {
		t.Errorf("SM3(abc) = %s, want %s", got, want)
	}
}

func TestSM2Seal(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	if s.Algorithm != seals.AlgSM2 || g.Algorithm != seals.SM2 {
		t.Fatalf("algorithm: seal %q, signing %v", s.Algorithm, g.Algorithm)
	}
	cert, err := smx509.ParseCertificate(s.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := e.reg.SM2CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cert.SignatureAlgorithm != smx509.SM2WithSM3 || !seals.SM2.Accepts(cert.PublicKey) {
		t.Errorf("seal certificate: signature %v, key %T", cert.SignatureAlgorithm, cert.PublicKey)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("seal certificate not signed by the SM2 CA: %v", err)
	}
	if ca.Cert.Subject.CommonName != seals.SM2CAName || !bytes.Equal(g.Chain[0].Raw, ca.Cert.Raw) {
		t.Errorf("SM2 CA %q; chain %v", ca.Cert.Subject.CommonName, g.Chain[0].Subject)
	}
	// The ECDSA CA did not issue it.
	ecdsaCA, _ := e.reg.CA(ctx)
	if bytes.Equal(ecdsaCA.Cert.Raw, ca.Cert.Raw) {
		t.Error("the SM2 CA is the ECDSA CA")
	}
	// The SESeal: the seal's data, signed by the maker (the SM2 CA), holding the seal certificate.
	es, err := seals.ParseESeal(g.ESeal)
	if err != nil {
		t.Fatal(err)
	}
	if es.Version != 4 || es.ESID != s.ID || es.Name != s.Name || es.CertListType != 1 || len(es.Certs) != 1 ||
		!bytes.Equal(es.Certs[0], s.Certificate) || !bytes.Equal(es.MakerCert, ca.Cert.Raw) || es.PictureType != "PNG" ||
		!bytes.HasPrefix(es.Picture, []byte("\x89PNG")) || es.WidthMM != 42 || es.HeightMM != 42 {
		t.Errorf("SESeal: %+v", es)
	}
	if !es.ValidStart.Equal(s.ValidFrom.Truncate(time.Second)) || !es.ValidEnd.Equal(s.ValidTo.Truncate(time.Second)) {
		t.Errorf("SESeal validity %v – %v, seal %v – %v", es.ValidStart, es.ValidEnd, s.ValidFrom, s.ValidTo)
	}
	if err := seals.SM2.Verify(ca.Cert.PublicKey, es.SealInfoDER(), es.SignedValue); err != nil {
		t.Errorf("the maker's signature: %v", err)
	}
	der, got, err := e.reg.ESeal(ctx, s.ID)
	if err != nil || !bytes.Equal(der, g.ESeal) || got.ID != s.ID {
		t.Errorf("ESeal: %v, %d bytes", err, len(der))
	}
	// One physical seal may have both algorithms: the same code as an ECDSA seal.
	ec := e.create(t, e.lizhouSeal())
	if ec.Code != s.Code || ec.Algorithm != seals.AlgECDSAP256 {
		t.Errorf("ECDSA twin: %+v", ec)
	}
	_, _, err = e.reg.ESeal(ctx, ec.ID)
	wantCode(t, err, certseal.ENotFound)
	// But not two SM2 seals with one code.
	n := e.lizhouSeal()
	n.Algorithm = seals.AlgSM2
	_, err = e.reg.Create(ctx, e.admin, n)
	wantCode(t, err, certseal.EConflict)
}

func TestSignAndVerifySES(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	at := regStart.Add(time.Hour)
	e.clock.Set(at)
	hash := docHash("食品经营许可证 JY25108020000016")
	der, err := g.SignSES(hash, at, "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.reg.VerifySES(ctx, der, hash)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || v.Code != seals.SESValid || !v.SignedAt.Equal(at) || v.SealID != s.ID || v.SealName != s.Name ||
		v.SealCode != s.Code || !v.Registered || v.Cert == nil || v.Cert.SerialNumber.Text(16) != s.CertSerial {
		t.Fatalf("verdict %+v", v)
	}
	p, err := seals.ParseSES(der)
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 4 || !bytes.Equal(p.DataHash, hash) || p.PropertyInfo != "certificate.ofd" || !bytes.Equal(p.Cert, s.Certificate) ||
		!p.SignatureAlgID.Equal(seals.OIDSM2WithSM3) || !bytes.Equal(p.ESeal.Raw, g.ESeal) || p.TimeStamp != nil {
		t.Errorf("parsed: %+v", p)
	}
	if err := seals.SM2.Verify(v.Cert.PublicKey, p.TBSDER(), p.Signature); err != nil {
		t.Errorf("the signature over TBS_Sign: %v", err)
	}

	// Another document's digest.
	v, err = e.reg.VerifySES(ctx, der, docHash("另一份文件"))
	if err != nil || v.OK || v.Code != seals.SESHashMismatch {
		t.Errorf("other data: %+v, %v; want %s", v, err, seals.SESHashMismatch)
	}
}

// TestSESTampering flips one bit in the TBS_Sign (outside the seal), in the signature value and
// in the embedded seal's picture, and checks each gets its own verdict.
func TestSESTampering(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	_, g := e.sm2Seal(t)
	at := regStart.Add(time.Hour)
	hash := docHash("doc")
	der, err := g.SignSES(hash, at, "certseal-tamper-test.ofd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := seals.ParseSES(der)
	if err != nil {
		t.Fatal(err)
	}
	// at1 is the first place of sub: the seal's name first appears in its property information,
	// before the certificates that also hold it.
	at1 := func(sub []byte) int {
		i := bytes.Index(der, sub)
		if i < 0 {
			t.Fatalf("cannot place the flip")
		}
		return i
	}
	for _, tc := range []struct {
		name string
		off  int
		want string
	}{
		{"TBS propertyInfo", at1([]byte("certseal-tamper-test.ofd")) + 3, seals.SESBadSignature},
		{"TBS dataHash", at1(hash) + 7, seals.SESBadSignature},
		{"signature value", at1(p.Signature) + len(p.Signature) - 1, seals.SESBadSignature},
		{"embedded seal picture", at1(p.ESeal.Picture) + len(p.ESeal.Picture)/2, seals.SESBadESeal},
		{"embedded seal name", at1([]byte(p.ESeal.Name)) + 1, seals.SESBadESeal},
		{"maker signature", at1(p.ESeal.SignedValue) + len(p.ESeal.SignedValue) - 1, seals.SESBadESeal},
		{"length byte", 1, seals.SESBadStructure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := bytes.Clone(der)
			bad[tc.off] ^= 0x01
			v, err := e.reg.VerifySES(ctx, bad, hash)
			if err != nil {
				t.Fatal(err)
			}
			if v.OK || v.Code != tc.want || v.Message == "" {
				t.Errorf("got %s (%s), want %s", v.Code, v.Message, tc.want)
			}
		})
	}
	v, err := e.reg.VerifySES(ctx, append(bytes.Clone(der), 0), hash)
	if err != nil || v.Code != seals.SESBadStructure {
		t.Errorf("trailing byte: %+v, %v", v, err)
	}
}

func TestVerifySESRevokedAndExpired(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	hash := docHash("doc")
	// Signed before the seal's validity (the signer's claim) and after it.
	for _, at := range []time.Time{s.ValidFrom.Add(-48 * time.Hour), s.ValidTo.Add(time.Hour)} {
		der, err := g.SignSES(hash, at, "x")
		if err != nil {
			t.Fatal(err)
		}
		v, err := e.reg.VerifySES(ctx, der, hash)
		if err != nil || v.OK || (v.Code != seals.SESBadChain && v.Code != seals.SESSealNotValidAt) {
			t.Errorf("signed at %v: %+v, %v; want bad_chain or seal_not_valid_at_time", at, v, err)
		}
	}
	// Suspended at the signing time.
	at := regStart.Add(2 * time.Hour)
	e.clock.Set(regStart.Add(time.Hour))
	if _, err := e.reg.Suspend(ctx, e.admin, s.ID, "核查中"); err != nil {
		t.Fatal(err)
	}
	der, err := g.SignSES(hash, at, "x")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.reg.VerifySES(ctx, der, hash)
	if err != nil || v.Code != seals.SESSealNotValidAt {
		t.Errorf("suspended: %+v, %v; want %s", v, err, seals.SESSealNotValidAt)
	}
	// Revoked: every signature fails, whatever time it claims.
	e.clock.Set(regStart.Add(3 * time.Hour))
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	early, err := g.SignSES(hash, regStart.Add(time.Minute), "x")
	if err != nil {
		t.Fatal(err)
	}
	v, err = e.reg.VerifySES(ctx, early, hash)
	if err != nil || v.Code != seals.SESRevoked {
		t.Errorf("revoked: %+v, %v; want %s", v, err, seals.SESRevoked)
	}
	// The SM2 CRL lists it, signed with SM2; the ECDSA CRL does not.
	crlDER, err := e.reg.SM2CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := smx509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := e.reg.SM2CA(ctx)
	if err := crl.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("SM2 CRL signature: %v", err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Text(16) != s.CertSerial {
		t.Errorf("SM2 CRL lists %+v, want %s", crl.RevokedCertificateEntries, s.CertSerial)
	}
	ecdsaCRL, err := e.reg.CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, err := x509.ParseRevocationList(ecdsaCRL); err != nil || len(l.RevokedCertificateEntries) != 0 {
		t.Errorf("ECDSA CRL: %v, %+v; want no entries", err, l)
	}
}

func TestSignSESRefuses(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	ec := e.create(t, e.lizhouSeal())
	g, err := e.reg.SignerFor(ctx, e.lizhou, ec.ID, demo.TypeFood, regStart)
	if err != nil {
		t.Fatal(err)
	}
	if g.ESeal != nil {
		t.Error("an ECDSA seal has a SESeal")
	}
	_, err = g.SignSES(docHash("x"), regStart, "x")
	wantCode(t, err, certseal.EInvalid)
	_, sg := e.sm2Seal(t)
	for name, f := range map[string]func() ([]byte, error){
		"short hash":    func() ([]byte, error) { return sg.SignSES([]byte("short"), regStart, "x") },
		"zero time":     func() ([]byte, error) { return sg.SignSES(docHash("x"), time.Time{}, "x") },
		"non-ASCII":     func() ([]byte, error) { return sg.SignSES(docHash("x"), regStart, "证书") },
		"too long info": func() ([]byte, error) { return sg.SignSES(docHash("x"), regStart, string(make([]byte, 2000))) },
	} {
		if _, err := f(); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%s: got %v, want %s", name, err, certseal.EInvalid)
		}
	}
}

// TestVerifySESForeignSeal: a signature whose seal another maker signed is bad_eseal.
func TestVerifySESForeignSeal(t *testing.T) {
	a, b := newRegEnv(t), newRegEnv(t)
	_, g := a.sm2Seal(t)
	hash := docHash("doc")
	der, err := g.SignSES(hash, regStart.Add(time.Hour), "x")
	if err != nil {
		t.Fatal(err)
	}
	v, err := b.reg.VerifySES(context.Background(), der, hash)
	if err != nil || v.Code != seals.SESBadESeal {
		t.Errorf("foreign: %+v, %v; want %s", v, err, seals.SESBadESeal)
	}
}

// sm2Scalar returns an SM2 key's private scalar (32 bytes), read from its SEC 1 encoding.
func sm2Scalar(t testing.TB, k crypto.Signer) []byte {
	t.Helper()
	sk, ok := k.(*sm2.PrivateKey)
	if !ok {
		t.Fatalf("not an SM2 key: %T", k)
	}
	sec1, err := smx509.MarshalSM2PrivateKey(sk)
	if err != nil {
		t.Fatal(err)
	}
	var ec struct {
		Version    int
		PrivateKey []byte
		Rest       asn1.RawValue `asn1:"optional,explicit,tag:0"`
		Pub        asn1.RawValue `asn1:"optional,explicit,tag:1"`
	}
	if _, err := asn1.Unmarshal(sec1, &ec); err != nil || len(ec.PrivateKey) != 32 {
		t.Fatalf("SEC 1: %v, %d bytes", err, len(ec.PrivateKey))
	}
	return ec.PrivateKey
}

// TestSM2KeysNeverInClear is TestKeysNeverInClear for the SM2 seal key and the SM2 CA key: a
// backup holds neither in PKCS#8, SEC 1 or as the raw scalar, nor the master key.
func TestSM2KeysNeverInClear(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	_, g := e.sm2Seal(t)
	ca, err := e.reg.SM2CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	backup := e.backup(t)
	secrets := map[string][]byte{"master key": e.master, "master key (hex)": []byte(hex.EncodeToString(e.master))}
	for name, k := range map[string]crypto.Signer{"SM2 seal": g.Signer, "SM2 CA": ca.Signer} {
		der, err := smx509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		secrets[name+" PKCS#8"] = der
		sec1, _ := smx509.MarshalSM2PrivateKey(k.(*sm2.PrivateKey))
		secrets[name+" SEC 1"] = sec1
		secrets[name+" scalar"] = sm2Scalar(t, k)
		secrets[name+" scalar (hex)"] = []byte(hex.EncodeToString(sm2Scalar(t, k)))
	}
	for name, secret := range secrets {
		if bytes.Contains(backup, secret) {
			t.Errorf("the backup holds the %s in clear", name)
		}
	}
	if !bytes.Contains(backup, ca.Cert.Raw) || !bytes.Contains(backup, g.ESeal) {
		t.Error("the backup does not hold the SM2 CA certificate and the SESeal: is the scan looking at the right data?")
	}
	// The sealed keys open again under the master key, and only under it.
	keys, _ := seals.NewKeyring(e.master)
	sealed, err := keys.Seal(g.Signer)
	if err != nil {
		t.Fatal(err)
	}
	opened, err := keys.Open(sealed)
	if err != nil || !seals.SM2.Accepts(opened.Public()) || !bytes.Equal(sm2Scalar(t, opened), sm2Scalar(t, g.Signer)) {
		t.Fatalf("Open of a sealed SM2 key: %T, %v", opened, err)
	}
	other := make([]byte, seals.MasterKeySize)
	other[0] = 1
	okeys, _ := seals.NewKeyring(other)
	_, err = okeys.Open(sealed)
	wantCode(t, err, certseal.EForbidden)
}

func TestVerifyESeal(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	v, err := e.reg.VerifyESeal(ctx, g.ESeal)
	if err != nil || !v.OK || v.SealID != s.ID || !v.Registered || v.SealCode != s.Code {
		t.Fatalf("VerifyESeal: %+v, %v", v, err)
	}
	es, _ := seals.ParseESeal(g.ESeal)
	bad := bytes.Clone(g.ESeal)
	bad[bytes.Index(bad, es.Picture)+100] ^= 1
	if v, err := e.reg.VerifyESeal(ctx, bad); err != nil || v.Code != seals.SESBadESeal {
		t.Errorf("changed picture: %+v, %v; want %s", v, err, seals.SESBadESeal)
	}
	if v, err := e.reg.VerifyESeal(ctx, bad[:100]); err != nil || v.Code != seals.SESBadStructure {
		t.Errorf("truncated: %+v, %v; want %s", v, err, seals.SESBadStructure)
	}
}

// TestScanRemakesESeal: uploading a scan of an SM2 seal makes its SESeal again with the scan as
// the picture, signed by the maker; clearing it brings the drawing back. Signatures made before
// keep verifying (they carry the seal they were made with).
func TestScanRemakesESeal(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	hash := docHash("doc")
	before, err := g.SignSES(hash, regStart.Add(time.Hour), "x")
	if err != nil {
		t.Fatal(err)
	}
	pic, _, err := e.reg.Picture(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	scan, err := pic.PNG(4) // a "scan" of the drawing at another resolution
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(regStart.Add(time.Second))
	if _, err := e.reg.SetScan(ctx, e.admin, s.ID, scan); err != nil {
		t.Fatal(err)
	}
	der, _, err := e.reg.ESeal(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	es, err := seals.ParseESeal(der)
	if err != nil || !bytes.Equal(es.Picture, scan) {
		t.Fatalf("SESeal after the scan: %v, picture is the scan: %v", err, err == nil && bytes.Equal(es.Picture, scan))
	}
	if v, err := e.reg.VerifyESeal(ctx, der); err != nil || !v.OK {
		t.Errorf("remade SESeal: %+v, %v", v, err)
	}
	g2, err := e.reg.SignerFor(ctx, e.lizhou, s.ID, demo.TypeFood, regStart.Add(time.Hour))
	if err != nil || !bytes.Equal(g2.ESeal, der) {
		t.Fatalf("SignerFor after the scan: %v", err)
	}
	for _, sig := range [][]byte{before} {
		if v, err := e.reg.VerifySES(ctx, sig, hash); err != nil || !v.OK {
			t.Errorf("a signature made before the scan: %+v, %v", v, err)
		}
	}
	e.clock.Set(regStart.Add(2 * time.Second))
	if _, err := e.reg.ClearScan(ctx, e.admin, s.ID); err != nil {
		t.Fatal(err)
	}
	der2, _, _ := e.reg.ESeal(ctx, s.ID)
	if es2, err := seals.ParseESeal(der2); err != nil || bytes.Equal(es2.Picture, scan) || !bytes.HasPrefix(es2.Picture, []byte("\x89PNG")) {
		t.Errorf("SESeal after clearing the scan: %v", err)
	}
}

// TestConcurrentVerifySES signs and verifies from several goroutines while the seal's scan
// changes (the SESeal cache and the SM2 CA cache under the race detector).
func TestConcurrentVerifySES(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	hash := docHash("doc")
	pic, _, _ := e.reg.Picture(ctx, s.ID)
	scan, _ := pic.PNG(3)
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func(i int) {
			if i == 0 {
				_, err := e.reg.SetScan(ctx, e.admin, s.ID, scan)
				done <- err
				return
			}
			der, err := g.SignSES(hash, regStart.Add(time.Hour), "x")
			if err == nil {
				var v *seals.SESVerdict
				if v, err = e.reg.VerifySES(ctx, der, hash); err == nil && !v.OK {
					err = fmt.Errorf("verdict %s: %s", v.Code, v.Message)
				}
			}
			done <- err
		}(i)
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
