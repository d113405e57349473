package seals_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal"
	"certseal/seals"
)

func TestPictureFromPNG(t *testing.T) {
	drawn, err := seals.Draw(lizhou)
	if err != nil {
		t.Fatal(err)
	}
	scanPNG, err := drawn.PNG(6)
	if err != nil {
		t.Fatal(err)
	}
	p, err := seals.PictureFromPNG(scanPNG)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsScan() {
		t.Error("IsScan: got false")
	}
	if b, _ := p.PNG(0); !bytes.Equal(b, scanPNG) {
		t.Error("PNG(0) of a scan is not the upload")
	}
	if svg := p.SVG(); !bytes.Contains(svg, []byte("data:image/png;base64,")) {
		t.Errorf("svg of a scan: got %.100s", svg)
	}
	if ops := string(p.PDFOps(0, 0, 100)); !strings.Contains(ops, "/SealImage Do") {
		t.Errorf("pdf ops: got %q", ops)
	}

	// A signed PDF with the scan verifies and shows it.
	f := newFixture(t)
	o := f.opts()
	o.Picture = p
	signed, err := seals.SignPDF(gofpdfDoc(t), o)
	if err != nil {
		t.Fatal(err)
	}
	reps, err := seals.ValidatePDF(signed, f.roots(), signAt)
	if err != nil || len(reps) != 1 || !reps[0].Valid {
		t.Errorf("scan-sealed PDF: got %+v, %v", reps, err)
	}
	file := filepath.Join(t.TempDir(), "scan.pdf")
	_ = os.WriteFile(file, signed, 0o644)
	if out := pdfsig(t, file); !strings.Contains(out, "Signature is Valid.") {
		t.Errorf("pdfsig: got\n%s", out)
	}

	opaque := image.NewNRGBA(image.Rect(0, 0, 32, 32))
	for i := range opaque.Pix {
		opaque.Pix[i] = 0xff
	}
	var ob bytes.Buffer
	_ = png.Encode(&ob, opaque)
	gray := image.NewGray(image.Rect(0, 0, 32, 32))
	gray.Set(1, 1, color.Gray{Y: 9})
	var gb bytes.Buffer
	_ = png.Encode(&gb, gray)
	for name, data := range map[string][]byte{
		"not png":  []byte("GIF89a...."),
		"opaque":   ob.Bytes(),
		"no alpha": gb.Bytes(),
		"broken":   scanPNG[:len(scanPNG)/2],
	} {
		if _, err := seals.PictureFromPNG(data); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%s: got %v, want %s", name, err, certseal.EInvalid)
		}
	}
}
