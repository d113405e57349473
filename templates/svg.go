package templates

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"certseal"
	"certseal/templates/fonts"
)

// SVGWriter is the third Writer over the layout plan (issue 21 item 5): the page as an SVG
// image that every browser shows itself, where a PDF in an iframe is a black box on many
// government intranets and in headless browsers. The text is drawn with the outlines of the
// same embedded font the PDF embeds (each distinct character once, in <defs>, placed with <use>),
// at the plan's positions and advances, so the preview shows the PDF's line breaks and shrunk
// sizes exactly; each line's text is also its group's aria-label, so the image stays readable
// by a screen reader and by tests. Nothing in the output is active: no script, no event
// attributes, no external reference (the scan, if any, is a data: URI of an image ParseScan
// re-encoded).
type SVGWriter struct {
	// Scan, if set, is drawn first, stretched over the whole page: the blank form's scan under
	// an overlay, or under the designer's boxes.
	Scan *Scan
	// ScanOpacity is the scan's opacity, 0 < ScanOpacity <= 1 (0 is read as 1).
	ScanOpacity float64
	// Boxes, if set, are drawn as thin dashed outlines with their names on top of the page
	// (the designer's view of the template's boxes); Marked boxes are drawn red.
	Boxes []NamedBox
	// HideSeal leaves out the dashed circle that marks where the seal is stamped.
	HideSeal bool
}

// Format returns "svg".
func (SVGWriter) Format() string { return "svg" }

// svgGlyph is one character's outline as SVG path data in font units, y down.
type svgGlyph struct {
	d   string
	err error
}

// svgFont is one face parsed for outlines once per process, with the path data made so far.
type svgFont struct {
	once sync.Once
	src  func() []byte
	f    *sfnt.Font
	upem float64
	err  error

	mu     sync.Mutex
	glyphs map[rune]svgGlyph
}

var svgFonts = [2]*svgFont{{src: fonts.SongShared}, {src: fonts.FallbackShared}}

// path returns the SVG path data of r in font units, "" for a glyph with no outline (a space).
func (sf *svgFont) path(r rune) (string, float64, error) {
	sf.once.Do(func() {
		sf.f, sf.err = sfnt.Parse(sf.src())
		if sf.err == nil {
			sf.upem = float64(sf.f.UnitsPerEm())
		}
		sf.glyphs = map[rune]svgGlyph{}
	})
	if sf.err != nil {
		return "", 0, sf.err
	}
	sf.mu.Lock()
	g, ok := sf.glyphs[r]
	sf.mu.Unlock()
	if ok {
		return g.d, sf.upem, g.err
	}
	var buf sfnt.Buffer
	idx, err := sf.f.GlyphIndex(&buf, r)
	if err == nil && idx == 0 {
		err = fmt.Errorf("%w: %q", ErrNoGlyph, r)
	}
	var d []byte
	if err == nil {
		var segs sfnt.Segments
		segs, err = sf.f.LoadGlyph(&buf, idx, fixed.I(int(sf.upem)), nil)
		for _, s := range segs {
			n := 1
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				d = append(d, 'M')
			case sfnt.SegmentOpLineTo:
				d = append(d, 'L')
			case sfnt.SegmentOpQuadTo:
				d, n = append(d, 'Q'), 2
			case sfnt.SegmentOpCubeTo:
				d, n = append(d, 'C'), 3
			}
			for i := 0; i < n; i++ {
				if i > 0 {
					d = append(d, ' ')
				}
				d = appendSVGNum(d, float64(s.Args[i].X)/64)
				d = append(d, ' ')
				d = appendSVGNum(d, float64(s.Args[i].Y)/64)
			}
		}
		if len(d) > 0 {
			d = append(d, 'Z')
		}
	}
	g = svgGlyph{d: string(d), err: err}
	sf.mu.Lock()
	sf.glyphs[r] = g
	sf.mu.Unlock()
	return g.d, sf.upem, err
}

// appendSVGNum appends v with at most three decimals and no trailing zeros.
func appendSVGNum(b []byte, v float64) []byte {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		s = "0"
	}
	return append(b, s...)
}

type svgBuf struct{ bytes.Buffer }

