package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/inventory"
)

func init() {
	expect(map[string]string{
		"inventory.receipts": "ADB", "inventory.transfers": "ADB", "inventory.voids": "ADBC",
		"inventory.destructions": "ADB", "inventory.losses": "ADB",
		"inventory.stocktakes.create": "ADB", "inventory.stocktakes.list": "ADBCU", "inventory.stocktakes.get": "ADBCU",
		"inventory.stocktakes.approve": "A", "inventory.stocktakes.reject": "A",
		"inventory.stock": "ADBCU", "inventory.stock_ranges": "ADBCU",
		"inventory.movements": "ADBCU", "inventory.movements.get": "ADBCU",
		"inventory.trace": "ADBCU", "inventory.reconciliation": "ADBCU",
		"inventory.thresholds": "ADBCU", "inventory.thresholds.set": "ADB", "inventory.low_stock": "ADBCU",
	})
}

const inv = "/api/v1/inventory"

// foodReceipt is a receipt of the demo food licence type by the city market regulator, bought
// from the designated printer; the demo already received SC00000001-SC00010000.
func foodReceipt(first, last string) map[string]any {
	return map[string]any{"type_code": demo.TypeFood, "first": first, "last": last, "channel": "designated_printer",
		"supplier": "成都川印证件印务有限公司", "contract": "GYSJ-2026-002", "unit_cost_fen": 120}
}

func distribution(to string, ranges ...[2]string) map[string]any {
	rs := []map[string]string{}
	for _, r := range ranges {
		rs = append(rs, map[string]string{"first": r[0], "last": r[1]})
	}
	return map[string]any{"kind": "distribution", "type_code": demo.TypeFood, "to_org_id": to, "ranges": rs, "document": "市监发〔2026〕12号"}
}

func ranges(rs ...[2]string) []map[string]string {
	out := []map[string]string{}
	for _, r := range rs {
		out = append(out, map[string]string{"first": r[0], "last": r[1]})
	}
	return out
}

type stockList struct {
	Items []inventory.StockLine `json:"items"`
}

func (l stockList) line(holder, state string) *inventory.StockLine {
	for i := range l.Items {
		if l.Items[i].HolderID == holder && string(l.Items[i].State) == state {
			return &l.Items[i]
		}
	}
	return nil
}

