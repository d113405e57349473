package store

import (
	"bytes"
	"certseal"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdOptions name an etcd cluster and how certseal uses it.
type EtcdOptions struct {
	Endpoints []string    // client URLs, e.g. https://10.0.0.1:2379
	Prefix    string      // every key certseal writes starts with it (default "certseal/")
	TLS       *tls.Config // client TLS (nil: plain HTTP, for loopback only)
	Username  string
	Password  string
	// DialTimeout bounds the first connection (default 5s); RequestTimeout each request
	// (default 5s).
	DialTimeout, RequestTimeout time.Duration
	// MaxTxnOps is the cluster's --max-txn-ops (etcd's default 128): a transaction with more
	// writes, or more read checks, than this is refused here rather than by etcd.
	MaxTxnOps int
	// MaxRequestBytes is the cluster's --max-request-bytes (etcd's default 1.5 MiB); a commit
	// larger than this is refused with ETooLarge. Nothing large belongs in etcd: documents go to
	// the object store.
	MaxRequestBytes int
	// ReadOnly opens without bringing the schema up to date (a newer schema is still refused):
	// for certseal check.
	ReadOnly bool
}

// MaxEtcdValue is the largest value the etcd engine stores (a record, never a document).
const MaxEtcdValue = 256 << 10

// etcd key layout under the prefix P: P+"d/"+bucket+"\x00"+key holds a value, P+"s/"+bucket a
// bucket's sequence (8 bytes), P+"x/"+bucket the revision of the last delete in the bucket
// (written by every transaction that deletes in it, checked by every one that scanned it, so
// that a key deleted inside a range another transaction read is a conflict).
const (
	etcdData  = "d/"
	etcdSeq   = "s/"
	etcdDels  = "x/"
	etcdPage  = 64 // keys fetched per cursor request
	etcdTries = 64 // commit attempts of one transaction before giving up
)

// OpenEtcd connects to an etcd cluster and opens the database kept under o.Prefix, bringing its
// schema up to date (several nodes may do so at once: the migration runs once).
func OpenEtcd(o EtcdOptions) (*DB, error) {
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	o = etcdDefaults(o)
	c, err := dialEtcd(o)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.DialTimeout)
	resp, err := c.Get(ctx, migratingKey(o.Prefix))
	cancel()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(o.Endpoints, ","), err)
	}
	if len(resp.Kvs) > 0 {
		c.Close()
		return nil, certseal.Errorf(certseal.EUnavailable, "etcd 前缀 %q 下的数据库正在由 certseal migrate 迁入，迁移尚未完成：再次运行同一条 migrate 命令完成它，再启动节点（docs/cluster.md）", o.Prefix)
	}
	return openEtcdEngine(c, o)
}

// etcdDefaults fills o's unset fields.
func etcdDefaults(o EtcdOptions) EtcdOptions {
	if o.Prefix == "" {
		o.Prefix = "certseal/"
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.MaxTxnOps == 0 {
		o.MaxTxnOps = 128
	}
	if o.MaxRequestBytes == 0 {
		o.MaxRequestBytes = 3 << 19
	}
	return o
}

// dialEtcd connects to the cluster o names (defaults filled).
func dialEtcd(o EtcdOptions) (*clientv3.Client, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: o.Endpoints, DialTimeout: o.DialTimeout, TLS: o.TLS,
		Username: o.Username, Password: o.Password, MaxCallSendMsgSize: o.MaxRequestBytes + 64<<10,
		MaxCallRecvMsgSize: 64 << 20, RejectOldCluster: true})
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", strings.Join(o.Endpoints, ","), err)
	}
	return c, nil
}

// openEtcdEngine opens the database over the connected client c (it closes c when that fails).
func openEtcdEngine(c *clientv3.Client, o EtcdOptions) (*DB, error) {
	e := &etcdEngine{c: c, o: o}
	db := &DB{eng: e, path: "etcd:" + strings.Join(o.Endpoints, ",") + "/" + o.Prefix}
	return db.start(o.ReadOnly)
}

