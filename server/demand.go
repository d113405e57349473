package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"certseal"
	"certseal/internal/orgs"
	"certseal/inventory/demand"
)

// DemandAPI is the HTTP module of the annual blank-form demand rounds (issue #4), under
// /api/v1/demand: rounds, filings and their versions, the summary and its exports, the plan,
// fulfilment, the missing list and reminders. Each handler decodes its input, calls one
// demand.Service method and encodes the result; the service decides who may do what.
type DemandAPI struct {
	Demand *demand.Service
	Orgs   *orgs.Service // names the city center on the PDF summary
}

// NewDemandAPI returns the demand module over svc, with o to name the city center. It never
// fails.
func NewDemandAPI(svc *demand.Service, o *orgs.Service) *DemandAPI {
	return &DemandAPI{Demand: svc, Orgs: o}
}

// demandBase is the prefix of every demand route.
const demandBase = "/api/v1/demand"

// Routes returns the module's routes. Every role may list and read rounds and read filings (a
// bureau or a clerk sees only its own organisation's); county officers (bureau_officer, also
// for county departments) fill in, submit, amend and withdraw their organisation's filing; the
// city center administrator runs rounds, returns and approves filings and makes plans; the
// administrator, auditors and city department officers read the aggregates.
func (m *DemandAPI) Routes() []Route {
	filer := []certseal.Role{certseal.RoleBureauOfficer}
	readers := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleAuditor}
	b := demandBase
	return []Route{
		{Method: "GET", Path: b + "/rounds", Name: "demand.rounds.list", Roles: AllRoles, Handler: m.listRounds},
		{Method: "POST", Path: b + "/rounds", Name: "demand.rounds.open", Roles: AdminOnly, Handler: m.openRound},
		{Method: "GET", Path: b + "/rounds/{id}", Name: "demand.rounds.get", Roles: AllRoles, Handler: m.getRound},
		{Method: "POST", Path: b + "/rounds/{id}/close", Name: "demand.rounds.close", Roles: AdminOnly, Handler: m.closeRound},
		{Method: "POST", Path: b + "/rounds/{id}/reopen", Name: "demand.rounds.reopen", Roles: AdminOnly, Handler: m.reopenRound},
		{Method: "GET", Path: b + "/rounds/{id}/prefill", Name: "demand.rounds.prefill", Roles: filer, Handler: m.prefill},
		{Method: "GET", Path: b + "/rounds/{id}/filings", Name: "demand.filings.list", Roles: AllRoles, Handler: m.listFilings},
		{Method: "POST", Path: b + "/rounds/{id}/filings", Name: "demand.filings.save", Roles: filer, Handler: m.saveFiling},
		{Method: "GET", Path: b + "/rounds/{id}/summary", Name: "demand.summary", Roles: readers, Handler: m.summary},
		{Method: "POST", Path: b + "/rounds/{id}/plan", Name: "demand.plan.make", Roles: AdminOnly, Handler: m.makePlan},
		{Method: "GET", Path: b + "/rounds/{id}/plan", Name: "demand.plan.get", Roles: readers, Handler: m.getPlan},
		{Method: "GET", Path: b + "/rounds/{id}/fulfilment", Name: "demand.fulfilment", Roles: readers, Handler: m.fulfilment},
		{Method: "GET", Path: b + "/rounds/{id}/missing", Name: "demand.missing", Roles: readers, Handler: m.missing},
		{Method: "GET", Path: b + "/rounds/{id}/reminders", Name: "demand.reminders", Roles: readers, Handler: m.reminders},

		{Method: "GET", Path: b + "/filings/{id}", Name: "demand.filings.get", Roles: AllRoles, Handler: m.getFiling},
		{Method: "GET", Path: b + "/filings/{id}/versions", Name: "demand.filings.versions", Roles: AllRoles, Handler: m.filingVersions},
		{Method: "POST", Path: b + "/filings/{id}/submit", Name: "demand.filings.submit", Roles: filer, Handler: demandFilingChange(false, m.submit)},
		{Method: "POST", Path: b + "/filings/{id}/amend", Name: "demand.filings.amend", Roles: filer, Handler: demandFilingChange(true, m.amend)},
		{Method: "POST", Path: b + "/filings/{id}/withdraw", Name: "demand.filings.withdraw", Roles: filer, Handler: demandFilingChange(false, m.withdraw)},
		{Method: "POST", Path: b + "/filings/{id}/return", Name: "demand.filings.return", Roles: AdminOnly, Handler: demandFilingChange(true, m.giveBack)},
		{Method: "POST", Path: b + "/filings/{id}/approve", Name: "demand.filings.approve", Roles: AdminOnly, Handler: demandFilingChange(false, m.approve)},
	}
}

