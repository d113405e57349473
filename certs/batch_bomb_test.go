package certs_test

import (
	"archive/zip"
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/certs"
)

// xlsxBomb returns a small XLSX whose first sheet unzips to more than spaces bytes: a valid
// workbook whose sheet XML is padded with white space, deflated (about 1000 to 1).
func xlsxBomb(t testing.TB, spaces int) []byte {
	t.Helper()
	f := excelize.NewFile()
	f.SetSheetRow("Sheet1", "A1", &[]any{"名称", "代码"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"甲", "1"})
	var plain bytes.Buffer
	if err := f.Write(&plain); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(plain.Bytes()), int64(plain.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, e := range zr.File {
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r)
		w, err := zw.Create(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Name == "xl/worksheets/sheet1.xml" {
			i := bytes.Index(body, []byte("<sheetData>")) + len("<sheetData>")
			w.Write(body[:i])
			chunk := bytes.Repeat([]byte(" "), 1<<20)
			for n := 0; n < spaces; n += len(chunk) {
				w.Write(chunk)
			}
			body = body[i:]
		}
		w.Write(body)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestReadTableZipBomb: an XLSX of a few hundred KB that unzips to 200 MB is refused
// (payload_too_large) before anything is extracted, with bounded memory.
func TestReadTableZipBomb(t *testing.T) {
	bomb := xlsxBomb(t, 200<<20)
	if len(bomb) > certs.MaxBatchFile {
		t.Fatalf("bomb of %d bytes is over the upload limit", len(bomb))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := certs.ReadTable("bomb.xlsx", bomb)
	runtime.ReadMemStats(&after)
	if certseal.ErrorCode(err) != certseal.ETooLarge || !strings.Contains(certseal.ErrorMessage(err), "解压") {
		t.Fatalf("ReadTable(bomb) = %v, want payload_too_large about the unzipped size", err)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Fatalf("reading the bomb allocated %d MB, want under 8 MB", got>>20)
	}
	// the same workbook without the padding reads
	if _, err := certs.ReadTable("ok.xlsx", xlsxBomb(t, 0)); err != nil {
		t.Fatalf("unpadded workbook: %v", err)
	}
}

// TestReadTableCounts: a table with too many rows (blank ones included) or cells is refused
// (payload_too_large), in CSV as in XLSX.
func TestReadTableCounts(t *testing.T) {
	for name, c := range map[string]struct {
		file string
		data []byte
	}{
		"csv blank lines": {"a.csv", []byte("名称\n甲\n" + strings.Repeat("\n", certs.MaxBatchLines+1))},
		"csv commas":      {"a.csv", []byte("名称\n" + strings.Repeat(",", certs.MaxBatchCells+1) + "\n")},
		"xlsx blank rows": {"a.xlsx", xlsxRows(t, certs.MaxBatchLines+10)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := certs.ReadTable(c.file, c.data); certseal.ErrorCode(err) != certseal.ETooLarge {
				t.Fatalf("ReadTable = %v, want payload_too_large", err)
			}
		})
	}
}

// xlsxRows returns an XLSX with a header, one data row and then n rows holding one blank
// cell each.
func xlsxRows(t testing.TB, n int) []byte {
	t.Helper()
	f := excelize.NewFile()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	sw.SetRow("A1", []any{"名称"})
	sw.SetRow("A2", []any{"甲"})
	for i := 3; i < n+3; i++ {
		cell, _ := excelize.CoordinatesToCellName(1, i)
		sw.SetRow(cell, []any{""})
	}
	sw.Flush()
	var b bytes.Buffer
	f.Write(&b)
	return b.Bytes()
}
