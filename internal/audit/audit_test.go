package audit_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

func withEvents(t *testing.T, n int) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "a.db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	actor := certseal.Actor{UserID: "1", Username: "admin", OrgID: "1"}
	for i := 0; i < n; i++ {
		err := db.Update(func(tx *store.Tx) error {
			return audit.Append(tx, now.Add(time.Duration(i)*time.Minute), actor, "org.create", "org/"+string(rune('a'+i)), map[string]int{"i": i})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func verify(t *testing.T, db *store.DB) audit.Result {
	t.Helper()
	var r audit.Result
	if err := db.View(func(tx *store.Tx) error { var err error; r, err = audit.Verify(tx); return err }); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestVerifyIntact(t *testing.T) {
	db := withEvents(t, 10)
	if r := verify(t, db); !r.OK || r.Events != 10 {
		t.Fatalf("got %+v, want ok with 10 events", r)
	}
}

// TestVerifyNamesTamperedEvent corrupts stored events in different ways and checks that Verify
// names the first broken one.
func TestVerifyNamesTamperedEvent(t *testing.T) {
	tests := map[string]struct {
		tamper func(tx *store.Tx) error
		broken uint64
		reason string
	}{
		"content changed": {func(tx *store.Tx) error {
			var e audit.Event
			tx.GetJSON(audit.Events, store.U64(4), &e)
			e.Username = "mallory"
			return tx.PutJSON(audit.Events, store.U64(4), e)
		}, 4, "篡改"},
		"content and hash changed": {func(tx *store.Tx) error {
			var e audit.Event
			tx.GetJSON(audit.Events, store.U64(6), &e)
			e.Action = "org.delete"
			e.Hash = strings.Repeat("0", 64)
			return tx.PutJSON(audit.Events, store.U64(6), e)
		}, 6, ""},
		"event deleted":      {func(tx *store.Tx) error { return tx.Delete(audit.Events, store.U64(3)) }, 3, "删除"},
		"last event deleted": {func(tx *store.Tx) error { return tx.Delete(audit.Events, store.U64(10)) }, 10, "删除"},
		"garbage bytes":      {func(tx *store.Tx) error { return tx.Put(audit.Events, store.U64(2), []byte("{not json")) }, 2, "损坏"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			db := withEvents(t, 10)
			if err := db.Update(tc.tamper); err != nil {
				t.Fatal(err)
			}
			r := verify(t, db)
			if r.OK || r.Broken != tc.broken || !strings.Contains(r.Reason, tc.reason) {
				t.Fatalf("got %+v, want broken at %d (%s)", r, tc.broken, tc.reason)
			}
		})
	}
}

func TestList(t *testing.T) {
	db := withEvents(t, 7)
	db.Update(func(tx *store.Tx) error {
		return audit.Append(tx, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), certseal.Actor{UserID: "2", OrgID: "5"}, "user.create", "user/9", nil)
	})
	db.View(func(tx *store.Tx) error {
		page, next, err := audit.List(tx, audit.Filter{Action: "org."}, 0, 3)
		if err != nil || len(page) != 3 || page[0].Seq != 7 || next != 5 {
			t.Fatalf("first page: %v next %d err %v", seqs(page), next, err)
		}
		page, next, _ = audit.List(tx, audit.Filter{Action: "org."}, next, 3)
		if len(page) != 3 || page[0].Seq != 4 || next != 2 {
			t.Fatalf("second page: %v next %d", seqs(page), next)
		}
		page, _, _ = audit.List(tx, audit.Filter{OrgID: "5"}, 0, 10)
		if len(page) != 1 || page[0].Action != "user.create" {
			t.Fatalf("by org: %v", seqs(page))
		}
		var d map[string]int
		all, _, _ := audit.List(tx, audit.Filter{}, 0, 100)
		json.Unmarshal(all[len(all)-1].Detail, &d)
		if d["i"] != 0 {
			t.Errorf("detail of first event: %v", d)
		}
		return nil
	})
}

func seqs(es []audit.Event) []uint64 {
	var s []uint64
	for _, e := range es {
		s = append(s, e.Seq)
	}
	return s
}
