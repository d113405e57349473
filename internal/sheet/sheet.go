// Package sheet writes tables as CSV (UTF-8 with a byte-order mark, so that Excel opens Chinese
// headers correctly) and as XLSX workbooks (one sheet per table, through excelize's stream
// writer). Text that a spreadsheet would take for a formula is defused with a leading quote, and
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

// WriteXLSX writes the tables as the sheets of one workbook, in order. It returns the writer's
// or excelize's error.
func WriteXLSX(w io.Writer, tables ...Table) error {
	f := excelize.NewFile()
	defer f.Close()
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.Sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.Sheet); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(t.Sheet)
		if err != nil {
			return err
		}
		head := make([]any, len(t.Headers))
		for j, h := range t.Headers {
			head[j] = h
		}
		if err := sw.SetRow("A1", head); err != nil {
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
