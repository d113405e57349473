package seals_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"certseal"
	"certseal/seals"
)

// TestConcurrentCreateMany registers many seals at once, two of them under the same code: the
// outcome is that of a serial run (every other seal made, numbered 1…n without a gap, one of the
// two twins refused as a code already in use), and no caller ever hears of the retry inside.
func TestConcurrentCreateMany(t *testing.T) {
	e := newRegEnv(t)
	ctx := context.Background()
	if _, err := e.reg.CA(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 24
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("51080200002%02d", i)
	}
	codes[n-1] = codes[0] // the twins
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			s := e.lizhouSeal()
			s.Code = codes[i]
			_, errs[i] = e.reg.Create(ctx, e.admin, s)
		})
	}
	close(start)
	wg.Wait()
	conflicts := 0
	for i, err := range errs {
		switch {
		case err == nil:
		case (i == 0 || i == n-1) && certseal.ErrorCode(err) == certseal.EConflict && strings.Contains(err.Error(), "已被印章"):
			conflicts++
		default:
			t.Errorf("seal %d (code %s): %v", i, codes[i], err)
		}
	}
	if conflicts != 1 {
		t.Errorf("%d of the twins refused, want 1", conflicts)
	}
	items, _, err := e.reg.List(ctx, seals.SealFilter{}, "", 50)
	if err != nil || len(items) != n-1 {
		t.Fatalf("%v: %d seals, want %d", err, len(items), n-1)
	}
	for i, s := range items {
		if want := fmt.Sprintf("ES510802%06d", i+1); s.ID != want {
			t.Errorf("seal %d: id %s, want %s", i, s.ID, want)
		}
	}
}
