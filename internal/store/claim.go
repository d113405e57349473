package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ClaimTTL is how long a claim of a node that stopped answering outlives it on etcd (its lease).
const ClaimTTL = 10 * time.Second

// claims are the claims of the process (bbolt) or the node's lease on etcd.
type claims struct {
	mu    sync.Mutex
	held  map[string]bool    // bbolt: the keys held in this process
	lease clientv3.LeaseID   // etcd: the node's lease (0 until the first claim)
	stop  context.CancelFunc // ends the lease's keep-alive
	node  string             // etcd: this node's name in the claims it holds
}

// Claim takes every key of keys or none: it returns a function that releases them, or, when one
// is held by another request, the index of the first such key in keys (in the order given) and
// no function. On bbolt a claim is held in this process (one process per file); on etcd it is a
// key under the prefix tied to the node's lease, so it holds across every node of the cluster
// and lapses ClaimTTL after its node dies. Claims keep concurrent requests for one thing
// (a blank serial, an idempotency key) from doing the work twice; what must never happen twice
// is still refused by the transaction that commits it.
func (db *DB) Claim(ctx context.Context, keys []string) (release func(), held int, err error) {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return db.claimLocal(keys)
	}
	lease, node, err := db.claimLease(ctx, e)
	if err != nil {
		return nil, -1, err
	}
	var cmps []clientv3.Cmp
	var puts, gets []clientv3.Op
	for _, k := range keys {
		key := e.o.Prefix + "claims/" + k
		cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		puts = append(puts, clientv3.OpPut(key, node, clientv3.WithLease(lease)))
		gets = append(gets, clientv3.OpGet(key, clientv3.WithKeysOnly()))
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.RequestTimeout)
	defer cancel()
	resp, err := e.c.Txn(ctx).If(cmps...).Then(puts...).Else(gets...).Commit()
	if err != nil {
		return nil, -1, unavailable(err)
	}
	if !resp.Succeeded {
		for i, r := range resp.Responses {
			if len(r.GetResponseRange().Kvs) > 0 {
				return nil, i, nil
			}
		}
		return nil, -1, fmt.Errorf("claim: conflict without a holder")
	}
	rev := resp.Header.Revision
	return func() {
		var cmps []clientv3.Cmp
		var dels []clientv3.Op
		for _, k := range keys {
			key := e.o.Prefix + "claims/" + k
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", rev))
			dels = append(dels, clientv3.OpDelete(key))
		}
		ctx, cancel := context.WithTimeout(context.Background(), e.o.RequestTimeout)
		defer cancel()
		e.c.Txn(ctx).If(cmps...).Then(dels...).Commit() // on failure the lease ends it
	}, -1, nil
}

func (db *DB) claimLocal(keys []string) (func(), int, error) {
	c := &db.claims
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.held == nil {
		c.held = map[string]bool{}
	}
	for i, k := range keys {
		if c.held[k] {
			return nil, i, nil
		}
	}
	for _, k := range keys {
		c.held[k] = true
	}
	return func() {
		c.mu.Lock()
		for _, k := range keys {
			delete(c.held, k)
		}
		c.mu.Unlock()
	}, -1, nil
}

// claimLease returns the node's lease, granting it (and keeping it alive until Close) on first
// use, or again when it has expired (the node was cut off longer than ClaimTTL).
func (db *DB) claimLease(ctx context.Context, e *etcdEngine) (clientv3.LeaseID, string, error) {
	c := &db.claims
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease != 0 {
		return c.lease, c.node, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.RequestTimeout)
	defer cancel()
	g, err := e.c.Grant(ctx, int64(ClaimTTL/time.Second))
	if err != nil {
		return 0, "", unavailable(err)
	}
	kctx, stop := context.WithCancel(context.Background())
	ch, err := e.c.KeepAlive(kctx, g.ID)
	if err != nil {
		stop()
		return 0, "", unavailable(err)
	}
	var id [8]byte
	rand.Read(id[:])
	c.lease, c.stop, c.node = g.ID, stop, hex.EncodeToString(id[:])
	lease := g.ID
	go func() {
		for range ch { // drain the keep-alive answers; the channel closes when the lease ends
		}
		c.mu.Lock()
		if c.lease == lease {
			c.lease = 0
		}
		c.mu.Unlock()
	}()
	return c.lease, c.node, nil
}

// closeClaims ends the node's lease, so that its claims go at once rather than after ClaimTTL.
func (db *DB) closeClaims() {
	c := &db.claims
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease == 0 {
		return
	}
	if e, ok := db.eng.(*etcdEngine); ok {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		e.c.Revoke(ctx, c.lease)
		cancel()
	}
	c.stop()
	c.lease = 0
}
