package templates

import (
	"strconv"
	"time"

	"certseal"
)

// A small writer for tabular reports (the demand summary the city center files upward): A4
// portrait pages filled from the top, lines of text, wrapped paragraphs, rules and tables whose
// column titles repeat after a page break, and a footer with the report's title and
// "第 N 页 共 M 页". The pages are Plans written by the same PDF writer as the certificates, so
// reports embed a subset of the font parsed once per process and never parse it again.

// Report page geometry, millimetres.
const (
	reportW      = 210.0
	reportH      = 297.0
	reportMargin = 15.0
	reportBottom = reportH - 18 // the last y a line or row may reach
	reportFootY  = reportH - 12 // the top of the footer line
	cellMargin   = 1.0          // text inset from a cell's left and right edges
	minCellSize  = 6.0          // table text shrinks down to this size before it is cut
)

var (
	reportHeadFill  = [3]int{232, 232, 232}
	reportTotalFill = [3]int{245, 245, 245}
	reportFootColor = [3]int{90, 90, 90}
)

// TextStyle sets a line of report text: font Size in points, line Height in mm, Align (AlignLeft
// when empty, AlignCenter, AlignRight) and the RGB Color (black when zero).
type TextStyle struct {
	Size   float64
	Height float64
	Align  string
	Color  [3]int
}

// Column is one column of a report table: its Title, Width in mm and the Align of its cells
// (AlignLeft when empty, AlignCenter, AlignRight); the titles are centred.
type Column struct {
	Title string
	Width float64
	Align string
}

// Cell is one table cell: its Text, an Align that overrides the column's when not empty, and
// the RGB Color of the text (black when zero).
type Cell struct {
	Text  string
	Align string
	Color [3]int
}

// Table is a report table: the Columns, the Rows (one Cell per column), an optional Total row
// drawn shaded after them, and the Empty text shown across the table when there are no rows.
// Text is set at Size points (9.5 when zero) in rows RowHeight mm high (6.5 when zero); a text
// too wide for its cell shrinks down to 6 points and is then cut with an ellipsis.
type Table struct {
	Columns   []Column
	Rows      [][]Cell
	Total     []Cell
	Empty     string
	Size      float64
	RowHeight float64
}

// Report is a multi-page tabular report being laid out; its methods add content at the current
// position, below what came before, starting a new page when the content does not fit. A Report
// is used by one goroutine; the font it measures and embeds is shared by the process.
type Report struct {
	f       *fontIndex
	title   string
	author  string
	created time.Time
	pages   []*Plan
	y       float64
}

// NewReport starts a report titled title (the footer of every page and the PDF /Title) by author
// (the PDF /Author, left out when empty), dated created. It returns an error with code
// EInternal if the embedded font cannot be loaded.
func NewReport(title, author string, created time.Time) (*Report, error) {
	f, err := loadFont()
	if err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "字库加载失败").WithDetail("reason", err.Error())
	}
	r := &Report{f: f, created: created}
	r.title, r.author = r.clean(title), r.clean(author)
	r.newPage()
	return r, nil
}

// Width returns the width in mm between the left and right margins.
func (r *Report) Width() float64 { return reportW - 2*reportMargin }

func (r *Report) newPage() {
	r.pages = append(r.pages, &Plan{Width: reportW, Height: reportH, font: r.f})
	r.y = reportMargin
}

func (r *Report) page() *Plan { return r.pages[len(r.pages)-1] }

// Need starts a new page when h more mm do not fit on this one, and reports whether it did.
func (r *Report) Need(h float64) bool {
	if r.y+h > reportBottom {
		r.newPage()
		return true
	}
	return false
}

// Space moves the current position h mm down.
func (r *Report) Space(h float64) { r.y += h }

