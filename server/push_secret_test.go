package server_test

import (
	"bytes"
	"testing"

	"certseal/certs/push"
	"certseal/cmd/app/testenv"
	"certseal/seals"
)

// TestWebhookSecretSealedAtRest: the database never holds a webhook secret in clear; it is
// sealed under the master key like the seal keys.
func TestWebhookSecretSealedAtRest(t *testing.T) {
	e := testenv.Start(t)
	allowLoopback(t, e)
	var sub struct{ ID, Secret string }
	e.Must(201, "POST", "/api/v1/subscriptions", "lz-scj", map[string]any{"url": "http://127.0.0.1:9/hook"}).Decode(t, &sub)
	raw, err := push.DecodeSecret(sub.Secret)
	if err != nil || len(raw) != push.SecretBytes {
		t.Fatalf("secret %q: %v", sub.Secret, err)
	}
	if bytes.Contains(e.Snapshot(), raw) {
		t.Fatal("the database holds the webhook secret in clear")
	}
}

func TestKeyringBytes(t *testing.T) {
	k1, _ := seals.NewKeyring(bytes.Repeat([]byte{1}, 32))
	k2, _ := seals.NewKeyring(bytes.Repeat([]byte{2}, 32))
	box, err := k1.SealBytes([]byte("webhook secret"))
	if err != nil || !seals.IsSealedBytes(box) || bytes.Contains(box, []byte("webhook secret")) {
		t.Fatalf("sealed: %x %v", box, err)
	}
	if plain, err := k1.OpenBytes(box); err != nil || string(plain) != "webhook secret" {
		t.Fatalf("open: %q %v", plain, err)
	}
	if _, err := k2.OpenBytes(box); err == nil {
		t.Fatal("another master key opened the secret")
	}
	box[len(box)-1] ^= 1
	if _, err := k1.OpenBytes(box); err == nil {
		t.Fatal("a damaged secret opened")
	}
}
