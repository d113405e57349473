package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServePushAllow: CERTSEAL_PUSH_ALLOW (or -push-allow) opens private ranges to webhooks;
// without it they are refused; a bad entry stops serve with a message naming it.
func TestServePushAllow(t *testing.T) {
	var errb bytes.Buffer
	code := Main(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-nosync", "-data", t.TempDir(), "-push-allow", "10.0.0.0/8,hook_1.gov.cn"}, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), "hook_1.gov.cn") {
		t.Fatalf("a bad allow entry: exit %d, %s", code, errb.String())
	}

	t.Setenv("CERTSEAL_PUSH_ALLOW", "10.0.0.0/8")
	r := serve(t, "-data", t.TempDir(), "-demo")
	defer r.stop(t)
	token := tokenOf(r.out.String(), "scj")
	for _, c := range []struct {
		url  string
		want int
	}{{"http://10.1.2.3/hook", 201}, {"http://192.168.1.1/hook", 400}, {"http://127.0.0.1:9/hook", 400}} {
		req, _ := http.NewRequest("POST", r.url+"/api/v1/subscriptions", strings.NewReader(`{"url":"`+c.url+`"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s with CERTSEAL_PUSH_ALLOW=10.0.0.0/8: %d, want %d", c.url, resp.StatusCode, c.want)
		}
	}
}
