package store_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"certseal/internal/store"
)

const b store.Bucket = "t"

func open(t testing.TB) *store.DB { return engines[0].db(t) }

func keys(t *testing.T, db *store.DB, scan func(tx *store.Tx, fn func(k, v []byte) error) error) string {
	t.Helper()
	var out []string
	err := db.View(func(tx *store.Tx) error {
		return scan(tx, func(k, _ []byte) error { out = append(out, string(k)); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ",")
}

func TestScan(t *testing.T) { forEngines(t, testScan) }

func testScan(t *testing.T, e engine) {
	db := e.db(t)
	err := db.Update(func(tx *store.Tx) error {
		for _, k := range []string{"a", "b1", "b2", "b3", "c"} {
			if err := tx.Put(b, []byte(k), []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		scan func(tx *store.Tx, fn func(k, v []byte) error) error
		want string
	}{
		"prefix":         {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.Scan(b, []byte("b"), nil, fn) }, "b1,b2,b3"},
		"prefix after":   {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.Scan(b, []byte("b"), []byte("b1"), fn) }, "b2,b3"},
		"all":            {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.Scan(b, nil, nil, fn) }, "a,b1,b2,b3,c"},
		"reverse prefix": {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.ScanReverse(b, []byte("b"), nil, fn) }, "b3,b2,b1"},
		"reverse before": {func(tx *store.Tx, fn func(k, v []byte) error) error {
			return tx.ScanReverse(b, []byte("b"), []byte("b3"), fn)
		}, "b2,b1"},
		"reverse all":    {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.ScanReverse(b, nil, nil, fn) }, "c,b3,b2,b1,a"},
		"missing bucket": {func(tx *store.Tx, fn func(k, v []byte) error) error { return tx.Scan("none", nil, nil, fn) }, ""},
		"stop after two": {func(tx *store.Tx, fn func(k, v []byte) error) error {
			n := 0
			return tx.Scan(b, nil, nil, func(k, v []byte) error {
				if n == 2 {
					return store.ErrStop
				}
				n++
				return fn(k, v)
			})
		}, "a,b1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := keys(t, db, tc.scan); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	db.View(func(tx *store.Tx) error {
		c := tx.Cursor(b)
		for probe, want := range map[string]string{"b2": "b2", "b25": "b2", "a0": "a", "0": "", "z": "c"} {
			k, _ := c.SeekLE([]byte(probe))
			if string(k) != want {
				t.Errorf("SeekLE(%q) = %q, want %q", probe, k, want)
			}
		}
		return nil
	})
}

func TestUpdateRollsBackOnError(t *testing.T) { forEngines(t, testUpdateRollsBackOnError) }

func testUpdateRollsBackOnError(t *testing.T, e engine) {
	db := e.db(t)
	hook := false
	err := db.Update(func(tx *store.Tx) error {
		tx.Put(b, []byte("k"), []byte("v"))
		tx.OnCommit(func() { hook = true })
		return errors.New("no")
	})
	if err == nil || hook {
		t.Fatalf("err %v, hook ran %v", err, hook)
	}
	db.View(func(tx *store.Tx) error {
		if tx.Get(b, []byte("k")) != nil {
			t.Error("rolled-back write is visible")
		}
		return nil
	})
}

// TestBatchHooksRunOnce runs concurrent Batch calls, one of which fails: the others commit and
// each successful call's hook runs exactly once.
func TestBatchHooksRunOnce(t *testing.T) { forEngines(t, testBatchHooksRunOnce) }

func testBatchHooksRunOnce(t *testing.T, e engine) {
	db := e.db(t)
	var mu sync.Mutex
	hooks := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := db.Batch(func(tx *store.Tx) error {
				if err := tx.Put(b, []byte(fmt.Sprint(i)), []byte("v")); err != nil {
					return err
				}
				tx.OnCommit(func() { mu.Lock(); hooks[i]++; mu.Unlock() })
				if i == 7 {
					return errors.New("seven fails")
				}
				return nil
			})
			if (err != nil) != (i == 7) {
				t.Errorf("batch %d: err %v", i, err)
			}
		}(i)
	}
	wg.Wait()
	for i := 0; i < 50; i++ {
		want := 1
		if i == 7 {
			want = 0
		}
		if hooks[i] != want {
			t.Errorf("hook %d ran %d times, want %d", i, hooks[i], want)
		}
	}
	db.View(func(tx *store.Tx) error {
		if n := tx.Count(b); n != 49 {
			t.Errorf("%d keys, want 49", n)
		}
		return nil
	})
}

func TestGetReturnsACopy(t *testing.T) { forEngines(t, testGetReturnsACopy) }

func testGetReturnsACopy(t *testing.T, e engine) {
	db := e.db(t)
	db.Update(func(tx *store.Tx) error { return tx.Put(b, []byte("k"), []byte("value")) })
	var got []byte
	db.View(func(tx *store.Tx) error { got = tx.Get(b, []byte("k")); return nil })
	for i := 0; i < 100; i++ {
		db.Update(func(tx *store.Tx) error { return tx.Put(b, []byte(fmt.Sprint("x", i)), make([]byte, 1000)) })
	}
	if string(got) != "value" {
		t.Errorf("value read earlier changed to %q", got)
	}
}

