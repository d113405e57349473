package seals_test

import (
	"bytes"
	"image/png"
	"testing"
)

// redPixels counts seal-red pixels of a rendered A4 page (dpi) inside the rectangle given in
// PDF points from the bottom-left corner.
func redPixels(t *testing.T, pngData []byte, llx, lly, urx, ury, dpi float64) int {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	h := img.Bounds().Dy()
	k := dpi / 72
	n := 0
	for y := int(float64(h) - ury*k); y < int(float64(h)-lly*k); y++ {
		for x := int(llx * k); x < int(urx*k); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r > 0xb000 && g < 0x6000 && b < 0x6000 {
				n++
			}
		}
	}
	return n
}
