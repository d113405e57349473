package seals

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"sync"

	"certseal"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/vector"
)

// DefaultDiameterMM is the diameter of a county department's seal, used when an Appearance
// gives none.
const DefaultDiameterMM = 42

// Red is the seal's ink colour (close to the #E60012 of official seals).
var Red = color.NRGBA{R: 0xE6, G: 0x00, B: 0x12, A: 0xFF}

// Appearance is what a drawn seal shows. It is derived from the seal registry's data.
type Appearance struct {
	OrgName    string  // along the upper arc, clockwise, e.g. 利州区行政审批局
	SealName   string  // straight under the star, e.g. 行政审批专用章
	Code       string  // the 13-digit seal code along the bottom arc; may be empty
	DiameterMM float64 // 42 when zero
}

// Picture is a seal picture: either vector paths drawn by Draw, or an uploaded scan read by
// PictureFromPNG. A Picture is immutable and safe for concurrent use.
type Picture struct {
	w, h float64 // size in millimetres
	ops  []pathOp

	// scan is set for an uploaded PNG.
	scan *scanImage

	pdfOnce sync.Once
	pdfOps  []byte // the vector paths in mm as PDF operators, built once

	flateOnce sync.Once
	flate     []byte // pdfOps compressed for a FlateDecode stream
}

// pathOp is one path operator; coordinates are millimetres from the picture's lower-left
// corner, y pointing up.
type pathOp struct {
	kind byte // 'M', 'L', 'Q', 'C', 'Z'
	p    [3]vec
}

type vec struct{ x, y float64 }

func (a vec) add(b vec) vec        { return vec{a.x + b.x, a.y + b.y} }
func (a vec) scale(k float64) vec  { return vec{a.x * k, a.y * k} }
func polar(r, theta float64) vec   { return vec{r * math.Cos(theta), r * math.Sin(theta)} }
func deg(d float64) float64        { return d * math.Pi / 180 }
func lerp(a, b vec, t float64) vec { return vec{a.x + (b.x-a.x)*t, a.y + (b.y-a.y)*t} }
func (a vec) rot90() vec           { return vec{-a.y, a.x} }
func (a vec) neg() vec             { return vec{-a.x, -a.y} }
func (a vec) sub(b vec) vec        { return vec{a.x - b.x, a.y - b.y} }

// builder collects path operators.
type builder struct{ ops []pathOp }

func (b *builder) move(p vec)         { b.ops = append(b.ops, pathOp{kind: 'M', p: [3]vec{p}}) }
func (b *builder) line(p vec)         { b.ops = append(b.ops, pathOp{kind: 'L', p: [3]vec{p}}) }
func (b *builder) quad(c, p vec)      { b.ops = append(b.ops, pathOp{kind: 'Q', p: [3]vec{c, p}}) }
func (b *builder) cube(c1, c2, p vec) { b.ops = append(b.ops, pathOp{kind: 'C', p: [3]vec{c1, c2, p}}) }
func (b *builder) close()             { b.ops = append(b.ops, pathOp{kind: 'Z'}) }

// circle adds a full circle of radius r around c, counter-clockwise when ccw is true.
func (b *builder) circle(c vec, r float64, ccw bool) {
	const k = 0.5522847498307936 // 4/3*(sqrt(2)-1)
	dir := 1.0
	if !ccw {
		dir = -1
	}
	b.move(c.add(vec{r, 0}))
	for i := 0; i < 4; i++ {
		a0 := deg(float64(i) * 90 * dir)
		a1 := deg(float64(i+1) * 90 * dir)
		p0 := c.add(polar(r, a0))
		p1 := c.add(polar(r, a1))
		t0 := polar(r*k, a0).rot90().scale(dir)
		t1 := polar(r*k, a1).rot90().scale(dir)
		b.cube(p0.add(t0), p1.sub(t1), p1)
	}
	b.close()
}

