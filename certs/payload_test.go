package certs_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"certseal"
	"certseal/certs"
)

// TestQRText signs short URLs and checks them back: every character is in the QR alphanumeric
// set, the URL is short, the signature verifies with the right key only, and any change to the
// URL or the signature is caught.
func TestQRText(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct{ base, id, prefix string }{
		{"http://127.0.0.1:8080", "1", "HTTP://127.0.0.1:8080/V/1."},
		{"https://zwfw.cngy.gov.cn/", "12345", "HTTPS://ZWFW.CNGY.GOV.CN/V/C1P."},
		{"https://zwfw.cngy.gov.cn/certseal", "33", "HTTPS://ZWFW.CNGY.GOV.CN/certseal/V/11."},
	} {
		text, err := certs.QRText(key, tc.base, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(text, tc.prefix) || len(text) != len(tc.prefix)+103 {
			t.Errorf("QRText(%s, %s) = %q, want %s and 103 signature characters", tc.base, tc.id, text, tc.prefix)
		}
		if !strings.Contains(tc.base, "certseal") {
			for _, r := range text {
				if !strings.ContainsRune("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", r) {
					t.Errorf("%q has %q, outside the QR alphanumeric set", text, r)
				}
			}
		}
		if id, err := certs.VerifyQR(text, &key.PublicKey); err != nil || id != tc.id {
			t.Errorf("VerifyQR(%q) = %q, %v; want %s", text, id, err, tc.id)
		}
		if ref, _ := certs.ShortRef(tc.id); certs.ShortURL(tc.base, tc.id)+"."+text[len(tc.prefix):] != text || !strings.HasSuffix(tc.prefix, "/V/"+ref+".") {
			t.Errorf("ShortURL/ShortRef disagree with %q", text)
		}
		dot := strings.LastIndexByte(text, '.')
		bad := map[string]string{
			"other key":    "",
			"other ref":    strings.Replace(text, "/V/", "/V/2", 1),
			"other host":   strings.Replace(text, "://", "://X", 1),
			"sig changed":  text[:dot+10] + flip(text[dot+10]) + text[dot+11:],
			"sig cut":      text[:len(text)-8],
			"no signature": text[:dot],
			"not base32":   text[:dot+1] + strings.Repeat("1", 103),
		}
		for name, s := range bad {
			pub := &key.PublicKey
			if name == "other key" {
				s, pub = text, &other.PublicKey
			}
			if _, err := certs.VerifyQR(s, pub); certseal.ErrorCode(err) != certseal.EInvalid {
				t.Errorf("%s: VerifyQR(%q) = %v, want %s", name, s, err, certseal.EInvalid)
			}
		}
	}
	if _, err := certs.QRText(key, "http://x", "abc"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("QRText with a bad record id: %v", err)
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestParseShortRef reads the reference of a short URL back into the record id, in either case
// and with or without the signature, and refuses what is not a reference.
func TestParseShortRef(t *testing.T) {
	for _, tc := range []struct {
		ref, id string
		ok      bool
	}{
		{"C1P", "12345", true}, {"c1p", "12345", true}, {"C1P.ABCDEF", "12345", true}, {"1", "1", true},
		{"", "", false}, {"0", "", false}, {"W", "", false}, {"-1", "", false}, {"VVVVVVVVVVVVVV", "", false},
	} {
		id, err := certs.ParseShortRef(tc.ref)
		if tc.ok && (err != nil || id != tc.id) || !tc.ok && certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("ParseShortRef(%q) = %q, %v; want %q ok=%v", tc.ref, id, err, tc.id, tc.ok)
		}
	}
}
