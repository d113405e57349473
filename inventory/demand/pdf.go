package demand

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jung-kurt/gofpdf"

	"certseal/templates/fonts"
)

// PDF page geometry, millimetres (A4 portrait).
const (
	pdfMargin = 15.0
	pdfWidth  = 210.0 - 2*pdfMargin
	pdfBottom = 297.0 - 18.0 // last y a row may reach
	pdfRowH   = 6.5
	pdfFont   = "song"
)

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

// pdfText replaces what gofpdf cannot draw (characters outside the BMP, control characters).
func pdfText(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFFFF {
			return '？'
		}
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
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

type report struct {
	pdf *gofpdf.Fpdf
}

// fit draws text in a cell of width w, shrinking the font down to 6 pt and then cutting the text
// with an ellipsis so that it never overflows.
func (r *report) fit(w, h float64, text string, size float64, align string, fill bool) {
	p := r.pdf
	text = pdfText(text)
	s := size
	p.SetFontSize(s)
	for p.GetStringWidth(text) > w-2 && s > 6 {
		s -= 0.5
		p.SetFontSize(s)
	}
	if p.GetStringWidth(text) > w-2 {
		rs := []rune(text)
		for len(rs) > 1 && p.GetStringWidth(string(rs)+"…") > w-2 {
			rs = rs[:len(rs)-1]
		}
		text = string(rs) + "…"
	}
	p.CellFormat(w, h, text, "1", 0, align, fill, 0, "")
	p.SetFontSize(size)
}

// need starts a new page when h more millimetres do not fit on this one, and reports whether it
// did.
func (r *report) need(h float64) bool {
	if r.pdf.GetY()+h > pdfBottom {
		r.pdf.AddPage()
		return true
	}
	return false
}

func (r *report) tableHead() {
	p := r.pdf
	p.SetFillColor(232, 232, 232)
	p.SetFont(pdfFont, "", 9.5)
	for _, c := range pdfCols {
		p.CellFormat(c.w, pdfRowH, c.title, "1", 0, "C", true, 0, "")
	}
	p.Ln(-1)
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func (r *report) typeTable(i int, ts *TypeSummary) {
	p := r.pdf
	r.need(8 + 6 + 3*pdfRowH)
	p.SetFont(pdfFont, "", 12)
	p.SetTextColor(0, 0, 0)
	p.CellFormat(pdfWidth, 8, pdfText(fmt.Sprintf("%s、%s", cnNumber(i+1), ts.Name)), "", 1, "L", false, 0, "")
	capText := "不限"
	if ts.Cap > 0 {
		capText = num(ts.Cap) + "张"
	}
	p.SetFont(pdfFont, "", 8.5)
	p.SetTextColor(60, 60, 60)
	p.CellFormat(pdfWidth, 5.5, pdfText(fmt.Sprintf("类型代码：%s　　供应渠道：%s　　负责部门：%s　　每单位上限：%s",
		ts.Code, ts.ChannelLabel, deptName(&ts.RoundType), capText)), "", 1, "L", false, 0, "")
	p.SetTextColor(0, 0, 0)
	p.Ln(0.5)
	r.tableHead()
	p.SetFont(pdfFont, "", 9.5)
	if len(ts.Rows) == 0 {
		p.CellFormat(pdfWidth, pdfRowH, "暂无已报送的需求", "1", 1, "C", false, 0, "")
	}
	for j, row := range ts.Rows {
		if r.need(pdfRowH) {
			r.tableHead()
			p.SetFont(pdfFont, "", 9.5)
		}
		vals := []string{strconv.Itoa(j + 1), row.OrgName, num(row.LastYearUse), num(row.InStock), num(row.Suggested),
			num(row.Requested), approvedText(row), ""}
		if row.Flagged {
			vals[7] = "差异较大"
		}
		for k, c := range pdfCols {
			align := "C"
			if c.num {
				align = "R"
			} else if k == 1 {
				align = "L"
			}
			if k == 7 && row.Flagged {
				p.SetTextColor(200, 0, 0)
			}
			r.fit(c.w, pdfRowH, vals[k], 9.5, align, false)
			p.SetTextColor(0, 0, 0)
		}
		p.Ln(-1)
	}
	r.need(pdfRowH)
	p.SetFillColor(245, 245, 245)
	tot := []string{"", "合计", num(ts.LastYearUse), num(ts.InStock), num(ts.Suggested), num(ts.Requested), num(ts.Approved), ""}
	if ts.Flagged > 0 {
		tot[7] = fmt.Sprintf("差异%d家", ts.Flagged)
	}
	for k, c := range pdfCols {
		align := "C"
		if c.num {
			align = "R"
		}
		r.fit(c.w, pdfRowH, tot[k], 9.5, align, true)
	}
	p.Ln(-1)
	p.Ln(4)
}

// approvedText shows "—" for a filing not yet approved, so that 0 means "approved nothing".
func approvedText(row Row) string {
	if row.Status != Approved {
		return "—"
	}
	return num(row.Approved)
}

func (r *report) groupTable(title, head string, ts []Total) {
	p := r.pdf
	r.need(8 + pdfRowH*float64(min(len(ts), 3)+2))
	p.SetFont(pdfFont, "", 12)
	p.CellFormat(pdfWidth, 8, title, "", 1, "L", false, 0, "")
	widths := []float64{pdfWidth - 60, 30, 30}
	headRow := func() {
		p.SetFillColor(232, 232, 232)
		p.SetFont(pdfFont, "", 9.5)
		for k, h := range []string{head, "申报数量", "审核数量"} {
			p.CellFormat(widths[k], pdfRowH, h, "1", 0, "C", true, 0, "")
		}
		p.Ln(-1)
	}
	headRow()
	var req, appr int64
	for _, x := range ts {
		if r.need(pdfRowH) {
			headRow()
		}
		r.fit(widths[0], pdfRowH, x.Label, 9.5, "L", false)
		r.fit(widths[1], pdfRowH, num(x.Requested), 9.5, "R", false)
		r.fit(widths[2], pdfRowH, num(x.Approved), 9.5, "R", false)
		p.Ln(-1)
		req += x.Requested
		appr += x.Approved
	}
	r.need(pdfRowH)
	p.SetFillColor(245, 245, 245)
	r.fit(widths[0], pdfRowH, "合计", 9.5, "C", true)
	r.fit(widths[1], pdfRowH, num(req), 9.5, "R", true)
	r.fit(widths[2], pdfRowH, num(appr), 9.5, "R", true)
	p.Ln(-1)
	p.Ln(4)
}

// WriteSummaryPDF writes the summary as a PDF report the city center can file upward: the title
// (ReportTitle), the round and its progress, a table per licence type with every filing
// organisation and the totals, the totals per supply channel and per responsible department, the
// suggestion rule, and a signature and date block naming issuer (blank to fill in by hand when
// ""). It parses the embedded Chinese font, so it takes a moment; call it outside any
// transaction. It returns gofpdf's or the writer's error.
func WriteSummaryPDF(w io.Writer, s Summary, issuer string) error {
	p := gofpdf.New("P", "mm", "A4", "")
	p.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	p.SetAutoPageBreak(false, 0)
	p.SetCreationDate(s.GeneratedAt)
	p.SetModificationDate(s.GeneratedAt)
	p.SetCatalogSort(true)
	title := ReportTitle(&s)
	p.SetTitle(title, true)
	p.SetAuthor(pdfText(issuer), true)
	p.AddUTF8FontFromBytes(pdfFont, "", fonts.Song())
	if err := p.Error(); err != nil {
		return err
	}
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(func() {
		p.SetY(-12)
		p.SetFont(pdfFont, "", 8.5)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(pdfWidth/2, 5, pdfText(title), "", 0, "L", false, 0, "")
		p.CellFormat(pdfWidth/2, 5, fmt.Sprintf("第 %d 页 共 {nb} 页", p.PageNo()), "", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
	})
	r := &report{pdf: p}
	p.AddPage()
	p.SetFont(pdfFont, "", 18)
	p.CellFormat(pdfWidth, 11, title, "", 1, "C", false, 0, "")
	p.SetFont(pdfFont, "", 9.5)
	p.CellFormat(pdfWidth, 6, pdfText(fmt.Sprintf("征订批次：%d（%s）　　报送截止：%s　　统计时间：%s　　数量单位：张",
		s.RoundID, s.Kind.Label(), fmtTime(s.Deadline), fmtTime(s.GeneratedAt))), "", 1, "C", false, 0, "")
	fc := s.Filings
	p.CellFormat(pdfWidth, 6, fmt.Sprintf("应报送单位%d家，已报送%d家（其中已审核%d家），未报送%d家；申报合计%d张，审核合计%d张。",
		fc.Participants, fc.Submitted+fc.Approved, fc.Approved, fc.Participants-fc.Submitted-fc.Approved, s.Requested, s.Approved),
		"", 1, "C", false, 0, "")
	p.SetDrawColor(0, 0, 0)
	p.SetLineWidth(0.4)
	p.Line(pdfMargin, p.GetY()+1.5, pdfMargin+pdfWidth, p.GetY()+1.5)
	p.SetLineWidth(0.2)
	p.Ln(5)
	for i := range s.Types {
		r.typeTable(i, &s.Types[i])
	}
	r.groupTable("按供应渠道汇总", "供应渠道", s.Channels)
	r.groupTable("按负责部门汇总", "负责部门", s.Departments)

	r.need(14 + 40)
	p.SetFont(pdfFont, "", 8.5)
	p.SetTextColor(60, 60, 60)
	p.MultiCell(pdfWidth, 4.8, fmt.Sprintf("注：1. 上年用量为%d年使用和作废的空白证照数量，现有库存为报送时的在库数量，均取自空白证照台账。"+
		"2. 建议数量＝近%d年年均用量×%d%%（向上取整）－现有库存，不小于0。"+
		"3. 申报数量与建议数量相差超过%d张且超过建议数量的%d%%时提示“差异较大”。4. 审核数量“—”表示尚未审核。",
		s.Year-1, HistoryYears, SafetyPercent, FlagMinForms, FlagPercent), "", "L", false)
	p.SetTextColor(0, 0, 0)
	p.Ln(8)
	p.SetFont(pdfFont, "", 11)
	org := pdfText(issuer)
	if org == "" {
		org = "______________________________"
	}
	p.CellFormat(pdfWidth, 8, "填报单位（盖章）："+org, "", 1, "L", false, 0, "")
	p.Ln(3)
	third := pdfWidth / 3
	p.CellFormat(third, 8, "负责人：____________", "", 0, "L", false, 0, "")
	p.CellFormat(third, 8, "审核人：____________", "", 0, "L", false, 0, "")
	p.CellFormat(third, 8, "经办人：____________", "", 1, "L", false, 0, "")
	p.Ln(3)
	p.CellFormat(pdfWidth, 8, "联系电话：______________　　　　　　填报日期：________年____月____日", "", 1, "L", false, 0, "")
	if err := p.Error(); err != nil {
		return err
	}
	return p.Output(w)
}
