package seals

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestSealLayoutFits lays out seals with organisation names of 1 to 24 characters (the demo's
// longest, 广元经济技术开发区行政审批局, has 14), a seal name and a 13-digit code, on the
// usual diameters: every character's box stays inside the ring and clear of the star, and no
// two boxes touch, so a long name is narrowed rather than run together or off the arc.
func TestSealLayoutFits(t *testing.T) {
	for _, d := range []float64{38, 40, 42, 45} {
		for n := 1; n <= 24; n++ {
			for _, name := range []string{"行政审批专用章", "合同专用章", strings.Repeat("章", 12)} {
				l := layoutSeal(d, []rune(strings.Repeat("局", n)), []rune(name), []rune("5108020012345"))
				where := fmt.Sprintf("%g mm, %d characters, seal name %s", d, n, name)
				checkLayout(t, where, l)
			}
		}
	}
}

// TestSealLayoutNarrowsLongNames checks the characters of a long name keep (nearly) their height
// and get narrower, to about half their height, and that a name of usual length is not squeezed.
func TestSealLayoutNarrowsLongNames(t *testing.T) {
	width := func(n int) (w, h float64) {
		l := layoutSeal(42, []rune(strings.Repeat("局", n)), nil, nil)
		return l.glyphs[0].w, l.glyphs[0].h
	}
	w8, h8 := width(8)
	w11, h11 := width(11)
	w14, h14 := width(14)
	if w8 < 5 || h8 != h11 || h14 < 0.95*h11 || !(w14 < w11 && w11 < w8) || w14 < h14/2-0.01 {
		t.Errorf("widths 8/11/14 characters: %.2f %.2f %.2f, heights %.2f %.2f %.2f", w8, w11, w14, h8, h11, h14)
	}
}

func checkLayout(t *testing.T, where string, l sealLayout) {
	t.Helper()
	boxes := make([][4]vec, len(l.glyphs))
	for i, g := range l.glyphs {
		boxes[i] = corners(g)
		for _, p := range boxes[i] {
			if r := math.Hypot(p.x-l.centre.x, p.y-l.centre.y); r > l.ringInner-0.2 {
				t.Errorf("%s: %c (%c #%d) reaches %.2f mm from the centre, the ring starts at %.2f", where, g.r, g.part, i, r, l.ringInner)
				return
			}
		}
		if dist := rectDistance(boxes[i], l.starCentre); dist < l.starR {
			t.Errorf("%s: %c (%c #%d) is %.2f mm from the star's centre, inside its %.2f", where, g.r, g.part, i, dist, l.starR)
			return
		}
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if overlap(boxes[i], boxes[j]) {
				t.Errorf("%s: the boxes of %c (%c #%d) and %c (%c #%d) overlap", where, l.glyphs[i].r, l.glyphs[i].part, i, l.glyphs[j].r, l.glyphs[j].part, j)
				return
			}
		}
	}
}

// rectDistance is the distance from p to the nearest point of the quadrilateral's edges.
func rectDistance(q [4]vec, p vec) float64 {
	best := math.Inf(1)
	for i := range q {
		a, b := q[i], q[(i+1)%4]
		ab := b.sub(a)
		t := ((p.x-a.x)*ab.x + (p.y-a.y)*ab.y) / (ab.x*ab.x + ab.y*ab.y)
		t = math.Max(0, math.Min(1, t))
		best = math.Min(best, math.Hypot(p.x-(a.x+ab.x*t), p.y-(a.y+ab.y*t)))
	}
	return best
}
