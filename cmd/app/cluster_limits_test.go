package app_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app/testenv"
)

// TestClusterRateLimitAcrossNodes: one address spreading its public verification requests over
// two nodes on one etcd gets the configured burst (30) from the cluster, not 30 from each node:
// each node counts the other (store.DB.Nodes) and allows half.
func TestClusterRateLimitAcrossNodes(t *testing.T) {
	_, nodes := cluster(t, 2)
	testenv.WaitFor(t, "both nodes counted", func() bool { return nodes[0].App.DB.Nodes() == 2 && nodes[1].App.DB.Nodes() == 2 })
	start := time.Now()
	allowed, limited := 0, 0
	for i := range 80 {
		r := nodes[i%2].Do("GET", "/verify/NO-SUCH-CERTIFICATE", "", nil)
		switch r.Status {
		case 429:
			limited++
			if r.ErrorCode() != certseal.ERateLimited || r.Header.Get("Retry-After") == "" {
				t.Fatalf("429 without rate_limited and Retry-After: %s", r.Body)
			}
		case 404, 400:
			allowed++
		default:
			t.Fatalf("verify: %d %s", r.Status, r.Body)
		}
	}
	// The burst, plus what the rate (5 per second) refilled while the requests ran.
	most := 30 + int(5*time.Since(start).Seconds()) + 1
	if allowed > most || allowed < 28 || limited == 0 {
		t.Fatalf("%d requests allowed and %d limited across two nodes; want at most %d (30 for the cluster, not 60)", allowed, limited, most)
	}
}

// TestClusterSignInThrottleAcrossNodes: failed sign-ins from one address alternating between
// two nodes are counted together: after 20 (PasswordLimits' default), the next attempt on
// either node is refused with rate_limited, although each node saw only 10; another address is
// not affected.
func TestClusterSignInThrottleAcrossNodes(t *testing.T) {
	_, nodes := cluster(t, 2)
	ctx := context.Background()
	const addr = "203.0.113.9"
	for i := range 20 {
		_, err := nodes[i%2].App.Orgs.CheckPassword(ctx, addr, fmt.Sprintf("nobody%d", i), "wrong-password")
		if certseal.ErrorCode(err) != certseal.EUnauthorized {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	for i, n := range nodes {
		_, err := n.App.Orgs.CheckPassword(ctx, addr, "nobody", "wrong-password")
		if certseal.ErrorCode(err) != certseal.ERateLimited {
			t.Fatalf("node %d after 20 failures across the cluster: %v", i, err)
		}
	}
	if _, err := nodes[1].App.Orgs.CheckPassword(ctx, "203.0.113.10", "nobody", "wrong-password"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("another address: %v", err)
	}
}
