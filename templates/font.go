package templates

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"unicode/utf16"

	"certseal/templates/fonts"
)

// fontIndex is the read-only result of parsing the embedded TrueType font once per process:
// the BMP cmap as a flat table, the glyph offsets and the horizontal metrics. Everything a
// document needs (coverage, text widths, a per-document subset font) is derived from it
// without touching the 17 MB font again, so it is shared by all goroutines.
type fontIndex struct {
	data       []byte   // the shared font bytes; never written
	unitsPerEm int      // head.unitsPerEm
	ascent     int      // hhea ascender, font units
	descent    int      // hhea descender, font units (negative)
	numGlyphs  int      // maxp.numGlyphs
	gid        []uint16 // rune (BMP) -> glyph id; 0 = not covered
	loca       []uint32 // glyph offsets into glyf, numGlyphs+1 entries
	glyf       []byte   // the glyf table
	advance    []uint16 // advance width per glyph, font units
	lsb        []int16  // left side bearing per glyph
	head       []byte   // raw tables copied into subsets
	hhea       []byte
	maxp       []byte
	os2        []byte
	post       []byte
	name       []byte // a small name table built once

	// For the PDF font descriptor: head's bounding box, OS/2 cap height (the ascent when the
	// table is older than version 2) and weight class, post's italic angle.
	bbox        [4]int
	capHeight   int
	weight      int
	italicAngle float64

	// fallback, set on the primary font only, draws what the primary lacks (rare GBK and
	// GB 18030 characters); covers and width consult it.
	fallback *fontIndex
}

var (
	fontOnce sync.Once
	fontIdx  *fontIndex
	fontErr  error
)

// loadFont returns the process-wide font index, parsing the embedded font on first use.
func loadFont() (*fontIndex, error) {
	fontOnce.Do(func() {
		fontIdx, fontErr = parseFont(fonts.SongShared(), map[int]string{
			0: "Copyright 1999-2010 Arphic Technology Co., Ltd.; Arphic Public License",
			1: "AR PL UMing CN", 2: "Light", 3: "AR PL UMing CN subset", 4: "AR PL UMing CN", 6: "ARPLUMingCN-Light",
		})
		if fontErr != nil {
			return
		}
		var fb *fontIndex
		fb, fontErr = parseFont(fonts.FallbackShared(), map[int]string{
			0: "Copyright 2008-2011 GlyphWiki Project (HanaMinA); Hanazono Font License",
			1: "certseal GBK fallback", 2: "Regular", 3: "certseal GBK fallback subset", 4: "certseal GBK fallback", 6: "certseal-GBKFallback",
		})
		if fontErr != nil {
			fontIdx, fontErr = nil, fmt.Errorf("fallback font: %w", fontErr)
			return
		}
		fontIdx.fallback = fb
	})
	return fontIdx, fontErr
}

