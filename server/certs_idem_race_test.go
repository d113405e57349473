package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"

	"certseal/cmd/app/testenv"
)

// conflictBody is an error answer with its detail.
type conflictBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Detail  map[string]any `json:"detail"`
	} `json:"error"`
}

// issueConcurrently sends the same issue request n times at once, each with the idempotency key
// keys[i] ("" for none), and returns the answers.
func issueConcurrently(t *testing.T, e *testenv.Env, body any, keys []string) []*testenv.Response {
	t.Helper()
	raw, _ := json.Marshal(body)
	out := make([]*testenv.Response, len(keys))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, key := range keys {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/v1/certificates", bytes.NewReader(raw))
			req.Header.Set("Authorization", "Bearer "+e.Tokens["lizhou-clerk"])
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			<-start
			resp, err := e.HTTP.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			out[i] = &testenv.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
		})
	}
	close(start)
	wg.Wait()
	return out
}

// TestIdempotentRetryRace: retries sent while the first request with the same Idempotency-Key
// still runs always hear "the same request is in progress, retry" (409, detail retry=true), never
// that the blank form is taken; requests with other keys for the same blank form hear that the
// form is taken (detail blank_serial). Many rounds, since the order of the claims used to be
// random.
func TestIdempotentRetryRace(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	const rounds, retries = 12, 5
	inProgress := 0
	for round := range rounds {
		serial := fmt.Sprintf("SC%08d", 200+round)
		req := issueRequest(fs[round%len(fs)], seal, serial)
		keys := make([]string, retries)
		for i := range keys {
			keys[i] = fmt.Sprintf("window-1-round-%d", round)
		}
		created := 0
		for i, r := range issueConcurrently(t, e, req, keys) {
			if r == nil {
				continue
			}
			switch r.Status {
			case 201:
				created++
			case 200: // a replay after the first finished
				if r.Header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("round %d, request %d: 200 without Idempotent-Replayed", round, i)
				}
			case 409:
				var b conflictBody
				r.Decode(t, &b)
				if b.Error.Code != "conflict" || b.Error.Detail["retry"] != true || b.Error.Detail["blank_serial"] != nil {
					t.Errorf("round %d, request %d: a retry heard %s", round, i, r.Body)
				}
				inProgress++
			default:
				t.Errorf("round %d, request %d: %d %s", round, i, r.Status, r.Body)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d certificates made", round, created)
		}
	}
	if inProgress == 0 {
		t.Fatal("no retry overlapped the first request: the test proves nothing")
	}

	// other keys (or none) for one blank form: one is issued, the rest hear the form is taken
	req := issueRequest(fs[0], seal, "SC00000300")
	taken := 0
	for i, r := range issueConcurrently(t, e, req, []string{"a", "b", "", "c", ""}) {
		switch r.Status {
		case 201:
		case 409:
			var b conflictBody
			r.Decode(t, &b)
			if b.Error.Detail["blank_serial"] != "SC00000300" || b.Error.Detail["retry"] != nil {
				t.Errorf("request %d: %s", i, r.Body)
			}
			taken++
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if taken != 4 {
		t.Errorf("%d of 4 refused", taken)
	}
}
