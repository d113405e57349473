package certs_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/certs"
)

// checkTable asserts what ReadTable promises of a table it returns, or of its error.
func checkTable(t *testing.T, tb *certs.Table, err error) {
	t.Helper()
	if err != nil {
		if c := certseal.ErrorCode(err); c != certseal.EInvalid && c != certseal.ETooLarge {
			t.Fatalf("error %v, want EInvalid or ETooLarge", err)
		}
		return
	}
	if len(tb.Header) == 0 || len(tb.Header) > certs.MaxBatchCols || len(tb.Rows) == 0 || len(tb.Rows) > certs.MaxBatchRows {
		t.Fatalf("table with %d columns and %d rows", len(tb.Header), len(tb.Rows))
	}
	seen := map[string]bool{}
	for _, h := range tb.Header {
		if h != "" && seen[h] {
			t.Fatalf("duplicate header %q", h)
		}
		seen[h] = true
	}
	last := 1
	for _, r := range tb.Rows {
		if r.Number <= last || len(r.Cells) > certs.MaxBatchCols || strings.TrimSpace(strings.Join(r.Cells, "")) == "" {
			t.Fatalf("row %d after %d with %d cells %q", r.Number, last, len(r.Cells), r.Cells)
		}
		last = r.Number
	}
}

// FuzzReadTableCSV: a CSV upload is a well-formed table or an EInvalid/ETooLarge error, never a
// panic. Seeds: the shapes of TestReadTable.
func FuzzReadTableCSV(f *testing.F) {
	for _, s := range []string{"\ufeff名称,代码\n甲,1\n\n乙,2\n", "名称,代码\n\"甲\n店\",1\n", "名称,地址\n甲,\"一\r\n二\"\n\n乙,三\n",
		"\xc3\xfb\xb3\xc6\n\xbc\xd7\n", "名称,名称\n甲,乙\n", "名称\n", "a,\"b\nc", "名称\n\n\n甲\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := certs.ReadTable("upload.csv", data)
		checkTable(t, tb, err)
	})
}

// FuzzReadTableXLSX: an XLSX upload is a well-formed table or an EInvalid/ETooLarge error,
// never a panic. Seeds: small workbooks made with excelize, one with a gap and a date.
func FuzzReadTableXLSX(f *testing.F) {
	for _, rows := range [][][]any{
		{{"名称", "代码"}, {"甲", 91}, nil, {"乙", "x"}},
		{{"名称", "日期"}, {"甲", 47000.0}},
		{{"名称"}},
	} {
		x := excelize.NewFile()
		for i, r := range rows {
			if r != nil {
				cell, _ := excelize.CoordinatesToCellName(1, i+1)
				x.SetSheetRow("Sheet1", cell, &r)
			}
		}
		var b bytes.Buffer
		if err := x.Write(&b); err != nil {
			f.Fatal(err)
		}
		f.Add(b.Bytes())
	}
	f.Add(xlsxBomb(f, 1<<20))
	f.Fuzz(func(t *testing.T, data []byte) {
		tb, err := certs.ReadTable("upload.xlsx", data)
		checkTable(t, tb, err)
	})
}
