package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"certseal/certs"
	"certseal/certs/push"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
)

func init() {
	expect(map[string]string{
		"subscriptions.list": "ADBU", "subscriptions.create": "ADB", "subscriptions.get": "ADBU",
		"subscriptions.update": "ADB", "subscriptions.delete": "ADB", "subscriptions.deliveries": "ADBU",
		"subscriptions.redeliver": "ADB", "deliveries.get": "ADBU", "deliveries.redeliver": "ADB",
	})
}

// receiver is a webhook endpoint that checks each request's signature and records the events.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	secret []byte
	got    []push.Payload
	calls  int
	fail   int           // answer 500 to the first fail requests
	block  chan struct{} // when set, requests wait for it to close
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.calls++
	n, block, secret := rc.calls, rc.block, rc.secret
	rc.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	if n <= rc.fail {
		http.Error(w, "not yet", http.StatusInternalServerError)
		return
	}
	if !push.VerifySignature(secret, body, r.Header.Get("X-Certseal-Signature")) {
		rc.t.Errorf("bad signature %q on %s", r.Header.Get("X-Certseal-Signature"), body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p push.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("body: %v", err)
	}
	if r.Header.Get("X-Certseal-Event") != p.Type || r.Header.Get("X-Certseal-Delivery") != p.DeliveryID ||
		r.Header.Get("X-Certseal-Timestamp") != strconv.FormatInt(p.SentAt.Unix(), 10) {
		rc.t.Errorf("headers %v do not match the body %s", r.Header, body)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, p)
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) events() []push.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]push.Payload(nil), rc.got...)
}