// Etcd returns the etcd client behind the database, or nil on bbolt: the cluster guards
// (leases, elections) use it.
func (db *DB) Etcd() (*clientv3.Client, string) {
	if e, ok := db.eng.(*etcdEngine); ok {
		return e.c, e.o.Prefix
	}
	return nil, ""
}

type etcdEngine struct {
	c *clientv3.Client
	o EtcdOptions
	// wmu lets one write transaction of this node run at a time: the writers of one node would
	// otherwise conflict with each other on the hot keys (sequences, the audit chain, the
	// number counters) and retry in vain; so only the nodes contend, one writer each.
	wmu sync.Mutex
}

func (e *etcdEngine) name() string { return "etcd" }
func (e *etcdEngine) groups() bool { return false }
func (e *etcdEngine) close() error { return e.c.Close() }

func (e *etcdEngine) view(fn func(etx) error) error {
	for try := 1; ; try++ {
		t := e.newTx(false)
		err := fn(t)
		if t.failed != nil && t.retry && try < etcdTries {
			continue // the snapshot was compacted, or the member had not applied it yet
		}
		if t.failed != nil {
			return t.failed
		}
		return err
	}
}

func (e *etcdEngine) update(fn func(etx) error) error {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	for try := 1; ; try++ {
		t := e.newTx(true)
		err := fn(t)
		if t.failed != nil && !t.retry {
			return t.failed
		}
		if err != nil && t.failed == nil {
			return err
		}
		if t.failed == nil {
			ok, err := t.commit()
			if err != nil {
				return err
			}
			if ok {
				return nil
			}
		}
		if try == etcdTries {
			return certseal.Errorf(certseal.EUnavailable, "数据库繁忙：事务 %d 次提交均与其他节点冲突，请稍后重试", try)
		}
		// Another transaction changed what this one read: back off a little, at random, so that
		// the writers of a hot key do not collide again in step.
		time.Sleep(time.Duration(rand.Int64N(int64(min(try, 20)) * int64(time.Millisecond))))
	}
}

func (e *etcdEngine) newTx(w bool) *etcdTx {
	return &etcdTx{e: e, w: w, reads: map[string]int64{}, cache: map[string][]byte{},
		writes: map[string]wval{}, ov: map[Bucket][]string{}, seqs: map[Bucket]uint64{},
		scanned: map[Bucket]bool{}, deleted: map[Bucket]bool{}}
}

// unavailable is an etcd failure as the caller sees it (503).
func unavailable(err error) error {
	return errors.Join(certseal.Errorf(certseal.EUnavailable, "数据库集群暂时不可用，请稍后重试"), err)
}

// wval is a write of a transaction: a value, or a deletion.
type wval struct {
	v   []byte
	del bool
}

// keyRange is a range [from, to) of etcd keys a transaction read.
type keyRange struct{ from, to string }

// etcdTx is an optimistic transaction: it reads at one revision, keeps its writes, and commits
// them in one etcd Txn that holds only if nothing it read has changed since that revision.
type etcdTx struct {
	e       *etcdEngine
	w       bool
	rev     int64             // the snapshot read (0 until the first read)
	reads   map[string]int64  // key read → its mod revision then (0: absent)
	cache   map[string][]byte // key read → its value
	ranges  []keyRange        // ranges scanned
	scanned map[Bucket]bool   // buckets scanned (their delete marker is checked)
	writes  map[string]wval
	ov      map[Bucket][]string // the keys written, per bucket, sorted
	seqs    map[Bucket]uint64   // new sequence values
	deleted map[Bucket]bool     // buckets deleted from
	failed  error               // the first read error
	retry   bool                // failed is a compacted snapshot: run again
}

func (t *etcdTx) writable() bool { return t.w }
func (t *etcdTx) err() error     { return t.failed }

func (t *etcdTx) bucketPrefix(b Bucket) string { return t.e.o.Prefix + etcdData + string(b) + "\x00" }
func (t *etcdTx) bucketEnd(b Bucket) string    { return t.e.o.Prefix + etcdData + string(b) + "\x01" }

func (t *etcdTx) fail(err error) {
	if t.failed != nil {
		return
	}
	if errors.Is(err, rpctypes.ErrCompacted) || errors.Is(err, rpctypes.ErrFutureRev) {
		t.retry = true
	}
	t.failed = unavailable(err)
}

