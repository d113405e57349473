package demand

import (
	"fmt"
	"io"
	"strconv"

	"certseal/templates"
)

// pdfRowH is the height of a table row, mm.
const pdfRowH = 6.5

// pdfCols are the columns of a type's table: title, width, right-aligned.
var pdfCols = []struct {
	title string
	w     float64
	num   bool
}{
	{"序号", 11, false}, {"报送单位", 61, false}, {"上年用量", 18, true}, {"现有库存", 18, true},
	{"建议数量", 18, true}, {"申报数量", 18, true}, {"审核数量", 18, true}, {"提示", 18, false},
}

// ReportTitle returns the title of the PDF report, e.g. 广元市2026年度空白证照需求汇总表.
func ReportTitle(s *Summary) string {
	if s.Kind == TopUp {
		return fmt.Sprintf("广元市%d年度空白证照补充需求汇总表", s.Year)
	}
	return fmt.Sprintf("广元市%d年度空白证照需求汇总表", s.Year)
}

var cnDigits = []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九"}

// cnNumber returns 1..99 in Chinese numerals (一, 十二, 二十), larger numbers in digits.
func cnNumber(n int) string {
	switch {
	case n < 1 || n > 99:
		return strconv.Itoa(n)
	case n < 10:
		return cnDigits[n]
	case n == 10:
		return "十"
	case n < 20:
		return "十" + cnDigits[n%10]
	case n%10 == 0:
		return cnDigits[n/10] + "十"
	}
	return cnDigits[n/10] + "十" + cnDigits[n%10]
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

// The text styles of the report.
var (
	styleTitle    = templates.TextStyle{Size: 18, Height: 11, Align: templates.AlignCenter}
	styleSubtitle = templates.TextStyle{Size: 9.5, Height: 6, Align: templates.AlignCenter}
	styleHeading  = templates.TextStyle{Size: 12, Height: 8}
	styleNote     = templates.TextStyle{Size: 8.5, Height: 5.5, Color: [3]int{60, 60, 60}}
	styleRemarks  = templates.TextStyle{Size: 8.5, Height: 4.8, Color: [3]int{60, 60, 60}}
	styleSign     = templates.TextStyle{Size: 11, Height: 8}
	red           = [3]int{200, 0, 0}
)

// pdfTypeTable adds the heading, the note line and the table of licence type number i.
func pdfTypeTable(r *templates.Report, i int, ts *TypeSummary) {
	r.Need(8 + 6 + 3*pdfRowH)
	r.Line(fmt.Sprintf("%s、%s", cnNumber(i+1), ts.Name), styleHeading)
	capText := "不限"
	if ts.Cap > 0 {
		capText = num(ts.Cap) + "张"
	}
	r.Line(fmt.Sprintf("类型代码：%s　　供应渠道：%s　　负责部门：%s　　每单位上限：%s",
		ts.Code, ts.ChannelLabel, deptName(&ts.RoundType), capText), styleNote)
	r.Space(0.5)
	t := templates.Table{Empty: "暂无已报送的需求", RowHeight: pdfRowH}
	for k, c := range pdfCols {
		align := templates.AlignCenter
		if c.num {
			align = templates.AlignRight
		} else if k == 1 {
			align = templates.AlignLeft
		}
		t.Columns = append(t.Columns, templates.Column{Title: c.title, Width: c.w, Align: align})
	}
	for j, row := range ts.Rows {
		cells := []templates.Cell{{Text: strconv.Itoa(j + 1)}, {Text: row.OrgName}, {Text: num(row.LastYearUse)}, {Text: num(row.InStock)},
			{Text: num(row.Suggested)}, {Text: num(row.Requested)}, {Text: approvedText(row)}, {}}
		if row.Flagged {
			cells[7] = templates.Cell{Text: "差异较大", Color: red}
		}
		t.Rows = append(t.Rows, cells)
	}
	t.Total = []templates.Cell{{}, {Text: "合计", Align: templates.AlignCenter}, {Text: num(ts.LastYearUse)}, {Text: num(ts.InStock)},
		{Text: num(ts.Suggested)}, {Text: num(ts.Requested)}, {Text: num(ts.Approved)}, {}}
	if ts.Flagged > 0 {
		t.Total[7].Text = fmt.Sprintf("差异%d家", ts.Flagged)
	}
	r.Table(t)
	r.Space(4)
}

// approvedText shows "—" for a filing not yet approved, so that 0 means "approved nothing".
func approvedText(row Row) string {
	if row.Status != Approved {
		return "—"
	}
	return num(row.Approved)
}

// pdfTotals adds the heading title and the table of totals ts, its first column titled head.
func pdfTotals(r *templates.Report, title, head string, ts []Total) {
	r.Need(8 + pdfRowH*float64(min(len(ts), 3)+2))
	r.Line(title, styleHeading)
	t := templates.Table{RowHeight: pdfRowH, Columns: []templates.Column{
		{Title: head, Width: r.Width() - 60, Align: templates.AlignLeft},
		{Title: "申报数量", Width: 30, Align: templates.AlignRight},
		{Title: "审核数量", Width: 30, Align: templates.AlignRight},
	}}
	var req, appr int64
	for _, x := range ts {
		t.Rows = append(t.Rows, []templates.Cell{{Text: x.Label}, {Text: num(x.Requested)}, {Text: num(x.Approved)}})
		req += x.Requested
		appr += x.Approved
	}
	t.Total = []templates.Cell{{Text: "合计", Align: templates.AlignCenter}, {Text: num(req)}, {Text: num(appr)}}
	r.Table(t)
	r.Space(4)
}

// WriteSummaryPDF writes the summary as a PDF report the city center can file upward: the title
// (ReportTitle), the round and its progress, a table per licence type with every filing
// organisation and the totals, the totals per supply channel and per responsible department, the
// suggestion rule, and a signature and date block naming issuer (blank to fill in by hand when
// ""). The pages are laid out and written by templates.Report with the font package templates
// parses once per process; call it outside any transaction all the same. It returns the
// report's error (code EInternal) or the writer's.
func WriteSummaryPDF(w io.Writer, s Summary, issuer string) error {
	title := ReportTitle(&s)
	r, err := templates.NewReport(title, issuer, s.GeneratedAt)
	if err != nil {
		return err
	}
	r.Line(title, styleTitle)
	r.Line(fmt.Sprintf("征订批次：%d（%s）　　报送截止：%s　　统计时间：%s　　数量单位：张",
		s.RoundID, s.Kind.Label(), fmtTime(s.Deadline), fmtTime(s.GeneratedAt)), styleSubtitle)
	fc := s.Filings
	r.Line(fmt.Sprintf("应报送单位%d家，已报送%d家（其中已审核%d家），未报送%d家；申报合计%d张，审核合计%d张。",
		fc.Participants, fc.Submitted+fc.Approved, fc.Approved, fc.Participants-fc.Submitted-fc.Approved, s.Requested, s.Approved),
		styleSubtitle)
	r.Rule()
	for i := range s.Types {
		pdfTypeTable(r, i, &s.Types[i])
	}
	pdfTotals(r, "按供应渠道汇总", "供应渠道", s.Channels)
	pdfTotals(r, "按负责部门汇总", "负责部门", s.Departments)

	r.Need(14 + 40)
	r.Paragraph(fmt.Sprintf("注：1. 上年用量为%d年使用和作废的空白证照数量，现有库存为报送时的在库数量，均取自空白证照台账。"+
		"2. 建议数量＝近%d年年均用量×%d%%（向上取整）－现有库存，不小于0。"+
		"3. 申报数量与建议数量相差超过%d张且超过建议数量的%d%%时提示“差异较大”。4. 审核数量“—”表示尚未审核。",
		s.Year-1, HistoryYears, SafetyPercent, FlagMinForms, FlagPercent), styleRemarks)
	r.Space(8)
	org := issuer
	if org == "" {
		org = "______________________________"
	}
	r.Line("填报单位（盖章）："+org, styleSign)
	r.Space(3)
	r.Cells([]string{"负责人：____________", "审核人：____________", "经办人：____________"}, styleSign)
	r.Space(3)
	r.Line("联系电话：______________　　　　　　填报日期：________年____月____日", styleSign)
	b, err := r.PDF()
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
