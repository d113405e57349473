package store_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certseal/internal/store"
)

// sample writes a small database with nested, inline and multi-page buckets and big values
// (overflow pages) and returns its bytes.
func sample(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *store.Tx) error {
		for i := 0; i < 400; i++ {
			if err := tx.Put("many", store.U64(uint64(i)), bytes.Repeat([]byte{byte(i)}, 40)); err != nil {
				return err
			}
		}
		for i := 0; i < 3; i++ {
			if err := tx.Put("big", store.U64(uint64(i)), bytes.Repeat([]byte("%PDF"), 3000)); err != nil {
				return err
			}
		}
		return tx.Put("small", []byte("k"), []byte("v"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func pageSizeOf(raw []byte) int { return int(binary.NativeEndian.Uint32(raw[16+8:])) }

// hwmOf returns the high-water mark of the newer meta page.
func hwmOf(raw []byte) int {
	ne, ps := binary.NativeEndian, pageSizeOf(raw)
	best, hwm := uint64(0), uint64(0)
	for i := 0; i < 2; i++ {
		m := raw[i*ps+16:]
		if txid := ne.Uint64(m[48:]); txid >= best {
			best, hwm = txid, ne.Uint64(m[40:])
		}
	}
	return int(hwm)
}

func writeTemp(t testing.TB, raw []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), store.FileName)
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenRefusesDamagedFile: each kind of damage is refused by Open, for writing and for
// reading, with a *CorruptError naming the file and saying to restore from a backup, and the
// file's bytes and modification time are unchanged.
func TestOpenRefusesDamagedFile(t *testing.T) {
	good := sample(t)
	ps := pageSizeOf(good)
	flip := func(off int) []byte { b := bytes.Clone(good); b[off] ^= 0x20; return b }
	tests := map[string]struct {
		raw    []byte
		reason string
	}{
		"empty":                {nil, "文件为空"},
		"garbage":              {bytes.Repeat([]byte{0xa5}, 8*ps), "没有数据库文件的标记"},
		"truncated to half":    {good[:len(good)/2], "文件被截断了"},
		"one page short":       {good[:(hwmOf(good)-1)*ps], "文件被截断了"},
		"meta 0 checksum":      {flip(16 + 56), "校验和不符"},
		"meta 0 high water":    {flip(16 + 40), "校验和不符"},
		"meta 1 root":          {flip(ps + 16 + 16), "校验和不符"},
		"meta 1 magic":         {flip(ps + 16), "没有数据库文件的标记"},
		"meta 0 page type":     {flip(8), "不是元数据页"},
		"shorter than a meta":  {good[:40], "不完整"},
		"a data page's type":   {flip(2*ps + 8), "类型标记"},
		"a data page's id":     {flip(3*ps + 1), "页头写着页号"},
		"a data page's count":  {flip(2*ps + 11), ""},
		"a data page's first":  {flip(2*ps + 16 + 4), ""},
		"a data page's second": {flip(3*ps + 16 + 7), ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := writeTemp(t, tc.raw)
			old := time.Now().Add(-time.Hour).Truncate(time.Second)
			os.Chtimes(path, old, old)
			for _, ro := range []bool{false, true} {
				db, err := store.Open(path, &store.Options{ReadOnly: ro, Timeout: time.Second})
				if err == nil {
					db.Close()
					if tc.reason != "" {
						t.Fatalf("read-only %v: opened", ro)
					}
					continue // a flip bbolt does not depend on at open; the walk below decides
				}
				var ce *store.CorruptError
				if !errors.As(err, &ce) || !errors.Is(err, store.ErrCorrupt) {
					t.Fatalf("read-only %v: %v is not a *CorruptError", ro, err)
				}
				for _, want := range []string{"数据库文件已损坏", "请从备份恢复", path, tc.reason} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("read-only %v: %q lacks %q", ro, err, want)
					}
				}
			}
			after, _ := os.ReadFile(path)
			st, _ := os.Stat(path)
			if !bytes.Equal(after, tc.raw) || !st.ModTime().Equal(old) {
				t.Errorf("the file was changed (mtime %v, was %v)", st.ModTime(), old)
			}
		})
	}
}

