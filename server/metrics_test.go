package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
)

func init() { expect(map[string]string{"metrics": "A"}) }

// scrape reads /metrics as the user ("" for none) and parses it with the Prometheus text parser.
func scrape(t *testing.T, e *testenv.Env, user string) map[string]*dto.MetricFamily {
	t.Helper()
	r := e.Must(200, "GET", "/metrics", user, nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, r.Body)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// series returns the value of the first series of the family whose labels include want, and
// whether there is one.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		ls := labels(m)
		for k, v := range want {
			if ls[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// TestMetrics scrapes /metrics after some traffic and checks the HTTP series are labelled by
// route pattern (never the raw path), the domain series come from the books, the runtime and
// process collectors are there, and only an administrator (or an allowed address) may read it.
func TestMetrics(t *testing.T) {
	e := testenv.Start(t)
	seal := testenv.SealOf(t, e, "lizhou-clerk")
	f := foodFixtures(t)[0]
	c := testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(f, seal, "SC00000001"))
	e.Must(200, "GET", "/api/v1/certificates/"+c.ID, "lizhou-clerk", nil)
	e.Must(404, "GET", "/api/v1/certificates/424242", "lizhou-clerk", nil)
	e.Must(404, "GET", "/no/such/path/123", "", nil)
	// a refused issue: the same blank serial again
	e.Must(409, "POST", "/api/v1/certificates", "lizhou-clerk", testenv.IssueRequest(f, seal, "SC00000001"))

	round := openDemandRound(t, e)

	e.Must(401, "GET", "/metrics", "", nil)
	e.Must(403, "GET", "/metrics", "lizhou-clerk", nil)
	fams := scrape(t, e, "admin")

	patterns := map[string]bool{"unmatched": true}
	for _, rt := range e.App.Server.AllRoutes() {
		patterns[rt.Path] = true
	}
	for _, m := range fams["certseal_http_requests_total"].GetMetric() {
		if r := labels(m)["route"]; !patterns[r] {
			t.Errorf("a request series is labelled by a raw path: route=%q", r)
		}
	}
	for _, tc := range []struct {
		name string
		want map[string]string
		min  float64
	}{
		{"certseal_http_requests_total", map[string]string{"route": "/api/v1/certificates/{id}", "method": "GET", "status": "200"}, 1},
		{"certseal_http_requests_total", map[string]string{"route": "/api/v1/certificates/{id}", "method": "GET", "status": "404"}, 1},
		{"certseal_http_requests_total", map[string]string{"route": "unmatched", "status": "404"}, 1},
		{"certseal_http_requests_total", map[string]string{"route": "/api/v1/certificates", "method": "POST", "status": "201"}, 1},
		{"certseal_http_request_duration_seconds", map[string]string{"route": "/api/v1/certificates", "method": "POST"}, 2},
		{"certseal_http_errors_total", map[string]string{"route": "/api/v1/certificates", "code": "conflict"}, 1},
		{"certseal_certificate_operations_total", map[string]string{"operation": "issue", "type_code": demo.TypeFood, "org_id": c.IssuerOrgID}, 1},
		{"certseal_blank_forms_in_stock", map[string]string{"holder_id": c.IssuerOrgID, "type_code": demo.TypeFood}, 1},
		{"certseal_batch_rows", map[string]string{"outcome": "done"}, 0},
		{"certseal_demand_round_participants", map[string]string{"round_id": fmt.Sprint(round.ID), "year": "2026"}, float64(len(round.Participants))},
		{"certseal_demand_round_missing", map[string]string{"round_id": fmt.Sprint(round.ID)}, float64(len(round.Participants))},
		{"certseal_store_read_seconds", nil, 0},
		{"certseal_metrics_query_errors", nil, 0},
		{"go_goroutines", nil, 1},
		{"process_resident_memory_bytes", nil, 1},
	} {
		v, ok := series(fams, tc.name, tc.want)
		if !ok || v < tc.min {
			t.Errorf("%s%v: got %v (present %v), want at least %v", tc.name, tc.want, v, ok, tc.min)
		}
	}
	if v, _ := series(fams, "certseal_metrics_query_errors", nil); v != 0 {
		t.Errorf("%v domain queries failed", v)
	}
	if len(round.Participants) == 0 {
		t.Error("the demand round has no participants to count")
	}
	if v, _ := series(fams, "certseal_certificate_operations_total", map[string]string{"operation": "issue"}); v != 1 {
		t.Errorf("issued certificates: got %v, want 1", v)
	}
	// The outbox is read incrementally: a second issue adds one, not the whole outbox again.
	testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(foodFixtures(t)[1], seal, "SC00000002"))
	if v, _ := series(scrape(t, e, "admin"), "certseal_certificate_operations_total", map[string]string{"operation": "issue"}); v != 2 {
		t.Errorf("issued certificates after a second issue: got %v, want 2", v)
	}

	// From an allowed address range no token is needed.
	e.App.Metrics.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	scrape(t, e, "")
	e.App.Metrics.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if r := e.Do("GET", "/metrics", "", nil); r.Status != http.StatusUnauthorized {
		t.Errorf("outside the allowed range without a token: got %d, want 401", r.Status)
	}
}
