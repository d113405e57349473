package inventory_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"certseal"
	"certseal/internal/orgs"
	"certseal/internal/sheet/sheettest"
	"certseal/internal/store"
	"certseal/inventory"
)

// exportEnv is a ledger with a receipt, a distribution and a use by a window clerk who has a
// user record (display name 王芳), for a certificate whose licence number the ledger looks up.
func exportEnv(t *testing.T) (*env, certseal.Actor) {
	t.Helper()
	e := newEnv(t)
	var clerk certseal.Actor
	err := e.db.Update(func(tx *store.Tx) error {
		u, err := orgs.CreateUserTx(tx, t0, certseal.System, certseal.User{Username: "lz-clerk", Name: "王芳", OrgID: e.org["bureauA"].ID, Role: certseal.RoleClerk})
		clerk = certseal.Actor{UserID: u.ID, Username: u.Username, OrgID: u.OrgID, OrgKind: certseal.KindCountyBureau, Role: u.Role}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.svc.LicenceNumber = func(tx *store.Tx, certificateID string) string {
		if certificateID == "417" {
			return "JY25108020000015"
		}
		return ""
	}
	e.mustReceive(t, "city", "SP", 1, 1000)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 100)
	if _, err := e.svc.Use(ctx, clerk, e.code("SP"), e.serial("SP", 7), "417"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, clerk, inventory.Void{TypeCode: e.code("SP"), Ranges: e.rng("SP", 8, 9), Reason: "打印错位"}); err != nil {
		t.Fatal(err)
	}
	return e, clerk
}

// orgIDs are the ids of the test's organisations, which must never appear in an export.
func (e *env) orgIDs() map[string]bool {
	ids := map[string]bool{}
	for _, o := range e.org {
		ids[o.ID] = true
	}
	return ids
}

// checkNoIDs fails when a column about organisations names an internal id, or holds one.
func checkNoIDs(t *testing.T, what string, rows [][]string, ids map[string]bool) {
	t.Helper()
	for c, h := range rows[0] {
		if strings.Contains(h, "机构") || strings.Contains(h, "单位") || strings.Contains(h, "部门") {
			if strings.Contains(h, "编号") || strings.Contains(h, "ID") {
				t.Errorf("%s: column %q is an organisation id", what, h)
			}
			for r, row := range rows[1:] {
				if c < len(row) && ids[row[c]] {
					t.Errorf("%s: row %d, %s = %q, an organisation id", what, r+2, h, row[c])
				}
			}
		}
	}
}

// checkUnits fails when a column that counts blank forms does not say its unit, 张.
func checkUnits(t *testing.T, what string, headers []string, counts ...string) {
	t.Helper()
	for _, c := range counts {
		if !slices.Contains(headers, c+"（张）") {
			t.Errorf("%s: no column %q in %q", what, c+"（张）", headers)
		}
	}
	for _, h := range headers {
		if strings.Contains(h, "份") || strings.Contains(h, "（本）") {
			t.Errorf("%s: column %q counts in another unit than 张", what, h)
		}
	}
}

// TestMovementExportColumns reads the movement CSV and XLSX back: 证照编号 holds the licence
// number (not the internal certificate id), organisation columns hold names, 经办人 the user's
// display name, counts are in 张, and the XLSX columns fit and print one page wide.
func TestMovementExportColumns(t *testing.T) {
	e, _ := exportEnv(t)
	all, _, err := e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{}, 0, 0)
	if err != nil || len(all) != 4 {
		t.Fatalf("movements: %d, %v", len(all), err)
	}
	var use inventory.Movement
	for _, m := range all {
		if m.Kind == inventory.KindUse {
			use = m
		}
	}
	if use.LicenceNumber != "JY25108020000015" || use.FromOrgName != "利州区行政审批局" || use.ToOrgName != "利州区行政审批局" || use.OperatorName != "王芳" {
		t.Errorf("the use movement as the API gives it: %+v", use)
	}
	var csvBuf, xlsxBuf bytes.Buffer
	if err := inventory.WriteMovementsCSV(&csvBuf, all); err != nil {
		t.Fatal(err)
	}
	if err := inventory.WriteMovementsXLSX(&xlsxBuf, all); err != nil {
		t.Fatal(err)
	}
	f := sheettest.Open(t, xlsxBuf.Bytes())
	xrows, err := f.GetRows("库存变动")
	if err != nil {
		t.Fatal(err)
	}
	for what, rows := range map[string][][]string{"CSV": readCSV(t, csvBuf.Bytes()), "XLSX": xrows} {
		if len(rows) != 5 {
			t.Fatalf("%s: %d rows", what, len(rows))
		}
		col := func(name string) int { return sheettest.Column(t, rows, name) }
		var found bool
		for _, row := range rows[1:] {
			if row[col("变动类型")] != inventory.KindUse.Label() {
				continue
			}
			found = true
			if got := row[col("证照编号")]; got != "JY25108020000015" {
				t.Errorf("%s: 证照编号 = %q, want the licence number", what, got)
			}
			if row[col("发出机构")] != "利州区行政审批局" || row[col("接收机构")] != "利州区行政审批局" {
				t.Errorf("%s: the use's organisations: %q / %q", what, row[col("发出机构")], row[col("接收机构")])
			}
			if got := row[col("经办人")]; got != "王芳" {
				t.Errorf("%s: 经办人 = %q, want the display name", what, got)
			}
			if got := row[col("数量（张）")]; got != "1" {
				t.Errorf("%s: 数量 = %q", what, got)
			}
		}
		if !found {
			t.Errorf("%s: no use row in %q", what, rows)
		}
		checkNoIDs(t, what, rows, e.orgIDs())
		checkUnits(t, what, rows[0], "数量")
		if !slices.Contains(rows[0], "单价（元/张）") {
			t.Errorf("%s: the unit price does not say per form: %q", what, rows[0])
		}
	}
	sheettest.CheckLayout(t, xlsxBuf.Bytes())
}

