// Package server is certseal's HTTP face: gorilla/mux routes under /api/v1, token
// authentication, the role table, JSON errors with stable codes and request logs; the web pages
// are package server/web, which takes its roles from this role table. Handlers decode and
// validate input, call one service method, and encode the result.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
)

// Database is what the server needs of the database itself, beside the services: the
// readiness check and the online backup. *store.DB is one; the server holds nothing more of it,
// so that every read and write goes through a service.
type Database interface {
	// Ready reports whether the database can be read.
	Ready() error
	// Backup writes a consistent copy of the whole database to w and returns its size.
	Backup(w io.Writer) (int64, error)
	// WriteFailing returns the error of the last write that failed for lack of disk space, or
	// nil once a write has committed since.
	WriteFailing() error
	// ProbeWrite commits a small write (stamp), to see whether writes succeed again.
	ProbeWrite(stamp string) error
}

// Server holds the services the handlers call.
type Server struct {
	Database  Database
	Audit     *audit.Service // reads the audit log; the wiring (cmd/app) sets it after New
	Orgs      *orgs.Service
	Catalogue *catalogue.Service
	Clock     certseal.Clock
	Log       *slog.Logger

	// Extra registers routes of packages wired in by cmd (inventory, seals, certificates...).
	// Each entry adds its routes to the router and their names to the role table.
	Extra []Module
	// Auth limits token creation per client address (zero fields: the defaults).
	Auth       AuthLimits
	tokenLimit authLimiter
	// Metrics, when set (cmd/app sets it), serves /metrics and records every request by its
	// route pattern (metrics.go).
	Metrics *Metrics
	// ReadyDetail adds named entries to the answer of /readyz (the scheduled backups' last
	// success, say); each is called at every request.
	ReadyDetail []func() (name string, detail any)
	// TSA reports the time-stamp authority on /readyz (nil: none configured).
	TSA TSAReporter

	// ReadyChecks are what /readyz checks beside the database (the object store of a cluster).
	ReadyChecks []ReadyCheck

	ready   atomic.Bool
	touches chan string

	byName     map[string]Route // the role table by route name, made at the first Route call
	byNameOnce sync.Once
}

// Module is a set of routes contributed by another part of the service.
type Module interface {
	Routes() []Route
}

// New returns a server for the given services. It never fails.
func New(db Database, o *orgs.Service, c *catalogue.Service, clock certseal.Clock, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{Database: db, Orgs: o, Catalogue: c, Clock: clock, Log: log, touches: make(chan string, 256)}
	s.ready.Store(true)
	return s
}

// SetReady sets what /readyz answers; cmd clears it while shutting down.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

// Handler returns the HTTP handler with every route, the role checks, request ids and logging.
func (s *Server) Handler() http.Handler {
	r := mux.NewRouter()
	r.StrictSlash(false)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, m := range s.Extra { // a browser gets the web pages' HTML 404 (webnotfound.go)
			if p, ok := m.(NotFoundPager); ok && p.NotFoundPage(w, r) {
				return
			}
		}
		writeError(w, r, certseal.Errorf(certseal.ENotFound, "没有这个地址：%s", r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, &certseal.Error{Code: "method_not_allowed", Message: "该地址不支持 " + r.Method + " 方法"})
	})
	for _, rt := range s.AllRoutes() {
		if rt.Like != "" {
			if _, ok := s.Route(rt.Like); !ok {
				panic("route " + rt.Name + " is like " + rt.Like + ", which is not a route")
			}
		}
		var h http.Handler = rt.Handler
		if !rt.Public {
			h = s.authorize(rt)
		}
		if rt.Name == metricsRoute {
			h = s.allowMetrics(h)
		}
		h = withRoutePattern(rt.Path, h)
		r.Handle(rt.Path, h).Methods(rt.Method).Name(rt.Name)
	}
	return s.withRequestLog(withDeadline(r))
}

