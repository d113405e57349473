package certs_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// TestIssueStoresDocumentOutsideDatabase: an issued PDF is a file of the document store named by
// its SHA-256 (durable before the record), and nothing of it is in the database's PDF bucket.
func TestIssueStoresDocumentOutsideDatabase(t *testing.T) {
	e := newEnv(t)
	c := e.issue(0, 1)
	raw, err := os.ReadFile(e.docs.Path(c.PDFSHA256))
	if err != nil {
		t.Fatalf("document file: %v", err)
	}
	if !certs.DocumentMatches(&c, raw) || !bytes.Equal(raw, e.pdf(c.ID)) {
		t.Fatal("the document file is not the certificate's PDF")
	}
	e.db.View(func(tx *store.Tx) error {
		if tx.Count("cert_pdfs") != 0 {
			t.Error("the PDF was also written into the database")
		}
		return nil
	})
}

// TestMissingDocumentReportedNeverServed: a deleted document file answers an internal error
// (audited), and the consistency check names it.
func TestMissingDocumentReportedNeverServed(t *testing.T) {
	e := newEnv(t)
	c := e.issue(0, 1)
	if err := os.Remove(e.docs.Path(c.PDFSHA256)); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.svc.PDF(ctx, e.admin, c.ID)
	var ce *certseal.Error
	if !errors.As(err, &ce) || ce.Code != certseal.EInternal || !strings.Contains(ce.Message, "缺失") {
		t.Fatalf("download of a deleted document: %v", err)
	}
	bad, _, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv)
	if err != nil || len(bad) != 1 || bad[0].CertificateID != c.ID || !strings.Contains(bad[0].Problem, "存储的证照文件不存在") {
		t.Fatalf("check: %+v %v", bad, err)
	}
}

// toLegacy moves the PDFs of the certificates back into the database's PDF bucket, as a version
// before the document store kept them, and removes their files.
func toLegacy(t *testing.T, e *env, cs []certs.Certificate) {
	t.Helper()
	for _, c := range cs {
		pdf := e.pdf(c.ID)
		k, _ := store.IDKey(c.ID)
		if err := e.db.Update(func(tx *store.Tx) error { return tx.Put("cert_pdfs", k, pdf) }); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(e.docs.Path(c.PDFSHA256)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateDocuments: the PDFs an older version kept in the database move out to the document
// store in a resumable migration (stopped after two, then finished), every certificate's PDF is
// served all along, and a stored PDF that does not match its record stays where it is, reported
// as damaged and never served.
func TestMigrateDocuments(t *testing.T) {
	e := newEnv(t)
	var cs []certs.Certificate
	for i := 0; i < 5; i++ {
		cs = append(cs, e.issue(i, i+1))
	}
	toLegacy(t, e, cs)
	// damage the last one inside the database
	k, _ := store.IDKey(cs[4].ID)
	e.db.Update(func(tx *store.Tx) error {
		pdf := tx.Get("cert_pdfs", k)
		pdf[len(pdf)/2] ^= 1
		return tx.Put("cert_pdfs", k, pdf)
	})
	inDB := func() int {
		n := 0
		e.db.View(func(tx *store.Tx) error { n = tx.Count("cert_pdfs"); return nil })
		return n
	}
	served := func() {
		t.Helper()
		for _, c := range cs[:4] {
			if got := e.pdf(c.ID); !certs.DocumentMatches(&c, got) {
				t.Fatalf("certificate %s's PDF changed", c.ID)
			}
		}
		if _, _, err := e.svc.PDF(ctx, e.admin, cs[4].ID); err == nil {
			t.Fatal("the damaged legacy PDF was served")
		}
	}
	served()

	moved, _, err := certs.MigrateDocuments(ctx, e.db, e.docs, 2) // interrupted after two
	if err != nil || moved != 2 || inDB() != 3 {
		t.Fatalf("first run: moved %d, %d left in the database, %v", moved, inDB(), err)
	}
	served()
	moved, left, err := certs.MigrateDocuments(ctx, e.db, e.docs, 0) // resumed
	if err != nil || moved != 2 || left != 1 || inDB() != 1 {
		t.Fatalf("resumed: moved %d, left %d, %d in the database, %v", moved, left, inDB(), err)
	}
	served()
	for _, c := range cs[:4] {
		if _, err := e.docs.Get(ctx, c.PDFSHA256); err != nil {
			t.Fatalf("certificate %s's document after the migration: %v", c.ID, err)
		}
	}
	if _, err := e.docs.Get(ctx, cs[4].PDFSHA256); !errors.Is(err, docstore.ErrNotFound) {
		t.Fatalf("the damaged PDF was moved: %v", err)
	}
	bad, _, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv)
	if err != nil || len(bad) != 1 || bad[0].CertificateID != cs[4].ID || !strings.Contains(bad[0].Problem, "已损坏") {
		t.Fatalf("check after the migration: %+v %v", bad, err)
	}
	// Running it again moves nothing more.
	if moved, left, err := certs.MigrateDocuments(ctx, e.db, e.docs, 0); err != nil || moved != 0 || left != 1 {
		t.Fatalf("third run: moved %d, left %d, %v", moved, left, err)
	}
}

// TestCollectDocuments: a document no certificate records (a crash between its write and the
// commit) is an orphan, removed once older than the grace period; a recorded one never is.
func TestCollectDocuments(t *testing.T) {
	e := newEnv(t)
	c := e.issue(0, 1)
	orphan, err := e.docs.Put(ctx, []byte("%PDF-1.7 written, never committed"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := certs.Orphans(ctx, e.db, e.docs)
	if err != nil || len(got) != 1 || got[0] != orphan {
		t.Fatalf("orphans %v %v, want [%s]", got, err, orphan)
	}
	if n, err := certs.CollectDocuments(ctx, e.db, e.docs, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d young documents (%v)", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, d := range []string{orphan, c.PDFSHA256, c.OFDSHA256} { // the OFD (pdf+ofd) is the record's too
		os.Chtimes(e.docs.Path(d), old, old)
	}
	if n, err := certs.CollectDocuments(ctx, e.db, e.docs, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want the orphan", n, err)
	}
	if _, err := e.docs.Get(ctx, orphan); !errors.Is(err, docstore.ErrNotFound) {
		t.Fatalf("orphan still there: %v", err)
	}
	if !certs.DocumentMatches(&c, e.pdf(c.ID)) {
		t.Fatal("the recorded document was collected")
	}
	if _, _, err := e.svc.OFD(ctx, e.clerk, c.ID); err != nil {
		t.Fatalf("the recorded OFD was collected: %v", err)
	}
}
