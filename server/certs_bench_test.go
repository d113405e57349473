package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/server"
)

// stockUp gives 广元市利州区行政审批局 n more food-licence blanks from SC10000001 on.
func stockUp(b testing.TB, e *testenv.Env, n int) {
	b.Helper()
	dept := certseal.Actor{UserID: "bench", Username: "scj", OrgID: e.Orgs["广元市市场监督管理局"], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
	last := fmt.Sprintf("SC%08d", 10000000+n)
	ctx := context.Background()
	if _, err := e.App.Inventory.Receive(ctx, dept, inventory.Receipt{TypeCode: demo.TypeFood, First: "SC10000001", Last: last,
		Channel: "designated_printer", Supplier: "成都川印证件印务有限公司", Contract: "BENCH-1", UnitCostFen: 120}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.App.Inventory.Transfer(ctx, dept, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: demo.TypeFood,
		ToOrgID: e.Orgs["广元市利州区行政审批局"], Ranges: []inventory.SerialRange{{First: "SC10000001", Last: last}}}); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkIssueHTTP issues food licences as PDF (the demo type is pdf+ofd; BenchmarkIssueFormatsHTTP
// compares the formats) end to end through HTTP — decode, checks, render,
// seal, sign, the group-committed transactions and the document file — on a real bbolt file with
// fsync on, with the 200 fixtures, from 1, 2 and 16 concurrent clients (clients=N). Each client
// sends its next request when the previous one is answered. It reports certificates per second
// and the latency percentiles (p50, p99) of the requests of the run.
func BenchmarkIssueHTTP(b *testing.B) { issueHTTP(b, testenv.Options{Sync: true}) }

// issueHTTP is BenchmarkIssueHTTP with the service started with o (a TSA: tsa_bench_test.go).
func issueHTTP(b *testing.B, o testenv.Options) {
	for _, clients := range []int{1, 2, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { benchIssueHTTP(b, clients, o) })
	}
}

func benchIssueHTTP(b *testing.B, clients int, o testenv.Options) {
	app.TuneGC(app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))) // as cmd/certseal does
	e := testenv.StartWith(b, o)
	setFormat(b, e, catalogue.FormatPDF) // the demo's food licence is pdf+ofd: this measures the PDF
	stockUp(b, e, b.N+clients)
	seal := sealOf(b, e, "lizhou-clerk")
	fs := foodFixtures(b)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	e.HTTP.Client().Transport = tr
	lat := loadIssue(b, e, seal, fs, clients, b.N, 0)
	b.StopTimer()
	tr.CloseIdleConnections()
	reportLatency(b, lat)
}

// loadIssue issues n certificates through HTTP from the given number of concurrent clients, on
// the blank forms after SC1000000+from, and returns each request's latency and the elapsed time
// (the last element of the returned slice is not a latency: see reportLatency).
func loadIssue(b testing.TB, e *testenv.Env, seal string, fs []fixture, clients, n, from int) []time.Duration {
	var next atomic.Int64
	next.Store(int64(from))
	last := int64(from + n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	lat := make([]time.Duration, 0, n+1)
	start := time.Now()
	if bb, ok := b.(*testing.B); ok {
		bb.ResetTimer()
	}
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			defer func() {
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
			for {
				i := next.Add(1)
				if i > last {
					return
				}
				req := issueRequest(fs[int(i)%len(fs)], seal, fmt.Sprintf("SC%08d", 10000000+i))
				t0 := time.Now()
				r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", req)
				mine = append(mine, time.Since(t0))
				if r.Status != 201 {
					b.Errorf("issue %d: %d %s", i, r.Status, r.Body)
					return
				}
			}
		}()
	}
	wg.Wait()
	return append(lat, time.Since(start))
}

// reportLatency reports certs/s, p50-ms and p99-ms from loadIssue's result.
func reportLatency(b *testing.B, lat []time.Duration) {
	elapsed := lat[len(lat)-1]
	lat = lat[:len(lat)-1]
	if len(lat) == 0 {
		return
	}
	p50, p99 := percentiles(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "certs/s")
	b.ReportMetric(ms2(p50), "p50-ms")
	b.ReportMetric(ms2(p99), "p99-ms")
}

