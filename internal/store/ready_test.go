package store_test

import (
	"testing"
)

func TestReady(t *testing.T) { forEngines(t, testReady) }

func testReady(t *testing.T, e engine) {
	db, err := e.open(t, e.where(t))
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