// allowLoopback lets the pusher reach the tests' receivers on 127.0.0.1, as an administrator
// allows an intranet receiver (by default loopback is refused).
func allowLoopback(t testing.TB, e *testenv.Env) {
	t.Helper()
	if err := e.App.Push.SetAllow([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
}

// subscribe creates a subscription for the receiver as user and returns its id; it allows
// loopback first.
func (rc *receiver) subscribe(e *testenv.Env, user string, body map[string]any) string {
	rc.t.Helper()
	allowLoopback(rc.t, e)
	if body == nil {
		body = map[string]any{}
	}
	body["url"] = rc.srv.URL + "/hook"
	var s struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	e.Must(201, "POST", "/api/v1/subscriptions", user, body).Decode(rc.t, &s)
	key, err := push.DecodeSecret(s.Secret)
	if err != nil || len(key) != 32 {
		rc.t.Fatalf("secret %q: %v", s.Secret, err)
	}
	rc.mu.Lock()
	rc.secret = key
	rc.mu.Unlock()
	return s.ID
}

func fastRetries(e *testenv.Env) {
	e.App.Push.SetBackoff(func(n int) time.Duration { return time.Duration(n) * 5 * time.Millisecond })
}

// checkOrder fails unless the payloads come in strictly increasing seq order with no repeats,
// and returns the event types per certificate.
func checkOrder(t testing.TB, got []push.Payload) map[string][]string {
	t.Helper()
	per := map[string][]string{}
	for i, p := range got {
		if i > 0 && p.Seq <= got[i-1].Seq {
			t.Fatalf("event %d (seq %d) after seq %d", i, p.Seq, got[i-1].Seq)
		}
		per[p.CertificateID] = append(per[p.CertificateID], p.Type)
	}
	return per
}

type subView struct {
	ID      string `json:"id"`
	Cursor  uint64 `json:"cursor"`
	Pending string `json:"pending_delivery_id"`
}

func getSub(t testing.TB, e *testenv.Env, user, id string) subView {
	var s subView
	e.Must(200, "GET", "/api/v1/subscriptions/"+id, user, nil).Decode(t, &s)
	return s
}

func deliveries(t testing.TB, e *testenv.Env, user, id string) []push.Delivery {
	var l struct{ Items []push.Delivery }
	e.Must(200, "GET", "/api/v1/subscriptions/"+id+"/deliveries?limit=500", user, nil).Decode(t, &l)
	return l.Items
}

// TestPushInOrder: three subscribers with different scopes; certificates issued and changed
// over HTTP reach each receiver in order, signed, and only the events in its scope.
func TestPushInOrder(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	center, market, county, other := newReceiver(t), newReceiver(t), newReceiver(t), newReceiver(t)
	centerSub := center.subscribe(e, "admin", nil)
	market.subscribe(e, "scj", map[string]any{"type_codes": []string{demo.TypeFood}})
	county.subscribe(e, "lz-scj", nil)                     // 利州区市场监管局: food licences issued in 利州区
	otherSub := other.subscribe(e, "zhaohua-officer", nil) // 广元市昭化区行政审批局: only its own certificates
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	var ids []string
	for i := range 6 {
		ids = append(ids, issue(t, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1))).ID)
	}
	op := func(id, name string) {
		e.Must(200, "POST", "/api/v1/certificates/"+id+"/operations", "lizhou-clerk", map[string]any{"op": name, "reason": "监督检查发现问题"})
	}
	op(ids[0], "suspend")
	op(ids[0], "reinstate")
	op(ids[1], "revoke")
	op(ids[0], "suspend")
	want := map[string][]string{
		ids[0]: {"certificate.issue", "certificate.suspend", "certificate.reinstate", "certificate.suspend"},
		ids[1]: {"certificate.issue", "certificate.revoke"},
	}
	for _, id := range ids[2:] {
		want[id] = []string{"certificate.issue"}
	}
	for name, rc := range map[string]*receiver{"center": center, "market": market, "county": county} {
		waitFor(t, name+" receives 10 events", func() bool { return len(rc.events()) >= 10 })
		per := checkOrder(t, rc.events())
		if len(rc.events()) != 10 || fmt.Sprint(per) != fmt.Sprint(want) {
			t.Errorf("%s got %v, want %v", name, per, want)
		}
	}
	// the other bureau's subscription passes over every event without a delivery
	waitFor(t, "the other bureau's cursor to pass the events", func() bool { return getSub(t, e, "zhaohua-officer", otherSub).Cursor >= 10 })
	if n := len(other.events()); n != 0 {
		t.Errorf("昭化区 received %d events of 利州区's certificates", n)
	}
	if d := deliveries(t, e, "zhaohua-officer", otherSub); len(d) != 0 {
		t.Errorf("昭化区 has %d deliveries", len(d))
	}
	ds := deliveries(t, e, "auditor", centerSub)
	if len(ds) != 10 || ds[0].Status != push.DeliveryDelivered || len(ds[0].Attempts) != 1 || ds[0].Attempts[0].StatusCode != 204 {
		t.Fatalf("delivery log: %+v", ds)
	}
	// a payload carries the event's fields
	p := center.events()[0]
	if p.SubscriptionID != centerSub || p.LicenceNumber == "" || p.Holder.Name != fs[0].Fields["经营者名称"] || p.Status != certs.StatusValid {
		t.Errorf("payload %+v", p)
	}
	// the secret is never listed again
	if r := e.Must(200, "GET", "/api/v1/subscriptions", "admin", nil); bytes.Contains(r.Body, []byte("whsec_")) || bytes.Contains(r.Body, []byte(`"secret"`)) {
		t.Errorf("the list shows a secret: %s", r.Body)
	}
}

