package templates_test

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"certseal/templates"
)

// The PDF writer is one templates.Writer.
var _ templates.Writer = templates.PDFWriter{}

// TestLayoutThenWrite checks that Render is exactly Layout followed by PDFWriter, and that the
// plan carries what a second format needs, in millimetres: the page, the background shapes
// (full mode only), the text, the QR code and the seal's place.
func TestLayoutThenWrite(t *testing.T) {
	tpl := food(t)
	f := loadFixtures(t)[0]
	r := templates.NewRenderer()
	for _, tc := range []struct {
		mode       templates.Mode
		dx, dy     float64
		wantShapes bool
		absent     string // background text only the full certificate has
	}{
		{templates.Full, 0, 0, true, ""},
		{templates.Overlay, 2, 3, false, "经 营 者 名 称"},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			d := f.doc()
			d.Mode, d.OffsetX, d.OffsetY = tc.mode, tc.dx, tc.dy
			want, err := r.Render(tpl, d)
			if err != nil {
				t.Fatal(err)
			}
			p, err := r.Layout(tpl, d)
			if err != nil {
				t.Fatal(err)
			}
			got, err := templates.PDFWriter{}.Write(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("PDFWriter.Write(Layout) differs from Render")
			}
			if w, h := tpl.PageSize(); p.Width != w || p.Height != h {
				t.Errorf("page %gx%g mm, want %gx%g", p.Width, p.Height, w, h)
			}
			if p.Seal != tpl.Seal() {
				t.Errorf("seal %+v, want %+v", p.Seal, tpl.Seal())
			}
			if !p.Created.Equal(created) || p.Title != tpl.Name || p.Producer != "certseal" {
				t.Errorf("metadata %q %q %v", p.Title, p.Producer, p.Created)
			}
			if (len(p.Shapes) > 0) != tc.wantShapes {
				t.Errorf("%d shapes in %s mode", len(p.Shapes), tc.mode)
			}
			var number *templates.TextRun
			for i, run := range p.Runs {
				if run.Text == f.LicenceNumber {
					number = &p.Runs[i]
				}
				if tc.absent != "" && run.Text == tc.absent {
					t.Errorf("%s mode draws background text %q", tc.mode, run.Text)
				}
			}
			if number == nil {
				t.Fatalf("no run draws the licence number %q", f.LicenceNumber)
			}
			box := tpl.Number.Box
			if x := number.X - tc.dx; x < box.X-1e-9 || x > box.X+box.W {
				t.Errorf("licence number at x %g mm, box %g..%g (offset %g)", number.X, box.X, box.X+box.W, tc.dx)
			}
			if p.QR == nil {
				t.Fatal("no QR code in the plan")
			}
			_, modules, err := templates.QRRects(d.QRPayload)
			if err != nil {
				t.Fatal(err)
			}
			if p.QR.Modules() != modules || p.QR.X != tpl.QR.X+tc.dx || p.QR.Y != tpl.QR.Y+tc.dy {
				t.Errorf("QR %d modules at %g,%g; want %d at %g,%g", p.QR.Modules(), p.QR.X, p.QR.Y, modules, tpl.QR.X+tc.dx, tpl.QR.Y+tc.dy)
			}
		})
	}
}

// svgWriter is a second document format written from the exported plan alone, as an OFD writer
// would be: it shows the plan is enough to draw the page without the PDF writer.
type svgWriter struct{}

func (svgWriter) Format() string { return "svg" }

func (svgWriter) Write(p *templates.Plan) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%gmm" height="%gmm" viewBox="0 0 %g %g">`, p.Width, p.Height, p.Width, p.Height)
	rgb := func(c [3]int) string { return fmt.Sprintf("rgb(%d,%d,%d)", c[0], c[1], c[2]) }
	paint := func(s templates.Shape) string {
		if s.Fill {
			return fmt.Sprintf(`fill="%s"`, rgb(s.Color))
		}
		return fmt.Sprintf(`fill="none" stroke="%s" stroke-width="%g"`, rgb(s.Color), s.LineWidth)
	}
	for _, s := range p.Shapes {
		switch s.Kind {
		case templates.ShapeRect:
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" %s/>`, s.X, s.Y, s.W, s.H, paint(s))
		case templates.ShapeLine:
			fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" %s/>`, s.X, s.Y, s.X2, s.Y2, paint(s))
		case templates.ShapePath:
			var d strings.Builder
			for _, seg := range s.Path {
				pt := seg.Pts
				switch seg.Op {
				case templates.MoveTo:
					fmt.Fprintf(&d, "M%g %g ", pt[0][0], pt[0][1])
				case templates.LineTo:
					fmt.Fprintf(&d, "L%g %g ", pt[0][0], pt[0][1])
				case templates.CurveTo:
					fmt.Fprintf(&d, "C%g %g %g %g %g %g ", pt[0][0], pt[0][1], pt[1][0], pt[1][1], pt[2][0], pt[2][1])
				case templates.Close:
					d.WriteString("Z ")
				}
			}
			fmt.Fprintf(&b, `<path d="%s" %s/>`, strings.TrimSpace(d.String()), paint(s))
		}
	}
	for _, r := range p.Runs {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="%gpt" letter-spacing="%g" fill="%s">`, r.X, r.Y, r.Size, r.Spacing, rgb(r.Color))
		xml.EscapeText(&b, []byte(r.Text)) //nolint:errcheck // a bytes.Buffer does not fail
		b.WriteString("</text>")
	}
	if q := p.QR; q != nil {
		m := q.ModuleSize()
		for row := 0; row < q.Modules(); row++ {
			for col := 0; col < q.Modules(); col++ {
				if q.Dark(col, row) {
					fmt.Fprintf(&b, `<rect class="qr" x="%g" y="%g" width="%g" height="%g"/>`,
						q.X+float64(col+templates.QuietZone)*m, q.Y+float64(row+templates.QuietZone)*m, m, m)
				}
			}
		}
	}
	b.WriteString("</svg>")
	return b.Bytes(), nil
}

// TestSecondWriter writes the food certificate's plan with a toy SVG writer and checks the file
// is well-formed and carries the text, the emblem's paths and every dark QR module.
func TestSecondWriter(t *testing.T) {
	tpl := food(t)
	f := loadFixtures(t)[0]
	p, err := templates.NewRenderer().Layout(tpl, f.doc())
	if err != nil {
		t.Fatal(err)
	}
	var w templates.Writer = svgWriter{}
	out, err := w.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var texts []string
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			for _, a := range tok.Attr {
				if a.Name.Local == "class" {
					name += "." + a.Value
				}
			}
			counts[name]++
		case xml.CharData:
			texts = append(texts, string(tok))
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{f.LicenceNumber, f.Fields["经营者名称"]} {
		if !strings.Contains(all, want) {
			t.Errorf("the SVG lacks the text %q", want)
		}
	}
	dark := 0
	for row := 0; row < p.QR.Modules(); row++ {
		for col := 0; col < p.QR.Modules(); col++ {
			if p.QR.Dark(col, row) {
				dark++
			}
		}
	}
	if dark == 0 || counts["rect.qr"] != dark {
		t.Errorf("%d QR rects, %d dark modules", counts["rect.qr"], dark)
	}
	if counts["path"] == 0 || counts["text"] != len(p.Runs) {
		t.Errorf("%d paths, %d texts for %d runs", counts["path"], counts["text"], len(p.Runs))
	}
}
