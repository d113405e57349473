package app_test

import (
	"testing"

	"certseal"
	"certseal/cmd/app"
	"certseal/seals"
)

// TestTSAConfig: the TSA and PAdES settings are checked at start; the default level with a TSA
// is B-LT, and none without.
func TestTSAConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		c     app.Config
		code  string
		level seals.Level
	}{
		"none":               {c: app.Config{}, level: ""},
		"builtin":            {c: app.Config{TSA: "builtin"}, level: seals.LevelBLT},
		"builtin B-LTA":      {c: app.Config{TSA: "builtin", PAdESLevel: "b-lta"}, level: seals.LevelBLTA},
		"B-B without a TSA":  {c: app.Config{PAdESLevel: "B-B"}, level: seals.LevelBB},
		"B-T without a TSA":  {c: app.Config{PAdESLevel: "B-T"}, code: certseal.EInvalid},
		"bad level":          {c: app.Config{TSA: "builtin", PAdESLevel: "B-X"}, code: certseal.EInvalid},
		"bad URL":            {c: app.Config{TSA: "ftp://tsa"}, code: certseal.EInvalid},
		"URL without its CA": {c: app.Config{TSA: "https://tsa.example.gov.cn/tsr"}, code: certseal.EInvalid},
		"URL with a bad CA":  {c: app.Config{TSA: "https://tsa.example.gov.cn/tsr", TSACA: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")}, code: certseal.EInvalid},
	} {
		t.Run(name, func(t *testing.T) {
			c := tc.c
			c.Data, c.NoSync = t.TempDir(), true
			a, err := app.Open(c)
			if tc.code != "" {
				if certseal.ErrorCode(err) != tc.code {
					t.Fatalf("got %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if l, ts := a.Seals.LongTermSetting(); l != tc.level || (c.TSA == "builtin") != (ts != nil) {
				t.Errorf("level %q, TSA %v; want %q", l, ts, tc.level)
			}
		})
	}
}
