package app

import (
	"context"
	"fmt"
	"time"

	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/seals"
	"certseal/server"
)

// openStorage opens the database and the document store the configuration names: the bbolt
// file and the document directory in Data (one node), or the etcd cluster and, for the
// documents, the object store (S3) or else the directory.
func openStorage(c Config) (*store.DB, *docstore.Dir, docstore.Store, error) {
	var db *store.DB
	var err error
	switch c.Store {
	case "", "bbolt":
		db, err = store.Open(c.DBPath(), &store.Options{NoSync: c.NoSync, Timeout: 3 * time.Second})
	case "etcd":
		db, err = store.OpenEtcd(c.Etcd)
	default:
		err = fmt.Errorf("unknown store %q (bbolt or etcd)", c.Store)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if c.S3.Endpoint != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s3, err := docstore.OpenS3(ctx, c.S3)
		if err != nil {
			db.Close()
			return nil, nil, nil, err
		}
		return db, nil, s3, nil
	}
	if c.Clustered() {
		db.Close()
		return nil, nil, nil, fmt.Errorf("a cluster (-store etcd) keeps its documents in an object store: set -s3-endpoint and -s3-bucket")
	}
	docs, err := docstore.OpenDir(c.DocsPath(), c.NoSync) // after the database's lock is held
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, docs, docs, nil
}

// once claims the periodic job name for this node while it runs (store.DB.Claim: on a cluster
// one node runs it at a time; on one node always). It returns the release and whether to run.
func (a *App) once(ctx context.Context, name string) (func(), bool) {
	release, held, err := a.DB.Claim(ctx, []string{"job\x00" + name})
	if err != nil {
		a.Log.Warn("claim", "job", name, "err", err)
		return nil, false
	}
	return release, held < 0
}

// clusterShare is, on a cluster, the count of live nodes the per-address limits are split
// between (server.RateLimiter.Share), after registering this node; nil on one node.
func clusterShare(db *store.DB) func() int {
	if !db.Clustered() {
		return nil
	}
	db.Nodes()
	return db.Nodes
}

// certAPI is the certificates module with its public limiter shared as share says.
func certAPI(c *certs.Service, s *seals.Registry, share func() int) *server.CertAPI {
	m := server.NewCertAPI(c, s, demo.CityCenterName)
	m.Public.Share = share
	return m
}
