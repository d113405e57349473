package templates

import (
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"certseal"
)

// Mode says which of the two outputs of a certificate Render produces.
type Mode int

const (
	// Full is the whole e-certificate: background, labels, values, licence number and QR code.
	// The seal is not drawn: package seals stamps it at Template.Seal while signing.
	Full Mode = iota
	// Overlay (套打) carries only the values, and the licence number and QR code when the
	// template's overlay options ask for them, shifted by the printer calibration offset, for
	// printing onto a pre-printed blank form.
	Overlay
)

// String returns "full" or "overlay".
func (m Mode) String() string {
	if m == Overlay {
		return "overlay"
	}
	return "full"
}

// Document is what one certificate PDF is made of.
type Document struct {
	Values        map[string]string // field name -> value
	LicenceNumber string            // the printed licence number (证照编号)
	QRPayload     string            // encoded in the QR code; none is drawn if empty
	Mode          Mode
	OffsetX       float64   // mm to the right, overlay only (printer calibration)
	OffsetY       float64   // mm down, overlay only
	Created       time.Time // the PDF creation date; the same inputs and date give the same bytes
	Title         string    // PDF metadata title; the template name if empty
}

// Renderer renders certificates. The embedded font is parsed once per process and shared
// read-only; every document gets a subset font of its own, so one Renderer may be used by any
// number of goroutines at once.
type Renderer struct {
	producer string
}

// NewRenderer returns a Renderer. It starts parsing the embedded font in the background; a
// failure to parse it is reported by Render.
func NewRenderer() *Renderer {
	go loadFont() //nolint:errcheck // the error is returned by Render
	return &Renderer{producer: "certseal"}
}

// Render lays out d on t and returns the PDF bytes. It checks the values first and draws
// nothing if they fail. It returns a *certseal.Error with code EInvalid and a Chinese message
// naming the field when a value fails CheckValues, when a value does not fit its box even at
// the template's minimum font size, when the licence number is given twice with two values or
// cannot be drawn, or when the QR payload is too long; and an error with code EInternal if the
// font cannot be loaded or the PDF cannot be written.
func (r *Renderer) Render(t *Template, d Document) ([]byte, error) {
	p, err := r.plan(t, d)
	if err != nil {
		return nil, err
	}
	return p.write(r.producer, d)
}

type shape struct {
	kind     byte // 'b' border rect, 'l' line, 'e' emblem
	x, y     float64
	w, h     float64
	lw       float64
	color    [3]int
	double   bool
	gap      float64
	diameter float64
}

type page struct {
	t      *Template
	font   *fontIndex
	shapes []shape
	runs   []textRun
	qr     []byte
	title  string
}

var black = [3]int{0, 0, 0}

func colorOr(s string, def [3]int) [3]int {
	if c, ok := parseColor(s); ok {
		return c
	}
	return def
}

