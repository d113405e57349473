package templates

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"certseal/templates/fonts"
)

// ErrNoGlyph is the error GlyphOutline wraps for a character the Song/Ming face has no glyph for.
var ErrNoGlyph = errors.New("templates: the font has no glyph")

// Glyph is one character's outline in the Song/Ming face, in font units (the em is
// GlyphUnitsPerEm), y pointing down as golang.org/x/image/font/sfnt delivers it, with its
// advance width in font units. Segments is shared by every caller and must not be modified.
type Glyph struct {
	Segments []sfnt.Segment
	Advance  float64
}

// outlineFont is the Song/Ming face parsed for outlines once per process, with the outlines
// asked for so far.
var outlineFont struct {
	once sync.Once
	f    *sfnt.Font
	err  error

	mu     sync.Mutex
	glyphs map[rune]Glyph
}

func loadOutlineFont() (*sfnt.Font, error) {
	outlineFont.once.Do(func() {
		outlineFont.f, outlineFont.err = sfnt.Parse(fonts.SongShared())
		outlineFont.glyphs = make(map[rune]Glyph)
	})
	return outlineFont.f, outlineFont.err
}

// GlyphUnitsPerEm returns the size of the em of the Song/Ming face in font units (the unit of
// Glyph), or an error if the embedded font does not parse.
func GlyphUnitsPerEm() (int, error) {
	f, err := loadOutlineFont()
	if err != nil {
		return 0, fmt.Errorf("templates: parse font: %w", err)
	}
	return int(f.UnitsPerEm()), nil
}

// GlyphOutline returns the outline of r in the Song/Ming face that certificates are set in, from
// the font parsed once per process; outlines are cached per process, so the returned segments
// are shared and read-only. It is how other packages (the seal drawing) get at the font without
// parsing it themselves. The error wraps ErrNoGlyph when the face lacks r.
func GlyphOutline(r rune) (Glyph, error) {
	f, err := loadOutlineFont()
	if err != nil {
		return Glyph{}, fmt.Errorf("templates: parse font: %w", err)
	}
	outlineFont.mu.Lock()
	g, ok := outlineFont.glyphs[r]
	outlineFont.mu.Unlock()
	if ok {
		return g, nil
	}
	var buf sfnt.Buffer
	idx, err := f.GlyphIndex(&buf, r)
	if err != nil {
		return Glyph{}, fmt.Errorf("templates: glyph %q: %w", r, err)
	}
	if idx == 0 {
		return Glyph{}, fmt.Errorf("%w: %q", ErrNoGlyph, r)
	}
	ppem := fixed.I(int(f.UnitsPerEm()))
	segs, err := f.LoadGlyph(&buf, idx, ppem, nil)
	if err != nil {
		return Glyph{}, fmt.Errorf("templates: load glyph %q: %w", r, err)
	}
	adv, err := f.GlyphAdvance(&buf, idx, ppem, font.HintingNone)
	if err != nil {
		return Glyph{}, fmt.Errorf("templates: glyph advance %q: %w", r, err)
	}
	g = Glyph{Segments: append([]sfnt.Segment(nil), segs...), Advance: float64(adv) / 64}
	outlineFont.mu.Lock()
	outlineFont.glyphs[r] = g
	outlineFont.mu.Unlock()
	return g, nil
}
