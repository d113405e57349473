package certseal_test

import (
	"testing"

	"certseal"
)

// FuzzCheckUSCC: a unified social credit code is valid exactly when it is its first 17
// characters with their check character (and a valid area code); anything else is EInvalid,
// never a panic. Seeds: valid codes, a wrong check character, lower case, non-ASCII.
func FuzzCheckUSCC(f *testing.F) {
	for _, s := range []string{certseal.MakeUSCC("11510802MB015123X"), certseal.MakeUSCC("91510802789012345"), "91510802789012345X",
		"9151080278901234 5", "915108027890123456", "11510802mb015123x0", "统一社会信用代码"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := certseal.CheckUSCC(s)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			return
		}
		if len(s) != 18 || certseal.MakeUSCC(s[:17]) != s || !certseal.ValidAreaCode(s[2:8]) {
			t.Fatalf("CheckUSCC accepts %q", s)
		}
	})
}
