package templates_test

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// cells averages the darkness (0 white .. 1 black) of img over a cols x rows grid.
func cells(img image.Image, cols, rows int) []float64 {
	b := img.Bounds()
	out := make([]float64, cols*rows)
	n := make([]int, cols*rows)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		r := (y - b.Min.Y) * rows / b.Dy()
		for x := b.Min.X; x < b.Max.X; x++ {
			c := (x - b.Min.X) * cols / b.Dx()
			cr, cg, cb, _ := img.At(x, y).RGBA()
			out[r*cols+c] += 1 - float64(cr+cg+cb)/(3*0xffff)
			n[r*cols+c]++
		}
	}
	for i := range out {
		if n[i] > 0 {
			out[i] /= float64(n[i])
		}
	}
	return out
}

// shifted returns img moved dx pixels to the right on white.
func shifted(img image.Image, dx int) image.Image {
	b := img.Bounds()
	out := image.NewRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if sx := x - dx; sx >= b.Min.X && sx < b.Max.X {
				out.Set(x, y, img.At(sx, y))
			} else {
				out.Set(x, y, image.White)
			}
		}
	}
	return out
}

// layoutDiff compares two renderings of a page on a grid of about 2 mm cells: the share of
// cells whose darkness differs by more than 0.12. Glyph shapes differ between readers (ofd.js
// draws the text in the browser's CJK font), the boxes and line breaks do not.
func layoutDiff(a, b image.Image, cols, rows int) float64 {
	ca, cb := cells(a, cols, rows), cells(b, cols, rows)
	bad := 0
	for i := range ca {
		if math.Abs(ca[i]-cb[i]) > 0.12 {
			bad++
		}
	}
	return float64(bad) / float64(len(ca))
}

// TestOFDRendersLikePDF renders a food licence's OFD with ofd.js in Chromium and its PDF with
// pdftoppm and compares the two on a grid of 2 mm cells. It also checks that the comparison
// catches a wrong layout: the PDF page moved 2 mm, and another record's PDF, must both differ
// by more than the tolerance. With -update it writes docs/certificate-ofd-unsigned.png (ofd.js)
// and docs/certificate-ofd-pdf.png (pdftoppm, the same record) to look at side by side; the
// sealed OFD, docs/certificate-ofd.png, is written by the seals test.
func TestOFDRendersLikePDF(t *testing.T) {
	p, pkg := foodOFD(t, 0)
	shot, res := fixtures.RenderOFD(t, pkg, 1123)
	if res.Pages != 1 {
		t.Fatalf("ofd.js rendered %d pages", res.Pages)
	}
	// Every character of every run is there as text (ofd.js draws one <text> per glyph).
	all := strings.Join(res.Texts, "")
	for _, run := range p.Runs {
		if !strings.Contains(all, strings.ReplaceAll(run.Text, " ", "")) {
			t.Errorf("ofd.js text lacks %q", run.Text)
		}
	}
	w := shot.Bounds().Dx()
	if ratio := float64(shot.Bounds().Dy()) / float64(w); math.Abs(ratio-p.Height/p.Width) > 0.01 {
		t.Errorf("ofd.js page %v, want the aspect of %gx%g mm", shot.Bounds(), p.Width, p.Height)
	}
	dpi := int(math.Round(float64(w) / (p.Width / 25.4)))
	pdf, err := templates.PDFWriter{}.Write(p)
	if err != nil {
		t.Fatal(err)
	}
	ref := fixtures.RenderPage(t, pdf, dpi)
	cols, rows := int(p.Width/2), int(p.Height/2)
	const tolerance = 0.02
	got := layoutDiff(shot, ref, cols, rows)
	t.Logf("ofd.js vs pdftoppm: %.2f%% of %d cells differ (tolerance %.0f%%)", got*100, cols*rows, tolerance*100)
	if got > tolerance {
		t.Errorf("the OFD renders differently from the PDF: %.2f%% of the cells differ, tolerance %.0f%%", got*100, tolerance*100)
	}
	pxPerMM := float64(w) / p.Width
	moved := layoutDiff(shot, shifted(ref, int(2*pxPerMM)), cols, rows)
	if moved <= tolerance {
		t.Errorf("the comparison misses a layout moved by 2 mm: %.2f%% differ", moved*100)
	}
	other, err := templates.NewRenderer().Render(food(t), loadFixtures(t)[7].doc())
	if err != nil {
		t.Fatal(err)
	}
	otherDiff := layoutDiff(shot, fixtures.RenderPage(t, other, dpi), cols, rows)
	if otherDiff <= tolerance {
		t.Errorf("the comparison misses another record's page: %.2f%% differ", otherDiff*100)
	}
	t.Logf("controls: moved 2 mm %.2f%%, another record %.2f%%", moved*100, otherDiff*100)
	if *update {
		for name, img := range map[string]image.Image{"certificate-ofd-unsigned.png": shot, "certificate-ofd-pdf.png": ref} {
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join("..", "docs", name), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