// fetch runs one read at the transaction's revision.
func (t *etcdTx) fetch(key string, opts ...clientv3.OpOption) *clientv3.GetResponse {
	if t.failed != nil {
		return nil
	}
	if t.rev > 0 {
		// After the first (linearizable) read fixed the revision, the others read that revision
		// from the member's own state, without a raft round (a member that has not yet applied
		// it answers ErrFutureRev, and the transaction runs again).
		opts = append(opts, clientv3.WithRev(t.rev), clientv3.WithSerializable())
	}
	ctx, cancel := context.WithTimeout(context.Background(), t.e.o.RequestTimeout)
	defer cancel()
	resp, err := t.e.c.Get(ctx, key, opts...)
	if err != nil {
		t.fail(err)
		return nil
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	return resp
}

// getKey reads one etcd key (not a write of this transaction) and records the read.
func (t *etcdTx) getKey(key string) []byte {
	if v, ok := t.cache[key]; ok {
		return v
	}
	resp := t.fetch(key)
	if resp == nil {
		return nil
	}
	var v []byte
	var mod int64
	if len(resp.Kvs) == 1 {
		v, mod = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		if v == nil {
			v = []byte{}
		}
	}
	t.reads[key], t.cache[key] = mod, v
	return v
}

func (t *etcdTx) get(b Bucket, k []byte) []byte {
	key := t.bucketPrefix(b) + string(k)
	if w, ok := t.writes[key]; ok {
		if w.del {
			return nil
		}
		return w.v
	}
	return t.getKey(key)
}

func (t *etcdTx) put(b Bucket, k, v []byte) error {
	if !t.w {
		return errors.New("tx not writable")
	}
	if len(k) == 0 {
		return errors.New("key required")
	}
	if len(v) > MaxEtcdValue {
		return certseal.Errorf(certseal.ETooLarge, "记录过大（%d 字节，集群数据库每条至多 %d 字节）", len(v), MaxEtcdValue)
	}
	if v == nil {
		v = []byte{}
	}
	t.write(b, k, wval{v: bytes.Clone(v)})
	return nil
}

func (t *etcdTx) del(b Bucket, k []byte) error {
	if !t.w {
		return errors.New("tx not writable")
	}
	t.write(b, k, wval{del: true})
	t.deleted[b] = true
	return nil
}

func (t *etcdTx) write(b Bucket, k []byte, w wval) {
	key := t.bucketPrefix(b) + string(k)
	if _, ok := t.writes[key]; !ok {
		s := t.ov[b]
		i, _ := slices.BinarySearch(s, string(k))
		t.ov[b] = slices.Insert(s, i, string(k))
	}
	t.writes[key] = w
}

func (t *etcdTx) seqKey(b Bucket) string { return t.e.o.Prefix + etcdSeq + string(b) }

func (t *etcdTx) seq(b Bucket) uint64 {
	if n, ok := t.seqs[b]; ok {
		return n
	}
	return ParseU64(t.getKey(t.seqKey(b)))
}

func (t *etcdTx) nextSeq(b Bucket) (uint64, error) {
	if !t.w {
		return 0, errors.New("tx not writable")
	}
	n := t.seq(b) + 1
	if t.failed != nil {
		return 0, t.failed
	}
	t.seqs[b] = n
	return n, nil
}

func (t *etcdTx) setSeq(b Bucket, n uint64) error {
	if !t.w {
		return errors.New("tx not writable")
	}
	if t.failed != nil {
		return t.failed
	}
	t.seqs[b] = n
	return nil
}

func (t *etcdTx) createBucket(Bucket) error { return nil } // buckets are key prefixes

func (t *etcdTx) count(b Bucket) int {
	from, to := t.bucketPrefix(b), t.bucketEnd(b)
	resp := t.fetch(from, clientv3.WithRange(to), clientv3.WithCountOnly())
	if resp == nil {
		return 0
	}
	t.readRange(b, from, to)
	n := int(resp.Count)
	for _, k := range t.ov[b] {
		key := from + k
		_, before := t.existed(key)
		if w := t.writes[key]; w.del && before {
			n--
		} else if !w.del && !before {
			n++
		}
	}
	return n
}

// existed reports whether key was in the database at the snapshot.
func (t *etcdTx) existed(key string) ([]byte, bool) {
	v := t.getKey(key)
	return v, v != nil
}

func (t *etcdTx) readRange(b Bucket, from, to string) {
	t.ranges = append(t.ranges, keyRange{from, to})
	t.scanned[b] = true
}

// commit writes the transaction if nothing it read changed since its snapshot. It reports
// false on such a conflict.
func (t *etcdTx) commit() (bool, error) {
	var ops []clientv3.Op
	size := 0
	for key, w := range t.writes {
		if w.del {
			ops = append(ops, clientv3.OpDelete(key))
		} else {
			ops = append(ops, clientv3.OpPut(key, string(w.v)))
		}
		size += len(key) + len(w.v) + 16
	}
	for b, n := range t.seqs {
		ops = append(ops, clientv3.OpPut(t.seqKey(b), string(U64(n))))
		size += 64
	}
	if len(ops) == 0 {
		return true, nil // read only: its reads were one snapshot
	}
	stamp := string(U64(uint64(time.Now().UnixNano())))
	for b := range t.deleted {
		ops = append(ops, clientv3.OpPut(t.e.o.Prefix+etcdDels+string(b), stamp))
	}
	if len(ops) > t.e.o.MaxTxnOps {
		return false, certseal.Errorf(certseal.ETooLarge, "一次写入 %d 项，超过集群数据库的上限 %d（etcd --max-txn-ops）", len(ops), t.e.o.MaxTxnOps)
	}
	if size > t.e.o.MaxRequestBytes {
		return false, certseal.Errorf(certseal.ETooLarge, "一次写入 %d 字节，超过集群数据库的上限 %d（etcd --max-request-bytes）", size, t.e.o.MaxRequestBytes)
	}
	cmps := t.compares()
	ctx, cancel := context.WithTimeout(context.Background(), t.e.o.RequestTimeout)
	defer cancel()
	resp, err := t.e.c.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, unavailable(err)
	}
	return resp.Succeeded, nil
}