func TestMigrations(t *testing.T) { forEngines(t, testMigrations) }

func testMigrations(t *testing.T, e engine) {
	path := e.where(t)
	db, err := e.open(t, path)
	if err != nil {
		t.Fatal(err)
	}
	base := store.SchemaVersion()
	steps := append([]store.Migration{}, store.Migrations...)
	steps = append(steps, store.Migration{To: base + 1, Name: "add greeting", Up: func(tx *store.Tx) error {
		return tx.Put(b, []byte("greeting"), []byte("你好"))
	}})
	if err := store.Migrate(db, steps); err != nil {
		t.Fatal(err)
	}
	failing := append(steps, store.Migration{To: base + 2, Name: "broken", Up: func(tx *store.Tx) error {
		tx.Put(b, []byte("half"), []byte("done"))
		return errors.New("disk on fire")
	}})
	if err := store.Migrate(db, failing); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("failing migration: err %v", err)
	}
	db.View(func(tx *store.Tx) error {
		if v := tx.Version(); v != base+1 {
			t.Errorf("version %d, want %d", v, base+1)
		}
		if string(tx.Get(b, []byte("greeting"))) != "你好" || tx.Get(b, []byte("half")) != nil {
			t.Error("migration effects wrong")
		}
		return nil
	})
	db.Close()
	// this program's schema is older than the file's: refuse to start rather than guess
	if _, err := e.open(t, path); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("opening a newer schema: err %v", err)
	}
}

func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "live.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Update(func(tx *store.Tx) error { return tx.Put(b, []byte("before"), []byte("1")) })
	// a backup taken while a writer is busy is a consistent snapshot
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			db.Update(func(tx *store.Tx) error { return tx.Put(b, []byte(fmt.Sprintf("w%03d", i)), []byte("x")) })
		}
	}()
	copyPath := filepath.Join(dir, "copy.db")
	if err := db.BackupFile(copyPath); err != nil {
		t.Fatal(err)
	}
	<-done
	if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	restored, err := store.Open(copyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	restored.View(func(tx *store.Tx) error {
		if string(tx.Get(b, []byte("before"))) != "1" {
			t.Error("restored copy lacks data written before the backup")
		}
		n := 0
		tx.Scan(b, []byte("w"), nil, func(k, v []byte) error { n++; return nil })
		if tx.Version() != store.SchemaVersion() {
			t.Errorf("restored version %d", tx.Version())
		}
		t.Logf("backup caught %d of 200 concurrent writes", n)
		return nil
	})
}

func TestOpenLockedFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := store.Open(path, &store.Options{Timeout: 50e6}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v", err)
	}
}

func BenchmarkPut(bm *testing.B) {
	for _, sync := range []bool{true, false} {
		bm.Run(fmt.Sprintf("fsync=%v", sync), func(bm *testing.B) {
			db, err := store.Open(filepath.Join(bm.TempDir(), "b.db"), &store.Options{NoSync: !sync})
			if err != nil {
				bm.Fatal(err)
			}
			defer db.Close()
			val := make([]byte, 512)
			bm.ResetTimer()
			for i := 0; i < bm.N; i++ {
				if err := db.Update(func(tx *store.Tx) error { return tx.Put(b, store.U64(uint64(i)), val) }); err != nil {
					bm.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBatchPut measures group commit: 16 goroutines writing with fsync on.
func BenchmarkBatchPut(bm *testing.B) {
	db, err := store.Open(filepath.Join(bm.TempDir(), "b.db"), nil)
	if err != nil {
		bm.Fatal(err)
	}
	defer db.Close()
	val := make([]byte, 512)
	var n uint64
	var mu sync.Mutex
	bm.SetParallelism(8)
	bm.ResetTimer()
	bm.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			if err := db.Batch(func(tx *store.Tx) error { return tx.Put(b, store.U64(k), val) }); err != nil {
				bm.Fatal(err)
			}
		}
	})
}

func TestPage(t *testing.T) { forEngines(t, testPage) }

func testPage(t *testing.T, e engine) {
	db := e.db(t)
	type rec struct{ N int }
	db.Update(func(tx *store.Tx) error {
		for i := 1; i <= 10; i++ {
			tx.PutJSON(b, store.U64(uint64(i)), rec{i})
		}
		return nil
	})
	even := func(r *rec) bool { return r.N%2 == 0 }
	var got []int
	var after []byte
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var page []rec
		err := db.View(func(tx *store.Tx) error {
			var err error
			page, after, err = store.Page(tx, b, nil, after, 2, even)
			return err
		})
		if err != nil || len(page) > 2 {
			t.Fatalf("page %v: %v", page, err)
		}
		for _, r := range page {
			got = append(got, r.N)
		}
		if after == nil {
			break
		}
	}
	if fmt.Sprint(got) != "[2 4 6 8 10]" {
		t.Fatalf("pages gave %v", got)
	}
}
