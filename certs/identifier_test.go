package certs_test

import (
	"testing"

	"certseal/certs"
)

// The real identifiers quoted in domain.md.
var realIdentifiers = []string{
	"1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
	"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
}

func TestRealIdentifiersPass(t *testing.T) {
	for _, s := range realIdentifiers {
		id, err := certs.ParseIdentifier(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got := id.String(); got != s {
			t.Errorf("round trip: got %s, want %s", got, s)
		}
	}
}

func TestIdentifierRefusals(t *testing.T) {
	good := realIdentifiers[0]
	tests := map[string]string{
		"wrong check":     good[:len(good)-1] + "G",
		"changed serial":  "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430598.001.F",
		"changed version": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.002.F",
		"prefix":          "1.2.156.3005.3.11100000000013338W032.11220000013544541J.2430599.001.F",
		"short type":      "1.2.156.3005.2.11100000000013338W03.11220000013544541J.2430599.001.F",
		"lower case":      "1.2.156.3005.2.11100000000013338w032.11220000013544541J.2430599.001.F",
		"four segments":   "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.F",
		"version 000":     "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.000.F",
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.ParseIdentifier(s); err == nil {
				t.Fatalf("%s was accepted", s)
			}
		})
	}
}

// TestCheckCharDetectsSingleErrors changes every character of a body to every other character
// and checks that the check character always changes (MOD 37,36 detects all single
// substitutions).
func TestCheckCharDetectsSingleErrors(t *testing.T) {
	body := []byte("11100000000013338W03211220000013544541J2430599001")
	want := certs.CheckChar(string(body))
	if want != 'F' {
		t.Fatalf("check of the first real identifier: got %c, want F", want)
	}
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for i := range body {
		orig := body[i]
		for j := 0; j < len(alphabet); j++ {
			if alphabet[j] == orig {
				continue
			}
			body[i] = alphabet[j]
			if certs.CheckChar(string(body)) == want {
				t.Errorf("substituting %c at %d keeps the check character", alphabet[j], i)
			}
		}
		body[i] = orig
	}
}
