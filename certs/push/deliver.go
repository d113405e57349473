package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// How delivery works. Run is one goroutine that never sends anything itself: woken by Wake
// (after a commit that appended events), by a ticker, by a back-off timer or by a worker that
// finished, it looks at every active subscription and starts a worker for each one that is behind
// the outbox, not already running and not waiting out a back-off; at most MaxWorkers at a time.
// A worker walks its subscription's events after the cursor strictly in sequence order: events
// outside the subscriber's scope are passed over; the next event in scope gets a delivery record,
// is POSTed and, on a 2xx, the cursor moves past it; on anything else the attempt is logged and
// the worker stops until the back-off has passed, so a failing receiver blocks only its own
// subscription and never skips an event. Issuing only appends to the outbox and calls Wake, which
// never blocks, so a slow or dead receiver never slows it.

const pushPage = 100

type workResult struct {
	subID   string
	retryAt time.Time // zero: caught up (or stopped for another reason)
	gen     uint64
	updated time.Time
}

type retryState struct {
	at      time.Time
	gen     uint64
	updated time.Time
}

// defaultClient is the webhook client: a 10s timeout, no redirects, no proxy, and every
// connection checked against the address rule (guard.go).
func (p *Pusher) defaultClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     p.guardedTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Run delivers events until ctx is cancelled, then waits for the deliveries in flight (each
// bounded by the client's timeout) and returns.
func (p *Pusher) Run(ctx context.Context) {
	if p.Client == nil {
		p.Client = p.defaultClient()
	}
	interval := p.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	maxWorkers := p.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = 8
	}
	wake := p.wakeCh()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	running := map[string]bool{}
	retry := map[string]retryState{}
	done := make(chan workResult)
	for {
		next := p.dispatch(ctx, running, retry, done, maxWorkers)
		timer.Reset(time.Hour)
		if !next.IsZero() {
			timer.Reset(max(next.Sub(p.Clock.Now()), time.Millisecond)) // next is on the service clock
		}
		select {
		case <-ctx.Done():
			for len(running) > 0 {
				r := <-done
				delete(running, r.subID)
			}
			return
		case <-wake:
		case <-ticker.C:
		case <-timer.C:
		case r := <-done:
			delete(running, r.subID)
			if r.retryAt.IsZero() {
				delete(retry, r.subID)
			} else {
				retry[r.subID] = retryState{at: r.retryAt, gen: r.gen, updated: r.updated}
			}
		}
	}
}

// dispatch starts workers for the subscriptions that have work, and returns the earliest time a
// waiting subscription may be retried (zero when none waits).
func (p *Pusher) dispatch(ctx context.Context, running map[string]bool, retry map[string]retryState, done chan<- workResult, maxWorkers int) time.Time {
	type cand struct {
		id      string
		gen     uint64
		updated time.Time
	}
	var cands []cand
	err := p.DB.View(func(tx *store.Tx) error {
		last := certs.LastEventSeqTx(tx)
		return tx.Scan(bucketPushSubs, nil, nil, func(_, v []byte) error {
			var s Subscription
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			if !s.Active || running[s.ID] {
				return nil
			}
			c, err := getCursorTx(tx, s.ID)
			if err != nil {
				return err
			}
			if c.Seq < last {
				cands = append(cands, cand{s.ID, c.Gen, s.UpdatedAt})
			}
			return nil
		})
	})
	if err != nil {
		p.log().Error("push: list subscriptions", "err", err)
		return p.Clock.Now().Add(time.Minute)
	}
	var next time.Time
	now := p.Clock.Now()
	for _, c := range cands {
		if r, ok := retry[c.id]; ok {
			if r.gen == c.gen && r.updated.Equal(c.updated) && now.Before(r.at) {
				if next.IsZero() || r.at.Before(next) {
					next = r.at
				}
				continue
			}
			delete(retry, c.id) // rewound or changed since: try at once
		}
		if len(running) >= maxWorkers {
			break
		}
		release, ok := p.claimSub(c.id)
		if !ok {
			continue // another node delivers it
		}
		running[c.id] = true
		go func(id string) {
			r := p.work(ctx, id)
			release()
			done <- r
		}(c.id)
	}
	p.mu.Lock()
	f := p.onPass
	p.mu.Unlock()
	if f != nil {
		f(now, next)
	}
	return next
}

// scope caches what deciding an event's audience needs during one worker run.
type scope struct {
	types map[string]catalogue.LicenceType
	orgs  map[string]certseal.Org
}

func (sc *scope) typ(tx *store.Tx, code string) catalogue.LicenceType {
	if t, ok := sc.types[code]; ok {
		return t
	}
	t, _ := catalogue.GetType(tx, code)
	sc.types[code] = t
	return t
}

func (sc *scope) org(tx *store.Tx, id string) certseal.Org {
	if o, ok := sc.orgs[id]; ok {
		return o
	}
	o, _ := orgs.Get(tx, id)
	sc.orgs[id] = o
	return o
}