// plan checks everything and lays out the page; write then draws it.
func (r *Renderer) plan(t *Template, d Document) (*page, error) {
	if t == nil {
		return nil, invalid("没有指定模板")
	}
	if t.fieldByName == nil {
		if err := t.Validate(); err != nil {
			return nil, err
		}
	}
	font, err := loadFont()
	if err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
	}
	if err := t.CheckValues(d.Values); err != nil {
		return nil, err
	}
	number := d.LicenceNumber
	if t.Number != nil && t.Number.Field != "" {
		if v := d.Values[t.Number.Field]; v != "" {
			if number != "" && number != v {
				return nil, invalid("证照编号“%s”与字段“%s”的值“%s”不一致", number, t.Number.Field, v).WithDetail("field", t.Number.Field)
			}
			number = v
		}
	}
	if err := checkChars(font, "证照编号", number, false); err != nil {
		return nil, err
	}
	if math.IsNaN(d.OffsetX) || math.IsNaN(d.OffsetY) || math.Abs(d.OffsetX) > 30 || math.Abs(d.OffsetY) > 30 {
		return nil, invalid("套打偏移量无效（每个方向不超过30毫米）").WithDetail("offset", fmt.Sprintf("%g,%g", d.OffsetX, d.OffsetY))
	}

	p := &page{t: t, font: font, title: d.Title}
	if p.title == "" {
		p.title = t.Name
	}
	minSize := t.MinFontSize
	if minSize == 0 {
		minSize = DefaultMinFontSize
	}
	dx, dy := 0.0, 0.0
	full := d.Mode != Overlay
	if !full {
		dx, dy = d.OffsetX, d.OffsetY
	}
	shift := func(b Box) Box { b.X += dx; b.Y += dy; return b }
	valueColor := colorOr(t.Color, black)
	place := func(name, text string, b Box, c [3]int) error {
		runs, ok := font.fit(text, shift(b), minSize, c)
		if !ok {
			return invalid("字段“%s”的内容过长，缩小到%g磅仍放不下", name, minSize).WithDetail("field", name)
		}
		p.runs = append(p.runs, runs...)
		return nil
	}

	if full {
		for _, e := range t.Background {
			c := colorOr(e.Color, black)
			lw := e.LineWidth
			if lw == 0 {
				lw = 0.3
			}
			switch e.Type {
			case "border":
				p.shapes = append(p.shapes, shape{kind: 'b', x: e.X, y: e.Y, w: e.W, h: e.H, lw: lw, color: c, double: e.Double, gap: e.Gap})
			case "line":
				p.shapes = append(p.shapes, shape{kind: 'l', x: e.X, y: e.Y, w: e.X2, h: e.Y2, lw: lw, color: c})
			case "emblem":
				p.shapes = append(p.shapes, shape{kind: 'e', x: e.X, y: e.Y, diameter: e.Diameter,
					color: colorOr(e.Color, [3]int{200, 16, 46})})
			case "text":
				if err := place(e.Text, e.Text, *e.Box, c); err != nil {
					return nil, err
				}
			}
		}
		for _, f := range t.Fields {
			if f.LabelBox == nil {
				continue
			}
			label := f.Label
			if label == "" {
				label = f.Name
			}
			if err := place("标签"+label, label, *f.LabelBox, black); err != nil {
				return nil, err
			}
		}
		if t.Number != nil && t.Number.LabelBox != nil {
			if err := place("标签"+t.Number.Label, t.Number.Label, *t.Number.LabelBox, black); err != nil {
				return nil, err
			}
		}
		if t.QR != nil && t.QR.CaptionBox != nil && t.QR.Caption != "" {
			if err := place("二维码说明", t.QR.Caption, *t.QR.CaptionBox, black); err != nil {
				return nil, err
			}
		}
	}
	for i := range t.Fields {
		f := &t.Fields[i]
		v := d.Values[f.Name]
		if v == "" {
			continue
		}
		if err := place(f.Name, displayValue(f, v), f.Box, valueColor); err != nil {
			return nil, err
		}
	}
	if t.Number != nil && number != "" && (full || t.Overlay.LicenceNumber) {
		name := t.Number.Field
		if name == "" {
			name = "证照编号"
		}
		if err := place(name, number, t.Number.Box, valueColor); err != nil {
			return nil, err
		}
	}
	if t.QR != nil && d.QRPayload != "" && (full || t.Overlay.QR) {
		q, err := qrPath(d.QRPayload, t.QR.X+dx, t.QR.Y+dy, t.QR.Size, t.height)
		if err != nil {
			return nil, invalid("二维码内容过长（%d字节）", len(d.QRPayload)).WithDetail("field", "二维码")
		}
		p.qr = q
	}
	return p, nil
}

