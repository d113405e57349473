package seals_test

import (
	"strings"
	"testing"

	"certseal"
	"certseal/seals"
)

// TestDrawBanner: a purpose stamp is as wide as its longest line and as high as its lines, and
// bad text is refused with EInvalid.
func TestDrawBanner(t *testing.T) {
	one, err := seals.DrawBanner([]string{"仅供开户使用"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	two, err := seals.DrawBanner([]string{"仅供开户使用", "仅供开户使用仅供开户使用"}, 5)
	if err != nil {
		t.Fatal(err)
	}
	w1, h1 := one.SizeMM()
	w2, h2 := two.SizeMM()
	// Six ideographs of 5 mm and the padding; twelve on the second line double the text width.
	if w1 < 30 || w1 > 40 || w2-w1 < 29 || w2-w1 > 31 || h2-h1 < 7 || h2-h1 > 7.5 {
		t.Fatalf("sizes %.1f×%.1f and %.1f×%.1f mm", w1, h1, w2, h2)
	}
	if !strings.Contains(string(two.SVG()), "<path") {
		t.Fatal("the banner draws no paths")
	}
	for name, lines := range map[string][]string{
		"empty":    {" ", ""},
		"too long": {strings.Repeat("长", seals.MaxBannerLineLen+1)},
		"too many": strings.Split(strings.Repeat("行\n", seals.MaxBannerLines+1), "\n"),
		"no glyph": {"\U0001F600"},
	} {
		if _, err := seals.DrawBanner(lines, 5); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%s: got %v, want invalid_argument", name, err)
		}
	}
	if _, err := seals.DrawBanner([]string{"甲"}, 50); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Errorf("50 mm characters: got %v", err)
	}
}

// TestPageSize reads the size of a page and refuses junk and missing pages.
func TestPageSize(t *testing.T) {
	if _, _, err := seals.PageSize([]byte("%PDF-1.7 junk"), 1); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("junk: %v", err)
	}
}
