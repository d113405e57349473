// Package templates holds the licence template format, the built-in templates of real Chinese
// licences, and the renderer that turns a template and a set of field values into a one-page
// PDF (written by the package's own small PDF writer): the full e-certificate or the overlay
// (套打) for a pre-printed blank form.
//
// All positions are in millimetres from the top-left corner of the page; font sizes are in
// points. The font is the embedded AR PL UMing CN; each PDF embeds a subset with only the glyphs
// it draws.
package templates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strings"

	"certseal"
)

// Field types.
const (
	TypeText   = "text"   // any text the font can draw
	TypeDate   = "date"   // 2006年1月2日 or 2006-01-02
	TypeNumber = "number" // an optionally signed decimal number
	TypeEnum   = "enum"   // one of Options
)

// Text alignments within a box.
const (
	AlignLeft    = "left"
	AlignCenter  = "center"
	AlignRight   = "right"
	AlignJustify = "justify" // single line, characters spread over the whole width (labels)
)

// DefaultMinFontSize is the smallest size, in points, a value is shrunk to when it does not fit
// its box and the template sets no min_font_size.
const DefaultMinFontSize = 7

// Template is one licence layout: page, background, fields with their boxes, and the places of
// the seal, the QR code and the licence number. A Template returned by Parse or Builtin has been
// validated and is read-only: it may be shared by goroutines. A Template built in code must have
// Validate called once, before it is shared.
type Template struct {
	ID          string      `json:"id"`
	Version     int         `json:"version"`
	Name        string      `json:"name"`
	Page        Page        `json:"page"`
	MinFontSize float64     `json:"min_font_size,omitempty"`
	Color       string      `json:"color,omitempty"` // value text colour, #rrggbb; black if empty
	Background  []Element   `json:"background,omitempty"`
	Fields      []Field     `json:"fields"`
	SealPos     SealSpec    `json:"seal"`
	QR          *QRSpec     `json:"qr,omitempty"`
	Number      *NumberSpec `json:"licence_number,omitempty"`
	Overlay     OverlaySpec `json:"overlay,omitempty"`
	// Sample, if set, is a complete set of example values: previews use it, and Validate
	// checks it passes CheckValues, so a template always carries one document it can render.
	Sample      *Sample `json:"sample,omitempty"`
	width       float64 // page size in mm after orientation, set by Validate
	height      float64 //
	patterns    []*regexp.Regexp
	fieldByName map[string]int
}

// Page is the paper: a named size (A4, A3, A5, B5) or a custom Width x Height in millimetres,
// and the orientation ("portrait", the default, or "landscape").
type Page struct {
	Size        string  `json:"size,omitempty"`
	Width       float64 `json:"width,omitempty"`
	Height      float64 `json:"height,omitempty"`
	Orientation string  `json:"orientation,omitempty"`
}

// Box is a rectangle on the page, in millimetres from the top-left corner, with the text
// settings of what is drawn in it.
type Box struct {
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	W        float64 `json:"w"`
	H        float64 `json:"h"`
	FontSize float64 `json:"font_size,omitempty"` // points; 12 if zero
	Align    string  `json:"align,omitempty"`     // left (default), center, right, justify
	VAlign   string  `json:"valign,omitempty"`    // middle (default), top, bottom
	Wrap     bool    `json:"wrap,omitempty"`      // break into lines (Chinese line-breaking rules)
}

// Element is a background element drawn only in the full certificate: a border (Double for the
// two-line frame of government licences), a straight line, fixed text in a box, or an emblem
// (a vector placeholder: a circle with a five-pointed star) centred at X, Y with Diameter.
type Element struct {
	Type      string  `json:"type"` // border, line, text, emblem
	X         float64 `json:"x,omitempty"`
	Y         float64 `json:"y,omitempty"`
	W         float64 `json:"w,omitempty"`
	H         float64 `json:"h,omitempty"`
	X2        float64 `json:"x2,omitempty"` // line end
	Y2        float64 `json:"y2,omitempty"`
	LineWidth float64 `json:"line_width,omitempty"` // mm; 0.3 if zero
	Double    bool    `json:"double,omitempty"`
	Gap       float64 `json:"gap,omitempty"` // mm between the two lines of a double border
	Color     string  `json:"color,omitempty"`
	Text      string  `json:"text,omitempty"`
	Box       *Box    `json:"box,omitempty"`
	Diameter  float64 `json:"diameter,omitempty"`
}