// demandID reads the numeric path variable id; what names no round or filing is not_found.
func demandID(r *http.Request, what string) (uint64, error) {
	s := Var(r, "id")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, certseal.Errorf(certseal.ENotFound, "%s %q 不存在", what, s)
	}
	return id, nil
}

func demandRoundID(r *http.Request) (uint64, error)  { return demandID(r, "征订批次") }
func demandFilingID(r *http.Request) (uint64, error) { return demandID(r, "报送单") }

// demandOptional decodes an optional JSON body into v: no body (or only white space) leaves v
// as it is; anything else is decoded strictly by Decode.
func demandOptional(w http.ResponseWriter, r *http.Request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return certseal.Errorf(certseal.ETooLarge, "请求体超过 %d 字节上限", tooBig.Limit)
		}
		return certseal.Errorf(certseal.EInvalid, "无法读取请求体")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return Decode(w, r, v)
}

// demandQueryInt reads an optional integer query parameter in [lo, hi]; def when absent.
func demandQueryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badQuery(name, fmt.Sprintf("应为 %d 至 %d 的整数", lo, hi))
	}
	return n, nil
}

// --- rounds ---

func (m *DemandAPI) listRounds(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f demand.RoundFilter
	var err error
	if f.Year, err = demandQueryInt(r, "year", 0, 2000, 2100); err != nil {
		writeError(w, r, err)
		return
	}
	switch f.Kind = demand.RoundKind(q.Get("kind")); f.Kind {
	case "", demand.Yearly, demand.TopUp:
	default:
		writeError(w, r, badQuery("kind", "应为 yearly（年度征订）或 topup（补充征订）"))
		return
	}
	switch f.Status = demand.RoundStatus(q.Get("status")); f.Status {
	case "", demand.RoundOpen, demand.RoundClosed:
	default:
		writeError(w, r, badQuery("status", "应为 open（征订中）或 closed（已截止）"))
		return
	}
	if s := q.Get("parent_id"); s != "" {
		if f.ParentID, err = strconv.ParseUint(s, 10, 64); err != nil || f.ParentID == 0 {
			writeError(w, r, badQuery("parent_id", "应为年度征订批次的编号"))
			return
		}
	}
	rs, err := m.Demand.Rounds(r.Context(), Actor(r), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(rs, ""))
}

