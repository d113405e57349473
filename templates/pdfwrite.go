package templates

// A small writer for the one-page PDFs of the renderer: a page content stream built with a few
// drawing operators, Type0/CIDFontType2 fonts (Identity-H, CID = glyph id of the subset) with
// a /ToUnicode map, an Info dictionary, one classic cross-reference table. Everything is
// deterministic: the same page gives the same bytes. It replaces gofpdf, whose fixed cost per
// Unicode font (re-parsing the font, a 65,536-entry width table, a 128 KB CIDToGIDMap, fresh
// zlib writers) was most of the time of a render.
//
// The file shape is what package seals' fast signing path reads: one classic xref section
// without /Prev, object offsets pointing at "n 0 obj", a catalog without /AcroForm and a page
// without /Annots, all dictionaries direct (no object streams). seals/contract_test.go pins it:
// it fails if this writer's output stops taking the fast path, or if the scanner changes.

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/klauspost/compress/zlib"
)

// mmToPt converts millimetres to PDF points.
const mmToPt = 72 / 25.4

// deflateLevel trades size for time. Compressing the subset font is most of the time of a
// render; BestSpeed takes half the time of the default level for files about 10% larger (and
// still smaller than gofpdf's).
const deflateLevel = zlib.BestSpeed

// deflater is a reusable zlib writer with its output buffer.
type deflater struct {
	zw  *zlib.Writer
	out appendWriter
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

var deflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.zw, _ = zlib.NewWriterLevel(&d.out, deflateLevel) // the level is valid
	return d
}}

// fontDeflateLevel is the level of the embedded subset font's stream: Huffman coding without
// matches. The subset's glyph outlines find few long matches, so BestSpeed's match search cost
// two and a half times as long for a stream 28% smaller (BenchmarkFontDeflate: a food licence's
// 69 KB subset, 918 µs → 349 µs, 37 KB → 52 KB; the certificate grows by about 14 KB).
const fontDeflateLevel = zlib.HuffmanOnly

var fontDeflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.zw, _ = zlib.NewWriterLevel(&d.out, fontDeflateLevel) // the level is valid
	return d
}}

// deflate returns src zlib-compressed in a buffer of d's; it stays valid until d's next use.
func (d *deflater) deflate(src []byte) []byte {
	d.out.b = d.out.b[:0]
	d.zw.Reset(&d.out)
	d.zw.Write(src) //nolint:errcheck // appendWriter never fails
	d.zw.Close()    //nolint:errcheck
	return d.out.b
}

// buffers recycles the scratch buffers of a render (content stream, document, CMaps).
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func getBuf() *[]byte { return buffers.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > 4<<20 { // do not keep a freak one
		return
	}
	*b = (*b)[:0]
	buffers.Put(b)
}

var pow10 = [...]float64{1, 10, 100, 1000, 10000, 100000}

// appendNum appends v rounded to prec (at most 5) decimals, without trailing zeros: 12.5, 3, -0.25.
func appendNum(b []byte, v float64, prec int) []byte {
	n := math.Round(v * pow10[prec])
	if n == 0 || math.IsNaN(n) {
		return append(b, '0')
	}
	if math.Abs(n) >= 1e15 {
		return strconv.AppendFloat(b, v, 'f', prec, 64)
	}
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	i := int64(n)
	scale := int64(pow10[prec])
	b = strconv.AppendInt(b, i/scale, 10)
	frac := i % scale
	if frac == 0 {
		return b
	}
	var d [5]byte
	for k := prec - 1; k >= 0; k-- {
		d[k] = byte('0' + frac%10)
		frac /= 10
	}
	end := prec
	for d[end-1] == '0' {
		end--
	}
	b = append(b, '.')
	return append(b, d[:end]...)
}

// canvas builds a page content stream. Coordinates are millimetres from the top-left corner of
// a page pageH mm high; it keeps the graphics state it has set to leave out repeated operators.
type canvas struct {
	b      []byte
	pageH  float64
	stroke [3]int
	fill   [3]int
	lw     float64
	tc     float64 // character spacing, points
	set    uint8   // which of stroke, fill, lw have been set
}

