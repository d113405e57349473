package store

import (
	"context"
	"fmt"
	"io"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdMember is one member of the cluster as CheckEtcdMembers found it.
type EtcdMember struct {
	Name     string
	Endpoint string
	Hash     uint32 // the hash of its key space at the compared revision (HashKV)
	Err      error  // it could not be asked
}

// CheckEtcdMembers asks every member of the cluster behind db (etcd's member list) for the
// hash of its whole key space at one revision (etcd's HashKV, the check etcd's own corruption
// detector runs) and reports the revision and the members; members whose hashes differ hold
// different data, which is damage. It fails on bbolt.
func (db *DB) CheckEtcdMembers(ctx context.Context) (int64, []EtcdMember, error) {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		return 0, nil, fmt.Errorf("not an etcd database")
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ml, err := e.c.MemberList(ctx)
	if err != nil {
		return 0, nil, unavailable(err)
	}
	resp, err := e.c.Get(ctx, e.o.Prefix+"meta-probe")
	if err != nil {
		return 0, nil, unavailable(err)
	}
	rev := resp.Header.Revision
	var out []EtcdMember
	for _, m := range ml.Members {
		mem := EtcdMember{Name: m.Name}
		if len(m.ClientURLs) == 0 {
			mem.Err = fmt.Errorf("no client URL (a learner or a member not started)")
			out = append(out, mem)
			continue
		}
		mem.Endpoint = m.ClientURLs[0]
		for try := 0; ; try++ {
			var h *clientv3.HashKVResponse
			h, mem.Err = e.c.HashKV(ctx, mem.Endpoint, rev)
			if mem.Err == nil {
				mem.Hash = h.Hash
				break
			}
			if try == 20 || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond) // the member has not applied rev yet
		}
		out = append(out, mem)
	}
	return rev, out, nil
}

// Dump writes the database's content to w: on bbolt its consistent copy (Backup), on etcd every
// key and value of the buckets and every sequence, in key order, read at one revision (the
// bookkeeping keys beside them, claims, node keys and events, are left out). Two dumps are
// equal when nothing was written in between: tests compare them to see that a refused request
// wrote nothing.
func (db *DB) Dump(w io.Writer) error {
	e, ok := db.eng.(*etcdEngine)
	if !ok {
		_, err := db.Backup(w)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rev int64
	for _, part := range []string{etcdData, etcdSeq} {
		from, end := e.o.Prefix+part, clientv3.GetPrefixRangeEnd(e.o.Prefix+part)
		for {
			opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(1000)}
			if rev > 0 {
				opts = append(opts, clientv3.WithRev(rev))
			}
			resp, err := e.c.Get(ctx, from, opts...)
			if err != nil {
				return unavailable(err)
			}
			if rev == 0 {
				rev = resp.Header.Revision
			}
			for _, kv := range resp.Kvs {
				fmt.Fprintf(w, "%d:%s=%d:%s\n", len(kv.Key), kv.Key, len(kv.Value), kv.Value)
			}
			if !resp.More || len(resp.Kvs) == 0 {
				break
			}
			from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
	}
	return nil
}