// TestStockAndReconciliationExportColumns reads the stock and reconciliation exports back:
// organisations by name only, counts in 张, and XLSX sheets that fit their text and print one
// page wide.
func TestStockAndReconciliationExportColumns(t *testing.T) {
	e, clerk := exportEnv(t)
	lines, err := e.svc.Stock(ctx, e.actor["center"], inventory.StockQuery{RangeLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := inventory.WriteStockCSV(&buf, lines); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	checkNoIDs(t, "stock CSV", rows, e.orgIDs())
	checkUnits(t, "stock CSV", rows[0], "数量")
	buf.Reset()
	if err := inventory.WriteStockXLSX(&buf, lines); err != nil {
		t.Fatal(err)
	}
	f := sheettest.Open(t, buf.Bytes())
	for _, s := range []string{"库存汇总", "号段明细"} {
		rows, err := f.GetRows(s)
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s: %q, %v", s, rows, err)
		}
		checkNoIDs(t, s, rows, e.orgIDs())
		checkUnits(t, s, rows[0], "数量")
	}
	sheettest.CheckLayout(t, buf.Bytes())

	rec, err := e.svc.Reconcile(ctx, clerk, "", e.code("SP"), t0.AddDate(0, 0, -1), t0.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := inventory.WriteReconciliationCSV(&buf, []inventory.Reconciliation{rec}); err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, buf.Bytes())
	checkNoIDs(t, "reconciliation CSV", rows, e.orgIDs())
	checkUnits(t, "reconciliation CSV", rows[0], "期初结存", "本期入库", "本期调出", "本期使用", "本期作废", "本期遗失", "期末结存")
	if got := rows[1][sheettest.Column(t, rows, "本期作废（张）")]; got != "2" {
		t.Errorf("reconciliation: 本期作废 = %q", got)
	}
	buf.Reset()
	if err := inventory.WriteReconciliationXLSX(&buf, []inventory.Reconciliation{rec}); err != nil {
		t.Fatal(err)
	}
	sheettest.CheckLayout(t, buf.Bytes())
}
