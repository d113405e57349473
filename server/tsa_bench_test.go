package server_test

import (
	"testing"

	"certseal/cmd/app/testenv"
)

// BenchmarkIssueHTTPTSA is BenchmarkIssueHTTP without a TSA and with the built-in one (B-LT,
// the default with a TSA, and B-LTA), in one run so that the figures compare:
//
//	go test -run xxx -bench BenchmarkIssueHTTPTSA -benchtime 2000x ./server/
func BenchmarkIssueHTTPTSA(b *testing.B) {
	for _, c := range []struct{ name, tsa, level string }{
		{"none", "", ""},
		{"builtin-B-LT", "builtin", ""},
		{"builtin-B-LTA", "builtin", "B-LTA"},
	} {
		b.Run(c.name, func(b *testing.B) { issueHTTP(b, testenv.Options{Sync: true, TSA: c.tsa, PAdESLevel: c.level}) })
	}
}