// AllRoutes returns the server's own routes followed by those of its modules.
func (s *Server) AllRoutes() []Route {
	rs := append(s.coreRoutes(), s.metricsRoutes()...)
	for _, m := range s.Extra {
		rs = append(rs, m.Routes()...)
	}
	return rs
}

// Route returns the route of the role table named name (RouteTable). The web pages look up
// their roles here by the API route they name in Like.
func (s *Server) Route(name string) (Route, bool) {
	s.byNameOnce.Do(func() {
		s.byName = map[string]Route{}
		for _, rt := range s.AllRoutes() {
			s.byName[rt.Name] = rt
		}
	})
	rt, ok := s.byName[name]
	return rt, ok
}

// Run serves on ln (HTTPS when srv.TLSConfig is set) until ctx is cancelled, then shuts down
// gracefully, waiting up to 15s for requests in flight. It returns the listener's error, or nil after a clean shutdown.
func (s *Server) Run(ctx context.Context, ln net.Listener, srv *http.Server) error {
	srv.Handler = s.Handler()
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = 10 * time.Second
	}
	if srv.ReadTimeout == 0 {
		srv.ReadTimeout = 60 * time.Second
	}
	if srv.WriteTimeout == 0 {
		srv.WriteTimeout = 120 * time.Second
	}
	if srv.IdleTimeout == 0 {
		srv.IdleTimeout = 120 * time.Second
	}
	done := make(chan struct{})
	go s.touchLoop(done)
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil { // HTTPS (HTTP/2 and 1.1) with the certificate of TLSConfig
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		close(done)
		return err
	case <-ctx.Done():
	}
	s.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	close(done)
	return err
}

// touchLoop records token use off the request path.
func (s *Server) touchLoop(done chan struct{}) {
	for {
		select {
		case id := <-s.touches:
			if err := s.Orgs.TouchToken(id); err != nil {
				s.Log.Warn("token touch", "err", err)
			}
		case <-done:
			return
		}
	}
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyWho
)

// whoBox carries what the handlers learn back out to the request log and the metrics: the
// authenticated user and organisation, the matched route pattern and the error code answered.
type whoBox struct {
	username, userID, orgID string
	route                   string // the mux path template ("" when no route matched)
	code                    string // the error code of an error answer
}

// noteWho names p's user and organisation in the request log.
func noteWho(r *http.Request, p orgs.Principal) {
	if who, ok := r.Context().Value(keyWho).(*whoBox); ok {
		who.username, who.userID, who.orgID = p.User.Username, p.User.ID, p.Org.ID
	}
}

// noteCode records the error code of the answer for the request log and the metrics.
func noteCode(r *http.Request, code string) {
	if who, ok := r.Context().Value(keyWho).(*whoBox); ok {
		who.code = code
	}
}

// withRoutePattern records the route's path template for the request log and the metrics.
func withRoutePattern(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if who, ok := r.Context().Value(keyWho).(*whoBox); ok {
			who.route = pattern
		}
		h.ServeHTTP(w, r)
	})
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RequestID returns the request id of the request's context ("" when none).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) withRequestLog(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		ctx = context.WithValue(ctx, logKey{}, s.Log) // writeError logs through the server's logger
		who := &whoBox{}
		ctx = context.WithValue(ctx, keyWho, who)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				s.Log.Error("panic", "request_id", id, "panic", p)
				if sw.status == 0 {
					writeError(sw, r.WithContext(ctx), certseal.Errorf(certseal.EInternal, "内部错误"))
				}
			}
			d := time.Since(start)
			route := who.route
			if route == "" {
				route = unmatchedRoute
			}
			s.Log.Info("request", "request_id", id, "method", r.Method, "route", route, "path", r.URL.Path, "status", sw.status,
				"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "user", who.username,
				"user_id", who.userID, "org_id", who.orgID)
			if s.Metrics != nil {
				s.Metrics.observe(who.route, r.Method, sw.status, who.code, d)
			}
		}()
		h.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// ReadyCheck is a dependency /readyz checks: its name (in the answer when it fails) and a check
// that returns nil when it serves.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}
