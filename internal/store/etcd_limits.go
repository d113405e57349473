package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The cluster-wide limits (docs/cluster.md, Rate limits) live under two etcd prefixes:
// P+"n/"+node is a key per live node, tied to the node's lease (it lapses ClaimTTL after the
// node dies), so that a limit per address can be split between the nodes; P+"e/"+name+"/"+key+
// "/"+unique is one recent event (a failed sign-in from an address), its value the event's time,
// under a lease that outlives the window, so that every node counts the same events.
const (
	etcdNodes  = "n/"
	etcdEvents = "e/"
	// nodesFresh is how long a node count is used before it is read again.
	nodesFresh = 2 * time.Second
	// maxEvents bounds the events one count reads.
	maxEvents = 1000
)

// nodeCount is the cached count of live nodes.
type nodeCount struct {
	mu         sync.Mutex
	n          int
	at         time.Time
	registered clientv3.LeaseID // the lease the node's key was written under
	leases     map[int64]clientv3.LeaseID
}

// Nodes returns how many nodes of the cluster are alive (1 on bbolt, and at least 1): a
// per-address limit of the public routes is split between them, so that it holds across the
// cluster without an etcd request per public request. The count is read at most every 2 s (a
// node that joins is counted by the others within that; one that dies, within ClaimTTL).
func (db *DB) Nodes() int {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return 1
	}
	nc := &db.nodes
	nc.mu.Lock()
	defer nc.mu.Unlock()
	if time.Since(nc.at) < nodesFresh && nc.n > 0 {
		return nc.n
	}
	nc.at = time.Now() // also after a failure: the old count stands for nodesFresh
	if err := db.registerNode(e); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), e.o.RequestTimeout)
		resp, err := e.c.Get(ctx, e.o.Prefix+etcdNodes, clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err == nil {
			nc.n = int(resp.Count)
		}
	}
	return max(1, nc.n)
}

// registerNode writes the node's key under its lease (again when the lease was renewed);
// db.nodes.mu is held.
func (db *DB) registerNode(e *etcdEngine) error {
	lease, node, err := db.claimLease(context.Background(), e)
	if err != nil {
		return err
	}
	if db.nodes.registered == lease {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.o.RequestTimeout)
	defer cancel()
	if _, err := e.c.Put(ctx, e.o.Prefix+etcdNodes+node, "", clientv3.WithLease(lease)); err != nil {
		return unavailable(err)
	}
	db.nodes.registered = lease
	return nil
}

// errNotClustered is a cluster-wide count asked of a single-node database.
var errNotClustered = errors.New("not a cluster: the limits are kept in memory")

// Clustered reports whether the database is shared by several nodes (etcd).
func (db *DB) Clustered() bool { _, ok := db.eng.(*etcdEngine); return ok }

// AddEvent records, cluster-wide, one event of kind name for key (a failed sign-in from an
// address) at now; RecentEvents counts it until now+window. Only on etcd.
func (db *DB) AddEvent(ctx context.Context, name, key string, now time.Time, window time.Duration) error {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return errNotClustered
	}
	lease, err := db.eventLease(ctx, e, window)
	if err != nil {
		return err
	}
	var id [8]byte
	rand.Read(id[:])
	k := e.o.Prefix + etcdEvents + name + "/" + key + "/" + strconv.FormatInt(now.UnixNano(), 36) + hex.EncodeToString(id[:])
	ctx, cancel := context.WithTimeout(ctx, e.o.RequestTimeout)
	defer cancel()
	if _, err := e.c.Put(ctx, k, strconv.FormatInt(now.UnixNano(), 10), clientv3.WithLease(lease)); err != nil {
		return unavailable(err)
	}
	return nil
}

// RecentEvents returns the times of the events of kind name for key within window before now,
// oldest first (at most 1000).
func (db *DB) RecentEvents(ctx context.Context, name, key string, now time.Time, window time.Duration) ([]time.Time, error) {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return nil, errNotClustered
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.RequestTimeout)
	defer cancel()
	resp, err := e.c.Get(ctx, e.o.Prefix+etcdEvents+name+"/"+key+"/", clientv3.WithPrefix(), clientv3.WithLimit(maxEvents),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend))
	if err != nil {
		return nil, unavailable(err)
	}
	var out []time.Time
	from := now.Add(-window)
	for i := len(resp.Kvs) - 1; i >= 0; i-- {
		ns, err := strconv.ParseInt(string(resp.Kvs[i].Value), 10, 64)
		if err != nil {
			continue
		}
		if t := time.Unix(0, ns); t.After(from) {
			out = append(out, t)
		}
	}
	return out, nil
}

// eventLease returns a lease for the events of this minute that outlives window by a minute
// (one grant per minute and window, shared by the events written in it).
func (db *DB) eventLease(ctx context.Context, e *etcdEngine, window time.Duration) (clientv3.LeaseID, error) {
	nc := &db.nodes
	nc.mu.Lock()
	defer nc.mu.Unlock()
	slot := time.Now().Unix()/60*1_000_000 + int64(window/time.Second)
	if id, ok := nc.leases[slot]; ok {
		return id, nil
	}
	ctx, cancel := context.WithTimeout(ctx, e.o.RequestTimeout)
	defer cancel()
	g, err := e.c.Grant(ctx, int64(window/time.Second)+120)
	if err != nil {
		return 0, unavailable(err)
	}
	if nc.leases == nil || len(nc.leases) > 64 {
		nc.leases = map[int64]clientv3.LeaseID{}
	}
	nc.leases[slot] = g.ID
	return g.ID, nil
}
