package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/internal/audit"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// cmdMigrate moves a stopped single-node installation into a cluster (docs/cluster.md):
//
//	certseal migrate --to etcd -data DIR -etcd-endpoints ... -s3-endpoint ... [-s3-bucket ...]
//
// Documents go first, each read and checked against its digest, written to the object store and
// read back checked; then every bucket, key and sequence of the database, into an etcd prefix
// that must be empty (or hold an unfinished migration of the same source: the command is
// resumable, run it again after an interruption); then one commit records the migration in
// the audit log and opens the database to nodes; last, the checks of `certseal check` run on
// the cluster. The source is opened read-only and never changed.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c app.Config
	fs := newFlags("migrate", stderr, &c)
	to := fs.String("to", "", "the engine to move into: etcd")
	target := etcdS3Flags(fs, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to != "etcd" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: certseal migrate --to etcd -data DIR -etcd-endpoints URLS -s3-endpoint HOST:PORT [-s3-bucket B] [-etcd-prefix P] [-etcd-max-txn-ops N]")
		return errUsage
	}
	c.Store = "etcd"
	if err := target(); err != nil {
		return err
	}
	if c.S3.Endpoint == "" {
		return errors.New("a cluster keeps its documents in an object store: set -s3-endpoint (and -s3-bucket)")
	}
	// Read-only: bbolt's shared lock is refused while a certseal process has the file open, so
	// the installation must be stopped; the whole file is checked before anything is copied.
	src, err := store.Open(c.DBPath(), &store.Options{ReadOnly: true, Check: store.CheckFull})
	if err != nil {
		return fmt.Errorf("source %s (stop certseal on it first): %w", c.DBPath(), err)
	}
	defer src.Close()
	m, err := store.PrepareEtcdMigration(ctx, src, c.Etcd)
	if err != nil {
		return errors.New(certseal.ErrorMessage(err))
	}
	defer m.Close()
	if m.Resumed {
		fmt.Fprintf(stdout, "resuming the unfinished migration into etcd prefix %q\n", c.Etcd.Prefix)
	}
	s3ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	dst, err := docstore.OpenS3(s3ctx, c.S3)
	cancel()
	if err != nil {
		return err
	}
	if !m.Resumed {
		if err := emptyStore(ctx, dst); err != nil {
			return err
		}
	}
	srcDocs := docstore.OpenReadOnly(c.DocsPath())
	n, size, err := copyDocuments(ctx, srcDocs, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "documents: %d copied (%d bytes), each checked against its SHA-256 before and after\n", n, size)
	if err := m.Copy(ctx, nil); err != nil {
		return errors.New(certseal.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "database: %d buckets, %d keys (%d bytes) copied into etcd prefix %q\n", m.Buckets, m.Keys, m.Bytes, c.Etcd.Prefix)
	db, err := m.Open()
	if err != nil {
		return err
	}
	defer db.Close()
	detail := map[string]any{"source": m.MigrationSource(), "etcd_prefix": c.Etcd.Prefix, "s3_bucket": c.S3.Bucket,
		"buckets": m.Buckets, "keys": m.Keys, "documents": n, "resumed": m.Resumed}
	err = db.Update(func(tx *store.Tx) error {
		if err := store.FinishEtcdMigration(tx); err != nil {
			return err
		}
		return audit.Append(tx, time.Now(), certseal.Actor{UserID: certseal.System.UserID, Username: "migrate", Role: certseal.RoleAdmin,
			OrgKind: certseal.KindCityCenter}, "store.migrate", "store/etcd", detail)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migration recorded in the audit log; checking the cluster:")
	problems, err := checkOn(ctx, db, dst, stdout)
	if err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("the migrated cluster has %d problems (the source is unchanged)", problems)
	}
	fmt.Fprintf(stdout, "done. Start the nodes with -store etcd and the same -etcd-/-s3- settings, and CERTSEAL_MASTER_KEY set to the key of %s on every node (docs/cluster.md)\n", c.Data)
	return nil
}

// emptyStore refuses an object store that already holds documents under its prefix.
func emptyStore(ctx context.Context, s docstore.Store) error {
	found := errors.New("found")
	var first string
	err := s.Walk(ctx, func(d string, _ int64, _ time.Time) error { first = d; return found })
	if err == found {
		return fmt.Errorf("the object store already holds documents under its prefix (%s, ...): a migration writes into an empty one (another -s3-bucket or prefix)", first)
	}
	return err
}

// copyDocuments copies every document of src into dst: read and checked against its name,
// written, and read back checked. A damaged or unreadable document stops the migration.
func copyDocuments(ctx context.Context, src *docstore.Dir, dst docstore.Store) (int, int64, error) {
	n, size := 0, int64(0)
	err := src.Walk(ctx, func(d string, _ int64, _ time.Time) error {
		data, err := src.Get(ctx, d)
		if err != nil {
			return fmt.Errorf("source document %s: %w", src.Path(d), err)
		}
		// An object store answers a busy moment with a 5xx now and then: the write and its
		// read-back are tried again (a document that comes back damaged is not).
		for try := 1; ; try++ {
			err = putChecked(ctx, dst, d, data)
			if err == nil || errors.Is(err, docstore.ErrCorrupt) || try == 5 || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Duration(try) * 200 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		n++
		size += int64(len(data))
		return nil
	})
	return n, size, err
}

// putChecked writes the document data (digest d) to dst and reads it back checked.
func putChecked(ctx context.Context, dst docstore.Store, d string, data []byte) error {
	got, err := dst.Put(ctx, data)
	if err != nil {
		return err
	}
	if got != d {
		return fmt.Errorf("document %s stored as %s: %w", d, got, docstore.ErrCorrupt)
	}
	if _, err := dst.Get(ctx, d); err != nil {
		return fmt.Errorf("document %s read back from the object store: %w", d, err)
	}
	return nil
}

// checkCluster is `certseal check` on a cluster: every etcd member holds the same data, then
// the checks of runChecks over the etcd database and the object store. It may run while the
// nodes serve (each check reads one snapshot); a document written by an issue in progress may
// show as an orphan meanwhile.
func checkCluster(ctx context.Context, c app.Config, stdout io.Writer) error {
	c.Etcd.ReadOnly = true
	db, err := store.OpenEtcd(c.Etcd)
	if err != nil {
		return err
	}
	defer db.Close()
	if c.S3.Endpoint == "" {
		return errors.New("a cluster keeps its documents in an object store: set -s3-endpoint (and -s3-bucket)")
	}
	s3ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	docs, err := docstore.OpenS3(s3ctx, c.S3)
	cancel()
	if err != nil {
		return err
	}
	problems, err := checkOn(ctx, db, docs, stdout)
	if err != nil {
		return err
	}
	if problems > 0 {
		return fmt.Errorf("%d problems found", problems)
	}
	return nil
}

// checkOn runs the member check and runChecks on a cluster's database and object store.
func checkOn(ctx context.Context, db *store.DB, docs *docstore.S3, stdout io.Writer) (int, error) {
	problems := 0
	rev, members, err := db.CheckEtcdMembers(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range members {
		if m.Err != nil {
			fmt.Fprintf(stdout, "etcd member %s (%s): not checked: %v\n", m.Name, m.Endpoint, m.Err)
			problems++
		} else if m.Hash != members[0].Hash {
			fmt.Fprintf(stdout, "etcd member %s (%s): its data differs from member %s's at revision %d (hash %08x, not %08x)\n", m.Name, m.Endpoint, members[0].Name, rev, m.Hash, members[0].Hash)
			problems++
		}
	}
	fmt.Fprintf(stdout, "etcd: %d members compared at revision %d\n", len(members), rev)
	n, err := runChecks(ctx, db, docs, func(d string) string { return "s3:" + d }, stdout)
	return problems + n, err
}