func (m *DemandAPI) openRound(w http.ResponseWriter, r *http.Request) {
	var req demand.RoundRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	rd, err := m.Demand.OpenRound(r.Context(), Actor(r), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", demandBase+"/rounds/"+strconv.FormatUint(rd.ID, 10))
	writeJSON(w, http.StatusCreated, rd)
}

func (m *DemandAPI) getRound(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err == nil {
		var rd demand.Round
		if rd, err = m.Demand.GetRound(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, rd)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) closeRound(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var req demand.CloseRequest
	if err == nil {
		err = demandOptional(w, r, &req)
	}
	if err == nil {
		var rd demand.Round
		if rd, err = m.Demand.CloseRound(r.Context(), Actor(r), id, req); err == nil {
			writeJSON(w, http.StatusOK, rd)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) reopenRound(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var req demand.ReopenRequest
	if err == nil {
		err = Decode(w, r, &req)
	}
	if err == nil {
		var rd demand.Round
		if rd, err = m.Demand.ReopenRound(r.Context(), Actor(r), id, req); err == nil {
			writeJSON(w, http.StatusOK, rd)
			return
		}
	}
	writeError(w, r, err)
}

// --- filings ---

func (m *DemandAPI) prefill(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err == nil {
		var f demand.Filing
		if f, err = m.Demand.Prefill(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) listFilings(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := demand.FilingFilter{OrgID: q.Get("org_id"), Status: demand.FilingStatus(q.Get("status"))}
	switch f.Status {
	case "", demand.Draft, demand.Submitted, demand.Withdrawn, demand.Approved:
	default:
		writeError(w, r, badQuery("status", "应为 draft、submitted、withdrawn 或 approved"))
		return
	}
	if len(f.OrgID) > 100 {
		writeError(w, r, badQuery("org_id", "过长"))
		return
	}
	fs, err := m.Demand.Filings(r.Context(), Actor(r), id, f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(fs, ""))
}

// saveFiling creates the caller's organisation's filing (201, with its Location) or saves a
// new version of its draft (200).
func (m *DemandAPI) saveFiling(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var req demand.FilingRequest
	if err == nil {
		err = Decode(w, r, &req)
	}
	var f demand.Filing
	if err == nil {
		f, err = m.Demand.SaveFiling(r.Context(), Actor(r), id, req)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	status := http.StatusOK
	if f.Version == 1 {
		status = http.StatusCreated
	}
	w.Header().Set("Location", demandBase+"/filings/"+strconv.FormatUint(f.ID, 10))
	writeJSON(w, status, f)
}

func (m *DemandAPI) getFiling(w http.ResponseWriter, r *http.Request) {
	id, err := demandFilingID(r)
	if err == nil {
		var f demand.Filing
		if f, err = m.Demand.GetFiling(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) filingVersions(w http.ResponseWriter, r *http.Request) {
	id, err := demandFilingID(r)
	if err == nil {
		var vs []demand.FilingVersion
		if vs, err = m.Demand.FilingVersions(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, list(vs, ""))
			return
		}
	}
	writeError(w, r, err)
}

// demandFilingChange returns the handler of a POST /filings/{id}/<action>: it reads the id and
// the request body (which may be left out unless required), calls the service through call and
// answers the filing.
func demandFilingChange[T any](required bool, call func(r *http.Request, id uint64, req T) (demand.Filing, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := demandFilingID(r)
		var req T
		if err == nil {
			if required {
				err = Decode(w, r, &req)
			} else {
				err = demandOptional(w, r, &req)
			}
		}
		var f demand.Filing
		if err == nil {
			f, err = call(r, id, req)
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, f)
	}
}

func (m *DemandAPI) submit(r *http.Request, id uint64, _ struct{}) (demand.Filing, error) {
	return m.Demand.SubmitFiling(r.Context(), Actor(r), id)
}

func (m *DemandAPI) amend(r *http.Request, id uint64, req demand.FilingRequest) (demand.Filing, error) {
	return m.Demand.AmendFiling(r.Context(), Actor(r), id, req)
}

func (m *DemandAPI) withdraw(r *http.Request, id uint64, req demand.WithdrawRequest) (demand.Filing, error) {
	return m.Demand.WithdrawFiling(r.Context(), Actor(r), id, req)
}

func (m *DemandAPI) giveBack(r *http.Request, id uint64, req demand.ReturnRequest) (demand.Filing, error) {
	return m.Demand.ReturnFiling(r.Context(), Actor(r), id, req)
}

func (m *DemandAPI) approve(r *http.Request, id uint64, req demand.ApproveRequest) (demand.Filing, error) {
	return m.Demand.ApproveFiling(r.Context(), Actor(r), id, req)
}

// --- aggregates ---

// summary answers the round's aggregate as JSON, or (?format=csv|xlsx|pdf) as a download. The
// export is written to memory outside any transaction, so that a failure is still a JSON error.
func (m *DemandAPI) summary(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	format := strings.ToLower(r.URL.Query().Get("format"))
	switch format {
	case "", "json", demand.FormatCSV, demand.FormatXLSX, demand.FormatPDF:
	default:
		writeError(w, r, badQuery("format", "应为 json、csv、xlsx 或 pdf"))
		return
	}
	s, err := m.Demand.Summary(r.Context(), Actor(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if format == "" || format == "json" {
		writeJSON(w, http.StatusOK, s)
		return
	}
	issuer := ""
	if format == demand.FormatPDF {
		if issuer, err = m.issuer(r); err != nil {
			writeError(w, r, err)
			return
		}
	}
	var buf bytes.Buffer
	if err := demand.WriteSummary(&buf, format, s, issuer); err != nil {
		writeError(w, r, err)
		return
	}
	name := demand.FileName(s, format)
	h := w.Header()
	h.Set("Content-Type", demand.ContentType(format))
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="demand-summary-%d.%s"; filename*=UTF-8''%s`, s.RoundID, format, rfc5987(name)))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// issuer returns the name of the city center, which runs the rounds and signs the PDF report
// ("" when there is none).
func (m *DemandAPI) issuer(r *http.Request) (string, error) {
	if p := Principal(r); p.Org.Kind == certseal.KindCityCenter {
		return p.Org.Name, nil
	}
	o, err := m.Orgs.CityCenter(r.Context())
	if certseal.ErrorCode(err) == certseal.ENotFound {
		return "", nil
	}
	return o.Name, err
}

// makePlan makes a new version of the round's plan (201, with its Location).
func (m *DemandAPI) makePlan(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var req demand.PlanRequest
	if err == nil {
		err = demandOptional(w, r, &req)
	}
	var p demand.Plan
	if err == nil {
		p, err = m.Demand.MakePlan(r.Context(), Actor(r), id, req)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("%s/rounds/%d/plan?version=%d", demandBase, id, p.Version))
	writeJSON(w, http.StatusCreated, p)
}

func (m *DemandAPI) getPlan(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var version int
	if err == nil {
		version, err = demandQueryInt(r, "version", 0, 0, 1_000_000)
	}
	if err == nil {
		var p demand.Plan
		if p, err = m.Demand.Plan(r.Context(), Actor(r), id, version); err == nil {
			writeJSON(w, http.StatusOK, p)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) fulfilment(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err == nil {
		var f demand.Fulfilment
		if f, err = m.Demand.Fulfilment(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, f)
			return
		}
	}
	writeError(w, r, err)
}

func (m *DemandAPI) missing(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	if err == nil {
		var ms []demand.MissingOrg
		if ms, err = m.Demand.Missing(r.Context(), Actor(r), id); err == nil {
			writeJSON(w, http.StatusOK, list(ms, ""))
			return
		}
	}
	writeError(w, r, err)
}

// DemandReminderDays is the reminder window of GET /demand/rounds/{id}/reminders without ?days.
const DemandReminderDays = 7

func (m *DemandAPI) reminders(w http.ResponseWriter, r *http.Request) {
	id, err := demandRoundID(r)
	var days int
	if err == nil {
		days, err = demandQueryInt(r, "days", DemandReminderDays, 0, demand.MaxReminderDays)
	}
	if err == nil {
		var rm demand.Reminders
		if rm, err = m.Demand.Reminders(r.Context(), Actor(r), id, days); err == nil {
			if rm.Orgs == nil {
				rm.Orgs = []demand.MissingOrg{}
			}
			writeJSON(w, http.StatusOK, rm)
			return
		}
	}
	writeError(w, r, err)
}
