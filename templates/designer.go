package templates

import (
	"errors"
	"fmt"
	"math"

	"certseal"
)

// What the visual template designer (issue 21) needs of the template format: the boxes of a
// template by the names Validate gives them, and every box problem at once, so that the page
// can mark each offending box instead of the first one only.

// NamedBox is one rectangle of a template with the name Validate's messages give it
// ("字段“经营者名称”", "标签“名称”", "证照编号", "二维码", "二维码说明", "文字“…”", "印章"),
// what it is (Kind: field, label, number, number_label, qr, qr_caption, text, seal), the field
// it belongs to, if any, and Marked, set by the caller for a box with a problem.
type NamedBox struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Field  string `json:"field,omitempty"`
	Box    Box    `json:"box"`
	Marked bool   `json:"marked,omitempty"`
}

// Boxes returns the template's boxes in the order Validate checks them, the seal's square last.
// It works on a template that has not passed Validate too, and never fails.
func (t *Template) Boxes() []NamedBox {
	var out []NamedBox
	for _, e := range t.Background {
		if e.Type == "text" && e.Box != nil {
			out = append(out, NamedBox{Name: fmt.Sprintf("文字“%s”", e.Text), Kind: "text", Box: *e.Box})
		}
	}
	for _, f := range t.Fields {
		out = append(out, NamedBox{Name: "字段“" + f.Name + "”", Kind: "field", Field: f.Name, Box: f.Box})
		if f.LabelBox != nil {
			label := f.Label
			if label == "" {
				label = f.Name
			}
			out = append(out, NamedBox{Name: "标签“" + label + "”", Kind: "label", Field: f.Name, Box: *f.LabelBox})
		}
	}
	if t.Number != nil {
		out = append(out, NamedBox{Name: "证照编号", Kind: "number", Field: t.Number.Field, Box: t.Number.Box})
		if t.Number.LabelBox != nil {
			out = append(out, NamedBox{Name: "标签“" + t.Number.Label + "”", Kind: "number_label", Box: *t.Number.LabelBox})
		}
	}
	if t.QR != nil {
		out = append(out, NamedBox{Name: "二维码", Kind: "qr", Box: Box{X: t.QR.X, Y: t.QR.Y, W: t.QR.Size, H: t.QR.Size}})
		if t.QR.CaptionBox != nil {
			out = append(out, NamedBox{Name: "二维码说明", Kind: "qr_caption", Box: *t.QR.CaptionBox})
		}
	}
	out = append(out, NamedBox{Name: "印章", Kind: "seal", Box: t.SealBox()})
	return out
}

// Problem is one thing wrong with a template, for the designer: the Chinese message, the
// stable error code, and the boxes it is about (by NamedBox.Name; Box empty for a problem of
// the whole template).
type Problem struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Box      string `json:"box,omitempty"`
	OtherBox string `json:"other_box,omitempty"`
	Field    string `json:"field,omitempty"`
}

// MaxProblems caps the problems Problems reports (a template of 200 fields all overlapping
// would otherwise give 20,000).
const MaxProblems = 50

// Problems returns everything wrong with t that the designer can show, nil when it passes
// Validate: every box that leaves the page or has no area, every pair of boxes that overlap
// (with Validate's messages), and Validate's own first error when it is about something else
// (a bad pattern, an unknown type, the sample). At most MaxProblems are returned. It validates a
// copy: t is not changed. An error that is not a *certseal.Error (the font did not load) is
// returned as the error.
func Problems(t *Template) ([]Problem, error) {
	c := *t
	err := c.Validate()
	if err == nil {
		return nil, nil
	}
	var ce *certseal.Error
	if !errors.As(err, &ce) {
		return nil, err
	}
	if c.width == 0 || c.height == 0 {
		return []Problem{problemOf(ce)}, nil // the page itself is wrong: nothing to place boxes on
	}
	w, h := c.width, c.height
	var out []Problem
	add := func(p Problem) bool {
		for _, q := range out {
			if q.Box == p.Box && q.OtherBox == p.OtherBox && q.Message == p.Message {
				return true
			}
		}
		out = append(out, p)
		return len(out) < MaxProblems
	}
	boxes := c.Boxes()
	var placed []NamedBox
	for _, nb := range boxes {
		b := nb.Box
		switch {
		case !(b.W > 0 && b.H > 0) || math.IsNaN(b.X) || math.IsNaN(b.Y):
			if !add(Problem{Code: certseal.EInvalid, Box: nb.Name, Field: nb.Field, Message: fmt.Sprintf("模板“%s”中“%s”的区域宽高必须大于0", c.ID, nb.Name)}) {
				return out, nil
			}
		case b.X < 0 || b.Y < 0 || b.X+b.W > w+1e-9 || b.Y+b.H > h+1e-9:
			msg := fmt.Sprintf("模板“%s”中“%s”的区域超出页面（x=%.1f y=%.1f 宽%.1f 高%.1f，页面%.0f×%.0f毫米）", c.ID, nb.Name, b.X, b.Y, b.W, b.H, w, h)
			if nb.Kind == "seal" {
				msg = fmt.Sprintf("模板“%s”的印章位置超出页面或直径无效（应为20至80毫米）", c.ID)
			}
			if !add(Problem{Code: certseal.EInvalid, Box: nb.Name, Field: nb.Field, Message: msg}) {
				return out, nil
			}
		default:
			if nb.Kind != "seal" { // the seal is meant to cover 发证机关 and the date
				placed = append(placed, nb)
			}
		}
	}
	for i := range placed {
		for j := i + 1; j < len(placed); j++ {
			a, b := placed[i].Box, placed[j].Box
			const eps = 1e-6
			if a.X+eps < b.X+b.W && b.X+eps < a.X+a.W && a.Y+eps < b.Y+b.H && b.Y+eps < a.Y+a.H {
				if !add(Problem{Code: certseal.EInvalid, Box: placed[i].Name, OtherBox: placed[j].Name, Field: placed[i].Field,
					Message: fmt.Sprintf("模板“%s”中“%s”与“%s”的区域重叠", c.ID, placed[i].Name, placed[j].Name)}) {
					return out, nil
				}
			}
		}
	}
	if p := problemOf(ce); !covered(out, p) {
		out = append([]Problem{p}, out...)
	}
	return out, nil
}

// covered reports whether p is already in ps (the same boxes or the same message).
func covered(ps []Problem, p Problem) bool {
	for _, q := range ps {
		if q.Message == p.Message || (p.Box != "" && q.Box == p.Box && q.OtherBox == p.OtherBox) {
			return true
		}
	}
	return false
}

func problemOf(e *certseal.Error) Problem {
	p := Problem{Code: e.Code, Message: e.Message}
	p.Box, _ = e.Detail["box"].(string)
	p.OtherBox, _ = e.Detail["other_box"].(string)
	p.Field, _ = e.Detail["field"].(string)
	return p
}

// Decode decodes a JSON template strictly (unknown keys and trailing data refused) without
// validating it, for the designer's checks (Problems). It returns a *certseal.Error with code
// EInvalid for malformed JSON.
func Decode(data []byte) (*Template, error) { return decode(data) }
