package server_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/inventory"
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

// BenchmarkIssueHTTP issues food licences end to end through HTTP — decode, checks, render,
// seal, sign, one group-committed transaction — on a real bbolt file with fsync on, from 16
// concurrent clients, with the 200 fixtures. It reports certificates per second and latency
// percentiles.
func BenchmarkIssueHTTP(b *testing.B) { issueHTTP(b, testenv.Options{Sync: true}) }

// issueHTTP is BenchmarkIssueHTTP with the service started with o (a TSA: tsa_bench_test.go).
func issueHTTP(b *testing.B, o testenv.Options) {
	app.TuneGC(app.GCFor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))) // as cmd/certseal does
	e := testenv.StartWith(b, o)
	stockUp(b, e, 1000000)
	seal := sealOf(b, e, "lizhou-clerk")
	fs := foodFixtures(b)
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	e.HTTP.Client().Transport = tr
	b.SetParallelism(8) // 16 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := next.Add(1)
			req := issueRequest(fs[int(i)%len(fs)], seal, fmt.Sprintf("SC%08d", 10000000+i))
			t0 := time.Now()
			r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", req)
			mine = append(mine, time.Since(t0))
			if r.Status != 201 {
				b.Errorf("issue %d: %d %s", i, r.Status, r.Body)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "certs/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
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
