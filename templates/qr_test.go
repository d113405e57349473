package templates_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// TestQRReadableAtLowResolution renders every built-in template with a signed short URL as long
// as the service writes (133 alphanumeric characters) and reads the QR code back with zbarimg:
// the e-certificate from 120 dpi, the overlay print (shifted by a calibration offset) from
// 100 dpi.
func TestQRReadableAtLowResolution(t *testing.T) {
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	fixtures.NeedTool(t, "zbarimg", "zbar-tools")
	samples := loadSamples(t)
	r := templates.NewRenderer()
	for _, tpl := range templates.Builtin() {
		s := samples[tpl.ID]
		if len(s.QRPayload) < 130 {
			t.Fatalf("%s: the sample QR payload %q is not a signed short URL", tpl.ID, s.QRPayload)
		}
		for _, tc := range []struct {
			mode templates.Mode
			dpi  string
		}{{templates.Full, "120"}, {templates.Overlay, "100"}} {
			d := templates.Document{Values: s.Values, LicenceNumber: s.LicenceNumber, QRPayload: s.QRPayload, Mode: tc.mode, Created: created}
			if tc.mode == templates.Overlay {
				d.OffsetX, d.OffsetY = 1.5, -2
			}
			pdf, err := r.Render(tpl, d)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "c.pdf")
			if err := os.WriteFile(file, pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("pdftoppm", "-png", "-r", tc.dpi, "-singlefile", file, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
				t.Fatalf("pdftoppm: %v %s", err, out)
			}
			out, err := exec.Command("zbarimg", "-q", "--raw", filepath.Join(dir, "page.png")).Output()
			if got := strings.TrimSpace(string(out)); err != nil || got != s.QRPayload {
				t.Errorf("%s %s at %s dpi: zbarimg read %q (%v), want %q", tpl.ID, tc.mode, tc.dpi, got, err, s.QRPayload)
			}
		}
	}
}

// TestQRAlphanumericMode checks that a payload in the QR alphanumeric character set is encoded
// in that mode: the 133 characters of a signed short URL fit version 6 (41 modules) at level M,
// where bytes would need version 8 (49 modules). A lower-case URL falls back to bytes.
func TestQRAlphanumericMode(t *testing.T) {
	upper := "HTTPS://ZWFW.CNGY.GOV.CN/V/1T." + strings.Repeat("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 4)[:103]
	for _, tc := range []struct {
		payload string
		modules int
	}{{upper, 41}, {strings.ToLower(upper), 49}} {
		_, modules, err := templates.QRRects(tc.payload)
		if err != nil || modules != tc.modules {
			t.Errorf("QRRects(%.30q…): %d modules, %v; want %d", tc.payload, modules, err, tc.modules)
		}
	}
}
