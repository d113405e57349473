package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory"
)

// MaxExportMovements is the largest number of movements one export writes; a larger export is
// refused with a message asking for a narrower period or more filters.
const MaxExportMovements = 100000

// InventoryAPI is the HTTP module of the blank-form ledger (空白证照台账) under
// /api/v1/inventory: receipts, transfers, voids, destructions, losses, stocktakes, and the stock,
// movement, trace, reconciliation and low-stock queries with their CSV and XLSX exports.
type InventoryAPI struct {
	Ledger    *inventory.Service
	Catalogue *catalogue.Service
	Orgs      *orgs.Service
	Clock     certseal.Clock
}

// NewInventoryAPI returns the ledger's HTTP module. The catalogue lists the licence types for a
// reconciliation of every type; the organisations name export files; clock dates them (the
// system clock if nil). It never fails.
func NewInventoryAPI(ledger *inventory.Service, cat *catalogue.Service, o *orgs.Service, clock certseal.Clock) *InventoryAPI {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &InventoryAPI{Ledger: ledger, Catalogue: cat, Orgs: o, Clock: clock}
}

// Routes returns the module's routes. The role table lets through every role the ledger may
// accept; the ledger refuses the rest with 403 too: stock changes by administrators and officers
// (the actor's organisation is always the sender or holder), voids also by window clerks,
// stocktake decisions by administrators only, reads by everyone signed in (own organisation;
// administrators and auditors see all).
func (m *InventoryAPI) Routes() []Route {
	movers := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer}
	voiders := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleClerk}
	const p = "/api/v1/inventory"
	return []Route{
		{Method: "POST", Path: p + "/receipts", Name: "inventory.receipts", Roles: movers, Handler: movement(m.Ledger.Receive)},
		{Method: "POST", Path: p + "/transfers", Name: "inventory.transfers", Roles: movers, Handler: movement(m.Ledger.Transfer)},
		{Method: "POST", Path: p + "/voids", Name: "inventory.voids", Roles: voiders, Handler: movement(m.Ledger.Void)},
		{Method: "POST", Path: p + "/destructions", Name: "inventory.destructions", Roles: movers, Handler: movement(m.Ledger.Destroy)},
		{Method: "POST", Path: p + "/losses", Name: "inventory.losses", Roles: movers, Handler: movement(m.Ledger.Lose)},

		{Method: "POST", Path: p + "/stocktakes", Name: "inventory.stocktakes.create", Roles: movers, Handler: m.createStocktake},
		{Method: "GET", Path: p + "/stocktakes", Name: "inventory.stocktakes.list", Roles: AllRoles, Handler: m.listStocktakes},
		{Method: "GET", Path: p + "/stocktakes/{id}", Name: "inventory.stocktakes.get", Roles: AllRoles, Handler: m.getStocktake},
		{Method: "POST", Path: p + "/stocktakes/{id}/approve", Name: "inventory.stocktakes.approve", Roles: AdminOnly, Handler: m.decideStocktake(true)},
		{Method: "POST", Path: p + "/stocktakes/{id}/reject", Name: "inventory.stocktakes.reject", Roles: AdminOnly, Handler: m.decideStocktake(false)},

		{Method: "GET", Path: p + "/stock", Name: "inventory.stock", Roles: AllRoles, Handler: m.stock},
		{Method: "GET", Path: p + "/stock/ranges", Name: "inventory.stock_ranges", Roles: AllRoles, Handler: m.stockRanges},
		{Method: "GET", Path: p + "/movements", Name: "inventory.movements", Roles: AllRoles, Handler: m.movements},
		{Method: "GET", Path: p + "/movements/{id}", Name: "inventory.movements.get", Roles: AllRoles, Handler: m.getMovement},
		{Method: "GET", Path: p + "/trace", Name: "inventory.trace", Roles: AllRoles, Handler: m.trace},
		{Method: "GET", Path: p + "/reconciliation", Name: "inventory.reconciliation", Roles: AllRoles, Handler: m.reconciliation},
		{Method: "GET", Path: p + "/thresholds", Name: "inventory.thresholds", Roles: AllRoles, Handler: m.thresholds},
		{Method: "PUT", Path: p + "/thresholds/{type_code}", Name: "inventory.thresholds.set", Roles: movers, Handler: m.setThreshold},
		{Method: "GET", Path: p + "/low-stock", Name: "inventory.low_stock", Roles: AllRoles, Handler: m.lowStock},
	}
}

