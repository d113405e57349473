package app_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/tsa"
)

// TestClusterTSASerialsUnique: the built-in TSAs of two nodes on one etcd stamp 2,400 tokens at
// once (four clients each, more than two blocks of serial numbers per node): every token
// verifies and no serial number is given twice, across the nodes and the blocks they reserve
// (each block is reserved in a serializable etcd transaction).
func TestClusterTSASerialsUnique(t *testing.T) {
	_, nodes := clusterWith(t, 2, testenv.Options{TSA: "builtin"})
	var mu sync.Mutex
	seen := map[string]int{} // serial → node
	var wg sync.WaitGroup
	for i, n := range nodes {
		a, err := n.App.Seals.BuiltinTSA(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for c := range 4 {
			wg.Go(func() {
				for k := range 300 {
					d := sha256.Sum256(fmt.Appendf(nil, "node %d client %d token %d", i, c, k))
					tok, err := a.Timestamp(context.Background(), tsa.SHA256, d[:])
					if err != nil {
						t.Error(err)
						return
					}
					info, err := tsa.Verify(tok, tsa.SHA256, d[:], nil)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if prev, dup := seen[info.Serial.String()]; dup {
						t.Errorf("serial %s given by node %d and again by node %d", info.Serial, prev, i)
					}
					seen[info.Serial.String()] = i
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != 2400 {
		t.Fatalf("%d distinct serials for 2400 tokens", len(seen))
	}
}
