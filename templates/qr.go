package templates

import "rsc.io/qr"

// quietZone is the white margin around a QR code, in modules (the standard asks for 4).
const quietZone = 4

// qrPath encodes payload at medium error correction and returns PDF content-stream operators
// that fill its dark modules as rectangles, runs of dark modules in a row merged into one,
// in the square at x, y (mm, top-left) of side size (mm) quiet zone included, on a page of
// height pageH mm. It returns an error if the payload is too long for a QR code.
func qrPath(payload string, x, y, size, pageH float64) ([]byte, error) {
	code, err := qr.Encode(payload, qr.M)
	if err != nil {
		return nil, err
	}
	return qrRects(code, x, y, size, pageH), nil
}

func qrRects(code *qr.Code, x, y, size, pageH float64) []byte {
	const k = 72 / 25.4
	n := code.Size
	m := size / float64(n+2*quietZone) * k // module side in points
	x0 := x*k + quietZone*m
	y0 := (pageH-y)*k - quietZone*m // top edge of the first row, in PDF space
	out := make([]byte, 0, 64*n)
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
	code, err := qr.Encode(payload, qr.M)
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
