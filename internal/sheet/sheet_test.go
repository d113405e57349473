package sheet_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal/internal/sheet"
)

var table = sheet.Table{Sheet: "库存", Headers: []string{"机构", "数量", "备注", "已核对"},
	Rows: [][]any{{"利州区行政审批局", uint64(500), "=HYPERLINK(\"http://x\")", true}, {"昭化区", int64(-3), "+1", false}}}

func TestCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := sheet.WriteCSV(&buf, table); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("\ufeff")) {
		t.Fatal("no byte-order mark")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{table.Headers, {"利州区行政审批局", "500", "'=HYPERLINK(\"http://x\")", "是"}, {"昭化区", "-3", "'+1", "否"}}
	for i := range want {
		if strings.Join(recs[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d: got %q, want %q", i, recs[i], want[i])
		}
	}
}

func TestXLSX(t *testing.T) {
	long := sheet.Table{Sheet: "长文本", Headers: []string{"说明"}, Rows: [][]any{{strings.Repeat("长", 40000)}}}
	var buf bytes.Buffer
	if err := sheet.WriteXLSX(&buf, table, long); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "库存,长文本" {
		t.Fatalf("sheets %v", got)
	}
	rows, _ := f.GetRows("库存")
	if rows[1][1] != "500" || rows[1][2] != "'=HYPERLINK(\"http://x\")" || rows[2][3] != "否" {
		t.Fatalf("rows %q", rows)
	}
	v, _ := f.GetCellValue("长文本", "A2")
	if n := len([]rune(v)); n != 32767 || !strings.HasSuffix(v, "…") {
		t.Fatalf("long cell: %d characters", n)
	}
}