func (b *svgBuf) num(v float64) { b.Write(appendSVGNum(nil, v)) }

func (b *svgBuf) attr(name string, v float64) {
	b.WriteByte(' ')
	b.WriteString(name)
	b.WriteString(`="`)
	b.num(v)
	b.WriteByte('"')
}

// text writes s escaped for XML character data or an attribute value.
func (b *svgBuf) text(s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			if r < 0x20 || r == utf8.RuneError || (r >= 0xFFFE && r <= 0xFFFF) {
				continue // not allowed in XML
			}
			b.WriteRune(r)
		}
	}
}

func svgRGB(c [3]int) string { return fmt.Sprintf("#%02x%02x%02x", c[0]&255, c[1]&255, c[2]&255) }

// Write returns the page of p as an SVG document, width and height in mm. The same plan and
// writer settings give the same bytes. It returns an error with code EInternal if the font
// does not parse.
func (w SVGWriter) Write(p *Plan) ([]byte, error) {
	var b svgBuf
	b.Grow(64 << 10)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" version="1.1"`)
	fmt.Fprintf(&b, ` width="%smm" height="%smm" viewBox="0 0 %s %s">`, appendSVGNum(nil, p.Width), appendSVGNum(nil, p.Height), appendSVGNum(nil, p.Width), appendSVGNum(nil, p.Height))
	b.WriteString("<title>")
	b.text(p.Title)
	b.WriteString("</title>")
	fmt.Fprintf(&b, `<rect class="page" x="0" y="0" width="%s" height="%s" fill="#ffffff"/>`, appendSVGNum(nil, p.Width), appendSVGNum(nil, p.Height))
	if s := w.Scan; s != nil && len(s.Data) > 0 {
		op := w.ScanOpacity
		if !(op > 0 && op <= 1) {
			op = 1
		}
		b.WriteString(`<image class="scan" x="0" y="0"`)
		b.attr("width", p.Width)
		b.attr("height", p.Height)
		b.attr("opacity", op)
		b.WriteString(` preserveAspectRatio="none" href="data:`)
		b.WriteString(s.MIME)
		b.WriteString(";base64,")
		b.WriteString(base64.StdEncoding.EncodeToString(s.Data))
		b.WriteString(`"/>`)
	}
	for _, s := range p.Shapes {
		paint := func() {
			if s.Fill {
				fmt.Fprintf(&b, ` fill="%s"`, svgRGB(s.Color))
				return
			}
			fmt.Fprintf(&b, ` fill="none" stroke="%s"`, svgRGB(s.Color))
			b.attr("stroke-width", s.LineWidth)
		}
		switch s.Kind {
		case ShapeRect:
			b.WriteString("<rect")
			b.attr("x", s.X)
			b.attr("y", s.Y)
			b.attr("width", s.W)
			b.attr("height", s.H)
			paint()
			b.WriteString("/>")
		case ShapeLine:
			b.WriteString("<line")
			b.attr("x1", s.X)
			b.attr("y1", s.Y)
			b.attr("x2", s.X2)
			b.attr("y2", s.Y2)
			s.Fill = false
			paint()
			b.WriteString("/>")
		case ShapePath:
			b.WriteString(`<path d="`)
			for _, seg := range s.Path {
				pt := seg.Pts
				n := 0
				switch seg.Op {
				case MoveTo:
					b.WriteByte('M')
					n = 1
				case LineTo:
					b.WriteByte('L')
					n = 1
				case CurveTo:
					b.WriteByte('C')
					n = 3
				case Close:
					b.WriteByte('Z')
				}
				for i := 0; i < n; i++ {
					if i > 0 {
						b.WriteByte(' ')
					}
					b.num(pt[i][0])
					b.WriteByte(' ')
					b.num(pt[i][1])
				}
			}
			b.WriteByte('"')
			paint()
			b.WriteString("/>")
		}
	}

	// The glyphs: each distinct character's outline once, then every run as <use>s.
	type key struct {
		font int
		r    rune
	}
	defs := map[key]string{}
	var order []key
	var body svgBuf
	for _, run := range p.Runs {
		body.WriteString(`<g class="run" aria-label="`)
		body.text(run.Text)
		fmt.Fprintf(&body, `" fill="%s">`, svgRGB(run.Color))
		sizeMM := run.Size * 25.4 / 72
		x := run.X
		for _, r := range run.Text {
			fi := 0
			if p.font != nil && !p.font.has(r) && p.font.fallback != nil && p.font.fallback.has(r) {
				fi = 1
			}
			d, upem, err := svgFonts[fi].path(r)
			if err != nil && !errors.Is(err, ErrNoGlyph) {
				return nil, certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
			}
			if d != "" {
				k := key{fi, r}
				if _, ok := defs[k]; !ok {
					defs[k] = d
					order = append(order, k)
				}
				id := fmt.Sprintf("g%d-%04x", fi, r)
				body.WriteString(`<use href="#` + id + `" xlink:href="#` + id + `" transform="translate(`)
				body.num(x)
				body.WriteByte(' ')
				body.num(run.Y)
				body.WriteString(") scale(")
				body.Write(appendSVGScale(nil, sizeMM/upem))
				body.WriteString(`)"/>`)
			}
			adv := 1.0
			if p.font != nil {
				adv = p.font.width(r)
			}
			x += adv*sizeMM + run.Spacing
		}
		body.WriteString("</g>")
	}
	if len(order) > 0 {
		b.WriteString("<defs>")
		for _, k := range order {
			fmt.Fprintf(&b, `<path id="g%d-%04x" d="%s"/>`, k.font, k.r, defs[k])
		}
		b.WriteString("</defs>")
	}
	b.Write(body.Bytes())

	if q := p.QR; q != nil {
		m := q.ModuleSize()
		b.WriteString(`<g class="qr" fill="#000000">`)
		for row := 0; row < q.Modules(); row++ {
			for col := 0; col < q.Modules(); {
				if !q.Dark(col, row) {
					col++
					continue
				}
				start := col
				for col < q.Modules() && q.Dark(col, row) {
					col++
				}
				b.WriteString("<rect")
				b.attr("x", q.X+float64(start+QuietZone)*m)
				b.attr("y", q.Y+float64(row+QuietZone)*m)
				b.attr("width", float64(col-start)*m)
				b.attr("height", m)
				b.WriteString("/>")
			}
		}
		b.WriteString("</g>")
	}
	if !w.HideSeal && p.Seal.Diameter > 0 {
		s := p.Seal
		b.WriteString(`<g class="seal" aria-label="印章位置">`)
		b.WriteString(`<circle fill="none" stroke="#c8102e" stroke-dasharray="2 1.2"`)
		b.attr("cx", s.X)
		b.attr("cy", s.Y)
		b.attr("r", s.Diameter/2)
		b.attr("stroke-width", 0.4)
		b.WriteString(`/><line stroke="#c8102e"`)
		b.attr("x1", s.X-3)
		b.attr("y1", s.Y)
		b.attr("x2", s.X+3)
		b.attr("y2", s.Y)
		b.attr("stroke-width", 0.3)
		b.WriteString(`/><line stroke="#c8102e"`)
		b.attr("x1", s.X)
		b.attr("y1", s.Y-3)
		b.attr("x2", s.X)
		b.attr("y2", s.Y+3)
		b.attr("stroke-width", 0.3)
		b.WriteString("/></g>")
	}
	for _, nb := range w.Boxes {
		color := "#1f6feb"
		if nb.Marked {
			color = "#d1242f"
		}
		bx := nb.Box
		fmt.Fprintf(&b, `<g class="box" aria-label="`)
		b.text(nb.Name)
		fmt.Fprintf(&b, `"><rect fill="none" stroke="%s" stroke-dasharray="1 0.6"`, color)
		b.attr("x", bx.X)
		b.attr("y", bx.Y)
		b.attr("width", bx.W)
		b.attr("height", bx.H)
		b.attr("stroke-width", 0.25)
		b.WriteString("/></g>")
	}
	b.WriteString("</svg>\n")
	out := make([]byte, b.Len())
	copy(out, b.Bytes())
	return out, nil
}

// appendSVGScale appends a scale factor with enough digits (font units to mm are ~0.005).
func appendSVGScale(b []byte, v float64) []byte {
	return strconv.AppendFloat(b, v, 'g', 6, 64)
}