const (
	setStroke = 1 << iota
	setFill
	setLW
)

func (c *canvas) num(v float64) { c.b = appendNum(c.b, v, 2); c.b = append(c.b, ' ') }

// pt appends the point x, y (mm from the top-left) in PDF space, 3 decimals.
func (c *canvas) pt(x, y float64) {
	c.b = appendNum(c.b, x*mmToPt, 3)
	c.b = append(c.b, ' ')
	c.b = appendNum(c.b, (c.pageH-y)*mmToPt, 3)
	c.b = append(c.b, ' ')
}

func (c *canvas) op(s string) { c.b = append(c.b, s...); c.b = append(c.b, '\n') }

func (c *canvas) color(rgb [3]int) {
	for _, v := range rgb {
		c.b = appendNum(c.b, float64(min(max(v, 0), 255))/255, 3)
		c.b = append(c.b, ' ')
	}
}

func (c *canvas) setStroke(rgb [3]int) {
	if c.set&setStroke == 0 || c.stroke != rgb {
		c.color(rgb)
		c.op("RG")
		c.stroke = rgb
		c.set |= setStroke
	}
}

func (c *canvas) setFill(rgb [3]int) {
	if c.set&setFill == 0 || c.fill != rgb {
		c.color(rgb)
		c.op("rg")
		c.fill = rgb
		c.set |= setFill
	}
}

// setLineWidth sets the line width in mm.
func (c *canvas) setLineWidth(mm float64) {
	if c.set&setLW == 0 || c.lw != mm {
		c.num(mm * mmToPt)
		c.op("w")
		c.lw = mm
		c.set |= setLW
	}
}

// rect adds the rectangle with top-left x, y and size w, h (mm) and paints it with op
// ("S" stroke, "f" fill).
func (c *canvas) rect(x, y, w, h float64, op string) {
	c.num(x * mmToPt)
	c.num((c.pageH - y - h) * mmToPt)
	c.num(w * mmToPt)
	c.num(h * mmToPt)
	c.b = append(c.b, "re "...)
	c.op(op)
}

func (c *canvas) line(x1, y1, x2, y2 float64) {
	c.pt(x1, y1)
	c.b = append(c.b, "m "...)
	c.pt(x2, y2)
	c.op("l S")
}

func (c *canvas) curve(x1, y1, x2, y2, x3, y3 float64) {
	c.pt(x1, y1)
	c.pt(x2, y2)
	c.pt(x3, y3)
	c.op("c")
}

// text shows the CIDs (two bytes each, big-endian) of font resource res at size points with its
// baseline-left at x, y (mm), tc points of extra space after each character.
func (c *canvas) text(res string, size, tc, x, y float64, cids []uint16) {
	const hexd = "0123456789ABCDEF"
	c.b = append(c.b, "BT /"...)
	c.b = append(c.b, res...)
	c.b = append(c.b, ' ')
	c.num(size)
	c.b = append(c.b, "Tf "...)
	if tc != c.tc {
		c.b = appendNum(c.b, tc, 3)
		c.b = append(c.b, " Tc "...)
		c.tc = tc
	}
	c.num(x * mmToPt)
	c.num((c.pageH - y) * mmToPt)
	c.b = append(c.b, "Td <"...)
	for _, v := range cids {
		c.b = append(c.b, hexd[v>>12], hexd[v>>8&15], hexd[v>>4&15], hexd[v&15])
	}
	c.op("> Tj ET")
}

// pdfFont is one embedded font of a document.
type pdfFont struct {
	res  string // resource name in the page: F1, F2
	name string // PostScript name with the subset tag, ABCDEF+UMingCN
	f    *fontIndex
	sub  *subsetFont
}

// docWriter assembles the PDF file; offs[n] is the offset of object n.
type docWriter struct {
	b    []byte
	offs []int
}

