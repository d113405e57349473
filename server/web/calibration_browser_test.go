package web_test

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// TestCalibrationBrowser: a window clerk opens the calibration page, the calibration sheet has
// its crosshair labels where the sheet says (pdftotext -bbox), the clerk enters where the centre
// crosshair landed (1.5 mm right and 2 mm up of where it belongs), the offset is stored on the
// bureau, the overlay preview shows, and the certificate's overlay print moves by exactly the
// offset against the same print before.
func TestCalibrationBrowser(t *testing.T) {
	fixtures.NeedTool(t, "chromium", "chromium")
	fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	w := startWeb(t, "lizhou-clerk")
	c := issue(t, w.Env, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, w.Env, "lizhou-clerk"), "SC00000001"))
	before := bboxWords(t, w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/print.pdf", "lizhou-clerk", nil).Body)

	sheet := w.Must(200, "GET", "/api/v1/calibration.pdf", "lizhou-clerk", nil).Body
	found := 0
	for _, wd := range bboxWords(t, sheet) {
		for _, m := range templates.CalibrationMarks {
			// The label "x 105  y 148.5 毫米" starts 4 mm beside its crosshair (left of it on the right half).
			if wd.text == "x" && math.Abs(wd.y2-(m[1]-4)) < 1.5 && (math.Abs(wd.x1-(m[0]+4)) < 0.5 || (m[0] > 115 && wd.x1 < m[0]-4 && wd.x1 > m[0]-30)) {
				found++
			}
		}
	}
	if found != len(templates.CalibrationMarks) {
		t.Errorf("%d of %d crosshair labels where they belong", found, len(templates.CalibrationMarks))
	}
	if dir := os.Getenv("CERTSEAL_SCREENSHOTS"); dir != "" {
		p := filepath.Join(t.TempDir(), "sheet.pdf")
		os.WriteFile(p, sheet, 0o644) //nolint:errcheck // checked by pdftoppm
		if out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", p, filepath.Join(dir, "calibration-sheet")).CombinedOutput(); err != nil {
			t.Fatalf("pdftoppm: %v %s", err, out)
		}
	}

	ctx := newBrowser(t)
	w.browserLogin(t, ctx, "lizhou-clerk")
	run(t, ctx, "calibrate",
		chromedp.Navigate(w.URL+"/calibration"),
		chromedp.WaitVisible(chromedp.ID("#measured_x")),
		chromedp.SendKeys(chromedp.ID("#measured_x"), "103.5"),
		chromedp.SendKeys(chromedp.ID("#measured_y"), "150.5"),
		chromedp.Click(chromedp.ID("#save-offset")),
		waitText(".flash", "已保存本单位的套打偏移"),
		browserWait(`document.getElementById('overlay-preview').complete && document.getElementById('overlay-preview').naturalWidth > 300`),
	)
	if x, y := text(t, ctx, "#offset-x"), text(t, ctx, "#offset-y"); x != "1.5" || y != "-2.0" {
		t.Fatalf("offset shown %s, %s; want 1.5, -2.0", x, y)
	}
	shot(t, ctx, "calibration-page")
	run(t, ctx, "a bad measurement",
		chromedp.SendKeys(chromedp.ID("#measured_x"), "60"),
		chromedp.SendKeys(chromedp.ID("#measured_y"), "一百"),
		chromedp.Click(chromedp.ID("#save-offset")),
		waitText("#error", "中心十字到上边的距离"),
	)
	if x := text(t, ctx, "#offset-x"); x != "1.5" {
		t.Fatalf("a refused measurement changed the offset to %s", x)
	}

	after := bboxWords(t, w.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/print.pdf", "lizhou-clerk", nil).Body)
	if len(after) != len(before) || len(before) == 0 {
		t.Fatalf("%d words before, %d after", len(before), len(after))
	}
	for i := range before {
		dx, dy := after[i].x1-before[i].x1, after[i].y1-before[i].y1
		if math.Abs(dx-1.5) > 0.05 || math.Abs(dy+2) > 0.05 || after[i].text != before[i].text {
			t.Fatalf("word %q moved %.2f, %.2f mm; want 1.5, -2", before[i].text, dx, dy)
		}
	}
	if !strings.Contains(eval(t, ctx, `document.getElementById('overlay-preview').src`), "/calibration/preview.svg") {
		t.Error("the preview is not the overlay SVG")
	}
}
