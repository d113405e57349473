package server_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"certseal/certs"
	"certseal/certs/use"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// TestUseCopyInDocumentStore: a purpose-stamped copy is a document of the document store, like a
// certificate's PDF (it is about twice one; nothing that large goes into the database or etcd):
// the database does not hold its bytes, the collector and check keep it, a backup lists it, and a
// damaged stored copy is never served.
func TestUseCopyInDocumentStore(t *testing.T) {
	e, c, _ := useEnv(t)
	g := consentCode(t, e, c)
	var u use.Use
	e.Must(201, "POST", "/api/v1/uses", "bank-user", useRequest(c, g.Code)).Decode(t, &u)
	copyPDF := e.Must(200, "GET", "/api/v1/uses/"+u.ID+"/copy", "bank-user", nil).Body
	if docstore.Digest(copyPDF) != u.CopySHA256 {
		t.Fatal("the copy served is not the one recorded")
	}
	ctx := context.Background()
	stored, err := e.App.Documents.Get(ctx, u.CopySHA256)
	if err != nil || !bytes.Equal(stored, copyPDF) {
		t.Fatalf("the copy is not in the document store: %v", err)
	}
	if bytes.Contains(e.Snapshot(), copyPDF[len(copyPDF)-4096:]) {
		t.Fatal("the database holds the copy's bytes")
	}
	if n, err := certs.CollectDocuments(ctx, e.App.DB, e.App.Documents, -time.Hour); err != nil || n != 0 {
		t.Fatalf("the collector removed %d documents (%v): the copy is referred to", n, err)
	}
	if orphans, err := certs.Orphans(ctx, e.App.DB, e.App.Documents); err != nil || slices.Contains(orphans, u.CopySHA256) {
		t.Fatalf("check calls the copy an orphan: %v %v", orphans, err)
	}
	var listed []string
	if err := e.App.DB.View(func(tx *store.Tx) error {
		return certs.DocumentsTx(tx, func(d string) error { listed = append(listed, d); return nil })
	}); err != nil || !slices.Contains(listed, u.CopySHA256) {
		t.Fatalf("a backup would not hold the copy: %v", err)
	}
	if e.App.Docs == nil {
		return // the object store of a cluster: the damage below is the file store's
	}
	damaged := bytes.Clone(copyPDF)
	damaged[len(damaged)/2] ^= 0xff
	if err := os.WriteFile(e.App.Docs.Path(u.CopySHA256), damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.Do("GET", "/api/v1/uses/"+u.ID+"/copy", "bank-user", nil); r.Status != 500 || bytes.Contains(r.Body, []byte("%PDF")) {
		t.Fatalf("a damaged copy was served: %d", r.Status)
	}
}
