package templates_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/fixtures"
	"certseal/templates"
)

const closing = "。，、；：？！）》」』"
const opening = "（《「『"

func TestBreakLinesKinsoku(t *testing.T) {
	const size = 10.0
	em := size * 25.4 / 72 // one CJK character, in mm
	tests := []struct {
		name  string
		text  string
		chars float64 // box width in characters
		want  []string
	}{
		{"fits", "食品经营许可", 6, []string{"食品经营许可"}},
		{"plain break", "食品经营许可证件", 6, []string{"食品经营许可", "证件"}},
		{"comma does not start a line", "食品经营许可，证件", 6, []string{"食品经营许", "可，证件"}},
		{"full stop does not start a line", "一二三四五六。七", 6, []string{"一二三四五", "六。七"}},
		{"two closers move together", "一二三四五六）。七", 6, []string{"一二三四五", "六）。七"}},
		{"opening bracket does not end a line", "一二三四五（六）", 6, []string{"一二三四五", "（六）"}},
		{"opening book mark", "一二三四五《六》", 6, []string{"一二三四五", "《六》"}},
		{"ASCII run stays whole", "编号JY15108027748801号", 9, []string{"编号", "JY15108027748801号"}},
		{"newline", "第一行\n第二行", 10, []string{"第一行", "第二行"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := templates.BreakLines(tt.text, tt.chars*em+0.01, size)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("BreakLines(%q, %g chars) = %q, want %q", tt.text, tt.chars, got, tt.want)
			}
		})
	}
}

// TestBreakLinesRulesHold breaks every fixture 经营项目 at several widths and checks no line
// starts with a closing mark or ends with an opening one, and nothing is lost.
func TestBreakLinesRulesHold(t *testing.T) {
	fs := loadFixtures(t)
	for _, f := range fs {
		for _, text := range []string{f.Fields["经营项目"], f.Fields["住所"], f.Fields["主体业态"]} {
			for chars := 5; chars <= 24; chars++ {
				lines := templates.BreakLines(text, float64(chars)*12*25.4/72+0.01, 12)
				if strings.Join(lines, "") != text {
					t.Fatalf("BreakLines(%q, %d) lost text: %q", text, chars, lines)
				}
				for i, l := range lines {
					first, _ := utf8.DecodeRuneInString(l)
					last, _ := utf8.DecodeLastRuneInString(l)
					if i > 0 && strings.ContainsRune(closing, first) {
						t.Errorf("line %d of %q at %d chars starts with %q: %q", i, text, chars, first, lines)
					}
					if i < len(lines)-1 && strings.ContainsRune(opening, last) {
						t.Errorf("line %d of %q at %d chars ends with %q: %q", i, text, chars, last, lines)
					}
					if n := ems(l); n > float64(chars)+0.01 {
						t.Errorf("line %q is %g em wide, box holds %d", l, n, chars)
					}
				}
			}
		}
	}
}

// ems approximates the width of s in em: CJK characters are square, ASCII is half width.
func ems(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r < 0x80 {
			w += 0.5
		} else {
			w++
		}
	}
	return w
}

// TestShrinkThenRefuse checks a long value is set smaller rather than overflowing, and one that
// cannot fit even at the minimum size is refused with the field named.
func TestShrinkThenRefuse(t *testing.T) {
	tpl := food(t)
	r := templates.NewRenderer()
	base := loadFixtures(t)[0]
	v := map[string]string{}
	for k, x := range base.Fields {
		v[k] = x
	}
	v["经营项目"] = strings.Repeat("预包装食品销售、", 20) // 160 characters: shrinks
	pdf, err := r.Render(tpl, templates.Document{Values: v, LicenceNumber: base.LicenceNumber, Created: created})
	if err != nil {
		t.Fatalf("Render with a long 经营项目: %v", err)
	}
	if len(pdf) == 0 {
		t.Fatal("empty PDF")
	}
	m := minimal()
	field(m, 0)["box"] = map[string]any{"x": 50, "y": 50, "w": 30, "h": 10, "font_size": 12, "wrap": true}
	small, err := templates.Parse(mustJSON(t, m))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(small, templates.Document{Values: map[string]string{"名称": strings.Repeat("食", 20)}}); err != nil {
		t.Errorf("20 characters in a 30x10 mm box: %v, want them shrunk to fit", err)
	}
	_, err = r.Render(small, templates.Document{Values: map[string]string{"名称": strings.Repeat("食", 100)}})
	if errCode(err) != certseal.EInvalid || detail(err, "field") != "名称" {
		t.Fatalf("100 characters in a 30x10 mm box: %v, want EInvalid naming 名称", err)
	}
	if msg := certseal.ErrorMessage(err); !strings.Contains(msg, "名称") || !strings.Contains(msg, "放不下") {
		t.Errorf("message = %q", msg)
	}
	// A single-line box never wraps: a name too wide even at the minimum size is refused.
	v["经营项目"] = base.Fields["经营项目"]
	v["签发人"] = strings.Repeat("任", 10)
	if _, err := r.Render(tpl, templates.Document{Values: v, Created: created}); err != nil {
		t.Fatalf("Render with a 10-character 签发人: %v", err)
	}
}

