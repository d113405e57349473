package app_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"certseal/certs/exchange"
	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
)

// TestClusterExchangeFeedIsGapFree: clerks on two nodes of one etcd cluster issue and suspend
// certificates at the same time; the change feed read from either node then numbers every
// change 1, 2, 3, … without a gap or a repeat, both nodes return the same feed, and each issue
// and each suspension appears exactly once.
func TestClusterExchangeFeedIsGapFree(t *testing.T) {
	_, nodes := cluster(t, 2)
	seal := testenv.SealOf(t, nodes[0], "lizhou-clerk")
	fs := fixtures.FoodRecords(t)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := nodes[i%2]
			r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", testenv.IssueRequest(fs[i], seal, fmt.Sprintf("SC%08d", 100+i)))
			if r.Status != 201 {
				t.Errorf("issue %d: %d %s", i, r.Status, r.Body)
				return
			}
			var c struct{ ID string }
			if err := json.Unmarshal(r.Body, &c); err != nil {
				t.Errorf("issue %d: %v", i, err)
				return
			}
			if i%3 == 0 {
				if r := nodes[(i+1)%2].Do("POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{"op": "suspend", "reason": "停业整顿"}); r.Status != 200 {
					t.Errorf("suspend %d: %d %s", i, r.Status, r.Body)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var feeds [2][]exchange.Record
	for k, e := range nodes {
		var after uint64
		for {
			var p exchange.Page
			e.Must(200, "GET", fmt.Sprintf("/api/v1/exchange/changes?after=%d&limit=5", after), "auditor", nil).Decode(t, &p)
			feeds[k] = append(feeds[k], p.Changes...)
			after = p.Next
			if !p.More {
				break
			}
		}
	}
	const suspended = (n + 2) / 3
	if len(feeds[0]) != n+suspended || len(feeds[1]) != len(feeds[0]) {
		t.Fatalf("feeds of %d and %d records, want %d", len(feeds[0]), len(feeds[1]), n+suspended)
	}
	ops := map[string]int{}
	for i, r := range feeds[0] {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d: a gap or a repeat", i, r.Seq)
		}
		if r != feeds[1][i] {
			t.Fatalf("the nodes differ at seq %d:\n%+v\n%+v", r.Seq, r, feeds[1][i])
		}
		ops[r.Identifier+" "+r.OperationCode]++
	}
	issued, susp := 0, 0
	for k, c := range ops {
		if c != 1 {
			t.Errorf("%s appears %d times", k, c)
		}
		switch k[len(k)-2:] {
		case "01":
			issued++
		case "03":
			susp++
		}
	}
	if issued != n || susp != suspended {
		t.Fatalf("%d issues and %d suspensions in the feed, want %d and %d", issued, susp, n, suspended)
	}
}
