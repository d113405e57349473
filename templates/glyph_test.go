package templates_test

import (
	"errors"
	"testing"

	"certseal/templates"
)

func TestGlyphOutline(t *testing.T) {
	em, err := templates.GlyphUnitsPerEm()
	if err != nil || em <= 0 {
		t.Fatalf("units per em %d, %v", em, err)
	}
	for _, tc := range []struct {
		r      rune
		absent bool
	}{{'印', false}, {'章', false}, {'5', false}, {0xE000, true}, {0x10FFFD, true}} {
		g, err := templates.GlyphOutline(tc.r)
		if tc.absent {
			if !errors.Is(err, templates.ErrNoGlyph) {
				t.Errorf("%U: got %v, want ErrNoGlyph", tc.r, err)
			}
			continue
		}
		if err != nil || len(g.Segments) == 0 || g.Advance <= 0 || g.Advance > 2*float64(em) {
			t.Errorf("%q: got %d segments, advance %v, %v", tc.r, len(g.Segments), g.Advance, err)
		}
		again, _ := templates.GlyphOutline(tc.r)
		if &again.Segments[0] != &g.Segments[0] {
			t.Errorf("%q: the outline is not cached", tc.r)
		}
	}
}
