package server

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"certseal"
)

// Metrics is the service's Prometheus registry and the HTTP metrics the request middleware
// records: requests by route pattern (the gorilla/mux template, never the raw path, so the
// number of series stays bounded), method and status, their latency, and the error codes
// answered. The Go runtime and process collectors are registered by NewMetrics; the domain
// collectors (certificates, stock, push queue, batches, backups) are registered by the wiring.
type Metrics struct {
	Registry *prometheus.Registry
	// Allow lists the address ranges that may read /metrics without a token; from anywhere
	// else the administrator's bearer token is needed.
	Allow []netip.Prefix

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
}

// unmatchedRoute labels the requests no route matched (404s for unknown paths), so that a scan
// of random paths adds no series.
const unmatchedRoute = "unmatched"

// NewMetrics returns a registry with the HTTP metrics and the Go runtime and process
// collectors. It never fails.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certseal_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "certseal_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and method.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120},
		}, []string{"route", "method"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "certseal_http_errors_total",
			Help: "Error answers by route pattern and error code (issue failures are route=\"/api/v1/certificates\").",
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(m.requests, m.duration, m.errors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ParseAllow parses a comma-separated list of CIDR ranges and single addresses. It returns an
// *Error (EInvalid) naming the first bad entry.
func ParseAllow(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, certseal.Errorf(certseal.EInvalid, "地址范围 %q 无效：应为 CIDR（如 10.20.0.0/16）或单个地址", f)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// observe records one finished request.
func (m *Metrics) observe(route, method string, status int, code string, d time.Duration) {
	if route == "" {
		route = unmatchedRoute
	}
	if status == 0 {
		status = http.StatusOK
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
	if code != "" {
		m.errors.WithLabelValues(route, code).Inc()
	}
}

// metricsRoute names the /metrics route, whose check Handler widens with Metrics.Allow.
const metricsRoute = "metrics"

// metricsRoutes returns the /metrics route (administrators) when the server has metrics.
func (s *Server) metricsRoutes() []Route {
	if s.Metrics == nil {
		return nil
	}
	return []Route{{Method: "GET", Path: "/metrics", Name: metricsRoute, Roles: AdminOnly, Handler: s.metrics}}
}

// metrics serves the registry in the Prometheus text format.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}}).ServeHTTP(w, r)
}

// allowMetrics serves /metrics without a token to a peer in Metrics.Allow, and passes every
// other request to authorized (the administrator's token).
func (s *Server) allowMetrics(authorized http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.metricsAllowed(r) {
			s.metrics(w, r)
			return
		}
		authorized.ServeHTTP(w, r)
	})
}

// metricsAllowed reports whether the request's peer address is in Metrics.Allow. The peer is
// the TCP peer (RemoteAddr), never a forwarded header a client can set.
func (s *Server) metricsAllowed(r *http.Request) bool {
	if len(s.Metrics.Allow) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range s.Metrics.Allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// slogPrinter logs the registry's collection errors through the server's logger.
type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.Log.Error("metrics", "err", v) }
