package templates

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/jung-kurt/gofpdf"

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
	kind      byte // 'b' border rect, 'l' line, 'e' emblem
	x, y      float64
	w, h      float64
	lw        float64
	color     [3]int
	double    bool
	gap       float64
	diameter  float64
	dashed    bool
	fillColor [3]int
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

// plan checks everything and lays out the page without touching gofpdf.
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
	pdf := gofpdf.NewCustom(&gofpdf.InitType{OrientationStr: "P", UnitStr: "mm",
		Size: gofpdf.SizeType{Wd: t.width, Ht: t.height}})
	pdf.SetCatalogSort(true)
	pdf.SetCompression(true)
	pdf.SetCreationDate(d.Created)
	pdf.SetModificationDate(d.Created)
	pdf.SetProducer(producer, true)
	pdf.SetCreator("certseal templates "+t.ID+" v"+strconv.Itoa(t.Version), true)
	pdf.SetTitle(p.title, true)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(0, 0, 0)
	pdf.AddPage()

	for _, s := range p.shapes {
		p.drawShape(pdf, s)
	}
	var primary, extra []rune
	if len(p.runs) > 0 {
		primary, extra = p.splitRunes()
		if err := p.addFont(pdf, pdfFamily, p.font, primary); err != nil {
			return nil, err
		}
		if len(extra) > 0 {
			if err := p.addFont(pdf, pdfFamilyFB, p.font.fallback, extra); err != nil {
				return nil, err
			}
		}
		var curFamily string
		var cur float64
		var curColor [3]int
		colorSet := false
		setFont := func(family string, size float64) {
			if family != curFamily || size != cur {
				pdf.SetFont(family, "", size)
				curFamily, cur = family, size
			}
		}
		for _, run := range p.runs {
			segs := p.segments(run.s)
			if len(segs) == 0 {
				continue
			}
			setFont(segs[0].family, run.size)
			if !colorSet || run.color != curColor {
				pdf.SetTextColor(run.color[0], run.color[1], run.color[2])
				curColor, colorSet = run.color, true
			}
			if run.spacing != 0 {
				pdf.RawWriteStr(strconv.FormatFloat(run.spacing/ptToMM, 'f', 3, 64) + " Tc")
			}
			x := run.x
			for _, seg := range segs {
				setFont(seg.family, run.size)
				pdf.Text(x, run.y, seg.s)
				x += seg.width*run.size*ptToMM + float64(seg.n)*run.spacing
			}
			if run.spacing != 0 {
				pdf.RawWriteStr("0 Tc")
			}
		}
	}
	if p.qr != nil {
		pdf.RawWriteStr(string(p.qr))
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := pdf.Output(&buf); err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "生成PDF失败").WithDetail("reason", err.Error())
	}
	out := buf.Bytes()
	// gofpdf names a font "utf8"+family; give each a PDF subset name (six capitals and "+",
	// ISO 32000 9.6.4), of the same length so that no offset in the file moves.
	if len(primary) > 0 {
		out = bytes.ReplaceAll(out, []byte("/utf8"+pdfFamily), []byte("/"+subsetTag(primary, 0)+"+"+pdfFontName))
	}
	if len(extra) > 0 {
		out = bytes.ReplaceAll(out, []byte("/utf8"+pdfFamilyFB), []byte("/"+subsetTag(extra, 1)+"+"+pdfFontNameFB))
	}
	return out, nil
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

// addFont registers the subset of f with runes under family. An empty set registers nothing.
func (p *page) addFont(pdf *gofpdf.Fpdf, family string, f *fontIndex, runes []rune) error {
	if len(runes) == 0 {
		return nil
	}
	sub, err := f.subset(runes)
	if err != nil {
		return certseal.Errorf(certseal.EInternal, "字体子集生成失败").WithDetail("reason", err.Error())
	}
	pdf.AddUTF8FontFromBytes(family, "", sub)
	return nil
}

// segment is a piece of a text run set in one font: its width in em and its rune count.
type segment struct {
	family string
	s      string
	width  float64
	n      int
}

