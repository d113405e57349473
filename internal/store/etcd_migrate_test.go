package store_test

import (
	"bytes"
	"certseal"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"certseal/internal/store"
	"certseal/internal/store/etcdtest"
)

// bboltSource writes a bbolt database with n keys in two buckets (one with sequence numbers as
// keys) and returns it, reopened read-only.
func bboltSource(t *testing.T, n int) *store.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "src.db")
	db, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Tx) error {
		for i := range n {
			id, err := tx.NextID("records")
			if err != nil {
				return err
			}
			if err := tx.Put("records", store.U64(id), bytes.Repeat([]byte{byte(i)}, 100+i)); err != nil {
				return err
			}
			if err := tx.Put("index", []byte(fmt.Sprintf("k%05d", i)), []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.Open(path, &store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// dump lists every key and value of the buckets and their sequences.
func dump(t *testing.T, db *store.DB, buckets ...store.Bucket) string {
	t.Helper()
	var b strings.Builder
	err := db.View(func(tx *store.Tx) error {
		for _, bk := range buckets {
			fmt.Fprintf(&b, "%s seq %d count %d\n", bk, tx.Sequence(bk), tx.Count(bk))
			if err := tx.Scan(bk, nil, nil, func(k, v []byte) error {
				fmt.Fprintf(&b, "%x=%x\n", k, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestEtcdMigrationCopiesEverything: a bbolt database of 600 keys copied into etcd in
// transactions of at most 50 operations holds the same keys, values, counts and sequences, and
// its schema version; until the migration is finished no node opens it.
func TestEtcdMigrationCopiesEverything(t *testing.T) {
	src := bboltSource(t, 300)
	o := store.EtcdOptions{Endpoints: etcdtest.Shared(t).Endpoints, Prefix: "mig1/", MaxTxnOps: 50}
	m, err := store.PrepareEtcdMigration(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Resumed || m.Keys != 601 { // 300 records, 300 index keys, the schema version
		t.Fatalf("resumed %v, %d keys", m.Resumed, m.Keys)
	}
	flushes := 0
	if err := m.Copy(context.Background(), func(int) { flushes++ }); err != nil {
		t.Fatal(err)
	}
	if flushes < 601/50 {
		t.Fatalf("%d transactions for 601 keys at 50 operations each", flushes)
	}
	if _, err := store.OpenEtcd(o); certseal.ErrorCode(err) != certseal.EUnavailable || !strings.Contains(err.Error(), "migrate") {
		t.Fatalf("opening an unfinished migration: %v", err)
	}
	db, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(store.FinishEtcdMigration); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = store.OpenEtcd(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want, got := dump(t, src, "records", "index", store.Meta), dump(t, db, "records", "index", store.Meta)
	if want != got {
		t.Fatalf("etcd holds\n%.600s\nwant\n%.600s", got, want)
	}
	// The copy goes on numbering where the source stopped.
	err = db.Update(func(tx *store.Tx) error {
		id, err := tx.NextID("records")
		if id != 301 {
			t.Errorf("next id %d, want 301", id)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A finished target is not empty: a second migration into it is refused.
	if _, err := store.PrepareEtcdMigration(context.Background(), src, o); certseal.ErrorCode(err) != certseal.EConflict {
		t.Fatalf("migration into a non-empty prefix: %v", err)
	}
}

// TestEtcdMigrationResumes: a migration stopped after its first transactions is finished by
// running it again from the same source; a different source is refused at the half-copied
// target.
func TestEtcdMigrationResumes(t *testing.T) {
	src := bboltSource(t, 200)
	o := store.EtcdOptions{Endpoints: etcdtest.Shared(t).Endpoints, Prefix: "mig2/", MaxTxnOps: 20}
	m, err := store.PrepareEtcdMigration(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = m.Copy(ctx, func(n int) {
		if n > 60 {
			cancel() // the operator's Ctrl-C, a lost connection
		}
	})
	m.Close()
	if err == nil {
		t.Fatal("an interrupted copy reported success")
	}
	other := bboltSource(t, 5)
	if _, err := store.PrepareEtcdMigration(context.Background(), other, o); certseal.ErrorCode(err) != certseal.EConflict {
		t.Fatalf("another source into a half-copied target: %v", err)
	}
	m, err = store.PrepareEtcdMigration(context.Background(), src, o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !m.Resumed {
		t.Fatal("the second run did not resume")
	}
	if err := m.Copy(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	db, err := m.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(store.FinishEtcdMigration); err != nil {
		t.Fatal(err)
	}
	if want, got := dump(t, src, "records", "index"), dump(t, db, "records", "index"); want != got {
		t.Fatalf("resumed copy differs:\n%.400s\nwant\n%.400s", got, want)
	}
}

// TestEtcdMigrationRefusesLargeValue: a value larger than etcd takes stops the migration before
// anything is written.
func TestEtcdMigrationRefusesLargeValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.db")
	db, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *store.Tx) error { return tx.Put("pdfs", []byte("x"), make([]byte, store.MaxEtcdValue+1)) }); err != nil {
		t.Fatal(err)
	}
	o := store.EtcdOptions{Endpoints: etcdtest.Shared(t).Endpoints, Prefix: "mig3/"}
	_, err = store.PrepareEtcdMigration(context.Background(), db, o)
	db.Close()
	if certseal.ErrorCode(err) != certseal.ETooLarge {
		t.Fatalf("large value: %v", err)
	}
	db, err = store.OpenEtcd(o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s := dump(t, db, "pdfs"); s != "pdfs seq 0 count 0\n" {
		t.Fatalf("a refused migration wrote %q", s)
	}
}
