package server_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"certseal"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
	"certseal/inventory/demand"
	"certseal/server"
)

func init() {
	expect(map[string]string{
		"demand.rounds.list": "ADBCU", "demand.rounds.open": "A", "demand.rounds.get": "ADBCU",
		"demand.rounds.close": "A", "demand.rounds.reopen": "A", "demand.rounds.prefill": "B",
		"demand.filings.list": "ADBCU", "demand.filings.save": "B",
		"demand.filings.get": "ADBCU", "demand.filings.versions": "ADBCU",
		"demand.filings.submit": "B", "demand.filings.amend": "B", "demand.filings.withdraw": "B",
		"demand.filings.return": "A", "demand.filings.approve": "A",
		"demand.summary": "ADU", "demand.plan.make": "A", "demand.plan.get": "ADU",
		"demand.fulfilment": "ADU", "demand.missing": "ADU", "demand.reminders": "ADU",
	})
}

const demRoot = "/api/v1/demand"

// demandDeadline is the 2026 round's deadline in these tests (the test clock starts on
// 2026-03-02 09:00 China time).
var demandDeadline = time.Date(2026, 3, 31, 18, 0, 0, 0, certseal.China)

// openDemandRound opens the 2026 yearly round over the three demo paper types, food capped at
// 500, as the city center administrator.
func openDemandRound(t *testing.T, e *testenv.Env) demand.Round {
	t.Helper()
	r := e.Must(201, "POST", demRoot+"/rounds", "admin", map[string]any{
		"kind": "yearly", "year": 2026, "deadline": demandDeadline, "notice": "请于3月底前报送2026年度空白证照需求",
		"types": []map[string]any{{"code": demo.TypeFood, "cap": 500}, {"code": demo.TypeConstruction}, {"code": demo.TypeRoadTransport}},
	})
	var rd demand.Round
	r.Decode(t, &rd)
	if loc := r.Header.Get("Location"); loc != fmt.Sprintf("%s/rounds/%d", demRoot, rd.ID) {
		t.Errorf("Location %q for round %d", loc, rd.ID)
	}
	return rd
}

func demandLines(kv ...any) []map[string]any {
	var out []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"type_code": kv[i], "quantity": kv[i+1], "reason": "业务量增长"})
	}
	return out
}

func demandFiling(lines []map[string]any) map[string]any {
	return map[string]any{"contact": "王芳", "phone": "0839-3260001", "lines": lines}
}

func demandFilingOf(t *testing.T, r *testenv.Response) demand.Filing {
	t.Helper()
	var f demand.Filing
	r.Decode(t, &f)
	return f
}

