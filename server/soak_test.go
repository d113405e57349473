package server_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
)

// soakN returns CERTSEAL_SOAK, the number of certificates of the soak (0: skip it).
func soakN() int {
	n, _ := strconv.Atoi(os.Getenv("CERTSEAL_SOAK"))
	return n
}

// dirSize returns the total size of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// BenchmarkSoak issues CERTSEAL_SOAK certificates (200000 for the report) through HTTP from 16
// clients with fsync on, and logs per 10,000: the rate of those 10,000 and their p50/p99, the
// database file's size and bytes per certificate, the document directory's size, and the Go heap
// in use after a collection (CERTSEAL_SOAK_HEAP=FILE also writes a heap profile at the end). It
// reports the rate of the first and of the last 10,000, the database bytes per certificate and
// the heap at the end. Run it once: go test ./server -run '^$' -bench Soak -benchtime 1x -timeout 2h.
// It is skipped unless CERTSEAL_SOAK is set (a multiple of 10,000): at a few hundred
// certificates a second it runs for many minutes.
func BenchmarkSoak(b *testing.B) {
	n := soakN()
	if n <= 0 {
		b.Skip("set CERTSEAL_SOAK=200000 to run the soak")
	}
	const step = 10000
	if n < step {
		n = step
	}
	app.TuneGC(app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT")))
	e := testenv.StartWith(b, testenv.Options{Sync: true})
	stockUp(b, e, n)
	seal := sealOf(b, e, "lizhou-clerk")
	fx := foodFixtures(b)
	var firstRate, lastRate, heap float64
	var dbPerCert float64
	for done := 0; done < n; done += step {
		lat := loadIssue(b, e, seal, fx, 16, step, done)
		if b.Failed() {
			return
		}
		elapsed := lat[len(lat)-1]
		lat = lat[:len(lat)-1]
		p50, p99 := percentiles(lat)
		rate := float64(len(lat)) / elapsed.Seconds()
		if done == 0 {
			firstRate = rate
		}
		lastRate = rate
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = float64(ms.HeapInuse) / (1 << 20)
		st, _ := os.Stat(e.App.DB.Path())
		dbPerCert = float64(st.Size()) / float64(done+step)
		line := fmt.Sprintf("%7d certificates  %6.0f/s  p50 %5.1f ms  p99 %5.1f ms  db %7.1f MiB (%5.0f B/cert)  documents %7.1f MiB  heap in use %5.1f MiB  goroutines %d",
			done+step, rate, ms2(p50), ms2(p99), float64(st.Size())/(1<<20), dbPerCert, float64(dirSize(e.App.Docs.Root()))/(1<<20), heap, runtime.NumGoroutine())
		b.Log(line)
		fmt.Fprintln(os.Stderr, line) // as it happens: a benchmark's log is printed when it ends
	}
	if path := os.Getenv("CERTSEAL_SOAK_HEAP"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	b.ReportMetric(firstRate, "first10k-certs/s")
	b.ReportMetric(lastRate, "last10k-certs/s")
	b.ReportMetric(dbPerCert, "db-bytes/cert")
	b.ReportMetric(heap, "heap-MiB")
}

func ms2(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentiles sorts lat and returns its p50 and p99.
func percentiles(lat []time.Duration) (time.Duration, time.Duration) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[len(lat)*99/100]
}
