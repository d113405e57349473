package store

import (
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "g.db"), &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestLoneBatchCommitsAtOnce: a lone Batch runs its function and commits in the caller's own
// goroutine, at once, instead of waiting for a timer to fire for company (bbolt's Batch runs it
// from the timer's goroutine after MaxBatchDelay).
func TestLoneBatchCommitsAtOnce(t *testing.T) {
	db := openInternal(t)
	var stack string
	err := db.Batch(func(tx *Tx) error {
		buf := make([]byte, 64<<10)
		stack = string(buf[:runtime.Stack(buf, false)])
		return tx.Put("t", []byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stack, "TestLoneBatchCommitsAtOnce") {
		t.Fatalf("the lone batch function did not run in the caller's goroutine:\n%s", stack)
	}
}

// TestBatchWritersDuringACommitJoinTheNext: while one Batch commits, the writers that arrive
// queue up and all go in the one commit after it (leader/follower group commit), and a function
// that fails hears its own error while the others of its group commit.
func TestBatchWritersDuringACommitJoinTheNext(t *testing.T) {
	db := openInternal(t)
	inside, release := make(chan struct{}), make(chan struct{})
	var firstTx int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		db.Batch(func(tx *Tx) error {
			firstTx = tx.e.(boltTx).tx.ID()
			close(inside)
			<-release
			return tx.Put("t", []byte("first"), nil)
		})
	}()
	<-inside
	const n = 10
	txOf := make([]int, n)
	errs := make([]error, n)
	boom := errors.New("boom")
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Batch(func(tx *Tx) error {
				txOf[i] = tx.e.(boltTx).tx.ID()
				if i == 3 {
					return boom
				}
				return tx.Put("t", []byte{byte('a' + i)}, nil)
			})
		}()
	}
	for { // wait until all n are queued behind the running commit
		db.group.mu.Lock()
		q := len(db.group.queue)
		db.group.mu.Unlock()
		if q == n {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i := 0; i < n; i++ {
		if i == 3 {
			if !errors.Is(errs[i], boom) {
				t.Fatalf("failing function: %v", errs[i])
			}
			continue
		}
		if errs[i] != nil || txOf[i] != firstTx+1 {
			t.Fatalf("writer %d: %v, committed in transaction %d, want %d (the one after %d)", i, errs[i], txOf[i], firstTx+1, firstTx)
		}
	}
	db.View(func(tx *Tx) error {
		if got := tx.Count("t"); got != n {
			t.Fatalf("%d keys, want %d", got, n)
		}
		return nil
	})
}

// TestBatchPanicIsAnError: a panic in one writer's function becomes that writer's error and
// does not take down the goroutine that ran it.
func TestBatchPanicIsAnError(t *testing.T) {
	db := openInternal(t)
	err := db.Batch(func(tx *Tx) error { panic("bad") })
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("panic: %v", err)
	}
	if err := db.Batch(func(tx *Tx) error { return tx.Put("t", []byte("k"), nil) }); err != nil {
		t.Fatal(err)
	}
}