// compares are the conditions of the commit: every key read is as it was (same mod revision,
// or still absent), no key in a scanned range was written after the snapshot, and no key was
// deleted from a scanned bucket since. When they are more than etcd takes in one transaction
// they are replaced by three coarse ones (nothing at all changed since the snapshot): a
// conflict more often, never a missed one.
func (t *etcdTx) compares() []clientv3.Cmp {
	var cmps []clientv3.Cmp
	next := t.rev + 1
	for key, mod := range t.reads {
		if mod == 0 {
			cmps = append(cmps, clientv3.Compare(clientv3.CreateRevision(key), "=", 0))
		} else {
			cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(key), "=", mod))
		}
	}
	for _, r := range t.ranges {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(r.from), "<", next).WithRange(r.to))
	}
	for b := range t.scanned {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(t.e.o.Prefix+etcdDels+string(b)), "<", next))
	}
	if len(cmps) <= t.e.o.MaxTxnOps {
		return cmps
	}
	p := t.e.o.Prefix
	return []clientv3.Cmp{
		clientv3.Compare(clientv3.ModRevision(p+etcdData), "<", next).WithRange(p + "d0"),
		clientv3.Compare(clientv3.ModRevision(p+etcdSeq), "<", next).WithRange(p + "s0"),
		clientv3.Compare(clientv3.ModRevision(p+etcdDels), "<", next).WithRange(p + "x0"),
	}
}

// etcdKV is a key of a bucket (without the bucket's prefix) and its value.
type etcdKV struct{ k, v []byte }

// etcdCursor walks a bucket as the transaction sees it: the snapshot's keys, fetched a page at a
// time, merged with the transaction's own writes.
type etcdCursor struct {
	t     *etcdTx
	b     Bucket
	pre   string
	pos   []byte // the key the cursor is on (nil: off the ends)
	buf   []etcdKV
	lo    []byte // buf holds every snapshot key in [lo, hi)
	hi    []byte // nil: to the bucket's end
	valid bool   // buf is set
}

