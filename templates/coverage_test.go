package templates_test

import (
	"testing"
	"unicode"

	"golang.org/x/text/encoding/simplifiedchinese"

	"certseal/templates"
)

// TestCoverage measures the share of GBK, and of the CJK characters of the GB 18030 BMP, that
// the embedded font can draw, and holds it to the level the font had when it was chosen.
func TestCoverage(t *testing.T) {
	dec := simplifiedchinese.GBK.NewDecoder()
	var total, covered, hanTotal, hanCovered, gb2312, gb2312Covered int
	var missing, gbMissing []rune
	for lead := 0x81; lead <= 0xFE; lead++ {
		for trail := 0x40; trail <= 0xFE; trail++ {
			if trail == 0x7F {
				continue
			}
			out, err := dec.Bytes([]byte{byte(lead), byte(trail)})
			if err != nil {
				continue
			}
			rs := []rune(string(out))
			if len(rs) != 1 || rs[0] == unicode.ReplacementChar || (rs[0] >= 0xE000 && rs[0] <= 0xF8FF) {
				continue // unassigned or mapped to the private use area
			}
			total++
			ok := templates.CanDraw(rs[0])
			if ok {
				covered++
			} else if len(missing) < 20 {
				missing = append(missing, rs[0])
			}
			if lead >= 0xA1 && lead <= 0xF7 && trail >= 0xA1 && !(lead >= 0xAA && lead <= 0xAF) {
				gb2312++ // the GB 2312 rows: symbols and the 6,763 hanzi
				if ok {
					gb2312Covered++
				} else {
					gbMissing = append(gbMissing, rs[0])
				}
			}
			if unicode.Is(unicode.Han, rs[0]) {
				hanTotal++
				if ok {
					hanCovered++
				}
			}
		}
	}
	var bmp int
	for r := rune(0); r < 0x10000; r++ {
		if templates.CanDraw(r) {
			bmp++
		}
	}
	// GB 18030 maps every BMP code point; its CJK part is the Han characters of the BMP.
	var bmpHan, bmpHanCovered int
	for r := rune(0x3400); r < 0x10000; r++ {
		if unicode.Is(unicode.Han, r) {
			bmpHan++
			if templates.CanDraw(r) {
				bmpHanCovered++
			}
		}
	}
	pct := func(a, b int) float64 { return 100 * float64(a) / float64(b) }
	t.Logf("font draws %d BMP code points; GB 2312: %d of %d (%.2f%%)", bmp, gb2312Covered, gb2312, pct(gb2312Covered, gb2312))
	t.Logf("GBK: %d of %d characters (%.2f%%); GBK Han: %d of %d (%.2f%%); GB 18030 BMP Han: %d of %d (%.2f%%); first missing: %q",
		covered, total, pct(covered, total), hanCovered, hanTotal, pct(hanCovered, hanTotal),
		bmpHanCovered, bmpHan, pct(bmpHanCovered, bmpHan), string(missing))
	// AR PL UMing CN covers GB 2312 fully but only about 90% of GBK; the fallback font
	// (HanaMinA glyphs) covers the rest of GBK and all but 31 of the BMP Han characters of
	// GB 18030. These floors catch a font swap or a cmap-reading regression.
	if gb2312Covered < gb2312-1 {
		t.Errorf("GB 2312 coverage %d of %d, want all but one; missing %q", gb2312Covered, gb2312, string(gbMissing))
	}
	t.Logf("GB 2312 characters the font lacks: %+q", string(gbMissing))
	if covered != total {
		t.Errorf("GBK coverage %d of %d, want all; first missing %q", covered, total, string(missing))
	}
	if pct(bmpHanCovered, bmpHan) < 99.8 {
		t.Errorf("GB 18030 BMP Han coverage %.2f%%, want at least 99.8%%", pct(bmpHanCovered, bmpHan))
	}
	for _, r := range "食品经营许可证，。（）、；：0123456789ABCXYZ-" {
		if !templates.CanDraw(r) {
			t.Errorf("CanDraw(%q) = false", r)
		}
	}
	if templates.CanDraw(0x20000) {
		t.Errorf("CanDraw(U+20000) = true, want false outside the BMP")
	}
}
