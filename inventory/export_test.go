package inventory

// Test hooks for the external test package.

import (
	"encoding/hex"

	"certseal/internal/audit"
	"certseal/internal/store"
)

// Dump returns every key and value of the package's buckets and of the audit log, for tests that
// check that a refused movement wrote nothing.
func Dump(tx *store.Tx) map[string]string {
	out := map[string]string{}
	for _, b := range append(Buckets, audit.Events) {
		_ = tx.Scan(b, nil, nil, func(k, v []byte) error {
			out[string(b)+"/"+hex.EncodeToString(k)] = hex.EncodeToString(v)
			return nil
		})
		out[string(b)+"#seq"] = hex.EncodeToString(store.U64(tx.Sequence(b)))
	}
	return out
}

// RangeForTest is a stored range as tests see it.
type RangeForTest struct {
	First, Last    uint64
	Holder, Source string
	State          State
}

// RangesForTest returns the stored ranges of a type in serial order.
func RangesForTest(tx *store.Tx, typeCode string) []RangeForTest {
	var out []RangeForTest
	_ = tx.Scan(bucketRanges, store.Prefix(typeCode), nil, func(k, v []byte) error {
		r, err := decodeRange(k, v)
		if err != nil {
			return err
		}
		out = append(out, RangeForTest{r.first, r.last, r.holder, r.source, r.state})
		return nil
	})
	return out
}

// SeedFragmented writes, directly and without movements, n ranges of runLen serials each held
// in stock by holder, separated by runs of runLen used serials (so they never merge), starting at
// serial 1: 2n ranges in all, n·runLen serials in stock. It is for benchmarks. It writes in
// chunks, because bbolt splits nodes only at commit, so many puts into one transaction cost
// O(n²) in memmove.
func SeedFragmented(db *store.DB, typeCode, holder string, n int, runLen uint64) error {
	const chunk = 2000
	var first uint64 = 1
	for done := 0; done < n; done += chunk {
		err := db.Update(func(tx *store.Tx) error {
			l := newLedger(tx, typeCode)
			start := first
			for i := done; i < min(n, done+chunk); i++ {
				for _, st := range []State{InStock, Used} {
					if err := l.put(rng{span{first, first + runLen - 1}, attrs{holder: holder, state: st}}); err != nil {
						return err
					}
					l.deltas[attrsKey{holder, st}] += int64(runLen)
					first += runLen
				}
			}
			k := store.Key(typeCode)
			if err := tx.Put(bucketTotals, k, store.U64(store.ParseU64(tx.Get(bucketTotals, k))+first-start)); err != nil {
				return err
			}
			return l.flush()
		})
		if err != nil {
			return err
		}
	}
	return nil
}
