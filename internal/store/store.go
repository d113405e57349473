// Package store is certseal's storage seam: a key/value database with read and write
// transactions, buckets by name, prefix scans, sequences, JSON codecs, a schema version with
// migrations, and hot backups. bbolt is its implementation; only this package imports bbolt, so
// that another engine can stand in later without touching the domain packages.
//
// Rules (from bbolt's README): one writer at a time; values returned by Get are copies, but the
// keys and values handed to Scan and Cursor callbacks are only valid inside the transaction; Batch
// may run a function more than once, so it is only for functions whose effects are all inside
// the transaction.
package store

import (
	"bytes"
	"certseal"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// Bucket names a table. Packages declare their buckets as package variables.
type Bucket string

// ErrStop ends a Scan early without an error.
var ErrStop = errors.New("stop scan")

// Options tune how the database is opened.
type Options struct {
	// NoSync skips fsync on commit. Only for tests and benchmarks that say so.
	NoSync bool
	// ReadOnly opens the file for reading only (for verify and inspection commands).
	ReadOnly bool
	// Timeout is how long Open waits for the file lock held by another process (default 2s).
	Timeout time.Duration
	// Check is how thoroughly Open checks an existing file before bbolt uses it (CheckQuick by
	// default; CheckFull reads the whole file). A damaged file is refused with a *CorruptError
	// and left untouched.
	Check CheckLevel
}

// DB is an open database.
type DB struct {
	eng     engine   // the engine behind View, Update and Batch
	b       *bolt.DB // the bbolt file (nil on etcd): backups
	path    string
	state   writeState
	group   groupCommit   // Batch's leader/follower group commit
	claims  claims        // Claim's claims
	nodes   nodeCount     // etcd: the live nodes and the event leases (etcd_limits.go)
	commits atomic.Uint64 // write transactions committed
}

// Commits returns the number of write transactions this DB has committed (Update, and each
// group of Batch calls), for tests and benchmarks that count commits per operation.
func (db *DB) Commits() uint64 { return db.commits.Load() }

// FileName is the database file's name inside the data directory.
const FileName = "certseal.db"

// Open opens (creating when needed) the database at path and brings its schema up to date. It
// returns an error when the file is locked by another process, is not a certseal database, or
// has a schema newer than this program knows.
func Open(path string, o *Options) (*DB, error) {
	if o == nil {
		o = &Options{}
	}
	if !o.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	if err := checkBeforeOpen(path, o, timeout); err != nil {
		return nil, err
	}
	// NoFreelistSync: bbolt otherwise writes its whole free-page list at every commit, which grows
	// with the file (certificate PDFs make it grow fast) until it is a third of a commit's cost at
	// 5 GB; without it, Open rebuilds the list by scanning the file once.
	b, err := openBolt(path, &bolt.Options{Timeout: timeout, NoSync: o.NoSync, ReadOnly: o.ReadOnly,
		FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: the database is in use by another certseal process", path)
		}
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db := &DB{eng: boltEngine{b}, b: b, path: path}
	return db.start(o.ReadOnly)
}

// start brings a newly opened database's schema up to date (or, read-only, checks it) and
// closes the database when that fails.
func (db *DB) start(readOnly bool) (*DB, error) {
	if !readOnly {
		if err := db.migrate(); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := db.checkVersion(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// checkBeforeOpen checks an existing database file, opened read-only, before bbolt opens it
// (for writing, bbolt would initialise an empty file and, with NoFreelistSync, walk the whole
// page tree in a goroutine whose panic on a damaged page no one can recover). A missing file
// is fine: Open creates it.
func checkBeforeOpen(path string, o *Options, timeout time.Duration) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // bbolt creates it, or reports it missing when opening read-only
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer f.Close()
	err = checkOpenFile(f, path, o.Check, timeout)
	if errors.Is(err, errLocked) {
		return fmt.Errorf("open %s: the database is in use by another certseal process", path)
	}
	return err
}

// openBolt is bolt.Open, reporting a panic of bbolt's on a damaged file as a *CorruptError.
func openBolt(path string, o *bolt.Options) (b *bolt.DB, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, &CorruptError{Path: path, Reason: fmt.Sprintf("bbolt 无法读取：%v", p)}
		}
	}()
	return bolt.Open(path, 0o600, o)
}

// Path returns the database file's path (on etcd, the endpoints and key prefix it names).
func (db *DB) Path() string { return db.path }

// Engine names the engine: "bbolt" or "etcd".
func (db *DB) Engine() string { return db.eng.name() }

// Close closes the database; it waits for open transactions to finish.
func (db *DB) Close() error {
	db.closeClaims()
	return db.eng.close()
}

// View runs fn in a read-only transaction and returns fn's error. All of fn's reads see one
// snapshot of the database.
func (db *DB) View(fn func(tx *Tx) error) error {
	return db.eng.view(func(e etx) error { return fn(&Tx{e: e}) })
}

// Update runs fn in a read-write transaction. When fn returns nil the transaction commits and
// the functions fn registered with OnCommit run, in order; when fn returns an error (or panics)
// nothing is written and that error is returned. A commit that fails for lack of disk space
// returns a *DiskFullError (503 for the caller) and marks the database as failing to write
// (WriteFailing) until a write commits again. On etcd fn runs again when another node changed
// what it read before it committed (optimistic concurrency), so, as for Batch, its effects
// outside the transaction belong in OnCommit.
func (db *DB) Update(fn func(tx *Tx) error) error {
	var t *Tx
	err := db.eng.update(func(e etx) error {
		t = &Tx{e: e}
		if err := fn(t); err != nil {
			return err
		}
		return db.injected()
	})
	if err := db.committed(err); err != nil {
		return err
	}
	db.commits.Add(1)
	t.runHooks()
	return nil
}

// Batch is Update with group commit: concurrent Batch calls share one transaction and one fsync.
// It is leader/follower group commit, as databases do it: a lone writer commits at once (it does
// not wait for company), and the writers that arrive while a commit is running queue up and go
// together in the next commit, run by one of them. fn may run more than once (when another
// function in the same group fails, the group runs again without it), so it must only change the
// database, and its OnCommit functions run once, after the commit that kept its effects. A
// function that fails gets its own error (it saw the effects of the functions before it in its
// group, as if they had committed first); a function that panics gets an error.
func (db *DB) Batch(fn func(tx *Tx) error) error {
	if !db.eng.groups() {
		return db.Update(fn) // etcd: concurrent optimistic transactions, batched by raft
	}
	c := &batchCall{fn: fn, done: make(chan struct{})}
	g := &db.group
	g.mu.Lock()
	g.queue = append(g.queue, c)
	g.mu.Unlock()
	g.leader.Lock()
	select {
	case <-c.done: // the previous leader committed it with its group
	default:
		g.mu.Lock()
		calls := g.queue
		g.queue = nil
		g.mu.Unlock()
		db.commitGroup(calls)
	}
	g.leader.Unlock()
	<-c.done
	if c.err != nil {
		return c.err
	}
	c.tx.runHooks()
	return nil
}

// groupCommit is the state of Batch's group commit: the calls waiting for the next commit, and
// the lock held by the writer committing a group.
type groupCommit struct {
	mu     sync.Mutex
	queue  []*batchCall
	leader sync.Mutex
}

// batchCall is one Batch call: its function, and when done is closed its result and the Tx of
// the run that committed.
type batchCall struct {
	fn   func(tx *Tx) error
	err  error
	tx   *Tx
	done chan struct{}
}

// commitGroup runs the calls' functions in one write transaction and commits it. A function that
// fails is answered with its error and the group runs again without it.
func (db *DB) commitGroup(calls []*batchCall) {
	for len(calls) > 0 {
		failed, txs := -1, make([]*Tx, len(calls))
		var failErr error
		err := db.eng.update(func(e etx) error {
			for i, c := range calls {
				txs[i] = &Tx{e: e}
				if err := runBatchFn(c.fn, txs[i]); err != nil {
					failed, failErr = i, err
					return err
				}
			}
			return db.injected()
		})
		if failed >= 0 {
			c := calls[failed]
			c.err = failErr
			close(c.done)
			calls = append(calls[:failed:failed], calls[failed+1:]...)
			continue
		}
		if err = db.committed(err); err == nil {
			db.commits.Add(1)
		}
		for i, c := range calls {
			c.err, c.tx = err, txs[i]
			close(c.done)
		}
		return
	}
}

// runBatchFn runs fn, turning a panic into an error (the panicking function may be another
// writer's, run by this one).
func runBatchFn(fn func(tx *Tx) error, t *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: panic in a batch function: %v", p)
		}
	}()
	return fn(t)
}

