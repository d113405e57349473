package server

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Request deadlines: the work of a request (verifying a PDF, parsing a table, rendering) stops
// when its context is done, that is when the deadline passes or when the client goes away.
var (
	// RequestTimeout is the deadline of an ordinary request, public PDF verification included.
	RequestTimeout = 30 * time.Second
	// LongRequestTimeout is the deadline of a batch upload and of the large downloads (batch
	// ZIPs, exports, backups, the audit chain check). The http.Server's WriteTimeout (120 s, set
	// in Run) ends the answer anyway.
	LongRequestTimeout = 2 * time.Minute
)

// requestTimeout returns the deadline for r.
func requestTimeout(r *http.Request) time.Duration {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && (p == "/api/v1/certificates/batch" || p == "/batch"),
		r.Method == http.MethodGet && (strings.HasSuffix(p, "/zip") || strings.HasPrefix(p, "/exports/") ||
			p == "/api/v1/admin/backup" || p == "/api/v1/audit/verify"):
		return LongRequestTimeout
	}
	return RequestTimeout
}

// withDeadline gives each request's context its deadline (see RequestTimeout).
func withDeadline(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout(r))
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}
