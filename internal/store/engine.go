package store

import (
	bolt "go.etcd.io/bbolt"
)

// engine is what DB needs of a key/value engine: bbolt (one file, one writer) or etcd (a
// cluster, optimistic transactions). Everything else in this package is written once over it.
type engine interface {
	name() string
	// view runs fn in a read-only transaction over one snapshot.
	view(fn func(etx) error) error
	// update runs fn in a write transaction and commits it when fn returns nil. An engine with
	// optimistic concurrency runs fn again (with a new etx) when what it read changed before
	// the commit.
	update(fn func(etx) error) error
	// groups reports whether Batch should group concurrent writers into one update (true for a
	// single writer engine, where it saves fsyncs).
	groups() bool
	close() error
}

// etx is an engine's transaction. Keys and values it returns are valid inside the transaction.
type etx interface {
	writable() bool
	get(b Bucket, k []byte) []byte
	put(b Bucket, k, v []byte) error
	del(b Bucket, k []byte) error
	nextSeq(b Bucket) (uint64, error)
	seq(b Bucket) uint64
	// setSeq sets the bucket's sequence number to n (RaiseSequence checks it is higher).
	setSeq(b Bucket, n uint64) error
	count(b Bucket) int
	// cursor returns a cursor over b, or nil when b does not exist.
	cursor(b Bucket) ecursor
	createBucket(b Bucket) error
	// err returns the first read error the transaction met (a cursor cannot return one); the
	// transaction fails with it.
	err() error
}

// ecursor is an engine's cursor; *bolt.Cursor is one.
type ecursor interface {
	Seek(k []byte) ([]byte, []byte)
	First() ([]byte, []byte)
	Last() ([]byte, []byte)
	Next() ([]byte, []byte)
	Prev() ([]byte, []byte)
	Delete() error
}

// boltEngine is the bbolt engine: one file, one writer at a time.
type boltEngine struct{ b *bolt.DB }

func (e boltEngine) name() string { return "bbolt" }
func (e boltEngine) groups() bool { return true }
func (e boltEngine) close() error { return e.b.Close() }

func (e boltEngine) view(fn func(etx) error) error {
	return e.b.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (e boltEngine) update(fn func(etx) error) error {
	return e.b.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

// boltTx is a bbolt transaction; a bucket is created by its first write.
type boltTx struct{ tx *bolt.Tx }

func (t boltTx) writable() bool { return t.tx.Writable() }
func (t boltTx) err() error     { return nil }

// fillPercent is how full bbolt fills the pages it splits. Most of certseal's keys only grow
// (record ids, event sequence numbers), and at bbolt's default of 0.5 every page of such a
// bucket stays half empty: the database held 12.4 KB per certificate for 5.3 KB of keys and
// values (BenchmarkDatabaseBytesPerCertificate).
const fillPercent = 0.95

func (t boltTx) wbucket(b Bucket) (*bolt.Bucket, error) {
	bk := t.tx.Bucket([]byte(b))
	if bk == nil {
		var err error
		if bk, err = t.tx.CreateBucketIfNotExists([]byte(b)); err != nil {
			return nil, err
		}
	}
	bk.FillPercent = fillPercent
	return bk, nil
}

func (t boltTx) setSeq(b Bucket, n uint64) error {
	bk, err := t.wbucket(b)
	if err != nil {
		return err
	}
	return bk.SetSequence(n)
}

func (t boltTx) createBucket(b Bucket) error { _, err := t.wbucket(b); return err }

func (t boltTx) get(b Bucket, k []byte) []byte {
	if bk := t.tx.Bucket([]byte(b)); bk != nil {
		return bk.Get(k)
	}
	return nil
}

func (t boltTx) put(b Bucket, k, v []byte) error {
	bk, err := t.wbucket(b)
	if err != nil {
		return err
	}
	return bk.Put(k, v)
}

func (t boltTx) del(b Bucket, k []byte) error {
	if bk := t.tx.Bucket([]byte(b)); bk != nil {
		return bk.Delete(k)
	}
	return nil
}

func (t boltTx) nextSeq(b Bucket) (uint64, error) {
	bk, err := t.wbucket(b)
	if err != nil {
		return 0, err
	}
	return bk.NextSequence()
}

func (t boltTx) seq(b Bucket) uint64 {
	if bk := t.tx.Bucket([]byte(b)); bk != nil {
		return bk.Sequence()
	}
	return 0
}

func (t boltTx) count(b Bucket) int {
	if bk := t.tx.Bucket([]byte(b)); bk != nil {
		return bk.Stats().KeyN
	}
	return 0
}

func (t boltTx) cursor(b Bucket) ecursor {
	if bk := t.tx.Bucket([]byte(b)); bk != nil {
		return bk.Cursor()
	}
	return nil
}
