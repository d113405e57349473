package push

import "context"

// claimSub takes, on a cluster, the claim that makes this node the one deliverer of subscription
// id for one worker run (store.DB.Claim, under the node's lease: a node that dies lets another
// take over after store.ClaimTTL), so that two nodes never post the same events at once. On one
// node it always succeeds.
func (p *Pusher) claimSub(id string) (func(), bool) {
	if c, _ := p.DB.Etcd(); c == nil {
		return func() {}, true
	}
	release, held, err := p.DB.Claim(context.Background(), []string{"push\x00" + id})
	if err != nil {
		p.log().Warn("push: claim", "subscription", id, "err", err)
		return nil, false
	}
	if held >= 0 {
		return nil, false
	}
	return release, true
}
