package main

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"certseal/cmd/app"
)

// TestServeLogsOnlyJSON: while serving, every line on stderr is a JSON object, including the
// lines of the log package's default logger and of the slog default (net/http's error log
// writes through the same handler).
func TestServeLogsOnlyJSON(t *testing.T) {
	oldSlog, oldOut, oldFlags := slog.Default(), log.Writer(), log.Flags()
	t.Cleanup(func() { slog.SetDefault(oldSlog); log.SetOutput(oldOut); log.SetFlags(oldFlags) })
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-nosync", "-data", t.TempDir()}, stdout, stderr)
	}()
	var url string
	for url == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s %s", code, stdout, stderr)
		case <-time.After(20 * time.Millisecond):
			if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
				url = m[1]
			}
		}
	}
	log.Printf("a stray log.Printf %d", 1)
	log.Println("a stray log.Println")
	slog.Warn("the slog default", "n", 2)
	resp, err := http.Get(url + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
	want := map[string]bool{"a stray log.Printf 1": false, "a stray log.Println": false, "the slog default": false, "request": false}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if msg, ok := m["msg"].(string); ok {
			if _, ok := want[msg]; ok {
				want[msg] = true
			}
		}
	}
	for msg, seen := range want {
		if !seen {
			t.Errorf("no JSON line %q in:\n%s", msg, stderr.String())
		}
	}
}

// logLines parses every line of a JSON log.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// TestRequestLogFields: a request's log line names the request id, the user and organisation
// ids, the route pattern and the duration; no token or password reaches the log; -log-level
// warn leaves the request lines out.
func TestRequestLogFields(t *testing.T) {
	oldSlog := slog.Default()
	t.Cleanup(func() { slog.SetDefault(oldSlog) })
	stderr := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	stdout := &syncBuffer{}
	done := make(chan int, 1)
	dir := t.TempDir()
	go func() {
		done <- Main(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-nosync", "-demo", "-data", dir}, stdout, stderr)
	}()
	var base string
	for base == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, stderr)
		case <-time.After(20 * time.Millisecond):
			if m := listenRE.FindStringSubmatch(stdout.String()); m != nil {
				base = m[1]
			}
		}
	}
	token := tokenOf(stdout.String(), "admin")
	req, _ := http.NewRequest("GET", base+"/api/v1/certificates/424242", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = http.PostForm(base+"/login", map[string][]string{"username": {"admin"}, "password": {"Pw-never-logged-2026"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d", code)
	}
	log := stderr.String()
	if strings.Contains(log, token) || strings.Contains(log, strings.TrimPrefix(token, "cst_")) || strings.Contains(log, "Pw-never-logged-2026") {
		t.Fatalf("a secret reached the log:\n%s", log)
	}
	found := false
	for _, m := range logLines(t, log) {
		if m["msg"] != "request" || m["route"] != "/api/v1/certificates/{id}" {
			continue
		}
		found = true
		for _, k := range []string{"request_id", "user_id", "org_id", "user"} {
			if s, _ := m[k].(string); s == "" {
				t.Errorf("request line without %s: %v", k, m)
			}
		}
		if _, ok := m["duration_ms"].(float64); !ok {
			t.Errorf("request line without duration_ms: %v", m)
		}
	}
	if !found {
		t.Fatalf("no request line with the route pattern:\n%s", log)
	}

	// -log-level warn: no request lines (info), the warnings still
	stderr2 := &syncBuffer{}
	ctx2, cancel2 := context.WithCancel(context.Background())
	stdout2 := &syncBuffer{}
	go func() {
		done <- Main(ctx2, []string{"serve", "-addr", "127.0.0.1:0", "-nosync", "-data", dir, "-log-level", "warn"}, stdout2, stderr2)
	}()
	base = ""
	for base == "" {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s", code, stderr2)
		case <-time.After(20 * time.Millisecond):
			if m := listenRE.FindStringSubmatch(stdout2.String()); m != nil {
				base = m[1]
			}
		}
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
	}
	slog.Warn("a warning at warn level")
	cancel2()
	<-done
	sawWarn := false
	for _, m := range logLines(t, stderr2.String()) {
		if m["level"] == "INFO" {
			t.Errorf("-log-level warn logged an info line: %v", m)
		}
		sawWarn = sawWarn || m["msg"] == "a warning at warn level"
	}
	if !sawWarn {
		t.Errorf("-log-level warn left out a warning:\n%s", stderr2.String())
	}
	var c app.Config
	fs, _ := serveFlags(io.Discard, &c)
	if err := parseLayered(fs, []string{"-log-level", "loud"}, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	if err := cmdServe(context.Background(), []string{"-log-level", "loud", "-data", t.TempDir()}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "log-level") {
		t.Errorf("-log-level loud: %v", err)
	}
}