func orgArea(o certseal.Org) string {
	if o.AreaCode != "" {
		return o.AreaCode
	}
	if len(o.USCC) >= 8 {
		return o.USCC[2:8]
	}
	return ""
}

// match reports whether the subscriber sees the event (see the scope rules in push.go).
func (sc *scope) match(tx *store.Tx, sub *Subscription, org certseal.Org, e *certs.Event) bool {
	if len(sub.TypeCodes) > 0 && !slices.Contains(sub.TypeCodes, e.TypeCode) {
		return false
	}
	switch org.Kind {
	case certseal.KindCityCenter:
		return true
	case certseal.KindCityDepartment:
		return sc.typ(tx, e.TypeCode).ResponsibleOrgID == org.ID
	case certseal.KindCountyBureau:
		return e.IssuerOrgID == org.ID
	case certseal.KindCountyDept:
		if e.IssuerOrgID == org.ID {
			return true
		}
		if orgArea(sc.org(tx, e.IssuerOrgID)) != orgArea(org) {
			return false
		}
		if org.ParentID != "" && sc.typ(tx, e.TypeCode).ResponsibleOrgID == org.ParentID {
			return true
		}
		c, err := certs.GetTx(tx, e.CertificateID)
		if err != nil {
			return false
		}
		it, err := catalogue.ResolveCode(tx, c.ItemCode)
		return err == nil && it.HandlingOrgID == org.ID
	}
	return false
}

var errStale = errors.New("push: subscription changed")

// work delivers a subscription's events until it is caught up, an attempt fails (the result
// carries the retry time) or ctx ends.
func (p *Pusher) work(ctx context.Context, subID string) workResult {
	res := workResult{subID: subID}
	sc := &scope{types: map[string]catalogue.LicenceType{}, orgs: map[string]certseal.Org{}}
	for ctx.Err() == nil {
		var (
			sub     Subscription
			secret  []byte
			cur     pushCursor
			target  *certs.Event
			skipped uint64 // the last event passed over before target (or of the page)
			pending Delivery
			found   bool
		)
		err := p.DB.View(func(tx *store.Tx) error {
			var err error
			if sub, err = getSubTx(tx, subID); err != nil {
				return err
			}
			k, _ := subKey(subID)
			secret = tx.Get(bucketPushSecrets, k)
			if cur, err = getCursorTx(tx, subID); err != nil {
				return err
			}
			if !sub.Active || secret == nil {
				return nil
			}
			org, err := orgs.Get(tx, sub.OrgID)
			if err != nil {
				return err
			}
			events, err := certs.EventsAfterTx(tx, cur.Seq, pushPage)
			if err != nil {
				return err
			}
			for i := range events {
				if sc.match(tx, &sub, org, &events[i]) {
					target = &events[i]
					break
				}
				skipped = events[i].Seq
			}
			if target != nil && cur.Pending != 0 {
				if ok, err := tx.GetJSON(bucketPushDeliveries, store.U64(cur.Pending), &pending); err != nil {
					return err
				} else if ok && pending.EventSeq == target.Seq && pending.Status == DeliveryPending {
					found = true
				}
			}
			return nil
		})
		res.gen, res.updated = cur.Gen, sub.UpdatedAt
		if err != nil {
			if certseal.ErrorCode(err) != certseal.ENotFound {
				p.log().Error("push: read subscription", "subscription", subID, "err", err)
				res.retryAt = p.Clock.Now().Add(time.Minute)
			}
			return res
		}
		if !sub.Active || secret == nil {
			return res
		}
		if secret, err = p.openSecret(secret); err != nil { // decrypted outside the transaction
			p.log().Error("push: open the subscription's secret", "subscription", subID, "err", err)
			res.retryAt = p.Clock.Now().Add(time.Minute)
			return res
		}
		if target == nil {
			if skipped == 0 {
				return res // caught up
			}
			if err := p.advance(subID, cur.Gen, skipped); err != nil {
				return p.stale(res, err)
			}
			continue
		}
		if !found {
			var err error
			if pending, err = p.newDelivery(subID, cur.Gen, target); err != nil {
				return p.stale(res, err)
			}
		}
		ok, err := p.attempt(ctx, &sub, secret, &pending, target, cur.Gen)
		if err != nil {
			return p.stale(res, err)
		}
		if !ok {
			if ctx.Err() != nil {
				return res
			}
			res.retryAt = pending.NextAttemptAt
			return res
		}
	}
	return res
}

func (p *Pusher) stale(res workResult, err error) workResult {
	if !errors.Is(err, errStale) {
		p.log().Error("push: write delivery state", "subscription", res.subID, "err", err)
		res.retryAt = p.Clock.Now().Add(time.Minute)
	}
	return res
}

// checkGenTx returns the cursor when the subscription still exists and was not rewound since gen.
func checkGenTx(tx *store.Tx, subID string, gen uint64) (pushCursor, error) {
	k, _ := subKey(subID)
	if !tx.Has(bucketPushSubs, k) {
		return pushCursor{}, errStale
	}
	c, err := getCursorTx(tx, subID)
	if err != nil {
		return c, err
	}
	if c.Gen != gen {
		return c, errStale
	}
	return c, nil
}

