package server

import (
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"certseal"
)

// RateLimiter is a token bucket per client address: Burst requests at once, refilled at Rate per
// second. It is for the public, unauthenticated routes.
//
// On a cluster, Share returns the number of nodes behind the load balancer (store.DB.Nodes):
// each node then allows 1/Share of Rate and Burst, so that an address gets at most Rate and
// Burst from the whole cluster, whichever nodes its requests reach, without a database
// request per public request. nil: one node.
type RateLimiter struct {
	Rate  float64
	Burst float64
	Share func() int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	now     func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter allowing burst requests and rate per second per address.
func NewRateLimiter(rate, burst float64) *RateLimiter {
	return &RateLimiter{Rate: rate, Burst: burst, buckets: map[string]*bucket{}, now: time.Now}
}

// Allow reports whether the client may make a request now, and if not, how long to wait.
func (l *RateLimiter) Allow(addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.last) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	rate, burst := l.Rate, l.Burst
	if l.Share != nil {
		if n := l.Share(); n > 1 {
			rate, burst = rate/float64(n), max(1, burst/float64(n))
		}
	}
	b, ok := l.buckets[addr]
	if !ok {
		b = &bucket{tokens: burst, last: now}
		l.buckets[addr] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * rate
	if b.tokens > burst {
		b.tokens = burst
	}
	b.last = now
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	return true, 0
}

// clientAddr is the request's remote IP. certseal serves directly (no trusted proxy), so
// X-Forwarded-For is not believed.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Limit wraps h with the limiter: over the limit, 429 rate_limited with Retry-After.
func (l *RateLimiter) Limit(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(clientAddr(r)); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			writeError(w, r, certseal.Errorf(certseal.ERateLimited, "请求过于频繁，请稍后再试"))
			return
		}
		h(w, r)
	}
}
