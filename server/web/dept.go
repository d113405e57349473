package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/server"
)

// The city department's pages: receiving blanks by channel, distributing to the counties
// against the plan, the demand summary with its charts, and exports.

type receiveData struct {
	Types []catalogue.LicenceType
	R     inventory.Receipt
	Yuan  string
	Rec   []inventory.Movement
}

func (m *Web) receiveData(r *http.Request) *receiveData {
	actor := webActor(r)
	d := &receiveData{}
	all, _ := m.paperTypes(r.Context())
	for _, t := range all {
		if t.ResponsibleOrgID == actor.OrgID {
			d.Types = append(d.Types, t)
		}
	}
	if len(d.Types) == 0 {
		d.Types = all
	}
	d.Rec, _, _ = m.Inventory.Movements(r.Context(), actor, inventory.MovementFilter{HolderID: actor.OrgID, Kind: inventory.KindReceipt}, 0, 20)
	return d
}

func (m *Web) receivePage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "receive", &webView{Title: "空白证照入库", Data: m.receiveData(r)})
}

func (m *Web) receivePost(w http.ResponseWriter, r *http.Request) {
	d := m.receiveData(r)
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	d.R = inventory.Receipt{TypeCode: f("type"), First: f("first"), Last: f("last"), Supplier: f("supplier"), Contract: f("contract"),
		Batch: f("batch"), ProvincialDept: f("provincial_dept"), Document: f("document"), Note: f("note")}
	d.Yuan = f("unit_cost")
	var err error
	var typ *catalogue.LicenceType
	for i, t := range d.Types {
		if t.Code == d.R.TypeCode {
			d.R.Channel = t.Channel // the channel is the type's own
			typ = &d.Types[i]
		}
	}
	if errs := receiveFormErrs(d.R, typ, d.Yuan); len(errs) > 0 {
		m.failForm(w, r, "receive", &webView{Title: "空白证照入库", Data: d}, errs)
		return
	}
	if d.Yuan != "" {
		y, perr := strconv.ParseFloat(d.Yuan, 64)
		if perr != nil || y < 0 || y > 100000 {
			err = certseal.Errorf(certseal.EInvalid, "单价应为金额（元），如 1.20").WithDetail("field", "unit_cost")
		}
		d.R.UnitCostFen = int64(y*100 + 0.5)
	}
	if err == nil {
		err = d.R.Validate()
	}
	var mv inventory.Movement
	if err == nil {
		mv, err = m.Inventory.Receive(r.Context(), webActor(r), d.R)
	}
	if err != nil {
		m.fail(w, r, "receive", &webView{Title: "空白证照入库", Data: d}, err)
		return
	}
	m.done(w, r, "/dept/receive", fmt.Sprintf("已入库 %d 张（%s–%s）。", mv.Count, d.R.First, d.R.Last))
}

type planSend struct {
	OrgID, OrgName, TypeCode, TypeName string
	Planned, Distributed, Outstanding  int64
}

type distributeData struct {
	Types    []catalogue.LicenceType
	Orgs     []certseal.Org
	Plan     []planSend
	Round    *demand.Round
	NoPlan   string
	T        inventory.Transfer
	Ranges   string
	Recent   []inventory.Movement
	Next     map[string]string // type code -> the department's next serial in stock
	PickOrg  string
	PickType string
}

