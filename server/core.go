package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
)

// coreRoutes are the foundation's routes: health, organisations, users, tokens, the catalogue,
// licence types and bindings, audit and backup.
func (s *Server) coreRoutes() []Route {
	deptAdmin := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer}
	return []Route{
		{Method: "GET", Path: "/healthz", Name: "healthz", Public: true, Handler: s.healthz},
		{Method: "GET", Path: "/readyz", Name: "readyz", Public: true, Handler: s.readyz},
		{Method: "GET", Path: "/api/v1/openapi.json", Name: "openapi", Public: true, Handler: serveOpenAPI},
		{Method: "GET", Path: "/api/v1/me", Name: "me", Roles: AllAndUserDept, Handler: s.me},

		{Method: "GET", Path: "/api/v1/orgs", Name: "orgs.list", Roles: AllRoles, Handler: s.listOrgs},
		{Method: "POST", Path: "/api/v1/orgs", Name: "orgs.create", Roles: AdminOnly, Handler: s.createOrg},
		{Method: "GET", Path: "/api/v1/orgs/{id}", Name: "orgs.get", Roles: AllRoles, Handler: s.getOrg},
		{Method: "PATCH", Path: "/api/v1/orgs/{id}", Name: "orgs.update", Roles: AdminOnly, Handler: s.updateOrg},

		{Method: "GET", Path: "/api/v1/users", Name: "users.list", Roles: AllRoles, Handler: s.listUsers},
		{Method: "POST", Path: "/api/v1/users", Name: "users.create", Roles: AdminOnly, Handler: s.createUser},
		{Method: "GET", Path: "/api/v1/users/{id}", Name: "users.get", Roles: AllRoles, Handler: s.getUser},
		{Method: "POST", Path: "/api/v1/users/{id}/disable", Name: "users.disable", Roles: AdminOnly, Handler: s.setUserDisabled(true)},
		{Method: "POST", Path: "/api/v1/users/{id}/enable", Name: "users.enable", Roles: AdminOnly, Handler: s.setUserDisabled(false)},
		{Method: "POST", Path: "/api/v1/users/{id}/password", Name: "users.password_reset", Roles: AdminOnly, Handler: s.resetPassword},

		{Method: "GET", Path: "/api/v1/tokens", Name: "tokens.list", Roles: AllAndUserDept, Handler: s.listTokens},
		{Method: "POST", Path: "/api/v1/tokens", Name: "tokens.create", Roles: AllAndUserDept, Handler: s.limitTokens(s.createToken)},
		{Method: "DELETE", Path: "/api/v1/tokens/{id}", Name: "tokens.revoke", Roles: AllAndUserDept, Handler: s.revokeToken},

		{Method: "GET", Path: "/api/v1/catalogue-items", Name: "items.list", Roles: AllAndUserDept, Handler: s.listItems},
		{Method: "POST", Path: "/api/v1/catalogue-items", Name: "items.create", Roles: AdminOnly, Handler: s.createItem},
		{Method: "GET", Path: "/api/v1/catalogue-items/{code}", Name: "items.get", Roles: AllAndUserDept, Handler: s.getItem},
		{Method: "PATCH", Path: "/api/v1/catalogue-items/{code}", Name: "items.update", Roles: AdminOnly, Handler: s.updateItem},
		{Method: "GET", Path: "/api/v1/catalogue-items/{code}/licence-types", Name: "items.types", Roles: AllAndUserDept, Handler: s.typesOfItem},

		{Method: "GET", Path: "/api/v1/licence-types", Name: "types.list", Roles: AllAndUserDept, Handler: s.listTypes},
		{Method: "POST", Path: "/api/v1/licence-types", Name: "types.create", Roles: deptAdmin, Handler: s.createType},
		{Method: "GET", Path: "/api/v1/licence-types/{code}", Name: "types.get", Roles: AllAndUserDept, Handler: s.getType},
		{Method: "PATCH", Path: "/api/v1/licence-types/{code}", Name: "types.update", Roles: deptAdmin, Handler: s.updateType},
		{Method: "GET", Path: "/api/v1/licence-types/{code}/bindings", Name: "bindings.list", Roles: AllRoles, Handler: s.listBindings},
		{Method: "POST", Path: "/api/v1/licence-types/{code}/bindings", Name: "bindings.create", Roles: AdminOnly, Handler: s.createBinding},
		{Method: "DELETE", Path: "/api/v1/licence-types/{code}/bindings/{item}", Name: "bindings.delete", Roles: AdminOnly, Handler: s.deleteBinding},

		{Method: "GET", Path: "/api/v1/audit", Name: "audit.list", Roles: AdminAudit, Handler: s.listAudit},
		{Method: "GET", Path: "/api/v1/audit/verify", Name: "audit.verify", Roles: AdminAudit, Handler: s.verifyAudit},
		{Method: "GET", Path: "/api/v1/admin/backup", Name: "admin.backup", Roles: AdminOnly, Handler: s.backup},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeError(w, r, certseal.Errorf(certseal.EUnavailable, "服务正在停止"))
		return
	}
	if err := s.Database.Ready(); err != nil {
		writeError(w, r, certseal.Errorf(certseal.EUnavailable, "数据库不可用"))
		return
	}
	for _, c := range s.ReadyChecks {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		err := c.Check(ctx)
		cancel()
		if err != nil {
			s.Log.Warn("not ready", "dependency", c.Name, "err", err)
			writeError(w, r, certseal.Errorf(certseal.EUnavailable, "%s不可用", readyName(c.Name)).WithDetail("dependency", c.Name))
			return
		}
	}
	// After a write failed for lack of disk space, not ready until a write commits again: try
	// a small one, so that readiness comes back once space is freed even with no traffic.
	if s.Database.WriteFailing() != nil {
		if err := s.Database.ProbeWrite(s.Clock.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			if certseal.ErrorCode(err) != certseal.EUnavailable {
				err = certseal.Errorf(certseal.EUnavailable, "数据库暂时无法写入")
			}
			writeError(w, r, err)
			return
		}
	}
	body := map[string]any{"status": "ready"}
	if len(s.ReadyDetail) > 0 {
		detail := map[string]any{}
		for _, f := range s.ReadyDetail {
			name, d := f()
			detail[name] = d
		}
		body["detail"] = detail
	}
	if s.TSA != nil { // the time-stamp authority issuing uses (tsa.go)
		body["tsa"] = s.TSA.TSAReport()
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) {
	p := Principal(r)
	writeJSON(w, http.StatusOK, map[string]any{"user": p.User, "org": p.Org})
}

