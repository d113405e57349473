package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"certseal/internal/audit"
	"certseal/internal/store"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
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

// running is a certseal serve started through Main.
type running struct {
	url    string
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

var listenRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

func serve(t *testing.T, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{out: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		r.done <- Main(ctx, append([]string{"serve", "-addr", "127.0.0.1:0", "-nosync"}, args...), r.out, io.Discard)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(r.out.String()); m != nil {
			r.url = m[1]
			return r
		}
		select {
		case code := <-r.done:
			t.Fatalf("serve exited with %d: %s", code, r.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start: %s", r.out.String())
	return nil
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if code := <-r.done; code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
}

func (r *running) get(t *testing.T, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func tokenOf(out, user string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[0] == user {
			return f[3]
		}
	}
	return ""
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"init", "-data", dir}, &out, &errb); code != 0 {
		t.Fatalf("init: %d %s", code, errb.String())
	}
	tok := strings.TrimSpace(out.String())
	if strings.Count(out.String(), "\n") != 1 || !strings.HasPrefix(tok, "cst_") {
		t.Fatalf("init should print the token alone on one line, printed %q", out.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, store.FileName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, store.FileName))
	if bytes.Contains(raw, []byte(tok)) {
		t.Fatal("the database holds the token in clear")
	}
	out.Reset()
	if code := Main(context.Background(), []string{"init", "-data", dir}, &out, &errb); code != 0 {
		t.Fatalf("second init: %d", code)
	}
	r := serve(t, "-data", dir)
	defer r.stop(t)
	for _, tk := range []string{tok, strings.TrimSpace(out.String())} {
		if code, m := r.get(t, "/api/v1/me", tk); code != 200 || m["user"].(map[string]any)["username"] != "admin" {
			t.Fatalf("token from init: %d %v", code, m)
		}
	}
	code, m := r.get(t, "/api/v1/users", tok)
	if code != 200 || len(m["items"].([]any)) != 1 {
		t.Fatalf("after two inits there should be one admin: %v", m)
	}
}

// TestServeDemoOnceBackupRestore starts with -demo twice (the data is not duplicated), takes a
// backup with the CLI, and starts a server on the copy.
func TestServeDemoOnceBackupRestore(t *testing.T) {
	dir := t.TempDir()
	r := serve(t, "-data", dir, "-demo")
	admin := tokenOf(r.out.String(), "admin")
	if admin == "" || tokenOf(r.out.String(), "lizhou-clerk") == "" {
		t.Fatalf("demo tokens not printed:\n%s", r.out.String())
	}
	_, first := r.get(t, "/api/v1/orgs?limit=500", admin)
	nOrgs := len(first["items"].([]any))
	if nOrgs != 18 {
		t.Errorf("demo has %d organisations, want 18 (17 and the demo bank, a using organisation)", nOrgs)
	}
	r.stop(t)

	r = serve(t, "-data", dir, "-demo")
	if !strings.Contains(r.out.String(), "already loaded") {
		t.Errorf("second start: %s", r.out.String())
	}
	_, again := r.get(t, "/api/v1/orgs?limit=500", admin)
	if n := len(again["items"].([]any)); n != nOrgs {
		t.Errorf("second -demo start: %d organisations, want %d", n, nOrgs)
	}
	r.stop(t)

	backup := filepath.Join(t.TempDir(), "backup.db")
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"backup", "-data", dir, backup}, &out, &errb); code != 0 {
		t.Fatalf("backup: %d %s", code, errb.String())
	}
	restoreDir := t.TempDir()
	if code := Main(context.Background(), []string{"restore", "-data", restoreDir, backup}, &out, &errb); code != 0 {
		t.Fatalf("restore: %d %s", code, errb.String())
	}
	// the seal keys in the backup are sealed under the master key, which is kept apart from
	// the database: without it the copy refuses to start, with it the copy serves
	ctx, cancel := context.WithCancel(context.Background())
	var errb2 bytes.Buffer
	if code := Main(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-data", restoreDir}, io.Discard, &errb2); code != 1 || !strings.Contains(errb2.String(), "主密钥") {
		t.Fatalf("restored copy without the master key: exit %d, %s", code, errb2.String())
	}
	cancel()
	key, err := os.ReadFile(filepath.Join(dir, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(restoreDir, "master.key"), key, 0o600)
	r = serve(t, "-data", restoreDir)
	code, restored := r.get(t, "/api/v1/orgs?limit=500", admin)
	if code != 200 || len(restored["items"].([]any)) != nOrgs {
		t.Errorf("restored copy: %d, %d organisations", code, len(restored["items"].([]any)))
	}
	code, v := r.get(t, "/api/v1/audit/verify", admin)
	if code != 200 || v["ok"] != true {
		t.Errorf("restored audit chain: %v", v)
	}
	r.stop(t)
}

func TestAuditVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	r := serve(t, "-data", dir, "-demo")
	r.stop(t)
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"audit", "verify", "-data", dir}, &out, &errb); code != 0 || !strings.Contains(out.String(), "intact") {
		t.Fatalf("verify intact: %d %s %s", code, out.String(), errb.String())
	}
	db, err := store.Open(filepath.Join(dir, store.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *store.Tx) error {
		var e audit.Event
		tx.GetJSON(audit.Events, store.U64(12), &e)
		e.Object = "org/999"
		return tx.PutJSON(audit.Events, store.U64(12), e)
	})
	db.Close()
	out.Reset()
	errb.Reset()
	if code := Main(context.Background(), []string{"audit", "verify", "-data", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "event 12") {
		t.Fatalf("verify tampered: %d %q", code, errb.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Fatalf("unknown command: %d %s", code, errb.String())
	}
	if code := Main(context.Background(), []string{"serve", "-bogus"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: %d", code)
	}
}
