package certs_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/certs"
)

func TestReadTable(t *testing.T) {
	for name, c := range map[string]struct {
		file, data string
		rows       int
		first      string
		code       string
	}{
		"csv with BOM":      {"a.csv", "\ufeff名称,代码\n甲,1\n\n乙,2\n", 2, "甲", ""},
		"quoted newline":    {"a.csv", "名称,代码\n\"甲\n店\",1\n", 1, "甲\n店", ""},
		"no extension":      {"upload", "名称\n甲\n", 1, "甲", ""},
		"GBK":               {"a.csv", "\xc3\xfb\xb3\xc6\n\xbc\xd7\n", 0, "", certseal.EInvalid},
		"duplicate header":  {"a.csv", "名称,名称\n甲,乙\n", 0, "", certseal.EInvalid},
		"header only":       {"a.csv", "名称\n", 0, "", certseal.EInvalid},
		"empty":             {"a.csv", "", 0, "", certseal.EInvalid},
		"old excel":         {"a.xls", "\xd0\xcf\x11\xe0", 0, "", certseal.EInvalid},
		"broken xlsx":       {"a.xlsx", "PK\x03\x04xx", 0, "", certseal.EInvalid},
		"too many rows":     {"a.csv", "名称\n" + strings.Repeat("甲\n", certs.MaxBatchRows+1), 0, "", certseal.EInvalid},
		"exactly max rows":  {"a.csv", "名称\n" + strings.Repeat("甲\n", certs.MaxBatchRows), certs.MaxBatchRows, "甲", ""},
		"row number blanks": {"a.csv", "名称\n\n\n甲\n", 1, "甲", ""},
	} {
		t.Run(name, func(t *testing.T) {
			tb, err := certs.ReadTable(c.file, []byte(c.data))
			if c.code != "" {
				if certseal.ErrorCode(err) != c.code {
					t.Fatalf("got %v, want %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(tb.Rows) != c.rows || tb.Rows[0].Cell(0) != c.first {
				t.Fatalf("got %d rows, first %q", len(tb.Rows), tb.Rows[0].Cell(0))
			}
		})
	}
	tb, _ := certs.ReadTable("a.csv", []byte("名称\n\n\n甲\n"))
	if tb.Rows[0].Number != 4 {
		t.Errorf("row number %d, want 4 (the header is row 1)", tb.Rows[0].Number)
	}
	// a cell spanning two lines is one row, as a spreadsheet shows it; a blank line is a row
	tb, _ = certs.ReadTable("a.csv", []byte("名称,地址\n甲,\"一\r\n二\"\n\n乙,三\n"))
	if len(tb.Rows) != 2 || tb.Rows[0].Number != 2 || tb.Rows[1].Number != 4 || tb.Rows[0].Cell(1) != "一\n二" {
		t.Errorf("rows %+v", tb.Rows)
	}
}

func TestReadTableXLSX(t *testing.T) {
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"名称", "代码"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"甲", 91})
	f.SetSheetRow("Sheet1", "A4", &[]any{"乙", "x"})
	var buf bytes.Buffer
	f.Write(&buf)
	tb, err := certs.ReadTable("b.XLSX", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(tb.Rows) != 2 || tb.Rows[0].Cell(1) != "91" || tb.Rows[1].Number != 4 || tb.Rows[1].Cell(0) != "乙" {
		t.Fatalf("rows %+v", tb.Rows)
	}
}

func TestZIPName(t *testing.T) {
	if got := certs.ZIPName("川交运管许可广字510802/000001号"); got != "川交运管许可广字510802_000001号.pdf" {
		t.Fatal(got)
	}
}