func (w *docWriter) str(s string) { w.b = append(w.b, s...) }

func (w *docWriter) int(v int) { w.b = strconv.AppendInt(w.b, int64(v), 10) }

func (w *docWriter) ref(n int) { w.int(n); w.str(" 0 R") }

func (w *docWriter) obj(n int) {
	w.offs[n] = len(w.b)
	w.int(n)
	w.str(" 0 obj\n")
}

func (w *docWriter) endobj() { w.str("\nendobj\n") }

// stream writes object n, a stream of data compressed with d; extra goes into the dictionary.
func (w *docWriter) stream(n int, d *deflater, data []byte, extra string) {
	z := d.deflate(data)
	w.obj(n)
	w.str("<</Filter /FlateDecode /Length ")
	w.int(len(z))
	w.str(extra)
	w.str(">>\nstream\n")
	w.b = append(w.b, z...)
	w.str("\nendstream")
	w.endobj()
}

// textString appends s as a PDF text string: literal if printable ASCII, else UTF-16BE with a
// byte-order mark in hex.
func (w *docWriter) textString(s string) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		w.b = append(w.b, '(')
		for i := 0; i < len(s); i++ {
			if s[i] == '(' || s[i] == ')' || s[i] == '\\' {
				w.b = append(w.b, '\\')
			}
			w.b = append(w.b, s[i])
		}
		w.b = append(w.b, ')')
		return
	}
	w.str("<FEFF")
	for _, r := range s { // invalid UTF-8 comes out as U+FFFD
		u := [2]rune{r}
		units := u[:1]
		if r >= 0x10000 {
			u[0], u[1] = utf16.EncodeRune(r)
			units = u[:2]
		}
		for _, v := range units {
			w.b = append(w.b, hexUpper[v>>12&15], hexUpper[v>>8&15], hexUpper[v>>4&15], hexUpper[v&15])
		}
	}
	w.b = append(w.b, '>')
}

const hexUpper = "0123456789ABCDEF"

// pdfDate formats t as a PDF date: D:YYYYMMDDHHmmSS+hh'mm' (+00'00' for UTC: strict readers
// such as pdfcpu's validator refuse a bare Z).
func pdfDate(t time.Time) string {
	s := "D:" + t.Format("20060102150405")
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	return s + sign + twoDigits(off/3600) + "'" + twoDigits(off%3600/60) + "'"
}

func twoDigits(v int) string { return string([]byte{byte('0' + v/10%10), byte('0' + v%10)}) }

// Object numbers: the fixed objects, then five per font.
const (
	objCatalog = 1 + iota
	objPages
	objPage
	objContents
	objInfo
	objFirstFont
	objsPerFont = 5 // Type0, CIDFontType2, FontDescriptor, FontFile2, ToUnicode
)

// docInfo is what goes into the Info dictionary; author is left out when empty.
type docInfo struct {
	title, author, creator, producer string
	created                          time.Time
}

// writePDF assembles the one-page PDF of size w x h mm with the content stream and fonts, into
// a new slice of exactly its length.
func writePDF(wmm, hmm float64, contents []byte, fonts []*pdfFont, info docInfo) []byte {
	return writePages(wmm, hmm, [][]byte{contents}, fonts, info)
}

