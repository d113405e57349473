// Package tsahttp carries RFC 3161 over HTTP (RFC 3161 §3.4): a Client that asks a time-stamp
// authority for a token and checks it, and Handler, which serves an authority.
package tsahttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"
	"time"

	"certseal/internal/tsa"
)

// Content types of RFC 3161 §3.4.
const (
	QueryType = "application/timestamp-query"
	ReplyType = "application/timestamp-reply"
)

// DefaultTimeout is how long a Client waits for a token when its Timeout is zero.
const DefaultTimeout = 5 * time.Second

// Client asks the TSA at URL for timestamps.
type Client struct {
	URL string
	// Roots are the CA certificates the TSA's certificate must chain to; nil accepts any TSA
	// certificate whose token verifies (the verifier checks the chain later).
	Roots   *x509.CertPool
	Timeout time.Duration
	HTTP    *http.Client // nil: a client without redirects
}

// Name returns the TSA's address, for /readyz and the logs.
func (c *Client) Name() string { return c.URL }

// Timestamp returns a token over digest (of hash h) from the TSA, after checking the status,
// the nonce, the message imprint, the token's signature and, with Roots, the TSA's chain. Every
// failure (no answer within the timeout, an HTTP error, garbage, a wrong imprint or nonce)
// returns tsa.Unavailable's error.
func (c *Client) Timestamp(ctx context.Context, h tsa.Hash, digest []byte) ([]byte, error) {
	tok, err := c.timestamp(ctx, h, digest)
	if err != nil {
		return nil, tsa.Unavailable(err)
	}
	return tok, nil
}

func (c *Client) timestamp(ctx context.Context, h tsa.Hash, digest []byte) ([]byte, error) {
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return nil, err
	}
	req, err := tsa.NewRequest(h, digest, nonce)
	if err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", QueryType)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("TSA answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, tsa.MaxTokenBytes+1))
	if err != nil {
		return nil, err
	}
	tok, err := tsa.ParseResponse(body)
	if err != nil {
		return nil, err
	}
	info, err := tsa.Verify(tok, h, digest, c.Roots)
	if err != nil {
		return nil, err
	}
	if info.Nonce == nil || info.Nonce.Cmp(nonce) != 0 {
		return nil, errors.New("the token's nonce is not the request's")
	}
	if c.Roots != nil && !info.Trusted {
		return nil, fmt.Errorf("the TSA's certificate is not trusted: %s", info.TrustError)
	}
	return tok, nil
}

// Responder answers a DER time-stamp request with a DER response; *tsa.Authority is one.
type Responder interface {
	Respond(req []byte) ([]byte, error)
}

// Handler serves r over HTTP: POST with Content-Type application/timestamp-query and a body of
// at most 4 KiB; the answer is application/timestamp-reply. Anything else is 405 or 415; an
// authority that cannot sign answers 503.
func Handler(r Responder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			http.Error(w, "POST a time-stamp query", http.StatusMethodNotAllowed)
			return
		}
		if ct := strings.TrimSpace(strings.Split(req.Header.Get("Content-Type"), ";")[0]); ct != QueryType {
			http.Error(w, "Content-Type must be "+QueryType, http.StatusUnsupportedMediaType)
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, 4097))
		if err != nil || len(body) > 4096 {
			http.Error(w, "query too large", http.StatusRequestEntityTooLarge)
			return
		}
		out, err := r.Respond(body)
		if err != nil {
			http.Error(w, "time-stamp authority unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", ReplyType)
		w.Write(out)
	})
}
