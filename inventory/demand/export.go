package demand

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"certseal"
)

// Exports take a Summary and do no database work, so that they run outside any transaction.
// CSV is UTF-8 with a byte-order mark (Excel reads the Chinese headers correctly); text cells
// that a spreadsheet would take for a formula are prefixed with an apostrophe.

// Formats of the summary export (?format=).
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
	FormatPDF  = "pdf"
)

// TotalHeaders are the column headers of the per-type totals (XLSX sheet 汇总).
var TotalHeaders = []string{"证照类型代码", "证照类型", "供应渠道", "负责部门", "数量上限", "报送单位数", "上年用量", "现有库存", "建议数量", "申报数量", "审核数量", "差异较大单位数"}

// DetailHeaders are the column headers of the detail rows (the CSV, and XLSX sheet 明细).
var DetailHeaders = []string{"证照类型代码", "证照类型", "供应渠道", "负责部门", "报送单位", "单位类型", "报送单编号", "状态", "上年用量", "现有库存", "建议数量", "申报数量", "审核数量", "差异提示", "申请理由"}

// GroupHeaders are the column headers of the totals per channel, department and organisation.
var GroupHeaders = []string{"申报数量", "审核数量"}

type table struct {
	sheet   string
	headers []string
	rows    [][]any
}

// safeText defuses spreadsheet formulas in text cells.
func safeText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func cellText(v any) string {
	switch x := v.(type) {
	case string:
		return safeText(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	}
	return fmt.Sprint(v)
}

func flagText(b bool) string {
	if b {
		return "差异较大"
	}
	return ""
}

func capText(c int64) any {
	if c == 0 {
		return "不限"
	}
	return c
}

func deptName(t *RoundType) string {
	if t.ResponsibleOrgID == "" {
		return "未指定负责部门"
	}
	return t.ResponsibleName
}

func detailTable(s *Summary, subtotals bool) table {
	t := table{sheet: "明细", headers: DetailHeaders}
	for i := range s.Types {
		ts := &s.Types[i]
		lead := []any{ts.Code, ts.Name, ts.ChannelLabel, deptName(&ts.RoundType)}
		for _, r := range ts.Rows {
			t.rows = append(t.rows, append(append([]any{}, lead...), r.OrgName, r.OrgKind.Label(), r.FilingID, r.Status.Label(),
				r.LastYearUse, r.InStock, r.Suggested, r.Requested, r.Approved, flagText(r.Flagged), r.Reason))
		}
		if subtotals {
			t.rows = append(t.rows, append(append([]any{}, lead...), "合计", "", "", "",
				ts.LastYearUse, ts.InStock, ts.Suggested, ts.Requested, ts.Approved, "", ""))
		}
	}
	return t
}

func totalsTable(s *Summary) table {
	t := table{sheet: "汇总", headers: TotalHeaders}
	for i := range s.Types {
		ts := &s.Types[i]
		t.rows = append(t.rows, []any{ts.Code, ts.Name, ts.ChannelLabel, deptName(&ts.RoundType), capText(ts.Cap), len(ts.Rows),
			ts.LastYearUse, ts.InStock, ts.Suggested, ts.Requested, ts.Approved, ts.Flagged})
	}
	t.rows = append(t.rows, []any{"", "合计", "", "", "", "", "", "", "", s.Requested, s.Approved, s.Flagged})
	return t
}

func groupTable(sheet, head string, ts []Total) table {
	t := table{sheet: sheet, headers: append([]string{head}, GroupHeaders...)}
	var req, appr int64
	for _, x := range ts {
		t.rows = append(t.rows, []any{x.Label, x.Requested, x.Approved})
		req += x.Requested
		appr += x.Approved
	}
	t.rows = append(t.rows, []any{"合计", req, appr})
	return t
}

// WriteSummaryCSV writes the summary as CSV: one row per type and filing organisation, and a
// 合计 row after each type. It returns the writer's error.
func WriteSummaryCSV(w io.Writer, s Summary) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	t := detailTable(&s, true)
	cw := csv.NewWriter(w)
	if err := cw.Write(t.headers); err != nil {
		return err
	}
	rec := make([]string, len(t.headers))
	for _, row := range t.rows {
		for i, v := range row {
			rec[i] = cellText(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSummaryXLSX writes the summary as an XLSX workbook with the sheets 汇总 (per type), 明细
// (per type and organisation), 按供应渠道, 按负责部门 and 按报送单位. It returns the writer's
// or excelize's error.
func WriteSummaryXLSX(w io.Writer, s Summary) error {
	tables := []table{totalsTable(&s), detailTable(&s, false),
		groupTable("按供应渠道", "供应渠道", s.Channels), groupTable("按负责部门", "负责部门", s.Departments),
		groupTable("按报送单位", "报送单位", s.Orgs)}
	f := excelize.NewFile()
	defer f.Close()
	for i, t := range tables {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", t.sheet); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(t.sheet); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(t.sheet)
		if err != nil {
			return err
		}
		head := make([]any, len(t.headers))
		for j, h := range t.headers {
			head[j] = h
		}
		if err := sw.SetRow("A1", head); err != nil {
			return err
		}
		for r, row := range t.rows {
			cells := make([]any, len(row))
			for j, v := range row {
				if x, ok := v.(string); ok {
					v = safeText(x)
				}
				cells[j] = v
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

// WriteSummary writes the summary in the format (csv, xlsx or pdf); issuer is the organisation
// named on the PDF's signature line. It returns an *Error with code EInvalid for an unknown
// format, or the writer's error.
func WriteSummary(w io.Writer, format string, s Summary, issuer string) error {
	switch format {
	case FormatCSV:
		return WriteSummaryCSV(w, s)
	case FormatXLSX:
		return WriteSummaryXLSX(w, s)
	case FormatPDF:
		return WriteSummaryPDF(w, s, issuer)
	}
	return certseal.Errorf(certseal.EInvalid, "导出格式 %q 无效，应为 csv、xlsx 或 pdf", format)
}

// ContentType returns the media type of an export format ("" for an unknown format).
func ContentType(format string) string {
	switch format {
	case FormatCSV:
		return "text/csv; charset=utf-8"
	case FormatXLSX:
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	case FormatPDF:
		return "application/pdf"
	}
	return ""
}

// FileName returns the download file name of a summary export, e.g. 需求汇总-2026-1.xlsx.
func FileName(s Summary, format string) string {
	return fmt.Sprintf("需求汇总-%d-%d.%s", s.Year, s.RoundID, format)
}
