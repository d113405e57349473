package templates

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestAppendNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		prec int
		want string
	}{
		{0, 2, "0"}, {-0.001, 2, "0"}, {1, 2, "1"}, {12.5, 2, "12.5"}, {3.14159, 2, "3.14"},
		{-0.25, 2, "-0.25"}, {595.2756, 2, "595.28"}, {0.1, 3, "0.1"}, {1.0005, 3, "1.001"},
		{841.8897637795275, 2, "841.89"}, {99.999, 2, "100"}, {-12.0049, 2, "-12"},
	} {
		if got := string(appendNum(nil, c.v, c.prec)); got != c.want {
			t.Errorf("appendNum(%v, %d) = %q, want %q", c.v, c.prec, got, c.want)
		}
	}
}

// TestToUnicodeRanges checks that bfrange entries never cross a block of 256 codes on either
// side, and that every CID maps back to its rune.
func TestToUnicodeRanges(t *testing.T) {
	var runes []rune
	for r := rune(0x4EF0); r < 0x4F20; r++ { // crosses 0x4F00
		runes = append(runes, r)
	}
	for r := rune(0x5000); r < 0x5200; r += 3 { // singles, past CID 0x100
		runes = append(runes, r)
	}
	for r := rune(0x6000); r < 0x6120; r++ { // a long run crossing CID and code blocks
		runes = append(runes, r)
	}
	cm := string(toUnicode(nil, runes))
	got := map[int]int{}
	hexv := func(s string) int { v, _ := strconv.ParseInt(s, 16, 32); return int(v) }
	for _, m := range regexp.MustCompile(`(?m)^<([0-9A-F]{4})> <([0-9A-F]{4})> <([0-9A-F]{4})>$`).FindAllStringSubmatch(cm, -1) {
		lo, hi, dst := hexv(m[1]), hexv(m[2]), hexv(m[3])
		if lo>>8 != hi>>8 || dst>>8 != (dst+hi-lo)>>8 {
			t.Errorf("bfrange %s %s %s crosses a block of 256", m[1], m[2], m[3])
		}
		for c := lo; c <= hi; c++ {
			got[c] = dst + c - lo
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^<([0-9A-F]{4})> <([0-9A-F]{4})>$`).FindAllStringSubmatch(cm, -1) {
		got[hexv(m[1])] = hexv(m[2])
	}
	delete(got, 0) // the codespace range <0000> <FFFF> has the shape of a bfchar line
	for i, r := range runes {
		if got[i+1] != int(r) {
			t.Fatalf("CID %d maps to U+%04X, want U+%04X", i+1, got[i+1], r)
		}
	}
	if len(got) != len(runes) {
		t.Errorf("%d CIDs mapped, want %d", len(got), len(runes))
	}
	for _, sec := range regexp.MustCompile(`(\d+) begin(bfchar|bfrange)`).FindAllStringSubmatch(cm, -1) {
		if n, _ := strconv.Atoi(sec[1]); n > 100 {
			t.Errorf("a section of %d entries, at most 100 allowed", n)
		}
	}
}

// TestSubsetFont checks the subset: glyph 0 is .notdef, the glyph of runes[i] is i+1 in the
// cmap, and the whole font sums to the magic number of head.checksumAdjustment.
func TestSubsetFont(t *testing.T) {
	f, err := loadFont()
	if err != nil {
		t.Fatal(err)
	}
	runes := []rune("0123（）、证照食品经营许可㉑")
	slices.Sort(runes)
	sub, err := f.subset(runes)
	if err != nil {
		t.Fatal(err)
	}
	if c := checksum(sub.data); c != 0xB1B0AFBA {
		t.Errorf("font checksum %08X, want B1B0AFBA", c)
	}
	sf, err := parseFont(sub.data, nil)
	if err != nil {
		t.Fatalf("the subset does not parse: %v", err)
	}
	for i, r := range runes {
		if g := sf.gid[r]; int(g) != i+1 || sub.cid(r) != uint16(i+1) {
			t.Errorf("%q: glyph %d, CID %d, want %d", r, g, sub.cid(r), i+1)
		}
		if sf.advance[i+1] != f.advance[f.gid[r]] {
			t.Errorf("%q: advance %d, want %d", r, sf.advance[i+1], f.advance[f.gid[r]])
		}
	}
	if sf.numGlyphs <= len(runes) { // ㉑ is a composite: its components follow
		t.Errorf("%d glyphs, want the components of ㉑ after the %d characters", sf.numGlyphs, len(runes))
	}
	if sf.loca[1] != f.loca[1]-f.loca[0] {
		t.Errorf("glyph 0 is not .notdef")
	}
}

// TestFileShape renders a certificate and checks the file structure: one classic xref section
// whose offsets point at their objects, startxref, a trailer without /Prev, direct page
// resources, and streams whose /Length fits and which inflate.
func TestFileShape(t *testing.T) {
	tpl, _ := BuiltinByID("food-business-licence")
	d := tpl.SampleDocument()
	d.Created = time.Date(2024, 4, 16, 17, 30, 0, 0, time.FixedZone("CST", 8*3600))
	d.QRPayload = "https://certseal.example/v/JY1"
	pdf, err := NewRenderer().Render(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.7\n")) || !bytes.HasSuffix(pdf, []byte("\n%%EOF\n")) {
		t.Fatalf("header or trailer missing")
	}
	sx := bytes.LastIndex(pdf, []byte("startxref\n"))
	xref, _ := strconv.Atoi(string(bytes.TrimSpace(pdf[sx+10 : len(pdf)-6])))
	if !bytes.HasPrefix(pdf[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table", xref)
	}
	lines := strings.Split(string(pdf[xref:sx]), "\n")
	n, _ := strconv.Atoi(strings.Fields(lines[1])[1])
	if lines[2] != "0000000000 65535 f " {
		t.Errorf("first xref entry %q", lines[2])
	}
	for i := 1; i < n; i++ {
		e := lines[2+i]
		if len(e) != 19 || !strings.HasSuffix(e, " 00000 n ") {
			t.Fatalf("xref entry %q", e)
		}
		off, _ := strconv.Atoi(e[:10])
		if !bytes.HasPrefix(pdf[off:], []byte(strconv.Itoa(i)+" 0 obj\n")) {
			t.Errorf("object %d is not at %d", i, off)
		}
	}
	trailer := strings.Join(lines[2+n:], "\n")
	if !strings.HasPrefix(trailer, "trailer\n<</Size "+strconv.Itoa(n)+" /Root 1 0 R /Info 5 0 R /ID [<") || strings.Contains(trailer, "/Prev") {
		t.Errorf("trailer %q", trailer)
	}
	for _, want := range []string{"/Type /Page /Parent 2 0 R /MediaBox [0 0 841.89 595.28] /Resources <</Font <</F1 6 0 R>>>>",
		"/CreationDate (D:20240416173000+08'00')", "/Encoding /Identity-H", "/CIDToGIDMap /Identity", "/Ordering (Identity)"} {
		if !bytes.Contains(pdf, []byte(want)) {
			t.Errorf("the PDF lacks %q", want)
		}
	}
	re := regexp.MustCompile(`/Filter /FlateDecode /Length (\d+)[^>]*>>\nstream\n`)
	streams := 0
	for _, m := range re.FindAllSubmatchIndex(pdf, -1) {
		ln, _ := strconv.Atoi(string(pdf[m[2]:m[3]]))
		body := pdf[m[1] : m[1]+ln]
		if !bytes.HasPrefix(pdf[m[1]+ln:], []byte("\nendstream\nendobj\n")) {
			t.Errorf("stream at %d: /Length %d does not end at endstream", m[1], ln)
		}
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err == nil {
			_, err = io.Copy(io.Discard, zr)
		}
		if err != nil {
			t.Errorf("stream at %d does not inflate: %v", m[1], err)
		}
		streams++
	}
	if streams != 3 { // contents, font file, ToUnicode
		t.Errorf("%d Flate streams, want 3", streams)
	}
}
