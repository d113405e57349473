package server_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
)

// readmePushSection returns the README's "Result push and batch issuance" section.
func readmePushSection(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(raw), "### Result push")
	if !ok {
		t.Fatal("README.md has no section \"### Result push\"")
	}
	sec, _, _ = strings.Cut(sec, "\n### ")
	return sec
}

// TestWebhookSignatureAsDocumented receives a real delivery and verifies its signature exactly
// as the README says: the text after whsec_, decoded as unpadded URL-safe base64, is the
// 32-byte key of an HMAC-SHA256 over the raw body, written sha256=<hex>. It also compiles and
// runs the README's Go receiver function on the same delivery.
func TestWebhookSignatureAsDocumented(t *testing.T) {
	sec := readmePushSection(t)
	for _, phrase := range []string{"whsec_", "unpadded URL-safe base64", "32 bytes", "HMAC-SHA256", "raw request body", "`sha256=`", "X-Certseal-Signature"} {
		if !strings.Contains(sec, phrase) {
			t.Errorf("the README's result push section does not say %q", phrase)
		}
	}
	_, snippet, ok := strings.Cut(sec, "```go\n")
	snippet, _, ok2 := strings.Cut(snippet, "```")
	if !ok || !ok2 {
		t.Fatal("the README's result push section has no Go receiver example")
	}

	e := testenv.Start(t)
	allowLoopback(t, e)
	var (
		mu     sync.Mutex
		body   []byte
		header string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if body == nil {
			body, header = b, r.Header.Get("X-Certseal-Signature")
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	var sub struct{ Secret string }
	e.Must(201, "POST", "/api/v1/subscriptions", "admin", map[string]any{"url": srv.URL + "/hook"}).Decode(t, &sub)
	seal := sealOf(t, e, "lizhou-clerk")
	issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	waitFor(t, "a delivery", func() bool { mu.Lock(); defer mu.Unlock(); return body != nil })

	// the documented steps, one by one
	text, ok := strings.CutPrefix(sub.Secret, "whsec_")
	if !ok || len(text) != 43 || strings.ContainsAny(text, "=+/") {
		t.Fatalf("secret %q is not whsec_ and 43 characters of unpadded URL-safe base64", sub.Secret)
	}
	key, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(key) != 32 {
		t.Fatalf("decoding %q: %d bytes, %v", text, len(key), err)
	}
	sign := func(key, body []byte) string {
		mac := hmac.New(sha256.New, key)
		mac.Write(body)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	if got := sign(key, body); !hmac.Equal([]byte(got), []byte(header)) {
		t.Fatalf("the documented steps give %s, the delivery carries %s", got, header)
	}
	// the secret as shown is not the key (what "HMAC with the secret" suggested)
	if sign([]byte(sub.Secret), body) == header || sign([]byte(text), body) == header {
		t.Fatal("the text of the secret signs the body: the README's decoding step would be wrong")
	}

	// the README's Go function, compiled as it stands, says yes to the delivery and no to a
	// changed body
	fixtures.NeedTool(t, "go", "golang-go")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "verify.go"), []byte(snippet), 0o600)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte(`package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	body, _ := io.ReadAll(os.Stdin)
	fmt.Print(verify(os.Args[1], body, os.Args[2]))
}
`), 0o600)
	build := exec.Command("go", "build", "-o", "verify", "verify.go", "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("the README's Go example does not compile: %v\n%s\n%s", err, out, snippet)
	}
	for _, c := range []struct {
		body []byte
		want string
	}{{body, "true"}, {append(bytes.Clone(body), ' '), "false"}} {
		run := exec.Command(filepath.Join(dir, "verify"), sub.Secret, header)
		run.Stdin = bytes.NewReader(c.body)
		out, err := run.Output()
		if err != nil || string(out) != c.want {
			t.Errorf("the README's verify on a %d-byte body: %q %v, want %s", len(c.body), out, err, c.want)
		}
	}
}
