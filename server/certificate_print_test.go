package server_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"certseal/cmd/app/testenv"
	"certseal/internal/fixtures"
	"certseal/templates"
)

var updateCertPNG = flag.Bool("update-cert-png", false, "rewrite docs/certificate-*.png from an issued certificate")

// TestIssuedSealShowsTextThrough issues a food licence as a clerk does and renders its signed PDF
// with pdftoppm at 150 dpi next to the same page before signing (the bytes in front of the
// signature's incremental update): every black pixel under the seal, the strokes of 发证机关 and
// 发证日期, is still dark after signing, and the seal is red where the paper is blank. The
// certificate names its issuer as the sample record does: 广元市利州区行政审批局.
func TestIssuedSealShowsTextThrough(t *testing.T) {
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	e := testenv.Start(t)
	f := foodFixtures(t)[3]
	c := issue(t, e, "lizhou-clerk", issueRequest(f, sealOf(t, e, "lizhou-clerk"), "SC00000003"))
	if c.Values["发证机关"] != f.Fields["发证机关"] || c.IssuerName != "广元市利州区行政审批局" {
		t.Errorf("发证机关 %q (issuer %q), the sample record says %q", c.Values["发证机关"], c.IssuerName, f.Fields["发证机关"])
	}
	signed := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	end := bytes.Index(signed, []byte("%%EOF\n"))
	if end < 0 {
		t.Fatal("no end-of-file marker in the PDF")
	}
	before, after := fixtures.RenderPage(t, signed[:end+6], 150), fixtures.RenderPage(t, signed, 150)

	var tpl *templates.Template
	for _, b := range templates.Builtin() {
		if b.ID == "food-business-licence" {
			tpl = b
		}
	}
	if tpl == nil {
		t.Fatal("no built-in food licence template")
	}
	sp := tpl.Seal()
	px := 150 / 25.4
	cx, cy, r := sp.X*px, sp.Y*px, (sp.Diameter/2-1)*px
	ink := fixtures.SealInk(before, after, image.Rect(int(cx-r), int(cy-r), int(cx+r)+1, int(cy+r)+1),
		func(x, y int) bool { return math.Hypot(float64(x)-cx, float64(y)-cy) <= r })
	dark, keptDark, red := ink.Dark, ink.KeptDark, ink.Red
	if dark < 300 {
		t.Fatalf("only %d black pixels under the seal before signing: the issuer and date are not under it", dark)
	}
	if keptDark != dark {
		t.Errorf("%d of the %d black pixels of the text under the seal are no longer dark: the seal hides 发证机关 and 发证日期", dark-keptDark, dark)
	}
	if red < 5000 {
		t.Errorf("only %d seal-red pixels on blank paper under the seal", red)
	}

	if *updateCertPNG {
		d := sp.Diameter * px
		crop(t, after, image.Rect(int(cx-d*0.9), int(cy-d*0.75), int(cx+d*0.75), int(cy+d*0.75)), filepath.Join("..", "docs", "certificate-seal-over-date.png"))
		q := tpl.QR
		qr := fixtures.RenderPage(t, signed, 120)
		k := 120 / 25.4
		crop(t, qr, image.Rect(int((q.X-2)*k), int((q.Y-2)*k), int((q.X+q.Size+22)*k), int((q.Y+q.Size+2)*k)), filepath.Join("..", "docs", "certificate-qr.png"))
		full := fixtures.RenderPage(t, signed, 100)
		crop(t, full, full.Bounds(), filepath.Join("..", "docs", "certificate-food-licence.png"))
	}
}

// crop writes the part r of img to file as a PNG.
func crop(t *testing.T, img image.Image, r image.Rectangle, file string) {
	t.Helper()
	sub := img.(interface {
		SubImage(image.Rectangle) image.Image
	}).SubImage(r.Intersect(img.Bounds()))
	var b bytes.Buffer
	if err := png.Encode(&b, sub); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