// advance moves the cursor over events outside the subscriber's scope.
func (p *Pusher) advance(subID string, gen, seq uint64) error {
	return p.DB.Batch(func(tx *store.Tx) error {
		c, err := checkGenTx(tx, subID, gen)
		if err != nil {
			return err
		}
		if seq <= c.Seq {
			return nil
		}
		c.Seq = seq
		k, _ := subKey(subID)
		return tx.PutJSON(bucketPushCursors, k, c)
	})
}

// newDelivery records a pending delivery of e and moves the cursor to just before it.
func (p *Pusher) newDelivery(subID string, gen uint64, e *certs.Event) (Delivery, error) {
	var d Delivery
	now := p.Clock.Now().UTC()
	err := p.DB.Update(func(tx *store.Tx) error {
		c, err := checkGenTx(tx, subID, gen)
		if err != nil {
			return err
		}
		if c.Pending != 0 {
			if err := cancelDeliveryTx(tx, c.Pending); err != nil {
				return err
			}
		}
		n, err := tx.NextID(bucketPushDeliveries)
		if err != nil {
			return err
		}
		d = Delivery{ID: itoa(n), SubscriptionID: subID, EventSeq: e.Seq, EventType: e.Type, CertificateID: e.CertificateID,
			Status: DeliveryPending, Attempts: []Attempt{}, CreatedAt: now}
		if err := tx.PutJSON(bucketPushDeliveries, store.U64(n), d); err != nil {
			return err
		}
		k, _ := subKey(subID)
		if err := tx.Put(bucketPushBySub, append(append([]byte{}, k...), store.U64(n)...), nil); err != nil {
			return err
		}
		c.Seq = max(c.Seq, e.Seq-1)
		c.Pending = n
		return tx.PutJSON(bucketPushCursors, k, c)
	})
	return d, err
}

// attempt sends one webhook request and records it. It reports whether the receiver
// acknowledged the event; the error is errStale or a store failure.
func (p *Pusher) attempt(ctx context.Context, sub *Subscription, secret []byte, d *Delivery, e *certs.Event, gen uint64) (bool, error) {
	sentAt := p.Clock.Now().UTC().Truncate(time.Second)
	body, err := json.Marshal(Payload{DeliveryID: d.ID, SubscriptionID: sub.ID, SentAt: sentAt, Event: *e})
	if err != nil {
		return false, err
	}
	start := p.Clock.Now() // keeps the monotonic reading of a real clock for the duration
	a := Attempt{At: start.UTC()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("User-Agent", "certseal-push/1")
		req.Header.Set("X-Certseal-Event", e.Type)
		req.Header.Set("X-Certseal-Delivery", d.ID)
		req.Header.Set("X-Certseal-Signature", Sign(secret, body))
		req.Header.Set("X-Certseal-Timestamp", strconv.FormatInt(sentAt.Unix(), 10))
		var resp *http.Response
		resp, err = p.Client.Do(req)
		if err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			a.StatusCode = resp.StatusCode
		}
	}
	a.DurationMS = p.Clock.Now().Sub(start).Milliseconds()
	if err != nil {
		if ctx.Err() != nil {
			return false, nil // shutting down: not the receiver's failure
		}
		// The log the subscriber reads says only what kind of failure it was; the details (which
		// would tell an open port from a closed one) go to the service's log.
		a.Error = attemptError(err)
		p.log().Warn("push: delivery failed", "subscription", sub.ID, "delivery", d.ID, "err", err)
	} else if a.StatusCode < 200 || a.StatusCode > 299 {
		a.Error = "接收方返回 HTTP " + strconv.Itoa(a.StatusCode)
	}
	ok := a.Error == ""
	err = p.DB.Batch(func(tx *store.Tx) error {
		c, err := checkGenTx(tx, sub.ID, gen)
		if err != nil {
			return err
		}
		var cur Delivery
		found, err := tx.GetJSON(bucketPushDeliveries, store.U64(parseID(d.ID)), &cur)
		if err != nil {
			return err
		}
		if !found || cur.Status != DeliveryPending {
			return errStale
		}
		cur.Attempts = append(cur.Attempts, a)
		k, _ := subKey(sub.ID)
		if ok {
			cur.Status, cur.DeliveredAt, cur.NextAttemptAt = DeliveryDelivered, a.At, time.Time{}
			c.Seq = max(c.Seq, e.Seq)
			c.Pending = 0
			if err := tx.PutJSON(bucketPushCursors, k, c); err != nil {
				return err
			}
		} else {
			cur.NextAttemptAt = a.At.Add(p.delay(len(cur.Attempts)))
		}
		*d = cur
		return tx.PutJSON(bucketPushDeliveries, store.U64(parseID(d.ID)), cur)
	})
	return ok, err
}

func parseID(id string) uint64 {
	n, _ := strconv.ParseUint(id, 10, 64)
	return n
}