// TestDemandFlow runs a yearly round through HTTP: the city center opens it, 利州 fills in the
// prefilled form, saves, submits and amends; the center returns it, 利州 corrects and
// resubmits, the center approves; then the summary and its three exports, the plan, the
// fulfilment after a distribution, and the missing list and reminders.
func TestDemandFlow(t *testing.T) {
	e := testenv.Start(t)
	lizhou, zhaohua := e.Orgs["广元市利州区行政审批局"], e.Orgs["广元市昭化区行政审批局"]
	rd := openDemandRound(t, e)
	if rd.Year != 2026 || rd.Status != demand.RoundOpen || len(rd.Types) != 3 || rd.Type(demo.TypeFood).Cap != 500 {
		t.Fatalf("round: %+v", rd)
	}
	if len(rd.Participants) != len(demo.Bureaus)+1 || rd.Participant(lizhou) == nil || rd.Participant(e.Orgs["苍溪县交通运输局"]) == nil {
		t.Fatalf("participants: %+v", rd.Participants)
	}
	round := fmt.Sprintf("%s/rounds/%d", demRoot, rd.ID)

	// Every role sees the round; a clerk too.
	var rounds demandList[demand.Round]
	e.Must(200, "GET", demRoot+"/rounds?year=2026&kind=yearly&status=open", "lizhou-clerk", nil).Decode(t, &rounds)
	if len(rounds.Items) != 1 || rounds.Items[0].ID != rd.ID {
		t.Fatalf("rounds: %+v", rounds)
	}
	var none demandList[demand.Round]
	e.Must(200, "GET", demRoot+"/rounds?year=2025", "scj", nil).Decode(t, &none)
	if len(none.Items) != 0 {
		t.Errorf("2025 rounds: %+v", none.Items)
	}
	e.Must(200, "GET", round, "cx-jtj", nil)

	// The prefilled form: every type, quantity 0, 利州's stock of food from the demo distribution.
	pre := demandFilingOf(t, e.Must(200, "GET", round+"/prefill", "lizhou-officer", nil))
	if pre.ID != 0 || pre.OrgID != lizhou || len(pre.Lines) != 3 {
		t.Fatalf("prefill: %+v", pre)
	}
	if l := pre.Line(demo.TypeFood); l == nil || l.InStock != 500 || l.Quantity != 0 || len(l.UseHistory) != demand.HistoryYears {
		t.Errorf("prefilled food line: %+v", l)
	}
	// 苍溪县交通运输局 files only for road transport (its item is not transferred).
	if cx := demandFilingOf(t, e.Must(200, "GET", round+"/prefill", "cx-jtj", nil)); len(cx.Lines) != 1 || cx.Lines[0].TypeCode != demo.TypeRoadTransport {
		t.Errorf("苍溪县交通运输局 prefill: %+v", cx.Lines)
	}

	// Save a draft (201), save again (200), submit, amend.
	r := e.Must(201, "POST", round+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 300, demo.TypeConstruction, 40)))
	f := demandFilingOf(t, r)
	if f.Status != demand.Draft || f.Version != 1 || f.Line(demo.TypeFood).InStock != 500 {
		t.Fatalf("saved: %+v", f)
	}
	filing := fmt.Sprintf("%s/filings/%d", demRoot, f.ID)
	if loc := r.Header.Get("Location"); loc != filing {
		t.Errorf("Location %q, want %q", loc, filing)
	}
	f = demandFilingOf(t, e.Must(200, "POST", round+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 300, demo.TypeConstruction, 50))))
	if f.Version != 2 || f.Status != demand.Draft {
		t.Fatalf("saved again: %+v", f)
	}
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/submit", "lizhou-officer", nil))
	if f.Status != demand.Submitted || f.SubmittedAt == nil {
		t.Fatalf("submitted: %+v", f)
	}
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/amend", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 320, demo.TypeConstruction, 50))))
	if f.Status != demand.Submitted || f.Version != 4 || f.Line(demo.TypeFood).Quantity != 320 {
		t.Fatalf("amended: %+v", f)
	}

	// The center returns it with a comment: a draft again, listed as 退回修改.
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/return", "admin", map[string]string{"comment": "食品经营许可证数量请说明依据"}))
	if f.Status != demand.Draft || f.ReturnComment != "食品经营许可证数量请说明依据" {
		t.Fatalf("returned: %+v", f)
	}
	var returned demandList[demand.MissingOrg]
	e.Must(200, "GET", round+"/missing", "auditor", nil).Decode(t, &returned)
	if m := demandMissingOf(returned.Items, lizhou); m == nil || m.StatusLabel != "退回修改" || m.FilingID != f.ID {
		t.Errorf("missing after the return: %+v", m)
	}

	// The officer corrects (amend keeps it a draft), submits; 昭化 submits too.
	body := demandFiling(demandLines(demo.TypeFood, 320, demo.TypeConstruction, 50))
	body["note"] = "2025年食品经营许可发证量增长约30%"
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/amend", "lizhou-officer", body))
	if f.Status != demand.Draft || f.Note == "" {
		t.Fatalf("corrected: %+v", f)
	}
	e.Must(200, "POST", filing+"/submit", "lizhou-officer", "{}")
	zf := demandFilingOf(t, e.Must(201, "POST", round+"/filings", "zhaohua-officer", demandFiling(demandLines(demo.TypeFood, 100))))
	e.Must(200, "POST", fmt.Sprintf("%s/filings/%d/submit", demRoot, zf.ID), "zhaohua-officer", nil)

	// Approve 利州: food cut to 300, construction as filed.
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/approve", "admin", map[string]any{
		"lines": []map[string]any{{"type_code": demo.TypeFood, "quantity": 300}}, "comment": "食品按上年用量核定",
	}))
	if f.Status != demand.Approved || f.Line(demo.TypeFood).Approved != 300 || f.Line(demo.TypeConstruction).Approved != 50 || f.ApprovedBy != "admin" {
		t.Fatalf("approved: %+v", f)
	}

	// Reading filings: its organisation, the city departments and auditors; not another bureau.
	e.Must(200, "GET", filing, "lizhou-clerk", nil)
	e.Must(200, "GET", filing, "scj", nil)
	if r := e.Do("GET", filing, "zhaohua-officer", nil); r.Status != 403 || r.ErrorCode() != "permission_denied" {
		t.Errorf("another bureau reads the filing: %d %s", r.Status, r.ErrorCode())
	}
	var fl demandList[demand.Filing]
	e.Must(200, "GET", round+"/filings", "auditor", nil).Decode(t, &fl)
	if len(fl.Items) != 2 {
		t.Errorf("auditor sees %d filings, want 2", len(fl.Items))
	}
	var approved, own demandList[demand.Filing]
	e.Must(200, "GET", round+"/filings?status=approved", "scj", nil).Decode(t, &approved)
	if len(approved.Items) != 1 || approved.Items[0].OrgID != lizhou {
		t.Errorf("approved filings: %+v", approved.Items)
	}
	e.Must(200, "GET", round+"/filings", "zhaohua-officer", nil).Decode(t, &own)
	if len(own.Items) != 1 || own.Items[0].OrgID != zhaohua {
		t.Errorf("昭化 sees %+v, want only its own filing", own.Items)
	}
	if r := e.Do("GET", round+"/filings?org_id="+url.QueryEscape(lizhou), "zhaohua-officer", nil); r.Status != 403 {
		t.Errorf("昭化 asks for 利州's filings: %d", r.Status)
	}

	// The version history, oldest first.
	var vs demandList[demand.FilingVersion]
	e.Must(200, "GET", filing+"/versions", "lizhou-officer", nil).Decode(t, &vs)
	var actions []string
	for _, v := range vs.Items {
		actions = append(actions, v.Action)
	}
	if want := []string{"save", "save", "submit", "amend", "return", "amend", "submit", "approve"}; !slices.Equal(actions, want) {
		t.Errorf("versions: %v, want %v", actions, want)
	}
	if vs.Items[4].Comment != "食品经营许可证数量请说明依据" || vs.Items[1].Lines[1].Quantity != 50 {
		t.Errorf("versions keep the content: %+v", vs.Items[4])
	}

	// The summary: requested counts submitted and approved filings, approved only approved ones.
	var s demand.Summary
	e.Must(200, "GET", round+"/summary", "scj", nil).Decode(t, &s)
	if s.Requested != 320+50+100 || s.Approved != 350 || s.Filings.Approved != 1 || s.Filings.Submitted != 1 || s.Filings.None != len(rd.Participants)-2 {
		t.Fatalf("summary: requested %d approved %d filings %+v", s.Requested, s.Approved, s.Filings)
	}
	var food *demand.TypeSummary
	for i := range s.Types {
		if s.Types[i].Code == demo.TypeFood {
			food = &s.Types[i]
		}
	}
	if food == nil || food.Requested != 420 || food.Approved != 300 || len(food.Rows) != 2 {
		t.Fatalf("food summary: %+v", food)
	}

	// The exports.
	download := func(format, user, wantType string) []byte {
		t.Helper()
		r := e.Must(200, "GET", round+"/summary?format="+format, user, nil)
		if ct := r.Header.Get("Content-Type"); ct != demand.ContentType(format) {
			t.Errorf("%s: Content-Type %q, want %q", format, ct, demand.ContentType(format))
		}
		if !strings.HasPrefix(demand.ContentType(format), wantType) {
			t.Errorf("%s: demand.ContentType is %q", format, demand.ContentType(format))
		}
		cd := r.Header.Get("Content-Disposition")
		_, enc, ok := strings.Cut(cd, "filename*=UTF-8''")
		if !strings.HasPrefix(cd, "attachment;") || !ok {
			t.Fatalf("%s: Content-Disposition %q", format, cd)
		}
		if name, err := url.PathUnescape(enc); err != nil || name != demand.FileName(s, format) || !strings.HasSuffix(name, "."+format) {
			t.Errorf("%s: file name %q (%v), want %q", format, name, err, demand.FileName(s, format))
		}
		return r.Body
	}
	raw := download("csv", "admin", "text/csv")
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\uFEFF")))).ReadAll()
	if err != nil || !bytes.HasPrefix(raw, []byte("\uFEFF")) {
		t.Fatalf("CSV (BOM %v): %v", bytes.HasPrefix(raw, []byte("\uFEFF")), err)
	}
	if !slices.Equal(rows[0], demand.DetailHeaders) {
		t.Errorf("CSV header %v", rows[0])
	}
	col := func(name string) int { return slices.Index(demand.DetailHeaders, name) }
	found := false
	for _, row := range rows[1:] {
		if row[col("证照类型代码")] == demo.TypeFood && row[col("报送单位")] == "广元市利州区行政审批局" {
			found = true
			if row[col("申报数量（张）")] != "320" || row[col("审核数量（张）")] != "300" || row[col("现有库存（张）")] != "500" {
				t.Errorf("CSV row of 利州 food: %v", row)
			}
		}
	}
	if !found {
		t.Errorf("CSV has no row for 利州 food:\n%v", rows)
	}
	xf, err := excelize.OpenReader(bytes.NewReader(download("xlsx", "auditor", "application/vnd.openxmlformats")))
	if err != nil {
		t.Fatalf("XLSX: %v", err)
	}
	defer xf.Close()
	if sheets := xf.GetSheetList(); !slices.Contains(sheets, "汇总") || !slices.Contains(sheets, "明细") {
		t.Errorf("XLSX sheets %v", sheets)
	}
	xrows, err := xf.GetRows("汇总")
	if err != nil || len(xrows) < 2 || !strings.Contains(strings.Join(demandFlatten(xrows), "|"), "食品经营许可证") {
		t.Errorf("XLSX 汇总: %v %v", err, xrows)
	}
	// A city department downloads the PDF; it is still signed off by the city center.
	pdf := download("pdf", "scj", "application/pdf")
	if !bytes.HasPrefix(pdf, []byte("%PDF")) || len(pdf) < 2000 {
		t.Fatalf("PDF: %d bytes starting %q", len(pdf), pdf[:min(len(pdf), 8)])
	}
	if text := strings.Join(strings.Fields(pdfText(t, pdf)), ""); text != "" {
		for _, want := range []string{"广元市2026年度空白证照需求汇总表", "广元市利州区行政审批局", "食品经营许可证", demo.CityCenterName} {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q:\n%.600s", want, text)
			}
		}
	}

	// The plan, twice; versions are kept.
	r = e.Must(201, "POST", round+"/plan", "admin", nil)
	var p demand.Plan
	r.Decode(t, &p)
	if p.Version != 1 || p.Approved != 350 || r.Header.Get("Location") != round+"/plan?version=1" {
		t.Fatalf("plan: %+v (Location %q)", p, r.Header.Get("Location"))
	}
	e.Must(201, "POST", round+"/plan", "admin", map[string]string{"note": "第二版"})
	p = demand.Plan{}
	e.Must(200, "GET", round+"/plan", "scj", nil).Decode(t, &p)
	if p.Version != 2 || p.Note != "第二版" {
		t.Errorf("latest plan: %+v", p)
	}
	p = demand.Plan{}
	e.Must(200, "GET", round+"/plan?version=1", "auditor", nil).Decode(t, &p)
	if p.Version != 1 || demandPlanSend(p, demo.TypeFood, lizhou) != 300 {
		t.Errorf("plan v1: %+v", p)
	}
	e.Must(404, "GET", round+"/plan?version=3", "admin", nil)
	e.Must(400, "GET", round+"/plan?version=latest", "admin", nil)

	// Fulfilment: 100 food forms distributed by 市市场监督管理局 to 利州 after the round opened.
	var ff demand.Fulfilment
	e.Must(200, "GET", round+"/fulfilment", "scj", nil).Decode(t, &ff)
	if row := demandFulfilRow(ff, lizhou, demo.TypeFood); row == nil || row.Approved != 300 || row.Planned != 300 || row.Distributed != 0 || row.Outstanding != 300 {
		t.Fatalf("fulfilment before the distribution: %+v", row)
	}
	e.Must(201, "POST", "/api/v1/inventory/transfers", "scj", map[string]any{"kind": "distribution", "type_code": demo.TypeFood,
		"to_org_id": lizhou, "ranges": []map[string]string{{"first": "SC00000601", "last": "SC00000700"}}, "document": "2026年度需求计划下发"})
	ff = demand.Fulfilment{}
	e.Must(200, "GET", round+"/fulfilment", "admin", nil).Decode(t, &ff)
	if row := demandFulfilRow(ff, lizhou, demo.TypeFood); row == nil || row.Distributed != 100 || row.Outstanding != 200 || ff.Distributed != 100 {
		t.Errorf("fulfilment after the distribution: %+v (total %d)", row, ff.Distributed)
	}

	// Missing: everyone but 利州 (approved) and 昭化 (submitted).
	var missing demandList[demand.MissingOrg]
	e.Must(200, "GET", round+"/missing", "admin", nil).Decode(t, &missing)
	if len(missing.Items) != len(rd.Participants)-2 || demandMissingOf(missing.Items, lizhou) != nil || demandMissingOf(missing.Items, zhaohua) != nil {
		t.Errorf("missing: %+v", missing.Items)
	}
	if m := demandMissingOf(missing.Items, e.Orgs["广元市朝天区行政审批局"]); m == nil || m.Status != "" || m.StatusLabel != "未填报" {
		t.Errorf("朝天 in the missing list: %+v", m)
	}

	// Reminders: the deadline is 29 days away.
	var rm demand.Reminders
	e.Must(200, "GET", round+"/reminders?days=30", "scj", nil).Decode(t, &rm)
	if !rm.Due || len(rm.Orgs) != len(missing.Items) {
		t.Errorf("reminders within 30 days: due %v, %d orgs", rm.Due, len(rm.Orgs))
	}
	rm = demand.Reminders{}
	e.Must(200, "GET", round+"/reminders", "admin", nil).Decode(t, &rm)
	if rm.Due || rm.Days != server.DemandReminderDays || len(rm.Orgs) != 0 || rm.Message == "" {
		t.Errorf("reminders within the default window: %+v", rm)
	}

	// Closing and reopening the round.
	var closed demand.Round
	e.Must(200, "POST", round+"/close", "admin", nil).Decode(t, &closed)
	if closed.Status != demand.RoundClosed {
		t.Errorf("closed: %+v", closed)
	}
	newDeadline := demandDeadline.AddDate(0, 0, 10)
	var reopened demand.Round
	e.Must(200, "POST", round+"/reopen", "admin", map[string]any{"reason": "剑阁县申请延期", "deadline": newDeadline}).Decode(t, &reopened)
	if reopened.Status != demand.RoundOpen || !reopened.Deadline.Equal(newDeadline) || len(reopened.Reopenings) != 1 {
		t.Errorf("reopened: %+v", reopened)
	}
}

