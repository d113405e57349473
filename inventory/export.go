package inventory

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/sheet"
)

// Exports write CSV (UTF-8 with a byte-order mark, so that Excel opens the Chinese headers
// correctly) and XLSX. They take what the queries return and do no database work.

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(certseal.China).Format("2006-01-02 15:04:05")
}

// Yuan formats an amount in fen as yuan with two decimals, e.g. 12345 as "123.45".
func Yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

func joinRanges(rs []SerialRange) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.String()
	}
	return strings.Join(parts, "、")
}

// --- stock ---

// Organisations are named, never given by their internal ids, and every count of blank forms
// says its unit, 张.

// StockHeaders are the column headers of the stock export: one row per range.
var StockHeaders = []string{"持有机构", "证照类型代码", "证照类型", "状态", "起始编号", "终止编号", "数量（张）"}

// stockSummaryHeaders are the headers of the XLSX summary sheet: one row per stock line.
var stockSummaryHeaders = []string{"持有机构", "证照类型代码", "证照类型", "状态", "数量（张）", "号段数（本表所列）"}

func stockTable(lines []StockLine) sheet.Table {
	t := sheet.Table{Sheet: "号段明细", Headers: StockHeaders}
	for _, l := range lines {
		for _, r := range l.Ranges {
			t.Rows = append(t.Rows, []any{l.HolderName, l.TypeCode, l.TypeName, l.State.Label(), r.First, r.Last, r.Count})
		}
		if len(l.Ranges) == 0 {
			t.Rows = append(t.Rows, []any{l.HolderName, l.TypeCode, l.TypeName, l.State.Label(), "", "", l.Count})
		}
	}
	return t
}

// WriteStockCSV writes stock lines as CSV, one row per listed range (a line listed without ranges
// gets one row with its count). Query with RangeLimit -1 to export every range. It returns the
// writer's error.
func WriteStockCSV(w io.Writer, lines []StockLine) error { return sheet.WriteCSV(w, stockTable(lines)) }

// WriteStockXLSX writes stock lines as an XLSX workbook with two sheets: 库存汇总 (one row per
// holder × type × state) and 号段明细 (one row per range, as in the CSV). It returns the
// writer's or excelize's error.
func WriteStockXLSX(w io.Writer, lines []StockLine) error {
	sum := sheet.Table{Sheet: "库存汇总", Headers: stockSummaryHeaders}
	for _, l := range lines {
		sum.Rows = append(sum.Rows, []any{l.HolderName, l.TypeCode, l.TypeName, l.State.Label(), l.Count, len(l.Ranges)})
	}
	return sheet.WriteXLSX(w, sum, stockTable(lines))
}

// --- movements ---

// MovementHeaders are the column headers of the movements export. 编号 is the movement's number
// in the ledger (for a destruction, the batch number); 证照编号 is the licence number of the
// certificate a form was used for.
var MovementHeaders = []string{"编号", "时间", "变动类型", "证照类型代码", "证照类型", "发出机构", "接收机构", "原状态", "新状态",
	"号段", "数量（张）", "经办人", "入库渠道", "供货单位", "合同或发票号", "单价（元/张）", "金额（元）", "印制批次", "省直部门",
	"凭证号", "原因", "报告编号", "监销人", "证照编号", "盘点单", "备注"}

func movementTable(ms []Movement) sheet.Table {
	t := sheet.Table{Sheet: "库存变动", Headers: MovementHeaders}
	for _, m := range ms {
		unit, amount, ch, st := "", "", "", ""
		if m.Kind == KindReceipt && m.Channel != "" {
			ch = m.Channel.Label()
			unit, amount = Yuan(m.UnitCostFen), Yuan(m.TotalCostFen)
		}
		if m.StocktakeID != 0 {
			st = strconv.FormatUint(m.StocktakeID, 10)
		}
		fromState := ""
		if m.FromState != "" {
			fromState = m.FromState.Label()
		}
		operator := m.OperatorName
		if operator == "" {
			operator = m.Username
		}
		t.Rows = append(t.Rows, []any{m.ID, fmtTime(m.Time), m.Kind.Label(), m.TypeCode, m.TypeName, m.FromOrgName, m.ToOrgName, fromState, m.ToState.Label(),
			joinRanges(m.Ranges), m.Count, operator, ch, m.Supplier, m.Contract, unit, amount, m.Batch, m.ProvincialDept,
			m.Document, m.Reason, m.ReportRef, strings.Join(m.Witnesses, "、"), m.LicenceNumber, st, m.Note})
	}
	return t
}

// WriteMovementsCSV writes movements as CSV, one row per movement. It returns the writer's
// error.
func WriteMovementsCSV(w io.Writer, ms []Movement) error { return sheet.WriteCSV(w, movementTable(ms)) }

// WriteMovementsXLSX writes movements as an XLSX workbook, one row per movement. It returns the
// writer's or excelize's error.
func WriteMovementsXLSX(w io.Writer, ms []Movement) error {
	return sheet.WriteXLSX(w, movementTable(ms))
}

// --- reconciliation ---

// ReconciliationHeaders are the column headers of the reconciliation export.
var ReconciliationHeaders = []string{"机构", "证照类型代码", "证照类型", "期初时间", "期末时间", "期初结存（张）", "本期入库（张）",
	"本期调出（张）", "本期使用（张）", "本期作废（张）", "本期遗失（张）", "期末结存（张）", "本期销毁（张）", "已发证照遗失（张）", "账面在库（张）", "是否平衡"}

func reconciliationTable(rs []Reconciliation) sheet.Table {
	t := sheet.Table{Sheet: "对账", Headers: ReconciliationHeaders}
	for _, r := range rs {
		books := ""
		if r.Checked {
			books = strconv.FormatInt(r.BooksInStock, 10)
		}
		t.Rows = append(t.Rows, []any{r.OrgName, r.TypeCode, r.TypeName, fmtTime(r.From), fmtTime(r.To), r.Opening, r.Received,
			r.Sent, r.Used, r.Voided, r.Lost, r.Closing, r.Destroyed, r.CopiesLost, books, r.Balanced})
	}
	return t
}

// WriteReconciliationCSV writes reconciliations as CSV, one row per organisation and type. It
// returns the writer's error.
func WriteReconciliationCSV(w io.Writer, rs []Reconciliation) error {
	return sheet.WriteCSV(w, reconciliationTable(rs))
}

// WriteReconciliationXLSX writes reconciliations as an XLSX workbook. It returns the writer's or
// excelize's error.
func WriteReconciliationXLSX(w io.Writer, rs []Reconciliation) error {
	return sheet.WriteXLSX(w, reconciliationTable(rs))
}
