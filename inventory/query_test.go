package inventory_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/internal/store"
	"certseal/inventory"
)

func TestConcurrentUseOfOneSerial(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 100)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			err := e.db.Update(func(tx *store.Tx) error {
				return inventory.UseTx(tx, e.clock.Now(), e.actor["clerkA"], e.code("SP"), e.serial("SP", 42), fmt.Sprintf("CERT-%d", i))
			})
			mu.Lock()
			codes[codeOf(err)]++
			mu.Unlock()
		}(i)
	}
	wg.Wait()
	if codes[""] != 1 || codes[certseal.EConflict] != 49 {
		t.Fatalf("outcomes = %v, want one success and 49 conflicts", codes)
	}
	if got := e.count(t, "bureauA", "SP", inventory.Used); got != 1 {
		t.Fatalf("used = %d, want 1", got)
	}
	e.verify(t)
}

func TestConcurrentOverlappingTransfers(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 1000)
	targets := []string{"bureauA", "deptA", "bureauB", "deptB"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	moved := map[string]uint64{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := uint64(i*23 + 1) // ranges of 60 overlapping their neighbours
			to := targets[i%len(targets)]
			m, err := e.svc.Transfer(ctx, e.actor["city"], inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: e.code("SP"), ToOrgID: e.org[to].ID, Ranges: e.rng("SP", a, a+59)})
			if err != nil && codeOf(err) != certseal.EConflict {
				t.Errorf("transfer %d: %v", i, err)
			}
			if err == nil {
				mu.Lock()
				moved[to] += m.Count
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	var sum uint64
	for _, to := range targets {
		if got := e.count(t, to, "SP", inventory.InStock); got != moved[to] {
			t.Errorf("%s holds %d, the successful transfers moved %d", to, got, moved[to])
		}
		sum += moved[to]
	}
	if got := e.count(t, "city", "SP", inventory.InStock); got != 1000-sum || sum == 0 {
		t.Errorf("city holds %d, want %d", got, 1000-sum)
	}
	e.verify(t)
}

func TestStockQueryAndPaging(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 1000)
	for i := uint64(0); i < 10; i++ {
		e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1+i*20, 10+i*20)
	}
	lines, err := e.svc.Stock(ctx, e.actor["bureauA"], inventory.StockQuery{RangeLimit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].Count != 100 || len(lines[0].Ranges) != 4 || !lines[0].MoreRanges || lines[0].HolderName != "利州区行政审批局" {
		t.Fatalf("lines = %+v", lines)
	}
	var all []inventory.SerialRange
	after := ""
	for {
		rs, next, err := e.svc.StockRanges(ctx, e.actor["bureauA"], "", e.code("SP"), inventory.InStock, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != 10 || all[9].First != "SP00000181" || all[9].Last != "SP00000190" {
		t.Fatalf("paged ranges = %v", all)
	}
	if _, err := e.svc.Stock(ctx, e.actor["bureauA"], inventory.StockQuery{HolderID: e.org["city"].ID}); codeOf(err) != certseal.EForbidden {
		t.Fatalf("another org's stock: %v", err)
	}
	lines, err = e.svc.Stock(ctx, e.actor["auditor"], inventory.StockQuery{TypeCode: e.code("SP")})
	if err != nil || len(lines) != 2 {
		t.Fatalf("auditor sees %+v, %v", lines, err)
	}
}

func TestTrace(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 1_000_000)
	e.mustTransfer(t, inventory.KindDistribution, "city", "deptA", "SP", 500, 1500)
	e.mustTransfer(t, inventory.KindHandover, "deptA", "bureauA", "SP", 1000, 1100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauB", "SP", 2000, 3000) // does not touch 1042
	if _, err := e.svc.Use(ctx, e.actor["clerkA"], e.code("SP"), "SP00001042", "CERT-1"); err != nil {
		t.Fatal(err)
	}
	tr, err := e.svc.Trace(ctx, e.actor["bureauA"], e.code("SP"), "SP00001042")
	if err != nil {
		t.Fatal(err)
	}
	var kinds []inventory.Kind
	for _, m := range tr.Movements {
		kinds = append(kinds, m.Kind)
	}
	want := []inventory.Kind{inventory.KindReceipt, inventory.KindDistribution, inventory.KindHandover, inventory.KindUse}
	if fmt.Sprint(kinds) != fmt.Sprint(want) || tr.State != inventory.Used || tr.HolderID != e.org["bureauA"].ID {
		t.Fatalf("trace = %v in %s at %s, want %v", kinds, tr.State, tr.HolderID, want)
	}
	tr, err = e.svc.Trace(ctx, e.actor["center"], e.code("SP"), "SP00999999")
	if err != nil || len(tr.Movements) != 1 || tr.State != inventory.InStock {
		t.Fatalf("trace of an untouched serial = %+v, %v", tr, err)
	}
	if _, err := e.svc.Trace(ctx, e.actor["bureauB"], e.code("SP"), "SP00001042"); codeOf(err) != certseal.EForbidden {
		t.Fatalf("trace by an unrelated org: %v", err)
	}
}

func TestReconcile(t *testing.T) {
	e := newEnv(t)
	jan := time.Date(2026, 1, 1, 0, 0, 0, 0, certseal.China)
	feb := jan.AddDate(0, 1, 0)
	mar := feb.AddDate(0, 1, 0)
	e.clock.Set(jan.Add(time.Hour))
	e.mustReceive(t, "city", "SP", 1, 1000)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 200)
	e.clock.Set(feb.Add(time.Hour))
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 201, 300)
	for n := uint64(1); n <= 5; n++ {
		if _, err := e.svc.Use(ctx, e.actor["clerkA"], e.code("SP"), e.serial("SP", n), fmt.Sprint("C", n)); err != nil {
			t.Fatal(err)
		}
	}
	e.svc.Void(ctx, e.actor["clerkA"], inventory.Void{TypeCode: e.code("SP"), Ranges: e.rng("SP", 6, 8), Reason: "污损"})
	e.svc.Destroy(ctx, e.actor["bureauA"], inventory.Destruction{TypeCode: e.code("SP"), Ranges: e.rng("SP", 6, 7), Witnesses: []string{"甲"}})
	e.svc.Lose(ctx, e.actor["bureauA"], inventory.Loss{TypeCode: e.code("SP"), Ranges: e.rng("SP", 9, 9), ReportRef: "R"})
	e.mustTransfer(t, inventory.KindReturn, "bureauA", "city", "SP", 250, 300)
	e.clock.Set(mar.Add(time.Hour))

	feb1, err := e.svc.Reconcile(ctx, e.actor["bureauA"], "", e.code("SP"), feb, mar)
	if err != nil {
		t.Fatal(err)
	}
	want := inventory.Reconciliation{Opening: 200, Received: 100, Sent: 51, Used: 5, Voided: 3, Lost: 1, Closing: 240, Destroyed: 2}
	got := feb1
	if got.Opening != want.Opening || got.Received != want.Received || got.Sent != want.Sent || got.Used != want.Used ||
		got.Voided != want.Voided || got.Lost != want.Lost || got.Closing != want.Closing || got.Destroyed != want.Destroyed || got.Checked {
		t.Fatalf("february = %+v, want %+v", got, want)
	}
	now, err := e.svc.Reconcile(ctx, e.actor["bureauA"], "", e.code("SP"), time.Time{}, time.Time{})
	if err != nil || !now.Checked || !now.Balanced || now.Closing != 240 || now.BooksInStock != 240 {
		t.Fatalf("to now = %+v, %v", now, err)
	}
	city, err := e.svc.Reconcile(ctx, e.actor["center"], e.org["city"].ID, e.code("SP"), time.Time{}, time.Time{})
	if err != nil || !city.Balanced || city.Closing != 1000-300+51 {
		t.Fatalf("city = %+v, %v", city, err)
	}
	if _, err := e.svc.Reconcile(ctx, e.actor["bureauA"], e.org["city"].ID, e.code("SP"), time.Time{}, time.Time{}); codeOf(err) != certseal.EForbidden {
		t.Fatalf("another org's reconciliation: %v", err)
	}
	if _, err := e.svc.Reconcile(ctx, e.actor["bureauA"], "", e.code("SP"), mar, feb); codeOf(err) != certseal.EInvalid {
		t.Fatalf("reversed period: %v", err)
	}

	var buf bytes.Buffer
	if err := inventory.WriteReconciliationCSV(&buf, []inventory.Reconciliation{feb1, now}); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	if len(rows) != 3 || rows[0][5] != "期初结存（张）" || rows[1][5] != "200" || rows[1][11] != "240" || rows[2][15] != "是" {
		t.Fatalf("reconciliation csv = %q", rows)
	}
	buf.Reset()
	if err := inventory.WriteReconciliationXLSX(&buf, []inventory.Reconciliation{feb1}); err != nil {
		t.Fatal(err)
	}
	xr := readXLSX(t, buf.Bytes(), "对账")
	if len(xr) != 2 || xr[0][11] != "期末结存（张）" || xr[1][11] != "240" || xr[1][0] != "利州区行政审批局" {
		t.Fatalf("reconciliation xlsx = %q", xr)
	}
}

