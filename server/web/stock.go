package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/inventory"
	"certseal/inventory/demand"
)

// The pages of the blank-form ledger: stock with low-stock warnings, receipts, voiding,
// stocktakes; and the county's demand filing.

type stockRow struct {
	HolderID, HolderName string
	TypeCode, TypeName   string
	InStock, Used        uint64
	Voided, Destroyed    uint64
	Lost                 uint64
	Threshold            uint64
	Low                  bool
	Ranges               []inventory.SerialRange
	More                 bool
}

type stockData struct {
	Rows   []*stockRow
	Alerts []inventory.LowStockAlert
	Types  []catalogue.LicenceType
	Own    bool // the rows are the user's own organisation's
}

func (m *Web) stockData(r *http.Request) (*stockData, error) {
	ctx := r.Context()
	actor := webActor(r)
	d := &stockData{Own: actor.Role != certseal.RoleAdmin && actor.Role != certseal.RoleAuditor}
	lines, err := m.Inventory.Stock(ctx, actor, inventory.StockQuery{RangeLimit: 3})
	if err != nil {
		return d, err
	}
	thr, err := m.Inventory.Thresholds(ctx, actor, "")
	if err != nil {
		return d, err
	}
	th := map[string]uint64{}
	for _, t := range thr {
		th[t.HolderID+"|"+t.TypeCode] = t.Threshold
	}
	rows := map[string]*stockRow{}
	for _, l := range lines {
		k := l.HolderID + "|" + l.TypeCode
		row := rows[k]
		if row == nil {
			row = &stockRow{HolderID: l.HolderID, HolderName: l.HolderName, TypeCode: l.TypeCode, TypeName: l.TypeName, Threshold: th[k]}
			rows[k] = row
			d.Rows = append(d.Rows, row)
		}
		switch l.State {
		case inventory.InStock:
			row.InStock, row.Ranges, row.More = l.Count, l.Ranges, l.MoreRanges
		case inventory.Used:
			row.Used = l.Count
		case inventory.Voided:
			row.Voided = l.Count
		case inventory.Destroyed:
			row.Destroyed = l.Count
		case inventory.Lost:
			row.Lost = l.Count
		}
	}
	for _, row := range d.Rows {
		row.Low = row.Threshold > 0 && row.InStock < row.Threshold
	}
	sort.SliceStable(d.Rows, func(i, j int) bool {
		if d.Rows[i].HolderName != d.Rows[j].HolderName {
			return d.Rows[i].HolderName < d.Rows[j].HolderName
		}
		return d.Rows[i].TypeCode < d.Rows[j].TypeCode
	})
	if d.Alerts, err = m.Inventory.LowStock(ctx, actor, ""); err != nil {
		return d, err
	}
	d.Types, err = m.paperTypes(ctx)
	return d, err
}

func (m *Web) stockPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.stockData(r)
	v := &webView{Title: "空白证照库存", Data: d}
	if err != nil {
		m.fail(w, r, "stock", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "stock", v)
}

// stockPost sets the organisation's low-stock alert level of a type.
func (m *Web) stockPost(w http.ResponseWriter, r *http.Request) {
	n, err := formInt(r, "threshold", "预警数量")
	if err == nil {
		_, err = m.Inventory.SetThreshold(r.Context(), webActor(r), r.FormValue("type"), uint64(n))
	}
	if err != nil {
		d, _ := m.stockData(r)
		m.fail(w, r, "stock", &webView{Title: "空白证照库存", Data: d}, err)
		return
	}
	m.done(w, r, "/stock", "库存预警数量已设置。")
}

type movementsData struct {
	Items []inventory.Movement
	Kind  string
	Kinds []inventory.Kind
	Next  uint64
}

func (m *Web) receiptsPage(w http.ResponseWriter, r *http.Request) {
	actor := webActor(r)
	d := &movementsData{Kind: r.URL.Query().Get("kind"), Kinds: inventory.Kinds}
	title := "出入库记录"
	if actor.Role == certseal.RoleBureauOfficer || actor.Role == certseal.RoleClerk {
		title = "市级部门下发的空白证照"
		if !r.URL.Query().Has("kind") {
			d.Kind = string(inventory.KindDistribution)
		}
	}
	v := &webView{Title: title, Data: d}
	before, _ := strconv.ParseUint(r.URL.Query().Get("before"), 10, 64)
	f := inventory.MovementFilter{Kind: inventory.Kind(d.Kind)}
	if actor.Role != certseal.RoleAdmin && actor.Role != certseal.RoleAuditor {
		f.HolderID = actor.OrgID
	}
	items, next, err := m.Inventory.Movements(r.Context(), actor, f, before, 100)
	if err != nil {
		m.fail(w, r, "receipts", v, err)
		return
	}
	d.Items, d.Next = items, next
	m.render(w, r, http.StatusOK, "receipts", v)
}