// star adds a five-pointed star with outer radius r, one point up.
func (b *builder) star(c vec, r float64) {
	inner := r * math.Sin(deg(18)) / math.Sin(deg(126)) // the regular star's inner radius
	for i := 0; i < 10; i++ {
		rr := r
		if i%2 == 1 {
			rr = inner
		}
		p := c.add(polar(rr, deg(90+36*float64(i))))
		if i == 0 {
			b.move(p)
		} else {
			b.line(p)
		}
	}
	b.close()
}

// glyphBox is the part of a glyph's coordinate space (font units, y down) that is mapped onto
// the box a character is given on the seal.
type glyphBox struct{ x0, x1, top, bottom float64 }

// Boxes measured on AR PL UMing: the ink of ideographs spans about -880..90 below/above the
// baseline; digits about -704..-66 within a 512-unit advance.
func boxFor(r rune, advance float64) glyphBox {
	if r < 0x80 {
		return glyphBox{0, advance, -704, -66}
	}
	return glyphBox{0, advance, -880, 90}
}

// glyphAt adds the outline of r, scaled to w×h millimetres, centred on c, with its right
// pointing along right and its top along up (both unit vectors).
func (b *builder) glyphAt(r rune, c, right, up vec, w, h, bold float64) error {
	g, err := outline(r)
	if err != nil {
		return err
	}
	box := boxFor(r, g.advance)
	cx, cy := (box.x0+box.x1)/2, (box.top+box.bottom)/2
	sx, sy := w/(box.x1-box.x0), h/(box.bottom-box.top)
	tr := func(p vec) vec {
		u := (p.x - cx) * sx
		v := -(p.y - cy) * sy
		return c.add(right.scale(u)).add(up.scale(v))
	}
	for _, ct := range embolden(g.segs, bold) {
		b.move(tr(ct.start))
		for _, s := range ct.segs {
			switch s.op {
			case sfnt.SegmentOpLineTo:
				b.line(tr(s.p[0]))
			case sfnt.SegmentOpQuadTo:
				b.quad(tr(s.p[0]), tr(s.p[1]))
			case sfnt.SegmentOpCubeTo:
				b.cube(tr(s.p[0]), tr(s.p[1]), tr(s.p[2]))
			}
		}
		b.close()
	}
	return nil
}

// contour is one closed glyph contour in font units.
type contour struct {
	start vec
	segs  []contourSeg
}

type contourSeg struct {
	op sfnt.SegmentOp
	p  [3]vec
}

// embolden splits a glyph outline into contours and moves every point (on- and off-curve)
// outwards by delta font units, as FreeType's FT_Outline_Embolden does: each point moves along
// the bisector of its two edges' normals, to the ink's outside. The official seal's characters
// are heavier than a book face; this thickens the strokes by 2*delta.
func embolden(segs []sfnt.Segment, delta float64) []contour {
	var cs []contour
	for _, s := range segs {
		var p [3]vec
		for i, a := range s.Args {
			p[i] = vec{float64(a.X) / 64, float64(a.Y) / 64}
		}
		if s.Op == sfnt.SegmentOpMoveTo {
			cs = append(cs, contour{start: p[0]})
			continue
		}
		if len(cs) == 0 {
			continue
		}
		ct := &cs[len(cs)-1]
		ct.segs = append(ct.segs, contourSeg{op: s.Op, p: p})
	}
	if delta == 0 {
		return cs
	}
	// The orientation of the outer contours (the one with the largest area) tells which side of
	// travel is outside; holes run the other way, so the same rule pushes them into the hole.
	var bigArea float64
	for _, ct := range cs {
		if a := signedArea(ct.points()); math.Abs(a) > math.Abs(bigArea) {
			bigArea = a
		}
	}
	side := 1.0
	if bigArea < 0 {
		side = -1
	}
	for ci := range cs {
		pts := cs[ci].points()
		n := len(pts)
		if n < 3 {
			continue
		}
		moved := make([]vec, n)
		for i := range pts {
			prev, next := pts[(i+n-1)%n], pts[(i+1)%n]
			e1, e2 := pts[i].sub(prev), next.sub(pts[i])
			n1, n2 := normal(e1), normal(e2)
			bis := n1.add(n2)
			l := math.Hypot(bis.x, bis.y)
			if l < 1e-9 {
				moved[i] = pts[i]
				continue
			}
			// Scale so that each edge moves by delta, capping sharp corners (miter limit 2).
			cos := (n1.x*bis.x + n1.y*bis.y) / l
			k := delta / math.Max(cos, 0.5)
			moved[i] = pts[i].add(bis.scale(side * k / l))
		}
		cs[ci].setPoints(moved)
	}
	return cs
}

