package store_test

import (
	"bytes"
	"testing"

	"certseal/internal/store"
)

// TestDump: two dumps with nothing written between them are equal, a put, a delete or a new
// sequence number changes the dump, on both engines.
func TestDump(t *testing.T) {
	forEngines(t, func(t *testing.T, e engine) {
		db := e.db(t)
		dump := func() []byte {
			var b bytes.Buffer
			if err := db.Dump(&b); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}
		if err := db.Update(func(tx *store.Tx) error { return tx.Put("b", []byte("k"), []byte("v")) }); err != nil {
			t.Fatal(err)
		}
		before := dump()
		if !bytes.Equal(before, dump()) {
			t.Fatal("two dumps differ with nothing written")
		}
		for name, fn := range map[string]func(tx *store.Tx) error{
			"put":      func(tx *store.Tx) error { return tx.Put("b", []byte("k2"), []byte("v")) },
			"delete":   func(tx *store.Tx) error { return tx.Delete("b", []byte("k")) },
			"sequence": func(tx *store.Tx) error { _, err := tx.NextID("c"); return err },
		} {
			if err := db.Update(fn); err != nil {
				t.Fatal(err)
			}
			after := dump()
			if bytes.Equal(before, after) {
				t.Fatalf("%s: the dump did not change", name)
			}
			before = after
		}
	})
}