// TestOpenNeverCrashesOnFlippedBytes flips, one at a time, each byte of the page headers and
// of the first and last element of every page of a small database: Open either refuses the file
// or opens it, and then reading every bucket through the store does not panic or fault.
func TestOpenNeverCrashesOnFlippedBytes(t *testing.T) {
	good := sample(t)
	ps := pageSizeOf(good)
	path := writeTemp(t, good)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	refused, failed, opened := 0, 0, 0
	cp := filepath.Join(t.TempDir(), "copy.db")
	readAll := func(db *store.DB) {
		db.View(func(tx *store.Tx) error {
			for _, bk := range []store.Bucket{"many", "big", "small", store.Meta} {
				tx.Scan(bk, nil, nil, func(k, v []byte) error { return nil })
				tx.ScanReverse(bk, nil, nil, func(k, v []byte) error { return nil })
			}
			return nil
		})
	}
	try := func(pg, off int, mask byte) {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("page %d byte %d ^%#x: panic %v", pg, off-pg*ps, mask, p)
			}
		}()
		f.WriteAt([]byte{good[off] ^ mask}, int64(off))
		defer f.WriteAt(good[off:off+1], int64(off))
		db, err := store.Open(path, &store.Options{NoSync: true, ReadOnly: true})
		switch {
		case errors.Is(err, store.ErrCorrupt):
			refused++
			return
		case err != nil:
			failed++ // e.g. a bucket that lost its bucket flag: bbolt reports it, without harm
			return
		}
		opened++
		readAll(db)
		db.Close()
		// for writing, bbolt walks the page tree at open (NoFreelistSync): on a copy
		raw, _ := os.ReadFile(path)
		if err := os.WriteFile(cp, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if db, err = store.Open(cp, &store.Options{NoSync: true}); err == nil {
			readAll(db)
			db.Close()
		}
	}
	for pg := 2; pg < hwmOf(good); pg++ {
		base := pg * ps
		if fl := binary.NativeEndian.Uint16(good[base+8:]); fl != 1 && fl != 2 {
			continue // an overflow or free page
		}
		count := int(binary.NativeEndian.Uint16(good[base+10:]))
		offs := []int{}
		for i := 0; i < 16; i++ {
			offs = append(offs, base+i, base+16+i, base+16+16*max(count-1, 0)+i)
		}
		for _, off := range offs {
			for _, mask := range []byte{0x01, 0x80} {
				try(pg, off, mask)
			}
		}
	}
	t.Logf("%d damaged files refused, %d opened with an error, %d opened (the flip hit bytes bbolt does not rely on)", refused, failed, opened)
	if refused == 0 {
		t.Fatal("no flip was refused")
	}
	if err := store.CheckFile(path, store.CheckFull); err != nil {
		t.Fatalf("the restored file: %v", err)
	}
}

// TestCheckFileLevels: both levels pass a sound file and a missing one and refuse a short one.
func TestCheckFileLevels(t *testing.T) {
	good := sample(t)
	path := writeTemp(t, good)
	for _, level := range []store.CheckLevel{store.CheckQuick, store.CheckFull} {
		if err := store.CheckFile(path, level); err != nil {
			t.Fatalf("level %d on a sound file: %v", level, err)
		}
	}
	if err := store.CheckFile(filepath.Join(t.TempDir(), "missing.db"), store.CheckFull); err != nil {
		t.Fatalf("a missing file: %v", err)
	}
	bad := writeTemp(t, good[:(hwmOf(good)-1)*pageSizeOf(good)])
	for _, level := range []store.CheckLevel{store.CheckQuick, store.CheckFull} {
		if err := store.CheckFile(bad, level); !errors.Is(err, store.ErrCorrupt) {
			t.Fatalf("level %d on a file one page short: %v", level, err)
		}
	}
}

// TestCheckFileWithSyncedFreelist: a file written by bbolt with its free list on disk (as
// certseal did before NoFreelistSync) passes the check, free-list page and all.
func TestCheckFileWithSyncedFreelist(t *testing.T) {
	path := filepath.Join(t.TempDir(), store.FileName)
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		err := bdb.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("t"))
			if err != nil {
				return err
			}
			for i := 0; i < 3000; i++ {
				k := store.U64(uint64(i))
				if round == 1 && i%2 == 0 {
					if err := bk.Delete(k); err != nil {
						return err
					}
					continue
				}
				if err := bk.Put(k, bytes.Repeat([]byte{byte(round)}, 1000)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	bdb.Close()
	for _, level := range []store.CheckLevel{store.CheckQuick, store.CheckFull} {
		if err := store.CheckFile(path, level); err != nil {
			t.Fatalf("level %d: %v", level, err)
		}
	}
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}