// parseRanges reads serial ranges written as "SC00000001-SC00000010, SC00000020" (one serial
// alone is a range of one), separated by commas, spaces or new lines.
func parseRanges(s string) []inventory.SerialRange {
	var out []inventory.SerialRange
	for _, part := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == '；' || r == '\n' || r == '\r' || r == ' ' || r == '\t'
	}) {
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			first, last, ok = strings.Cut(part, "—")
		}
		if !ok {
			first, last, ok = strings.Cut(part, "~")
		}
		if !ok {
			last = first
		}
		out = append(out, inventory.SerialRange{First: strings.TrimSpace(first), Last: strings.TrimSpace(last)})
	}
	return out
}

type voidData struct {
	Types  []catalogue.LicenceType
	Type   string
	First  string
	Last   string
	Reason string
	Recent []inventory.Movement
}

func (m *Web) voidData(r *http.Request) *voidData {
	d := &voidData{Type: r.FormValue("type"), First: strings.TrimSpace(r.FormValue("first")), Last: strings.TrimSpace(r.FormValue("last")), Reason: strings.TrimSpace(r.FormValue("reason"))}
	d.Types, _ = m.paperTypes(r.Context())
	actor := webActor(r)
	d.Recent, _, _ = m.Inventory.Movements(r.Context(), actor, inventory.MovementFilter{HolderID: actor.OrgID, Kind: inventory.KindVoid}, 0, 20)
	return d
}

func (m *Web) voidPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "void", &webView{Title: "空白证照作废", Data: m.voidData(r)})
}

func (m *Web) voidPost(w http.ResponseWriter, r *http.Request) {
	d := m.voidData(r)
	last := d.Last
	if last == "" {
		last = d.First
	}
	req := inventory.Void{TypeCode: d.Type, Ranges: []inventory.SerialRange{{First: d.First, Last: last}}, Reason: d.Reason}
	err := req.Validate()
	var mv inventory.Movement
	if err == nil {
		mv, err = m.Inventory.Void(r.Context(), webActor(r), req)
	}
	if err != nil {
		m.fail(w, r, "void", &webView{Title: "空白证照作废", Data: d}, err)
		return
	}
	m.done(w, r, "/void", "已作废 "+strconv.FormatUint(mv.Count, 10)+" 张空白证照（"+req.Ranges[0].String()+"），等待集中销毁。")
}

type stocktakeData struct {
	Rows       []*stockRow
	Stocktakes []inventory.Stocktake
	Admin      bool
	CanCount   bool
}

func (m *Web) stocktakeData(r *http.Request) (*stocktakeData, error) {
	actor := webActor(r)
	d := &stocktakeData{Admin: actor.Role == certseal.RoleAdmin, CanCount: actor.Role == certseal.RoleBureauOfficer || actor.Role == certseal.RoleDeptOfficer}
	if d.CanCount {
		sd, err := m.stockData(r)
		if err != nil {
			return d, err
		}
		d.Rows = sd.Rows
	}
	var err error
	d.Stocktakes, _, err = m.Inventory.Stocktakes(r.Context(), actor, inventory.StocktakeFilter{}, 0, 50)
	return d, err
}

func (m *Web) stocktakePage(w http.ResponseWriter, r *http.Request) {
	d, err := m.stocktakeData(r)
	v := &webView{Title: "空白证照盘点", Data: d}
	if err != nil {
		m.fail(w, r, "stocktake", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "stocktake", v)
}

func (m *Web) stocktakePost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	var err error
	msg := ""
	switch r.FormValue("action") {
	case "approve", "reject":
		id, _ := strconv.ParseUint(r.FormValue("id"), 10, 64)
		if r.FormValue("action") == "approve" {
			_, err = m.Inventory.ApproveStocktake(ctx, actor, id, strings.TrimSpace(r.FormValue("note")))
			msg = "盘点已审批，账面已按盘点结果调整。"
		} else {
			_, err = m.Inventory.RejectStocktake(ctx, actor, id, strings.TrimSpace(r.FormValue("note")))
			msg = "盘点已驳回，账面未调整。"
		}
	default:
		req := inventory.StocktakeRequest{Note: strings.TrimSpace(r.FormValue("note"))}
		for _, code := range r.Form["type"] {
			s := strings.TrimSpace(r.FormValue("counted." + code))
			if s == "" {
				continue
			}
			n, perr := strconv.ParseUint(s, 10, 64)
			if perr != nil {
				err = certseal.Errorf(certseal.EInvalid, "实盘数量应为不小于0的整数").WithDetail("field", "counted."+code)
				break
			}
			line := inventory.StocktakeLine{TypeCode: code, Counted: n}
			if miss := strings.TrimSpace(r.FormValue("missing." + code)); miss != "" {
				line.Missing = parseRanges(miss)
			}
			req.Lines = append(req.Lines, line)
		}
		if err == nil && len(req.Lines) == 0 {
			err = certseal.Errorf(certseal.EInvalid, "请至少填写一种证照的实盘数量")
		}
		if err == nil {
			err = req.Validate()
		}
		var st inventory.Stocktake
		if err == nil {
			st, err = m.Inventory.CreateStocktake(ctx, actor, req)
		}
		if err == nil {
			msg = "盘点单 " + strconv.FormatUint(st.ID, 10) + " 已提交，等待市政务服务中心审批。"
			for _, l := range st.Lines {
				if l.Difference != 0 {
					msg += l.TypeName + " 账实差异 " + strconv.FormatInt(l.Difference, 10) + " 张。"
				}
			}
		}
	}
	if err != nil {
		d, _ := m.stocktakeData(r)
		m.fail(w, r, "stocktake", &webView{Title: "空白证照盘点", Data: d}, err)
		return
	}
	m.done(w, r, "/stocktake", msg)
}

