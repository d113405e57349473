package exchange_test

import (
	"net/url"
	"strconv"
	"testing"

	"certseal"
	"certseal/certs/exchange"
)

// FuzzParseRange: any query string is a range (upto above after, from before to) or a clean
// invalid_argument error naming the field; a cursor that parses prints back as itself.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"after=5&upto=9", "from=2026-03-01&to=2026-03-31", "after=18446744073709551615", "after=18446744073709551616", "upto=0", "from=2026-02-30", "after=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		r, err := exchange.ParseRange(v.Get)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("%q: %v", q, err)
			}
			return
		}
		if r.UpTo != 0 && r.UpTo <= r.After {
			t.Fatalf("%q: upto %d not above after %d", q, r.UpTo, r.After)
		}
		if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
			t.Fatalf("%q: from %v not before to %v", q, r.From, r.To)
		}
		if a := v.Get("after"); a != "" {
			if n, err := exchange.ParseSeq(a); err != nil || strconv.FormatUint(n, 10) != trimZeros(a) {
				t.Fatalf("after %q parsed as %d (%v)", a, n, err)
			}
		}
	})
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}
