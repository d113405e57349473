package demand

import (
	"fmt"
	"io"

	"certseal"
	"certseal/internal/sheet"
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

// Every count of blank forms says its unit, 张, as the ledger's exports do.

// TotalHeaders are the column headers of the per-type totals (XLSX sheet 汇总).
var TotalHeaders = []string{"证照类型代码", "证照类型", "供应渠道", "负责部门", "数量上限（张）", "报送单位数", "上年用量（张）", "现有库存（张）", "建议数量（张）", "申报数量（张）", "审核数量（张）", "差异较大单位数"}

// DetailHeaders are the column headers of the detail rows (the CSV, and XLSX sheet 明细).
var DetailHeaders = []string{"证照类型代码", "证照类型", "供应渠道", "负责部门", "报送单位", "单位类型", "报送单编号", "状态", "上年用量（张）", "现有库存（张）", "建议数量（张）", "申报数量（张）", "审核数量（张）", "差异提示", "申请理由"}

// GroupHeaders are the column headers of the totals per channel, department and organisation.
var GroupHeaders = []string{"申报数量（张）", "审核数量（张）"}

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

func detailTable(s *Summary, subtotals bool) sheet.Table {
	t := sheet.Table{Sheet: "明细", Headers: DetailHeaders}
	for i := range s.Types {
		ts := &s.Types[i]
		lead := []any{ts.Code, ts.Name, ts.ChannelLabel, deptName(&ts.RoundType)}
		for _, r := range ts.Rows {
			t.Rows = append(t.Rows, append(append([]any{}, lead...), r.OrgName, r.OrgKind.Label(), r.FilingID, r.Status.Label(),
				r.LastYearUse, r.InStock, r.Suggested, r.Requested, r.Approved, flagText(r.Flagged), r.Reason))
		}
		if subtotals {
			t.Rows = append(t.Rows, append(append([]any{}, lead...), "合计", "", "", "",
				ts.LastYearUse, ts.InStock, ts.Suggested, ts.Requested, ts.Approved, "", ""))
		}
	}
	return t
}

func totalsTable(s *Summary) sheet.Table {
	t := sheet.Table{Sheet: "汇总", Headers: TotalHeaders}
	for i := range s.Types {
		ts := &s.Types[i]
		t.Rows = append(t.Rows, []any{ts.Code, ts.Name, ts.ChannelLabel, deptName(&ts.RoundType), capText(ts.Cap), len(ts.Rows),
			ts.LastYearUse, ts.InStock, ts.Suggested, ts.Requested, ts.Approved, ts.Flagged})
	}
	t.Rows = append(t.Rows, []any{"", "合计", "", "", "", "", "", "", "", s.Requested, s.Approved, s.Flagged})
	return t
}

func groupTable(name, head string, ts []Total) sheet.Table {
	t := sheet.Table{Sheet: name, Headers: append([]string{head}, GroupHeaders...)}
	var req, appr int64
	for _, x := range ts {
		t.Rows = append(t.Rows, []any{x.Label, x.Requested, x.Approved})
		req += x.Requested
		appr += x.Approved
	}
	t.Rows = append(t.Rows, []any{"合计", req, appr})
	return t
}

// WriteSummaryCSV writes the summary as CSV: one row per type and filing organisation, and a
// 合计 row after each type. It returns the writer's error.
func WriteSummaryCSV(w io.Writer, s Summary) error {
	return sheet.WriteCSV(w, detailTable(&s, true))
}

// WriteSummaryXLSX writes the summary as an XLSX workbook with the sheets 汇总 (per type), 明细
// (per type and organisation), 按供应渠道, 按负责部门 and 按报送单位. It returns the writer's
// or excelize's error.
func WriteSummaryXLSX(w io.Writer, s Summary) error {
	return sheet.WriteXLSX(w, totalsTable(&s), detailTable(&s, false),
		groupTable("按供应渠道", "供应渠道", s.Channels), groupTable("按负责部门", "负责部门", s.Departments),
		groupTable("按报送单位", "报送单位", s.Orgs))
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
