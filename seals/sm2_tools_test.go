package seals_test

// The national track checked by programs nobody here wrote: OpenSSL 3 (Debian's, with SM2 and
// SM3) and sm-crypto, the npm package most Chinese web front ends use.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"certseal/internal/fixtures"
	"certseal/seals"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// openssl runs OpenSSL and returns its combined output and whether it exited 0.
func openssl(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("openssl %v: %v", args, err)
		}
	}
	return string(out), err == nil
}

// pkeyVerify is `openssl pkeyutl -verify` of an SM2 signature over msg with SM3 and the default
// distinguishing ID.
func pkeyVerify(t *testing.T, dir string, pubPEM, msg, sig []byte) (string, bool) {
	t.Helper()
	pub := writeFile(t, dir, "pub.pem", pubPEM)
	in := writeFile(t, dir, "msg.der", msg)
	sf := writeFile(t, dir, "sig.der", sig)
	return openssl(t, "pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-digest", "sm3",
		"-pkeyopt", "distid:"+seals.SM2DefaultUID, "-in", in, "-sigfile", sf)
}

func pubPEMOf(t *testing.T, der []byte) []byte {
	t.Helper()
	c, err := smx509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := smx509.MarshalPKIXPublicKey(c.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pk})
}

func TestSM2OpenSSL(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	e := newRegEnv(t)
	ctx := context.Background()
	s, g := e.sm2Seal(t)
	ca, err := e.reg.SM2CA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := writeFile(t, dir, "ca.pem", ca.CertificatePEM())
	sealFile := writeFile(t, dir, "seal.pem", certPEM(s.Certificate))

	// The certificates parse, and name SM2 and SM2-with-SM3.
	for _, f := range []string{caFile, sealFile} {
		out, ok := openssl(t, "x509", "-in", f, "-noout", "-text")
		if !ok || !strings.Contains(out, "SM2-with-SM3") || !strings.Contains(out, "ASN1 OID: SM2") {
			t.Errorf("openssl x509 -text %s:\n%s", filepath.Base(f), out)
		}
	}
	if out, _ := openssl(t, "x509", "-in", sealFile, "-noout", "-subject"); !strings.Contains(out, s.Code) || !strings.Contains(out, s.ID) {
		t.Errorf("seal subject: %s", out)
	}
	// The seal certificate verifies against the SM2 CA (and not against the ECDSA CA). OpenSSL
	// 3.0 computes Z without an ID unless told: GM/T 0015's default ID must be given.
	at := strconv.FormatInt(regStart.Add(time.Hour).Unix(), 10)
	distid := "distid:" + seals.SM2DefaultUID
	if out, ok := openssl(t, "verify", "-attime", at, "-vfyopt", distid, "-CAfile", caFile, sealFile); !ok || !strings.Contains(out, ": OK") {
		t.Errorf("openssl verify:\n%s", out)
	}
	// -check_ss_sig ignores -vfyopt in OpenSSL 3.0: the root's own signature is checked by
	// pkeyutl over its TBSCertificate.
	if out, ok := pkeyVerify(t, dir, pubPEMOf(t, ca.Cert.Raw), ca.Cert.RawTBSCertificate, ca.Cert.Signature); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of the root's self-signature:\n%s", out)
	}
	ecdsaCA, _ := e.reg.CA(ctx)
	if out, ok := openssl(t, "verify", "-attime", at, "-vfyopt", distid, "-CAfile", writeFile(t, dir, "ecdsa-ca.pem", ecdsaCA.CertificatePEM()), sealFile); ok {
		t.Errorf("openssl verify accepts the SM2 seal under the ECDSA CA:\n%s", out)
	}
	other, err := seals.NewSM2CA(seals.SM2CAName, regStart, seals.CAValidity)
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := openssl(t, "verify", "-attime", at, "-vfyopt", distid, "-CAfile", writeFile(t, dir, "other-ca.pem", other.CertificatePEM()), sealFile); ok {
		t.Errorf("openssl verify accepts the seal under another SM2 CA of the same name:\n%s", out)
	}

	// A SES_Signature's signature verifies over the DER of its TBS_Sign with the seal's key.
	hash := docHash("食品经营许可证")
	der, err := g.SignSES(hash, regStart.Add(time.Hour), "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := seals.ParseSES(der)
	if err != nil {
		t.Fatal(err)
	}
	sealPub := pubPEMOf(t, s.Certificate)
	if out, ok := pkeyVerify(t, dir, sealPub, p.TBSDER(), p.Signature); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of TBS_Sign:\n%s", out)
	}
	// The embedded SESeal's signature verifies over SES_SealInfo with the maker's (CA's) key.
	if out, ok := pkeyVerify(t, dir, pubPEMOf(t, ca.Cert.Raw), p.ESeal.SealInfoDER(), p.ESeal.SignedValue); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of SES_SealInfo:\n%s", out)
	}
	// One flipped bit in TBS_Sign, and in the signature: OpenSSL refuses both.
	bad := bytes.Clone(p.TBSDER())
	bad[len(bad)-3] ^= 1
	if out, ok := pkeyVerify(t, dir, sealPub, bad, p.Signature); ok {
		t.Errorf("openssl accepts a changed TBS_Sign:\n%s", out)
	}
	badSig := bytes.Clone(p.Signature)
	badSig[len(badSig)-1] ^= 1
	if out, ok := pkeyVerify(t, dir, sealPub, p.TBSDER(), badSig); ok {
		t.Errorf("openssl accepts a changed signature:\n%s", out)
	}

	// asn1parse walks both structures: the header, the version, the times, the algorithm.
	for name, data := range map[string][]byte{"SESeal": g.ESeal, "SES_Signature": der} {
		out, ok := openssl(t, "asn1parse", "-inform", "DER", "-in", writeFile(t, dir, name+".der", data), "-i")
		if !ok {
			t.Fatalf("openssl asn1parse %s:\n%s", name, out)
		}
		for _, want := range []string{"IA5STRING         :ES", "INTEGER           :04", "IA5STRING         :" + seals.ESealVid,
			"IA5STRING         :" + s.ID, "IA5STRING         :PNG", "GENERALIZEDTIME", "UTF8STRING", "SM2-with-SM3", "BIT STRING"} {
			if !strings.Contains(out, want) {
				t.Errorf("openssl asn1parse %s: no %q in\n%s", name, want, out)
			}
		}
		if name == "SES_Signature" && !strings.Contains(out, "IA5STRING         :certificate.ofd") {
			t.Errorf("openssl asn1parse SES_Signature: no propertyInfo in\n%s", out)
		}
		if strings.Contains(out, "Error") {
			t.Errorf("openssl asn1parse %s reports an error:\n%s", name, out)
		}
	}

	// The SM2 CRL parses, verifies with the SM2 CA and lists the revoked seal.
	if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
		t.Fatal(err)
	}
	crl, err := e.reg.SM2CRL(ctx)
	if err != nil {
		t.Fatal(err)
	}
	crlFile := writeFile(t, dir, "crl.der", crl)
	out, ok := openssl(t, "crl", "-inform", "DER", "-in", crlFile, "-noout", "-text")
	if !ok || !strings.Contains(strings.ToUpper(out), strings.ToUpper(s.CertSerial)) || !strings.Contains(out, "Signature Algorithm: SM2-with-SM3") {
		t.Errorf("openssl crl:\n%s", out)
	}
	// OpenSSL 3.0's crl command takes no SM2 ID, so the list's signature is checked by pkeyutl
	// over its TBSCertList with the CA's key.
	rl, err := smx509.ParseRevocationList(crl)
	if err != nil {
		t.Fatal(err)
	}
	caPub := pubPEMOf(t, ca.Cert.Raw)
	if out, ok := pkeyVerify(t, dir, caPub, rl.RawTBSRevocationList, rl.Signature); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl pkeyutl -verify of the CRL:\n%s", out)
	}
	if out, ok := pkeyVerify(t, dir, sealPub, rl.RawTBSRevocationList, rl.Signature); ok {
		t.Errorf("openssl verifies the CRL with the seal's key:\n%s", out)
	}
}