func TestDeterministic(t *testing.T) {
	r := templates.NewRenderer()
	f := loadFixtures(t)[1]
	a, err := r.Render(food(t), f.doc())
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Render(food(t), f.doc())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two renders of the same document differ")
	}
	d := f.doc()
	d.Created = created.Add(time.Hour)
	c, err := r.Render(food(t), d)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, c) {
		t.Error("a different creation date gave the same bytes")
	}
}

// TestOneSubsetFont checks with pdffonts that each PDF embeds exactly one font, a subset.
func TestOneSubsetFont(t *testing.T) {
	bin := fixtures.NeedTool(t, "pdffonts", "poppler-utils")
	r := templates.NewRenderer()
	samples := loadSamples(t)
	for _, tpl := range templates.Builtin() {
		s := samples[tpl.ID]
		for _, mode := range []templates.Mode{templates.Full, templates.Overlay} {
			pdf, err := r.Render(tpl, templates.Document{Values: s.Values, LicenceNumber: s.LicenceNumber, QRPayload: s.QRPayload, Mode: mode, Created: created})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "c.pdf")
			if err := os.WriteFile(p, pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, p).Output()
			if err != nil {
				t.Fatalf("pdffonts: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 3 {
				t.Fatalf("%s %s: pdffonts shows %d fonts, want 1:\n%s", tpl.ID, mode, len(lines)-2, out)
			}
			f := strings.Fields(lines[2])
			// name type... encoding emb sub uni object ID
			if len(f) < 7 || !strings.Contains(f[0], "+") || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
				t.Errorf("%s %s: font line %q, want an embedded subset with a ToUnicode map", tpl.ID, mode, lines[2])
			}
		}
	}
}

func TestOverlay(t *testing.T) {
	tpl := food(t)
	f := loadFixtures(t)[0]
	d := f.doc()
	d.Mode = templates.Overlay
	d.OffsetX, d.OffsetY = 2, 3
	pdf, err := templates.NewRenderer().Render(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	text := pdftotext(t, pdf)
	for _, absent := range []string{"食 品 经 营 许 可 证", "经 营 者 名 称", "扫码核验"} {
		if strings.Contains(text, absent) {
			t.Errorf("overlay carries background text %q", absent)
		}
	}
	for _, present := range []string{f.Fields["经营者名称"], f.LicenceNumber} {
		if !strings.Contains(text, present) {
			t.Errorf("overlay lacks %q", present)
		}
	}
	d.OffsetX = 100
	if _, err := templates.NewRenderer().Render(tpl, d); errCode(err) != certseal.EInvalid {
		t.Errorf("offset of 100 mm: %v, want EInvalid", err)
	}
}

func TestLicenceNumberTwice(t *testing.T) {
	f := loadFixtures(t)[0]
	d := f.doc()
	d.LicenceNumber = "JY00000000000000"
	_, err := templates.NewRenderer().Render(food(t), d)
	if errCode(err) != certseal.EInvalid || detail(err, "field") != "许可证编号" {
		t.Errorf("Render with two licence numbers: %v", err)
	}
}

func TestQRRects(t *testing.T) {
	rects, modules, err := templates.QRRects("https://certseal.example/verify?no=JY15108027748801&sig=035bc2c3")
	if err != nil {
		t.Fatal(err)
	}
	if modules < 21 || rects == 0 || rects > modules*modules/2 {
		t.Errorf("QRRects = %d rects for %d modules", rects, modules)
	}
	if _, _, err := templates.QRRects(strings.Repeat("x", 5000)); err == nil {
		t.Error("a 5000-byte payload encoded")
	}
	d := loadFixtures(t)[0].doc()
	d.QRPayload = strings.Repeat("x", 5000)
	if _, err := templates.NewRenderer().Render(food(t), d); errCode(err) != certseal.EInvalid {
		t.Errorf("Render with a 5000-byte QR payload: %v, want EInvalid", err)
	}
}

// TestAllFixtures renders every one of the 200 shared records.
func TestAllFixtures(t *testing.T) {
	fs := loadFixtures(t)
	r := templates.NewRenderer()
	tpl := food(t)
	for i, f := range fs {
		if err := tpl.CheckValues(f.Fields); err != nil {
			t.Errorf("fixture %d (%s): CheckValues: %v", i, f.LicenceNumber, err)
			continue
		}
		if _, err := r.Render(tpl, f.doc()); err != nil {
			t.Errorf("fixture %d (%s): Render: %v", i, f.LicenceNumber, err)
		}
	}
}

// TestConcurrentRender renders from many goroutines at once (run with -race) and checks every
// result equals the one rendered alone.
func TestConcurrentRender(t *testing.T) {
	fs := loadFixtures(t)
	r := templates.NewRenderer()
	tpl := food(t)
	want := make([][]byte, len(fs))
	for i, f := range fs {
		b, err := r.Render(tpl, f.doc())
		if err != nil {
			t.Fatal(err)
		}
		want[i] = b
	}
	const goroutines, each = 8, 6
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := 0; k < each; k++ {
				i := (g + k) % len(fs)
				b, err := r.Render(tpl, fs[i].doc())
				if err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(b, want[i]) {
					errs <- fmt.Errorf("goroutine %d: document %d differs from the sequential render", g, i)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