type demandList[T any] struct {
	Items []T `json:"items"`
}

func demandMissingOf(ms []demand.MissingOrg, org string) *demand.MissingOrg {
	for i := range ms {
		if ms[i].OrgID == org {
			return &ms[i]
		}
	}
	return nil
}

func demandFulfilRow(f demand.Fulfilment, org, typ string) *demand.FulfilmentRow {
	for i := range f.Rows {
		if f.Rows[i].OrgID == org && f.Rows[i].TypeCode == typ {
			return &f.Rows[i]
		}
	}
	return nil
}

func demandPlanSend(p demand.Plan, typ, org string) int64 {
	for _, d := range p.Departments {
		for _, pt := range d.Types {
			if pt.Code != typ {
				continue
			}
			for _, s := range pt.Sends {
				if s.OrgID == org {
					return s.Quantity
				}
			}
		}
	}
	return -1
}

func demandFlatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// TestDemandRefusals sends refused requests through HTTP: each gets its status and code with a
// Chinese message, and the database is byte-for-byte unchanged.
func TestDemandRefusals(t *testing.T) {
	e := testenv.Start(t)
	rd := openDemandRound(t, e)
	round := fmt.Sprintf("%s/rounds/%d", demRoot, rd.ID)
	// 利州 is approved; 昭化 has a submitted filing; 旺苍 a draft.
	lz := demandFilingOf(t, e.Must(201, "POST", round+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 200))))
	lzPath := fmt.Sprintf("%s/filings/%d", demRoot, lz.ID)
	e.Must(200, "POST", lzPath+"/submit", "lizhou-officer", nil)
	e.Must(200, "POST", lzPath+"/approve", "admin", nil)
	zh := demandFilingOf(t, e.Must(201, "POST", round+"/filings", "zhaohua-officer", demandFiling(demandLines(demo.TypeFood, 100))))
	zhPath := fmt.Sprintf("%s/filings/%d", demRoot, zh.ID)
	e.Must(200, "POST", zhPath+"/submit", "zhaohua-officer", nil)
	wc := demandFilingOf(t, e.Must(201, "POST", round+"/filings", "wangcang-officer", demandFiling(demandLines(demo.TypeConstruction, 10))))
	wcPath := fmt.Sprintf("%s/filings/%d", demRoot, wc.ID)

	good := demandFiling(demandLines(demo.TypeFood, 100))
	withOrg := demandFiling(demandLines(demo.TypeFood, 100))
	withOrg["org_id"] = e.Orgs["广元市昭化区行政审批局"]
	type refusal struct {
		name, method, path, user string
		body                     any
		status                   int
		code                     string
	}
	cases := []refusal{
		{"negative quantity", "POST", round + "/filings", "wangcang-officer", demandFiling(demandLines(demo.TypeFood, -1)), 400, "invalid_argument"},
		{"over the cap", "POST", round + "/filings", "wangcang-officer", demandFiling(demandLines(demo.TypeFood, 501)), 400, "invalid_argument"},
		{"amend over the cap", "POST", zhPath + "/amend", "zhaohua-officer", demandFiling(demandLines(demo.TypeFood, 501)), 400, "invalid_argument"},
		{"type outside the round", "POST", round + "/filings", "wangcang-officer", demandFiling(demandLines(demo.TypeBusiness, 5)), 400, "invalid_argument"},
		{"type the county department does not file", "POST", round + "/filings", "cx-jtj", demandFiling(demandLines(demo.TypeFood, 5)), 400, "invalid_argument"},
		{"no lines", "POST", round + "/filings", "wangcang-officer", demandFiling(nil), 400, "invalid_argument"},
		{"bad phone", "POST", round + "/filings", "wangcang-officer", map[string]any{"contact": "王芳", "phone": "call me", "lines": demandLines(demo.TypeFood, 1)}, 400, "invalid_argument"},
		{"filing for another org", "POST", round + "/filings", "wangcang-officer", withOrg, 403, "permission_denied"},
		{"org outside the round", "POST", round + "/filings", "lz-scj", good, 403, "permission_denied"},
		{"prefill outside the round", "GET", round + "/prefill", "lz-scj", nil, 403, "permission_denied"},
		{"amend another org's filing", "POST", zhPath + "/amend", "wangcang-officer", good, 403, "permission_denied"},
		{"submit another org's filing", "POST", wcPath + "/submit", "zhaohua-officer", nil, 403, "permission_denied"},
		{"clerk files", "POST", round + "/filings", "lizhou-clerk", good, 403, "permission_denied"},
		{"city department approves", "POST", zhPath + "/approve", "scj", nil, 403, "permission_denied"},
		{"bureau reads the summary", "GET", round + "/summary", "lizhou-officer", nil, 403, "permission_denied"},
		{"approving twice", "POST", lzPath + "/approve", "admin", nil, 409, "conflict"},
		{"approving a draft", "POST", wcPath + "/approve", "admin", nil, 409, "conflict"},
		{"amending an approved filing", "POST", lzPath + "/amend", "lizhou-officer", good, 409, "conflict"},
		{"saving over a submitted filing", "POST", round + "/filings", "zhaohua-officer", good, 409, "conflict"},
		{"submitting twice", "POST", zhPath + "/submit", "zhaohua-officer", nil, 409, "conflict"},
		{"approve over the cap", "POST", zhPath + "/approve", "admin", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeFood, "quantity": 501}}}, 400, "invalid_argument"},
		{"approve a type not filed", "POST", zhPath + "/approve", "admin", map[string]any{"lines": []map[string]any{{"type_code": demo.TypeConstruction, "quantity": 1}}}, 400, "invalid_argument"},
		{"return without a comment", "POST", zhPath + "/return", "admin", map[string]string{"comment": " "}, 400, "invalid_argument"},
		{"malformed json", "POST", round + "/filings", "wangcang-officer", `{"contact": "王芳",`, 400, "invalid_argument"},
		{"unknown field", "POST", round + "/filings", "wangcang-officer", `{"contact":"王芳","phone":"0839-3260001","lines":[],"suggested":5}`, 400, "invalid_argument"},
		{"wrong type", "POST", round + "/filings", "wangcang-officer", `{"contact":"王芳","phone":"0839-3260001","lines":[{"type_code":"x","quantity":"many"}]}`, 400, "invalid_argument"},
		{"malformed optional body", "POST", zhPath + "/approve", "admin", `{"comment":`, 400, "invalid_argument"},
		{"unknown field in a submit", "POST", wcPath + "/submit", "wangcang-officer", `{"force":true}`, 400, "invalid_argument"},
		{"second yearly round", "POST", demRoot + "/rounds", "admin", map[string]any{"kind": "yearly", "year": 2026, "deadline": demandDeadline, "types": []map[string]any{{"code": demo.TypeFood}}}, 409, "conflict"},
		{"electronic type in a round", "POST", demRoot + "/rounds", "admin", map[string]any{"kind": "yearly", "year": 2027, "deadline": demandDeadline, "types": []map[string]any{{"code": demo.TypeBusiness}}}, 400, "invalid_argument"},
		{"past deadline", "POST", demRoot + "/rounds", "admin", map[string]any{"kind": "yearly", "year": 2027, "deadline": time.Date(2026, 1, 1, 0, 0, 0, 0, certseal.China), "types": []map[string]any{{"code": demo.TypeFood}}}, 400, "invalid_argument"},
		{"reopen an accepting round", "POST", round + "/reopen", "admin", map[string]any{"reason": "延期", "deadline": demandDeadline.AddDate(0, 0, 5)}, 409, "conflict"},
		{"unknown round", "GET", demRoot + "/rounds/424242", "admin", nil, 404, "not_found"},
		{"round id not a number", "GET", demRoot + "/rounds/abc/summary", "admin", nil, 404, "not_found"},
		{"unknown filing", "POST", demRoot + "/filings/424242/submit", "lizhou-officer", nil, 404, "not_found"},
		{"bad export format", "GET", round + "/summary?format=doc", "admin", nil, 400, "invalid_argument"},
		{"bad reminder window", "GET", round + "/reminders?days=400", "admin", nil, 400, "invalid_argument"},
		{"bad round filter", "GET", demRoot + "/rounds?kind=monthly", "admin", nil, 400, "invalid_argument"},
		{"bad filing filter", "GET", round + "/filings?status=lost", "admin", nil, 400, "invalid_argument"},
	}
	check := func(t *testing.T, c refusal) {
		t.Helper()
		before := e.Snapshot()
		r := e.Do(c.method, c.path, c.user, c.body)
		if r.Status != c.status || r.ErrorCode() != c.code {
			t.Fatalf("got %d %s, want %d %s\n%.400s", r.Status, r.ErrorCode(), c.status, c.code, r.Body)
		}
		if msg, _ := r.JSON(t)["error"].(map[string]any)["message"].(string); !hasHan(msg) {
			t.Errorf("message %q has no Chinese", msg)
		}
		if !bytes.Equal(before, e.Snapshot()) {
			t.Error("a refused request changed the database")
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { check(t, c) })
	}

	// After the deadline the filers are refused; the center may still approve.
	e.Clock.Set(demandDeadline.Add(time.Minute))
	for _, c := range []refusal{
		{"save after the deadline", "POST", round + "/filings", "wangcang-officer", good, 409, "conflict"},
		{"new filing after the deadline", "POST", round + "/filings", "jiange-officer", good, 409, "conflict"},
		{"submit after the deadline", "POST", wcPath + "/submit", "wangcang-officer", nil, 409, "conflict"},
		{"amend after the deadline", "POST", zhPath + "/amend", "zhaohua-officer", good, 409, "conflict"},
		{"withdraw after the deadline", "POST", zhPath + "/withdraw", "zhaohua-officer", map[string]string{"reason": "重报"}, 409, "conflict"},
	} {
		t.Run(c.name, func(t *testing.T) { check(t, c) })
	}
	e.Must(200, "POST", zhPath+"/approve", "admin", nil)
	var rm demand.Reminders
	e.Must(200, "GET", round+"/reminders?days=30", "admin", nil).Decode(t, &rm)
	if rm.Due || len(rm.Orgs) != 0 {
		t.Errorf("reminders after the deadline: %+v", rm)
	}
	// Reopening with a new deadline lets 旺苍 submit.
	e.Must(200, "POST", round+"/reopen", "admin", map[string]any{"reason": "旺苍县申请延期", "deadline": demandDeadline.AddDate(0, 0, 7)})
	e.Must(200, "POST", wcPath+"/submit", "wangcang-officer", nil)
	if f := demandFilingOf(t, e.Must(200, "GET", wcPath, "wangcang-officer", nil)); f.Status != demand.Submitted || f.Version != 2 {
		t.Errorf("旺苍 after the reopening: %s v%d", f.Status, f.Version)
	}
}