// normal returns the unit normal to the right of e in a y-down space (left in y-up), or zero.
func normal(e vec) vec {
	l := math.Hypot(e.x, e.y)
	if l < 1e-9 {
		return vec{}
	}
	return vec{e.y / l, -e.x / l}
}

// points lists the contour's points in order, without repeating the start at the end.
func (ct contour) points() []vec {
	pts := []vec{ct.start}
	for _, s := range ct.segs {
		switch s.op {
		case sfnt.SegmentOpLineTo:
			pts = append(pts, s.p[0])
		case sfnt.SegmentOpQuadTo:
			pts = append(pts, s.p[0], s.p[1])
		case sfnt.SegmentOpCubeTo:
			pts = append(pts, s.p[0], s.p[1], s.p[2])
		}
	}
	if len(pts) > 1 && pts[len(pts)-1] == pts[0] {
		pts = pts[:len(pts)-1]
	}
	return pts
}

// setPoints writes pts back in the order points returned them.
func (ct *contour) setPoints(pts []vec) {
	closed := len(ct.segs) > 0 && ct.lastPoint() == ct.start
	i := 0
	ct.start = pts[0]
	i++
	for si := range ct.segs {
		s := &ct.segs[si]
		m := map[sfnt.SegmentOp]int{sfnt.SegmentOpLineTo: 1, sfnt.SegmentOpQuadTo: 2, sfnt.SegmentOpCubeTo: 3}[s.op]
		for j := 0; j < m; j++ {
			if i == len(pts) && closed {
				s.p[j] = pts[0]
			} else if i < len(pts) {
				s.p[j] = pts[i]
			}
			i++
		}
	}
}

func (ct contour) lastPoint() vec {
	s := ct.segs[len(ct.segs)-1]
	switch s.op {
	case sfnt.SegmentOpQuadTo:
		return s.p[1]
	case sfnt.SegmentOpCubeTo:
		return s.p[2]
	}
	return s.p[0]
}

func signedArea(pts []vec) float64 {
	var a float64
	for i := range pts {
		j := (i + 1) % len(pts)
		a += pts[i].x*pts[j].y - pts[j].x*pts[i].y
	}
	return a / 2
}