// parseFont indexes the TrueType font b; names are the name-table entries its subsets carry.
func parseFont(b []byte, names map[int]string) (*fontIndex, error) {
	if len(b) < 12 {
		return nil, errors.New("font too short")
	}
	n := int(binary.BigEndian.Uint16(b[4:]))
	tables := make(map[string][]byte, n)
	for i := 0; i < n; i++ {
		r := 12 + 16*i
		if r+16 > len(b) {
			return nil, errors.New("font table directory truncated")
		}
		tag := string(b[r : r+4])
		off := int(binary.BigEndian.Uint32(b[r+8:]))
		ln := int(binary.BigEndian.Uint32(b[r+12:]))
		if off < 0 || ln < 0 || off+ln > len(b) {
			return nil, fmt.Errorf("font table %q out of range", tag)
		}
		tables[tag] = b[off : off+ln]
	}
	for _, tag := range []string{"head", "hhea", "maxp", "hmtx", "loca", "glyf", "cmap", "OS/2", "post"} {
		if len(tables[tag]) == 0 {
			return nil, fmt.Errorf("font lacks table %q", tag)
		}
	}
	f := &fontIndex{data: b, head: tables["head"], hhea: tables["hhea"], maxp: tables["maxp"],
		os2: tables["OS/2"], post: tables["post"], glyf: tables["glyf"]}
	if len(f.head) < 54 || len(f.hhea) < 36 || len(f.maxp) < 6 || len(f.os2) < 78 || len(f.post) < 32 {
		return nil, errors.New("font has short head, hhea, maxp, OS/2 or post table")
	}
	u16 := func(t []byte, o int) int { return int(binary.BigEndian.Uint16(t[o:])) }
	f.unitsPerEm = u16(f.head, 18)
	longLoca := u16(f.head, 50) == 1
	f.numGlyphs = u16(f.maxp, 4)
	f.ascent = int(int16(u16(f.hhea, 4)))
	f.descent = int(int16(u16(f.hhea, 6)))
	for i := range f.bbox {
		f.bbox[i] = int(int16(u16(f.head, 36+2*i)))
	}
	f.weight = u16(f.os2, 4)
	f.capHeight = f.ascent
	if u16(f.os2, 0) >= 2 && len(f.os2) >= 90 {
		f.capHeight = int(int16(u16(f.os2, 88)))
	}
	f.italicAngle = float64(int32(binary.BigEndian.Uint32(f.post[4:]))) / 65536
	nhm := u16(f.hhea, 34)
	if f.unitsPerEm == 0 || nhm == 0 || nhm > f.numGlyphs {
		return nil, errors.New("font has bad head or hhea")
	}
	loca := tables["loca"]
	f.loca = make([]uint32, f.numGlyphs+1)
	for i := range f.loca {
		if longLoca {
			f.loca[i] = binary.BigEndian.Uint32(loca[4*i:])
		} else {
			f.loca[i] = uint32(binary.BigEndian.Uint16(loca[2*i:])) * 2
		}
	}
	hmtx := tables["hmtx"]
	f.advance = make([]uint16, f.numGlyphs)
	f.lsb = make([]int16, f.numGlyphs)
	for g := 0; g < f.numGlyphs; g++ {
		if g < nhm {
			f.advance[g] = binary.BigEndian.Uint16(hmtx[4*g:])
			f.lsb[g] = int16(binary.BigEndian.Uint16(hmtx[4*g+2:]))
		} else {
			f.advance[g] = f.advance[nhm-1]
			f.lsb[g] = int16(binary.BigEndian.Uint16(hmtx[4*nhm+2*(g-nhm):]))
		}
	}
	gid, err := parseCmap4(tables["cmap"])
	if err != nil {
		return nil, err
	}
	for r, g := range gid {
		if int(g) >= f.numGlyphs {
			gid[r] = 0
		}
	}
	f.gid = gid
	f.name = buildName(names)
	return f, nil
}

// parseCmap4 reads the Windows Unicode BMP (3,1) format 4 subtable into a rune -> glyph table.
// The subsets embedded in the PDFs are built from this table, so coverage and rendering agree
// by construction.
func parseCmap4(cmap []byte) ([]uint16, error) {
	n := int(binary.BigEndian.Uint16(cmap[2:]))
	var sub []byte
	for i := 0; i < n; i++ {
		r := 4 + 8*i
		pid := binary.BigEndian.Uint16(cmap[r:])
		eid := binary.BigEndian.Uint16(cmap[r+2:])
		off := int(binary.BigEndian.Uint32(cmap[r+4:]))
		if off+4 > len(cmap) || binary.BigEndian.Uint16(cmap[off:]) != 4 {
			continue
		}
		if (pid == 3 && eid == 1) || (pid == 0 && sub == nil) {
			sub = cmap[off:]
		}
	}
	if sub == nil {
		return nil, errors.New("font has no format 4 Unicode cmap")
	}
	segX2 := int(binary.BigEndian.Uint16(sub[6:]))
	segs := segX2 / 2
	ends, starts := 14, 16+segX2
	deltas, ros := starts+segX2, starts+2*segX2
	if ros+segX2 > len(sub) {
		return nil, errors.New("font cmap truncated")
	}
	gid := make([]uint16, 0x10000)
	for s := 0; s < segs; s++ {
		end := int(binary.BigEndian.Uint16(sub[ends+2*s:]))
		start := int(binary.BigEndian.Uint16(sub[starts+2*s:]))
		delta := binary.BigEndian.Uint16(sub[deltas+2*s:])
		ro := int(binary.BigEndian.Uint16(sub[ros+2*s:]))
		for c := start; c <= end && c < 0xFFFF; c++ {
			var g uint16
			if ro == 0 {
				g = uint16(c) + delta
			} else {
				p := ros + 2*s + ro + 2*(c-start)
				if p+2 > len(sub) {
					continue
				}
				g = binary.BigEndian.Uint16(sub[p:])
				if g != 0 {
					g += delta
				}
			}
			gid[c] = g
		}
	}
	return gid, nil
}