// writePages assembles the PDF of len(pages) pages (at least one) of size w x h mm, each with
// its content stream, all sharing the fonts. The first page is objects objPage and objContents;
// further pages (the reports) come after the fonts, two objects each, so a one-page file is the
// same as before pages were added.
func writePages(wmm, hmm float64, pages [][]byte, fonts []*pdfFont, info docInfo) []byte {
	d := deflaters.Get().(*deflater)
	defer deflaters.Put(d)
	bp := getBuf()
	defer putBuf(bp)
	firstExtra := objFirstFont + objsPerFont*len(fonts)
	w := &docWriter{b: *bp, offs: make([]int, firstExtra+2*(len(pages)-1))}
	defer func() { *bp = w.b }()
	pageObj := func(i int) int {
		if i == 0 {
			return objPage
		}
		return firstExtra + 2*(i-1)
	}

	w.str("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	w.obj(objCatalog)
	w.str("<</Type /Catalog /Pages ")
	w.ref(objPages)
	w.str(">>")
	w.endobj()
	w.obj(objPages)
	w.str("<</Type /Pages /Kids [")
	for i := range pages {
		if i > 0 {
			w.str(" ")
		}
		w.ref(pageObj(i))
	}
	w.str("] /Count ")
	w.int(len(pages))
	w.str(">>")
	w.endobj()
	page := func(i int) {
		n := pageObj(i)
		w.obj(n)
		w.str("<</Type /Page /Parent ")
		w.ref(objPages)
		w.str(" /MediaBox [0 0 ")
		w.b = appendNum(w.b, wmm*mmToPt, 2)
		w.str(" ")
		w.b = appendNum(w.b, hmm*mmToPt, 2)
		w.str("] /Resources <</Font <<")
		for i, f := range fonts {
			if i > 0 {
				w.str(" ")
			}
			w.str("/" + f.res + " ")
			w.ref(objFirstFont + objsPerFont*i)
		}
		w.str(">>>> /Contents ")
		w.ref(n + 1)
		w.str(">>")
		w.endobj()
		w.stream(n+1, d, pages[i], "")
	}
	page(0)
	w.obj(objInfo)
	w.str("<</Title ")
	w.textString(info.title)
	if info.author != "" {
		w.str(" /Author ")
		w.textString(info.author)
	}
	w.str(" /Creator ")
	w.textString(info.creator)
	w.str(" /Producer ")
	w.textString(info.producer)
	date := pdfDate(info.created)
	w.str(" /CreationDate (" + date + ") /ModDate (" + date + ")>>")
	w.endobj()
	for i, f := range fonts {
		w.font(objFirstFont+objsPerFont*i, f, d)
	}
	for i := 1; i < len(pages); i++ {
		page(i)
	}

	// A deterministic file identifier: a digest of everything above.
	sum := sha256.Sum256(w.b)
	id := hex.EncodeToString(sum[:16])
	xref := len(w.b)
	w.str("xref\n0 ")
	w.int(len(w.offs))
	w.str("\n0000000000 65535 f \n")
	var e [20]byte
	copy(e[10:], " 00000 n \n")
	for _, off := range w.offs[1:] {
		for k, v := 9, off; k >= 0; k-- {
			e[k] = byte('0' + v%10)
			v /= 10
		}
		w.b = append(w.b, e[:]...)
	}
	w.str("trailer\n<</Size ")
	w.int(len(w.offs))
	w.str(" /Root ")
	w.ref(objCatalog)
	w.str(" /Info ")
	w.ref(objInfo)
	w.str(" /ID [<" + id + "> <" + id + ">]>>\nstartxref\n")
	w.int(xref)
	w.str("\n%%EOF\n")
	return append([]byte(nil), w.b...)
}

// font writes the five objects of font f from object n on: the Type0 font, its CIDFontType2
// descendant, the font descriptor, the subset TrueType font and the ToUnicode CMap.
func (w *docWriter) font(n int, f *pdfFont, d *deflater) {
	fi, sub := f.f, f.sub
	em := func(v int) int { return int(math.Round(float64(v) * 1000 / float64(fi.unitsPerEm))) }

	w.obj(n)
	w.str("<</Type /Font /Subtype /Type0 /BaseFont /" + f.name + " /Encoding /Identity-H /DescendantFonts [")
	w.ref(n + 1)
	w.str("] /ToUnicode ")
	w.ref(n + 4)
	w.str(">>")
	w.endobj()

	// Widths: DW 1000 (the ideographs), /W lists the others as runs "first [w w ...]".
	w.obj(n + 1)
	w.str("<</Type /Font /Subtype /CIDFontType2 /BaseFont /" + f.name +
		" /CIDSystemInfo <</Registry (Adobe) /Ordering (Identity) /Supplement 0>> /FontDescriptor ")
	w.ref(n + 2)
	w.str(" /DW 1000 /W [")
	open := false
	for i, adv := range sub.widths {
		wd := em(int(adv))
		if wd == 1000 {
			if open {
				w.str("]")
				open = false
			}
			continue
		}
		if !open {
			w.str(" ")
			w.int(i + 1)
			w.str(" [")
			open = true
		} else {
			w.str(" ")
		}
		w.int(wd)
	}
	if open {
		w.str("]")
	}
	w.str("] /CIDToGIDMap /Identity>>")
	w.endobj()

	w.obj(n + 2)
	w.str("<</Type /FontDescriptor /FontName /" + f.name + " /Flags 4 /FontBBox [")
	for i, v := range fi.bbox {
		if i > 0 {
			w.str(" ")
		}
		w.int(em(v))
	}
	w.str("] /ItalicAngle ")
	w.b = appendNum(w.b, fi.italicAngle, 2)
	w.str(" /Ascent ")
	w.int(em(fi.ascent))
	w.str(" /Descent ")
	w.int(em(fi.descent))
	w.str(" /CapHeight ")
	w.int(em(fi.capHeight))
	w.str(" /StemV ")
	w.int(50 + int(math.Pow(float64(fi.weight)/65, 2))) // the usual estimate from the weight class
	w.str(" /FontFile2 ")
	w.ref(n + 3)
	w.str(">>")
	w.endobj()

	fd := fontDeflaters.Get().(*deflater)
	w.stream(n+3, fd, sub.data, " /Length1 "+strconv.Itoa(len(sub.data)))
	fontDeflaters.Put(fd)

	cm := getBuf()
	*cm = toUnicode(*cm, sub.runes)
	w.stream(n+4, d, *cm, "")
	putBuf(cm)
}

// toUnicode appends the ToUnicode CMap of a subset whose CID i+1 is runes[i] (sorted): runs of
// consecutive runes as bfrange entries (within one block of 256 on both sides, as the
// specification requires), single runes as bfchar, at most 100 entries per section.
func toUnicode(b []byte, runes []rune) []byte {
	b = append(b, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"+
		"/CIDSystemInfo <</Registry (Adobe) /Ordering (UCS) /Supplement 0>> def\n"+
		"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"+
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"...)
	type span struct{ cid, n int } // CIDs cid..cid+n-1 are runes[cid-1...]
	var ranges, chars []span
	for i := 0; i < len(runes); {
		j := i + 1
		for j < len(runes) && runes[j] == runes[j-1]+1 && (j+1)&0xFF != 0 && runes[j]&0xFF != 0 {
			j++
		}
		if j-i > 1 {
			ranges = append(ranges, span{i + 1, j - i})
		} else {
			chars = append(chars, span{i + 1, 1})
		}
		i = j
	}
	hex4 := func(v int) {
		b = append(b, '<', hexUpper[v>>12&15], hexUpper[v>>8&15], hexUpper[v>>4&15], hexUpper[v&15], '>')
	}
	for len(chars) > 0 {
		k := min(len(chars), 100)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, " beginbfchar\n"...)
		for _, s := range chars[:k] {
			hex4(s.cid)
			b = append(b, ' ')
			hex4(int(runes[s.cid-1]))
			b = append(b, '\n')
		}
		b = append(b, "endbfchar\n"...)
		chars = chars[k:]
	}
	for len(ranges) > 0 {
		k := min(len(ranges), 100)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, " beginbfrange\n"...)
		for _, s := range ranges[:k] {
			hex4(s.cid)
			b = append(b, ' ')
			hex4(s.cid + s.n - 1)
			b = append(b, ' ')
			hex4(int(runes[s.cid-1]))
			b = append(b, '\n')
		}
		b = append(b, "endbfrange\n"...)
		ranges = ranges[k:]
	}
	return append(b, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"...)
}
