package templates_test

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"certseal/templates"
)

// svgElems decodes an SVG and returns its start elements in order; it fails the test on
// malformed XML.
func svgElems(t *testing.T, out []byte) []xml.StartElement {
	t.Helper()
	var els []xml.StartElement
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return els
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			els = append(els, se.Copy())
		}
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// TestSVGWriterFollowsPlan writes sample record 0 on the food licence as SVG and checks it
// against the plan: one group per text run carrying its text, the first glyph of every run at
// the run's baseline-left point, the QR code's dark area equal to the plan's dark modules,
// the seal marked at its centre, and nothing active (no script, no event attribute, no
// reference outside the document).
func TestSVGWriterFollowsPlan(t *testing.T) {
	f := loadFixtures(t)[0]
	p, err := templates.NewRenderer().Layout(food(t), f.doc())
	if err != nil {
		t.Fatal(err)
	}
	var w templates.Writer = templates.SVGWriter{}
	if w.Format() != "svg" {
		t.Fatalf("Format() = %q", w.Format())
	}
	out, err := w.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("CERTSEAL_SVG_OUT") != "" {
		os.WriteFile(os.Getenv("CERTSEAL_SVG_OUT"), out, 0o644) //nolint:errcheck // a debugging aid
	}
	again, _ := w.Write(p)
	if !bytes.Equal(out, again) {
		t.Error("the same plan gave different SVG bytes")
	}
	els := svgElems(t, out)
	if els[0].Name.Local != "svg" || attr(els[0], "viewBox") != "0 0 "+ftoa(p.Width)+" "+ftoa(p.Height) || attr(els[0], "width") != ftoa(p.Width)+"mm" {
		t.Fatalf("root %v", els[0])
	}
	var runs []xml.StartElement
	var qrArea float64
	inRun, runIdx := false, -1
	seal := false
	for i, e := range els {
		n := e.Name.Local
		if n == "script" || n == "foreignObject" || n == "iframe" {
			t.Errorf("active element <%s>", n)
		}
		for _, a := range e.Attr {
			if strings.HasPrefix(strings.ToLower(a.Name.Local), "on") {
				t.Errorf("event attribute %s on <%s>", a.Name.Local, n)
			}
			if a.Name.Local == "href" && !strings.HasPrefix(a.Value, "#") && !strings.HasPrefix(a.Value, "data:image/") {
				t.Errorf("<%s> refers outside the document: %.60s", n, a.Value)
			}
		}
		switch {
		case n == "g" && attr(e, "class") == "run":
			runs = append(runs, e)
			inRun, runIdx = true, len(runs)-1
			// the first <use> of the run is the next element
			if i+1 < len(els) && els[i+1].Name.Local == "use" {
				r := p.Runs[runIdx]
				tr := attr(els[i+1], "transform")
				var x, y float64
				if _, err := fscanTranslate(tr, &x, &y); err != nil {
					t.Fatalf("run %d: transform %q: %v", runIdx, tr, err)
				}
				if math.Abs(x-r.X) > 0.001 || math.Abs(y-r.Y) > 0.001 {
					t.Errorf("run %d %q: first glyph at %.3f,%.3f, plan says %.3f,%.3f", runIdx, r.Text, x, y, r.X, r.Y)
				}
			}
		case n == "g" && attr(e, "class") == "qr":
			inRun = false
		case n == "rect" && !inRun && attr(e, "class") == "" && qrArea >= 0:
			// counted below from the qr group only
		case n == "g" && attr(e, "class") == "seal":
			seal = true
		case n == "circle" && seal:
			if attr(e, "cx") != strconv.FormatFloat(p.Seal.X, 'f', -1, 64) || attr(e, "r") != strconv.FormatFloat(p.Seal.Diameter/2, 'f', -1, 64) {
				t.Errorf("seal circle %v, plan %+v", e.Attr, p.Seal)
			}
		}
	}
	if !seal {
		t.Error("the seal position is not marked")
	}
	if len(runs) != len(p.Runs) {
		t.Fatalf("%d run groups for %d runs", len(runs), len(p.Runs))
	}
	for i, g := range runs {
		if want := strings.ReplaceAll(p.Runs[i].Text, "\n", " "); attr(g, "aria-label") != want {
			t.Errorf("run %d: aria-label %q, want %q", i, attr(g, "aria-label"), want)
		}
	}
	// The QR code: the rectangles of the qr group cover exactly the dark modules.
	qr := string(out[bytes.Index(out, []byte(`<g class="qr"`)):])
	qr = qr[:strings.Index(qr, "</g>")]
	m := p.QR.ModuleSize()
	for _, e := range svgElems(t, []byte(qr+"</g>")) {
		if e.Name.Local == "rect" {
			w, _ := strconv.ParseFloat(attr(e, "width"), 64)
			h, _ := strconv.ParseFloat(attr(e, "height"), 64)
			qrArea += w * h
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
	if want := float64(dark) * m * m; math.Abs(qrArea-want) > want*0.001 {
		t.Errorf("QR area %.3f mm², dark modules %.3f mm²", qrArea, want)
	}
	for _, s := range []string{f.LicenceNumber, f.Fields["经营者名称"]} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("the SVG lacks %q", s)
		}
	}
}

func fscanTranslate(s string, x, y *float64) (int, error) {
	s = strings.TrimPrefix(s, "translate(")
	s = s[:strings.IndexByte(s, ')')]
	parts := strings.Fields(s)
	var err error
	if *x, err = strconv.ParseFloat(parts[0], 64); err != nil {
		return 0, err
	}
	*y, err = strconv.ParseFloat(parts[1], 64)
	return 2, err
}

// TestSVGWriterEscapes: text with XML's special characters and a scan come out as data, and
// the boxes are drawn with their names.
func TestSVGWriterEscapes(t *testing.T) {
	tpl := food(t)
	d := tpl.SampleDocument()
	d.Values["经营者名称"] = `<script>alert("x")</script>&'`
	p, err := templates.NewRenderer().Layout(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	boxes := tpl.Boxes()
	boxes[0].Marked = true
	out, err := templates.SVGWriter{Boxes: boxes, HideSeal: true}.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("<script")) {
		t.Fatal("the value's <script> came out as markup")
	}
	els := svgElems(t, out)
	found, named := false, 0
	for _, e := range els {
		if attr(e, "aria-label") == d.Values["经营者名称"] {
			found = true
		}
		if attr(e, "class") == "box" {
			named++
		}
		if attr(e, "class") == "seal" {
			t.Error("HideSeal drew the seal")
		}
	}
	if !found || named != len(boxes) {
		t.Errorf("escaped text found %v, %d boxes drawn of %d", found, named, len(boxes))
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
