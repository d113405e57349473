package main

import (
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
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