// --- organisations ---

func (s *Server) listOrgs(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := orgs.OrgFilter{Kind: certseal.OrgKind(q.Get("kind")), ParentID: q.Get("parent_id"), AreaCode: q.Get("area_code")}
	if f.Kind != "" && !f.Kind.Valid() {
		writeError(w, r, badQuery("kind", "未知的机构类型"))
		return
	}
	items, next, err := s.Orgs.List(r.Context(), f, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

type orgRequest struct {
	Name         string           `json:"name"`
	Kind         certseal.OrgKind `json:"kind"`
	USCC         string           `json:"uscc"`
	AreaCode     string           `json:"area_code"`
	ParentID     string           `json:"parent_id"`
	PrintOffsetX float64          `json:"print_offset_x_mm"`
	PrintOffsetY float64          `json:"print_offset_y_mm"`
}

func (s *Server) createOrg(w http.ResponseWriter, r *http.Request) {
	var req orgRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	o := certseal.Org{Name: req.Name, Kind: req.Kind, USCC: req.USCC, AreaCode: req.AreaCode, ParentID: req.ParentID,
		PrintOffsetX: req.PrintOffsetX, PrintOffsetY: req.PrintOffsetY}
	o, err := s.Orgs.CreateOrg(r.Context(), Actor(r), o)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/orgs/"+o.ID)
	writeJSON(w, http.StatusCreated, o)
}

func (s *Server) getOrg(w http.ResponseWriter, r *http.Request) {
	o, err := s.Orgs.GetOrg(r.Context(), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

func (s *Server) updateOrg(w http.ResponseWriter, r *http.Request) {
	var p orgs.OrgPatch
	if err := Decode(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	o, err := s.Orgs.UpdateOrg(r.Context(), Actor(r), Var(r, "id"), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// --- users ---

// seesAll reports whether the caller may see every organisation's users and tokens.
func seesAll(p orgs.Principal) bool {
	return p.User.Role == certseal.RoleAdmin || p.User.Role == certseal.RoleAuditor
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p := Principal(r)
	orgID := r.URL.Query().Get("org_id")
	if !seesAll(p) {
		if orgID != "" && orgID != p.Org.ID {
			writeError(w, r, certseal.Errorf(certseal.EForbidden, "只能查看本机构的用户"))
			return
		}
		orgID = p.Org.ID
	}
	items, next, err := s.Orgs.ListUsers(r.Context(), orgID, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

type userRequest struct {
	Username string        `json:"username"`
	Name     string        `json:"name"`
	OrgID    string        `json:"org_id"`
	Role     certseal.Role `json:"role"`
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var req userRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	u, err := s.Orgs.CreateUser(r.Context(), Actor(r), certseal.User{Username: req.Username, Name: req.Name, OrgID: req.OrgID, Role: req.Role})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.Orgs.GetUser(r.Context(), Var(r, "id"))
	if err == nil && !seesAll(Principal(r)) && u.OrgID != Principal(r).Org.ID {
		err = certseal.Errorf(certseal.ENotFound, "用户 %q 不存在", Var(r, "id"))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) setUserDisabled(disabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, err := s.Orgs.SetUserDisabled(r.Context(), Actor(r), Var(r, "id"), disabled)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	}
}

type passwordResetRequest struct {
	Password string `json:"password"`
}

type passwordResetResponse struct {
	User certseal.User `json:"user"`
	// Password is the password made by the service when the request gave none, shown once.
	Password   string `json:"password,omitempty"`
	MustChange bool   `json:"must_change"`
}

// resetPassword sets another user's password (orgs.ResetPassword): the given one, or a fresh
// one answered once; the user's web sessions end.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) {
	var req passwordResetRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p := Principal(r)
	id := Var(r, "id")
	pw, generated, err := s.Orgs.ResetPassword(r.Context(), p.Actor(), id, req.Password)
	if err != nil {
		writeError(w, r, err)
		return
	}
	u, err := s.Orgs.GetUser(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	resp := passwordResetResponse{User: u, MustChange: u.ID != p.User.ID}
	if generated {
		resp.Password = pw
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

// --- tokens ---

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	p := Principal(r)
	userID := r.URL.Query().Get("user_id")
	if p.User.Role != certseal.RoleAdmin {
		if userID != "" && userID != p.User.ID {
			writeError(w, r, certseal.Errorf(certseal.EForbidden, "只能查看自己的令牌"))
			return
		}
		userID = p.User.ID
	}
	ts, err := s.Orgs.ListTokens(r.Context(), userID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ts, ""))
}

type tokenRequest struct {
	UserID string `json:"user_id"`
	Name   string `json:"name"`
}

type tokenResponse struct {
	orgs.Token
	Secret string `json:"token"`
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	p := Principal(r)
	if req.UserID == "" {
		req.UserID = p.User.ID
	}
	if req.UserID != p.User.ID && p.User.Role != certseal.RoleAdmin {
		writeError(w, r, certseal.Errorf(certseal.EForbidden, "只能为自己创建令牌"))
		return
	}
	t, secret, err := s.Orgs.CreateToken(r.Context(), p.Actor(), req.UserID, req.Name)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, tokenResponse{Token: t, Secret: secret})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	p := Principal(r)
	id := Var(r, "id")
	t, err := s.Orgs.GetToken(r.Context(), id)
	if err == nil && t.UserID != p.User.ID && p.User.Role != certseal.RoleAdmin {
		err = certseal.Errorf(certseal.ENotFound, "令牌 %q 不存在", id)
	}
	if err == nil {
		t, err = s.Orgs.RevokeToken(r.Context(), p.Actor(), id)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// --- catalogue items ---

func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := catalogue.ItemFilter{Level: q.Get("level"), ItemType: q.Get("item_type"), Query: q.Get("q")}
	if v := q.Get("transferred"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, r, badQuery("transferred", "应为 true 或 false"))
			return
		}
		f.Transferred = &b
	}
	items, next, err := s.Catalogue.ListItems(r.Context(), f, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

type itemRequest struct {
	Code          string              `json:"code"`
	Name          string              `json:"name"`
	LegalBasis    string              `json:"legal_basis"`
	ItemType      string              `json:"item_type"`
	Level         string              `json:"level"`
	HandlingOrgID string              `json:"handling_org_id"`
	Transferred   bool                `json:"transferred"`
	SubItems      []catalogue.SubItem `json:"sub_items"`
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request) {
	var req itemRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	it, err := s.Catalogue.CreateItem(r.Context(), Actor(r), catalogue.Item{Code: req.Code, Name: req.Name, LegalBasis: req.LegalBasis,
		ItemType: req.ItemType, Level: req.Level, HandlingOrgID: req.HandlingOrgID, Transferred: req.Transferred, SubItems: req.SubItems})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/catalogue-items/"+it.Code)
	writeJSON(w, http.StatusCreated, it)
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	it, err := s.Catalogue.GetItem(r.Context(), Var(r, "code"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) updateItem(w http.ResponseWriter, r *http.Request) {
	var p catalogue.ItemPatch
	if err := Decode(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	it, err := s.Catalogue.UpdateItem(r.Context(), Actor(r), Var(r, "code"), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) typesOfItem(w http.ResponseWriter, r *http.Request) {
	ts, err := s.Catalogue.TypesOfItem(r.Context(), Var(r, "code"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ts, ""))
}

// --- licence types ---

func (s *Server) listTypes(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := catalogue.TypeFilter{Channel: catalogue.Channel(q.Get("channel")), ResponsibleOrgID: q.Get("responsible_org_id"), Query: q.Get("q")}
	if f.Channel != "" && !f.Channel.Valid() {
		writeError(w, r, badQuery("channel", "未知的供应渠道"))
		return
	}
	ts, next, err := s.Catalogue.ListTypes(r.Context(), f, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ts, next))
}

type typeRequest struct {
	Code              string               `json:"code"`
	Name              string               `json:"name"`
	DefinerName       string               `json:"definer_name"`
	ResponsibleOrgID  string               `json:"responsible_org_id"`
	HolderKind        catalogue.HolderKind `json:"holder_kind"`
	MinValidityMonths int                  `json:"min_validity_months"`
	MaxValidityMonths int                  `json:"max_validity_months"`
	Channel           catalogue.Channel    `json:"channel"`
	SerialPrefix      string               `json:"serial_prefix"`
	SerialWidth       int                  `json:"serial_width"`
	NumberPattern     string               `json:"number_pattern"`
	TemplateID        string               `json:"template_id"`
	Format            catalogue.Format     `json:"format"`
}

func (s *Server) createType(w http.ResponseWriter, r *http.Request) {
	var q typeRequest
	if err := Decode(w, r, &q); err != nil {
		writeError(w, r, err)
		return
	}
	t, err := s.Catalogue.CreateType(r.Context(), Actor(r), catalogue.LicenceType{Code: q.Code, Name: q.Name, DefinerName: q.DefinerName,
		ResponsibleOrgID: q.ResponsibleOrgID, HolderKind: q.HolderKind, MinValidityMonths: q.MinValidityMonths, MaxValidityMonths: q.MaxValidityMonths,
		Channel: q.Channel, SerialPrefix: q.SerialPrefix, SerialWidth: q.SerialWidth, NumberPattern: q.NumberPattern, TemplateID: q.TemplateID, Format: q.Format})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/licence-types/"+t.Code)
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) getType(w http.ResponseWriter, r *http.Request) {
	t, err := s.Catalogue.GetType(r.Context(), Var(r, "code"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) updateType(w http.ResponseWriter, r *http.Request) {
	var p catalogue.TypePatch
	if err := Decode(w, r, &p); err != nil {
		writeError(w, r, err)
		return
	}
	t, err := s.Catalogue.UpdateType(r.Context(), Actor(r), Var(r, "code"), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) listBindings(w http.ResponseWriter, r *http.Request) {
	bs, err := s.Catalogue.BindingsOfType(r.Context(), Var(r, "code"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(bs, ""))
}

type bindingRequest struct {
	ItemCode string `json:"item_code"`
}

func (s *Server) createBinding(w http.ResponseWriter, r *http.Request) {
	var req bindingRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.ItemCode == "" {
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "item_code 不能为空"))
		return
	}
	b, err := s.Catalogue.Bind(r.Context(), Actor(r), Var(r, "code"), req.ItemCode)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, b)
}

func (s *Server) deleteBinding(w http.ResponseWriter, r *http.Request) {
	if err := s.Catalogue.Unbind(r.Context(), Actor(r), Var(r, "code"), Var(r, "item")); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- audit and backup ---

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := audit.Filter{OrgID: q.Get("org_id"), Action: q.Get("action"), Object: q.Get("object")}
	for _, tv := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(tv.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				writeError(w, r, badQuery(tv.name, "应为 RFC 3339 时间，如 2026-01-02T15:04:05+08:00"))
				return
			}
			*tv.dst = t
		}
	}
	var before uint64
	if pg.Cursor != "" {
		if before, err = strconv.ParseUint(pg.Cursor, 10, 64); err != nil {
			writeError(w, r, badQuery("cursor", "无效"))
			return
		}
	}
	events, next, err := s.Audit.List(r.Context(), f, before, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	nc := ""
	if next > 0 {
		nc = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, list(events, nc))
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) {
	res, err := s.Audit.Verify(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	name := fmt.Sprintf("certseal-%s.db", s.Clock.Now().In(certseal.China).Format("20060102-150405"))
	out := &backupWriter{w: w, name: name}
	if _, err := s.Database.Backup(out); err != nil {
		if !out.started { // nothing sent yet (a cluster has no database file: 503, docs/cluster.md)
			writeError(w, r, err)
			return
		}
		s.Log.Error("backup", "request_id", RequestID(r.Context()), "err", err)
		return
	}
	s.Log.Info("backup served", "request_id", RequestID(r.Context()), "user", Principal(r).User.Username)
}

// backupWriter sends the backup's headers with its first bytes, so that a backup that fails
// before writing anything is answered with its error instead of an empty 200.
type backupWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (b *backupWriter) Write(p []byte) (int, error) {
	if !b.started {
		b.started = true
		b.w.Header().Set("Content-Type", "application/octet-stream")
		b.w.Header().Set("Content-Disposition", `attachment; filename="`+b.name+`"`)
		b.w.Header().Set("Cache-Control", "no-store")
	}
	return b.w.Write(p)
}

// readyName is a dependency's name for the answer of /readyz.
func readyName(name string) string {
	if name == "object store" {
		return "对象存储"
	}
	return name
}