// segments splits s into runs of characters drawn by the same font. Text without fallback
// characters (nearly all of it) is one segment.
func (p *page) segments(s string) []segment {
	fb := p.font.fallback
	if fb == nil {
		return []segment{{family: pdfFamily, s: s}}
	}
	var segs []segment
	start := 0
	for i, r := range s {
		family := pdfFamily
		if !p.font.has(r) && fb.has(r) {
			family = pdfFamilyFB
		}
		if n := len(segs); n == 0 || segs[n-1].family != family {
			if n > 0 {
				segs[n-1].s = s[start:i]
			}
			segs = append(segs, segment{family: family})
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

// pdfFamily and pdfFamilyFB are the families the subsets of the font and of its fallback are
// registered under in gofpdf; "utf8"+family has the length of the final "ABCDEF+UMingCN" and
// "ABCDEF+GBKMing".
const (
	pdfFamily     = "certsealfn"
	pdfFontName   = "UMingCN"
	pdfFamilyFB   = "certsealfb"
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

func (p *page) drawShape(pdf *gofpdf.Fpdf, s shape) {
	c := s.color
	pdf.SetDrawColor(c[0], c[1], c[2])
	pdf.SetLineWidth(s.lw)
	switch s.kind {
	case 'b':
		pdf.Rect(s.x, s.y, s.w, s.h, "D")
		if s.double {
			g := s.gap
			if g == 0 {
				g = 1.5
			}
			pdf.SetLineWidth(s.lw / 3)
			pdf.Rect(s.x+g, s.y+g, s.w-2*g, s.h-2*g, "D")
		}
	case 'l':
		pdf.Line(s.x, s.y, s.w, s.h)
	case 'e':
		drawEmblem(pdf, s.x, s.y, s.diameter, c)
	}
}

// drawEmblem draws a vector placeholder for an emblem: a red disc in a gold ring, a large gold
// five-pointed star and four small ones on an arc, like those on official documents.
func drawEmblem(pdf *gofpdf.Fpdf, cx, cy, d float64, red [3]int) {
	gold := [3]int{255, 196, 0}
	r := d / 2
	pdf.SetFillColor(gold[0], gold[1], gold[2])
	pdf.Circle(cx, cy, r, "F")
	pdf.SetFillColor(red[0], red[1], red[2])
	pdf.Circle(cx, cy, r*0.86, "F")
	pdf.SetDrawColor(gold[0], gold[1], gold[2])
	pdf.SetLineWidth(r * 0.03)
	pdf.Circle(cx, cy, r*0.78, "D")
	pdf.SetFillColor(gold[0], gold[1], gold[2])
	pdf.Polygon(star(cx, cy-r*0.18, r*0.34, -90), "F")
	for i, a := range []float64{-150, -120, -60, -30} {
		ax := cx + r*0.56*math.Cos(a*math.Pi/180)
		ay := cy - r*0.18 + r*0.56*math.Sin(a*math.Pi/180) + r*0.25
		// Each small star points at the large one.
		dir := math.Atan2(cy-r*0.18-ay, cx-ax) * 180 / math.Pi
		_ = i
		pdf.Polygon(star(ax, ay, r*0.12, dir), "F")
	}
	// A stylised gate: a gold bar and base under the stars.
	pdf.Rect(cx-r*0.42, cy+r*0.28, r*0.84, r*0.08, "F")
	pdf.Rect(cx-r*0.52, cy+r*0.44, r*1.04, r*0.06, "F")
	for _, x := range []float64{-0.3, -0.1, 0.1, 0.3} {
		pdf.Rect(cx+r*x-r*0.03, cy+r*0.36, r*0.06, r*0.08, "F")
	}
}

// star returns the ten points of a five-pointed star centred at cx, cy with outer radius ro,
// the first point at angle deg (degrees, screen coordinates).
func star(cx, cy, ro, deg float64) []gofpdf.PointType {
	pts := make([]gofpdf.PointType, 10)
	ri := ro * 0.382
	for i := range pts {
		a := (deg + float64(i)*36) * math.Pi / 180
		rr := ro
		if i%2 == 1 {
			rr = ri
		}
		pts[i] = gofpdf.PointType{X: cx + rr*math.Cos(a), Y: cy + rr*math.Sin(a)}
	}
	return pts
}