// Ready reports whether the database can be read: it opens and closes one read transaction.
// The server's readiness check calls it.
func (db *DB) Ready() error {
	return db.View(func(tx *Tx) error { _ = tx.Version(); return nil })
}

// Backup writes a consistent copy of the whole database to w while other transactions go on, and
// returns the number of bytes written.
func (db *DB) Backup(w io.Writer) (int64, error) {
	if db.b == nil {
		return 0, errNoFileBackup
	}
	var n int64
	err := db.b.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	return n, err
}

// BackupTx runs fn in one read transaction with the size of the consistent copy of the database
// that transaction sees and a function that writes that copy, so that a backup can add, from the
// same transaction, what the copy refers to (the documents of its certificates).
func (db *DB) BackupTx(fn func(tx *Tx, size int64, copyTo func(io.Writer) (int64, error)) error) error {
	if db.b == nil {
		return errNoFileBackup
	}
	return db.b.View(func(btx *bolt.Tx) error {
		return fn(&Tx{e: boltTx{btx}}, btx.Size(), btx.WriteTo)
	})
}

// errNoFileBackup is Backup on an engine that has no database file.
var errNoFileBackup = certseal.Errorf(certseal.EUnavailable, "集群数据库不做文件备份：请用 etcdctl snapshot save 备份 etcd，并备份对象存储（见 docs/cluster.md）")