// fixedKey is the SM2 key in testdata/sm2-fixed-key.pem (made once with `openssl genpkey
// -algorithm SM2`; a test key, nothing else uses it).
func fixedKey(t *testing.T) (*sm2.PrivateKey, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "sm2-fixed-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	k, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*sm2.PrivateKey), data
}

// fixedKeyPublicHex is the public key of testdata/sm2-fixed-key.pem as `openssl pkey -text`
// prints it (04 || X || Y): the key file is read the same way by every tool.
const fixedKeyPublicHex = "04295636f61d55ebebae601d91e8eadb97c96dd8aa7b6658ebd7e8edb04c476397a7e3b2089b3eec27a7f2ffe927d3dd103915df9dd1e46de4a137bb32b7b55b4f"

// TestSM2FixedKeyOpenSSL signs with a fixed key in Go and verifies with OpenSSL, and signs with
// OpenSSL and verifies in Go.
func TestSM2FixedKeyOpenSSL(t *testing.T) {
	fixtures.NeedTool(t, "openssl", "openssl")
	key, keyPEM := fixedKey(t)
	pub, err := sm2.PublicKeyToECDH(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(pub.Bytes()); got != fixedKeyPublicHex {
		t.Fatalf("fixed key's public key %s, want %s", got, fixedKeyPublicHex)
	}
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "key.pem", keyPEM)
	out, ok := openssl(t, "pkey", "-in", keyFile, "-noout", "-text")
	flat := strings.NewReplacer(":", "", " ", "", "\n", "").Replace(out)
	if !ok || !strings.Contains(flat, fixedKeyPublicHex) {
		t.Errorf("openssl pkey -text does not show the public key %s:\n%s", fixedKeyPublicHex, out)
	}
	pubOut, ok := openssl(t, "pkey", "-in", keyFile, "-pubout")
	if !ok {
		t.Fatal(pubOut)
	}
	msg := []byte("certseal SM2 known answer: 广元市政务服务")
	sig, err := seals.SM2.Sign(rand.Reader, key, msg)
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := pkeyVerify(t, dir, []byte(pubOut), msg, sig); !ok || !strings.Contains(out, "Signature Verified Successfully") {
		t.Errorf("openssl rejects Go's SM2 signature:\n%s", out)
	}
	in := writeFile(t, dir, "msg.bin", msg)
	sigFile := filepath.Join(dir, "openssl.sig")
	if out, ok := openssl(t, "pkeyutl", "-sign", "-inkey", keyFile, "-rawin", "-digest", "sm3", "-pkeyopt", "distid:"+seals.SM2DefaultUID, "-in", in, "-out", sigFile); !ok {
		t.Fatalf("openssl pkeyutl -sign:\n%s", out)
	}
	osig, err := os.ReadFile(sigFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := seals.SM2.Verify(key.Public(), msg, osig); err != nil {
		t.Errorf("Go rejects OpenSSL's SM2 signature: %v", err)
	}
	if seals.SM2.Verify(key.Public(), append(bytes.Clone(msg), '!'), osig) == nil {
		t.Error("Go accepts OpenSSL's signature over another message")
	}
}

// smCrypto runs testdata/smcrypto/verify.js with req on its standard input.
func smCrypto(t *testing.T, req any) map[string]json.RawMessage {
	t.Helper()
	node := fixtures.NeedTool(t, "node", "nodejs")
	dir := filepath.Join(fixtures.Dir(), "smcrypto")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "sm-crypto")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sm-crypto is not installed in %s (.ci/run runs npm ci there)", dir)
		}
		t.Skipf("sm-crypto is not installed: run `npm ci` in %s", dir)
	}
	in, _ := json.Marshal(req)
	cmd := exec.Command(node, filepath.Join(dir, "verify.js"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.js: %v\n%s", err, stderr.String())
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("verify.js output %q: %v", out, err)
	}
	return res
}