// Draw returns the vector drawing of a round official seal: a red ring, a five-pointed star in
// the centre, the organisation name clockwise along the upper arc with each character upright
// (its top towards the rim), the seal's name in a straight line under the star, and the seal
// code along the bottom arc, read left to right with the digits' feet towards the rim. It
// returns a *certseal.Error (EInvalid) when the organisation name is empty or too long, the
// seal name too long, the code not made of up to 20 digits, the diameter out of 20..80 mm, or a
// character missing from the font.
func Draw(a Appearance) (*Picture, error) {
	d := a.DiameterMM
	if d == 0 {
		d = DefaultDiameterMM
	}
	org := []rune(strings.TrimSpace(a.OrgName))
	name := []rune(strings.TrimSpace(a.SealName))
	code := []rune(strings.TrimSpace(a.Code))
	switch {
	case d < 20 || d > 80 || math.IsNaN(d):
		return nil, certseal.Errorf(certseal.EInvalid, "印章直径必须在 20 至 80 毫米之间")
	case len(org) == 0:
		return nil, certseal.Errorf(certseal.EInvalid, "印章的单位名称不能为空")
	case len(org) > 24:
		return nil, certseal.Errorf(certseal.EInvalid, "印章的单位名称不能超过 24 个字")
	case len(name) > 12:
		return nil, certseal.Errorf(certseal.EInvalid, "印章名称不能超过 12 个字")
	case len(code) > 20:
		return nil, certseal.Errorf(certseal.EInvalid, "印章编码不能超过 20 位")
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return nil, certseal.Errorf(certseal.EInvalid, "印章编码只能由数字组成")
		}
	}
	l := layoutSeal(d, org, name, code)
	var b builder
	// The ring: outer circle counter-clockwise, inner clockwise, so the middle stays empty.
	b.circle(l.centre, l.ringOuter, true)
	b.circle(l.centre, l.ringInner, false)
	b.star(l.starCentre, l.starR)
	for _, g := range l.glyphs {
		if err := b.glyphAt(g.r, g.c, g.right, g.up, g.w, g.h, g.bold); err != nil {
			return nil, charErr(g.r, err)
		}
	}
	return &Picture{w: d, h: d, ops: b.ops}, nil
}

// sealLayout is where the parts of a drawn seal go, in millimetres from the lower-left corner.
type sealLayout struct {
	centre               vec
	ringOuter, ringInner float64 // radii of the ring's edges
	starCentre           vec
	starR                float64
	glyphs               []placedGlyph
}

// placedGlyph is one character of a seal: its box of w×h mm centred on c, its right and top
// along the unit vectors right and up, emboldened by bold font units. part says which text it
// belongs to: 'o' the organisation, 'n' the seal name, 'c' the code.
type placedGlyph struct {
	r         rune
	part      byte
	c         vec
	right, up vec
	w, h      float64
	bold      float64
}

// The organisation name on a 42 mm seal (the measures scale with the diameter). Like a seal
// maker, layoutSeal gives each character arcPitch degrees of the upper arc, a short name at least
// arcMinSpan in all; a long name gets more of the circle, up to arcMaxSpan (the rest is the
// code's, under the seal name), and beyond that narrower characters: compressed across the arc
// to fit between their neighbours, at full height down to half as wide as high, then lower too.
const (
	arcPitch   = 27.0  // degrees per character of a name of usual length
	arcMinSpan = 160.0 // degrees: the arc of a name of up to 6 characters
	arcMaxSpan = 240.0 // degrees: the longest arc, from the outer edges of the end characters
	arcFill    = 0.9   // share of the room between neighbours (at their inner edge) a character takes
)