// BackupFile writes a consistent copy of the database to path (mode 0600), through a temporary
// file renamed into place, so a failed backup never leaves a partial file under that name.
func (db *DB) BackupFile(path string) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := db.Backup(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return backupError(err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return backupError(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup: %w", err)
	}
	return os.Rename(tmp, path)
}

// backupError wraps a failed backup write, naming a lack of space as such.
func backupError(err error) error {
	if d := diskFull(err); d != nil {
		return fmt.Errorf("backup: %w", d)
	}
	return fmt.Errorf("backup: %w", err)
}

// Tx is a transaction. It is only valid inside the function it was passed to.
type Tx struct {
	e     etx
	hooks []func()
}

// Writable reports whether the transaction may write.
func (t *Tx) Writable() bool { return t.e.writable() }

// OnCommit registers fn to run after the transaction commits (never when it rolls back). Use it
// to wake a background worker; fn must not use the transaction.
func (t *Tx) OnCommit(fn func()) { t.hooks = append(t.hooks, fn) }

func (t *Tx) runHooks() {
	for _, h := range t.hooks {
		h()
	}
}

// Get returns a copy of the value stored under key, or nil when there is none.
func (t *Tx) Get(b Bucket, key []byte) []byte {
	v := t.e.get(b, key)
	if v == nil {
		return nil
	}
	return bytes.Clone(v)
}

// Has reports whether key is present.
func (t *Tx) Has(b Bucket, key []byte) bool { return t.e.get(b, key) != nil }

// Put stores value under key, creating the bucket when needed. It fails in a read-only
// transaction or for an empty key.
func (t *Tx) Put(b Bucket, key, value []byte) error {
	if err := t.e.put(b, key, value); err != nil {
		return fmt.Errorf("bucket %s: %w", b, err)
	}
	return nil
}

// Delete removes key; deleting a missing key is not an error.
func (t *Tx) Delete(b Bucket, key []byte) error { return t.e.del(b, key) }

// NextID returns the bucket's next sequence number, starting at 1. It fails in a read-only
// transaction.
func (t *Tx) NextID(b Bucket) (uint64, error) {
	n, err := t.e.nextSeq(b)
	if err != nil {
		return 0, fmt.Errorf("bucket %s: %w", b, err)
	}
	return n, nil
}

// RaiseSequence sets the bucket's sequence number to n when it is below n (so that NextID never
// hands out n or less again); a higher sequence is left alone. It fails in a read-only
// transaction.
func (t *Tx) RaiseSequence(b Bucket, n uint64) error {
	if t.e.seq(b) >= n {
		return nil
	}
	if err := t.e.setSeq(b, n); err != nil {
		return fmt.Errorf("bucket %s: %w", b, err)
	}
	return nil
}

// Sequence returns the bucket's current sequence number without advancing it (0 when unused).
func (t *Tx) Sequence(b Bucket) uint64 { return t.e.seq(b) }

// Count returns the number of keys in the bucket. It walks the bucket: O(n).
func (t *Tx) Count(b Bucket) int { return t.e.count(b) }

// Scan calls fn for each key with the given prefix, in key order, starting at the first key
// >= after's successor when after is set (for cursors: the last key of the previous page). k and v
// are only valid during fn. Returning ErrStop from fn ends the scan with a nil error; any other
// error ends it and is returned.
func (t *Tx) Scan(b Bucket, prefix, after []byte, fn func(k, v []byte) error) error {
	c := t.e.cursor(b)
	if c == nil {
		return nil
	}
	var k, v []byte
	if after != nil && bytes.Compare(after, prefix) >= 0 {
		k, v = c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(prefix)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return t.e.err()
}

// ScanReverse calls fn for each key with the given prefix in reverse key order, starting before
// `before` when it is set. It is otherwise like Scan.
func (t *Tx) ScanReverse(b Bucket, prefix, before []byte, fn func(k, v []byte) error) error {
	c := t.e.cursor(b)
	if c == nil {
		return nil
	}
	var k, v []byte
	if before != nil {
		if k, _ = c.Seek(before); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	} else {
		k, v = seekLastWithPrefix(c, prefix)
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, v = c.Prev() {
		if err := fn(k, v); err != nil {
			if errors.Is(err, ErrStop) {
				return nil
			}
			return err
		}
	}
	return t.e.err()
}

func seekLastWithPrefix(c ecursor, prefix []byte) ([]byte, []byte) {
	end := prefixEnd(prefix)
	if end == nil {
		return c.Last()
	}
	if k, _ := c.Seek(end); k == nil {
		return c.Last()
	}
	return c.Prev()
}

// prefixEnd returns the smallest key greater than every key with the prefix, or nil if none.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// Cursor walks a bucket in key order. Keys and values are only valid inside the transaction.
type Cursor struct{ c ecursor }

// Cursor returns a cursor over the bucket; over a missing bucket it finds nothing.
func (t *Tx) Cursor(b Bucket) *Cursor { return &Cursor{c: t.e.cursor(b)} }

// Seek moves to the first key >= key and returns it, or nil when there is none.
func (c *Cursor) Seek(key []byte) ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return c.c.Seek(key)
}

// SeekLE moves to the last key <= key and returns it, or nil when there is none.
func (c *Cursor) SeekLE(key []byte) ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	k, v := c.c.Seek(key)
	if k != nil && bytes.Equal(k, key) {
		return k, v
	}
	if k == nil {
		return c.c.Last()
	}
	return c.c.Prev()
}

// First moves to the first key.
func (c *Cursor) First() ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return c.c.First()
}

