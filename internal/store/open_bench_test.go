package store_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"certseal/internal/store"
)

// BenchmarkOpen measures opening a database holding 20,000 certificates' worth of data (an
// 80 KB PDF, a 2 KB record, five index entries, two operations and three audit events each:
// about 1.7 GB): bbolt's own open, store.Open with its quick check, and the checks alone.
//
//	go test -run '^$' -bench BenchmarkOpen -benchtime 5x ./internal/store/
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), store.FileName)
	start := time.Now()
	db, err := store.Open(path, &store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	pdf := bytes.Repeat([]byte("%PDF-1.7 stream "), 80_000/16)
	rec := bytes.Repeat([]byte(`{"field":"value"}`), 2000/17)
	const certs, perTx = 20_000, 250
	for i := 0; i < certs; i += perTx {
		err := db.Update(func(tx *store.Tx) error {
			for j := i; j < i+perTx; j++ {
				k := store.U64(uint64(j + 1))
				puts := []struct {
					b    store.Bucket
					k, v []byte
				}{
					{"cert_pdfs", k, pdf}, {"cert_records", k, rec},
					{"cert_by_ident", []byte(fmt.Sprintf("ident-%08d", j)), k},
					{"cert_by_number", []byte(fmt.Sprintf("JY5108%010d", j)), k},
					{"cert_by_holder", append(store.Prefix(fmt.Sprintf("91510800%010d", j%5000)), k...), nil},
					{"cert_by_issuer", append(store.Prefix(fmt.Sprintf("org-%d", j%12)), k...), nil},
					{"cert_by_hash", []byte(fmt.Sprintf("%064x", j)), k},
					{"cert_ops", append(bytes.Clone(k), store.U64(1)...), rec[:300]},
					{"cert_ops", append(bytes.Clone(k), store.U64(2)...), rec[:300]},
				}
				for _, p := range puts {
					if err := tx.Put(p.b, p.k, p.v); err != nil {
						return err
					}
				}
				for e := 0; e < 3; e++ {
					id, err := tx.NextID("audit_events")
					if err != nil {
						return err
					}
					if err := tx.Put("audit_events", store.U64(id), rec[:500]); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	st, _ := os.Stat(path)
	b.Logf("built %d certificates, %.2f GB, in %v", certs, float64(st.Size())/1e9, time.Since(start).Round(time.Second))
	b.Run("bbolt.Open", func(b *testing.B) {
		for b.Loop() {
			db, err := bolt.Open(path, 0o600, &bolt.Options{FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	b.Run("store.Open", func(b *testing.B) {
		for b.Loop() {
			db, err := store.Open(path, nil)
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
	for name, level := range map[string]store.CheckLevel{"CheckQuick": store.CheckQuick, "CheckFull": store.CheckFull} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := store.CheckFile(path, level); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