// BenchmarkVerifyLookup measures the public lookup GET /verify/{number}, which should be far
// cheaper than issuing.
func BenchmarkVerifyLookup(b *testing.B) {
	e := testenv.Start(b)
	seal := sealOf(b, e, "lizhou-clerk")
	fs := foodFixtures(b)
	var numbers []string
	for i := 0; i < 50; i++ {
		c := issue(b, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
		numbers = append(numbers, c.LicenceNumber)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.App.Certs.Lookup(context.Background(), numbers[i%len(numbers)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDatabaseBytesPerCertificate issues 1,000 certificates through HTTP (fsync off: only
// the sizes count) and reports the database's bytes per certificate: the file, the pages of
// the buckets and their keys and values; with -v it logs the largest buckets.
func BenchmarkDatabaseBytesPerCertificate(b *testing.B) {
	const n = 1000
	e := testenv.Start(b)
	stockUp(b, e, n)
	seal := sealOf(b, e, "lizhou-clerk")
	before, err := e.App.DB.BucketStats()
	if err != nil {
		b.Fatal(err)
	}
	st0, _ := os.Stat(e.App.DB.Path())
	loadIssue(b, e, seal, foodFixtures(b), 4, n, 0)
	after, err := e.App.DB.BucketStats()
	if err != nil {
		b.Fatal(err)
	}
	st1, _ := os.Stat(e.App.DB.Path())
	type row struct {
		name        store.Bucket
		data, pages int
	}
	var rows []row
	data, pages := 0, 0
	for name, s := range after {
		r := row{name, s.DataBytes - before[name].DataBytes, s.PageBytes - before[name].PageBytes}
		data, pages = data+r.data, pages+r.pages
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(x, y row) int { return y.pages - x.pages })
	for _, r := range rows[:min(8, len(rows))] {
		b.Logf("%-20s %6d B/cert in pages, %6d B/cert keys and values", r.name, r.pages/n, r.data/n)
	}
	b.ReportMetric(float64(st1.Size()-st0.Size())/n, "file-bytes/cert")
	b.ReportMetric(float64(pages)/n, "page-bytes/cert")
	b.ReportMetric(float64(data)/n, "data-bytes/cert")
}

// BenchmarkVerifyHTTP measures the public verification through HTTP from 16 clients, with the
// per-address rate limit lifted: lookup is GET /verify/{licence number}, pdf is POST
// /api/v1/verify of an issued certificate's PDF (signature validation included).
func BenchmarkVerifyHTTP(b *testing.B) {
	e := testenv.Start(b)
	for _, m := range e.App.Server.Extra {
		if c, ok := m.(*server.CertAPI); ok {
			c.Public.Rate, c.Public.Burst = 1e12, 1e12 // the limiter the routes were built with
		}
	}
	seal := sealOf(b, e, "lizhou-clerk")
	fs := foodFixtures(b)
	var numbers []string
	var pdfs [][]byte
	for i := 0; i < 20; i++ {
		c := issue(b, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
		numbers = append(numbers, c.LicenceNumber)
		pdfs = append(pdfs, e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body)
	}
	e.HTTP.Client().Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	run := func(b *testing.B, do func(i int) *testenv.Response) {
		var next atomic.Int64
		var wg sync.WaitGroup
		b.ResetTimer()
		start := time.Now()
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1))
					if i > b.N {
						return
					}
					if r := do(i); r.Status != 200 {
						b.Errorf("request %d: %d %.200s", i, r.Status, r.Body)
						return
					}
				}
			}()
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	}
	b.Run("lookup", func(b *testing.B) {
		run(b, func(i int) *testenv.Response { return e.Do("GET", "/verify/"+numbers[i%len(numbers)], "", nil) })
	})
	b.Run("pdf", func(b *testing.B) {
		run(b, func(i int) *testenv.Response { return e.Do("POST", "/api/v1/verify", "", pdfs[i%len(pdfs)]) })
	})
}

// BenchmarkIssueFormatsHTTP is BenchmarkIssueHTTP (2 clients, fsync on) for the food licence
// issued as a PDF only (format=pdf), as a PDF and an OFD (format=pdf+ofd: the same layout
// written twice, the OFD sealed with the SM2 registration of the seal, both files stored) and as
// an OFD only (format=ofd: the OFD sealed and stored, no PDF): the cost of each format, end to
// end.
func BenchmarkIssueFormatsHTTP(b *testing.B) {
	for _, f := range []catalogue.Format{catalogue.FormatPDF, catalogue.FormatPDFOFD, catalogue.FormatOFD} {
		b.Run("format="+string(f), func(b *testing.B) {
			app.TuneGC(app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT")))
			e := testenv.StartWith(b, testenv.Options{Sync: true})
			setFormat(b, e, f)
			stockUp(b, e, b.N+2)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			e.HTTP.Client().Transport = tr
			lat := loadIssue(b, e, sealOf(b, e, "lizhou-clerk"), foodFixtures(b), 2, b.N, 0)
			b.StopTimer()
			tr.CloseIdleConnections()
			reportLatency(b, lat)
		})
	}
}

// setFormat makes the demo's food licence type issue the files of format f.
func setFormat(b *testing.B, e *testenv.Env, f catalogue.Format) {
	admin := certseal.Actor{UserID: "bench", Username: "admin", OrgID: e.Orgs[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin}
	if _, err := e.App.Catalogue.UpdateType(context.Background(), admin, demo.TypeFood, catalogue.TypePatch{Format: &f}); err != nil {
		b.Fatal(err)
	}
}
