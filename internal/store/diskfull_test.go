package store_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"certseal"
	"certseal/internal/store"
)

// TestFullFilesystem fills a real 2 MB tmpfs (it needs root to mount one, as CI runs): the write
// that finds no space fails with a *DiskFullError that is ENOSPC, code unavailable and the disk
// full message, the database says it is failing to write, every acknowledged write is there
// after reopening, and once space is freed a write succeeds and clears the state.
func TestFullFilesystem(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 512<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, store.FileName)
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	val := bytes.Repeat([]byte("0123456789abcdef"), 2048) // 32 KB
	var acked int
	var werr error
	for i := 1; i <= 200; i++ {
		if werr = db.Update(func(tx *store.Tx) error { return tx.Put(b, store.U64(uint64(i)), val) }); werr != nil {
			break
		}
		acked = i
	}
	if werr == nil {
		t.Fatal("the 2 MB file system never filled up")
	}
	var d *store.DiskFullError
	if !errors.As(werr, &d) || !errors.Is(werr, syscall.ENOSPC) || certseal.ErrorCode(werr) != certseal.EUnavailable || certseal.ErrorMessage(werr) != store.MsgDiskFull {
		t.Fatalf("the failed write: %v (code %s)", werr, certseal.ErrorCode(werr))
	}
	if db.WriteFailing() == nil {
		t.Fatal("the database does not say it is failing to write")
	}
	t.Logf("%d writes of 32 KB acknowledged before: %v", acked, werr)
	count := func() int {
		n := 0
		db.View(func(tx *store.Tx) error {
			return tx.Scan(b, nil, nil, func(k, v []byte) error {
				if bytes.Equal(v, val) {
					n++
				}
				return nil
			})
		})
		return n
	}
	if n := count(); n != acked {
		t.Fatalf("%d of %d acknowledged writes readable", n, acked)
	}
	db.Close()
	if db, err = store.Open(path, nil); err != nil {
		t.Fatalf("reopen on the full file system: %v", err)
	}
	if n := count(); n != acked {
		t.Fatalf("after reopening, %d of %d acknowledged writes", n, acked)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *store.Tx) error { return tx.Put(b, store.U64(uint64(acked+1)), val) }); err != nil {
		t.Fatalf("a write after space was freed: %v", err)
	}
	if err := db.WriteFailing(); err != nil {
		t.Fatalf("still failing after a write succeeded: %v", err)
	}
}

// TestInjectedWriteFault: an injected ENOSPC fails the commit like the file layer would:
// nothing is written, the OnCommit functions do not run, Update and Batch return the
// *DiskFullError, and the first commit after the fault is lifted clears the failing state.
// Other errors pass through unchanged and leave the state alone.
func TestInjectedWriteFault(t *testing.T) {
	db := open(t)
	pathErr := &os.PathError{Op: "write", Path: db.Path(), Err: syscall.ENOSPC}
	tests := map[string]struct {
		fault    error
		diskFull bool
	}{
		"ENOSPC":            {pathErr, true},
		"EDQUOT":            {&os.PathError{Op: "write", Path: db.Path(), Err: syscall.EDQUOT}, true},
		"bbolt's %s resize": {errors.New("file resize error: " + pathErr.Error()), true},
		"another error":     {errors.New("something else"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			db.InjectWriteFault(tc.fault)
			hook := false
			for _, write := range []func(func(*store.Tx) error) error{db.Update, db.Batch} {
				err := write(func(tx *store.Tx) error {
					tx.OnCommit(func() { hook = true })
					return tx.Put(b, []byte("k-"+name), []byte("v"))
				})
				if err == nil {
					t.Fatal("the write succeeded")
				}
				if got := errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT); got != tc.diskFull {
					t.Fatalf("%v: errno in chain %v", err, got)
				}
				if tc.diskFull && (certseal.ErrorCode(err) != certseal.EUnavailable || db.WriteFailing() == nil) {
					t.Fatalf("%v: code %s, failing %v", err, certseal.ErrorCode(err), db.WriteFailing())
				}
				if !tc.diskFull && (certseal.ErrorCode(err) != certseal.EInternal || db.WriteFailing() != nil) {
					t.Fatalf("%v: code %s, failing %v", err, certseal.ErrorCode(err), db.WriteFailing())
				}
			}
			if hook {
				t.Fatal("an OnCommit function ran for a failed commit")
			}
			db.View(func(tx *store.Tx) error {
				if tx.Has(b, []byte("k-"+name)) {
					t.Fatal("the failed write was stored")
				}
				return nil
			})
			db.InjectWriteFault(nil)
			if err := db.ProbeWrite("now"); err != nil || db.WriteFailing() != nil {
				t.Fatalf("after the fault: %v, failing %v", err, db.WriteFailing())
			}
		})
	}
}
