package push_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"certseal"
	"certseal/certs/push"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
)

// failing is a webhook receiver that answers 500 to its first fail requests and 204 after.
type failing struct {
	mu    sync.Mutex
	fail  int
	calls int
}

func (f *failing) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if n <= f.fail {
		http.Error(w, "not yet", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *failing) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

type pass struct{ now, next time.Time }

// waitUntil polls cond until it holds, failing the test after 30 seconds (a deadline, not a
// timing assertion).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// issueOne issues a food licence over HTTP, which appends one event to the outbox.
func issueOne(t *testing.T, e *testenv.Env) {
	t.Helper()
	f := fixtures.FoodRecords(t)[0]
	testenv.Issue(t, e, "lizhou-clerk", testenv.IssueRequest(f, testenv.SealOf(t, e, "lizhou-clerk"), "SC00000001"))
}

// TestBackoffOnFakeClock drives a failing delivery's back-off on the service's fake clock,
// without waiting out any back-off in real time: after each failed attempt the next attempt is
// due at the attempt's time plus DefaultBackoff on that clock, the pusher waits for exactly that
// time, does not retry while the clock is short of it, and retries as soon as the clock reaches
// it.
func TestBackoffOnFakeClock(t *testing.T) {
	e := testenv.Start(t)
	p := e.App.Push
	passes := make(chan pass, 256)
	p.OnPass(func(now, next time.Time) {
		select {
		case passes <- pass{now, next}:
		default: // the test reads the newest passes; an old one may be dropped
		}
	})
	// waitPass waits for a dispatch pass that read the clock at or after from, and returns it.
	waitPass := func(what string, from time.Time, ok func(pass) bool) pass {
		t.Helper()
		deadline := time.After(30 * time.Second)
		var last pass
		for {
			select {
			case ps := <-passes:
				if !ps.now.Before(from) {
					last = ps
					if ok(ps) {
						return ps
					}
				}
			case <-deadline:
				t.Fatalf("timed out waiting for a pass %s; the last pass read the clock at %v and waits until %v", what, last.now, last.next)
			}
		}
	}
	rc := &failing{fail: 3}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	if err := p.SetAllow([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sub, _, err := p.CreateSubscription(ctx, certseal.System, push.SubscriptionInput{OrgID: e.Orgs[demo.CityCenterName], URL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	delivery := func() push.Delivery {
		ds, _, err := p.Deliveries(ctx, certseal.System, sub.ID, "", 10)
		if err != nil || len(ds) != 1 {
			t.Fatalf("deliveries: %+v %v", ds, err)
		}
		return ds[0]
	}
	attempts := func(n int) func() bool {
		return func() bool {
			ds, _, err := p.Deliveries(ctx, certseal.System, sub.ID, "", 10)
			return err == nil && len(ds) == 1 && len(ds[0].Attempts) >= n
		}
	}
	issueOne(t, e)
	waitUntil(t, "the first attempt", attempts(1))
	for n := 1; n <= 3; n++ {
		d := delivery()
		if len(d.Attempts) != n || d.Status != push.DeliveryPending || d.Attempts[n-1].StatusCode != 500 {
			t.Fatalf("after attempt %d: %+v", n, d)
		}
		at := d.Attempts[n-1].At
		due := at.Add(push.DefaultBackoff(n))
		if !d.NextAttemptAt.Equal(due) {
			t.Fatalf("attempt %d at %v: next attempt at %v, want %v (+%v)", n, at, d.NextAttemptAt, due, push.DefaultBackoff(n))
		}
		// The pusher waits for that time on the service's clock.
		waitPass("that waits for the back-off", at, func(ps pass) bool { return ps.next.Equal(due) })
		// Short of it, waking the pusher does not retry.
		short := due.Add(-push.DefaultBackoff(n) / 2)
		e.Clock.Set(short)
		p.Wake()
		waitPass("after the clock moved short of the back-off", short, func(ps pass) bool { return ps.next.Equal(due) })
		if got := rc.count(); got != n {
			t.Fatalf("the receiver got %d requests before the back-off after attempt %d had passed", got, n)
		}
		// At it, the pusher retries at once.
		e.Clock.Set(due)
		p.Wake()
		waitUntil(t, "the retry once the clock reached the back-off", attempts(n+1))
		if a := delivery().Attempts[n]; a.At.Before(due) {
			t.Fatalf("attempt %d at %v, before its back-off ended at %v", n+1, a.At, due)
		}
	}
	waitUntil(t, "the delivery", func() bool { return delivery().Status == push.DeliveryDelivered })
	d := delivery()
	if len(d.Attempts) != 4 || d.Attempts[3].StatusCode != 204 || !d.NextAttemptAt.IsZero() || rc.count() != 4 {
		t.Fatalf("delivered: %+v after %d requests", d, rc.count())
	}
}
