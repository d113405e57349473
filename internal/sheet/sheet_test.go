package sheet_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal/internal/sheet"
	"certseal/internal/sheet/sheettest"
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

// TestXLSXLayout reads a workbook back and checks that codes and names are not cut, long text
// wraps, and each sheet prints one page wide: a narrow one portrait, a wide one landscape.
func TestXLSXLayout(t *testing.T) {
	narrow := sheet.Table{Sheet: "库存", Headers: []string{"证照类型代码", "持有机构", "数量（张）"},
		Rows: [][]any{{"11100000000013338W032", "广元市利州区行政审批局", int64(500)}, {"11100000000019526C001", "苍溪县交通运输局", 12}}}
	wide := sheet.Table{Sheet: "变动", Headers: []string{"证照类型代码", "证照类型", "发出机构", "接收机构", "号段", "供货单位", "备注"},
		Rows: [][]any{{"11100000000013338W032", "食品经营许可证", "广元市市场监督管理局", "广元市利州区行政审批局",
			strings.Repeat("SC00010001-SC00010500、", 30), "成都川印证件印务有限公司", strings.Repeat("说明", 100)}}}
	var buf bytes.Buffer
	if err := sheet.WriteXLSX(&buf, narrow, wide); err != nil {
		t.Fatal(err)
	}
	sheettest.CheckLayout(t, buf.Bytes())
	f := sheettest.Open(t, buf.Bytes())
	for _, c := range []struct {
		sheet, orientation string
	}{{"库存", "portrait"}, {"变动", "landscape"}} {
		pl, err := f.GetPageLayout(c.sheet)
		if err != nil || pl.Orientation == nil || *pl.Orientation != c.orientation {
			t.Errorf("%s: orientation %v (%v), want %s", c.sheet, pl.Orientation, err, c.orientation)
		}
	}
	// The wide text wraps rather than widening its column without bound.
	if w, _ := f.GetColWidth("变动", "E"); w > 60 {
		t.Errorf("the 号段 column is %.0f wide", w)
	}
}

// TestTextWidth pins the width measure the layout check relies on.
func TestTextWidth(t *testing.T) {
	for s, want := range map[string]float64{"SC00000001": 10, "利州区": 6, "数量（张）": 10, "": 0} {
		if got := sheettest.TextWidth(s); got != want {
			t.Errorf("TextWidth(%q) = %v, want %v", s, got, want)
		}
	}
}