// layoutSeal places the ring, the star and every character of a seal of diameter d mm.
func layoutSeal(d float64, org, name, code []rune) sealLayout {
	k := d / 42 // every measure below is for a 42 mm seal, scaled
	R := d / 2
	c := vec{R, R}
	ring := 1.2 * k
	l := sealLayout{centre: c, ringOuter: R - 0.05*k, ringInner: R - 0.05*k - ring,
		starCentre: c.add(vec{0, 0.6 * k}), starR: 7.0 * k}

	// The organisation name along the upper arc, clockwise, each character's top to the rim.
	n := float64(len(org))
	top := l.ringInner - 0.9*k // the tops of the characters
	span := math.Min(arcMaxSpan, math.Max(arcPitch*n, math.Min(40*n, arcMinSpan)))
	step := span / n
	charH := 6.6 * k
	var charW float64
	for {
		inner := top - charH // radius of the characters' feet, where neighbours are closest
		charW = math.Min(5.2*k, arcFill*2*inner*math.Sin(deg(step)/2))
		if charW >= charH/2 || charH <= 4.4*k {
			break
		}
		charH = math.Max(4.4*k, 2*charW) // lower characters leave more room at their feet
	}
	rText := top - charH/2
	first := 90 + span/2 - step/2
	for i, r := range org {
		theta := deg(first - step*float64(i))
		up := polar(1, theta)
		l.glyphs = append(l.glyphs, placedGlyph{r: r, part: 'o', c: c.add(polar(rText, theta)), right: up.rot90().neg(), up: up, w: charW, h: charH, bold: 22})
	}

	// The seal's name, straight under the star, condensed if its ends would touch the ends of a
	// long organisation name.
	if len(name) > 0 {
		h := 4.8 * k
		line := func(w float64) []placedGlyph {
			pitch := w + 0.25*k
			x0 := c.x - pitch*float64(len(name)-1)/2
			var gs []placedGlyph
			for i, r := range name {
				gs = append(gs, placedGlyph{r: r, part: 'n', c: vec{x0 + pitch*float64(i), c.y - 9.6*k}, right: vec{1, 0}, up: vec{0, 1}, w: w, h: h, bold: 20})
			}
			return gs
		}
		w := math.Min(3.9*k, 25*k/float64(len(name)))
		for w > 1.5*k && touches(line(w+0.6*k), l.glyphs) {
			w *= 0.95
		}
		l.glyphs = append(l.glyphs, line(w)...)
	}

	// The seal code along the bottom arc, left to right, feet towards the rim.
	if len(code) > 0 {
		h := 2.6 * k
		w := 1.6 * k
		rc := l.ringInner - 0.7*k - h/2
		stepC := 1.85 * k / rc * 180 / math.Pi // degrees per digit
		start := 270 - stepC*float64(len(code)-1)/2
		for i, r := range code {
			theta := deg(start + stepC*float64(i))
			up := polar(1, theta).neg() // towards the centre
			l.glyphs = append(l.glyphs, placedGlyph{r: r, part: 'c', c: c.add(polar(rc, theta)), right: up.rot90().neg(), up: up, w: w, h: h, bold: 14})
		}
	}
	return l
}

// touches reports whether a glyph box of the first list overlaps one of the second.
func touches(a, b []placedGlyph) bool {
	for _, g := range a {
		for _, o := range b {
			if overlap(corners(g), corners(o)) {
				return true
			}
		}
	}
	return false
}

// corners returns the four corners of a glyph's box.
func corners(g placedGlyph) [4]vec {
	rx, uy := g.right.scale(g.w/2), g.up.scale(g.h/2)
	return [4]vec{g.c.sub(rx).sub(uy), g.c.add(rx).sub(uy), g.c.add(rx).add(uy), g.c.sub(rx).add(uy)}
}

// overlap tells whether two convex quadrilaterals intersect (the separating axis theorem).
func overlap(a, b [4]vec) bool {
	for _, poly := range [2][4]vec{a, b} {
		for i := range poly {
			e := poly[(i+1)%4].sub(poly[i])
			axis := vec{-e.y, e.x}
			minA, maxA := project(a, axis)
			minB, maxB := project(b, axis)
			if maxA <= minB || maxB <= minA {
				return false
			}
		}
	}
	return true
}

// project returns the extent of the quadrilateral p along axis.
func project(p [4]vec, axis vec) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range p {
		d := v.x*axis.x + v.y*axis.y
		lo, hi = math.Min(lo, d), math.Max(hi, d)
	}
	return lo, hi
}

// charErr returns a *certseal.Error for a character missing from the font, and err itself for
// anything else (a font that does not parse).
func charErr(r rune, err error) error {
	if !errors.Is(err, errNoGlyph) {
		return err
	}
	return certseal.Errorf(certseal.EInvalid, "字库中没有字符“%c”，无法绘制印章", r).WithDetail("char", string(r))
}

// SizeMM returns the picture's width and height in millimetres.
func (p *Picture) SizeMM() (w, h float64) { return p.w, p.h }

// IsScan reports whether the picture is an uploaded scan rather than a drawing.
func (p *Picture) IsScan() bool { return p.scan != nil }

