package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"certseal/certs"
	"certseal/cmd/app"
	"certseal/cmd/app/testenv"
	"certseal/internal/audit"
	"certseal/internal/docstore"
	"certseal/internal/store"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// damagePDF flips one byte in the middle of a certificate's stored PDF, in the document store's
// file, as bit rot on the disk would.
func damagePDF(t *testing.T, e *testenv.Env, id string) {
	t.Helper()
	var c certs.Certificate
	if err := e.App.DB.View(func(tx *store.Tx) error {
		var err error
		c, err = certs.GetTx(tx, strconv.FormatUint(parseID(t, id), 10))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if e.App.Docs == nil { // a cluster: the document is an object in the object store
		damageObject(t, e.App.Config.S3, c.PDFSHA256)
		return
	}
	path := e.App.Docs.Path(c.PDFSHA256)
	pdf, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no stored PDF for %s: %v", id, err)
	}
	pdf[len(pdf)/2] ^= 0x01
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
}

// damageObject flips one byte in the middle of the object of the document with digest d, in
// the object store o names (docstore.S3's key layout), as a fault of the store would.
func damageObject(t *testing.T, o docstore.S3Options, d string) {
	t.Helper()
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: o.Secure})
	if err != nil {
		t.Fatal(err)
	}
	if o.Prefix == "" {
		o.Prefix = docstore.DirName + "/"
	}
	key := o.Prefix + d[:2] + "/" + d
	obj, err := c.GetObject(context.Background(), o.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || len(data) == 0 {
		t.Fatalf("no stored object %s: %v", key, err)
	}
	data[len(data)/2] ^= 0x01
	if _, err := c.PutObject(context.Background(), o.Bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

func parseID(t *testing.T, id string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range id {
		if c < '0' || c > '9' {
			t.Fatalf("certificate id %q", id)
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// corruptEvents returns the audit events recorded for damaged stored PDFs.
func corruptEvents(t *testing.T, e *testenv.Env) []audit.Event {
	t.Helper()
	var evs []audit.Event
	err := e.App.DB.View(func(tx *store.Tx) error {
		var err error
		evs, _, err = audit.List(tx, audit.Filter{Action: certs.ActionDocumentCorrupt}, 0, 100)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestDamagedStoredPDFRefused: after one byte of a stored PDF is flipped, its download answers
// 500 (code internal) with the "damaged, contact the administrator" message instead of the bad
// bytes, each refusal is audited, the other certificates still download, and the consistency
// check names the damaged one.
func TestDamagedStoredPDFRefused(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	bad := issue(t, e, "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	good := issue(t, e, "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002"))
	e.Must(200, "GET", "/api/v1/certificates/"+bad.ID+"/pdf", "lizhou-clerk", nil)
	damagePDF(t, e, bad.ID)

	r := e.Do("GET", "/api/v1/certificates/"+bad.ID+"/pdf", "lizhou-clerk", nil)
	if r.Status != 500 || r.ErrorCode() != "internal" || !strings.Contains(string(r.Body), "存储的证照文件已损坏，请联系管理员") {
		t.Fatalf("download of the damaged PDF: %d %s", r.Status, r.Body)
	}
	if strings.Contains(string(r.Body), "%PDF") {
		t.Fatal("the damaged bytes were served")
	}
	e.Must(200, "GET", "/api/v1/certificates/"+good.ID+"/pdf", "lizhou-clerk", nil)
	evs := corruptEvents(t, e)
	if len(evs) != 1 || evs[0].Object != "certificate/"+bad.ID || evs[0].Username == "" || !strings.Contains(string(evs[0].Detail), bad.PDFSHA256) {
		t.Fatalf("audit events %+v", evs)
	}

	found, n, err := certs.CheckConsistency(context.Background(), e.App.DB, e.App.Documents, e.App.Inventory)
	if err != nil || n != 2 {
		t.Fatalf("check: %d certificates, %v", n, err)
	}
	if len(found) != 1 || found[0].CertificateID != bad.ID || !strings.Contains(found[0].Problem, "存储的证照文件已损坏") {
		t.Fatalf("check found %+v", found)
	}
}

// TestDamagedStoredPDFInBatchZIP: a batch ZIP holding a damaged stored PDF is refused with the
// same 500 before any byte of the ZIP is sent, and the refusal is audited.
func TestDamagedStoredPDFInBatchZIP(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	m := foodMapping(seal)
	m["first_serial"] = "SC00000001"
	r := upload(t, e, "lizhou-clerk", "三行.csv", csvOf(t, batchRows(t, 3, 0), true), m, false)
	if r.Status != 202 {
		t.Fatalf("start: %d %s", r.Status, r.Body)
	}
	var b certs.Batch
	r.Decode(t, &b)
	if b = waitBatch(t, e, "lizhou-clerk", b.ID); b.Status != certs.BatchDone || b.Done != 3 {
		t.Fatalf("batch %+v", b)
	}
	e.Must(200, "GET", "/api/v1/certificates/batches/"+b.ID+"/zip", "lizhou-clerk", nil)
	var l struct{ Items []certs.Certificate }
	e.Must(200, "GET", "/api/v1/certificates?limit=10", "lizhou-clerk", nil).Decode(t, &l)
	if len(l.Items) != 3 {
		t.Fatalf("%d certificates", len(l.Items))
	}
	damagePDF(t, e, l.Items[1].ID)
	r = e.Do("GET", "/api/v1/certificates/batches/"+b.ID+"/zip", "lizhou-clerk", nil)
	if r.Status != 500 || r.ErrorCode() != "internal" || !strings.Contains(string(r.Body), "存储的证照文件已损坏") || r.Header.Get("Content-Type") == "application/zip" {
		t.Fatalf("ZIP with a damaged PDF: %d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if evs := corruptEvents(t, e); len(evs) != 1 || evs[0].Object != "certificate/"+l.Items[1].ID {
		t.Fatalf("audit events %+v", evs)
	}
}

// TestDiskFullAnswers503: a write that fails for lack of disk space (injected at the store's
// commit, wrapped as bbolt wraps a failed write) answers 503, code unavailable, with a message
// naming the cause; /readyz is not ready until a write succeeds again; what was acknowledged
// before is intact and the refused request left nothing behind.
func TestDiskFullAnswers503(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	before := issue(t, e, "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	e.Must(200, "GET", "/readyz", "", nil)

	e.App.DB.InjectWriteFault(&os.PathError{Op: "write", Path: e.App.DB.Path(), Err: syscall.ENOSPC})
	r := e.Do("POST", "/api/v1/certificates", "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002"))
	if r.Status != 503 || r.ErrorCode() != "unavailable" || !strings.Contains(string(r.Body), store.MsgDiskFull) {
		t.Fatalf("issue on a full disk: %d %s", r.Status, r.Body)
	}
	for i := 0; i < 2; i++ { // the probe write fails too while the disk is full
		if r := e.Do("GET", "/readyz", "", nil); r.Status != 503 || r.ErrorCode() != "unavailable" || !strings.Contains(string(r.Body), "磁盘空间不足") {
			t.Fatalf("readyz on a full disk: %d %s", r.Status, r.Body)
		}
	}
	e.App.DB.InjectWriteFault(nil)
	e.Must(200, "GET", "/readyz", "", nil)
	e.Must(200, "GET", "/api/v1/certificates/"+before.ID+"/pdf", "lizhou-clerk", nil)
	after := issue(t, e, "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002")) // the serial was not used up
	if after.Serial != "SC00000002" {
		t.Fatalf("after space came back: %+v", after)
	}
}

// TestInternalErrorLoggedAsJSON: an internal error (a write failing for a reason that is not
// the caller's) is logged through the service's own JSON logger with its request id, like every
// other line: each line of the log parses as a JSON object.
func TestInternalErrorLoggedAsJSON(t *testing.T) {
	var logBuf syncBuffer
	a, err := app.Open(app.Config{Data: t.TempDir(), NoSync: true, Log: &logBuf})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	res, err := a.LoadDemo()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Server.Handler())
	defer srv.Close()
	var token string
	for _, l := range res.Logins {
		if l.Username == "admin" {
			token = l.Token
		}
	}
	if token == "" {
		t.Fatal("no demo admin")
	}
	a.DB.InjectWriteFault(errors.New("disk controller on fire"))
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/tokens", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a.DB.InjectWriteFault(nil)
	if resp.StatusCode != 500 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	id := resp.Header.Get("X-Request-Id")
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "internal error" && m["request_id"] == id && strings.Contains(fmt.Sprint(m["err"]), "disk controller on fire") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no JSON line for the internal error of request %s in:\n%s", id, logBuf.String())
	}
}

// syncBuffer is a bytes.Buffer the server's goroutines and the test can share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