// TestPushRetries: a receiver that fails its first attempts gets every event in the end, in
// order, and the log shows the attempts.
func TestPushRetries(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	rc := newReceiver(t)
	rc.fail = 4
	sub := rc.subscribe(e, "admin", nil)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	for i := range 3 {
		issue(t, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
	}
	waitFor(t, "3 events", func() bool { return len(rc.events()) >= 3 })
	checkOrder(t, rc.events())
	if got := rc.events(); len(got) != 3 || got[0].Seq != 1 {
		t.Fatalf("events: %+v", got)
	}
	waitFor(t, "the cursor", func() bool { return getSub(t, e, "admin", sub).Cursor == 3 })
	ds := deliveries(t, e, "admin", sub)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries", len(ds))
	}
	first := ds[2] // newest first
	if first.EventSeq != 1 || first.Status != push.DeliveryDelivered || len(first.Attempts) != 5 {
		t.Fatalf("first delivery: %+v", first)
	}
	for i, a := range first.Attempts {
		want := 500
		if i == 4 {
			want = 204
		}
		if a.StatusCode != want || (want == 500) != (a.Error != "") {
			t.Errorf("attempt %d: %+v, want status %d", i+1, a, want)
		}
	}
	if len(ds[0].Attempts) != 1 || len(ds[1].Attempts) != 1 {
		t.Errorf("later deliveries: %+v %+v", ds[0], ds[1])
	}
}

