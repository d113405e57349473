package templates

import (
	"math"
	"slices"
	"time"

	"rsc.io/qr"
)

// The seam between layout and document formats. Renderer.Layout turns a template and values into
// one Plan, a format-neutral description of the page: its size, the shapes of the background
// (borders, lines, the emblem as paths), the laid-out lines of text, the QR code as modules and
// the place of the seal, everything in millimetres from the top-left corner. A Writer turns a
// Plan into the bytes of one document format. PDFWriter is the only writer today; another format
// (OFD) is another Writer over the same Plan, so both files of a certificate show the same
// boxes and the same line breaks.

// Writer turns a laid-out page into a document of one format. Implementations live in this
// package, beside PDFWriter, because they embed the subset of the font the plan was laid out
// with (Plan's font is not exported, so the subsetter and the parsed font stay in one place).
type Writer interface {
	// Format names the document format, in lower case: "pdf".
	Format() string
	// Write returns the document of p, a new slice of exactly its length. The same plan gives
	// the same bytes. It returns an error with code EInternal if the font subset cannot be
	// built.
	Write(p *Plan) ([]byte, error)
}

// Plan is one page laid out: what every document format draws, in draw order (shapes, then
// text runs, then the QR code). Coordinates are millimetres from the top-left corner of the
// page, y downwards; font sizes are in points; colours are RGB, 0-255. A Plan is read-only once
// Layout has returned it and may be written by several writers, one after the other or at once.
type Plan struct {
	Width, Height float64 // page size in mm, orientation applied

	// Document metadata.
	Title    string    // the document title (PDF /Title)
	Creator  string    // the template and its version: certseal templates ID vN
	Producer string    // the producing program: certseal
	Created  time.Time // the creation date; never zero

	Shapes []Shape   // background elements, full mode only
	Runs   []TextRun // labels, values, licence number, captions
	QR     *QRCode   // nil when no QR code is drawn

	// Seal is where package seals stamps the seal while signing; nothing is drawn there.
	Seal SealPlacement

	font *fontIndex // the font the runs were measured with; writers embed its subset
}

// ShapeKind says which fields of a Shape are used.
type ShapeKind uint8

// The kinds of shapes.
const (
	// ShapeRect is the rectangle of top-left X, Y and size W, H.
	ShapeRect ShapeKind = iota + 1
	// ShapeLine is the straight line from X, Y to X2, Y2; it is always stroked.
	ShapeLine
	// ShapePath is the outline Path.
	ShapePath
)

// Shape is one vector element of the page. It is filled with Color when Fill is set, else
// stroked with Color at LineWidth (mm).
type Shape struct {
	Kind       ShapeKind
	X, Y, W, H float64 // ShapeRect: top-left and size; ShapeLine: the start point
	X2, Y2     float64 // ShapeLine: the end point
	Path       []PathSeg
	Fill       bool
	Color      [3]int
	LineWidth  float64
}

// PathOp is the operator of one path segment.
type PathOp uint8

// The path operators.
const (
	// MoveTo starts a subpath at Pts[0].
	MoveTo PathOp = iota + 1
	// LineTo draws a straight line to Pts[0].
	LineTo
	// CurveTo draws a cubic Bézier curve with control points Pts[0], Pts[1] to Pts[2].
	CurveTo
	// Close closes the subpath with a straight line to its start.
	Close
)

// PathSeg is one segment of a path; Pts holds its points (x, y in mm) as PathOp says.
type PathSeg struct {
	Op  PathOp
	Pts [3][2]float64
}

// TextRun is one line of text: its baseline-left corner X, Y (mm), Size in points, Spacing (mm)
// of extra space after each character (justified labels), Text, and its fill Color. Writers set
// each character at the font's advance times Size plus Spacing; the characters that the main
// font lacks come from its fallback.
type TextRun struct {
	X, Y, Size, Spacing float64
	Text                string
	Color               [3]int
}

// QRCode is a QR symbol drawn in the square of top-left X, Y and side Size (mm), the quiet zone
// of QuietZone modules included; its dark modules are filled black.
type QRCode struct {
	X, Y, Size float64
	code       *qr.Code
}

// QuietZone is the white margin around a QR code, in modules, inside QRCode's square.
const QuietZone = quietZone

// Modules returns the side of the symbol in modules, quiet zone excluded.
func (q *QRCode) Modules() int { return q.code.Size }

// Dark reports whether the module at column col and row row (0-based, from the top-left,
// quiet zone excluded) is dark. It returns false outside the symbol.
func (q *QRCode) Dark(col, row int) bool { return q.code.Black(col, row) }

// ModuleSize returns the side of one module in mm.
func (q *QRCode) ModuleSize() float64 { return q.Size / float64(q.code.Size+2*quietZone) }

// kappa places the control points of a cubic Bézier quarter circle.
const kappa = 0.5522847498307936

// runes returns the sorted distinct runes the page draws.
func (p *Plan) runes() []rune {
	var seen [0x10000 / 64]uint64
	var rs []rune
	for _, run := range p.Runs {
		for _, r := range run.Text {
			if r < 0x10000 && seen[r/64]&(1<<(r%64)) == 0 {
				seen[r/64] |= 1 << (r % 64)
				rs = append(rs, r)
			}
		}
	}
	slices.Sort(rs)
	return rs
}