// Field is one value of the licence. Name is the key in the values map (the Chinese field name,
// e.g. "经营者名称"); Label is what the form shows, drawn in LabelBox in the full certificate.
type Field struct {
	Name      string   `json:"name"`
	Label     string   `json:"label,omitempty"`
	Type      string   `json:"type"`
	Required  bool     `json:"required,omitempty"`
	MaxLength int      `json:"max_length,omitempty"` // in characters; 0 = no limit
	Pattern   string   `json:"pattern,omitempty"`    // Go regexp the whole value must match
	Options   []string `json:"options,omitempty"`    // for enum
	Box       Box      `json:"box"`
	LabelBox  *Box     `json:"label_box,omitempty"`
}

// SealSpec is where the seal goes: centre X, Y and Diameter in millimetres, on page Page (1).
type SealSpec struct {
	Page     int     `json:"page,omitempty"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Diameter float64 `json:"diameter"`
}

// QRSpec is the square of the QR code, quiet zone included: top-left X, Y and side Size in mm.
type QRSpec struct {
	X    float64 `json:"x"`
	Y    float64 `json:"y"`
	Size float64 `json:"size"`
	// Caption, if set, is drawn under the square in the full certificate.
	Caption    string `json:"caption,omitempty"`
	CaptionBox *Box   `json:"caption_box,omitempty"`
}

// NumberSpec is the box of the printed licence number. Field, if set, names a value key (e.g.
// "许可证编号") that may carry the number instead of Document.LicenceNumber.
type NumberSpec struct {
	Field    string `json:"field,omitempty"`
	Label    string `json:"label,omitempty"`
	Box      Box    `json:"box"`
	LabelBox *Box   `json:"label_box,omitempty"`
}

// OverlaySpec says what the overlay (套打) output prints besides the values: the licence number
// and the QR code, when the pre-printed blank form does not carry them.
type OverlaySpec struct {
	LicenceNumber bool `json:"licence_number,omitempty"`
	QR            bool `json:"qr,omitempty"`
}

// Sample is a template's example document: values for its fields and a licence number.
type Sample struct {
	Values        map[string]string `json:"values"`
	LicenceNumber string            `json:"licence_number,omitempty"`
}

// Limits on the size of a template, so that validating an uploaded one stays cheap.
const (
	MaxFields     = 200 // fields per template
	MaxBackground = 500 // background elements per template
)

// SealPlacement is where package seals stamps the seal: page number (1-based) and the centre
// and diameter in millimetres from the top-left corner, with the page size so that a caller can
// convert to PDF points (origin bottom-left) with PDFPoints.
type SealPlacement struct {
	Page                  int
	X, Y, Diameter        float64
	PageWidth, PageHeight float64
}

// PDFPoints returns the seal centre and diameter in PDF points, origin at the bottom-left
// corner. It never fails.
func (p SealPlacement) PDFPoints() (x, y, diameter float64) {
	const pt = 72 / 25.4
	return p.X * pt, (p.PageHeight - p.Y) * pt, p.Diameter * pt
}

var pageSizes = map[string][2]float64{
	"A3": {297, 420}, "A4": {210, 297}, "A5": {148, 210}, "B5": {176, 250},
}

// Parse decodes a JSON template and validates it. It returns a *certseal.Error with code
// EInvalid, and a Chinese message, when the JSON is malformed or the template fails Validate.
func Parse(data []byte) (*Template, error) {
	t, err := decode(data)
	if err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// decode decodes a JSON template strictly (unknown keys and trailing data refused) without
// validating it.
func decode(data []byte) (*Template, error) {
	var t Template
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(&t)
	if err == nil {
		if _, e := dec.Token(); e != io.EOF {
			err = errors.New("trailing data after the template object")
		}
	}
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "模板不是有效的JSON：%v", err).WithDetail("reason", err.Error())
	}
	return &t, nil
}

// PageSize returns the page width and height in millimetres, orientation applied. It returns
// zeros for a template that has not passed Validate.
func (t *Template) PageSize() (width, height float64) { return t.width, t.height }

// Seal returns where the seal is stamped. It never fails; Validate has checked the seal lies on
// the page.
func (t *Template) Seal() SealPlacement {
	page := t.SealPos.Page
	if page == 0 {
		page = 1
	}
	return SealPlacement{Page: page, X: t.SealPos.X, Y: t.SealPos.Y, Diameter: t.SealPos.Diameter,
		PageWidth: t.width, PageHeight: t.height}
}

// SealBox returns the square the seal occupies, as a Box in millimetres from the top-left
// corner. It never fails.
func (t *Template) SealBox() Box {
	r := t.SealPos.Diameter / 2
	return Box{X: t.SealPos.X - r, Y: t.SealPos.Y - r, W: t.SealPos.Diameter, H: t.SealPos.Diameter}
}

// Field returns the field called name, and false if the template has none.
func (t *Template) Field(name string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

type namedBox struct {
	name string
	box  Box
}

func invalid(format string, args ...any) *certseal.Error {
	return certseal.Errorf(certseal.EInvalid, format, args...)
}

// Validate checks the template and prepares it for rendering. It returns a *certseal.Error with
// code EInvalid and a Chinese message naming the problem: a missing id or name, an unknown page
// size or field type, a bad regular expression, duplicate field names, a box that leaves the
// page, or two boxes that overlap (both named, in Detail too).
func (t *Template) Validate() error {
	if strings.TrimSpace(t.ID) == "" {
		return invalid("模板缺少编号（id）")
	}
	if t.Version < 1 {
		return invalid("模板“%s”的版本号必须是正整数", t.ID)
	}
	if strings.TrimSpace(t.Name) == "" {
		return invalid("模板“%s”缺少名称", t.ID)
	}
	w, h := t.Page.Width, t.Page.Height
	if t.Page.Size != "" {
		s, ok := pageSizes[strings.ToUpper(t.Page.Size)]
		if !ok {
			return invalid("模板“%s”的纸张规格“%s”不支持（可用A3、A4、A5、B5或自定义宽高）", t.ID, t.Page.Size).WithDetail("page_size", t.Page.Size)
		}
		w, h = s[0], s[1]
	}
	if w < 50 || h < 50 || w > 1200 || h > 1200 || math.IsNaN(w) || math.IsNaN(h) {
		return invalid("模板“%s”的纸张尺寸无效（宽%.1f毫米，高%.1f毫米）", t.ID, w, h)
	}
	switch t.Page.Orientation {
	case "", "portrait":
		if w > h {
			w, h = h, w
		}
	case "landscape":
		if w < h {
			w, h = h, w
		}
	default:
		return invalid("模板“%s”的纸张方向“%s”无效（portrait或landscape）", t.ID, t.Page.Orientation)
	}
	t.width, t.height = w, h
	if len(t.Fields) > MaxFields || len(t.Background) > MaxBackground {
		return invalid("模板“%s”过大（最多%d个字段、%d个背景元素）", t.ID, MaxFields, MaxBackground)
	}
	if t.MinFontSize < 0 || t.MinFontSize > 72 {
		return invalid("模板“%s”的最小字号无效", t.ID)
	}
	if t.Color != "" {
		if _, ok := parseColor(t.Color); !ok {
			return invalid("模板“%s”的颜色“%s”无效（应为#rrggbb）", t.ID, t.Color)
		}
	}
	font, err := loadFont()
	if err != nil {
		return certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
	}

	var boxes []namedBox // everything that must not overlap
	checkBox := func(name string, b Box) error {
		if !(b.W > 0 && b.H > 0) || math.IsNaN(b.X) || math.IsNaN(b.Y) {
			return invalid("模板“%s”中“%s”的区域宽高必须大于0", t.ID, name).WithDetail("box", name)
		}
		if b.X < 0 || b.Y < 0 || b.X+b.W > w+1e-9 || b.Y+b.H > h+1e-9 {
			return invalid("模板“%s”中“%s”的区域超出页面（x=%.1f y=%.1f 宽%.1f 高%.1f，页面%.0f×%.0f毫米）",
				t.ID, name, b.X, b.Y, b.W, b.H, w, h).WithDetail("box", name)
		}
		if b.FontSize < 0 || b.FontSize > 200 {
			return invalid("模板“%s”中“%s”的字号无效", t.ID, name).WithDetail("box", name)
		}
		switch b.Align {
		case "", AlignLeft, AlignCenter, AlignRight, AlignJustify:
		default:
			return invalid("模板“%s”中“%s”的对齐方式“%s”无效", t.ID, name, b.Align).WithDetail("box", name)
		}
		switch b.VAlign {
		case "", "top", "middle", "bottom":
		default:
			return invalid("模板“%s”中“%s”的垂直对齐方式“%s”无效", t.ID, name, b.VAlign).WithDetail("box", name)
		}
		boxes = append(boxes, namedBox{name, b})
		return nil
	}
	checkText := func(name, s string) error {
		for _, r := range s {
			if r != '\n' && !font.covers(r) {
				return charError(name, r)
			}
		}
		return nil
	}

	for i, e := range t.Background {
		name := fmt.Sprintf("背景元素%d（%s）", i+1, e.Type)
		switch e.Type {
		case "border", "line", "emblem":
			var b Box
			switch e.Type {
			case "border":
				b = Box{X: e.X, Y: e.Y, W: e.W, H: e.H}
			case "line":
				b = Box{X: math.Min(e.X, e.X2), Y: math.Min(e.Y, e.Y2), W: math.Abs(e.X2-e.X) + 1e-6, H: math.Abs(e.Y2-e.Y) + 1e-6}
			case "emblem":
				b = Box{X: e.X - e.Diameter/2, Y: e.Y - e.Diameter/2, W: e.Diameter, H: e.Diameter}
			}
			if !(b.W > 0 && b.H > 0) || b.X < 0 || b.Y < 0 || b.X+b.W > w+1e-6 || b.Y+b.H > h+1e-6 {
				return invalid("模板“%s”中%s超出页面或尺寸无效", t.ID, name).WithDetail("box", name)
			}
			if e.LineWidth < 0 || e.Gap < 0 {
				return invalid("模板“%s”中%s的线宽无效", t.ID, name).WithDetail("box", name)
			}
		case "text":
			if e.Box == nil || strings.TrimSpace(e.Text) == "" {
				return invalid("模板“%s”中%s缺少文字或区域", t.ID, name).WithDetail("box", name)
			}
			name = fmt.Sprintf("文字“%s”", e.Text)
			if err := checkBox(name, *e.Box); err != nil {
				return err
			}
			if err := checkText(name, e.Text); err != nil {
				return err
			}
		default:
			return invalid("模板“%s”中背景元素%d的类型“%s”未知（border、line、text或emblem）", t.ID, i+1, e.Type).WithDetail("box", name)
		}
		if e.Color != "" {
			if _, ok := parseColor(e.Color); !ok {
				return invalid("模板“%s”中%s的颜色“%s”无效", t.ID, name, e.Color)
			}
		}
	}

	if len(t.Fields) == 0 {
		return invalid("模板“%s”没有字段", t.ID)
	}
	t.fieldByName = make(map[string]int, len(t.Fields))
	t.patterns = make([]*regexp.Regexp, len(t.Fields))
	for i, f := range t.Fields {
		if strings.TrimSpace(f.Name) == "" {
			return invalid("模板“%s”的第%d个字段缺少名称", t.ID, i+1)
		}
		if _, dup := t.fieldByName[f.Name]; dup {
			return invalid("模板“%s”中字段“%s”重复", t.ID, f.Name).WithDetail("field", f.Name)
		}
		t.fieldByName[f.Name] = i
		switch f.Type {
		case TypeText, TypeDate, TypeNumber:
		case TypeEnum:
			if len(f.Options) == 0 {
				return invalid("模板“%s”中枚举字段“%s”没有可选值", t.ID, f.Name).WithDetail("field", f.Name)
			}
			for _, o := range f.Options {
				if err := checkText("字段“"+f.Name+"”的可选值", o); err != nil {
					return err
				}
			}
		default:
			return invalid("模板“%s”中字段“%s”的类型“%s”未知（text、date、number或enum）", t.ID, f.Name, f.Type).WithDetail("field", f.Name)
		}
		if f.MaxLength < 0 {
			return invalid("模板“%s”中字段“%s”的最大长度无效", t.ID, f.Name).WithDetail("field", f.Name)
		}
		if f.Pattern != "" {
			re, err := regexp.Compile("^(?:" + f.Pattern + ")$")
			if err != nil {
				return invalid("模板“%s”中字段“%s”的格式（正则表达式）无效：%v", t.ID, f.Name, err).WithDetail("field", f.Name)
			}
			t.patterns[i] = re
		}
		if err := checkBox("字段“"+f.Name+"”", f.Box); err != nil {
			return err
		}
		if f.LabelBox != nil {
			label := f.Label
			if label == "" {
				label = f.Name
			}
			if err := checkBox("标签“"+label+"”", *f.LabelBox); err != nil {
				return err
			}
			if err := checkText("标签“"+label+"”", label); err != nil {
				return err
			}
		}
	}
	if t.Number != nil {
		if err := checkBox("证照编号", t.Number.Box); err != nil {
			return err
		}
		if t.Number.LabelBox != nil {
			if err := checkBox("标签“"+t.Number.Label+"”", *t.Number.LabelBox); err != nil {
				return err
			}
			if err := checkText("证照编号标签", t.Number.Label); err != nil {
				return err
			}
		}
		if _, dup := t.fieldByName[t.Number.Field]; dup {
			return invalid("模板“%s”中“%s”既是字段又是证照编号", t.ID, t.Number.Field).WithDetail("field", t.Number.Field)
		}
	}
	if t.QR != nil {
		if t.QR.Size < 10 {
			return invalid("模板“%s”的二维码边长至少10毫米", t.ID)
		}
		if err := checkBox("二维码", Box{X: t.QR.X, Y: t.QR.Y, W: t.QR.Size, H: t.QR.Size}); err != nil {
			return err
		}
		if t.QR.CaptionBox != nil {
			if err := checkBox("二维码说明", *t.QR.CaptionBox); err != nil {
				return err
			}
			if err := checkText("二维码说明", t.QR.Caption); err != nil {
				return err
			}
		}
	}
	if t.Overlay.QR && t.QR == nil {
		return invalid("模板“%s”要求套打二维码，但没有二维码位置", t.ID)
	}
	if t.Overlay.LicenceNumber && t.Number == nil {
		return invalid("模板“%s”要求套打证照编号，但没有证照编号位置", t.ID)
	}
	if t.SealPos.Page > 1 {
		return invalid("模板“%s”只有一页，印章不能在第%d页", t.ID, t.SealPos.Page)
	}
	s := t.SealBox()
	if t.SealPos.Diameter < 20 || t.SealPos.Diameter > 80 || s.X < 0 || s.Y < 0 || s.X+s.W > w || s.Y+s.H > h {
		return invalid("模板“%s”的印章位置超出页面或直径无效（应为20至80毫米）", t.ID).WithDetail("box", "印章")
	}
	// The seal is meant to cover 发证机关 and the date, so it is not checked for overlap.
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			a, b := boxes[i].box, boxes[j].box
			const eps = 1e-6
			if a.X+eps < b.X+b.W && b.X+eps < a.X+a.W && a.Y+eps < b.Y+b.H && b.Y+eps < a.Y+a.H {
				return invalid("模板“%s”中“%s”与“%s”的区域重叠", t.ID, boxes[i].name, boxes[j].name).
					WithDetail("box", boxes[i].name).WithDetail("other_box", boxes[j].name)
			}
		}
	}
	if t.Sample != nil {
		if err := t.CheckValues(t.Sample.Values); err != nil {
			var e *certseal.Error
			if errors.As(err, &e) && e.Code == certseal.EInvalid {
				return invalid("模板“%s”的样例数据不合格：%s", t.ID, e.Message).WithDetail("sample", true).WithDetail("field", e.Detail["field"])
			}
			return err
		}
	}
	return nil
}

func charError(field string, r rune) *certseal.Error {
	return invalid("字段“%s”含有字库不支持的字符“%c”(U+%04X)", field, r, r).
		WithDetail("field", field).WithDetail("char", string(r)).WithDetail("codepoint", formatCodepoint(r))
}

func formatCodepoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

func parseColor(s string) ([3]int, bool) {
	var c [3]int
	if len(s) != 7 || s[0] != '#' {
		return c, false
	}
	for i := 0; i < 3; i++ {
		var v int
		for _, ch := range s[1+2*i : 3+2*i] {
			switch {
			case ch >= '0' && ch <= '9':
				v = v*16 + int(ch-'0')
			case ch >= 'a' && ch <= 'f':
				v = v*16 + int(ch-'a'+10)
			case ch >= 'A' && ch <= 'F':
				v = v*16 + int(ch-'A'+10)
			default:
				return c, false
			}
		}
		c[i] = v
	}
	return c, true
}
