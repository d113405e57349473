package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/docstore/weedtest"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/internal/store/etcdtest"
	"certseal/inventory"
)

func TestMain(m *testing.M) {
	code := m.Run()
	weedtest.CloseShared()
	os.Exit(code)
}

// cluster starts n certseal nodes (the cmd/app wiring) on one 3-member etcd cluster and one
// SeaweedFS object store, with one master key; the first node loads the demo data.
func cluster(t testing.TB, n int) (*etcdtest.Cluster, []*testenv.Env) {
	t.Helper()
	return clusterWith(t, n, testenv.Options{})
}

// clusterWith is cluster with the nodes' options (o.Node is set here).
func clusterWith(t testing.TB, n int, o testenv.Options) (*etcdtest.Cluster, []*testenv.Env) {
	t.Helper()
	s3 := weedtest.Shared(t)
	etcd := etcdtest.Start(t, 3)
	node := &app.Config{Store: "etcd",
		Etcd: store.EtcdOptions{Endpoints: etcd.Endpoints, Prefix: "certseal/", MaxTxnOps: etcdtest.MaxTxnOps,
			MaxRequestBytes: etcdtest.MaxRequestBytes},
		S3: docstore.S3Options{Endpoint: s3.Endpoint, Bucket: "certseal-cluster", Prefix: strings.ReplaceAll(t.Name(), "/", "_") + "/",
			AccessKey: weedtest.AccessKey, SecretKey: weedtest.SecretKey},
		MasterKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
	var envs []*testenv.Env
	for i := range n {
		o.Node = node
		e := testenv.StartWith(t, o)
		if i > 0 {
			e.Tokens, e.Orgs = envs[0].Tokens, envs[0].Orgs
		}
		envs = append(envs, e)
	}
	return etcd, envs
}

// TestClusterRaceForOneSerial: clerks on three nodes race for one blank serial: exactly one
// certificate is issued (one 201), every other request hears 409, and each node lists the one
// certificate, whose PDF (in the object store) any node serves.
func TestClusterRaceForOneSerial(t *testing.T) {
	_, nodes := cluster(t, 3)
	seal := testenv.SealOf(t, nodes[0], "lizhou-clerk")
	fs := fixtures.FoodRecords(t)
	var wg sync.WaitGroup
	codes := make([]int, 30)
	for i := range codes {
		wg.Go(func() {
			e := nodes[i%3]
			codes[i] = e.Do("POST", "/api/v1/certificates", "lizhou-clerk", testenv.IssueRequest(fs[i], seal, "SC00000042")).Status
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != len(codes)-1 {
		t.Fatalf("statuses %v, want one 201 and %d 409", count, len(codes)-1)
	}
	for i, e := range nodes {
		var l struct {
			Items []struct {
				ID     string
				Serial string `json:"blank_serial"`
			}
		}
		e.Must(200, "GET", "/api/v1/certificates?limit=50", "lizhou-clerk", nil).Decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].Serial != "SC00000042" {
			t.Fatalf("node %d lists %v", i, l.Items)
		}
		pdf := e.Must(200, "GET", fmt.Sprintf("/api/v1/certificates/%s/pdf", l.Items[0].ID), "lizhou-clerk", nil)
		if len(pdf.Body) < 1000 || string(pdf.Body[:5]) != "%PDF-" {
			t.Fatalf("node %d: PDF of %d bytes", i, len(pdf.Body))
		}
		e.Must(200, "GET", "/readyz", "", nil)
	}
}

// TestClusterSurvivesEtcdLeaderLoss: clerks on two nodes issue on distinct blank serials while
// the etcd leader is killed (SIGKILL of its process): requests may fail meanwhile (503), but
// every acknowledged certificate is then listed, on both nodes, under its serial, no serial is
// listed twice, and both nodes issue again on the two members left, again once the killed
// member has rejoined, and again with a follower killed.
func TestClusterSurvivesEtcdLeaderLoss(t *testing.T) {
	etcd, nodes := cluster(t, 2)
	seal := testenv.SealOf(t, nodes[0], "lizhou-clerk")
	fs := fixtures.FoodRecords(t)
	var mu sync.Mutex
	acked := map[string]string{} // serial → certificate id
	failed := 0
	var wg sync.WaitGroup
	const clients, per = 4, 10
	issue := func(n int) int {
		serial := fmt.Sprintf("SC%08d", 100+n)
		r := nodes[n%2].Do("POST", "/api/v1/certificates", "lizhou-clerk", testenv.IssueRequest(fs[n%len(fs)], seal, serial))
		if r.Status == 201 {
			var got struct{ ID string }
			r.Decode(t, &got)
			mu.Lock()
			acked[serial] = got.ID
			mu.Unlock()
		} else if r.Status == 503 || r.Status == 500 {
			mu.Lock()
			failed++
			mu.Unlock()
		} else {
			t.Errorf("issue %s: %d %s", serial, r.Status, r.Body)
		}
		return r.Status
	}
	leader := etcd.Leader()
	for c := range clients {
		wg.Go(func() {
			for i := range per {
				n := c*per + i
				issue(n)
				if n == per/2 {
					etcd.Stop(leader)
				}
			}
		})
	}
	wg.Wait()
	for n := clients * per; n < clients*per+2; n++ {
		if st := issue(n); st != 201 {
			t.Fatalf("after the leader stopped: %d", st)
		}
	}
	t.Logf("%d acknowledged, %d failed while the leader stopped", len(acked), failed)
	// the killed member comes back on its data directory, rejoins, and the nodes go on
	if err := etcd.Restart(leader); err != nil {
		t.Fatal(err)
	}
	for n := clients*per + 2; n < clients*per+4; n++ {
		if st := issue(n); st != 201 {
			t.Fatalf("after the killed member rejoined: %d", st)
		}
	}
	// then a follower is killed: the two members left keep a quorum and both nodes issue
	leader = -1
	testenv.WaitFor(t, "an etcd leader", func() bool { leader = etcd.Leader(); return leader >= 0 })
	follower := (leader + 1) % 3
	etcd.Stop(follower)
	for n := clients*per + 4; n < clients*per+6; n++ {
		if st := issue(n); st != 201 {
			t.Fatalf("after a follower was killed: %d", st)
		}
	}
	if err := etcd.Restart(follower); err != nil {
		t.Fatal(err)
	}
	for i, e := range nodes {
		var l struct {
			Items []struct {
				ID     string
				Serial string `json:"blank_serial"`
			}
		}
		e.Must(200, "GET", "/api/v1/certificates?limit=200", "lizhou-clerk", nil).Decode(t, &l)
		seen := map[string]string{}
		for _, c := range l.Items {
			if _, dup := seen[c.Serial]; dup {
				t.Errorf("node %d: serial %s listed twice", i, c.Serial)
			}
			seen[c.Serial] = c.ID
		}
		for serial, id := range acked {
			if seen[serial] != id {
				t.Errorf("node %d: acknowledged %s (%s) listed as %q", i, serial, id, seen[serial])
			}
		}
	}
}

// TestClusterBatchTakenOver: a batch started on one node is run by one node; when that node
// stops in the middle of it, another node takes it over where it stopped and finishes it: every
// row issued once, on distinct blank serials.
func TestClusterBatchTakenOver(t *testing.T) {
	_, nodes := cluster(t, 2)
	a, b := nodes[0], nodes[1]
	seal := testenv.SealOf(t, a, "lizhou-clerk")
	const rows = 24
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "batch.csv")
	fw.Write(testenv.CSV(t, testenv.BatchRows(t, rows, 300), true))
	mapping, _ := json.Marshal(map[string]any{"type_code": demo.TypeFood, "item_code": "000117001001", "seal_id": seal,
		"holder_name_column": "经营者名称", "holder_code_column": "统一社会信用代码", "valid_to_column": "有效期至",
		"blank_serial_column": "印制编号"})
	mw.WriteField("mapping", string(mapping))
	mw.Close()
	req, _ := http.NewRequest("POST", a.HTTP.URL+"/api/v1/certificates/batch", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.Tokens["lizhou-clerk"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var batch certs.Batch
	json.NewDecoder(resp.Body).Decode(&batch)
	resp.Body.Close()
	if resp.StatusCode != 202 && resp.StatusCode != 201 {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	get := func(e *testenv.Env) certs.Batch {
		var got certs.Batch
		e.Must(200, "GET", "/api/v1/certificates/batches/"+batch.ID, "lizhou-clerk", nil).Decode(t, &got)
		return got
	}
	b.App.Batches.Kick() // node b looks too, while node a holds the batch's claim
	testenv.WaitFor(t, "the first rows", func() bool { return get(b).Done >= 3 })
	a.App.Close() // node a stops in the middle of the batch
	if got := get(b); got.Status == certs.BatchDone {
		t.Fatalf("batch done before node a stopped: %+v", got)
	}
	b.App.Batches.Kick()
	testenv.WaitFor(t, "node b to finish the batch", func() bool { return get(b).Status == certs.BatchDone })
	if got := get(b); got.Done != rows {
		t.Fatalf("batch %+v, want %d rows done", got, rows)
	}
	var l struct {
		Items []struct {
			Serial string `json:"blank_serial"`
		}
	}
	b.Must(200, "GET", "/api/v1/certificates?limit=100", "lizhou-clerk", nil).Decode(t, &l)
	seen := map[string]bool{}
	for _, c := range l.Items {
		if seen[c.Serial] {
			t.Errorf("serial %s issued twice", c.Serial)
		}
		seen[c.Serial] = true
	}
	if len(l.Items) != rows {
		t.Fatalf("%d certificates, want %d", len(l.Items), rows)
	}
}

// BenchmarkClusterIssue issues through HTTP from 16 clients, each sending its next request when
// answered, on one node on bbolt (fsync on) and on three nodes on a 3-member etcd cluster in this
// process (embedded, fsync off) with the documents in SeaweedFS, the clients spread over the
// nodes; it reports certificates/s, p50 and p99.
func BenchmarkClusterIssue(b *testing.B) {
	b.Run("bbolt-1-node", func(b *testing.B) {
		benchIssue(b, []*testenv.Env{testenv.StartWith(b, testenv.Options{Sync: true})})
	})
	b.Run("etcd-3-nodes", func(b *testing.B) {
		_, nodes := cluster(b, 3)
		benchIssue(b, nodes)
	})
}

func benchIssue(b *testing.B, nodes []*testenv.Env) {
	const clients = 16
	e0 := nodes[0]
	dept := certseal.Actor{UserID: "bench", Username: "scj", OrgID: e0.Orgs["广元市市场监督管理局"], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
	last := fmt.Sprintf("SC%08d", 10000000+b.N)
	ctx := context.Background()
	if _, err := e0.App.Inventory.Receive(ctx, dept, inventory.Receipt{TypeCode: demo.TypeFood, First: "SC10000001", Last: last,
		Channel: "designated_printer", Supplier: "成都川印证件印务有限公司", Contract: "BENCH-1", UnitCostFen: 120}); err != nil {
		b.Fatal(err)
	}
	if _, err := e0.App.Inventory.Transfer(ctx, dept, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: demo.TypeFood,
		ToOrgID: e0.Orgs["广元市利州区行政审批局"], Ranges: []inventory.SerialRange{{First: "SC10000001", Last: last}}}); err != nil {
		b.Fatal(err)
	}
	seal := testenv.SealOf(b, nodes[0], "lizhou-clerk")
	fs := fixtures.FoodRecords(b)
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			e := nodes[c%len(nodes)]
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				t0 := time.Now()
				r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", testenv.IssueRequest(fs[int(i)%len(fs)], seal, fmt.Sprintf("SC%08d", 10000000+i)))
				mine = append(mine, time.Since(t0))
				if r.Status != 201 {
					b.Errorf("issue %d: %d %s", i, r.Status, r.Body)
					break
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "certs/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