// TestDemandWithdrawAndTopUp withdraws a filing and files it again, and opens a top-up round
// under the yearly one.
func TestDemandWithdrawAndTopUp(t *testing.T) {
	e := testenv.Start(t)
	rd := openDemandRound(t, e)
	round := fmt.Sprintf("%s/rounds/%d", demRoot, rd.ID)
	lizhou := e.Orgs["广元市利州区行政审批局"]

	f := demandFilingOf(t, e.Must(201, "POST", round+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeConstruction, 30))))
	filing := fmt.Sprintf("%s/filings/%d", demRoot, f.ID)
	e.Must(200, "POST", filing+"/submit", "lizhou-officer", nil)
	f = demandFilingOf(t, e.Must(200, "POST", filing+"/withdraw", "lizhou-officer", map[string]string{"reason": "数量填错，撤回重报"}))
	if f.Status != demand.Withdrawn {
		t.Fatalf("withdrawn: %+v", f)
	}
	var missing demandList[demand.MissingOrg]
	e.Must(200, "GET", round+"/missing", "admin", nil).Decode(t, &missing)
	if m := demandMissingOf(missing.Items, lizhou); m == nil || m.Status != demand.Withdrawn || m.StatusLabel != demand.Withdrawn.Label() {
		t.Errorf("withdrawn filing in the missing list: %+v", m)
	}
	if r := e.Do("POST", filing+"/amend", "lizhou-officer", demandFiling(demandLines(demo.TypeConstruction, 20))); r.Status != 409 || r.ErrorCode() != "conflict" {
		t.Errorf("amend a withdrawn filing: %d %s", r.Status, r.ErrorCode())
	}
	f = demandFilingOf(t, e.Must(200, "POST", round+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeConstruction, 20))))
	if f.Status != demand.Draft || f.Version != 4 {
		t.Errorf("saved again after the withdrawal: %s v%d", f.Status, f.Version)
	}
	e.Must(200, "POST", filing+"/submit", "lizhou-officer", nil)

	// A top-up round of the same year, food only, capped at 100.
	r := e.Must(201, "POST", demRoot+"/rounds", "admin", map[string]any{"kind": "topup", "parent_id": rd.ID,
		"deadline": demandDeadline.AddDate(0, 1, 0), "types": []map[string]any{{"code": demo.TypeFood, "cap": 100}}})
	var top demand.Round
	r.Decode(t, &top)
	if top.Kind != demand.TopUp || top.Year != 2026 || top.ParentID != rd.ID || top.Title == "" {
		t.Fatalf("top-up round: %+v", top)
	}
	var tops demandList[demand.Round]
	e.Must(200, "GET", fmt.Sprintf("%s/rounds?parent_id=%d&kind=topup", demRoot, rd.ID), "lizhou-clerk", nil).Decode(t, &tops)
	if len(tops.Items) != 1 || tops.Items[0].ID != top.ID {
		t.Errorf("top-up rounds: %+v", tops.Items)
	}
	topRound := fmt.Sprintf("%s/rounds/%d", demRoot, top.ID)
	if r := e.Do("POST", topRound+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 101))); r.Status != 400 {
		t.Errorf("over the top-up cap: %d", r.Status)
	}
	e.Must(201, "POST", topRound+"/filings", "lizhou-officer", demandFiling(demandLines(demo.TypeFood, 100)))
	var all demandList[demand.Round]
	e.Must(200, "GET", demRoot+"/rounds", "auditor", nil).Decode(t, &all)
	if len(all.Items) != 2 || all.Items[0].ID != top.ID {
		t.Errorf("rounds, newest first: %+v", all.Items)
	}
}