// --- demand filing ---

type demandData struct {
	Ready    bool // the demand service is wired
	Round    *demand.Round
	Filing   demand.Filing
	Versions []demand.FilingVersion
	Editable bool
	Caps     map[string]int64
}

// openRound returns the newest round the organisation takes part in (open ones first).
func (m *Web) openRound(r *http.Request) (*demand.Round, error) {
	actor := webActor(r)
	rounds, err := m.Demand.Rounds(r.Context(), actor, demand.RoundFilter{})
	if err != nil {
		return nil, err
	}
	var best *demand.Round
	for i := range rounds {
		rd := &rounds[i]
		if rd.Participant(actor.OrgID) == nil {
			continue
		}
		if best == nil || (rd.Accepting(m.Clock.Now()) && !best.Accepting(m.Clock.Now())) {
			best = rd
		}
	}
	return best, nil
}

func (m *Web) demandData(r *http.Request) (*demandData, error) {
	d := &demandData{Ready: m.Demand != nil, Caps: map[string]int64{}}
	if !d.Ready {
		return d, nil
	}
	rd, err := m.openRound(r)
	if err != nil || rd == nil {
		return d, err
	}
	d.Round = rd
	for _, t := range rd.Types {
		d.Caps[t.Code] = t.Cap
	}
	if d.Filing, err = m.Demand.Prefill(r.Context(), webActor(r), rd.ID); err != nil {
		return d, err
	}
	if d.Filing.ID != 0 {
		d.Versions, _ = m.Demand.FilingVersions(r.Context(), webActor(r), d.Filing.ID)
	}
	d.Editable = rd.Accepting(m.Clock.Now()) && d.Filing.Status != demand.Approved
	return d, nil
}

func (m *Web) demandPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.demandData(r)
	v := &webView{Title: "年度空白证照需求量报送", Data: d}
	if err != nil {
		m.fail(w, r, "demand", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "demand", v)
}

func (m *Web) demandPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	d, err := m.demandData(r)
	if err == nil && d.Round == nil {
		err = certseal.Errorf(certseal.EConflict, "目前没有本单位需要报送的征订")
	}
	var req demand.FilingRequest
	if err == nil {
		req = demand.FilingRequest{Contact: strings.TrimSpace(r.FormValue("contact")), Phone: strings.TrimSpace(r.FormValue("phone")), Note: strings.TrimSpace(r.FormValue("note"))}
		for _, code := range r.Form["type"] {
			var q int64
			if q, err = formInt(r, "qty."+code, "申报数量"); err != nil {
				break
			}
			req.Lines = append(req.Lines, demand.LineRequest{TypeCode: code, Quantity: q, Reason: strings.TrimSpace(r.FormValue("reason." + code))})
		}
	}
	if err == nil {
		err = req.Validate()
	}
	msg := ""
	if err == nil {
		action := r.FormValue("action")
		var f demand.Filing
		switch {
		case d.Filing.Status == demand.Submitted:
			f, err = m.Demand.AmendFiling(ctx, actor, d.Filing.ID, req)
			msg = "已修改报送单（第 " + strconv.Itoa(f.Version) + " 版），仍为已报送状态。"
		default:
			f, err = m.Demand.SaveFiling(ctx, actor, d.Round.ID, req)
			msg = "草稿已保存。"
			if err == nil && action == "submit" {
				f, err = m.Demand.SubmitFiling(ctx, actor, f.ID)
				msg = "需求量已报送市政务服务中心。"
			}
		}
	}
	if err != nil {
		if d != nil && d.Round != nil {
			// Show what was typed, not what was saved.
			for i := range d.Filing.Lines {
				l := &d.Filing.Lines[i]
				if q, qerr := strconv.ParseInt(strings.TrimSpace(r.FormValue("qty."+l.TypeCode)), 10, 64); qerr == nil {
					l.Quantity = q
				}
				l.Reason = r.FormValue("reason." + l.TypeCode)
			}
			d.Filing.Contact, d.Filing.Phone, d.Filing.Note = req.Contact, req.Phone, req.Note
		}
		m.fail(w, r, "demand", &webView{Title: "年度空白证照需求量报送", Data: d}, err)
		return
	}
	m.done(w, r, "/demand", msg)
}
