package store_test

import (
	"path/filepath"
	"testing"

	"certseal/internal/store"
)

func TestReady(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "r.db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ready(); err != nil {
		t.Fatalf("Ready on an open database: %v", err)
	}
	db.Close()
	if err := db.Ready(); err == nil {
		t.Fatal("Ready on a closed database: nil, want an error")
	}
}
