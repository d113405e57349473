package templates

import (
	"fmt"
	"hash/fnv"
	"math"
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

// Render lays out d on t and returns the PDF bytes: Layout, then PDFWriter. It checks the values
// first and draws nothing if they fail. It returns a *certseal.Error with code EInvalid and a
// Chinese message naming the field when a value fails CheckValues, when a value does not fit its
// box even at the template's minimum font size, when the licence number is given twice with two
// values or cannot be drawn, or when the QR payload is too long; and an error with code
// EInternal if the font cannot be loaded or the PDF cannot be written.
func (r *Renderer) Render(t *Template, d Document) ([]byte, error) {
	p, err := r.Layout(t, d)
	if err != nil {
		return nil, err
	}
	return PDFWriter{}.Write(p)
}

var black = [3]int{0, 0, 0}

func colorOr(s string, def [3]int) [3]int {
	if c, ok := parseColor(s); ok {
		return c
	}
	return def
}

// Layout checks d against t and lays out the page: the format-neutral Plan that a Writer turns
// into a document. It returns the errors Render describes, except those of writing.
func (r *Renderer) Layout(t *Template, d Document) (*Plan, error) {
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

	p := &Plan{Width: t.width, Height: t.height, Title: d.Title, Creator: "certseal templates " + t.ID + " v" + strconv.Itoa(t.Version),
		Producer: r.producer, Created: d.Created, Seal: t.Seal(), font: font}
	if p.Title == "" {
		p.Title = t.Name
	}
	if p.Created.IsZero() {
		p.Created = time.Now()
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
		p.Runs = append(p.Runs, runs...)
		return nil
	}

	if full {
		for _, e := range t.Background {
			if e.Type != "text" {
				p.Shapes = appendShapes(p.Shapes, e)
				continue
			}
			if err := place(e.Text, e.Text, *e.Box, colorOr(e.Color, black)); err != nil {
				return nil, err
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
		code, err := encodeQR(d.QRPayload)
		if err != nil {
			return nil, invalid("二维码内容过长（%d字节）", len(d.QRPayload)).WithDetail("field", "二维码")
		}
		p.QR = &QRCode{X: t.QR.X + dx, Y: t.QR.Y + dy, Size: t.QR.Size, code: code}
	}
	return p, nil
}

// fonts builds the subset fonts of the page: the primary font's for the characters it has, and
// the fallback's for the rest if there are any. list is in resource order (F1, F2); bySlot
// indexes them by segment.font (0 primary, 1 fallback).
func (p *Plan) fonts() (list []*pdfFont, bySlot [2]*pdfFont, err error) {
	if len(p.Runs) == 0 {
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
func (p *Plan) splitRunes() (primary, extra []rune) {
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
func (p *Plan) segments(s string) []segment {
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