// TestInventoryTour is the README tour through HTTP: the city market regulator receives a new
// range of food licence blanks, distributes part of it to 广元市利州区行政审批局, and the bureau's
// officer sees it in its stock; the movement, trace, reconciliation and low-stock queries agree.
func TestInventoryTour(t *testing.T) {
	e := testenv.Start(t)
	lizhou := e.Orgs["广元市利州区行政审批局"]
	scj := e.Orgs["广元市市场监督管理局"]

	r := e.Must(201, "POST", inv+"/receipts", "scj", foodReceipt("SC00010001", "SC00012000"))
	var rec inventory.Movement
	r.Decode(t, &rec)
	if rec.Kind != inventory.KindReceipt || rec.Count != 2000 || rec.ToOrgID != scj || rec.TotalCostFen != 240000 || rec.ID == 0 {
		t.Fatalf("receipt: got %+v", rec)
	}
	if got, want := r.Header.Get("Location"), fmt.Sprintf(inv+"/movements/%d", rec.ID); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}

	r = e.Must(201, "POST", inv+"/transfers", "scj", distribution(lizhou, [2]string{"SC00010001", "SC00010500"}))
	var tr inventory.Movement
	r.Decode(t, &tr)
	if tr.Kind != inventory.KindDistribution || tr.Count != 500 || tr.FromOrgID != scj || tr.ToOrgID != lizhou || tr.ToOrgName != "广元市利州区行政审批局" {
		t.Fatalf("distribution: got %+v", tr)
	}

	var sl stockList
	e.Must(200, "GET", inv+"/stock?type_code="+demo.TypeFood, "lizhou-officer", nil).Decode(t, &sl)
	l := sl.line(lizhou, "in_stock")
	if l == nil || len(sl.Items) != 1 {
		t.Fatalf("lizhou stock: got %+v", sl.Items)
	}
	// 500 from the demo (SC00000001-SC00000500) and the 500 just distributed.
	wantRanges := []inventory.SerialRange{{First: "SC00000001", Last: "SC00000500", Count: 500}, {First: "SC00010001", Last: "SC00010500", Count: 500}}
	if l.Count != 1000 || !slices.Equal(l.Ranges, wantRanges) || l.StateLabel == "" || l.HolderName != "广元市利州区行政审批局" {
		t.Errorf("lizhou food stock: got %+v, want 1000 in %v", *l, wantRanges)
	}
	// The department kept the rest of the new range.
	sl = stockList{}
	e.Must(200, "GET", inv+"/stock?type_code="+demo.TypeFood+"&state=in_stock", "scj", nil).Decode(t, &sl)
	if l := sl.line(scj, "in_stock"); l == nil || l.Count != 10000-8*500+1500 {
		t.Errorf("scj food stock: got %+v", sl.Items)
	}
	// Another bureau's officer cannot read 利州's stock; the auditor can.
	if r := e.Do("GET", inv+"/stock?holder_id="+lizhou, "zhaohua-officer", nil); r.Status != 403 || r.ErrorCode() != "permission_denied" {
		t.Errorf("zhaohua reads lizhou's stock: got %d %s", r.Status, r.Body)
	}
	sl = stockList{}
	e.Must(200, "GET", inv+"/stock?holder_id="+lizhou+"&type_code="+demo.TypeFood, "auditor", nil).Decode(t, &sl)
	if l := sl.line(lizhou, "in_stock"); l == nil || l.Count != 1000 {
		t.Errorf("auditor reads lizhou's stock: got %+v", sl.Items)
	}

	// Ranges page by page.
	var page struct {
		Items      []inventory.SerialRange `json:"items"`
		NextCursor string                  `json:"next_cursor"`
	}
	e.Must(200, "GET", inv+"/stock/ranges?type_code="+demo.TypeFood+"&limit=1", "lizhou-officer", nil).Decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].First != "SC00000001" || page.NextCursor == "" {
		t.Fatalf("ranges page 1: got %+v", page)
	}
	cur := page.NextCursor
	page.Items, page.NextCursor = nil, ""
	e.Must(200, "GET", inv+"/stock/ranges?type_code="+demo.TypeFood+"&limit=1&cursor="+cur, "lizhou-officer", nil).Decode(t, &page)
	if len(page.Items) != 1 || page.Items[0].First != "SC00010001" || page.NextCursor != "" {
		t.Errorf("ranges page 2: got %+v", page)
	}

	// The movement and the movements list.
	var got inventory.Movement
	e.Must(200, "GET", fmt.Sprintf(inv+"/movements/%d", tr.ID), "lizhou-officer", nil).Decode(t, &got)
	if got.ID != tr.ID || got.Kind != inventory.KindDistribution {
		t.Errorf("get movement: got %+v", got)
	}
	if r := e.Do("GET", fmt.Sprintf(inv+"/movements/%d", tr.ID), "zhaohua-officer", nil); r.Status != 403 {
		t.Errorf("zhaohua reads lizhou's movement: got %d", r.Status)
	}
	if r := e.Do("GET", inv+"/movements/99999999", "admin", nil); r.Status != 404 || r.ErrorCode() != "not_found" {
		t.Errorf("unknown movement: got %d %s", r.Status, r.Body)
	}
	var ms struct {
		Items      []inventory.Movement `json:"items"`
		NextCursor string               `json:"next_cursor"`
	}
	e.Must(200, "GET", inv+"/movements?type_code="+demo.TypeFood+"&limit=1&from=2026-03-02&to=2026-03-02", "lizhou-officer", nil).Decode(t, &ms)
	if len(ms.Items) != 1 || ms.Items[0].ID != tr.ID || ms.NextCursor == "" {
		t.Fatalf("movements page 1: got %+v", ms)
	}
	cur = ms.NextCursor
	ms.Items, ms.NextCursor = nil, ""
	e.Must(200, "GET", inv+"/movements?type_code="+demo.TypeFood+"&limit=10&cursor="+cur, "lizhou-officer", nil).Decode(t, &ms)
	if len(ms.Items) != 1 || ms.Items[0].Kind != inventory.KindDistribution || ms.Items[0].ID >= tr.ID || ms.NextCursor != "" {
		t.Errorf("movements page 2 (the demo distribution): got %+v", ms)
	}
	ms.Items = nil
	e.Must(200, "GET", inv+"/movements?kind=receipt&to=2026-03-01", "admin", nil).Decode(t, &ms)
	if len(ms.Items) != 0 {
		t.Errorf("movements before the demo: got %d", len(ms.Items))
	}
	ms.Items = nil
	e.Must(200, "GET", inv+"/movements?kind=receipt&holder_id="+scj, "admin", nil).Decode(t, &ms)
	if len(ms.Items) != 2 || ms.Items[0].ID != rec.ID {
		t.Errorf("scj's receipts: got %+v", ms.Items)
	}

	// The trace of a distributed serial: where it is and its two movements.
	var trace inventory.TraceResult
	e.Must(200, "GET", inv+"/trace?type_code="+demo.TypeFood+"&serial=SC00010001", "lizhou-officer", nil).Decode(t, &trace)
	if !trace.Known || trace.HolderID != lizhou || trace.State != inventory.InStock || len(trace.Movements) != 2 ||
		trace.Movements[0].ID != rec.ID || trace.Movements[1].ID != tr.ID {
		t.Errorf("trace: got %+v", trace)
	}
	if r := e.Do("GET", inv+"/trace?type_code="+demo.TypeFood+"&serial=SC00010001", "zhaohua-officer", nil); r.Status != 403 || !hasHan(r.JSON(t)["error"].(map[string]any)["message"].(string)) {
		t.Errorf("trace by an unrelated bureau: got %d %s", r.Status, r.Body)
	}
	if r := e.Do("GET", inv+"/trace?type_code="+demo.TypeFood, "lizhou-officer", nil); r.Status != 400 {
		t.Errorf("trace without a serial: got %d", r.Status)
	}

	// Reconciliation: the food type alone, and every type 利州 has held (the three demo types).
	var recs struct {
		Items []inventory.Reconciliation `json:"items"`
	}
	e.Must(200, "GET", inv+"/reconciliation?type_code="+demo.TypeFood+"&from=2026-03-01&to=2026-03-02", "lizhou-officer", nil).Decode(t, &recs)
	if len(recs.Items) != 1 {
		t.Fatalf("reconciliation: got %+v", recs)
	}
	if x := recs.Items[0]; x.OrgID != lizhou || x.Opening != 0 || x.Received != 1000 || x.Closing != 1000 || !x.Checked || !x.Balanced || x.BooksInStock != 1000 {
		t.Errorf("reconciliation of 利州's food blanks: got %+v", x)
	}
	recs.Items = nil
	e.Must(200, "GET", inv+"/reconciliation?org_id="+lizhou, "auditor", nil).Decode(t, &recs)
	var types []string
	for _, x := range recs.Items {
		types = append(types, x.TypeCode)
		if !x.Balanced {
			t.Errorf("reconciliation %s: not balanced: %+v", x.TypeCode, x)
		}
	}
	slices.Sort(types)
	if want := []string{demo.TypeFood, demo.TypeConstruction, demo.TypeRoadTransport}; !slices.Equal(types, slices.Sorted(slices.Values(want))) {
		t.Errorf("reconciliation of every type: got %v, want %v", types, want)
	}
	// A later period: nothing moved, but the organisation has held the types.
	recs.Items = nil
	e.Must(200, "GET", inv+"/reconciliation?from=2026-04-01&to=2026-04-30", "lizhou-officer", nil).Decode(t, &recs)
	if len(recs.Items) != 3 {
		t.Errorf("reconciliation of a later period: got %d types, want 3", len(recs.Items))
	}
	for _, x := range recs.Items {
		if x.Opening != x.Closing || x.Received != 0 {
			t.Errorf("reconciliation of a later period %s: got %+v", x.TypeCode, x)
		}
	}
	if r := e.Do("GET", inv+"/reconciliation?org_id="+lizhou, "zhaohua-officer", nil); r.Status != 403 {
		t.Errorf("reconciliation of another organisation: got %d", r.Status)
	}
	if r := e.Do("GET", inv+"/reconciliation?from=2026-03-05&to=2026-03-01", "lizhou-officer", nil); r.Status != 400 || !hasHan(string(r.Body)) {
		t.Errorf("reversed period: got %d %s", r.Status, r.Body)
	}

	// Thresholds and the low-stock alert.
	var th inventory.Threshold
	e.Must(200, "PUT", inv+"/thresholds/"+demo.TypeFood, "lizhou-officer", map[string]any{"threshold": 2000}).Decode(t, &th)
	if th.HolderID != lizhou || th.Threshold != 2000 {
		t.Errorf("threshold: got %+v", th)
	}
	var alerts struct {
		Items []inventory.LowStockAlert `json:"items"`
	}
	e.Must(200, "GET", inv+"/low-stock", "lizhou-clerk", nil).Decode(t, &alerts)
	if len(alerts.Items) != 1 || alerts.Items[0].InStock != 1000 || alerts.Items[0].Threshold != 2000 {
		t.Errorf("low stock: got %+v", alerts.Items)
	}
	var ths struct {
		Items []inventory.Threshold `json:"items"`
	}
	e.Must(200, "GET", inv+"/thresholds", "admin", nil).Decode(t, &ths)
	if len(ths.Items) != 1 {
		t.Errorf("thresholds as admin: got %+v", ths.Items)
	}
	if r := e.Do("PUT", inv+"/thresholds/"+demo.TypeFood, "lizhou-officer", map[string]any{}); r.Status != 400 {
		t.Errorf("threshold without a value: got %d", r.Status)
	}
	if r := e.Do("PUT", inv+"/thresholds/"+demo.TypeFood, "lizhou-clerk", map[string]any{"threshold": 1}); r.Status != 403 {
		t.Errorf("threshold by a clerk: got %d", r.Status)
	}

	if err := e.App.Inventory.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestInventoryLifecycle voids, destroys and loses forms through HTTP and runs a stocktake
