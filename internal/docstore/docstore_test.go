package docstore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

func open(t *testing.T) *Dir {
	t.Helper()
	d, err := OpenDir(filepath.Join(t.TempDir(), DirName), false)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPutGet(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	doc := []byte("%PDF-1.7 a certificate")
	digest, err := d.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if digest != Digest(doc) || !ValidDigest(digest) {
		t.Fatalf("digest %s, want %s", digest, Digest(doc))
	}
	onDisk, err := os.ReadFile(filepath.Join(d.Root(), digest[:2], digest))
	if err != nil || !bytes.Equal(onDisk, doc) {
		t.Fatalf("file: %q %v", onDisk, err)
	}
	got, err := d.Get(ctx, digest)
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Get: %q %v", got, err)
	}
	// Putting the same document again keeps one file.
	if again, err := d.Put(ctx, doc); err != nil || again != digest {
		t.Fatalf("second Put: %s %v", again, err)
	}
	ents, _ := os.ReadDir(filepath.Join(d.Root(), digest[:2]))
	if len(ents) != 1 {
		t.Fatalf("%d files after two Puts of one document", len(ents))
	}
}

func TestGetRefusesDamagedAndMissing(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	doc := []byte("%PDF-1.7 another certificate")
	digest, err := d.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte{}, doc...)
	bad[3] ^= 1
	if err := os.WriteFile(d.Path(digest), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(ctx, digest); !errors.Is(err, ErrCorrupt) || got != nil {
		t.Fatalf("damaged: %q %v, want ErrCorrupt and nothing", got, err)
	}
	// A Put of the document replaces the damaged file.
	if _, err := d.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Get(ctx, digest); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("after repair: %q %v", got, err)
	}
	os.Remove(d.Path(digest))
	if _, err := d.Get(ctx, digest); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	for _, name := range []string{"", "../../etc/passwd", digest[:63], "G" + digest[1:]} {
		if _, err := d.Get(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get(%q): %v, want ErrNotFound", name, err)
		}
	}
}

func TestOpenRemovesTemporaryFiles(t *testing.T) {
	d := open(t)
	tmp := filepath.Join(d.Root(), "ab", tempPrefix+"abcdef-1")
	if err := os.WriteFile(tmp, []byte("half a PDF"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenDir(d.Root(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file left: %v", err)
	}
}

func TestCollectRemovesOldUnreferenced(t *testing.T) {
	ctx := context.Background()
	d := open(t)
	var all []string
	for _, s := range []string{"kept", "orphan", "young orphan"} {
		digest, err := d.Put(ctx, []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, digest)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(d.Path(all[0]), old, old)
	os.Chtimes(d.Path(all[1]), old, old)
	var asked []string
	removed, err := Collect(ctx, d, time.Now().Add(-time.Hour), func(ds []string) (map[string]bool, error) {
		asked = append(asked, ds...)
		return map[string]bool{all[0]: true}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(asked)
	want := []string{all[0], all[1]}
	sort.Strings(want)
	if len(removed) != 1 || removed[0] != all[1] || len(asked) != 2 || asked[0] != want[0] || asked[1] != want[1] {
		t.Fatalf("removed %v (asked about %v), want only %s", removed, asked, all[1])
	}
	for i, want := range []bool{true, false, true} {
		_, err := d.Get(ctx, all[i])
		if (err == nil) != want {
			t.Fatalf("document %d present=%v, want %v", i, err == nil, want)
		}
	}
}
