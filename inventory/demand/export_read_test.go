package demand_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/internal/sheet/sheettest"
	"certseal/inventory/demand"
)

// TestSummaryExportLayoutAndUnits reads the summary exports back: every XLSX sheet fits its
// text and prints one page wide, organisations are named (never by id), and every count of blank
// forms, in the sheets and in the PDF, is in 张.
func TestSummaryExportLayoutAndUnits(t *testing.T) {
	s := sampleSummary(t)
	ids := map[string]bool{}
	for _, ts := range s.Types {
		for _, r := range ts.Rows {
			ids[r.OrgID] = true
		}
	}
	var b bytes.Buffer
	if err := demand.WriteSummaryXLSX(&b, s); err != nil {
		t.Fatal(err)
	}
	sheettest.CheckLayout(t, b.Bytes())
	f := sheettest.Open(t, b.Bytes())
	counts := map[string][]string{
		"汇总":    {"数量上限", "上年用量", "现有库存", "建议数量", "申报数量", "审核数量"},
		"明细":    {"上年用量", "现有库存", "建议数量", "申报数量", "审核数量"},
		"按供应渠道": {"申报数量", "审核数量"}, "按负责部门": {"申报数量", "审核数量"}, "按报送单位": {"申报数量", "审核数量"},
	}
	for sheet, cols := range counts {
		rows, err := f.GetRows(sheet)
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %q, %v", sheet, rows, err)
		}
		for _, c := range cols {
			if !slices.Contains(rows[0], c+"（张）") {
				t.Errorf("%s: no column %q in %q", sheet, c+"（张）", rows[0])
			}
		}
		for _, row := range rows[1:] {
			for i, v := range row {
				if ids[v] && !strings.Contains(rows[0][i], "数") && !strings.Contains(rows[0][i], "编号") {
					t.Errorf("%s: %s = %q, an organisation id", sheet, rows[0][i], v)
				}
			}
		}
	}

	b.Reset()
	if err := demand.WriteSummaryPDF(&b, s, demo.CityCenterName); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "summary.pdf")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	fixtures.NeedTool(t, "pdftotext", "poppler-utils")
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if strings.Contains(text, "份") {
		t.Errorf("the PDF counts blank forms in 份, the ledger and the sheets in 张:\n%s", text)
	}
	for _, want := range []string{"单位：张", "合计" + itoa(s.Requested) + "张"} {
		if !strings.Contains(strings.ReplaceAll(text, " ", ""), want) {
			t.Errorf("the PDF does not say %q:\n%s", want, text)
		}
	}
}
