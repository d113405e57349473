package seals_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
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
	before, after := render150(t, b.Bytes()), render150(t, signed)
	k := 150 / 72.0
	h := before.Bounds().Dy()
	var dark, keptDark, red int
	for y := int(float64(h) - 200*k); y < int(float64(h)-80*k); y++ {
		for x := int(380 * k); x < int(500*k); x++ {
			r0, g0, b0, _ := before.At(x, y).RGBA()
			r1, g1, b1, _ := after.At(x, y).RGBA()
			if r0 < 0x3000 && g0 < 0x3000 && b0 < 0x3000 {
				dark++
				if r1 < 0x4000 && g1 < 0x3000 && b1 < 0x3000 {
					keptDark++
				}
			} else if r0 > 0xf000 && g0 > 0xf000 && r1 > 0xb000 && g1 < 0x6000 && b1 < 0x6000 {
				red++
			}
		}
	}
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

// render150 renders the first page of pdf with pdftoppm at 150 dpi.
func render150(t *testing.T, pdf []byte) image.Image {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("pdftoppm", "-png", "-r", "150", "-singlefile", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
