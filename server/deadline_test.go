package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/server"
)

// deadlineProbe is a module whose handlers report their request's deadline.
type deadlineProbe struct{}

func (deadlineProbe) Routes() []server.Route {
	probe := func(w http.ResponseWriter, r *http.Request) {
		d, ok := r.Context().Deadline()
		if !ok {
			fmt.Fprint(w, "none")
			return
		}
		fmt.Fprint(w, time.Until(d).Round(time.Second))
	}
	wait := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute): // no deadline: do not hang the test
		}
		if errors.Is(r.Context().Err(), context.DeadlineExceeded) {
			fmt.Fprint(w, "deadline")
		}
	}
	return []server.Route{
		{Method: "POST", Path: "/api/v1/probe", Name: "probe", Public: true, Handler: probe},
		{Method: "POST", Path: "/api/v1/certificates/batch", Name: "probe.batch", Public: true, Handler: probe},
		{Method: "GET", Path: "/api/v1/probe/wait", Name: "probe.wait", Public: true, Handler: wait},
		{Method: "GET", Path: "/api/v1/probe/slow", Name: "probe.slow", Public: true, Handler: func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // work that stops at the deadline and returns its context's error
			server.WriteError(w, r, fmt.Errorf("check rows: %w", r.Context().Err()))
		}},
	}
}

func probeServer() http.Handler {
	s := server.New(nil, nil, nil, certseal.SystemClock{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	s.Extra = append(s.Extra, deadlineProbe{})
	return s.Handler()
}

// TestRequestDeadline: every request's context has a deadline, RequestTimeout by default and
// LongRequestTimeout for a batch upload.
func TestRequestDeadline(t *testing.T) {
	h := probeServer()
	for _, c := range []struct {
		method, path string
		want         time.Duration
	}{
		{"POST", "/api/v1/probe", server.RequestTimeout},
		{"POST", "/api/v1/certificates/batch", server.LongRequestTimeout},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if got := w.Body.String(); got != c.want.Round(time.Second).String() {
			t.Errorf("%s %s: deadline in %s, want %s", c.method, c.path, got, c.want.Round(time.Second))
		}
	}
}

// TestRequestDeadlinePasses: when the deadline passes, the request's context is done with
// context.DeadlineExceeded, so the work in the handler stops.
func TestRequestDeadlinePasses(t *testing.T) {
	old := server.RequestTimeout
	server.RequestTimeout = time.Millisecond
	t.Cleanup(func() { server.RequestTimeout = old })
	w := httptest.NewRecorder()
	probeServer().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/probe/wait", nil))
	if w.Body.String() != "deadline" {
		t.Fatalf("handler saw %q, want its context ended by the deadline", w.Body.String())
	}
}

// TestRequestDeadlineAnswer: work stopped by the deadline answers 503 unavailable with reason
// deadline and a Chinese message, not a 500 internal error (a 10,000-row dry run on a cluster
// answered 内部错误 when it ran past the batch deadline).
func TestRequestDeadlineAnswer(t *testing.T) {
	old := server.RequestTimeout
	server.RequestTimeout = time.Millisecond
	t.Cleanup(func() { server.RequestTimeout = old })
	w := httptest.NewRecorder()
	probeServer().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/probe/slow", nil))
	body := w.Body.String()
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"unavailable"`) ||
		!strings.Contains(body, `"reason":"deadline"`) || !strings.Contains(body, "超时") {
		t.Fatalf("a request past its deadline: %d %s", w.Code, body)
	}
}
