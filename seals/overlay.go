package seals

import (
	"bytes"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"certseal"
	"certseal/templates"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

// Limits of a banner (DrawBanner).
const (
	MaxBannerLines    = 12
	MaxBannerLineLen  = 60 // characters
	bannerPadMM       = 2.5
	bannerFrameMM     = 0.6
	bannerLineSpacing = 1.45
)

// DrawBanner returns the picture of a purpose stamp (加注): the lines of text, each line's
// characters lineMM high, in the seal red inside a rectangular frame, drawn as vector paths
// from the embedded font (no font goes into the PDF). Sign it with SignOptions.Fit set so that
// it keeps its proportions in the rectangle. It returns a *certseal.Error (EInvalid) for no
// text, too many or too long lines, a size outside 2..20 mm, or a character the font lacks.
func DrawBanner(lines []string, lineMM float64) (*Picture, error) {
	if math.IsNaN(lineMM) || lineMM < 2 || lineMM > 20 {
		return nil, certseal.Errorf(certseal.EInvalid, "加注文字的字高必须在 2 至 20 毫米之间")
	}
	var text []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			text = append(text, l)
		}
	}
	switch {
	case len(text) == 0:
		return nil, certseal.Errorf(certseal.EInvalid, "加注文字不能为空")
	case len(text) > MaxBannerLines:
		return nil, certseal.Errorf(certseal.EInvalid, "加注文字不能超过 %d 行", MaxBannerLines)
	}
	upem, err := templates.GlyphUnitsPerEm()
	if err != nil {
		return nil, err
	}
	k := lineMM / float64(upem) // millimetres per font unit
	type placed struct {
		g    glyph
		x, y float64
	}
	var glyphs []placed
	width := 0.0
	lineH := lineMM * bannerLineSpacing
	for i, l := range text {
		if utf8.RuneCountInString(l) > MaxBannerLineLen {
			return nil, certseal.Errorf(certseal.EInvalid, "加注文字每行不能超过 %d 个字", MaxBannerLineLen)
		}
		pen := 0.0
		base := float64(len(text)-1-i)*lineH + lineMM*0.22 // baseline above the line's bottom
		for _, r := range l {
			g, err := outline(r)
			if err != nil {
				return nil, charErr(r, err)
			}
			glyphs = append(glyphs, placed{g, pen, base})
			pen += g.advance * k
		}
		width = math.Max(width, pen)
	}
	pad := bannerPadMM + bannerFrameMM
	w := width + 2*pad
	h := float64(len(text))*lineH - (lineH - lineMM) + 2*pad
	var b builder
	// The frame: the outer rectangle counter-clockwise, the inner clockwise.
	b.move(vec{0, 0})
	b.line(vec{w, 0})
	b.line(vec{w, h})
	b.line(vec{0, h})
	b.close()
	f := bannerFrameMM
	b.move(vec{f, f})
	b.line(vec{f, h - f})
	b.line(vec{w - f, h - f})
	b.line(vec{w - f, f})
	b.close()
	for _, p := range glyphs {
		tr := func(q fixed.Point26_6) vec { // 26.6 font units, y down
			return vec{pad + p.x + float64(q.X)/64*k, pad + p.y - float64(q.Y)/64*k}
		}
		open := false
		for _, s := range p.g.segs {
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				if open {
					b.close()
				}
				b.move(tr(s.Args[0]))
				open = true
			case sfnt.SegmentOpLineTo:
				b.line(tr(s.Args[0]))
			case sfnt.SegmentOpQuadTo:
				b.quad(tr(s.Args[0]), tr(s.Args[1]))
			case sfnt.SegmentOpCubeTo:
				b.cube(tr(s.Args[0]), tr(s.Args[1]), tr(s.Args[2]))
			}
		}
		if open {
			b.close()
		}
	}
	return &Picture{w: w, h: h, ops: b.ops}, nil
}

// PageSize returns the width and height in PDF points of the given page (1-based) of pdf. It
// returns a *certseal.Error (EInvalid) for a file pdfcpu cannot read or without the page.
func PageSize(pdf []byte, page int) (w, h float64, err error) {
	defer func() {
		if r := recover(); r != nil { // pdfcpu on hostile input
			w, h, err = 0, 0, certseal.Errorf(certseal.EInvalid, "PDF 文件已损坏，无法读取页面大小")
		}
	}()
	dims, err := api.PageDims(bytes.NewReader(pdf), pdfcpuConfig())
	if err != nil {
		return 0, 0, certseal.Errorf(certseal.EInvalid, "PDF 文件已损坏，无法读取页面大小")
	}
	if page < 1 || page > len(dims) {
		return 0, 0, certseal.Errorf(certseal.EInvalid, "PDF 文件没有第 %d 页", page)
	}
	return dims[page-1].Width, dims[page-1].Height, nil
}