func buildName(names map[int]string) []byte {
	ids := make([]int, 0, len(names))
	for id := range names {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var strs []byte
	out := make([]byte, 6+12*len(ids))
	binary.BigEndian.PutUint16(out[2:], uint16(len(ids)))
	binary.BigEndian.PutUint16(out[4:], uint16(len(out)))
	for i, id := range ids {
		u := utf16.Encode([]rune(names[id]))
		r := 6 + 12*i
		binary.BigEndian.PutUint16(out[r:], 3)
		binary.BigEndian.PutUint16(out[r+2:], 1)
		binary.BigEndian.PutUint16(out[r+4:], 0x409)
		binary.BigEndian.PutUint16(out[r+6:], uint16(id))
		binary.BigEndian.PutUint16(out[r+8:], uint16(2*len(u)))
		binary.BigEndian.PutUint16(out[r+10:], uint16(len(strs)))
		for _, c := range u {
			strs = binary.BigEndian.AppendUint16(strs, c)
		}
	}
	return append(out, strs...)
}

// has reports whether this font itself has a glyph for r (a BMP rune in the cmap).
func (f *fontIndex) has(r rune) bool {
	return r >= 0 && r < 0xFFFF && f.gid[r] != 0
}

// covers reports whether the font or its fallback can draw r.
func (f *fontIndex) covers(r rune) bool {
	return f.has(r) || (f.fallback != nil && f.fallback.has(r))
}

// width returns the advance of r in em units (1 = the font size), from the font that draws it.
func (f *fontIndex) width(r rune) float64 {
	if r < 0 || r >= 0xFFFF {
		return 1
	}
	if f.gid[r] == 0 && f.fallback != nil && f.fallback.gid[r] != 0 {
		return f.fallback.width(r)
	}
	return float64(f.advance[f.gid[r]]) / float64(f.unitsPerEm)
}

// subsetFont is the per-document subset of a font: the TrueType bytes embedded in the PDF
// (/FontFile2) and what the PDF font dictionaries need. Glyph 0 is .notdef and the glyph of
// runes[i] is i+1, so the PDF uses the glyph ids as CIDs (/CIDToGIDMap /Identity); glyphs that
// composites refer to come after them.
type subsetFont struct {
	data   []byte   // the TrueType font
	runes  []rune   // sorted, unique; runes[i] is drawn with glyph (and CID) i+1
	widths []uint16 // advance of glyph i+1 (runes[i]), font units
}

// cid returns the CID (= subset glyph id) of r, which must be one of s.runes.
func (s *subsetFont) cid(r rune) uint16 {
	i, _ := slices.BinarySearch(s.runes, r)
	return uint16(i + 1)
}

// subset builds a small TrueType font holding only the glyphs of runes (sorted, unique, all
// covered by this font) and the glyphs their composites refer to, with a format 4 cmap. Every
// rune gets a glyph of its own, in the order of runes, even when two share a glyph in the big
// font, so that a CID maps back to exactly one character (/ToUnicode).
func (f *fontIndex) subset(runes []rune) (*subsetFont, error) {
	if len(runes)+1 > 0xFFFF {
		return nil, errors.New("too many glyphs for one subset")
	}
	// Old glyph ids by new id; newID maps an old id to the first new id that copies it.
	order := make([]uint16, 1, len(runes)+9)
	newID := make(map[uint16]uint16, len(runes)+8)
	newID[0] = 0
	widths := make([]uint16, len(runes))
	for i, r := range runes {
		g := f.gid[r]
		if _, ok := newID[g]; !ok {
			newID[g] = uint16(len(order))
		}
		order = append(order, g)
		widths[i] = f.advance[g]
	}
	for i := 1; i < len(order); i++ { // order grows while composites add their components
		err := f.components(order[i], func(c uint16) {
			if _, ok := newID[c]; !ok {
				newID[c] = uint16(len(order))
				order = append(order, c)
			}
		})
		if err != nil {
			return nil, err
		}
		if len(order) > 0xFFFF {
			return nil, errors.New("too many glyphs for one subset")
		}
	}

	// glyf, loca (long), hmtx; glyf sized up front (each glyph padded to 4 bytes).
	n := 0
	for _, g := range order {
		n += int(f.loca[g+1]-f.loca[g]) + 3
	}
	glyf := make([]byte, 0, n)
	loca := make([]byte, 0, 4*(len(order)+1))
	hmtx := make([]byte, 0, 4*len(order))
	for _, g := range order {
		loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))
		hmtx = binary.BigEndian.AppendUint16(hmtx, f.advance[g])
		hmtx = binary.BigEndian.AppendUint16(hmtx, uint16(f.lsb[g]))
		start := len(glyf)
		glyf = append(glyf, f.glyf[f.loca[g]:f.loca[g+1]]...)
		if err := remapComponents(glyf[start:], newID); err != nil {
			return nil, err
		}
		for len(glyf)%4 != 0 {
			glyf = append(glyf, 0)
		}
	}
	loca = binary.BigEndian.AppendUint32(loca, uint32(len(glyf)))

	head := append([]byte(nil), f.head...)
	binary.BigEndian.PutUint32(head[8:], 0) // checksumAdjustment, set below
	binary.BigEndian.PutUint16(head[50:], 1)
	hhea := append([]byte(nil), f.hhea...)
	binary.BigEndian.PutUint16(hhea[34:], uint16(len(order)))
	maxp := append([]byte(nil), f.maxp...)
	binary.BigEndian.PutUint16(maxp[4:], uint16(len(order)))
	post := make([]byte, 32)
	copy(post, f.post[:min(32, len(f.post))])
	binary.BigEndian.PutUint32(post[0:], 0x00030000)

	tables := []struct {
		tag  string
		data []byte
	}{ // sorted by tag, as the directory requires
		{"OS/2", f.os2},
		{"cmap", cmap4(runes)},
		{"glyf", glyf},
		{"head", head},
		{"hhea", hhea},
		{"hmtx", hmtx},
		{"loca", loca},
		{"maxp", maxp},
		{"name", f.name},
		{"post", post},
	}
	size := 12 + 16*len(tables)
	for _, t := range tables {
		size += (len(t.data) + 3) &^ 3
	}
	out := make([]byte, 12+16*len(tables), size)
	binary.BigEndian.PutUint32(out[0:], 0x00010000)
	binary.BigEndian.PutUint16(out[4:], uint16(len(tables)))
	binary.BigEndian.PutUint16(out[6:], 128) // searchRange for 10 tables: 8*16
	binary.BigEndian.PutUint16(out[8:], 3)
	binary.BigEndian.PutUint16(out[10:], uint16(16*len(tables)-128))
	headAt := 0
	var sum uint32 // of the whole font: the tables are 4-byte aligned and zero-padded
	for i, t := range tables {
		r := 12 + 16*i
		copy(out[r:], t.tag)
		cs := checksum(t.data)
		sum += cs
		binary.BigEndian.PutUint32(out[r+4:], cs)
		binary.BigEndian.PutUint32(out[r+8:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[r+12:], uint32(len(t.data)))
		if t.tag == "head" {
			headAt = len(out)
		}
		out = append(out, t.data...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	// head.checksumAdjustment makes the whole font sum to 0xB1B0AFBA (the head table's own
	// checksum in the directory is taken with it zero, as the specification says).
	sum += checksum(out[:12+16*len(tables)])
	binary.BigEndian.PutUint32(out[headAt+8:], 0xB1B0AFBA-sum)
	return &subsetFont{data: out, runes: runes, widths: widths}, nil
}

// checksum is the TrueType table checksum: the sum of big-endian uint32s, the last one padded
// with zeros.
func checksum(b []byte) uint32 {
	var s uint32
	i := 0
	for ; i+4 <= len(b); i += 4 {
		s += binary.BigEndian.Uint32(b[i:])
	}
	if i < len(b) {
		var w [4]byte
		copy(w[:], b[i:])
		s += binary.BigEndian.Uint32(w[:])
	}
	return s
}

// Composite glyph flags.
const (
	argsAreWords   = 0x0001
	haveScale      = 0x0008
	moreComponents = 0x0020
	haveXYScale    = 0x0040
	have2x2        = 0x0080
)

// components calls fn with the glyph id of each component of composite glyph g.
func (f *fontIndex) components(g uint16, fn func(uint16)) error {
	data := f.glyf[f.loca[g]:f.loca[g+1]]
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	return walkComponents(data, func(at int) { fn(binary.BigEndian.Uint16(data[at:])) })
}

// remapComponents rewrites the component glyph ids of a composite glyph in place.
func remapComponents(data []byte, newID map[uint16]uint16) error {
	if len(data) < 10 || int16(binary.BigEndian.Uint16(data)) >= 0 {
		return nil
	}
	return walkComponents(data, func(at int) {
		binary.BigEndian.PutUint16(data[at:], newID[binary.BigEndian.Uint16(data[at:])])
	})
}

// walkComponents calls fn with the offset of each component's glyph index in a composite glyph.
func walkComponents(data []byte, fn func(at int)) error {
	p := 10
	for {
		if p+4 > len(data) {
			return errors.New("composite glyph truncated")
		}
		flags := binary.BigEndian.Uint16(data[p:])
		fn(p + 2)
		p += 4
		if flags&argsAreWords != 0 {
			p += 4
		} else {
			p += 2
		}
		switch {
		case flags&haveScale != 0:
			p += 2
		case flags&haveXYScale != 0:
			p += 4
		case flags&have2x2 != 0:
			p += 8
		}
		if flags&moreComponents == 0 {
			return nil
		}
	}
}

// cmap4 builds a cmap table with one (3,1) format 4 subtable mapping runes[i] to glyph i+1,
// merging runs of consecutive runes into one segment.
func cmap4(runes []rune) []byte {
	type seg struct{ start, end, delta uint16 }
	var segs []seg
	for i, r := range runes {
		d := uint16(i+1) - uint16(r)
		if n := len(segs); n > 0 && segs[n-1].end+1 == uint16(r) && segs[n-1].delta == d {
			segs[n-1].end = uint16(r)
			continue
		}
		segs = append(segs, seg{uint16(r), uint16(r), d})
	}
	segs = append(segs, seg{0xFFFF, 0xFFFF, 1})
	n := len(segs)
	sr, es := 1, 0
	for sr*2 <= n {
		sr *= 2
		es++
	}
	length := 16 + 8*n
	t := make([]byte, 0, 12+length)
	t = binary.BigEndian.AppendUint16(t, 0) // version
	t = binary.BigEndian.AppendUint16(t, 1) // one subtable
	t = binary.BigEndian.AppendUint16(t, 3)
	t = binary.BigEndian.AppendUint16(t, 1)
	t = binary.BigEndian.AppendUint32(t, 12)
	t = binary.BigEndian.AppendUint16(t, 4)
	t = binary.BigEndian.AppendUint16(t, uint16(length))
	t = binary.BigEndian.AppendUint16(t, 0)
	t = binary.BigEndian.AppendUint16(t, uint16(2*n))
	t = binary.BigEndian.AppendUint16(t, uint16(2*sr))
	t = binary.BigEndian.AppendUint16(t, uint16(es))
	t = binary.BigEndian.AppendUint16(t, uint16(2*n-2*sr))
	for _, s := range segs {
		t = binary.BigEndian.AppendUint16(t, s.end)
	}
	t = binary.BigEndian.AppendUint16(t, 0)
	for _, s := range segs {
		t = binary.BigEndian.AppendUint16(t, s.start)
	}
	for _, s := range segs {
		t = binary.BigEndian.AppendUint16(t, s.delta)
	}
	for range segs {
		t = binary.BigEndian.AppendUint16(t, 0)
	}
	return t
}

// CanDraw reports whether the embedded fonts (UMing, or the GBK fallback) have a glyph for r.
// Characters outside the Basic Multilingual Plane are never drawable (the fonts' format 4 cmaps
// do not reach them). It returns false if the font cannot be loaded.
func CanDraw(r rune) bool {
	f, err := loadFont()
	return err == nil && f.covers(r)
}