func (m *Web) distributeData(r *http.Request) *distributeData {
	ctx := r.Context()
	actor := webActor(r)
	d := &distributeData{Next: map[string]string{}, PickOrg: r.FormValue("to"), PickType: r.FormValue("type")}
	all, _ := m.paperTypes(ctx)
	for _, t := range all {
		if t.ResponsibleOrgID == actor.OrgID {
			d.Types = append(d.Types, t)
		}
	}
	d.Orgs, _ = m.countyOrgs(ctx)
	if lines, err := m.Inventory.Stock(ctx, actor, inventory.StockQuery{State: inventory.InStock, RangeLimit: 1}); err == nil {
		for _, l := range lines {
			if len(l.Ranges) > 0 {
				d.Next[l.TypeCode] = l.Ranges[0].First
			}
		}
	}
	d.Recent, _, _ = m.Inventory.Movements(ctx, actor, inventory.MovementFilter{HolderID: actor.OrgID, Kind: inventory.KindDistribution}, 0, 20)
	if m.Demand == nil {
		d.NoPlan = "需求征订服务尚未启用。"
		return d
	}
	rounds, err := m.Demand.Rounds(ctx, actor, demand.RoundFilter{Kind: demand.Yearly})
	if err != nil || len(rounds) == 0 {
		d.NoPlan = "还没有年度需求征订。"
		return d
	}
	d.Round = &rounds[0]
	ful, err := m.Demand.Fulfilment(ctx, actor, d.Round.ID)
	if err != nil {
		d.NoPlan = certseal.ErrorMessage(err)
		return d
	}
	if ful.PlanVersion == 0 {
		d.NoPlan = "“" + d.Round.Title + "”尚未生成下发计划。"
	}
	for _, row := range ful.Rows {
		if row.ResponsibleOrgID != actor.OrgID || row.Planned == 0 && row.Approved == 0 {
			continue
		}
		d.Plan = append(d.Plan, planSend{OrgID: row.OrgID, OrgName: row.OrgName, TypeCode: row.TypeCode, TypeName: row.TypeName,
			Planned: row.Planned, Distributed: row.Distributed, Outstanding: max(row.Planned-row.Distributed, 0)})
	}
	return d
}

func (m *Web) distributePage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "distribute", &webView{Title: "下发空白证照到县区", Data: m.distributeData(r)})
}

func (m *Web) distributePost(w http.ResponseWriter, r *http.Request) {
	d := m.distributeData(r)
	d.Ranges = strings.TrimSpace(r.FormValue("ranges"))
	d.T = inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: r.FormValue("type"), ToOrgID: r.FormValue("to"),
		Ranges: parseRanges(d.Ranges), Document: strings.TrimSpace(r.FormValue("document")), Note: strings.TrimSpace(r.FormValue("note"))}
	err := d.T.Validate()
	var mv inventory.Movement
	if err == nil {
		mv, err = m.Inventory.Transfer(r.Context(), webActor(r), d.T)
	}
	if err != nil {
		m.fail(w, r, "distribute", &webView{Title: "下发空白证照到县区", Data: d}, err)
		return
	}
	m.done(w, r, "/dept/distribute", fmt.Sprintf("已下发 %d 张%s到%s。", mv.Count, mv.TypeName, mv.ToOrgName))
}

// --- demand summary with charts ---

type summaryData struct {
	Ready   bool
	Rounds  []demand.Round
	Round   *demand.Round
	S       *demand.Summary
	ByOrg   template.HTML
	ByType  template.HTML
	Exports []exportLink
}

type exportLink struct{ Href, Label, File string }

func (m *Web) summaryPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	d := &summaryData{Ready: m.Demand != nil}
	v := &webView{Title: "空白证照需求汇总", Data: d}
	if !d.Ready {
		m.render(w, r, http.StatusOK, "summary", v)
		return
	}
	var err error
	if d.Rounds, err = m.Demand.Rounds(ctx, actor, demand.RoundFilter{}); err != nil {
		m.fail(w, r, "summary", v, err)
		return
	}
	id, _ := strconv.ParseUint(r.URL.Query().Get("round"), 10, 64)
	for i := range d.Rounds {
		if d.Rounds[i].ID == id || id == 0 && d.Round == nil {
			d.Round = &d.Rounds[i]
		}
	}
	if d.Round == nil {
		m.render(w, r, http.StatusOK, "summary", v)
		return
	}
	s, err := m.Demand.Summary(ctx, actor, d.Round.ID)
	if err != nil {
		m.fail(w, r, "summary", v, err)
		return
	}
	d.S = &s
	d.ByOrg, d.ByType = summaryCharts(&s)
	for _, f := range []struct{ f, l string }{{demand.FormatXLSX, "Excel 表格（XLSX）"}, {demand.FormatCSV, "CSV"}, {demand.FormatPDF, "PDF 汇总表（可打印上报）"}} {
		d.Exports = append(d.Exports, exportLink{Href: "/exports/demand." + f.f + "?round=" + strconv.FormatUint(d.Round.ID, 10), Label: f.l, File: demand.FileName(s, f.f)})
	}
	m.render(w, r, http.StatusOK, "summary", v)
}

