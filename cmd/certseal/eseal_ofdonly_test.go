package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

// TestOFDOnlyBackupCheckVerify: certificates of an OFD-only licence type (format ofd) are kept by
// the backup archive (one document each: the OFD), restored, counted by `certseal check` with no
// problem, verified by `certseal eseal verify`; a damaged stored OFD is a problem check names.
func TestOFDOnlyBackupCheckVerify(t *testing.T) {
	e := testenv.Start(t)
	ctx := context.Background()
	admin := certseal.Actor{UserID: certseal.System.UserID, Username: "admin", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}
	ofd := catalogue.FormatOFD
	if _, err := e.App.Catalogue.UpdateType(ctx, admin, demo.TypeFood, catalogue.TypePatch{Format: &ofd}); err != nil {
		t.Fatal(err)
	}
	seal := testenv.SealOf(t, e, "lizhou-clerk")
	fs := fixtures.FoodRecords(t)
	var issued []certs.Certificate
	for i := 0; i < 2; i++ {
		c := testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
		if c.PDFSHA256 != "" || c.OFDSHA256 == "" {
			t.Fatalf("not an ofd-only certificate: %+v", c)
		}
		issued = append(issued, c)
	}
	var archive bytes.Buffer
	if n, err := writeArchive(ctx, e.App.DB, e.App.Docs, &archive); err != nil || n != 2 {
		t.Fatalf("backup: %d documents, %v; want the 2 OFDs", n, err)
	}
	restored := t.TempDir()
	if got, err := restoreArchive(ctx, bytes.NewReader(archive.Bytes()), restored); err != nil || got != 2 {
		t.Fatalf("restore: %d documents, %v", got, err)
	}
	key, err := os.ReadFile(filepath.Join(e.App.Config.Data, app.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restored, app.MasterKeyFile), key, 0o600)
	var out bytes.Buffer
	if code := Main(ctx, []string{"check", "-data", restored}, &out, io.Discard); code != 0 ||
		!strings.Contains(out.String(), "2 certificates, 0 problems") || !strings.Contains(out.String(), "0 orphaned") {
		t.Fatalf("check of the restored copy: exit %d\n%s", code, out.String())
	}

	a, err := app.Open(app.Config{Data: restored, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	pkg, _, err := a.Certs.OFD(ctx, admin, issued[0].ID)
	if err != nil || len(pkg) != issued[0].OFDSize {
		a.Close()
		t.Fatalf("the restored OFD: %d bytes, %v", len(pkg), err)
	}
	path := a.Docs.Path(issued[1].OFDSHA256)
	a.Close()
	file := filepath.Join(t.TempDir(), "c.ofd")
	os.WriteFile(file, pkg, 0o600)
	out.Reset()
	if code := Main(ctx, []string{"eseal", "verify", "-data", restored, file}, &out, io.Discard); code != 0 ||
		!strings.Contains(out.String(), "有效（valid）") || !strings.Contains(out.String(), issued[0].Identifier) {
		t.Fatalf("eseal verify of the OFD: exit %d\n%s", code, out.String())
	}

	// A damaged stored OFD: check names the certificate.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/3] ^= 0x04
	os.WriteFile(path, raw, 0o600)
	out.Reset()
	if code := Main(ctx, []string{"check", "-data", restored}, &out, io.Discard); code != 1 ||
		!strings.Contains(out.String(), "certificate "+issued[1].ID+" ") || !strings.Contains(out.String(), "OFD 证照文件已损坏") {
		t.Fatalf("check with a damaged OFD: exit %d\n%s", code, out.String())
	}
}
