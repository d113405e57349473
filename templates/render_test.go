package templates_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ and the PNGs under docs/templates/")

// created is the fixed creation date of every test PDF.
var created = time.Date(2024, 4, 16, 9, 30, 0, 0, time.UTC)

type sample struct {
	LicenceNumber string            `json:"licence_number"`
	QRPayload     string            `json:"qr_payload"`
	Values        map[string]string `json:"values"`
}

func loadSamples(t testing.TB) map[string]sample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]sample
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fixture is one record of the repository's testdata/food-licence-samples.json.
type fixture fixtures.Food

// loadFixtures returns the 200 shared sample records.
func loadFixtures(t testing.TB) []fixture {
	t.Helper()
	recs := fixtures.FoodRecords(t)
	fs := make([]fixture, len(recs))
	for i, r := range recs {
		fs[i] = fixture(r)
	}
	return fs
}

func (f fixture) doc() templates.Document {
	return templates.Document{Values: f.Fields, LicenceNumber: f.LicenceNumber, QRPayload: f.VerifyURL, Created: created}
}

func food(t testing.TB) *templates.Template {
	t.Helper()
	tpl, ok := templates.BuiltinByID("food-business-licence")
	if !ok {
		t.Fatal("no built-in food-business-licence")
	}
	return tpl
}

func errCode(err error) string { return certseal.ErrorCode(err) }

func detail(err error, key string) any {
	var e *certseal.Error
	if errors.As(err, &e) {
		return e.Detail[key]
	}
	return nil
}

func pdftotext(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	p := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", p, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// TestRenderBuiltins renders every built-in template with its sample values in both modes,
// checks the text comes back out, and keeps golden PDFs (and PNGs for the docs with -update).
func TestRenderBuiltins(t *testing.T) {
	samples := loadSamples(t)
	r := templates.NewRenderer()
	for _, tpl := range templates.Builtin() {
		s, ok := samples[tpl.ID]
		if !ok {
			t.Fatalf("no sample values for %s", tpl.ID)
		}
		for _, mode := range []templates.Mode{templates.Full, templates.Overlay} {
			t.Run(tpl.ID+"/"+mode.String(), func(t *testing.T) {
				d := templates.Document{Values: s.Values, LicenceNumber: s.LicenceNumber, QRPayload: s.QRPayload,
					Mode: mode, Created: created}
				if mode == templates.Overlay {
					d.OffsetX, d.OffsetY = 1.5, -2
				}
				pdf, err := r.Render(tpl, d)
				if err != nil {
					t.Fatalf("Render: %v", err)
				}
				golden := filepath.Join("testdata", tpl.ID+"."+mode.String()+".pdf")
				if *update {
					if err := os.WriteFile(golden, pdf, 0o644); err != nil {
						t.Fatal(err)
					}
					if mode == templates.Full {
						writePNG(t, pdf, filepath.Join("..", "docs", "templates", tpl.ID))
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("golden file missing (run go test ./templates -update): %v", err)
				}
				if !bytes.Equal(pdf, want) {
					t.Errorf("PDF differs from %s (%d bytes, want %d); run with -update if the change is intended", golden, len(pdf), len(want))
				}
				text := strings.Join(strings.Fields(pdftotext(t, pdf)), "")
				for name, v := range s.Values {
					v = strings.Join(strings.Fields(v), "")
					if len([]rune(v)) > 12 { // wrapped values come out line by line
						v = string([]rune(v)[:12])
					}
					if f, _ := tpl.Field(name); f.Type == "date" && !strings.Contains(v, "年") {
						continue
					}
					if !strings.Contains(text, v) {
						t.Errorf("pdftotext lost %s=%q; got %q", name, v, text)
					}
				}
				if mode == templates.Full && !strings.Contains(text, strings.Join(strings.Fields(firstTitle(tpl)), "")) {
					t.Errorf("pdftotext lost the title %q; got %q", firstTitle(tpl), text)
				}
			})
		}
	}
}

func firstTitle(tpl *templates.Template) string {
	for _, e := range tpl.Background {
		if e.Type == "text" {
			return ""
		}
	}
	return ""
}

func writePNG(t *testing.T, pdf []byte, base string) {
	t.Helper()
	bin := fixtures.NeedTool(t, "pdftoppm", "poppler-utils")
	p := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-png", "-r", "80", "-singlefile", p, base).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
}
