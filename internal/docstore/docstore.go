// Package docstore keeps documents (the signed PDFs of certificates, and later OFDs) outside the
// key/value database, named by the SHA-256 of their content. The database records the digest;
// the document is written, durably, before the commit that records it, and every read checks the
// content against its name, so a damaged or missing document is reported and never served.
//
// Store is the small interface the domain uses; Dir is the implementation over a directory of the
// data directory. An object store (S3 and the like) can stand in for Dir in a cluster: Put must
// be durable when it returns, Get must check the digest (Verify does it), and Walk lists what is
// stored so that orphans can be collected (Collect) and a check can report what is missing.
package docstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) by Get when no document has the digest.
var ErrNotFound = errors.New("document not found")

// ErrCorrupt is returned (wrapped) by Get when the stored bytes do not have the digest they are
// stored under.
var ErrCorrupt = errors.New("document does not match its digest")

// MaxSize is the largest document Put accepts and Get reads (a certificate is about 100 KB).
const MaxSize = 64 << 20

// Store holds documents by the hexadecimal SHA-256 of their content.
type Store interface {
	// Put stores data and returns its digest. When it returns nil the document is durable: it
	// survives a crash, so a database commit that refers to it may follow.
	Put(ctx context.Context, data []byte) (string, error)
	// Get returns the document with the digest, checked against it: an error wrapping
	// ErrNotFound when there is none, ErrCorrupt when the stored bytes do not match.
	Get(ctx context.Context, digest string) ([]byte, error)
	// Delete removes the document; removing a missing one is not an error.
	Delete(ctx context.Context, digest string) error
	// Walk calls fn for every stored document (its digest, size and the time it was last
	// written), in no particular order. An error from fn ends the walk and is returned.
	Walk(ctx context.Context, fn func(digest string, size int64, written time.Time) error) error
}

// Digest returns the hexadecimal SHA-256 of data, the name Put stores it under.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ValidDigest reports whether d is a digest as Digest writes it: 64 lower-case hexadecimal
// digits.
func ValidDigest(d string) bool {
	if len(d) != 64 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Verify returns data when it has the digest, and an error wrapping ErrCorrupt otherwise.
func Verify(digest string, data []byte) ([]byte, error) {
	if got := Digest(data); got != digest {
		return nil, fmt.Errorf("document %s: %w (stored bytes: %d, SHA-256 %s)", digest, ErrCorrupt, len(data), got)
	}
	return data, nil
}

// Dir is a Store over a directory: the document with digest d is the file <dir>/d[:2]/d. Put
// writes a temporary file, fsyncs it, renames it to its name and fsyncs the directory.
type Dir struct {
	root   string
	noSync bool
}

// DirName is the document directory's name inside the data directory.
const DirName = "documents"

const tempPrefix = ".tmp-"

// OpenDir opens (creating when needed) the document directory root. Temporary files left by a
// crash in the middle of a Put are removed, so call it while holding the data directory (the
// database's lock). noSync skips the fsyncs (tests and benchmarks that say so).
func OpenDir(root string, noSync bool) (*Dir, error) {
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("document directory: %w", err)
	}
	d := &Dir{root: root, noSync: noSync}
	for i := 0; i < 256; i++ {
		sub := filepath.Join(root, fmt.Sprintf("%02x", i))
		if err := os.Mkdir(sub, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("document directory: %w", err)
		}
		ents, err := os.ReadDir(sub)
		if err != nil {
			return nil, fmt.Errorf("document directory: %w", err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				os.Remove(filepath.Join(sub, e.Name()))
			}
		}
	}
	if err := d.syncDir(root); err != nil {
		return nil, err
	}
	return d, nil
}

// OpenReadOnly returns the document directory root for reading (Get, Walk) without creating or
// cleaning it, for the commands that inspect a stopped service's data.
func OpenReadOnly(root string) *Dir { return &Dir{root: root, noSync: true} }

// Root returns the directory.
func (d *Dir) Root() string { return d.root }

