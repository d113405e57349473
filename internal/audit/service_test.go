package audit_test

import (
	"context"
	"testing"

	"certseal/internal/audit"
	"certseal/internal/store"
)

func TestServiceListAndVerify(t *testing.T) {
	ctx := context.Background()
	db := withEvents(t, 5)
	svc := &audit.Service{DB: db}
	for name, tc := range map[string]struct {
		f        audit.Filter
		before   uint64
		limit    int
		wantSeqs []uint64
		wantNext uint64
	}{
		"newest first, one page": {limit: 2, wantSeqs: []uint64{5, 4}, wantNext: 4},
		"next page":              {before: 4, limit: 2, wantSeqs: []uint64{3, 2}, wantNext: 2},
		"filtered":               {f: audit.Filter{Object: "org/c"}, limit: 10, wantSeqs: []uint64{3}},
		"no match":               {f: audit.Filter{Action: "user.create"}, limit: 10},
	} {
		t.Run(name, func(t *testing.T) {
			events, next, err := svc.List(ctx, tc.f, tc.before, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []uint64
			for _, e := range events {
				seqs = append(seqs, e.Seq)
			}
			if len(seqs) != len(tc.wantSeqs) || next != tc.wantNext {
				t.Fatalf("List = %v next %d, want %v next %d", seqs, next, tc.wantSeqs, tc.wantNext)
			}
			for i := range seqs {
				if seqs[i] != tc.wantSeqs[i] {
					t.Fatalf("List = %v, want %v", seqs, tc.wantSeqs)
				}
			}
		})
	}
	res, err := svc.Verify(ctx)
	if err != nil || !res.OK || res.Events != 5 {
		t.Fatalf("Verify = %+v, %v; want 5 events, OK", res, err)
	}
	if err := db.Update(func(tx *store.Tx) error { return tx.Delete(audit.Events, store.U64(2)) }); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Verify(ctx); err != nil || res.OK || res.Broken != 2 {
		t.Fatalf("Verify after deleting event 2 = %+v, %v; want broken at 2", res, err)
	}
}
