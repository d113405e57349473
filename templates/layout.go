package templates

import (
	"strings"
	"unicode/utf8"
)

const (
	ptToMM    = 25.4 / 72
	linePitch = 1.3  // line advance, in font sizes, of wrapped text
	baseline  = 0.88 // baseline below the top of a line, in font sizes
	sizeStep  = 0.5  // points the font shrinks by per attempt
)

// Kinsoku (禁则): characters that must not begin a line, and ones that must not end one.
const (
	noStart = "。，、；：？！）》」』】〕〉”’…—·％．,.;:!?)]}%"
	noEnd   = "（《「『【〔〈“‘([{"
)

func isNoStart(r rune) bool { return strings.ContainsRune(noStart, r) }
func isNoEnd(r rune) bool   { return strings.ContainsRune(noEnd, r) }

// unit is what line breaking never splits: one CJK character, a space, or a run of other ASCII
// characters (a number, a licence code, a Latin word).
type unit struct {
	s string
	w float64 // em
}

func isASCIIWord(r rune) bool { return r > ' ' && r < 0x7F }

func (f *fontIndex) units(text string, maxW float64) []unit {
	var us []unit
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		j := i + n
		if isASCIIWord(r) && !isNoEnd(r) {
			w := f.width(r)
			for j < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[j:])
				if !isASCIIWord(r2) || isNoEnd(r2) {
					break
				}
				w += f.width(r2)
				j += n2
			}
			if w > maxW { // longer than a line: let it break anywhere
				for _, r2 := range text[i:j] {
					us = append(us, unit{string(r2), f.width(r2)})
				}
				i = j
				continue
			}
			us = append(us, unit{text[i:j], w})
			i = j
			continue
		}
		us = append(us, unit{text[i:j], f.width(r)})
		i = j
	}
	return us
}

// breakLines breaks text into lines no wider than maxW em, applying kinsoku: when a line would
// start with a closing mark or end with an opening one, characters move to the next line.
func (f *fontIndex) breakLines(text string, maxW float64) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		us := f.units(para, maxW)
		if len(us) == 0 {
			lines = append(lines, "")
			continue
		}
		for i := 0; i < len(us); {
			for i < len(us) && us[i].s == " " && i > 0 { // no leading spaces after a break
				i++
			}
			if i >= len(us) {
				break
			}
			j, w := i, 0.0
			for j < len(us) && (j == i || w+us[j].w <= maxW+1e-9) {
				w += us[j].w
				j++
			}
			if j < len(us) {
				k := j
				for k-1 > i {
					first, _ := utf8.DecodeRuneInString(us[k].s)
					last, _ := utf8.DecodeLastRuneInString(us[k-1].s)
					if !isNoStart(first) && !isNoEnd(last) {
						break
					}
					k--
				}
				first, _ := utf8.DecodeRuneInString(us[k].s)
				last, _ := utf8.DecodeLastRuneInString(us[k-1].s)
				if !isNoStart(first) && !isNoEnd(last) {
					j = k
				}
			}
			var b strings.Builder
			for _, u := range us[i:j] {
				b.WriteString(u.s)
			}
			lines = append(lines, strings.TrimRight(b.String(), " "))
			i = j
		}
	}
	return lines
}

// textWidth returns the advance of s in em.
func (f *fontIndex) textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += f.width(r)
	}
	return w
}

// BreakLines breaks text into the lines it takes in a box width mm wide at fontSize points,
// following the Chinese line-breaking rules: no line begins with 。，、；：？！）》」』 (and the
// like) and none ends with （《「『; runs of ASCII letters and digits stay whole unless longer
// than a line. A line feed starts a new line. It returns nil if the font cannot be loaded.
func BreakLines(text string, width, fontSize float64) []string {
	f, err := loadFont()
	if err != nil || fontSize <= 0 {
		return nil
	}
	return f.breakLines(text, width/(fontSize*ptToMM))
}

// fit lays text out in box b: it tries the box's font size and shrinks step by step down to
// minSize; ok is false if the text does not fit even then.
func (f *fontIndex) fit(text string, b Box, minSize float64, color [3]int) (runs []TextRun, ok bool) {
	size := b.FontSize
	if size == 0 {
		size = 12
	}
	if minSize > size {
		minSize = size
	}
	for ; size >= minSize-1e-9; size -= sizeStep {
		s := size * ptToMM
		maxW := b.W / s
		var lines []string
		if b.Wrap {
			lines = f.breakLines(text, maxW)
		} else {
			lines = []string{text}
		}
		height := s + float64(len(lines)-1)*linePitch*s
		if height > b.H+1e-9 {
			continue
		}
		widths := make([]float64, len(lines))
		fits := true
		for i, l := range lines {
			widths[i] = f.textWidth(l) * s
			fits = fits && widths[i] <= b.W+1e-9
		}
		if !fits {
			continue
		}
		top := b.Y + (b.H-height)/2
		switch b.VAlign {
		case "top":
			top = b.Y
		case "bottom":
			top = b.Y + b.H - height
		}
		runs = make([]TextRun, 0, len(lines))
		for i, l := range lines {
			if l == "" {
				continue
			}
			r := TextRun{X: b.X, Y: top + float64(i)*linePitch*s + baseline*s, Size: size, Text: l, Color: color}
			switch b.Align {
			case AlignCenter:
				r.X = b.X + (b.W-widths[i])/2
			case AlignRight:
				r.X = b.X + b.W - widths[i]
			case AlignJustify:
				if n := utf8.RuneCountInString(l); n > 1 {
					r.Spacing = (b.W - widths[i]) / float64(n-1)
				}
			}
			runs = append(runs, r)
		}
		return runs, true
	}
	return nil, false
}
