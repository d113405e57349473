// Package testenv starts a complete certseal (the same wiring as cmd/certseal) on a temporary
// database with the demo data, behind an httptest server, for tests in every package. It is only
// imported by tests.
package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/cmd/app"
	"certseal/internal/docstore"
	"certseal/internal/docstore/weedtest"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/internal/store/etcdtest"
)

var nodePrefixes atomic.Int64

// etcdNode is the configuration of a service of its own on the process's shared etcd and
// SeaweedFS (CERTSEAL_TEST_STORE=etcd): a new key prefix and document prefix each.
func etcdNode(t testing.TB) *app.Config {
	n := nodePrefixes.Add(1)
	s3 := weedtest.Shared(t)
	return &app.Config{Store: "etcd",
		Etcd: store.EtcdOptions{Endpoints: etcdtest.Shared(t).Endpoints, Prefix: fmt.Sprintf("env%d/", n),
			MaxTxnOps: etcdtest.MaxTxnOps, MaxRequestBytes: etcdtest.MaxRequestBytes},
		S3: docstore.S3Options{Endpoint: s3.Endpoint, Bucket: "certseal-testenv", Prefix: fmt.Sprintf("env%d-%d/", os.Getpid(), n),
			AccessKey: weedtest.AccessKey, SecretKey: weedtest.SecretKey},
		MasterKey: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
}

// Env is a running service with demo data.
type Env struct {
	T      testing.TB
	App    *app.App
	HTTP   *httptest.Server
	Clock  *certseal.FixedClock
	Tokens map[string]string // username -> API token
	Orgs   map[string]string // organisation name -> id
}

// Start returns a running service on a fresh database in t.TempDir() with the demo data loaded
// and fsync off; it stops when the test ends.
func Start(t testing.TB) *Env { return StartWith(t, Options{}) }

// Options change how Start runs the service.
type Options struct {
	// Sync turns fsync on, as in production (for benchmarks of the real cost of a commit).
	Sync bool
	// TSA and PAdESLevel are app.Config's: "builtin" signs with the built-in TSA.
	TSA, PAdESLevel string
	TSACA           []byte // PEM of an external TSA's CA
	// Node, when set, makes the service a node of a cluster: its Store, Etcd, S3 and MasterKey
	// are used. Nodes of one cluster share the demo data (the first one loads it) and their
	// tokens.
	Node *app.Config
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Env {
	t.Helper()
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China), Step: time.Millisecond}
	c := app.Config{Data: t.TempDir(), NoSync: !o.Sync, Clock: clock, TSA: o.TSA, PAdESLevel: o.PAdESLevel, TSACA: o.TSACA}
	if o.Node == nil && fixtures.TestStore() == "etcd" {
		o.Node = etcdNode(t)
	}
	if o.Node != nil {
		c.Store, c.Etcd, c.S3, c.MasterKey = o.Node.Store, o.Node.Etcd, o.Node.S3, o.Node.MasterKey
	}
	a, err := app.Open(c)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	res, err := a.LoadDemo()
	if err != nil {
		a.Close()
		t.Fatalf("demo data: %v", err)
	}
	e := &Env{T: t, App: a, Clock: clock, Tokens: map[string]string{}, Orgs: res.Orgs}
	for _, l := range res.Logins {
		e.Tokens[l.Username] = l.Token
	}
	e.HTTP = httptest.NewServer(a.Server.Handler())
	t.Cleanup(func() {
		e.HTTP.Close()
		a.Close()
	})
	return e
}

// Response is a finished request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map (failing the test when it is not a JSON object).
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v.
func (r *Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode response: %v\n%s", err, r.Body)
	}
}

// ErrorCode returns the error code of an error response ("" when there is none).
func (r *Response) ErrorCode() string {
	var b struct {
		Error struct{ Code string } `json:"error"`
	}
	json.Unmarshal(r.Body, &b)
	return b.Error.Code
}

// Do sends a request as the named demo user ("" for none). body may be nil, a []byte sent as
// is, or any value sent as JSON.
func (e *Env) Do(method, path, user string, body any) *Response {
	e.T.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "application/json"
	case string:
		rd, ct = bytes.NewReader([]byte(b)), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		rd, ct = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, e.HTTP.URL+path, rd)
	if err != nil {
		e.T.Fatalf("request: %v", err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if user != "" {
		tok, ok := e.Tokens[user]
		if !ok {
			e.T.Fatalf("no demo user %q", user)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.HTTP.Client().Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// Must sends a request and fails the test unless the status is want.
func (e *Env) Must(want int, method, path, user string, body any) *Response {
	e.T.Helper()
	r := e.Do(method, path, user, body)
	if r.Status != want {
		e.T.Fatalf("%s %s as %q: status %d, want %d\n%s", method, path, user, r.Status, want, r.Body)
	}
	return r
}

// Snapshot returns a copy of the whole database, for tests that check a refused request wrote
// nothing.
func (e *Env) Snapshot() []byte {
	e.T.Helper()
	var buf bytes.Buffer
	if err := e.App.DB.Dump(&buf); err != nil { // bbolt: the file's copy; etcd: every key
		e.T.Fatalf("snapshot: %v", err)
	}
	return buf.Bytes()
}