// summaryCharts draws the two charts of the summary: requested this year against used last year,
// per filing organisation and per licence type.
func summaryCharts(s *demand.Summary) (template.HTML, template.HTML) {
	type acc struct{ last, now int64 }
	byOrg := map[string]*acc{}
	var types []barGroup
	for _, t := range s.Types {
		types = append(types, barGroup{Label: t.Name, A: t.LastYearUse, B: t.Requested})
		for _, row := range t.Rows {
			a := byOrg[row.OrgName]
			if a == nil {
				a = &acc{}
				byOrg[row.OrgName] = a
			}
			a.last += row.LastYearUse
			if row.Status == demand.Submitted || row.Status == demand.Approved {
				a.now += row.Requested
			}
		}
	}
	var orgsG []barGroup
	for _, o := range s.Orgs { // every participant, also those that have not filed
		a := byOrg[o.Label]
		if a == nil {
			a = &acc{}
		}
		orgsG = append(orgsG, barGroup{Label: strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(o.Label, "行政审批局"), "广元市"), "广元"), A: a.last, B: o.Requested})
	}
	return barChart(orgsG, "按县区：上年用量与本年申报", fmt.Sprintf("%d年用量", s.Year-1), fmt.Sprintf("%d年申报", s.Year)),
		barChart(types, "按证照类型：上年用量与本年申报", fmt.Sprintf("%d年用量", s.Year-1), fmt.Sprintf("%d年申报", s.Year))
}

type barGroup struct {
	Label string
	A, B  int64
}