// --- movements ---

// movement returns the handler of a ledger movement: decode the request, apply it as the
// caller, and answer 201 with the movement and its Location.
func movement[Req any](apply func(context.Context, certseal.Actor, Req) (inventory.Movement, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if err := Decode(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		mv, err := apply(r.Context(), Actor(r), req)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/v1/inventory/movements/"+strconv.FormatUint(mv.ID, 10))
		writeJSON(w, http.StatusCreated, mv)
	}
}

// --- stocktakes ---

func (m *InventoryAPI) createStocktake(w http.ResponseWriter, r *http.Request) {
	var req inventory.StocktakeRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	st, err := m.Ledger.CreateStocktake(r.Context(), Actor(r), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/inventory/stocktakes/"+strconv.FormatUint(st.ID, 10))
	writeJSON(w, http.StatusCreated, st)
}

func (m *InventoryAPI) listStocktakes(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	before, err := idCursor(pg.Cursor)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := inventory.StocktakeFilter{OrgID: q.Get("org_id"), Status: inventory.StocktakeStatus(q.Get("status"))}
	switch f.Status {
	case "", inventory.StocktakePending, inventory.StocktakeApproved, inventory.StocktakeRejected:
	default:
		writeError(w, r, badQuery("status", "应为 pending、approved 或 rejected"))
		return
	}
	items, next, err := m.Ledger.Stocktakes(r.Context(), Actor(r), f, before, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, idString(next)))
}

func (m *InventoryAPI) getStocktake(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "盘点单")
	if err != nil {
		writeError(w, r, err)
		return
	}
	st, err := m.Ledger.GetStocktake(r.Context(), Actor(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// decisionRequest is the optional body of an approval or rejection.
type decisionRequest struct {
	Note string `json:"note"`
}

func (m *InventoryAPI) decideStocktake(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := pathID(r, "id", "盘点单")
		if err != nil {
			writeError(w, r, err)
			return
		}
		var req decisionRequest
		if err := decodeOptional(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		var st inventory.Stocktake
		if approve {
			st, err = m.Ledger.ApproveStocktake(r.Context(), Actor(r), id, req.Note)
		} else {
			st, err = m.Ledger.RejectStocktake(r.Context(), Actor(r), id, req.Note)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, st)
	}
}

// --- stock ---

func (m *InventoryAPI) stock(w http.ResponseWriter, r *http.Request) {
	format, err := exportFormat(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	sq := inventory.StockQuery{HolderID: q.Get("holder_id"), TypeCode: q.Get("type_code"), State: inventory.State(q.Get("state"))}
	if v := q.Get("range_limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > inventory.MaxPageSize {
			writeError(w, r, badQuery("range_limit", "应为 1 至 "+strconv.Itoa(inventory.MaxPageSize)+" 的整数"))
			return
		}
		sq.RangeLimit = n
	}
	if format != "" {
		sq.RangeLimit = -1
	}
	lines, err := m.Ledger.Stock(r.Context(), Actor(r), sq)
	if err != nil {
		writeError(w, r, err)
		return
	}
	switch format {
	case "csv":
		m.export(w, r, "空白证照库存", "inventory-stock", m.scopeName(r, sq.HolderID), format, func(wr io.Writer) error { return inventory.WriteStockCSV(wr, lines) })
	case "xlsx":
		m.export(w, r, "空白证照库存", "inventory-stock", m.scopeName(r, sq.HolderID), format, func(wr io.Writer) error { return inventory.WriteStockXLSX(wr, lines) })
	default:
		writeJSON(w, http.StatusOK, list(lines, ""))
	}
}

func (m *InventoryAPI) stockRanges(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Get("type_code") == "" {
		writeError(w, r, badQuery("type_code", "请指定证照类型"))
		return
	}
	st := inventory.State(q.Get("state"))
	if st == "" {
		st = inventory.InStock
	}
	holder := q.Get("holder_id")
	if holder == "" {
		holder = Principal(r).Org.ID
	}
	rs, next, err := m.Ledger.StockRanges(r.Context(), Actor(r), holder, q.Get("type_code"), st, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(rs, next))
}

// --- movements and trace ---

func (m *InventoryAPI) movements(w http.ResponseWriter, r *http.Request) {
	format, err := exportFormat(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	before, err := idCursor(pg.Cursor)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := inventory.MovementFilter{HolderID: q.Get("holder_id"), TypeCode: q.Get("type_code"), Kind: inventory.Kind(q.Get("kind"))}
	if f.From, f.To, err = period(r); err != nil {
		writeError(w, r, err)
		return
	}
	if format == "" {
		items, next, err := m.Ledger.Movements(r.Context(), Actor(r), f, before, pg.Limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, list(items, idString(next)))
		return
	}
	var all []inventory.Movement
	for {
		items, next, err := m.Ledger.Movements(r.Context(), Actor(r), f, before, inventory.MaxPageSize)
		if err != nil {
			writeError(w, r, err)
			return
		}
		all = append(all, items...)
		if len(all) > MaxExportMovements {
			writeError(w, r, certseal.Errorf(certseal.EInvalid, "导出的库存变动超过%d条，请缩短日期范围或增加筛选条件", MaxExportMovements))
			return
		}
		if next == 0 {
			break
		}
		before = next
	}
	write := func(wr io.Writer) error { return inventory.WriteMovementsCSV(wr, all) }
	if format == "xlsx" {
		write = func(wr io.Writer) error { return inventory.WriteMovementsXLSX(wr, all) }
	}
	m.export(w, r, "空白证照出入库明细", "inventory-movements", m.scopeName(r, f.HolderID), format, write)
}

func (m *InventoryAPI) getMovement(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "库存变动记录")
	if err != nil {
		writeError(w, r, err)
		return
	}
	mv, err := m.Ledger.GetMovement(r.Context(), Actor(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mv)
}

func (m *InventoryAPI) trace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("type_code") == "" {
		writeError(w, r, badQuery("type_code", "请指定证照类型"))
		return
	}
	if q.Get("serial") == "" {
		writeError(w, r, badQuery("serial", "请指定印制编号"))
		return
	}
	res, err := m.Ledger.Trace(r.Context(), Actor(r), q.Get("type_code"), q.Get("serial"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// --- reconciliation ---

func (m *InventoryAPI) reconciliation(w http.ResponseWriter, r *http.Request) {
	format, err := exportFormat(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	from, to, err := period(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	org := q.Get("org_id")
	if org == "" {
		org = Principal(r).Org.ID
	}
	var rs []inventory.Reconciliation
	if tc := q.Get("type_code"); tc != "" {
		rec, err := m.Ledger.Reconcile(r.Context(), Actor(r), org, tc, from, to)
		if err != nil {
			writeError(w, r, err)
			return
		}
		rs = append(rs, rec)
	} else if rs, err = m.reconcileAll(r, org, from, to); err != nil {
		writeError(w, r, err)
		return
	}
	switch format {
	case "csv":
		m.export(w, r, "空白证照对账表", "inventory-reconciliation", m.scopeName(r, org), format, func(wr io.Writer) error { return inventory.WriteReconciliationCSV(wr, rs) })
	case "xlsx":
		m.export(w, r, "空白证照对账表", "inventory-reconciliation", m.scopeName(r, org), format, func(wr io.Writer) error { return inventory.WriteReconciliationXLSX(wr, rs) })
	default:
		writeJSON(w, http.StatusOK, list(rs, ""))
	}
}

// reconcileAll reconciles every licence type with paper forms that the organisation has held:
// the types with any figure in the period or stock now, and those it received at any time before.
func (m *InventoryAPI) reconcileAll(r *http.Request, org string, from, to time.Time) ([]inventory.Reconciliation, error) {
	var out []inventory.Reconciliation
	after := ""
	for {
		ts, next, err := m.Catalogue.ListTypes(r.Context(), catalogue.TypeFilter{}, after, MaxPageLimit)
		if err != nil {
			return nil, err
		}
		for i := range ts {
			if !ts[i].HasPaperForm() {
				continue
			}
			rec, err := m.Ledger.Reconcile(r.Context(), Actor(r), org, ts[i].Code, from, to)
			if err != nil {
				return nil, err
			}
			held := rec.Opening != 0 || rec.Received != 0 || rec.Sent != 0 || rec.Used != 0 || rec.Voided != 0 || rec.Lost != 0 ||
				rec.Destroyed != 0 || rec.CopiesLost != 0 || rec.BooksInStock != 0
			if !held && !from.IsZero() {
				all, err := m.Ledger.Reconcile(r.Context(), Actor(r), org, ts[i].Code, time.Time{}, from)
				if err != nil {
					return nil, err
				}
				held = all.Received != 0
			}
			if held {
				out = append(out, rec)
			}
		}
		if next == "" {
			return out, nil
		}
		after = next
	}
}

// --- thresholds ---

func (m *InventoryAPI) thresholds(w http.ResponseWriter, r *http.Request) {
	ts, err := m.Ledger.Thresholds(r.Context(), Actor(r), r.URL.Query().Get("holder_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ts, ""))
}

// thresholdRequest is the body of PUT /thresholds/{type_code}.
type thresholdRequest struct {
	Threshold *uint64 `json:"threshold"`
}

func (m *InventoryAPI) setThreshold(w http.ResponseWriter, r *http.Request) {
	var req thresholdRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Threshold == nil {
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "请填写预警数量 threshold（0 表示取消预警）").WithDetail("field", "threshold"))
		return
	}
	th, err := m.Ledger.SetThreshold(r.Context(), Actor(r), Var(r, "type_code"), *req.Threshold)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, th)
}

func (m *InventoryAPI) lowStock(w http.ResponseWriter, r *http.Request) {
	as, err := m.Ledger.LowStock(r.Context(), Actor(r), r.URL.Query().Get("holder_id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(as, ""))
}

// --- helpers ---

// exportFormat reads the format query parameter: "" (or "json") for JSON, "csv" or "xlsx".
func exportFormat(r *http.Request) (string, error) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		return "", nil
	case "csv", "xlsx":
		return f, nil
	}
	return "", badQuery("format", "应为 json、csv 或 xlsx")
}

// period reads the from and to dates (2006-01-02, China time) of a query; to is inclusive, so
// the returned end is the start of the next day. Zero times mean no bound.
func period(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, certseal.China)
			if err != nil {
				return from, to, badQuery(p.name, "应为日期，如 2026-03-02")
			}
			*p.dst = t
		}
	}
	if !to.IsZero() {
		to = to.AddDate(0, 0, 1)
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, badQuery("from", "开始日期不能晚于结束日期")
	}
	return from, to, nil
}

// idCursor parses a cursor that is a record id ("" for the first page).
func idCursor(c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(c, 10, 64)
	if err != nil || n == 0 {
		return 0, badQuery("cursor", "无效")
	}
	return n, nil
}

func idString(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

// pathID parses a numeric record id from the path; a malformed one is a record that does not
// exist.
func pathID(r *http.Request, name, what string) (uint64, error) {
	v := Var(r, name)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, certseal.Errorf(certseal.ENotFound, "%s %q 不存在", what, v)
	}
	return n, nil
}

// decodeOptional decodes a JSON body like Decode, but accepts an empty body.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	return Decode(w, r, v)
}

// scopeName names the organisation an export covers: the one asked for, the caller's own when
// the caller only sees its own books, or "全部机构".
func (m *InventoryAPI) scopeName(r *http.Request, orgID string) string {
	p := Principal(r)
	if orgID == "" && !seesAll(p) {
		orgID = p.Org.ID
	}
	switch {
	case orgID == "":
		return "全部机构"
	case orgID == p.Org.ID:
		return p.Org.Name
	}
	if m.Orgs != nil {
		if o, err := m.Orgs.GetOrg(r.Context(), orgID); err == nil {
			return o.Name
		}
	}
	return orgID
}

var exportTypes = map[string]string{
	"csv":  "text/csv; charset=utf-8",
	"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// export writes a file download: the body is built in memory first, so that an error is still
// answered as JSON. The file is named "<title>-<scope>-<date>.<format>" in Chinese (filename*),
// with "<ascii>-<date>.<format>" for clients that only read filename (curl -J, for one).
func (m *InventoryAPI) export(w http.ResponseWriter, r *http.Request, title, ascii, scope, format string, write func(io.Writer) error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		writeError(w, r, err)
		return
	}
	day := m.Clock.Now().In(certseal.China).Format("20060102")
	name := title + "-" + scope + "-" + day + "." + format
	w.Header().Set("Content-Type", exportTypes[format])
	w.Header().Set("Content-Disposition", `attachment; filename="`+ascii+`-`+day+`.`+format+`"; filename*=UTF-8''`+rfc5987(name))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}
