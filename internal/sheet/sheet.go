// Package sheet writes tables as CSV (UTF-8 with a byte-order mark, so that Excel opens Chinese
// headers correctly) and as XLSX workbooks (one sheet per table, through excelize's stream
// writer, with column widths that fit the text and a page setup that prints each sheet one page
// wide on A4). Text that a spreadsheet would take for a formula is defused with a leading quote, and
// text longer than an XLSX cell allows is cut. The ledger's and the demand rounds' exports use it.
package sheet

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Table is one sheet: its name, column headers and rows. Cells are strings, integers (int,
// int64, uint64), booleans (written 是/否) or anything fmt prints.
type Table struct {
	Sheet   string
	Headers []string
	Rows    [][]any
}

// utf8BOM makes Excel read a CSV file as UTF-8.
const utf8BOM = "\ufeff"

// cellMax is the longest text an XLSX cell may hold.
const cellMax = 32767

// Safe defuses spreadsheet formulas: text starting with = + - @ or a tab or carriage return
// gets a leading quote.
func Safe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Text returns a cell as CSV text.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return Safe(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case int:
		return strconv.Itoa(x)
	case bool:
		if x {
			return "是"
		}
		return "否"
	}
	return fmt.Sprint(v)
}

// WriteCSV writes t as CSV with a byte-order mark. It returns the writer's error.
func WriteCSV(w io.Writer, t Table) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Headers); err != nil {
		return err
	}
	rec := make([]string, len(t.Headers))
	for _, row := range t.Rows {
		for i, v := range row {
			rec[i] = Text(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Column widths are in Excel's character units (the width of one digit of the default font).
const (
	minColWidth = 6
	// maxColWidth is the widest a column gets; longer text wraps inside it.
	maxColWidth = 50
	// portraitWidth is the total width that still prints at full size on a portrait A4 page
	// with narrow margins; a wider sheet prints landscape. Either way it is fit to one page wide.
	portraitWidth = 100
	paperA4       = 9
)

// textWidth returns the display width of s in Excel's character units: wide (CJK) characters
// count about two digits, others about one. It is generous, so that text is never cut.
func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r < 0x80:
			w += 1.1
		case r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6 ||
			r == 0x2014 || r == 0x2026):
			w += 2.1
		default:
			w += 1.6
		}
	}
	return w
}

// layout is how one table is laid out: each column's width, which columns wrap their text, and
// the page orientation.
type layout struct {
	widths []float64
	wrap   []bool
	total  float64
}

func measure(t Table) layout {
	l := layout{widths: make([]float64, len(t.Headers)), wrap: make([]bool, len(t.Headers))}
	grow := func(i int, s string) {
		if i >= len(l.widths) {
			return
		}
		if w := textWidth(s) + 2; w > l.widths[i] {
			l.widths[i] = w
		}
	}
	for i, h := range t.Headers {
		grow(i, h)
	}
	for _, row := range t.Rows {
		for i, v := range row {
			grow(i, Text(v))
		}
	}
	for i, w := range l.widths {
		switch {
		case w < minColWidth:
			l.widths[i] = minColWidth
		case w > maxColWidth:
			l.widths[i], l.wrap[i] = maxColWidth, true
		}
		l.total += l.widths[i]
	}
	return l
}

// pageSetup makes a sheet print on A4, one page wide and as many pages tall as needed
// (landscape when it is wider than a portrait page), with narrow margins, the header row on
// every page and the page number in the footer. It must run before the sheet's stream writer is
// made, which writes these settings with the rows.
func pageSetup(f *excelize.File, name string, l layout) error {
	orientation := "portrait"
	if l.total > portraitWidth {
		orientation = "landscape"
	}
	yes, size, one, zero := true, paperA4, 1, 0
	if err := f.SetSheetProps(name, &excelize.SheetPropsOptions{FitToPage: &yes}); err != nil {
		return err
	}
	if err := f.SetPageLayout(name, &excelize.PageLayoutOptions{Size: &size, Orientation: &orientation, FitToWidth: &one, FitToHeight: &zero}); err != nil {
		return err
	}
	side, top := 0.25, 0.5
	if err := f.SetPageMargins(name, &excelize.PageLayoutMarginsOptions{Left: &side, Right: &side, Top: &top, Bottom: &top}); err != nil {
		return err
	}
	if err := f.SetHeaderFooter(name, &excelize.HeaderFooterOptions{OddFooter: "&C第 &P 页，共 &N 页"}); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + strings.ReplaceAll(name, "'", "''") + "'!$1:$1", Scope: name})
}

// WriteXLSX writes the tables as the sheets of one workbook, in order. Each column is as wide
// as its longest text (up to a limit, beyond which the text wraps), the header row is bold and
// stays in view, and each sheet prints on A4, one page wide. It returns the writer's or
// excelize's error.
func WriteXLSX(w io.Writer, tables ...Table) error {
	f := excelize.NewFile()
	defer f.Close()
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.Sheet); err != nil {
			return err
		}
		l := measure(t)
		if err := pageSetup(f, t.Sheet, l); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(t.Sheet)
		if err != nil {
			return err
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		for j, cw := range l.widths {
			if err := sw.SetColWidth(j+1, j+1, cw); err != nil {
				return err
			}
		}
		cells := make([]any, len(t.Headers))
		for j, h := range t.Headers {
			cells[j] = excelize.Cell{StyleID: head, Value: h}
		}
		if err := sw.SetRow("A1", cells); err != nil {
			return err
		}
		for r, row := range t.Rows {
			cells := make([]any, len(row))
			for j, v := range row {
				switch x := v.(type) {
				case string:
					if len(x) > cellMax/3 && len([]rune(x)) > cellMax {
						x = string([]rune(x)[:cellMax-1]) + "…"
					}
					cells[j] = Safe(x)
				case uint64:
					cells[j] = int64(x)
				case bool:
					cells[j] = Text(x)
				default:
					cells[j] = x
				}
				if j < len(l.wrap) && l.wrap[j] {
					cells[j] = excelize.Cell{StyleID: wrap, Value: cells[j]}
				}
			}
			cell, err := excelize.CoordinatesToCellName(1, r+2)
			if err != nil {
				return err
			}
			if err := sw.SetRow(cell, cells); err != nil {
				return err
			}
		}
		if err := sw.Flush(); err != nil {
			return err
		}
	}
	return f.Write(w)
}
