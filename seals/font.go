package seals

import (
	"errors"
	"fmt"
	"sync"

	"certseal/templates/fonts"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// songFont is the parsed Song/Ming face, parsed once per process.
var songFont struct {
	once sync.Once
	f    *sfnt.Font
	err  error

	mu     sync.Mutex
	glyphs map[rune]glyph
}

var errNoGlyph = errors.New("seals: the font has no glyph")

// glyph is one character's outline in font units, y pointing down as sfnt delivers it, with
// its advance width.
type glyph struct {
	segs    []sfnt.Segment
	advance float64
}

func loadSong() (*sfnt.Font, error) {
	songFont.once.Do(func() {
		songFont.f, songFont.err = sfnt.Parse(fonts.SongShared())
		songFont.glyphs = make(map[rune]glyph)
	})
	return songFont.f, songFont.err
}

// outline returns the outline of r in font units (the em is unitsPerEm), cached per process.
func outline(r rune) (glyph, error) {
	f, err := loadSong()
	if err != nil {
		return glyph{}, fmt.Errorf("seals: parse font: %w", err)
	}
	songFont.mu.Lock()
	g, ok := songFont.glyphs[r]
	songFont.mu.Unlock()
	if ok {
		return g, nil
	}
	var buf sfnt.Buffer
	idx, err := f.GlyphIndex(&buf, r)
	if err != nil {
		return glyph{}, fmt.Errorf("seals: glyph %q: %w", r, err)
	}
	if idx == 0 {
		return glyph{}, fmt.Errorf("%w: %q", errNoGlyph, r)
	}
	ppem := fixed.I(int(f.UnitsPerEm()))
	segs, err := f.LoadGlyph(&buf, idx, ppem, nil)
	if err != nil {
		return glyph{}, fmt.Errorf("seals: load glyph %q: %w", r, err)
	}
	adv, err := f.GlyphAdvance(&buf, idx, ppem, font.HintingNone)
	if err != nil {
		return glyph{}, fmt.Errorf("seals: glyph advance %q: %w", r, err)
	}
	g = glyph{segs: append([]sfnt.Segment(nil), segs...), advance: float64(adv) / 64}
	songFont.mu.Lock()
	songFont.glyphs[r] = g
	songFont.mu.Unlock()
	return g, nil
}