func (t *etcdTx) cursor(b Bucket) ecursor {
	return &etcdCursor{t: t, b: b, pre: t.bucketPrefix(b)}
}

func (c *etcdCursor) kvs(resp *clientv3.GetResponse) []etcdKV {
	out := make([]etcdKV, len(resp.Kvs))
	for i, kv := range resp.Kvs {
		v := kv.Value
		if v == nil {
			v = []byte{}
		}
		out[i] = etcdKV{kv.Key[len(c.pre):], v}
	}
	return out
}

func (c *etcdCursor) end() string { return c.t.bucketEnd(c.b) }

// covers reports whether buf holds the snapshot's keys at k (inclusive of lo, exclusive of hi).
func (c *etcdCursor) covers(k []byte) bool {
	return c.valid && bytes.Compare(c.lo, k) <= 0 && (c.hi == nil || bytes.Compare(k, c.hi) < 0)
}

// fetchFwd fills buf with the first page of snapshot keys >= from.
func (c *etcdCursor) fetchFwd(from []byte) bool {
	resp := c.t.fetch(c.pre+string(from), clientv3.WithRange(c.end()), clientv3.WithLimit(etcdPage))
	if resp == nil {
		return false
	}
	c.buf, c.lo, c.hi, c.valid = c.kvs(resp), bytes.Clone(from), nil, true
	to := c.end()
	if resp.More && len(c.buf) > 0 {
		c.hi = append(bytes.Clone(c.buf[len(c.buf)-1].k), 0)
		to = c.pre + string(c.hi)
	}
	c.t.readRange(c.b, c.pre+string(from), to)
	return true
}

// fetchBack fills buf with the last page of snapshot keys < before (nil: the bucket's end). It
// asks for the keys below before with a growing window, [before's prefix one byte shorter,
// before), then two bytes shorter, and so on, because etcd reads a whole range to sort it
// descending: the window keeps that read near before.
func (c *etcdCursor) fetchBack(before []byte) bool {
	to := c.end()
	if before != nil {
		to = c.pre + string(before)
	}
	for i := len(before) - 1; ; i-- {
		var lo []byte
		if i > 0 {
			lo = before[:i]
		}
		resp := c.t.fetch(c.pre+string(lo), clientv3.WithRange(to), clientv3.WithLimit(etcdPage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend))
		if resp == nil {
			return false
		}
		if len(resp.Kvs) == 0 && i > 0 {
			continue
		}
		kvs := c.kvs(resp)
		slices.Reverse(kvs)
		if resp.More {
			lo = bytes.Clone(kvs[0].k)
		}
		c.buf, c.lo, c.hi, c.valid = kvs, bytes.Clone(lo), bytes.Clone(before), true
		if c.lo == nil {
			c.lo = []byte{}
		}
		c.t.readRange(c.b, c.pre+string(lo), to)
		return true
	}
}

// snapNext returns the first snapshot key > k (>= when incl).
func (c *etcdCursor) snapNext(k []byte, incl bool) *etcdKV {
	for {
		if c.covers(k) {
			i, found := slices.BinarySearchFunc(c.buf, k, func(e etcdKV, k []byte) int { return bytes.Compare(e.k, k) })
			if found && !incl {
				i++
			}
			if i < len(c.buf) {
				return &c.buf[i]
			}
			if c.hi == nil {
				return nil
			}
			k, incl = c.hi, true
			continue
		}
		from := k
		if !incl {
			from = append(bytes.Clone(k), 0)
		}
		if !c.fetchFwd(from) {
			return nil
		}
		k, incl = from, true
	}
}

// snapPrev returns the last snapshot key < k (<= when incl; k nil: the last key).
func (c *etcdCursor) snapPrev(k []byte, incl bool) *etcdKV {
	if k != nil && len(k) == 0 && !incl {
		return nil // nothing is below the empty key
	}
	before := k
	if incl && k != nil {
		before = append(bytes.Clone(k), 0)
	}
	for {
		if c.valid && (before == nil && c.hi == nil || before != nil && bytes.Compare(c.lo, before) < 0 && (c.hi == nil || bytes.Compare(before, c.hi) <= 0)) {
			i := len(c.buf)
			if before != nil {
				i, _ = slices.BinarySearchFunc(c.buf, before, func(e etcdKV, k []byte) int { return bytes.Compare(e.k, k) })
			}
			if i > 0 {
				return &c.buf[i-1]
			}
			if len(c.lo) == 0 {
				return nil
			}
			before = c.lo
			continue
		}
		if before == nil {
			if hint := c.lastHint(); hint != nil {
				before = hint
			}
		}
		if !c.fetchBack(before) {
			return nil
		}
	}
}

