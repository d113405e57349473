package docstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"certseal/internal/docstore/weedtest"

	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) {
	code := m.Run()
	weedtest.CloseShared()
	os.Exit(code)
}

var prefixes atomic.Int64

// openS3 opens an S3 store on the shared SeaweedFS server under a new prefix of one bucket (a
// SeaweedFS bucket is a collection with volumes of its own: one for all tests keeps it quick).
func openS3(t *testing.T) *S3 {
	t.Helper()
	srv := weedtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenS3(ctx, S3Options{Endpoint: srv.Endpoint, Bucket: "certseal-test", Prefix: fmt.Sprintf("t%d/", prefixes.Add(1)),
		AccessKey: weedtest.AccessKey, SecretKey: weedtest.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestS3PutGetWalkDelete runs the document store's contract against a real SeaweedFS: Put
// then Get gives the bytes back, under the documents/xx/ key; a second Put keeps one object;
// Walk lists what is stored; Delete removes it, twice without error.
func TestS3PutGetWalkDelete(t *testing.T) {
	ctx := context.Background()
	s := openS3(t)
	doc := []byte("%PDF-1.7 a certificate in the object store")
	digest, err := s.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	if digest != Digest(doc) {
		t.Fatalf("digest %s, want %s", digest, Digest(doc))
	}
	raw, err := s.c.GetObject(ctx, s.bucket, s.prefix+digest[:2]+"/"+digest, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(raw)
	raw.Close()
	if !bytes.Equal(buf.Bytes(), doc) {
		t.Fatalf("object holds %q", buf.Bytes())
	}
	if got, err := s.Get(ctx, digest); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Get: %q %v", got, err)
	}
	if again, err := s.Put(ctx, doc); err != nil || again != digest {
		t.Fatalf("second Put: %s %v", again, err)
	}
	other, err := s.Put(ctx, []byte("another"))
	if err != nil {
		t.Fatal(err)
	}
	// an object that is not a document under its digest is not listed
	if _, err := s.c.PutObject(ctx, s.bucket, s.prefix+"zz/readme", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	var listed []string
	err = s.Walk(ctx, func(d string, size int64, written time.Time) error {
		listed = append(listed, d)
		if time.Since(written) > time.Hour || size <= 0 {
			t.Errorf("%s: size %d, written %v", d, size, written)
		}
		return nil
	})
	sort.Strings(listed)
	want := []string{digest, other}
	sort.Strings(want)
	if err != nil || fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Fatalf("Walk: %v %v, want %v", listed, err, want)
	}
	for range 2 {
		if err := s.Delete(ctx, digest); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Get(ctx, digest); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestS3RefusesDamagedAndMissing: an object changed behind certseal's back is reported as
// ErrCorrupt and never returned; a Put of the document repairs it; a missing object and a name
// that is not a digest are ErrNotFound.
func TestS3RefusesDamagedAndMissing(t *testing.T) {
	ctx := context.Background()
	s := openS3(t)
	doc := []byte("%PDF-1.7 certificate 2")
	digest, err := s.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(doc)
	bad[3] ^= 1
	if _, err := s.c.PutObject(ctx, s.bucket, s.key(digest), bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, digest); !errors.Is(err, ErrCorrupt) || got != nil {
		t.Fatalf("damaged: %q %v, want ErrCorrupt", got, err)
	}
	if _, err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, digest); err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("after repair: %q %v", got, err)
	}
	if _, err := s.Get(ctx, Digest([]byte("never stored"))); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v, want ErrNotFound", err)
	}
	for _, name := range []string{"", "../x", digest[:63]} {
		if _, err := s.Get(ctx, name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(%q): %v, want ErrNotFound", name, err)
		}
	}
}

// TestS3Collect: Collect over the object store removes the old unreferenced document only.
func TestS3Collect(t *testing.T) {
	ctx := context.Background()
	s := openS3(t)
	kept, err1 := s.Put(ctx, []byte("referenced"))
	orphan, err2 := s.Put(ctx, []byte("orphan"))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	removed, err := Collect(ctx, s, time.Now().Add(time.Minute), func(ds []string) (map[string]bool, error) {
		return map[string]bool{kept: true}, nil
	})
	if err != nil || fmt.Sprint(removed) != fmt.Sprint([]string{orphan}) {
		t.Fatalf("Collect removed %v (%v), want %v", removed, err, orphan)
	}
	if _, err := s.Get(ctx, kept); err != nil {
		t.Fatal(err)
	}
}

// TestS3Unreachable: an object store that does not answer is an error from OpenS3, not a hang
// past the context's deadline.
func TestS3Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := OpenS3(ctx, S3Options{Endpoint: "127.0.0.1:1", Bucket: "x"})
	if err == nil {
		t.Fatal("OpenS3 on a closed port: nil error")
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("OpenS3 took %v", time.Since(start))
	}
}