// TestPushHangingReceiver: a receiver that never answers does not hold up issuing; its
// deliveries stay pending while another subscriber gets everything; when it recovers it gets
// everything in order.
func TestPushHangingReceiver(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	hang, ok := newReceiver(t), newReceiver(t)
	hang.block = make(chan struct{})
	release := sync.OnceFunc(func() { close(hang.block) })
	t.Cleanup(release) // runs before the receiver's Close
	hangSub := hang.subscribe(e, "admin", nil)
	ok.subscribe(e, "scj", nil)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	for i := range 20 {
		issue(t, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
	}
	waitFor(t, "the healthy receiver", func() bool { return len(ok.events()) >= 20 })
	s := getSub(t, e, "admin", hangSub)
	if s.Cursor != 0 || s.Pending == "" || len(hang.events()) != 0 {
		t.Fatalf("hanging subscription: %+v, %d events", s, len(hang.events()))
	}
	release()
	waitFor(t, "the recovered receiver", func() bool { return len(hang.events()) >= 20 })
	checkOrder(t, hang.events())
}

// TestPushRedeliver rewinds a subscription and redelivers one delivery.
func TestPushRedeliver(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	rc := newReceiver(t)
	sub := rc.subscribe(e, "lizhou-officer", nil)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	for i := range 4 {
		issue(t, e, "lizhou-clerk", issueRequest(fs[i], seal, fmt.Sprintf("SC%08d", i+1)))
	}
	waitFor(t, "4 events", func() bool { return len(rc.events()) >= 4 })
	e.Must(400, "POST", "/api/v1/subscriptions/"+sub+"/redeliver", "lizhou-officer", map[string]any{"from_seq": 6})
	e.Must(400, "POST", "/api/v1/subscriptions/"+sub+"/redeliver", "lizhou-officer", map[string]any{"from_seq": 0})
	e.Must(404, "POST", "/api/v1/subscriptions/"+sub+"/redeliver", "zhaohua-officer", map[string]any{"from_seq": 1})
	e.Must(202, "POST", "/api/v1/subscriptions/"+sub+"/redeliver", "lizhou-officer", map[string]any{"from_seq": 2})
	waitFor(t, "3 events again", func() bool { return len(rc.events()) >= 7 })
	var seqs []uint64
	for _, p := range rc.events() {
		seqs = append(seqs, p.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 2 3 4]" {
		t.Fatalf("seqs %v", seqs)
	}
	ds := deliveries(t, e, "lizhou-officer", sub)
	var firstID string
	for _, d := range ds {
		if d.EventSeq == 1 {
			firstID = d.ID
		}
	}
	e.Must(404, "POST", "/api/v1/subscriptions/"+sub+"/deliveries/999/redeliver", "lizhou-officer", nil)
	e.Must(202, "POST", "/api/v1/subscriptions/"+sub+"/deliveries/"+firstID+"/redeliver", "lizhou-officer", nil)
	waitFor(t, "4 events again", func() bool { return len(rc.events()) >= 11 })
	var d push.Delivery
	e.Must(200, "GET", "/api/v1/subscriptions/"+sub+"/deliveries/"+firstID, "auditor", nil).Decode(t, &d)
	if d.EventSeq != 1 || d.Status != push.DeliveryDelivered {
		t.Errorf("delivery %+v", d)
	}
	if n := len(deliveries(t, e, "lizhou-officer", sub)); n != 4+3+4 {
		t.Errorf("%d deliveries, want 11", n)
	}
	var l struct {
		Items []struct{ Action string }
	}
	e.Must(200, "GET", "/api/v1/audit?action=push.&limit=50", "admin", nil).Decode(t, &l)
	if len(l.Items) != 3 {
		t.Errorf("audit events: %+v", l.Items)
	}
}

// TestPushRefusals: bad input and other organisations' subscriptions are refused, with nothing
// written.
func TestPushRefusals(t *testing.T) {
	e := testenv.Start(t)
	rc := newReceiver(t)
	sub := rc.subscribe(e, "scj", nil)
	before := e.Snapshot()
	for _, c := range []struct {
		name, method, path, user string
		body                     any
		want                     int
	}{
		{"ftp url", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "ftp://example.com/x"}, 400},
		{"no host", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "http:///x"}, 400},
		{"credentials", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://u:p@example.com/x"}, 400},
		{"relative", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "/hook"}, 400},
		{"long url", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://example.com/" + string(bytes.Repeat([]byte("a"), 2100))}, 400},
		{"unknown type", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://example.com/x", "type_codes": []string{"11100000000013338W999"}}, 400},
		{"type of another department", "POST", "/api/v1/subscriptions", "zjj", map[string]any{"url": "https://example.com/x", "type_codes": []string{demo.TypeFood}}, 403},
		{"another org", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://example.com/x", "org_id": e.Orgs["广元市交通运输局"]}, 403},
		{"clerk", "POST", "/api/v1/subscriptions", "lizhou-clerk", map[string]any{"url": "https://example.com/x"}, 403},
		{"unknown field", "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://example.com/x", "secret": "mine"}, 400},
		{"admin, printer org", "POST", "/api/v1/subscriptions", "admin", map[string]any{"url": "https://example.com/x", "org_id": e.Orgs["成都川印证件印务有限公司"]}, 400},
		{"read another org's", "GET", "/api/v1/subscriptions/" + sub, "zjj", nil, 404},
		{"patch another org's", "PATCH", "/api/v1/subscriptions/" + sub, "lizhou-officer", map[string]any{"active": false}, 404},
		{"delete another org's", "DELETE", "/api/v1/subscriptions/" + sub, "zjj", nil, 404},
		{"auditor deletes", "DELETE", "/api/v1/subscriptions/" + sub, "auditor", nil, 403},
		{"log of another org's", "GET", "/api/v1/subscriptions/" + sub + "/deliveries", "zjj", nil, 404},
		{"patch bad url", "PATCH", "/api/v1/subscriptions/" + sub, "scj", map[string]any{"url": "javascript:alert(1)"}, 400},
		{"patch empty", "PATCH", "/api/v1/subscriptions/" + sub, "scj", map[string]any{}, 400},
		{"patch type outside scope", "PATCH", "/api/v1/subscriptions/" + sub, "scj", map[string]any{"type_codes": []string{demo.TypeConstruction}}, 403},
		{"rewind ahead", "POST", "/api/v1/subscriptions/" + sub + "/redeliver", "scj", map[string]any{"from_seq": 5}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(c.method, c.path, c.user, c.body)
			if r.Status != c.want {
				t.Fatalf("got %d, want %d\n%s", r.Status, c.want, r.Body)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Fatal("a refused request changed the database")
			}
		})
	}
	// the owner changes, rotates and deletes
	var s struct{ Secret string }
	e.Must(200, "PATCH", "/api/v1/subscriptions/"+sub, "scj", map[string]any{"rotate_secret": true, "active": false}).Decode(t, &s)
	if len(s.Secret) < 40 {
		t.Errorf("rotated secret %q", s.Secret)
	}
	e.Must(200, "DELETE", "/api/v1/subscriptions/"+sub, "scj", nil)
	e.Must(404, "GET", "/api/v1/subscriptions/"+sub, "scj", nil)
}