// barChart draws a grouped bar chart as SVG: two bars per group (A grey, B red), with the values
// written above the bars and a y axis with round ticks. Text is escaped.
func barChart(groups []barGroup, title, labelA, labelB string) template.HTML {
	const width, height, left, right, top, bottom = 900.0, 340.0, 60.0, 20.0, 40.0, 70.0
	var maxV int64 = 1
	for _, g := range groups {
		maxV = max(maxV, g.A, g.B)
	}
	step := niceStep(maxV)
	top5 := ((maxV + step - 1) / step) * step
	plotW, plotH := width-left-right, height-top-bottom
	var b bytes.Buffer
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-label="%s" font-family="Microsoft YaHei, Noto Sans CJK SC, sans-serif">`, width, height, width, height, esc(title))
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="16" font-weight="bold" fill="#222">%s</text>`, left, esc(title))
	fmt.Fprintf(&b, `<rect x="%.0f" y="10" width="12" height="12" fill="#b0bec5"/><text x="%.0f" y="21" font-size="13" fill="#333">%s</text>`, width-260, width-244, esc(labelA))
	fmt.Fprintf(&b, `<rect x="%.0f" y="10" width="12" height="12" fill="#a5171c"/><text x="%.0f" y="21" font-size="13" fill="#333">%s</text>`, width-130, width-114, esc(labelB))
	for v := int64(0); v <= top5; v += step {
		y := top + plotH - float64(v)/float64(top5)*plotH
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e3e6ea"/><text x="%.0f" y="%.1f" font-size="11" text-anchor="end" fill="#666">%d</text>`, left, y, width-right, y, left-6, y+4, v)
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#888"/>`, left, top+plotH, width-right, top+plotH)
	if len(groups) == 0 {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="14" fill="#777" text-anchor="middle">暂无数据</text>`, left+plotW/2, top+plotH/2)
	}
	n := float64(max(len(groups), 1))
	gw := plotW / n
	bw := min(gw*0.32, 46)
	for i, g := range groups {
		x0 := left + gw*float64(i) + gw/2
		for j, v := range []int64{g.A, g.B} {
			h := float64(v) / float64(top5) * plotH
			x := x0 - bw + float64(j)*bw
			fill := "#b0bec5"
			if j == 1 {
				fill = "#a5171c"
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s：%d</title></rect>`, x, top+plotH-h, bw-2, h, fill, esc(g.Label), esc([]string{labelA, labelB}[j]), v)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#333">%d</text>`, x+bw/2-1, top+plotH-h-4, v)
		}
		label := []rune(g.Label)
		if maxRunes := int(gw / 13); len(label) > maxRunes && maxRunes > 1 { // 12px text: keep labels apart
			label = append(label[:maxRunes-1], '…')
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="12" text-anchor="middle" fill="#333">%s</text>`, x0, top+plotH+18, esc(string(label)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceStep returns a round tick step (1, 2 or 5 times a power of ten) giving about five ticks.
func niceStep(maxV int64) int64 {
	raw := float64(maxV) / 5
	p := int64(1)
	for float64(p)*10 <= raw {
		p *= 10
	}
	for _, f := range []int64{1, 2, 5, 10} {
		if float64(f*p) >= raw {
			return f * p
		}
	}
	return 10 * p
}

// --- exports ---

type exportsData struct {
	Links []exportLink
}

func (m *Web) exportsPage(w http.ResponseWriter, r *http.Request) {
	d := &exportsData{}
	day := m.Clock.Now().In(certseal.China).Format("20060102")
	for _, e := range []struct{ f, l string }{
		{"stock.xlsx", "库存（XLSX，含号段明细）"}, {"stock.csv", "库存号段（CSV）"},
		{"movements.xlsx", "出入库记录（XLSX）"}, {"movements.csv", "出入库记录（CSV）"},
	} {
		d.Links = append(d.Links, exportLink{Href: "/exports/" + e.f, Label: e.l, File: strings.Replace(e.f, ".", "-"+day+".", 1)})
	}
	if m.Demand != nil {
		if rounds, err := m.Demand.Rounds(r.Context(), webActor(r), demand.RoundFilter{}); err == nil {
			for _, rd := range rounds {
				for _, f := range []string{demand.FormatXLSX, demand.FormatPDF} {
					d.Links = append(d.Links, exportLink{Href: "/exports/demand." + f + "?round=" + strconv.FormatUint(rd.ID, 10),
						Label: rd.Title + "汇总（" + strings.ToUpper(f) + "）", File: fmt.Sprintf("需求汇总-%d-%d.%s", rd.Year, rd.ID, f)})
				}
			}
		}
	}
	m.render(w, r, http.StatusOK, "exports", &webView{Title: "导出", Data: d})
}

// export writes one export file; the whole file is built before the first byte is sent so that
// its length is known (the progress bar) and an error is still a page.
func (m *Web) export(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	name := server.Var(r, "file")
	var buf bytes.Buffer
	var err error
	ct := ""
	switch name {
	case "stock.csv", "stock.xlsx":
		var lines []inventory.StockLine
		if lines, err = m.Inventory.Stock(ctx, actor, inventory.StockQuery{RangeLimit: -1}); err == nil {
			if strings.HasSuffix(name, ".csv") {
				err = inventory.WriteStockCSV(&buf, lines)
			} else {
				err = inventory.WriteStockXLSX(&buf, lines)
			}
		}
	case "movements.csv", "movements.xlsx":
		var all []inventory.Movement
		f := inventory.MovementFilter{}
		if actor.Role != certseal.RoleAdmin && actor.Role != certseal.RoleAuditor {
			f.HolderID = actor.OrgID
		}
		var before uint64
		for len(all) < 200000 {
			var page []inventory.Movement
			if page, before, err = m.Inventory.Movements(ctx, actor, f, before, inventory.MaxPageSize); err != nil {
				break
			}
			all = append(all, page...)
			if before == 0 {
				break
			}
		}
		if err == nil {
			if strings.HasSuffix(name, ".csv") {
				err = inventory.WriteMovementsCSV(&buf, all)
			} else {
				err = inventory.WriteMovementsXLSX(&buf, all)
			}
		}
	case "demand.csv", "demand.xlsx", "demand.pdf":
		if m.Demand == nil {
			err = certseal.Errorf(certseal.EUnavailable, "需求征订服务尚未启用")
			break
		}
		format := strings.TrimPrefix(name, "demand.")
		id, _ := strconv.ParseUint(r.URL.Query().Get("round"), 10, 64)
		var s demand.Summary
		if s, err = m.Demand.Summary(ctx, actor, id); err == nil {
			err = demand.WriteSummary(&buf, format, s, m.CityName)
			name = demand.FileName(s, format)
			ct = demand.ContentType(format)
		}
	default:
		err = certseal.Errorf(certseal.ENotFound, "没有这个导出：%s", name)
	}
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	if ct == "" {
		ct = "text/csv; charset=utf-8"
		if strings.HasSuffix(name, ".xlsx") {
			ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		}
		name = strings.Replace(name, ".", "-"+m.Clock.Now().In(certseal.China).Format("20060102")+".", 1)
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", "attachment; filename*=UTF-8''"+url.PathEscape(name))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Last-Modified", m.Clock.Now().UTC().Format(time.RFC1123))
	w.Write(buf.Bytes())
}