func TestLowStock(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 1000)
	if _, err := e.svc.SetThreshold(ctx, e.actor["bureauA"], e.code("SP"), 50); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["city"], e.code("SP"), 100); err != nil {
		t.Fatal(err)
	}
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 40)
	alerts, err := e.svc.LowStock(ctx, e.actor["center"], "")
	if err != nil || len(alerts) != 1 || alerts[0].HolderID != e.org["bureauA"].ID || alerts[0].InStock != 40 || alerts[0].Threshold != 50 {
		t.Fatalf("alerts = %+v, %v", alerts, err)
	}
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 41, 920)
	alerts, _ = e.svc.LowStock(ctx, e.actor["center"], "")
	if len(alerts) != 1 || alerts[0].HolderID != e.org["city"].ID || alerts[0].InStock != 80 {
		t.Fatalf("alerts after a big distribution = %+v", alerts)
	}
	if alerts, _ := e.svc.LowStock(ctx, e.actor["bureauA"], ""); len(alerts) != 0 {
		t.Fatalf("bureauA's own alerts = %+v", alerts)
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["city"], e.code("SP"), 0); err != nil {
		t.Fatal(err)
	}
	if alerts, _ := e.svc.LowStock(ctx, e.actor["center"], ""); len(alerts) != 0 {
		t.Fatalf("alerts after removing the threshold = %+v", alerts)
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["auditor"], e.code("SP"), 5); codeOf(err) != certseal.EForbidden {
		t.Fatalf("auditor threshold: %v", err)
	}
}

