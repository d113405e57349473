package server_test

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
)

// TestSoakMemory issues CERTSEAL_SOAK certificates (e.g. 100000) through HTTP with fsync on and
// logs the Go heap after a collection every tenth of the way (CERTSEAL_SOAK_HEAP=FILE also
// writes a heap profile at the end). It is skipped unless CERTSEAL_SOAK is set: at a few hundred
// certificates a second it runs for minutes.
//
// Each certificate allocates about 7 MB while it is rendered and stores about 95 KB, so keeping
// anything of a document alive would show at once. The heap does grow slowly with the database:
// at 100,000 certificates (a 9.7 GB file) it went from 11 to 26 MiB, and the heap profile puts
// the growth in bbolt's map of free pages, which tracks the free space of the file. The test fails
// when the heap grows by more than 0.5 KiB per certificate after the first tenth.
func TestSoakMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CERTSEAL_SOAK"))
	if n <= 0 {
		t.Skip("set CERTSEAL_SOAK=100000 to run the memory soak")
	}
	app.TuneGC(app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT")))
	e := testenv.StartWith(t, testenv.Options{Sync: true})
	stockUp(t, e, n)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	var next atomic.Int64
	step := n / 10
	var first uint64
	start := time.Now()
	for part := 1; part <= 10; part++ {
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(part*step) {
						return
					}
					r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(fs[int(i)%len(fs)], seal, fmt.Sprintf("SC%08d", 10000000+i)))
					if r.Status != 201 {
						t.Errorf("issue %d: %d %s", i, r.Status, r.Body)
						return
					}
				}
			}()
		}
		wg.Wait()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if part == 1 {
			first = ms.HeapInuse
		}
		st, _ := os.Stat(e.App.DB.Path())
		t.Logf("%7d certificates  %6.0f s  heap in use %6.1f MiB  goroutines %d  db %6.0f MiB", part*step, time.Since(start).Seconds(),
			float64(ms.HeapInuse)/(1<<20), runtime.NumGoroutine(), float64(st.Size())/(1<<20))
		if t.Failed() {
			return
		}
		if part == 10 {
			if path := os.Getenv("CERTSEAL_SOAK_HEAP"); path != "" {
				f, err := os.Create(path)
				if err == nil {
					pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
		}
		if part == 10 && ms.HeapInuse > first+uint64(n-step)*512 {
			t.Fatalf("heap grew from %d to %d bytes over %d certificates", first, ms.HeapInuse, n-step)
		}
	}
}
