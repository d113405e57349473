package templates

import (
	"errors"
	"sync"

	"rsc.io/qr"
	"rsc.io/qr/coding"
)

// quietZone is the white margin around a QR code, in modules (the standard asks for 4).
const quietZone = 4

// qrLevel is the error correction level: M restores about 15% of the code.
const qrLevel = coding.M

// encodeQR encodes payload in the densest single mode that holds it (numeric, alphanumeric,
// else bytes), in the smallest version at medium error correction, with the data mask of the
// lowest penalty score (ISO/IEC 18004 7.8.3): rsc.io/qr always uses mask 0, which leaves long
// runs and blocks of one colour that make a small code harder to read. It returns an error if
// the payload is too long for a QR code.
func encodeQR(payload string) (*qr.Code, error) {
	var enc coding.Encoding
	switch {
	case coding.Num(payload).Check() == nil:
		enc = coding.Num(payload)
	case coding.Alpha(payload).Check() == nil:
		enc = coding.Alpha(payload)
	default:
		enc = coding.String(payload)
	}
	v := coding.Version(coding.MinVersion)
	for ; enc.Bits(v) > v.DataBytes(qrLevel)*8; v++ {
		if v == coding.MaxVersion {
			return nil, errors.New("templates: text too long to encode as QR")
		}
	}
	var best *coding.Code
	bestScore := -1
	for m := coding.Mask(0); m < 8; m++ {
		p, err := qrPlan(v, m)
		if err != nil {
			return nil, err
		}
		c, err := p.Encode(enc)
		if err != nil {
			return nil, err
		}
		if s := qrPenalty(c); bestScore < 0 || s < bestScore {
			best, bestScore = c, s
		}
	}
	return &qr.Code{Bitmap: best.Bitmap, Size: best.Size, Stride: best.Stride, Scale: 8}, nil
}

// qrPlans caches the symbol plans by version and mask: a plan depends on nothing else, Encode
// only reads it, and building one allocates a grid of the symbol's size, eight times a document.
var qrPlans sync.Map // [2]int{version, mask} -> *coding.Plan

func qrPlan(v coding.Version, m coding.Mask) (*coding.Plan, error) {
	key := [2]int{int(v), int(m)}
	if p, ok := qrPlans.Load(key); ok {
		return p.(*coding.Plan), nil
	}
	p, err := coding.NewPlan(v, qrLevel, m)
	if err != nil {
		return nil, err
	}
	qrPlans.Store(key, p)
	return p, nil
}

// qrPenalty is the penalty score of a masked symbol (ISO/IEC 18004:2015 7.8.3.1): runs of five
// or more modules of one colour, 2×2 blocks of one colour, finder-like 1:1:3:1:1 patterns
// with four light modules on a side, and the deviation of the dark share from one half.
func qrPenalty(c *coding.Code) int {
	n := c.Size
	// The modules unpacked once, rows first and columns first, so both scans index plainly.
	var buf [2 * 177 * 177]bool
	rows, cols := buf[:n*n], buf[n*n:2*n*n]
	dark := 0
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if c.Bitmap[y*c.Stride+x/8]&(1<<uint(7-x&7)) != 0 {
				rows[y*n+x], cols[x*n+y] = true, true
				dark++
			}
		}
	}
	score := 0
	for _, grid := range [2][]bool{rows, cols} {
		for l := 0; l < n; l++ {
			line := grid[l*n : (l+1)*n]
			run := 1
			for i := 1; i <= n; i++ {
				if i < n && line[i] == line[i-1] {
					run++
					continue
				}
				if run >= 5 {
					score += 3 + run - 5
				}
				run = 1
			}
			for i := 0; i+7 <= n; i++ {
				// 1:1:3:1:1 dark-light-dark-light-dark, with four light modules on one side
				if !line[i] || line[i+1] || !line[i+2] || !line[i+3] || !line[i+4] || line[i+5] || !line[i+6] {
					continue
				}
				if qrLight(line, i-4, i) || qrLight(line, i+7, i+11) {
					score += 40
				}
			}
		}
	}
	for y := 0; y+1 < n; y++ {
		for x := 0; x+1 < n; x++ {
			b := rows[y*n+x]
			if b == rows[y*n+x+1] && b == rows[(y+1)*n+x] && b == rows[(y+1)*n+x+1] {
				score += 3
			}
		}
	}
	pct := dark * 100 / (n * n)
	dev := pct - 50
	if dev < 0 {
		dev = -dev
	}
	return score + 10*(dev/5)
}

// qrLight reports whether the modules of line from from to to (outside the symbol counts as
// light) are all light.
func qrLight(line []bool, from, to int) bool {
	for k := from; k < to; k++ {
		if k >= 0 && k < len(line) && line[k] {
			return false
		}
	}
	return true
}

// qrPath encodes payload (see encodeQR) and returns PDF content-stream operators that fill its
// dark modules as rectangles, runs of dark modules in a row merged into one, in the square at
// x, y (mm, top-left) of side size (mm) quiet zone included, on a page of height pageH mm. It
// returns an error if the payload is too long for a QR code.
func qrPath(payload string, x, y, size, pageH float64) ([]byte, error) {
	code, err := encodeQR(payload)
	if err != nil {
		return nil, err
	}
	return appendQRRects(make([]byte, 0, 64*code.Size), code, x, y, size, pageH), nil
}

// appendQRRects appends to out the operators qrPath describes for code.
func appendQRRects(out []byte, code *qr.Code, x, y, size, pageH float64) []byte {
	const k = 72 / 25.4
	n := code.Size
	m := size / float64(n+2*quietZone) * k // module side in points
	x0 := x*k + quietZone*m
	y0 := (pageH-y)*k - quietZone*m // top edge of the first row, in PDF space
	out = append(out, "q 0 0 0 rg\n"...)
	num := func(v float64) { out = appendNum(out, v, 2) }
	for row := 0; row < n; row++ {
		for col := 0; col < n; {
			if !code.Black(col, row) {
				col++
				continue
			}
			start := col
			for col < n && code.Black(col, row) {
				col++
			}
			num(x0 + float64(start)*m)
			out = append(out, ' ')
			num(y0 - float64(row+1)*m)
			out = append(out, ' ')
			num(float64(col-start) * m)
			out = append(out, ' ')
			num(m)
			out = append(out, " re\n"...)
		}
	}
	out = append(out, "f Q"...)
	return out
}

// QRRects returns the number of rectangles the QR code of payload is drawn with and its size in
// modules (quiet zone excluded). It is for tests and tools that want to check the drawing stays
// small; it returns an error if the payload is too long for a QR code.
func QRRects(payload string) (rects, modules int, err error) {
	code, err := encodeQR(payload)
	if err != nil {
		return 0, 0, err
	}
	for row := 0; row < code.Size; row++ {
		for col := 0; col < code.Size; col++ {
			if code.Black(col, row) && (col == 0 || !code.Black(col-1, row)) {
				rects++
			}
		}
	}
	return rects, code.Size, nil
}