// Last moves to the last key.
func (c *Cursor) Last() ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return c.c.Last()
}

// Next moves to the next key; nil at the end.
func (c *Cursor) Next() ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return c.c.Next()
}

// Prev moves to the previous key; nil at the start.
func (c *Cursor) Prev() ([]byte, []byte) {
	if c.c == nil {
		return nil, nil
	}
	return c.c.Prev()
}

// Delete removes the key the cursor is on.
func (c *Cursor) Delete() error {
	if c.c == nil {
		return nil
	}
	return c.c.Delete()
}

// GetJSON decodes the JSON value under key into v and reports whether it was there.
func (t *Tx) GetJSON(b Bucket, key []byte, v any) (bool, error) {
	raw := t.e.get(b, key)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("decode %s/%q: %w", b, key, err)
	}
	return true, nil
}

// PutJSON stores v encoded as JSON under key.
func (t *Tx) PutJSON(b Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%q: %w", b, key, err)
	}
	return t.Put(b, key, raw)
}

// IDKey returns the key of a record with the decimal id id (U64 of it), and false for anything
// else, 0 included: ids from a URL or a request name records only this way.
func IDKey(id string) ([]byte, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return nil, false
	}
	return U64(n), true
}

// GetByID reads the JSON record with the decimal id id from bucket b. It returns an
// *certseal.Error (ENotFound) naming what ("证照 \"7\" 不存在") when id is not a record id or
// no record has it, and the store's error when reading fails.
func GetByID[T any](tx *Tx, b Bucket, id, what string) (T, error) {
	var v T
	k, ok := IDKey(id)
	if ok {
		found, err := tx.GetJSON(b, k, &v)
		if err != nil {
			return v, err
		}
		ok = found
	}
	if !ok {
		return v, certseal.Errorf(certseal.ENotFound, "%s %q 不存在", what, id)
	}
	return v, nil
}