// SVG returns the picture as a standalone SVG document whose viewBox is in millimetres, with the
// multiply blend mode so that it lets what is under it show through like ink. A drawn seal is
// made of filled paths in the seal red; a scan is embedded as a PNG data URI. It never fails.
func (p *Picture) SVG() []byte {
	var s bytes.Buffer
	fw, fh := fmtNum(p.w), fmtNum(p.h)
	// mix-blend-mode: the seal is ink, text under it shows through where the SVG is laid over a page.
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%smm" height="%smm" viewBox="0 0 %s %s" style="mix-blend-mode:multiply">`, fw, fh, fw, fh)
	if p.scan != nil {
		s.WriteString(`<image width="` + fw + `" height="` + fh + `" preserveAspectRatio="none" href="data:image/png;base64,`)
		s.WriteString(b64(p.scan.png))
		s.WriteString(`"/></svg>`)
		return s.Bytes()
	}
	fmt.Fprintf(&s, `<path fill="#%02X%02X%02X" fill-rule="nonzero" d="`, Red.R, Red.G, Red.B)
	pt := func(v vec) {
		s.WriteString(fmtNum(v.x))
		s.WriteByte(' ')
		s.WriteString(fmtNum(p.h - v.y))
	}
	for i, o := range p.ops {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteByte(o.kind)
		switch o.kind {
		case 'M', 'L':
			pt(o.p[0])
		case 'Q':
			pt(o.p[0])
			s.WriteByte(' ')
			pt(o.p[1])
		case 'C':
			pt(o.p[0])
			s.WriteByte(' ')
			pt(o.p[1])
			s.WriteByte(' ')
			pt(o.p[2])
		}
	}
	s.WriteString(`"/></svg>`)
	return s.Bytes()
}

// PNG returns the picture rasterised at pxPerMM pixels per millimetre (12 gives about 300 dpi)
// on a transparent background. A scan is returned as uploaded when pxPerMM is 0, and rescaled
// otherwise. It returns an error when pxPerMM is negative or the image would exceed 8000 pixels
// a side.
func (p *Picture) PNG(pxPerMM float64) ([]byte, error) {
	if p.scan != nil && pxPerMM == 0 {
		return bytes.Clone(p.scan.png), nil
	}
	if pxPerMM == 0 {
		pxPerMM = 12
	}
	if pxPerMM < 0 || math.IsNaN(pxPerMM) || p.w*pxPerMM > 8000 || p.h*pxPerMM > 8000 {
		return nil, certseal.Errorf(certseal.EInvalid, "图片分辨率不正确")
	}
	dst := p.raster(pxPerMM)
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("seals: encode png: %w", err)
	}
	return out.Bytes(), nil
}

// raster returns the picture drawn at pxPerMM pixels per millimetre on a transparent
// background (pxPerMM already checked by the caller).
func (p *Picture) raster(pxPerMM float64) *image.RGBA {
	wpx, hpx := int(math.Ceil(p.w*pxPerMM)), int(math.Ceil(p.h*pxPerMM))
	dst := image.NewRGBA(image.Rect(0, 0, wpx, hpx))
	if p.scan != nil {
		scaleNearest(dst, p.scan.img)
	} else {
		r := vector.NewRasterizer(wpx, hpx)
		tr := func(v vec) (float32, float32) {
			return float32(v.x * pxPerMM), float32((p.h - v.y) * pxPerMM)
		}
		for _, o := range p.ops {
			switch o.kind {
			case 'M':
				r.MoveTo(tr(o.p[0]))
			case 'L':
				r.LineTo(tr(o.p[0]))
			case 'Q':
				x1, y1 := tr(o.p[0])
				x2, y2 := tr(o.p[1])
				r.QuadTo(x1, y1, x2, y2)
			case 'C':
				x1, y1 := tr(o.p[0])
				x2, y2 := tr(o.p[1])
				x3, y3 := tr(o.p[2])
				r.CubeTo(x1, y1, x2, y2, x3, y3)
			case 'Z':
				r.ClosePath()
			}
		}
		r.Draw(dst, dst.Bounds(), image.NewUniform(Red), image.Point{})
	}
	return dst
}

