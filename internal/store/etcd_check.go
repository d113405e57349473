package store

import (
	"context"
	"fmt"
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