// runes returns the sorted distinct runes the page draws.
func (p *page) runes() []rune {
	var seen [0x10000 / 64]uint64
	var rs []rune
	for _, run := range p.runs {
		for _, r := range run.s {
			if r < 0x10000 && seen[r/64]&(1<<(r%64)) == 0 {
				seen[r/64] |= 1 << (r % 64)
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(rs)
	return rs
}

func (p *page) write(producer string, d Document) ([]byte, error) {
	t := p.t
	fonts, bySlot, err := p.fonts()
	if err != nil {
		return nil, err
	}
	cp := getBuf()
	defer putBuf(cp)
	c := &canvas{b: *cp, pageH: t.height}
	defer func() { *cp = c.b }()

	for _, s := range p.shapes {
		c.drawShape(s)
	}
	if len(fonts) > 0 {
		var cids []uint16
		for _, run := range p.runs {
			c.setFill(run.color)
			tc := run.spacing / ptToMM
			x := run.x
			for _, seg := range p.segments(run.s) {
				f := bySlot[seg.font]
				cids = cids[:0]
				for _, r := range seg.s {
					cids = append(cids, f.sub.cid(r))
				}
				c.text(f.res, run.size, tc, x, run.y, cids)
				x += seg.width*run.size*ptToMM + float64(seg.n)*run.spacing
			}
		}
	}
	if p.qr != nil {
		c.b = append(c.b, p.qr...)
		c.b = append(c.b, '\n')
	}
	created := d.Created
	if created.IsZero() {
		created = time.Now()
	}
	return writePDF(t.width, t.height, c.b, fonts, docInfo{
		title:    p.title,
		creator:  "certseal templates " + t.ID + " v" + strconv.Itoa(t.Version),
		producer: producer,
		created:  created,
	}), nil
}

// fonts builds the subset fonts of the page: the primary font's for the characters it has, and
// the fallback's for the rest if there are any. list is in resource order (F1, F2); bySlot
// indexes them by segment.font (0 primary, 1 fallback).
func (p *page) fonts() (list []*pdfFont, bySlot [2]*pdfFont, err error) {
	if len(p.runs) == 0 {
		return nil, bySlot, nil
	}
	primary, extra := p.splitRunes()
	for slot, set := range [2]struct {
		f     *fontIndex
		runes []rune
		name  string
	}{{p.font, primary, pdfFontName}, {p.font.fallback, extra, pdfFontNameFB}} {
		if len(set.runes) == 0 {
			continue
		}
		sub, err := set.f.subset(set.runes)
		if err != nil {
			return nil, bySlot, certseal.Errorf(certseal.EInternal, "字体子集生成失败").WithDetail("reason", err.Error())
		}
		f := &pdfFont{res: "F" + strconv.Itoa(len(list)+1), name: subsetTag(set.runes, byte(slot)) + "+" + set.name, f: set.f, sub: sub}
		list = append(list, f)
		bySlot[slot] = f
	}
	return list, bySlot, nil
}

// splitRunes returns the distinct runes the page draws, sorted, split into those of the primary
// font and those only the fallback has.
func (p *page) splitRunes() (primary, extra []rune) {
	for _, r := range p.runes() {
		if p.font.has(r) || p.font.fallback == nil {
			primary = append(primary, r)
		} else {
			extra = append(extra, r)
		}
	}
	return primary, extra
}

// segment is a piece of a text run set in one font (0 the primary, 1 the fallback): its width
// in em and its rune count.
type segment struct {
	font  int
	s     string
	width float64
	n     int
}

// segments splits s into runs of characters drawn by the same font. Text without fallback
// characters (nearly all of it) is one segment.
func (p *page) segments(s string) []segment {
	fb := p.font.fallback
	var segs []segment
	start := 0
	for i, r := range s {
		font := 0
		if fb != nil && !p.font.has(r) && fb.has(r) {
			font = 1
		}
		if n := len(segs); n == 0 || segs[n-1].font != font {
			if n > 0 {
				segs[n-1].s = s[start:i]
			}
			segs = append(segs, segment{font: font})
			start = i
		}
		seg := &segs[len(segs)-1]
		seg.width += p.font.width(r)
		seg.n++
	}
	if n := len(segs); n > 0 {
		segs[n-1].s = s[start:]
	}
	return segs
}

// The PostScript names of the subsets, after the six-letter subset tag.
const (
	pdfFontName   = "UMingCN"
	pdfFontNameFB = "GBKMing"
)

// subsetTag derives the six-letter subset tag from the glyph set and the font number, so that it
// is deterministic.
func subsetTag(runes []rune, font byte) string {
	h := fnv.New64a()
	if font != 0 {
		h.Write([]byte{font})
	}
	for _, r := range runes {
		h.Write([]byte{byte(r >> 8), byte(r)})
	}
	v := h.Sum64()
	tag := make([]byte, 6)
	for i := range tag {
		tag[i] = byte('A' + v%26)
		v /= 26
	}
	return string(tag)
}

func (c *canvas) drawShape(s shape) {
	switch s.kind {
	case 'b':
		c.setStroke(s.color)
		c.setLineWidth(s.lw)
		c.rect(s.x, s.y, s.w, s.h, "S")
		if s.double {
			g := s.gap
			if g == 0 {
				g = 1.5
			}
			c.setLineWidth(s.lw / 3)
			c.rect(s.x+g, s.y+g, s.w-2*g, s.h-2*g, "S")
		}
	case 'l':
		c.setStroke(s.color)
		c.setLineWidth(s.lw)
		c.line(s.x, s.y, s.w, s.h)
	case 'e':
		c.drawEmblem(s.x, s.y, s.diameter, s.color)
	}
}

// drawEmblem draws a vector placeholder for an emblem: a red disc in a gold ring, a large gold
// five-pointed star and four small ones on an arc, like those on official documents.
func (c *canvas) drawEmblem(cx, cy, d float64, red [3]int) {
	gold := [3]int{255, 196, 0}
	r := d / 2
	c.setFill(gold)
	c.circle(cx, cy, r, "f")
	c.setFill(red)
	c.circle(cx, cy, r*0.86, "f")
	c.setStroke(gold)
	c.setLineWidth(r * 0.03)
	c.circle(cx, cy, r*0.78, "S")
	c.setFill(gold)
	c.polygon(star(cx, cy-r*0.18, r*0.34, -90), "f")
	for _, a := range []float64{-150, -120, -60, -30} {
		ax := cx + r*0.56*math.Cos(a*math.Pi/180)
		ay := cy - r*0.18 + r*0.56*math.Sin(a*math.Pi/180) + r*0.25
		// Each small star points at the large one.
		dir := math.Atan2(cy-r*0.18-ay, cx-ax) * 180 / math.Pi
		c.polygon(star(ax, ay, r*0.12, dir), "f")
	}
	// A stylised gate: a gold bar and base under the stars.
	c.rect(cx-r*0.42, cy+r*0.28, r*0.84, r*0.08, "f")
	c.rect(cx-r*0.52, cy+r*0.44, r*1.04, r*0.06, "f")
	for _, x := range []float64{-0.3, -0.1, 0.1, 0.3} {
		c.rect(cx+r*x-r*0.03, cy+r*0.36, r*0.06, r*0.08, "f")
	}
}

// star returns the ten points of a five-pointed star centred at cx, cy with outer radius ro,
// the first point at angle deg (degrees, screen coordinates).
func star(cx, cy, ro, deg float64) [][2]float64 {
	pts := make([][2]float64, 10)
	ri := ro * 0.382
	for i := range pts {
		a := (deg + float64(i)*36) * math.Pi / 180
		rr := ro
		if i%2 == 1 {
			rr = ri
		}
		pts[i] = [2]float64{cx + rr*math.Cos(a), cy + rr*math.Sin(a)}
	}
	return pts
}
