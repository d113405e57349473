package store_test

import (
	"bytes"
	"certseal"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"certseal/internal/store"
)

// nodes opens n handles on one database: n clients of one etcd cluster, standing for n
// certseal nodes; on bbolt (one process per file) the same handle n times.
func nodes(t *testing.T, e engine, n int) []*store.DB {
	t.Helper()
	at := e.where(t)
	first, err := e.open(t, at)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { first.Close() })
	out := []*store.DB{first}
	for len(out) < n {
		db := first
		if e.name != "bbolt" {
			if db, err = e.open(t, at); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
		}
		out = append(out, db)
	}
	return out
}

// TestConcurrentIncrements has writers on three nodes read, add one to and write back one
// counter: with serializable transactions no increment is lost.
func TestConcurrentIncrements(t *testing.T) { forEngines(t, testConcurrentIncrements) }

func testConcurrentIncrements(t *testing.T, e engine) {
	dbs := nodes(t, e, 3)
	const per = 15
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for range per {
				err := dbs[w%3].Update(func(tx *store.Tx) error {
					n := store.ParseU64(tx.Get(b, []byte("n")))
					if _, err := tx.NextID(b); err != nil {
						return err
					}
					return tx.Put(b, []byte("n"), store.U64(n+1))
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	dbs[1].View(func(tx *store.Tx) error {
		if n, s := store.ParseU64(tx.Get(b, []byte("n"))), tx.Sequence(b); n != 6*per || s != 6*per {
			t.Errorf("counter %d, sequence %d, want %d", n, s, 6*per)
		}
		return nil
	})
}

// TestScanSeesConcurrentDeletes has writers on two nodes each scan a bucket of ten keys and,
// when they see ten, delete a different one: serially only the first of them deletes, so nine
// remain. A transaction that missed the other's delete inside the range it scanned would leave
// fewer.
func TestScanSeesConcurrentDeletes(t *testing.T) { forEngines(t, testScanSeesConcurrentDeletes) }

func testScanSeesConcurrentDeletes(t *testing.T, e engine) {
	dbs := nodes(t, e, 2)
	for round := range 5 {
		p := fmt.Sprintf("r%d/", round)
		dbs[0].Update(func(tx *store.Tx) error {
			for i := range 10 {
				tx.Put(b, fmt.Appendf(nil, "%s%d", p, i), []byte("v"))
			}
			return nil
		})
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				err := dbs[w].Update(func(tx *store.Tx) error {
					n := 0
					tx.Scan(b, []byte(p), nil, func(k, v []byte) error { n++; return nil })
					if n == 10 {
						return tx.Delete(b, fmt.Appendf(nil, "%s%d", p, 3+w))
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		dbs[1].View(func(tx *store.Tx) error {
			n := 0
			tx.Scan(b, []byte(p), nil, func(k, v []byte) error { n++; return nil })
			if n != 9 {
				t.Errorf("round %d: %d keys remain, want 9", round, n)
			}
			return nil
		})
	}
}

// TestCursorModel walks a bucket of a few hundred keys, inside a write transaction that has
// changed some of them, with every cursor move, and compares each answer with a sorted slice.
func TestCursorModel(t *testing.T) { forEngines(t, testCursorModel) }

func testCursorModel(t *testing.T, e engine) {
	db := e.db(t)
	rnd := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	for range 3 { // etcd's default limit is 128 operations a transaction
		err := db.Update(func(tx *store.Tx) error {
			for i := range 100 {
				k := string(store.U64(uint64(rnd.IntN(1000) * 7)))
				if i%3 == 0 {
					k = fmt.Sprintf("s%03d", rnd.IntN(500))
				}
				model[k] = fmt.Sprint(i)
				tx.Put(b, []byte(k), []byte(model[k]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	db.View(func(tx *store.Tx) error {
		if n := tx.Count(b); n != len(model) {
			t.Errorf("Count %d, want %d", n, len(model))
		}
		return nil
	})
	err := db.Update(func(tx *store.Tx) error {
		for i := range 60 { // this transaction's own writes and deletes, over the snapshot
			k := string(store.U64(uint64(rnd.IntN(1000) * 7)))
			if i%2 == 0 {
				delete(model, k)
				tx.Delete(b, []byte(k))
			} else {
				model[k] = "w" + fmt.Sprint(i)
				tx.Put(b, []byte(k), []byte(model[k]))
			}
		}
		keys := make([]string, 0, len(model))
		for k := range model {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		c := tx.Cursor(b)
		check := func(what string, k, v []byte, i int) {
			t.Helper()
			if i < 0 || i >= len(keys) {
				if k != nil {
					t.Fatalf("%s: got %q, want nothing", what, k)
				}
				return
			}
			if string(k) != keys[i] || string(v) != model[keys[i]] {
				t.Fatalf("%s: got %q=%q, want %q=%q", what, k, v, keys[i], model[keys[i]])
			}
		}
		k, v := c.First()
		for i := 0; i <= len(keys); i++ {
			check(fmt.Sprintf("next %d", i), k, v, i)
			k, v = c.Next()
		}
		k, v = c.Last()
		for i := len(keys) - 1; i >= -1; i-- {
			check(fmt.Sprintf("prev %d", i), k, v, i)
			k, v = c.Prev()
		}
		for range 200 {
			probe := string(store.U64(uint64(rnd.IntN(7100))))
			if rnd.IntN(3) == 0 {
				probe = fmt.Sprintf("s%03d", rnd.IntN(520))
			}
			i, found := slices.BinarySearch(keys, probe)
			k, v := c.Seek([]byte(probe))
			check("seek "+probe, k, v, i)
			if !found {
				i--
			}
			k, v = c.SeekLE([]byte(probe))
			check("seekLE "+probe, k, v, i)
			k, v = c.Prev()
			check("prev after seekLE", k, v, i-1)
		}
		var rev []string
		tx.ScanReverse(b, []byte("s"), nil, func(k, _ []byte) error { rev = append(rev, string(k)); return nil })
		var want []string
		for _, k := range slices.Backward(keys) {
			if bytes.HasPrefix([]byte(k), []byte("s")) {
				want = append(want, k)
			}
		}
		if !slices.Equal(rev, want) {
			t.Errorf("ScanReverse s: %d keys, want %d", len(rev), len(want))
		}
		if err := tx.Err(); err != nil {
			t.Fatal(err)
		}
		return errors.New("roll back")
	})
	if err == nil || err.Error() != "roll back" {
		t.Fatal(err)
	}
}

// TestEtcdLimits: a transaction over etcd's operation limit, and a value too large for a
// record, are refused with ETooLarge before etcd sees them, and nothing is written.
func TestEtcdLimits(t *testing.T) {
	db := engines[1].db(t)
	err := db.Update(func(tx *store.Tx) error {
		for i := range 200 {
			tx.Put(b, store.U64(uint64(i)), []byte("v"))
		}
		return nil
	})
	if certseal.ErrorCode(err) != certseal.ETooLarge {
		t.Fatalf("200 writes: %v, want %s", err, certseal.ETooLarge)
	}
	err = db.Update(func(tx *store.Tx) error { return tx.Put(b, []byte("big"), make([]byte, store.MaxEtcdValue+1)) })
	if certseal.ErrorCode(err) != certseal.ETooLarge {
		t.Fatalf("large value: %v, want %s", err, certseal.ETooLarge)
	}
	db.View(func(tx *store.Tx) error {
		if n := tx.Count(b); n != 0 {
			t.Errorf("%d keys written", n)
		}
		return nil
	})
}
