package templates_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"certseal/internal/fixtures"
	"certseal/templates"
)

// Rare characters of people's and companies' names: 刏 and 匃 are GBK characters AR PL UMing
// lacks, 䶮 (U+4DAE) is a CJK Extension A character of GB 18030 outside GBK.
const rareName = "广元市利州区刏匃商贸有限公司"

func rareDoc(t *testing.T) (*templates.Template, templates.Document) {
	t.Helper()
	tpl := food(t)
	d := tpl.SampleDocument()
	d.Values["经营者名称"] = rareName
	d.Values["法定代表人（负责人）"] = "王䶮"
	d.Values["经营项目"] = "预包装食品销售、散装食品销售（匃记）、热食类食品制售、自制饮品制售，刏"
	d.Created = created
	return tpl, d
}

// TestFallbackRareCharacters renders a name with characters only the fallback font has: the
// text comes back out of the PDF, and the PDF embeds two subset fonts.
func TestFallbackRareCharacters(t *testing.T) {
	for _, r := range "刏匃䶮" {
		if !templates.CanDraw(r) {
			t.Fatalf("CanDraw(%q) = false, want the fallback to draw it", r)
		}
	}
	tpl, d := rareDoc(t)
	if err := tpl.CheckValues(d.Values); err != nil {
		t.Fatal(err)
	}
	r := templates.NewRenderer()
	pdf, err := r.Render(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := r.Render(tpl, d)
	if !bytes.Equal(pdf, again) {
		t.Error("a document with fallback characters is not deterministic")
	}
	text := strings.Join(strings.Fields(pdftotext(t, pdf)), "")
	for _, want := range []string{rareName, "王䶮", "（匃记）"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lost %q; got %q", want, text)
		}
	}
	fonts := pdfFonts(t, pdf)
	if len(fonts) != 2 || !strings.HasSuffix(fonts[0], "+UMingCN") || !strings.HasSuffix(fonts[1], "+GBKMing") {
		t.Errorf("pdffonts: %q, want the UMingCN subset and the GBKMing subset", fonts)
	}
	if *update {
		writePNG(t, pdf, filepath.Join("..", "docs", "templates", "rare-characters"))
	}
}

// pdfFonts returns the font names pdffonts lists, each checked to be an embedded subset with a
// ToUnicode map. It skips the test when pdffonts is missing.
func pdfFonts(t *testing.T, pdf []byte) []string {
	t.Helper()
	bin := fixtures.NeedTool(t, "pdffonts", "poppler-utils")
	p := filepath.Join(t.TempDir(), "c.pdf")
	if err := os.WriteFile(p, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, p).Output()
	if err != nil {
		t.Fatalf("pdffonts: %v", err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n")[2:] {
		f := strings.Fields(l)
		if len(f) < 7 || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
			t.Errorf("font line %q, want an embedded subset with a ToUnicode map", l)
		}
		names = append(names, f[0])
	}
	return names
}
