package seals_test

import (
	"bytes"
	"image"
	"testing"

	"certseal/internal/fixtures"
	"certseal/seals"

	"github.com/jung-kurt/gofpdf"
)

// TestSealInkShowsTextThrough signs a page with black text and a black bar under the seal and
// renders it with pdftoppm at 150 dpi: every pixel that is black before signing stays dark
// after (the seal is painted with the Multiply blend mode, like ink), while the seal is red
// where there is nothing under it. An opaque seal turns the covered black pixels red.
func TestSealInkShowsTextThrough(t *testing.T) {
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	f := newFixture(t)
	p := gofpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "B", 28)
	// The seal rect is 380..500 x 80..200 pt from the bottom-left: 134..176 mm across,
	// 226..268 mm down on a 297 mm page. Text and a bar across its middle.
	p.Text(128, 245, "2026 12 02")
	p.Rect(128, 250, 60, 3, "F")
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		t.Fatal(err)
	}
	signed, err := seals.SignPDF(b.Bytes(), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	before, after := fixtures.RenderPage(t, b.Bytes(), 150), fixtures.RenderPage(t, signed, 150)
	k := 150 / 72.0
	h := before.Bounds().Dy()
	ink := fixtures.SealInk(before, after, image.Rect(int(380*k), int(float64(h)-200*k), int(500*k), int(float64(h)-80*k)), nil)
	dark, keptDark, red := ink.Dark, ink.KeptDark, ink.Red
	if dark < 500 {
		t.Fatalf("only %d dark pixels under the seal before signing: the test page is wrong", dark)
	}
	if keptDark != dark {
		t.Errorf("%d of %d black pixels under the seal are no longer dark after signing: the seal hides the text", dark-keptDark, dark)
	}
	if red < 2000 {
		t.Errorf("only %d seal-red pixels where there is no text under the seal", red)
	}
}
