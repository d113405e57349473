package store

import (
	"bytes"
	"certseal"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// keyMigrating is the key of Meta that an unfinished migration into etcd holds (its value: the
// source's fingerprint). OpenEtcd refuses a database that has it, so no node serves a half
// copied database; the migration deletes it in the commit that records the migration in the
// audit log.
var keyMigrating = []byte("migrating")

func migratingKey(prefix string) string {
	return prefix + etcdData + string(Meta) + "\x00" + string(keyMigrating)
}

// EtcdMigration copies a bbolt database into an etcd cluster (certseal migrate --to etcd). It is
// resumable, not atomic: the copy is many etcd transactions, the first of which writes the
// marker keyMigrating; a migration that stopped half way is finished by running it again from
// the same, unchanged source (every key is written again, with the same value), and until then
// no node opens the target.
type EtcdMigration struct {
	src     *DB
	o       EtcdOptions
	c       *clientv3.Client
	print   string // the source's fingerprint
	Resumed bool   // the target held an unfinished migration of this source
	// Buckets, Keys and Bytes are what the source holds (counted by Prepare).
	Buckets, Keys int
	Bytes         int64
}

// migrationPrint identifies a state of the source: its path, the id of its last transaction and
// its size, so that a resumed migration is of the very same data.
type migrationPrint struct {
	Source string `json:"source"`
	TxID   int    `json:"tx_id"`
	Size   int64  `json:"size"`
}

// PrepareEtcdMigration checks that src (a bbolt database, opened read-only) can be copied into
// the etcd cluster o and marks the target: it refuses a value larger than etcd takes, a target
// prefix that holds anything but an unfinished migration of this same source, and a source
// that is not bbolt. Close it when done.
func PrepareEtcdMigration(ctx context.Context, src *DB, o EtcdOptions) (*EtcdMigration, error) {
	if src.b == nil {
		return nil, certseal.Errorf(certseal.EInvalid, "迁移的源须是单机 bbolt 数据库")
	}
	if len(o.Endpoints) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "迁移目标缺少 etcd 地址（-etcd-endpoints）")
	}
	o = etcdDefaults(o)
	m := &EtcdMigration{src: src, o: o}
	var p migrationPrint
	err := src.b.View(func(tx *bolt.Tx) error {
		p = migrationPrint{Source: src.path, TxID: tx.ID(), Size: tx.Size()}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			m.Buckets++
			return b.ForEach(func(k, v []byte) error {
				if v == nil {
					return certseal.Errorf(certseal.EInvalid, "源数据库的表 %q 含有嵌套表 %q，无法迁移", name, k)
				}
				if len(v) > MaxEtcdValue {
					return certseal.Errorf(certseal.ETooLarge, "源数据库表 %q 的键 %x 的值有 %d 字节，超过集群数据库每条 %d 字节的上限，无法迁移", name, k, len(v), MaxEtcdValue)
				}
				if len(o.Prefix)+len(etcdData)+len(name)+1+len(k)+len(v)+64 > o.MaxRequestBytes {
					return certseal.Errorf(certseal.ETooLarge, "源数据库表 %q 的键 %x 超过 etcd 单次请求的上限（-etcd-max-request-bytes）", name, k)
				}
				m.Keys++
				m.Bytes += int64(len(k) + len(v))
				return nil
			})
		})
	})
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(p)
	m.print = string(raw)
	if m.c, err = dialEtcd(o); err != nil {
		return nil, err
	}
	if err := m.mark(ctx); err != nil {
		m.c.Close()
		return nil, err
	}
	return m, nil
}