// appendShapes appends the shapes of background element e (a border, a line or an emblem);
// other element types add nothing.
func appendShapes(shapes []Shape, e Element) []Shape {
	c := colorOr(e.Color, black)
	lw := e.LineWidth
	if lw == 0 {
		lw = 0.3
	}
	switch e.Type {
	case "border":
		shapes = append(shapes, Shape{Kind: ShapeRect, X: e.X, Y: e.Y, W: e.W, H: e.H, Color: c, LineWidth: lw})
		if e.Double {
			g := e.Gap
			if g == 0 {
				g = 1.5
			}
			shapes = append(shapes, Shape{Kind: ShapeRect, X: e.X + g, Y: e.Y + g, W: e.W - 2*g, H: e.H - 2*g, Color: c, LineWidth: lw / 3})
		}
	case "line":
		shapes = append(shapes, Shape{Kind: ShapeLine, X: e.X, Y: e.Y, X2: e.X2, Y2: e.Y2, Color: c, LineWidth: lw})
	case "emblem":
		shapes = appendEmblem(shapes, e.X, e.Y, e.Diameter, colorOr(e.Color, [3]int{200, 16, 46}))
	}
	return shapes
}

// appendEmblem appends a vector placeholder for an emblem: a red disc in a gold ring, a large
// gold five-pointed star and four small ones on an arc, like those on official documents.
func appendEmblem(shapes []Shape, cx, cy, d float64, red [3]int) []Shape {
	gold := [3]int{255, 196, 0}
	r := d / 2
	// One backing array for all the path segments: 3 circles of 5, 5 stars of 11.
	segs := make([]PathSeg, 0, 3*5+5*11)
	path := func(fill bool, c [3]int, lw float64, add func()) {
		start := len(segs)
		add()
		shapes = append(shapes, Shape{Kind: ShapePath, Path: segs[start:len(segs):len(segs)], Fill: fill, Color: c, LineWidth: lw})
	}
	circle := func(cx, cy, r float64) func() {
		return func() {
			k := r * kappa
			// Counter-clockwise on the page from the right-hand point (y grows downwards here).
			segs = append(segs,
				PathSeg{Op: MoveTo, Pts: [3][2]float64{{cx + r, cy}}},
				PathSeg{Op: CurveTo, Pts: [3][2]float64{{cx + r, cy - k}, {cx + k, cy - r}, {cx, cy - r}}},
				PathSeg{Op: CurveTo, Pts: [3][2]float64{{cx - k, cy - r}, {cx - r, cy - k}, {cx - r, cy}}},
				PathSeg{Op: CurveTo, Pts: [3][2]float64{{cx - r, cy + k}, {cx - k, cy + r}, {cx, cy + r}}},
				PathSeg{Op: CurveTo, Pts: [3][2]float64{{cx + k, cy + r}, {cx + r, cy + k}, {cx + r, cy}}})
		}
	}
	polygon := func(pts [10][2]float64) func() {
		return func() {
			for i, pt := range pts {
				op := LineTo
				if i == 0 {
					op = MoveTo
				}
				segs = append(segs, PathSeg{Op: op, Pts: [3][2]float64{pt}})
			}
			segs = append(segs, PathSeg{Op: Close})
		}
	}
	rect := func(x, y, w, h float64) {
		shapes = append(shapes, Shape{Kind: ShapeRect, X: x, Y: y, W: w, H: h, Fill: true, Color: gold})
	}
	path(true, gold, 0, circle(cx, cy, r))
	path(true, red, 0, circle(cx, cy, r*0.86))
	path(false, gold, r*0.03, circle(cx, cy, r*0.78))
	path(true, gold, 0, polygon(star(cx, cy-r*0.18, r*0.34, -90)))
	for _, a := range []float64{-150, -120, -60, -30} {
		ax := cx + r*0.56*math.Cos(a*math.Pi/180)
		ay := cy - r*0.18 + r*0.56*math.Sin(a*math.Pi/180) + r*0.25
		// Each small star points at the large one.
		dir := math.Atan2(cy-r*0.18-ay, cx-ax) * 180 / math.Pi
		path(true, gold, 0, polygon(star(ax, ay, r*0.12, dir)))
	}
	// A stylised gate: a gold bar and base under the stars.
	rect(cx-r*0.42, cy+r*0.28, r*0.84, r*0.08)
	rect(cx-r*0.52, cy+r*0.44, r*1.04, r*0.06)
	for _, x := range []float64{-0.3, -0.1, 0.1, 0.3} {
		rect(cx+r*x-r*0.03, cy+r*0.36, r*0.06, r*0.08)
	}
	return shapes
}

// star returns the ten points of a five-pointed star centred at cx, cy with outer radius ro,
// the first point at angle deg (degrees, screen coordinates).
func star(cx, cy, ro, deg float64) [10][2]float64 {
	var pts [10][2]float64
	ri := ro * 0.382
	for i := range pts {
		a := (deg + float64(i)*36) * math.Pi / 180
		rr := ro
		if i%2 == 1 {
			rr = ri
		}
		pts[i] = [2]float64{cx + rr*math.Cos(a), cy + rr*math.Sin(a)}
	}
	return pts
}
