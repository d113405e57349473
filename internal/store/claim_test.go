package store_test

import (
	"context"
	"testing"
	"time"
)

// TestClaimAcrossNodes: a claim taken on one node is refused on the others, naming the first
// held key in the order asked; it is free again once released, and once its node closed (on
// etcd, its lease revoked).
func TestClaimAcrossNodes(t *testing.T) { forEngines(t, testClaimAcrossNodes) }

func testClaimAcrossNodes(t *testing.T, e engine) {
	ctx := context.Background()
	dbs := nodes(t, e, 2)
	release, held, err := dbs[0].Claim(ctx, []string{"idem\x00u\x00k", "serial\x00A\x0042"})
	if err != nil || held != -1 || release == nil {
		t.Fatalf("first claim: %v held %d", err, held)
	}
	if r, held, err := dbs[1].Claim(ctx, []string{"other", "serial\x00A\x0042"}); err != nil || held != 1 || r != nil {
		t.Fatalf("claim of a held serial on another node: held %d, %v", held, err)
	}
	if _, held, _ := dbs[1].Claim(ctx, []string{"idem\x00u\x00k", "serial\x00A\x0042"}); held != 0 {
		t.Fatalf("both held: held %d, want the first (0)", held)
	}
	// a refused claim takes nothing
	if r, held, err := dbs[0].Claim(ctx, []string{"other"}); err != nil || held != -1 {
		t.Fatalf("key of a refused claim: held %d, %v", held, err)
	} else {
		r()
	}
	release()
	r2, held, err := dbs[1].Claim(ctx, []string{"serial\x00A\x0042"})
	if err != nil || held != -1 {
		t.Fatalf("after release: held %d, %v", held, err)
	}
	if e.name == "bbolt" {
		return
	}
	_ = r2
	dbs[1].Close() // the node goes: its lease is revoked with it
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, held, err := dbs[0].Claim(ctx, []string{"serial\x00A\x0042"})
		if err == nil && held == -1 {
			r()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim of a closed node still held: %d %v", held, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
