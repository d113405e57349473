package seals

import (
	"golang.org/x/image/font/sfnt"

	"certseal/templates"
)

// errNoGlyph is what outline's error wraps for a character the font lacks.
var errNoGlyph = templates.ErrNoGlyph

// glyph is one character's outline in font units, y pointing down as sfnt delivers it, with
// its advance width.
type glyph struct {
	segs    []sfnt.Segment
	advance float64
}

// outline returns the outline of r in font units (templates.GlyphUnitsPerEm), from the font that
// package templates parses once per process for all its users.
func outline(r rune) (glyph, error) {
	g, err := templates.GlyphOutline(r)
	if err != nil {
		return glyph{}, err
	}
	return glyph{segs: g.Segments, advance: g.Advance}, nil
}
