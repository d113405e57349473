package certs_test

import (
	"testing"

	"certseal"
	"certseal/certs"
)

// FuzzParseIdentifier: an identifier either parses to one whose String is the input (one
// spelling per identifier), or is refused with EInvalid. Seeds: valid identifiers and broken
// variants.
func FuzzParseIdentifier(f *testing.F) {
	ok := certs.Identifier{TypeCode: "11100000MB0143028K001", IssuerCode: certseal.MakeUSCC("11510802MB015123X"), Serial: "SC00000001", Version: 1}.String()
	for _, s := range []string{ok, ok[:len(ok)-1] + "0", "1.2.156.3005.2.", "1.2.156.3005.2.a.b.c.001.X",
		certs.Identifier{TypeCode: "11100000MB0143028K001", IssuerCode: "915108027890123456", Serial: "A", Version: 999}.String()} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := certs.ParseIdentifier(s)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			return
		}
		if got := id.String(); got != s {
			t.Fatalf("ParseIdentifier(%q).String() = %q", s, got)
		}
		if c := certs.CheckChar(s); c != 0 && c < '0' {
			t.Fatalf("CheckChar(%q) = %q", s, c)
		}
	})
}
