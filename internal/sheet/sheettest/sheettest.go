// Package sheettest checks, for tests, that an XLSX workbook written by package sheet can be read
// and printed: every column is wide enough for its longest text (or wraps it), and every sheet
// prints one page wide on A4, landscape when it is wider than a portrait page, with the header row
// repeated on every page.
package sheettest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// PortraitWidth is the total column width (in Excel's character units) that still prints on a
// portrait A4 page at full size; a wider sheet must be landscape.
const PortraitWidth = 100

// TextWidth is a conservative display width of s in Excel's character units: a CJK or other
// wide character counts 2, anything else 1.
func TextWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x1100 && (r <= 0x115f || r >= 0x2e80 && r <= 0xa4cf || r >= 0xac00 && r <= 0xd7a3 ||
			r >= 0xf900 && r <= 0xfaff || r >= 0xfe30 && r <= 0xfe4f || r >= 0xff00 && r <= 0xff60 || r >= 0xffe0 && r <= 0xffe6 ||
			r == 0x2014 || r == 0x2026) {
			w += 2
		} else {
			w++
		}
	}
	return w
}

// Open opens an XLSX workbook from b, failing the test when it cannot.
func Open(t testing.TB, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("open XLSX: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// CheckLayout checks every sheet of the workbook b: column widths fit the text (a column may
// instead wrap its text, when its cells have a wrapping style), the page setup is A4, fit to one
// page wide and as many pages tall as needed, landscape when the columns are wider than
// PortraitWidth, and the header row is repeated on every printed page.
func CheckLayout(t testing.TB, b []byte) {
	t.Helper()
	f := Open(t, b)
	titles := map[string]bool{}
	names := f.GetDefinedName()
	for _, n := range names {
		if n.Name == "_xlnm.Print_Titles" && strings.HasSuffix(n.RefersTo, "!$1:$1") {
			titles[n.Scope] = true
		}
	}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("%s: %v", sheet, err)
		}
		if len(rows) == 0 {
			t.Errorf("%s: no header row", sheet)
			continue
		}
		total := 0.0
		for c := range rows[0] {
			col, _ := excelize.ColumnNumberToName(c + 1)
			width, err := f.GetColWidth(sheet, col)
			if err != nil {
				t.Fatalf("%s!%s: %v", sheet, col, err)
			}
			total += width
			for r, row := range rows {
				if c >= len(row) {
					continue
				}
				if need := TextWidth(row[c]); need > width && !wraps(f, sheet, col, r+1) {
					t.Errorf("%s!%s%d: %q needs width %.0f, the column is %.1f wide and does not wrap", sheet, col, r+1, cut(row[c]), need, width)
					break
				}
			}
		}
		props, err := f.GetSheetProps(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if props.FitToPage == nil || !*props.FitToPage {
			t.Errorf("%s: not set to fit the page", sheet)
		}
		pl, err := f.GetPageLayout(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if pl.Size == nil || *pl.Size != 9 {
			t.Errorf("%s: paper size %v, want A4 (9)", sheet, deref(pl.Size))
		}
		if pl.FitToWidth == nil || *pl.FitToWidth != 1 || pl.FitToHeight == nil || *pl.FitToHeight != 0 {
			t.Errorf("%s: fit to %v page(s) wide, %v tall; want 1 wide, 0 (as many as needed) tall", sheet, deref(pl.FitToWidth), deref(pl.FitToHeight))
		}
		want := "portrait"
		if total > PortraitWidth {
			want = "landscape"
		}
		if pl.Orientation == nil || *pl.Orientation != want {
			t.Errorf("%s: %d columns %.0f wide print %v, want %s", sheet, len(rows[0]), total, deref(pl.Orientation), want)
		}
		if !titles[sheet] {
			t.Errorf("%s: the header row is not repeated on every printed page (no _xlnm.Print_Titles)", sheet)
		}
	}
}

func wraps(f *excelize.File, sheet, col string, row int) bool {
	id, err := f.GetCellStyle(sheet, fmt.Sprintf("%s%d", col, row))
	if err != nil || id == 0 {
		return false
	}
	st, err := f.GetStyle(id)
	return err == nil && st.Alignment != nil && st.Alignment.WrapText
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func cut(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

// Column returns the index of the column headed name in rows[0], failing the test when there
// is none.
func Column(t testing.TB, rows [][]string, name string) int {
	t.Helper()
	for i, h := range rows[0] {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %q", name, rows[0])
	return -1
}
