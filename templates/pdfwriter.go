package templates

// PDFWriter writes a Plan as a one-page PDF (see pdfwrite.go for the file shape): the shapes,
// then the text runs in the subset fonts, then the QR code, into one content stream. It has no
// state; the zero value is ready and may be used by any number of goroutines at once.
type PDFWriter struct{}

// Format returns "pdf".
func (PDFWriter) Format() string { return "pdf" }

// Write returns the PDF of p. The same plan gives the same bytes. It returns an error with code
// EInternal if the subset font cannot be built.
func (PDFWriter) Write(p *Plan) ([]byte, error) {
	fonts, bySlot, err := p.fonts()
	if err != nil {
		return nil, err
	}
	cp := getBuf()
	defer putBuf(cp)
	c := &canvas{b: *cp, pageH: p.Height}
	defer func() { *cp = c.b }()

	p.draw(c, len(fonts) > 0, bySlot)
	if q := p.QR; q != nil {
		c.b = appendQRRects(c.b, q.code, q.X, q.Y, q.Size, p.Height)
		c.b = append(c.b, '\n')
	}
	return writePDF(p.Width, p.Height, c.b, fonts, docInfo{
		title:    p.Title,
		creator:  p.Creator,
		producer: p.Producer,
		created:  p.Created,
	}), nil
}

// draw adds the shapes of p, then its text runs in the fonts of bySlot (when withText).
func (p *Plan) draw(c *canvas, withText bool, bySlot [2]*pdfFont) {
	for i := range p.Shapes {
		c.shape(&p.Shapes[i])
	}
	if withText {
		var cids []uint16
		for _, run := range p.Runs {
			c.setFill(run.Color)
			tc := run.Spacing / ptToMM
			x := run.X
			for _, seg := range p.segments(run.Text) {
				f := bySlot[seg.font]
				cids = cids[:0]
				for _, r := range seg.s {
					cids = append(cids, f.sub.cid(r))
				}
				c.text(f.res, run.Size, tc, x, run.Y, cids)
				x += seg.width*run.Size*ptToMM + float64(seg.n)*run.Spacing
			}
		}
	}
}

// shape draws s: the colour (and line width) first, then the outline, filled or stroked.
func (c *canvas) shape(s *Shape) {
	paint := "S"
	if s.Fill {
		paint = "f"
		c.setFill(s.Color)
	} else {
		c.setStroke(s.Color)
		c.setLineWidth(s.LineWidth)
	}
	switch s.Kind {
	case ShapeRect:
		c.rect(s.X, s.Y, s.W, s.H, paint)
	case ShapeLine:
		c.line(s.X, s.Y, s.X2, s.Y2)
	case ShapePath:
		for _, seg := range s.Path {
			switch seg.Op {
			case MoveTo:
				c.pt(seg.Pts[0][0], seg.Pts[0][1])
				c.op("m")
			case LineTo:
				c.pt(seg.Pts[0][0], seg.Pts[0][1])
				c.op("l")
			case CurveTo:
				c.curve(seg.Pts[0][0], seg.Pts[0][1], seg.Pts[1][0], seg.Pts[1][1], seg.Pts[2][0], seg.Pts[2][1])
			case Close:
				c.b = append(c.b, "h "...)
			}
		}
		c.op(paint)
	}
}