// U64 returns n as 8 big-endian bytes, so that numeric keys sort in order.
func U64(n uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n)
	return b[:]
}

// ParseU64 decodes 8 big-endian bytes; it returns 0 for a short slice.
func ParseU64(b []byte) uint64 {
	if len(b) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Key joins parts with a 0x00 separator, so that a prefix scan on Key(a) finds Key(a, ...) but
// not Key(a+"x", ...). Parts must not contain 0x00.
func Key(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	k := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			k = append(k, 0)
		}
		k = append(k, p...)
	}
	return k
}

// Prefix is Key(parts...) followed by the separator: the prefix of every key that extends parts.
func Prefix(parts ...string) []byte { return append(Key(parts...), 0) }

// Page decodes the JSON values of bucket b whose keys have the given prefix, from the key after
// `after` on, keeps those for which keep returns true (nil keeps all), and returns up to limit of
// them with the key of the last one returned when more remain (nil otherwise): one page of a
// paginated list. It returns the first decoding error.
func Page[T any](tx *Tx, b Bucket, prefix, after []byte, limit int, keep func(*T) bool) ([]T, []byte, error) {
	var out []T
	var lastKey, next []byte
	err := tx.Scan(b, prefix, after, func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("decode %s/%q: %w", b, k, err)
		}
		if keep != nil && !keep(&x) {
			return nil
		}
		if len(out) == limit {
			next = lastKey
			return ErrStop
		}
		out = append(out, x)
		lastKey = bytes.Clone(k)
		return nil
	})
	return out, next, err
}

// BucketStat is the size of one bucket: its keys, the bytes of its keys and values, and the
// bytes of the pages it occupies.
type BucketStat struct {
	Keys      int
	DataBytes int
	PageBytes int
}

// BucketStats returns the size of every top-level bucket (it walks them all: for benchmarks and
// inspection).
func (db *DB) BucketStats() (map[Bucket]BucketStat, error) {
	if db.b == nil {
		return nil, fmt.Errorf("bucket statistics are kept for bbolt only, not on %s", db.eng.name())
	}
	out := map[Bucket]BucketStat{}
	err := db.b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			s := b.Stats()
			st := BucketStat{Keys: s.KeyN, PageBytes: s.BranchAlloc + s.LeafAlloc}
			err := b.ForEach(func(k, v []byte) error { st.DataBytes += len(k) + len(v); return nil })
			out[Bucket(name)] = st
			return err
		})
	})
	return out, err
}

// Err returns the first read error the transaction met, nil on bbolt. A read that fails on etcd
// (the cluster unreachable) returns nothing and the transaction then fails with that error.
func (t *Tx) Err() error { return t.e.err() }