// through its approval and rejection.
func TestInventoryLifecycle(t *testing.T) {
	e := testenv.Start(t)
	lizhou := e.Orgs["广元市利州区行政审批局"]

	r := e.Must(201, "POST", inv+"/voids", "lizhou-clerk", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000001", "SC00000003"}), "reason": "套打错位"})
	var mv inventory.Movement
	r.Decode(t, &mv)
	if mv.Kind != inventory.KindVoid || mv.Count != 3 || mv.ToState != inventory.Voided {
		t.Errorf("void: got %+v", mv)
	}
	// A clerk may void but not destroy.
	destr := map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000001", "SC00000003"}), "witnesses": []string{"张三", "李四"}, "document": "利审销〔2026〕1号"}
	if r := e.Do("POST", inv+"/destructions", "lizhou-clerk", destr); r.Status != 403 {
		t.Errorf("destruction by a clerk: got %d", r.Status)
	}
	e.Must(201, "POST", inv+"/destructions", "lizhou-officer", destr).Decode(t, &mv)
	if mv.Kind != inventory.KindDestruction || mv.Count != 3 || len(mv.Witnesses) != 2 {
		t.Errorf("destruction: got %+v", mv)
	}
	e.Must(201, "POST", inv+"/losses", "lizhou-officer", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000010", "SC00000010"}), "report_ref": "利公遗〔2026〕7号"}).Decode(t, &mv)
	if mv.Kind != inventory.KindLoss || mv.Count != 1 {
		t.Errorf("loss: got %+v", mv)
	}

	var sl stockList
	e.Must(200, "GET", inv+"/stock?type_code="+demo.TypeFood, "lizhou-officer", nil).Decode(t, &sl)
	for state, want := range map[string]uint64{"in_stock": 496, "destroyed": 3, "lost": 1} {
		if l := sl.line(lizhou, state); l == nil || l.Count != want {
			t.Errorf("%s: got %+v, want %d", state, l, want)
		}
	}

	// A stocktake two short without naming them: approval marks the highest two lost.
	var st inventory.Stocktake
	e.Must(201, "POST", inv+"/stocktakes", "lizhou-officer", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeFood, "counted": 494}}, "note": "季度盘点"}).Decode(t, &st)
	if st.Status != inventory.StocktakePending || st.Lines[0].Books != 496 || st.Lines[0].Difference != -2 {
		t.Fatalf("stocktake: got %+v", st)
	}
	if r := e.Do("POST", fmt.Sprintf(inv+"/stocktakes/%d/approve", st.ID), "lizhou-officer", nil); r.Status != 403 {
		t.Errorf("approval by an officer: got %d", r.Status)
	}
	var list struct {
		Items []inventory.Stocktake `json:"items"`
	}
	e.Must(200, "GET", inv+"/stocktakes?status=pending", "lizhou-clerk", nil).Decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != st.ID {
		t.Errorf("pending stocktakes: got %+v", list.Items)
	}
	if r := e.Do("GET", fmt.Sprintf(inv+"/stocktakes/%d", st.ID), "zhaohua-officer", nil); r.Status != 403 {
		t.Errorf("another bureau's stocktake: got %d", r.Status)
	}
	e.Must(200, "POST", fmt.Sprintf(inv+"/stocktakes/%d/approve", st.ID), "admin", nil).Decode(t, &st)
	if st.Status != inventory.StocktakeApproved || len(st.MovementIDs) != 1 {
		t.Errorf("approved: got %+v", st)
	}
	var trace inventory.TraceResult
	e.Must(200, "GET", inv+"/trace?type_code="+demo.TypeFood+"&serial=SC00000500", "lizhou-officer", nil).Decode(t, &trace)
	if trace.State != inventory.Lost || trace.Movements[len(trace.Movements)-1].Kind != inventory.KindStocktakeLoss {
		t.Errorf("trace of the highest serial: got %+v", trace)
	}
	if r := e.Do("POST", fmt.Sprintf(inv+"/stocktakes/%d/reject", st.ID), "admin", map[string]string{"note": "重复"}); r.Status != 409 || r.ErrorCode() != "conflict" {
		t.Errorf("rejecting a decided stocktake: got %d %s", r.Status, r.Body)
	}
	e.Must(201, "POST", inv+"/stocktakes", "lizhou-officer", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeFood, "counted": 500}}}).Decode(t, &st)
	e.Must(200, "POST", fmt.Sprintf(inv+"/stocktakes/%d/reject", st.ID), "admin", map[string]string{"note": "盘盈未列明编号"}).Decode(t, &st)
	if st.Status != inventory.StocktakeRejected || st.Decision != "盘盈未列明编号" {
		t.Errorf("rejected: got %+v", st)
	}

	var recs struct {
		Items []inventory.Reconciliation `json:"items"`
	}
	e.Must(200, "GET", inv+"/reconciliation?type_code="+demo.TypeFood, "lizhou-officer", nil).Decode(t, &recs)
	if x := recs.Items[0]; x.Received != 500 || x.Voided != 3 || x.Lost != 3 || x.Destroyed != 3 || x.Closing != 494 || !x.Balanced {
		t.Errorf("reconciliation: got %+v", x)
	}
	if err := e.App.Inventory.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestInventoryRefusals sends every kind of refused request through HTTP and checks the status,