// mark checks the target and writes the marker (or finds its own).
func (m *EtcdMigration) mark(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, m.o.RequestTimeout)
	defer cancel()
	marker := migratingKey(m.o.Prefix)
	resp, err := m.c.Get(ctx, m.o.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return unavailable(err)
	}
	if resp.Count > 0 {
		got, err := m.c.Get(ctx, marker)
		if err != nil {
			return unavailable(err)
		}
		if len(got.Kvs) == 0 {
			return certseal.Errorf(certseal.EConflict, "迁移目标 etcd 前缀 %q 下已有 %d 个键：迁移只写入空的目标（换一个 -etcd-prefix，或先清空它）", m.o.Prefix, resp.Count)
		}
		if string(got.Kvs[0].Value) != m.print {
			return certseal.Errorf(certseal.EConflict, "迁移目标 etcd 前缀 %q 下有一次未完成的迁移，但不是这个源（或源在此期间已改变：%s）：清空该前缀后重新迁移", m.o.Prefix, got.Kvs[0].Value)
		}
		m.Resumed = true
		return nil
	}
	tr, err := m.c.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(marker), "=", 0)).
		Then(clientv3.OpPut(marker, m.print)).Commit()
	if err != nil {
		return unavailable(err)
	}
	if !tr.Succeeded {
		return certseal.Errorf(certseal.EConflict, "另一个迁移同时写入了 etcd 前缀 %q", m.o.Prefix)
	}
	return nil
}

// Copy writes every bucket's keys, values and sequence into the target, in etcd transactions
// of at most the cluster's --max-txn-ops operations and --max-request-bytes bytes, checking
// first that the marker is still this migration's. progress, when not nil, is called after each
// transaction with the keys copied so far.
func (m *EtcdMigration) Copy(ctx context.Context, progress func(keys int)) error {
	marker := migratingKey(m.o.Prefix)
	var ops []clientv3.Op
	size, done := 0, 0
	flush := func() error {
		if len(ops) == 0 {
			return nil
		}
		c, cancel := context.WithTimeout(ctx, m.o.RequestTimeout)
		defer cancel()
		tr, err := m.c.Txn(c).If(clientv3.Compare(clientv3.Value(marker), "=", m.print)).Then(ops...).Commit()
		if err != nil {
			return unavailable(err)
		}
		if !tr.Succeeded {
			return certseal.Errorf(certseal.EConflict, "迁移目标 etcd 前缀 %q 的迁移标记已被改动：迁移中止", m.o.Prefix)
		}
		ops, size = ops[:0], 0
		if progress != nil {
			progress(done)
		}
		return nil
	}
	add := func(key, val string) error {
		if len(ops)+1 >= m.o.MaxTxnOps || size+len(key)+len(val)+64 > m.o.MaxRequestBytes-(64<<10) {
			if err := flush(); err != nil {
				return err
			}
		}
		ops = append(ops, clientv3.OpPut(key, val))
		size += len(key) + len(val) + 16
		return nil
	}
	err := m.src.b.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			pre := m.o.Prefix + etcdData + string(name) + "\x00"
			if n := b.Sequence(); n > 0 {
				if err := add(m.o.Prefix+etcdSeq+string(name), string(U64(n))); err != nil {
					return err
				}
			}
			return b.ForEach(func(k, v []byte) error {
				if Bucket(name) == Meta && bytes.Equal(k, keyMigrating) {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				done++
				return add(pre+string(k), string(v))
			})
		})
	})
	if err != nil {
		return err
	}
	return flush()
}

// Open opens the copied database (the marker still in it, so that no node serves it yet); the
// caller records the migration with FinishEtcdMigration in one Update. Open takes over the
// migration's connection: close the DB, not the migration, afterwards.
func (m *EtcdMigration) Open() (*DB, error) {
	c := m.c
	m.c = nil
	return openEtcdEngine(c, m.o)
}

// Close closes the migration's connection if Open did not take it.
func (m *EtcdMigration) Close() error {
	if m.c == nil {
		return nil
	}
	return m.c.Close()
}

// FinishEtcdMigration ends a migration inside tx (with its audit event): it deletes the marker,
// after which nodes open the database. It fails when tx's database holds no migration.
func FinishEtcdMigration(tx *Tx) error {
	if tx.Get(Meta, keyMigrating) == nil {
		return errors.New("no migration in progress")
	}
	return tx.Delete(Meta, keyMigrating)
}

// MigrationSource describes the migration's source for messages and the audit event.
func (m *EtcdMigration) MigrationSource() string {
	return fmt.Sprintf("%s (%s)", m.src.path, strings.TrimSpace(m.print))
}