// Path returns the file of the document with the digest (which must be valid).
func (d *Dir) Path(digest string) string { return filepath.Join(d.root, digest[:2], digest) }

// Put stores data under its digest. A document already stored intact is kept (its time is
// renewed, so that Collect's grace period counts from this Put); a damaged one is replaced.
func (d *Dir) Put(ctx context.Context, data []byte) (string, error) {
	if len(data) > MaxSize {
		return "", fmt.Errorf("document of %d bytes: larger than %d", len(data), MaxSize)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	digest := Digest(data)
	path := d.Path(digest)
	if old, err := d.read(path); err == nil && Digest(old) == digest {
		now := time.Now()
		if err := os.Chtimes(path, now, now); err != nil {
			return "", fmt.Errorf("document %s: %w", digest, err)
		}
		return digest, nil
	}
	dir := filepath.Dir(path)
	var r [8]byte
	rand.Read(r[:])
	tmp := filepath.Join(dir, tempPrefix+digest[:16]+"-"+hex.EncodeToString(r[:]))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("document %s: %w", digest, err)
	}
	_, err = f.Write(data)
	if err == nil && !d.noSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("document %s: %w", digest, err)
	}
	if err := d.syncDir(dir); err != nil {
		return "", fmt.Errorf("document %s: %w", digest, err)
	}
	return digest, nil
}

func (d *Dir) syncDir(dir string) error {
	if d.noSync {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// read reads a file of at most MaxSize bytes.
func (d *Dir) read(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than %d", path, st.Size(), MaxSize)
	}
	buf := make([]byte, st.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// Get reads the document and checks it against its digest.
func (d *Dir) Get(ctx context.Context, digest string) ([]byte, error) {
	if !ValidDigest(digest) {
		return nil, fmt.Errorf("document %q: %w", digest, ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := d.read(d.Path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("document %s: %w", digest, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("document %s: %w", digest, err)
	}
	return Verify(digest, data)
}

// Delete removes the document's file.
func (d *Dir) Delete(ctx context.Context, digest string) error {
	if !ValidDigest(digest) {
		return nil
	}
	err := os.Remove(d.Path(digest))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("document %s: %w", digest, err)
	}
	return nil
}

// Walk lists the documents' files. Files whose names are not digests in their right
// subdirectory (temporary files among them) are skipped.
func (d *Dir) Walk(ctx context.Context, fn func(digest string, size int64, written time.Time) error) error {
	for i := 0; i < 256; i++ {
		sub := fmt.Sprintf("%02x", i)
		ents, err := os.ReadDir(filepath.Join(d.root, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("document directory: %w", err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			name := e.Name()
			if !ValidDigest(name) || name[:2] != sub || !e.Type().IsRegular() {
				continue
			}
			info, err := e.Info()
			if errors.Is(err, os.ErrNotExist) {
				continue // removed meanwhile
			}
			if err != nil {
				return fmt.Errorf("document directory: %w", err)
			}
			if err := fn(name, info.Size(), info.ModTime()); err != nil {
				return err
			}
		}
	}
	return nil
}

// Collect removes the documents written before `before` that referenced reports unreferenced
// (documents whose database commit never happened: a crash or a failed commit after Put), and
// returns their digests. The grace period (before) must be longer than any Put-to-commit interval,
// so a document whose commit is still coming is never removed.
func Collect(ctx context.Context, s Store, before time.Time, referenced func(digests []string) (map[string]bool, error)) ([]string, error) {
	var old []string
	if err := s.Walk(ctx, func(digest string, _ int64, written time.Time) error {
		if written.Before(before) {
			old = append(old, digest)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var removed []string
	for len(old) > 0 {
		chunk := old[:min(len(old), 1000)]
		old = old[len(chunk):]
		refs, err := referenced(chunk)
		if err != nil {
			return removed, err
		}
		for _, d := range chunk {
			if refs[d] {
				continue
			}
			if err := s.Delete(ctx, d); err != nil {
				return removed, err
			}
			removed = append(removed, d)
		}
	}
	return removed, nil
}
