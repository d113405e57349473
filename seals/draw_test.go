package seals_test

import (
	"bytes"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal"
	"certseal/seals"
)

var update = flag.Bool("update", false, "rewrite docs/seals/*.png")

var lizhou = seals.Appearance{OrgName: "广元市利州区行政审批局", SealName: "行政审批专用章", Code: "5108020012345"}

func TestDrawLizhou(t *testing.T) {
	p, err := seals.Draw(lizhou)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.PNG(16)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("png does not decode: %v", err)
	}
	if got := img.Bounds().Dx(); got != 42*16 {
		t.Errorf("width: got %d, want %d", got, 42*16)
	}
	// The corner is transparent, the ring at the left edge's middle is red.
	if _, _, _, a := img.At(2, 2).RGBA(); a != 0 {
		t.Errorf("corner alpha: got %d, want 0", a)
	}
	if r, g, _, a := img.At(8, 42*8).RGBA(); a < 0xf000 || r < 0xd000 || g > 0x1000 {
		t.Errorf("ring pixel: got r=%x g=%x a=%x, want opaque red", r, g, a)
	}
	svg := p.SVG()
	if !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte(`viewBox="0 0 42 42"`)) {
		t.Errorf("svg: got %.80s", svg)
	}
	if *update {
		if err := os.WriteFile(filepath.Join("..", "docs", "seals", "lizhou-seal.png"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDrawRejects(t *testing.T) {
	for name, a := range map[string]seals.Appearance{
		"empty org":    {SealName: "x"},
		"letters code": {OrgName: "利州区行政审批局", Code: "51080A"},
		"tiny":         {OrgName: "利州区行政审批局", DiameterMM: 5},
		"long org":     {OrgName: strings.Repeat("局", 30)},
	} {
		if _, err := seals.Draw(a); certseal.ErrorCode(err) != certseal.EInvalid {
			t.Errorf("%s: got %v, want %s", name, err, certseal.EInvalid)
		}
	}
}