// lastHint returns, for a bucket whose keys are its sequence numbers (records, events), the key
// after the last sequence number when no key is at or above it, so that finding the last key
// reads a window below it rather than the whole bucket; nil otherwise.
func (c *etcdCursor) lastHint() []byte {
	n := c.t.seq(c.b)
	if n == 0 || n == ^uint64(0) {
		return nil
	}
	hint := U64(n + 1)
	resp := c.t.fetch(c.pre+string(hint), clientv3.WithRange(c.end()), clientv3.WithLimit(1), clientv3.WithKeysOnly())
	if resp == nil || len(resp.Kvs) > 0 {
		return nil
	}
	c.t.readRange(c.b, c.pre+string(hint), c.end())
	return hint
}

// ovNext returns the first key of the transaction's writes to the bucket > k (>= when incl).
func (c *etcdCursor) ovNext(k []byte, incl bool) (string, bool) {
	s := c.t.ov[c.b]
	i, found := slices.BinarySearch(s, string(k))
	if found && !incl {
		i++
	}
	if i < len(s) {
		return s[i], true
	}
	return "", false
}

// ovPrev returns the last written key < k (<= when incl; k nil: the last).
func (c *etcdCursor) ovPrev(k []byte, incl bool) (string, bool) {
	s := c.t.ov[c.b]
	i := len(s)
	if k != nil {
		var found bool
		i, found = slices.BinarySearch(s, string(k))
		if found && incl {
			i++
		}
	}
	if i > 0 {
		return s[i-1], true
	}
	return "", false
}

func (c *etcdCursor) at(k []byte, v []byte) ([]byte, []byte) {
	c.pos = k
	if k == nil {
		return nil, nil
	}
	return k, v
}

// next returns the first key > k (>= when incl) as the transaction sees it.
func (c *etcdCursor) next(k []byte, incl bool) ([]byte, []byte) {
	for {
		s := c.snapNext(k, incl)
		o, ok := c.ovNext(k, incl)
		if ok && (s == nil || o <= string(s.k)) {
			w := c.t.writes[c.pre+o]
			if !w.del {
				return c.at([]byte(o), w.v)
			}
			k, incl = []byte(o), false
			continue
		}
		if s == nil {
			return c.at(nil, nil)
		}
		return c.at(s.k, s.v)
	}
}

// prev returns the last key < k (<= when incl; k nil: the last) as the transaction sees it.
func (c *etcdCursor) prev(k []byte, incl bool) ([]byte, []byte) {
	for {
		s := c.snapPrev(k, incl)
		o, ok := c.ovPrev(k, incl)
		if ok && (s == nil || o >= string(s.k)) {
			w := c.t.writes[c.pre+o]
			if !w.del {
				return c.at([]byte(o), w.v)
			}
			k, incl = []byte(o), false
			continue
		}
		if s == nil {
			return c.at(nil, nil)
		}
		return c.at(s.k, s.v)
	}
}

func (c *etcdCursor) Seek(k []byte) ([]byte, []byte) { return c.next(k, true) }
func (c *etcdCursor) First() ([]byte, []byte)        { return c.next([]byte{}, true) }
func (c *etcdCursor) Last() ([]byte, []byte)         { return c.prev(nil, false) }

func (c *etcdCursor) Next() ([]byte, []byte) {
	if c.pos == nil {
		return nil, nil
	}
	return c.next(c.pos, false)
}

func (c *etcdCursor) Prev() ([]byte, []byte) {
	if c.pos == nil {
		return nil, nil
	}
	return c.prev(c.pos, false)
}

func (c *etcdCursor) Delete() error {
	if c.pos == nil {
		return nil
	}
	return c.t.del(c.b, c.pos)
}