// the error code, a Chinese message, the conflicts named, and that nothing was written.
func TestInventoryRefusals(t *testing.T) {
	e := testenv.Start(t)
	lizhou := e.Orgs["广元市利州区行政审批局"]
	zhaohua := e.Orgs["广元市昭化区行政审批局"]
	scj := e.Orgs["广元市市场监督管理局"]
	// A voided serial in 利州's stock, for the refusals below.
	e.Must(201, "POST", inv+"/voids", "lizhou-clerk", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000005", "SC00000005"}), "reason": "污损"})

	manyRanges := []map[string]string{}
	for i := range inventory.MaxRanges + 1 {
		s := fmt.Sprintf("SC%08d", 20001+i)
		manyRanges = append(manyRanges, map[string]string{"first": s, "last": s})
	}
	cases := []struct {
		name      string
		user      string
		method    string
		path      string
		body      any
		status    int
		code      string
		conflicts []inventory.Conflict // when set, detail.conflicts must equal it
	}{
		{"overlapping receipt", "scj", "POST", "/receipts", foodReceipt("SC00009990", "SC00010010"), 409, "conflict",
			[]inventory.Conflict{{First: "SC00009990", Last: "SC00010000", Count: 11, State: inventory.InStock, StateLabel: inventory.InStock.Label(), HolderID: scj, Own: true}}},
		{"wrong prefix", "scj", "POST", "/receipts", foodReceipt("XK00020001", "XK00020100"), 400, "invalid_argument", nil},
		{"wrong width", "scj", "POST", "/receipts", foodReceipt("SC0002001", "SC0002100"), 400, "invalid_argument", nil},
		{"reversed range", "scj", "POST", "/receipts", foodReceipt("SC00020100", "SC00020001"), 400, "invalid_argument", nil},
		{"wrong channel", "scj", "POST", "/receipts", map[string]any{"type_code": demo.TypeFood, "first": "SC00020001", "last": "SC00020100", "channel": "local_print", "batch": "1"}, 400, "invalid_argument", nil},
		{"another department's type", "jtj", "POST", "/receipts", foodReceipt("SC00020001", "SC00020100"), 403, "permission_denied", nil},
		{"county department buys from a printer", "lz-scj", "POST", "/receipts", foodReceipt("SC00020001", "SC00020100"), 403, "permission_denied", nil},
		{"unknown type", "scj", "POST", "/receipts", map[string]any{"type_code": "11100000000013338W099", "first": "SC00020001", "last": "SC00020100", "channel": "designated_printer", "supplier": "甲", "contract": "乙"}, 404, "not_found", nil},
		{"clerk receives", "lizhou-clerk", "POST", "/receipts", foodReceipt("SC00020001", "SC00020100"), 403, "permission_denied", nil},
		{"auditor voids", "auditor", "POST", "/voids", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000001", "SC00000001"}), "reason": "x"}, 403, "permission_denied", nil},
		{"distribute another org's stock", "scj", "POST", "/transfers", distribution(zhaohua, [2]string{"SC00000011", "SC00000020"}), 409, "conflict",
			[]inventory.Conflict{{First: "SC00000011", Last: "SC00000020", Count: 10, State: inventory.InStock, StateLabel: inventory.InStock.Label()}}},
		{"void another org's stock", "zhaohua-officer", "POST", "/voids", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000001", "SC00000002"}), "reason": "x"}, 409, "conflict", nil},
		{"return a voided serial", "lizhou-officer", "POST", "/transfers", map[string]any{"kind": "return", "type_code": demo.TypeFood, "to_org_id": scj, "ranges": ranges([2]string{"SC00000001", "SC00000010"})}, 409, "conflict",
			[]inventory.Conflict{{First: "SC00000005", Last: "SC00000005", Count: 1, State: inventory.Voided, StateLabel: inventory.Voided.Label(), HolderID: lizhou, Own: true}}},
		{"void a voided serial", "lizhou-clerk", "POST", "/voids", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000005", "SC00000005"}), "reason": "x"}, 409, "conflict", nil},
		{"destroy serials in stock", "lizhou-officer", "POST", "/destructions", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000006", "SC00000006"}), "witnesses": []string{"张三"}}, 409, "conflict", nil},
		{"distribution from a county bureau", "lizhou-officer", "POST", "/transfers", distribution(zhaohua, [2]string{"SC00000001", "SC00000001"}), 400, "invalid_argument", nil},
		{"unknown receiver", "scj", "POST", "/transfers", distribution("999999", [2]string{"SC00005000", "SC00005000"}), 404, "not_found", nil},
		{"unknown kind", "scj", "POST", "/transfers", map[string]any{"kind": "gift", "type_code": demo.TypeFood, "to_org_id": lizhou, "ranges": ranges([2]string{"SC00005000", "SC00005000"})}, 400, "invalid_argument", nil},
		{"too many ranges", "scj", "POST", "/transfers", map[string]any{"kind": "distribution", "type_code": demo.TypeFood, "to_org_id": lizhou, "ranges": manyRanges}, 400, "invalid_argument", nil},
		{"no ranges", "lizhou-clerk", "POST", "/voids", map[string]any{"type_code": demo.TypeFood, "ranges": []any{}, "reason": "x"}, 400, "invalid_argument", nil},
		{"void without a reason", "lizhou-clerk", "POST", "/voids", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000006", "SC00000006"})}, 400, "invalid_argument", nil},
		{"loss without a report", "lizhou-officer", "POST", "/losses", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000006", "SC00000006"})}, 400, "invalid_argument", nil},
		{"destruction without witnesses", "lizhou-officer", "POST", "/destructions", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000005", "SC00000005"})}, 400, "invalid_argument", nil},
		{"stocktake of a type never held", "lz-scj", "POST", "/stocktakes", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeFood, "counted": 1}}}, 400, "invalid_argument", nil},
		{"stocktake of an electronic type", "lizhou-officer", "POST", "/stocktakes", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeBusiness, "counted": 1}}}, 400, "invalid_argument", nil},
		{"stocktake naming serials not in stock", "lizhou-officer", "POST", "/stocktakes", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeFood, "counted": 497, "missing": ranges([2]string{"SC00000004", "SC00000005"})}}}, 409, "conflict", nil},
		{"approve an unknown stocktake", "admin", "POST", "/stocktakes/424242/approve", nil, 404, "not_found", nil},
		{"malformed json", "scj", "POST", "/receipts", `{"type_code": "` + demo.TypeFood + `",`, 400, "invalid_argument", nil},
		{"unknown field", "scj", "POST", "/transfers", `{"kind":"distribution","colour":"red"}`, 400, "invalid_argument", nil},
		{"wrong type", "scj", "POST", "/receipts", `{"type_code": 11100000000013338}`, 400, "invalid_argument", nil},
		{"empty body", "scj", "POST", "/receipts", ``, 400, "invalid_argument", nil},
		{"body too large", "scj", "POST", "/receipts", `{"note":"` + strings.Repeat("a", 1<<20+10) + `"}`, 413, "payload_too_large", nil},
		{"negative threshold", "lizhou-officer", "PUT", "/thresholds/" + demo.TypeFood, `{"threshold": -1}`, 400, "invalid_argument", nil},
		{"threshold of an unknown type", "lizhou-officer", "PUT", "/thresholds/11100000000013338W099", map[string]any{"threshold": 1}, 404, "not_found", nil},
		{"approval note on a decision too long", "admin", "POST", "/stocktakes/1/reject", map[string]string{"note": strings.Repeat("长", inventory.MaxNoteLen+1)}, 400, "invalid_argument", nil},
	}
	before := e.Snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(c.method, inv+c.path, c.user, c.body)
			if r.Status != c.status || r.ErrorCode() != c.code {
				t.Fatalf("got %d %s, want %d %s\n%.500s", r.Status, r.ErrorCode(), c.status, c.code, r.Body)
			}
			var body struct {
				Error struct {
					Message string `json:"message"`
					Detail  struct {
						Conflicts []inventory.Conflict `json:"conflicts"`
					} `json:"detail"`
				} `json:"error"`
			}
			r.Decode(t, &body)
			if !hasHan(body.Error.Message) {
				t.Errorf("message is not in Chinese: %q", body.Error.Message)
			}
			if c.conflicts != nil {
				if !slices.Equal(body.Error.Detail.Conflicts, c.conflicts) {
					t.Errorf("conflicts: got %+v, want %+v", body.Error.Detail.Conflicts, c.conflicts)
				}
				for _, cf := range c.conflicts {
					if !strings.Contains(body.Error.Message, cf.First) {
						t.Errorf("message %q does not name %s", body.Error.Message, cf.First)
					}
				}
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Fatalf("the refused request changed the database")
			}
		})
	}
	// Bad queries are refused too.
	for _, path := range []string{
		"/stock?state=gone", "/stock?format=pdf", "/stock?range_limit=0", "/movements?kind=gift", "/movements?from=2026-13-01",
		"/movements?limit=501", "/movements?cursor=abc", "/stocktakes?status=open", "/stock/ranges", "/trace?serial=SC00000001",
		"/trace?type_code=" + demo.TypeFood + "&serial=SC1", "/reconciliation?to=yesterday",
	} {
		if r := e.Do("GET", inv+path, "lizhou-officer", nil); r.Status != 400 || r.ErrorCode() != "invalid_argument" || !hasHan(string(r.Body)) {
			t.Errorf("GET %s: got %d %s", path, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/stock?holder_id=" + zhaohua, "/movements?holder_id=" + zhaohua, "/stocktakes?org_id=" + zhaohua,
		"/thresholds?holder_id=" + zhaohua, "/low-stock?holder_id=" + zhaohua, "/stock/ranges?type_code=" + demo.TypeFood + "&holder_id=" + zhaohua} {
		if r := e.Do("GET", inv+path, "lizhou-officer", nil); r.Status != 403 || r.ErrorCode() != "permission_denied" {
			t.Errorf("GET %s: got %d %s", path, r.Status, r.Body)
		}
	}
	if !bytes.Equal(before, e.Snapshot()) {
		t.Fatalf("a query changed the database")
	}
}

// TestInventoryExports downloads the stock, movements and reconciliation as CSV and XLSX and
// parses them back.
func TestInventoryExports(t *testing.T) {
	e := testenv.Start(t)
	lizhou := e.Orgs["广元市利州区行政审批局"]
	e.Must(201, "POST", inv+"/voids", "lizhou-clerk", map[string]any{"type_code": demo.TypeFood, "ranges": ranges([2]string{"SC00000100", "SC00000100"}), "reason": "污损"})

	file := func(path, user, wantName, wantType string) []byte {
		t.Helper()
		r := e.Must(200, "GET", path, user, nil)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, wantType)
		}
		cd := r.Header.Get("Content-Disposition")
		_, enc, ok := strings.Cut(cd, "filename*=UTF-8''")
		if !strings.HasPrefix(cd, "attachment;") || !ok || !strings.Contains(cd, `filename="inventory-`) {
			t.Fatalf("%s: Content-Disposition %q", path, cd)
		}
		name, err := url.PathUnescape(enc)
		if err != nil || name != wantName {
			t.Errorf("%s: file name %q (%v), want %q", path, name, err, wantName)
		}
		return r.Body
	}
	readCSV := func(b []byte) [][]string {
		t.Helper()
		if !bytes.HasPrefix(b, []byte("\uFEFF")) {
			t.Errorf("CSV without a BOM")
		}
		rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatalf("CSV: %v", err)
		}
		return rows
	}
	readXLSX := func(b []byte, sheet string) [][]string {
		t.Helper()
		f, err := excelize.OpenReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("XLSX: %v", err)
		}
		defer f.Close()
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatalf("XLSX sheet %s: %v (sheets %v)", sheet, err, f.GetSheetList())
		}
		return rows
	}

	// Stock of 利州 (the clerk's own organisation): 99 + 1 + 400 in stock around one voided form.
	rows := readCSV(file(inv+"/stock?format=csv&type_code="+demo.TypeFood, "lizhou-clerk", "空白证照库存-广元市利州区行政审批局-20260302.csv", "text/csv"))
	if !slices.Equal(rows[0], inventory.StockHeaders) {
		t.Errorf("stock CSV headers: got %v", rows[0])
	}
	want := [][]string{
		{"广元市利州区行政审批局", demo.TypeFood, "食品经营许可证", "在库", "SC00000001", "SC00000099", "99"},
		{"广元市利州区行政审批局", demo.TypeFood, "食品经营许可证", "在库", "SC00000101", "SC00000500", "400"},
		{"广元市利州区行政审批局", demo.TypeFood, "食品经营许可证", inventory.Voided.Label(), "SC00000100", "SC00000100", "1"},
	}
	if got := rows[1:]; len(got) != len(want) {
		t.Errorf("stock CSV rows: got %v, want %v", got, want)
	} else {
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Errorf("stock CSV row %d: got %v, want %v", i+1, got[i], want[i])
			}
		}
	}
	x := file(inv+"/stock?format=xlsx&holder_id="+lizhou, "admin", "空白证照库存-广元市利州区行政审批局-20260302.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	if sum := readXLSX(x, "库存汇总"); len(sum) != 1+4 { // food in stock and voided, construction, road transport
		t.Errorf("stock XLSX summary: got %v", sum)
	}
	if det := readXLSX(x, "号段明细"); len(det) != 1+5 || !slices.Equal(det[0], inventory.StockHeaders) {
		t.Errorf("stock XLSX ranges: got %v", det)
	}
	// Every holder for the auditor.
	rows = readCSV(file(inv+"/stock?format=csv&state=in_stock&type_code="+demo.TypeFood, "auditor", "空白证照库存-全部机构-20260302.csv", "text/csv"))
	if len(rows) != 1+8+2+7 { // the department's eight remaining ranges, 利州's two (split by the void), seven other bureaus
		t.Errorf("stock CSV of every holder: got %d rows\n%v", len(rows), rows)
	}

	// Movements: the demo's distribution to 利州 and the void.
	rows = readCSV(file(inv+"/movements?format=csv&type_code="+demo.TypeFood, "lizhou-officer", "空白证照出入库明细-广元市利州区行政审批局-20260302.csv", "text/csv"))
	if !slices.Equal(rows[0], inventory.MovementHeaders) || len(rows) != 3 {
		t.Fatalf("movements CSV: got %v", rows)
	}
	if rows[1][2] != inventory.KindVoid.Label() || rows[2][2] != inventory.KindDistribution.Label() || rows[2][9] != "SC00000001-SC00000500" {
		t.Errorf("movements CSV rows: got %v", rows[1:])
	}
	mrows := readXLSX(file(inv+"/movements?format=xlsx", "admin", "空白证照出入库明细-全部机构-20260302.xlsx", "application/vnd.openxmlformats"), "库存变动")
	if len(mrows) != 1+3+3*8+1 { // three receipts, 24 distributions, one void
		t.Errorf("movements XLSX: got %d rows", len(mrows))
	}

	// Reconciliation of every type 利州 holds.
	rows = readCSV(file(inv+"/reconciliation?format=csv", "lizhou-officer", "空白证照对账表-广元市利州区行政审批局-20260302.csv", "text/csv"))
	if !slices.Equal(rows[0], inventory.ReconciliationHeaders) || len(rows) != 1+3 {
		t.Fatalf("reconciliation CSV: got %v", rows)
	}
	rrows := readXLSX(file(inv+"/reconciliation?format=xlsx&type_code="+demo.TypeFood+"&org_id="+lizhou, "auditor", "空白证照对账表-广元市利州区行政审批局-20260302.xlsx", "application/vnd.openxmlformats"), "对账")
	if len(rrows) != 2 || rrows[1][0] != "广元市利州区行政审批局" {
		t.Errorf("reconciliation XLSX: got %v", rrows)
	}
}