func TestStocktake(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 100)
	sp := e.code("SP")
	admin := e.actor["center"]
	cases := []struct {
		name      string
		line      inventory.StocktakeLine
		wantDiff  int64
		approve   string // expected error code of the approval
		lostAfter []uint64
	}{
		{"shortfall, highest serials", inventory.StocktakeLine{TypeCode: sp, Counted: 97}, -3, "", []uint64{98, 99, 100}},
		{"shortfall, named serials", inventory.StocktakeLine{TypeCode: sp, Counted: 95, Missing: e.rng("SP", 10, 11)}, -2, "", []uint64{10, 11}},
		{"surplus without serials", inventory.StocktakeLine{TypeCode: sp, Counted: 97}, 2, certseal.EConflict, nil},
		{"surplus, named unknown serials", inventory.StocktakeLine{TypeCode: sp, Counted: 97, Surplus: e.rng("SP", 5001, 5002)}, 2, "", nil},
		{"balanced", inventory.StocktakeLine{TypeCode: sp, Counted: 97}, 0, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := e.svc.CreateStocktake(ctx, e.actor["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{c.line}})
			if err != nil {
				t.Fatal(err)
			}
			if st.Lines[0].Difference != c.wantDiff || st.Status != inventory.StocktakePending {
				t.Fatalf("stocktake = %+v, want difference %d", st, c.wantDiff)
			}
			before := e.dump(t)
			got, err := e.svc.ApproveStocktake(ctx, admin, st.ID, "同意")
			if codeOf(err) != c.approve {
				t.Fatalf("approve: %v, want code %q", err, c.approve)
			}
			if err != nil {
				if !sameDump(before, e.dump(t)) {
					t.Fatal("a refused approval wrote something")
				}
				if _, err := e.svc.RejectStocktake(ctx, admin, st.ID, "请列明编号"); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got.Status != inventory.StocktakeApproved || (c.wantDiff != 0) != (len(got.MovementIDs) == 1) {
				t.Fatalf("approved = %+v", got)
			}
			for _, n := range c.lostAfter {
				e.db.View(func(tx *store.Tx) error {
					if _, st, _ := inventory.StateTx(tx, sp, e.serial("SP", n)); st != inventory.Lost {
						t.Errorf("serial %d is %s, want lost", n, st)
					}
					return nil
				})
			}
			if _, err := e.svc.ApproveStocktake(ctx, admin, st.ID, ""); codeOf(err) != certseal.EConflict {
				t.Fatalf("second approval: %v", err)
			}
			if got := e.count(t, "bureauA", "SP", inventory.InStock); got != c.line.Counted {
				t.Fatalf("in stock after approval = %d, want %d", got, c.line.Counted)
			}
		})
	}
	list, _, err := e.svc.Stocktakes(ctx, e.actor["bureauA"], inventory.StocktakeFilter{}, 0, 0)
	if err != nil || len(list) != len(cases) || list[0].ID != uint64(len(cases)) {
		t.Fatalf("stocktakes = %d, %v", len(list), err)
	}
	e.verify(t)
}

func TestMovementsAndExports(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 1000)
	e.mustReceive(t, "deptA", "LP", 1, 50)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindHandover, "deptA", "bureauA", "LP", 1, 50)
	e.svc.Destroy(ctx, e.actor["bureauA"], inventory.Destruction{TypeCode: e.code("SP"), Ranges: e.rng("SP", 1, 1), Witnesses: []string{"甲"}}) // refused
	ms, next, err := e.svc.Movements(ctx, e.actor["bureauA"], inventory.MovementFilter{}, 0, 0)
	if err != nil || len(ms) != 2 || next != 0 || ms[0].Kind != inventory.KindHandover {
		t.Fatalf("bureauA movements = %+v, %v", ms, err)
	}
	ms, _, err = e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{Kind: inventory.KindReceipt}, 0, 0)
	if err != nil || len(ms) != 2 {
		t.Fatalf("receipts = %d, %v", len(ms), err)
	}
	page1, next, err := e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{}, 0, 3)
	page2, next2, err2 := e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{}, next, 3)
	if err != nil || err2 != nil || len(page1) != 3 || len(page2) != 1 || next2 != 0 || page2[0].ID != 1 {
		t.Fatalf("pages = %d %d (next %d %d) %v %v", len(page1), len(page2), next, next2, err, err2)
	}
	ms, _, _ = e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{HolderID: e.org["bureauA"].ID, TypeCode: e.code("SP")}, 0, 0)
	if len(ms) != 1 || ms[0].Kind != inventory.KindDistribution {
		t.Fatalf("bureauA SP movements = %+v", ms)
	}
	ms, _, _ = e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{From: t0.Add(time.Hour)}, 0, 0)
	if len(ms) != 0 {
		t.Fatalf("movements in the future = %d", len(ms))
	}
	if _, _, err := e.svc.Movements(ctx, e.actor["bureauA"], inventory.MovementFilter{HolderID: e.org["city"].ID}, 0, 0); codeOf(err) != certseal.EForbidden {
		t.Fatalf("another org's movements: %v", err)
	}

	all, _, _ := e.svc.Movements(ctx, e.actor["center"], inventory.MovementFilter{}, 0, 0)
	var buf bytes.Buffer
	if err := inventory.WriteMovementsCSV(&buf, all); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, buf.Bytes())
	last := rows[len(rows)-1] // oldest: the SP receipt
	if len(rows) != 5 || rows[0][2] != "变动类型" || last[2] != "入库" || last[9] != "SP00000001-SP00001000" || last[15] != "1.50" || last[16] != "1500.00" {
		t.Fatalf("movements csv = %q", rows)
	}
	buf.Reset()
	if err := inventory.WriteMovementsXLSX(&buf, all); err != nil {
		t.Fatal(err)
	}
	xr := readXLSX(t, buf.Bytes(), "库存变动")
	if len(xr) != 5 || xr[0][5] != "发出机构" || xr[1][2] != "移交" || xr[1][5] != "利州区市场监督管理局" {
		t.Fatalf("movements xlsx = %q", xr)
	}

	lines, err := e.svc.Stock(ctx, e.actor["center"], inventory.StockQuery{RangeLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := inventory.WriteStockCSV(&buf, lines); err != nil {
		t.Fatal(err)
	}
	rows = readCSV(t, buf.Bytes())
	var total int
	for _, r := range rows[1:] {
		var n int
		fmt.Sscan(r[6], &n)
		total += n
	}
	if rows[0][3] != "状态" || len(rows) != 4 || total != 1050 {
		t.Fatalf("stock csv = %q", rows)
	}
	buf.Reset()
	if err := inventory.WriteStockXLSX(&buf, lines); err != nil {
		t.Fatal(err)
	}
	sum := readXLSX(t, buf.Bytes(), "库存汇总")
	detail := readXLSX(t, buf.Bytes(), "号段明细")
	if len(sum) != 4 || sum[0][4] != "数量（张）" || len(detail) != 4 || detail[1][3] != "在库" {
		t.Fatalf("stock xlsx = %q / %q", sum, detail)
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Fatal("the CSV has no UTF-8 byte-order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readXLSX(t *testing.T, b []byte, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) > 0 && !strings.ContainsAny(rows[0][0], "编号机构") {
		t.Fatalf("header = %q", rows[0])
	}
	return rows
}
