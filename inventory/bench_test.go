package inventory_test

// Benchmarks open their databases with store.Options{NoSync: true} (newEnv): they measure the
// ledger's work, not fsync. Run them short, e.g.
//
//	go test ./inventory/ -run '^$' -bench . -benchtime=1000x

import (
	"errors"
	"fmt"
	"testing"

	"certseal/internal/store"
	"certseal/inventory"
)

// runLen is the length of each seeded run: n runs in stock alternate with n used runs, so the
// type has 2n ranges and the holder n·runLen serials in stock.
const runLen = 10

var benchSizes = []int{1_000, 10_000, 100_000}

func seeded(b *testing.B, holder string, n int) *env {
	b.Helper()
	e := newEnv(b)
	if err := inventory.SeedFragmented(e.db, e.code("SP"), e.org[holder].ID, n, runLen); err != nil {
		b.Fatal(err)
	}
	return e
}

// firstOfRun returns the first serial of the i-th run in stock.
func firstOfRun(i int) uint64 { return uint64(i)*2*runLen + 1 }

// BenchmarkUse consumes one serial in the middle of a range (splitting it in three), inside the
// caller's transaction, on stock fragmented into n ranges in stock (2n ranges of the type).
func BenchmarkUse(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			e := seeded(b, "bureauA", n)
			clerk, sp := e.actor["clerkA"], e.code("SP")
			if b.N > 8*n/2 {
				b.Fatalf("at most %d iterations at this size", 8*n/2)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				serial := e.serial("SP", firstOfRun(n/2+i/8)+1+uint64(i%8))
				err := e.db.Update(func(tx *store.Tx) error {
					return inventory.UseTx(tx, t0, clerk, sp, serial, "CERT")
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkTransfer distributes a sub-range of three serials from the middle of a range of the
// city department's stock, fragmented into n ranges in stock.
func BenchmarkTransfer(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			e := seeded(b, "city", n)
			if b.N > n {
				b.Fatalf("at most %d iterations at this size", n)
			}
			req := inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: e.code("SP"), ToOrgID: e.org["bureauA"].ID}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a := firstOfRun(n/2+i/2) + 1 + uint64(i%2)*4
				req.Ranges = e.rng("SP", a, a+2)
				if _, err := e.svc.Transfer(ctx, e.actor["city"], req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStock answers the stock query (counts per state and the first page of ranges) for a
// holder with n ranges in stock of 10 serials each: 1,000,000 serials at n = 100,000.
func BenchmarkStock(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			e := seeded(b, "bureauA", n)
			q := inventory.StockQuery{TypeCode: e.code("SP")}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lines, err := e.svc.Stock(ctx, e.actor["bureauA"], q)
				if err != nil {
					b.Fatal(err)
				}
				if lines[0].Count != uint64(n*runLen) {
					b.Fatalf("in stock = %d", lines[0].Count)
				}
			}
		})
	}
}

var errRollback = errors.New("rollback")

// BenchmarkUseRolledBack is BenchmarkUse without the commit: the transaction is rolled back, so
// it measures the ledger's own work (seeks, splits, index and counter updates, the movement and
// its audit event) without bbolt's page writes, which dominate and are noisy on a shared machine.
func BenchmarkUseRolledBack(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("ranges=%d", n), func(b *testing.B) {
			e := seeded(b, "bureauA", n)
			clerk, sp := e.actor["clerkA"], e.code("SP")
			serial := e.serial("SP", firstOfRun(n/2)+4)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := e.db.Update(func(tx *store.Tx) error {
					if err := inventory.UseTx(tx, t0, clerk, sp, serial, "CERT"); err != nil {
						return err
					}
					return errRollback
				})
				if err != errRollback {
					b.Fatal(err)
				}
			}
		})
	}
}