// TestInventoryConcurrentTransfers sends the same distribution to eight bureaus at once: exactly
// one applies, the others are refused with 409 naming the serials, and the books still balance.
func TestInventoryConcurrentTransfers(t *testing.T) {
	e := testenv.Start(t)
	e.Must(201, "POST", inv+"/receipts", "scj", foodReceipt("SC00010001", "SC00010100"))
	type result struct {
		status int
		body   []byte
	}
	results := make([]result, len(demo.Bureaus))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, b := range demo.Bureaus {
		raw, _ := json.Marshal(distribution(e.Orgs[b.Name], [2]string{"SC00010001", "SC00010100"}))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", e.HTTP.URL+inv+"/transfers", bytes.NewReader(raw))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.Tokens["scj"])
			resp, err := e.HTTP.Client().Do(req)
			if err != nil {
				results[i] = result{status: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			results[i] = result{resp.StatusCode, body}
		}()
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range results {
		switch r.status {
		case 201:
			if winner >= 0 {
				t.Errorf("two transfers of the same range applied: to %s and %s", demo.Bureaus[winner].Name, demo.Bureaus[i].Name)
			}
			winner = i
		case 409:
			if !strings.Contains(string(r.body), "SC00010001") {
				t.Errorf("refusal does not name the serials: %s", r.body)
			}
		default:
			t.Errorf("transfer %d: got %d %s", i, r.status, r.body)
		}
	}
	if winner < 0 {
		t.Fatal("no transfer applied")
	}
	var trace inventory.TraceResult
	e.Must(200, "GET", inv+"/trace?type_code="+demo.TypeFood+"&serial=SC00010050", "admin", nil).Decode(t, &trace)
	if trace.HolderID != e.Orgs[demo.Bureaus[winner].Name] || len(trace.Movements) != 2 {
		t.Errorf("trace after the race: got %+v, want held by %s", trace, demo.Bureaus[winner].Name)
	}
	if err := e.App.Inventory.Verify(context.Background()); err != nil {
		t.Fatal(err)
	}
}