// scaleNearest draws src over the whole of dst with nearest-neighbour sampling.
func scaleNearest(dst *image.RGBA, src image.Image) {
	sb, db := src.Bounds(), dst.Bounds()
	for y := 0; y < db.Dy(); y++ {
		sy := sb.Min.Y + y*sb.Dy()/db.Dy()
		for x := 0; x < db.Dx(); x++ {
			sx := sb.Min.X + x*sb.Dx()/db.Dx()
			dst.Set(x, y, src.At(sx, sy))
		}
	}
}

// PDFOps returns PDF content-stream operators that draw the picture scaled uniformly into the
// square box of side size points whose lower-left corner is (x, y) in the current user space,
// centred in it. A drawn seal becomes filled vector paths in the seal red (no font needed); a
// scan is painted as the image XObject named /SealImage, which the caller must provide in the
// resources (SignPDF does). The operators are wrapped in q/Q. It never fails.
func (p *Picture) PDFOps(x, y, size float64) []byte {
	scale := size / math.Max(p.w, p.h)
	ox := x + (size-p.w*scale)/2
	oy := y + (size-p.h*scale)/2
	var s bytes.Buffer
	s.WriteString("q\n")
	if p.scan != nil {
		fmt.Fprintf(&s, "%s 0 0 %s %s %s cm\n/SealImage Do\nQ\n", fmtNum(p.w*scale), fmtNum(p.h*scale), fmtNum(ox), fmtNum(oy))
		return s.Bytes()
	}
	fmt.Fprintf(&s, "%s 0 0 %s %s %s cm\n", fmtNum(scale), fmtNum(scale), fmtNum(ox), fmtNum(oy))
	s.Write(p.vectorOps())
	s.WriteString("Q\n")
	return s.Bytes()
}

// vectorOps returns the paths in millimetres as PDF operators with the fill colour set, built
// once per picture.
func (p *Picture) vectorOps() []byte {
	p.pdfOnce.Do(func() {
		var s bytes.Buffer
		fmt.Fprintf(&s, "%s %s %s rg\n", fmtNum(float64(Red.R)/255), fmtNum(float64(Red.G)/255), fmtNum(float64(Red.B)/255))
		var cur vec
		pt := func(v vec) {
			s.WriteString(fmtNum(v.x))
			s.WriteByte(' ')
			s.WriteString(fmtNum(v.y))
			s.WriteByte(' ')
		}
		for _, o := range p.ops {
			switch o.kind {
			case 'M':
				pt(o.p[0])
				s.WriteString("m\n")
				cur = o.p[0]
			case 'L':
				pt(o.p[0])
				s.WriteString("l\n")
				cur = o.p[0]
			case 'Q': // PDF has only cubic curves: raise the degree
				c1 := lerp(cur, o.p[0], 2.0/3)
				c2 := lerp(o.p[1], o.p[0], 2.0/3)
				pt(c1)
				pt(c2)
				pt(o.p[1])
				s.WriteString("c\n")
				cur = o.p[1]
			case 'C':
				pt(o.p[0])
				pt(o.p[1])
				pt(o.p[2])
				s.WriteString("c\n")
				cur = o.p[2]
			case 'Z':
				s.WriteString("h\n")
			}
		}
		s.WriteString("f\n")
		p.pdfOps = s.Bytes()
	})
	return p.pdfOps
}

// flateOps returns vectorOps compressed with zlib (PDF's FlateDecode), built once.
func (p *Picture) flateOps() []byte {
	p.flateOnce.Do(func() { p.flate = deflate(p.vectorOps()) })
	return p.flate
}

// fmtNum formats v with at most three decimals and no exponent, as PDF and SVG both accept.
func fmtNum(v float64) string {
	s := strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}