// clean replaces what the fonts cannot draw: control characters by spaces, characters neither
// the font nor its fallback has by a full-width question mark.
func (r *Report) clean(s string) string {
	ok := true
	for _, c := range s {
		if c < 0x20 || !r.f.covers(c) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	out := make([]rune, 0, len(s))
	for _, c := range s {
		switch {
		case c < 0x20:
			c = ' '
		case !r.f.covers(c):
			c = '？'
		}
		out = append(out, c)
	}
	return string(out)
}

// textW returns the width in mm of s at size points.
func (r *Report) textW(s string, size float64) float64 { return r.f.textWidth(s) * size * ptToMM }

// put sets text (already clean) on the current page in the cell of top-left x, y and size w×h,
// aligned within the cell margin, the baseline placed as gofpdf placed it (half the cell height
// plus 0.3 of the font size below the top), so that the text sits centred in table rows.
func (r *Report) put(x, y, w, h float64, text string, size float64, align string, color [3]int) {
	p := r.page()
	p.Runs = appendCellText(p.Runs, r.f, x, y, w, h, text, size, align, color)
}

// appendCellText appends the run of text (already clean) set in the cell of top-left x, y and
// size w×h with font f, as put describes.
func appendCellText(runs []TextRun, f *fontIndex, x, y, w, h float64, text string, size float64, align string, color [3]int) []TextRun {
	if text == "" {
		return runs
	}
	tw := f.textWidth(text) * size * ptToMM
	switch align {
	case AlignRight:
		x += w - cellMargin - tw
	case AlignCenter:
		x += (w - tw) / 2
	default:
		x += cellMargin
	}
	return append(runs, TextRun{X: x, Y: y + h/2 + 0.3*size*ptToMM, Size: size, Text: text, Color: color})
}

// Line adds one line of text across the page, st.Height mm high. It does not break pages by
// itself; call Need first for what must stay together.
func (r *Report) Line(text string, st TextStyle) {
	r.put(reportMargin, r.y, r.Width(), st.Height, r.clean(text), st.Size, st.Align, st.Color)
	r.y += st.Height
}

// Cells adds one line of texts side by side in equal widths, st.Height mm high.
func (r *Report) Cells(texts []string, st TextStyle) {
	w := r.Width() / float64(max(len(texts), 1))
	for i, t := range texts {
		r.put(reportMargin+float64(i)*w, r.y, w, st.Height, r.clean(t), st.Size, st.Align, st.Color)
	}
	r.y += st.Height
}

// Paragraph adds text broken into lines across the page (Chinese line-breaking rules), each
// st.Height mm high, starting new pages as needed.
func (r *Report) Paragraph(text string, st TextStyle) {
	for _, l := range r.f.breakLines(r.clean(text), (r.Width()-2*cellMargin)/(st.Size*ptToMM)) {
		r.Need(st.Height)
		r.put(reportMargin, r.y, r.Width(), st.Height, l, st.Size, st.Align, st.Color)
		r.y += st.Height
	}
}

// Rule adds a heavy horizontal line across the page 1.5 mm below the current position and moves
// 5 mm down.
func (r *Report) Rule() {
	y := r.y + 1.5
	p := r.page()
	p.Shapes = append(p.Shapes, Shape{Kind: ShapeLine, X: reportMargin, Y: y, X2: reportMargin + r.Width(), Y2: y, LineWidth: 0.4})
	r.y += 5
}

// cell draws a bordered table cell, filled when fill is not nil, with text fitted into it.
func (r *Report) cell(x, w, h float64, text string, size float64, align string, color [3]int, fill *[3]int) {
	p := r.page()
	if fill != nil {
		p.Shapes = append(p.Shapes, Shape{Kind: ShapeRect, X: x, Y: r.y, W: w, H: h, Fill: true, Color: *fill})
	}
	p.Shapes = append(p.Shapes, Shape{Kind: ShapeRect, X: x, Y: r.y, W: w, H: h, LineWidth: 0.2})
	text, size = r.fit(r.clean(text), w-2*cellMargin, size)
	r.put(x, r.y, w, h, text, size, align, color)
}

// fit shrinks text from size by half points down to minCellSize until it is at most w mm wide,
// then cuts it with an ellipsis.
func (r *Report) fit(text string, w, size float64) (string, float64) {
	for r.textW(text, size) > w && size > minCellSize {
		size -= 0.5
	}
	if r.textW(text, size) <= w {
		return text, size
	}
	rs := []rune(text)
	for len(rs) > 1 && r.textW(string(rs)+"…", size) > w {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…", size
}

// row draws one row of cells under the columns; cells beyond the columns are ignored.
func (r *Report) row(t *Table, cells []Cell, size, h float64, fill *[3]int) {
	x := reportMargin
	for k, c := range t.Columns {
		var cl Cell
		if k < len(cells) {
			cl = cells[k]
		}
		align := cl.Align
		if align == "" {
			align = c.Align
		}
		r.cell(x, c.Width, h, cl.Text, size, align, cl.Color, fill)
		x += c.Width
	}
	r.y += h
}

// Table adds t: the column titles (repeated at the top of every page the table continues on),
// the rows, and the total row.
func (r *Report) Table(t Table) {
	size, h := t.Size, t.RowHeight
	if size == 0 {
		size = 9.5
	}
	if h == 0 {
		h = 6.5
	}
	head := func() {
		x := reportMargin
		for _, c := range t.Columns {
			r.cell(x, c.Width, h, c.Title, size, AlignCenter, [3]int{}, &reportHeadFill)
			x += c.Width
		}
		r.y += h
	}
	r.Need(2 * h)
	head()
	if len(t.Rows) == 0 && t.Empty != "" {
		w := 0.0
		for _, c := range t.Columns {
			w += c.Width
		}
		r.cell(reportMargin, w, h, t.Empty, size, AlignCenter, [3]int{}, nil)
		r.y += h
	}
	for _, cells := range t.Rows {
		if r.Need(h) {
			head()
		}
		r.row(&t, cells, size, h, nil)
	}
	if t.Total != nil {
		if r.Need(h) {
			head()
		}
		r.row(&t, t.Total, size, h, &reportTotalFill)
	}
}

// PDF adds the footers and returns the report as a PDF, one page per page laid out. The same
// report gives the same bytes. It returns an error with code EInternal if the subset font cannot
// be built.
func (r *Report) PDF() ([]byte, error) {
	n := strconv.Itoa(len(r.pages))
	pages := make([]*Plan, len(r.pages))
	var runs []TextRun
	for i, p := range r.pages {
		fp := *p // the footer goes on a copy, so that PDF may be called again
		fp.Runs = appendCellText(p.Runs[:len(p.Runs):len(p.Runs)], r.f, reportMargin, reportFootY, r.Width()/2, 5,
			r.title, 8.5, AlignLeft, reportFootColor)
		fp.Runs = appendCellText(fp.Runs, r.f, reportMargin+r.Width()/2, reportFootY, r.Width()/2, 5,
			"第 "+strconv.Itoa(i+1)+" 页 共 "+n+" 页", 8.5, AlignRight, reportFootColor)
		pages[i] = &fp
		runs = append(runs, fp.Runs...)
	}
	all := &Plan{Runs: runs, font: r.f}
	fonts, bySlot, err := all.fonts()
	if err != nil {
		return nil, err
	}
	contents := make([][]byte, len(pages))
	for i, p := range pages {
		c := &canvas{pageH: reportH}
		p.draw(c, len(fonts) > 0, bySlot)
		contents[i] = c.b
	}
	return writePages(reportW, reportH, contents, fonts, docInfo{
		title:    r.title,
		author:   r.author,
		creator:  "certseal report",
		producer: "certseal",
		created:  r.created,
	}), nil
}
