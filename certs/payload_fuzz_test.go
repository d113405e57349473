package certs_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"certseal/certs"
	"certseal/seals"
)

// FuzzVerifyQR feeds VerifyQR changed QR texts of a P-256 (PDF) and an SM2 (OFD-only) seal: it
// never panics, and whatever it accepts under a key keeps the URL that key signed.
func FuzzVerifyQR(f *testing.F) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	sm, err := seals.SM2.NewKey()
	if err != nil {
		f.Fatal(err)
	}
	keys := []crypto.Signer{ec, sm}
	signed := make([]string, len(keys))
	for i, k := range keys {
		if signed[i], err = certs.QRText(k, "https://zwfw.example.gov.cn", "417"); err != nil {
			f.Fatal(err)
		}
		f.Add(signed[i])
		f.Add(strings.Replace(signed[i], "/V/", "/V/1", 1))
	}
	f.Add("HTTP://X/V/.")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			return
		}
		for i, k := range keys {
			if _, err := certs.VerifyQR(text, k.Public().(*ecdsa.PublicKey)); err != nil {
				continue
			}
			dot := strings.LastIndexByte(text, '.')
			if want := signed[i][:strings.LastIndexByte(signed[i], '.')]; text[:dot] != want {
				t.Fatalf("key %d accepts %q, whose URL %q it never signed (it signed %q)", i, text, text[:dot], want)
			}
		}
	})
}