type smCase struct {
	Pub string `json:"pub"` // 04 || X || Y
	Msg string `json:"msg"` // hexadecimal
	Sig string `json:"sig"` // DER, hexadecimal
}

func TestSM2SMCrypto(t *testing.T) {
	key, _ := fixedKey(t)
	e := newRegEnv(t)
	s, g := e.sm2Seal(t)
	ca, err := e.reg.SM2CA(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	der, err := g.SignSES(docHash("食品经营许可证"), regStart.Add(time.Hour), "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := seals.ParseSES(der)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("certseal SM2 known answer: 广元市政务服务")
	sig, err := seals.SM2.Sign(rand.Reader, key, msg)
	if err != nil {
		t.Fatal(err)
	}
	sealCert, _ := smx509.ParseCertificate(s.Certificate)
	hexPub := func(c *smx509.Certificate) string {
		k, err := sm2.PublicKeyToECDH(c.PublicKey.(*ecdsa.PublicKey))
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(k.Bytes())
	}
	flip := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 1; return b }
	cases := []smCase{
		{fixedKeyPublicHex, hex.EncodeToString(msg), hex.EncodeToString(sig)},                                       // the fixed key
		{hexPub(sealCert), hex.EncodeToString(p.TBSDER()), hex.EncodeToString(p.Signature)},                         // TBS_Sign
		{hexPub(ca.Cert), hex.EncodeToString(p.ESeal.SealInfoDER()), hex.EncodeToString(p.ESeal.SignedValue)},       // SES_SealInfo
		{hexPub(sealCert), hex.EncodeToString(flip(p.TBSDER())), hex.EncodeToString(p.Signature)},                   // changed TBS
		{hexPub(ca.Cert), hex.EncodeToString(flip(p.ESeal.SealInfoDER())), hex.EncodeToString(p.ESeal.SignedValue)}, // changed seal
		{fixedKeyPublicHex, hex.EncodeToString(append(bytes.Clone(msg), '!')), hex.EncodeToString(sig)},             // other message
	}
	want := []bool{true, true, true, false, false, false}
	res := smCrypto(t, map[string]any{
		"verify": cases,
		"sm3":    []string{hex.EncodeToString([]byte("abc"))},
		"sign":   []map[string]string{{"priv": hex.EncodeToString(sm2Scalar(t, key)), "pub": fixedKeyPublicHex, "msg": hex.EncodeToString(msg)}},
	})
	var got []bool
	if err := json.Unmarshal(res["verify"], &got); err != nil || len(got) != len(want) {
		t.Fatalf("verify: %s, %v", res["verify"], err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sm-crypto case %d: verified %v, want %v", i, got[i], want[i])
		}
	}
	var sums []string
	if err := json.Unmarshal(res["sm3"], &sums); err != nil || len(sums) != 1 || sums[0] != "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" {
		t.Errorf("sm-crypto SM3(abc): %s, %v", res["sm3"], err)
	}
	// sm-crypto signs with the fixed key; Go verifies.
	var sigs []string
	if err := json.Unmarshal(res["sign"], &sigs); err != nil || len(sigs) != 1 {
		t.Fatalf("sign: %s, %v", res["sign"], err)
	}
	jsSig, err := hex.DecodeString(sigs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := seals.SM2.Verify(key.Public(), msg, jsSig); err != nil {
		t.Errorf("Go rejects sm-crypto's SM2 signature: %v", err)
	}
}
