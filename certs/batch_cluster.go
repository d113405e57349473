package certs

import "context"

// claimCluster takes, on a cluster, the claim that makes this node the one that runs batch id
// (store.DB.Claim: held under the node's lease, so when the node dies the claim lapses and
// another node's runner takes the batch over where it stopped). On one node it is always true.
// b.mu is held.
func (b *Batches) claimCluster(id string) bool {
	if c, _ := b.Certs.DB.Etcd(); c == nil {
		return true
	}
	release, held, err := b.Certs.DB.Claim(context.Background(), []string{"batch\x00" + id})
	if err != nil {
		b.log().Warn("batches: claim", "batch", id, "err", err)
		return false
	}
	if held >= 0 {
		return false // another node runs it
	}
	if b.cluster == nil {
		b.cluster = map[string]func(){}
	}
	b.cluster[id] = release
	return true
}

// releaseCluster gives up the cluster claim of batch id, if any. b.mu is held.
func (b *Batches) releaseCluster(id string) {
	if release := b.cluster[id]; release != nil {
		release()
		delete(b.cluster, id)
	}
}
