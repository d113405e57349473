package main

import (
	"archive/tar"
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
	"certseal/internal/docstore"
	"certseal/internal/fixtures"
	"certseal/internal/store"
)

// TestBackupArchiveRestore: a backup archive taken while the service runs holds the database and
// every certificate's document; restored into an empty directory (with the master key) it serves
// the same PDFs, and check finds no problem there.
func TestBackupArchiveRestore(t *testing.T) {
	e := testenv.Start(t)
	seal := testenv.SealOf(t, e, "lizhou-clerk")
	fs := fixtures.FoodRecords(t)
	var issued []certs.Certificate
	for i := 0; i < 3; i++ {
		issued = append(issued, testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1))))
	}
	// an orphan (a document whose commit never happened) is not part of the backup
	if _, err := e.App.Docs.Put(context.Background(), []byte("%PDF-1.7 never committed")); err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	n, err := writeArchive(context.Background(), e.App.DB, e.App.Docs, &archive)
	if err != nil || n != 6 { // a PDF and an OFD each: the food licence is pdf+ofd
		t.Fatalf("backup: %d documents, %v", n, err)
	}

	restored := t.TempDir()
	if got, err := restoreArchive(context.Background(), bytes.NewReader(archive.Bytes()), restored); err != nil || got != 6 {
		t.Fatalf("restore: %d documents, %v", got, err)
	}
	if _, err := restoreArchive(context.Background(), bytes.NewReader(archive.Bytes()), restored); err == nil {
		t.Fatal("restore over an existing database succeeded")
	}
	key, err := os.ReadFile(filepath.Join(e.App.Config.Data, app.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restored, app.MasterKeyFile), key, 0o600)
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"check", "-data", restored}, &out, io.Discard); code != 0 ||
		!strings.Contains(out.String(), "3 certificates, 0 problems") || !strings.Contains(out.String(), "0 orphaned") {
		t.Fatalf("check of the restored copy: exit %d\n%s", code, out.String())
	}
	a, err := app.Open(app.Config{Data: restored, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	admin := certseal.Actor{UserID: certseal.System.UserID, Username: "admin", Role: certseal.RoleAdmin, OrgKind: certseal.KindCityCenter}
	for _, c := range issued {
		want, _, err := e.App.Certs.PDF(context.Background(), admin, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := a.Certs.PDF(context.Background(), admin, c.ID)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("certificate %s's PDF in the restored copy: %v", c.ID, err)
		}
		if got, _, err := a.Certs.OFD(context.Background(), admin, c.ID); err != nil || len(got) != c.OFDSize {
			t.Fatalf("certificate %s's OFD in the restored copy: %v", c.ID, err)
		}
	}
}

// TestBackupRefusesMissingDocument: a backup of a database one of whose documents is gone fails
// (and names it) instead of writing an archive that cannot be restored whole.
func TestBackupRefusesMissingDocument(t *testing.T) {
	e := testenv.Start(t)
	c := testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(fixtures.FoodRecords(t)[0], testenv.SealOf(t, e, "lizhou-clerk"), "SC00000001"))
	os.Remove(e.App.Docs.Path(c.PDFSHA256))
	_, err := writeArchive(context.Background(), e.App.DB, e.App.Docs, io.Discard)
	if err == nil || !strings.Contains(err.Error(), c.PDFSHA256) {
		t.Fatalf("backup without a document: %v", err)
	}
}

// TestRestoreRefusesBadArchives: entries other than the database and documents under their
// digests, a document whose bytes do not match its name, and an archive without a database are
// refused, and no database is left to start on.
func TestRestoreRefusesBadArchives(t *testing.T) {
	doc := []byte("%PDF-1.7 a document")
	d := docstore.Digest(doc)
	bad := append([]byte{}, doc...)
	bad[0] = 'X'
	cases := map[string][]struct {
		name string
		data []byte
	}{
		"path outside":    {{store.FileName, []byte("x")}, {"../evil", doc}},
		"wrong digest":    {{store.FileName, []byte("x")}, {"documents/" + d[:2] + "/" + d, bad}},
		"wrong subfolder": {{store.FileName, []byte("x")}, {"documents/00/" + d, doc}},
		"no database":     {{"documents/" + d[:2] + "/" + d, doc}},
		"bad database":    {{store.FileName, []byte("not a bbolt file")}},
	}
	for name, entries := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, en := range entries {
				tw.WriteHeader(&tar.Header{Name: en.name, Mode: 0o600, Size: int64(len(en.data)), Typeflag: tar.TypeReg})
				tw.Write(en.data)
			}
			tw.Close()
			dir := t.TempDir()
			if _, err := restoreArchive(context.Background(), &buf, dir); err == nil {
				t.Fatal("restored")
			}
			if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
				t.Fatal("a database was left behind")
			}
		})
	}
}

// FuzzRestoreArchive: restore reads any bytes without panicking and never leaves a database
// from an archive it refused.
func FuzzRestoreArchive(f *testing.F) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	doc := []byte("%PDF-1.7")
	d := docstore.Digest(doc)
	tw.WriteHeader(&tar.Header{Name: "documents/" + d[:2] + "/" + d, Mode: 0o600, Size: int64(len(doc)), Typeflag: tar.TypeReg})
	tw.Write(doc)
	tw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("certseal.db"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		dir := t.TempDir()
		if _, err := restoreArchive(context.Background(), bytes.NewReader(raw), dir); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, store.FileName)); serr == nil {
				t.Fatal("a database was left behind by a refused archive")
			}
		}
	})
}
