package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/internal/demo"
	"certseal/seals"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// TestESealVerify signs a document with an SM2 seal of a demo database, then checks the
// signature with `certseal eseal verify`: valid with the document, hash_mismatch with another,
// bad_signature with a changed byte; and the bare SESeal as downloaded.
func TestESealVerify(t *testing.T) {
	data := t.TempDir()
	a, err := app.Open(app.Config{Data: data, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.LoadDemo()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	admin := certseal.Actor{UserID: "1", Username: "admin", OrgID: res.Orgs[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin}
	now := time.Now()
	s, err := a.Seals.Create(ctx, admin, seals.NewSeal{
		Name: "广元市利州区行政审批局行政审批专用章", OrgID: res.Orgs["广元市利州区行政审批局"], Type: seals.TypeDedicatedApproval,
		Code: "5108020000077", Auth: seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"},
		LicenceTypes: []string{demo.TypeFood}, ValidTo: now.AddDate(1, 0, 0), Algorithm: seals.AlgSM2,
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.Seals.SignerFor(ctx, certseal.System, s.ID, demo.TypeFood, now)
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte("食品经营许可证 OFD 文档")
	sum := sm3.Sum(doc)
	der, err := g.SignSES(sum[:], now, "certificate.ofd")
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	dir := t.TempDir()
	sesFile := filepath.Join(dir, "sig.ses")
	docFile := filepath.Join(dir, "doc.ofd")
	otherFile := filepath.Join(dir, "other.ofd")
	badFile := filepath.Join(dir, "bad.ses")
	esealFile := filepath.Join(dir, "seal.eseal")
	os.WriteFile(sesFile, der, 0o600)
	os.WriteFile(docFile, doc, 0o600)
	os.WriteFile(otherFile, append(bytes.Clone(doc), '!'), 0o600)
	bad := bytes.Clone(der)
	bad[bytes.Index(bad, []byte("certificate.ofd"))] ^= 1
	os.WriteFile(badFile, bad, 0o600)
	os.WriteFile(esealFile, g.ESeal, 0o600)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"valid with the document", []string{"-doc", docFile, sesFile}, 0, "有效（valid）"},
		{"valid with the digest", []string{"-sm3", hex.EncodeToString(sum[:]), sesFile}, 0, s.ID},
		{"without the data", []string{sesFile}, 0, "没有核对原文杂凑值"},
		{"another document", []string{"-doc", otherFile, sesFile}, 1, "hash_mismatch"},
		{"a changed byte", []string{"-doc", docFile, badFile}, 1, "bad_signature"},
		{"the SESeal", []string{esealFile}, 0, "电子印章（SESeal）：有效"},
		{"not a signature", []string{docFile}, 1, "bad_structure"},
		{"two files", []string{sesFile, docFile}, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"eseal", "verify", "-data", data}, tc.args...)
			code := Main(ctx, args, &out, &errb)
			if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
				t.Errorf("exit %d, want %d; output:\n%s%s\nwant %q", code, tc.code, out.String(), errb.String(), tc.want)
			}
		})
	}
}

// TestSM2CAImport imports an SM2 root made elsewhere and finds the service serving it.
func TestSM2CAImport(t *testing.T) {
	ca, err := seals.NewSM2CA("四川省政务服务测试 SM2 根证书", time.Now(), 10*365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM := sm2KeyPEM(t, ca)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")
	os.WriteFile(certFile, ca.CertificatePEM(), 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"ca", "import", "-sm2", "-data", data, "-cert", certFile, "-key", keyFile}, &out, &errb); code != 0 {
		t.Fatalf("ca import -sm2: %d %s", code, errb.String())
	}
	a, err := app.Open(app.Config{Data: data, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Seals.SM2CA(context.Background())
	a.Close()
	if err != nil || !bytes.Equal(got.Cert.Raw, ca.Cert.Raw) {
		t.Fatalf("the database holds another SM2 CA: %v", err)
	}
	// An ECDSA CA is not an SM2 CA.
	ecdsaCA, _ := seals.NewCA("x", time.Now(), time.Hour*24*365)
	os.WriteFile(certFile, ecdsaCA.CertificatePEM(), 0o600)
	errb.Reset()
	if code := Main(context.Background(), []string{"ca", "import", "-sm2", "-data", data, "-cert", certFile, "-key", keyFile}, &out, &errb); code != 1 {
		t.Fatalf("import of an ECDSA CA as SM2: %d %s", code, errb.String())
	}
}

func sm2KeyPEM(t *testing.T, ca *seals.SM2CA) []byte {
	t.Helper()
	der, err := smx509.MarshalPKCS8PrivateKey(ca.Signer)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
