package push_test

import (
	"testing"
	"time"

	"certseal/certs/push"
)

func TestDefaultBackoff(t *testing.T) {
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {10, 512 * time.Second}, {11, 10 * time.Minute}, {12, 10 * time.Minute}, {1000, 10 * time.Minute}} {
		if got := push.DefaultBackoff(c.attempt); got != c.want {
			t.Errorf("attempt %d: got %v, want %v", c.attempt, got, c.want)
		}
	}
}

func TestSignature(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"seq":1}`)
	sig := push.Sign(secret, body)
	// echo -n '{"seq":1}' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef
	if want := "sha256=644da0f98d5ad91d2c8642258f6baccaed5f4a925cc638f224b2f1d93c906a53"; sig != want {
		t.Fatalf("got %q, want %q", sig, want)
	}
	if !push.VerifySignature(secret, body, sig) {
		t.Fatal("own signature refused")
	}
	if push.VerifySignature(secret, []byte(`{"seq":2}`), sig) || push.VerifySignature([]byte("other"), body, sig) || push.VerifySignature(secret, body, "") {
		t.Fatal("a wrong signature accepted")
	}
	enc := push.EncodeSecret(secret)
	if dec, err := push.DecodeSecret(enc); err != nil || string(dec) != string(secret) {
		t.Fatalf("secret round trip: %q %v", dec, err)
	}
}
