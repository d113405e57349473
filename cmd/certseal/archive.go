package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"certseal/certs"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// A backup archive is a tar file: certseal.db first (the consistent copy of one read
// transaction), then documents/<2 hex>/<SHA-256> for every document that copy refers to, read
// (and checked against its digest) inside the same transaction. Documents are written before
// the commit that refers to them and never removed while referred to, so the archive is
// consistent while the service runs.

const docsPrefix = docstore.DirName + "/"

// writeArchive writes the backup archive of db and docs to w and returns the number of
// documents in it. A document that is missing or damaged fails the backup (run `certseal check`).
func writeArchive(ctx context.Context, db *store.DB, docs docstore.Store, w io.Writer) (int, error) {
	tw := tar.NewWriter(w)
	now := time.Now().UTC().Truncate(time.Second)
	n := 0
	err := db.BackupTx(func(tx *store.Tx, size int64, copyTo func(io.Writer) (int64, error)) error {
		if err := tw.WriteHeader(&tar.Header{Name: store.FileName, Mode: 0o600, Size: size, ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := copyTo(tw); err != nil {
			return err
		}
		return certs.DocumentsTx(tx, func(digest string) error {
			data, err := docs.Get(ctx, digest)
			if err != nil {
				return fmt.Errorf("certificate document %s: %w (run certseal check)", digest, err)
			}
			if err := tw.WriteHeader(&tar.Header{Name: docsPrefix + digest[:2] + "/" + digest, Mode: 0o600, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
				return err
			}
			_, err = tw.Write(data)
			n++
			return err
		})
	})
	if err != nil {
		return n, err
	}
	return n, tw.Close()
}

// maxArchiveEntries bounds the entries of an archive restore reads (a database and its
// documents: one per certificate).
const maxArchiveEntries = 50_000_000

// restoreArchive extracts a backup archive read from r into the data directory dir, which must
// not hold a database. Only the database file and documents under their digests are accepted;
// every document is checked against its name, each file is fsynced, and the database is written
// last, so an interrupted restore leaves no database to start on. It returns the number of
// documents restored.
func restoreArchive(ctx context.Context, r io.Reader, dir string) (int, error) {
	dbPath := filepath.Join(dir, store.FileName)
	if _, err := os.Stat(dbPath); err == nil {
		return 0, fmt.Errorf("%s already holds a database; restore into an empty data directory", dir)
	}
	var docs *docstore.Dir // opened at the first document
	tmpDB := dbPath + ".restore"
	defer os.Remove(tmpDB)
	tr := tar.NewReader(r)
	seenDB, n := false, 0
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Errorf("not a certseal backup archive: %w", err)
		}
		if i >= maxArchiveEntries {
			return n, errors.New("not a certseal backup archive: too many entries")
		}
		if h.Typeflag != tar.TypeReg || h.Size < 0 {
			return n, fmt.Errorf("not a certseal backup archive: entry %q is not a file", h.Name)
		}
		switch {
		case h.Name == store.FileName && !seenDB:
			seenDB = true
			if err := writeSynced(tmpDB, tr); err != nil {
				return n, err
			}
		case strings.HasPrefix(h.Name, docsPrefix):
			digest, ok := docName(h.Name[len(docsPrefix):])
			if !ok || h.Size > docstore.MaxSize {
				return n, fmt.Errorf("not a certseal backup archive: entry %q", h.Name)
			}
			data, err := io.ReadAll(io.LimitReader(tr, docstore.MaxSize))
			if err != nil {
				return n, fmt.Errorf("read %s: %w", h.Name, err)
			}
			if _, err := docstore.Verify(digest, data); err != nil {
				return n, fmt.Errorf("archive entry %s: %w", h.Name, err)
			}
			if docs == nil {
				if docs, err = docstore.OpenDir(filepath.Join(dir, docstore.DirName), false); err != nil {
					return n, err
				}
			}
			if _, err := docs.Put(ctx, data); err != nil {
				return n, err
			}
			n++
		default:
			return n, fmt.Errorf("not a certseal backup archive: unexpected entry %q", h.Name)
		}
	}
	if !seenDB {
		return n, errors.New("not a certseal backup archive: no database in it")
	}
	if err := store.CheckFile(tmpDB, store.CheckFull); err != nil {
		return n, err
	}
	if err := os.Rename(tmpDB, dbPath); err != nil {
		return n, err
	}
	return n, syncDir(dir)
}

// docName returns the digest of an archive document name "ab/ab…" (the part after documents/).
func docName(name string) (string, bool) {
	sub, digest, ok := strings.Cut(name, "/")
	if !ok || !docstore.ValidDigest(digest) || sub != digest[:2] {
		return "", false
	}
	return digest, true
}

func writeSynced(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// writeArchiveFile writes the backup archive to path through a temporary file renamed into place.
func writeArchiveFile(ctx context.Context, db *store.DB, docs docstore.Store, path string) (int, error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	n, err := writeArchive(ctx, db, docs, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		if d := store.AsDiskFull(err); d != nil {
			err = d
		}
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, os.Rename(tmp, path)
}
