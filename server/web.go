package server

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/seals"
	"certseal/templates"
)

// The web pages (issue #8): server-side rendered html/template pages in simplified Chinese for
// county bureau officers, city department officers, window clerks and the city center's
// administrators, plus public verification. Everything they need (templates, CSS, the small
// scripts) is embedded: nothing is loaded from elsewhere, since the intranet has no internet.
//
//go:embed web
var webFS embed.FS

// Web is the HTTP module of the web pages. Its routes are public from the route table's point
// of view: each handler checks the session cookie itself (API routes keep bearer tokens).
type Web struct {
	Orgs      *orgs.Service
	Catalogue *catalogue.Service
	Inventory *inventory.Service
	Certs     *certs.Service
	// Batches runs batch issuance; nil leaves the batch page saying so.
	Batches   *certs.Batches
	Seals     *seals.Registry
	Templates *templates.Store
	Renderer  *templates.Renderer
	// Demand runs the demand rounds; nil leaves the demand pages saying so.
	Demand *demand.Service
	Audit  *audit.Service // reads the audit log for the audit page
	Clock  certseal.Clock
	Log    *slog.Logger
	// CityName is the city center's name, printed on exports.
	CityName string
	// Auth limits sign-ins and sessions (zero fields: the defaults).
	Auth AuthLimits

	sessions *webSessions
	login    *RateLimiter
	pages    map[string]*template.Template
	verify   *RateLimiter
}

// NewWeb returns the web module over the services; demand may be nil. It panics when an
// embedded page template does not parse, which the tests catch.
func NewWeb(w Web) *Web {
	m := w
	if m.Clock == nil {
		m.Clock = certseal.SystemClock{}
	}
	if m.Log == nil {
		m.Log = slog.Default()
	}
	m.sessions = newWebSessions(m.Clock, m.Auth)
	m.login = m.Auth.limiter()
	m.pages = parsePages()
	m.verify = NewRateLimiter(5, 30)
	return &m
}

// Role letters used below.
var (
	webAll      = []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleClerk, certseal.RoleAuditor}
	webIssuers  = []certseal.Role{certseal.RoleClerk, certseal.RoleBureauOfficer}
	webOperator = []certseal.Role{certseal.RoleAdmin, certseal.RoleClerk, certseal.RoleBureauOfficer}
	webCounty   = []certseal.Role{certseal.RoleBureauOfficer, certseal.RoleClerk}
	webBureau   = []certseal.Role{certseal.RoleBureauOfficer}
	webDept     = []certseal.Role{certseal.RoleDeptOfficer}
	webDeptAdm  = []certseal.Role{certseal.RoleDeptOfficer, certseal.RoleAdmin, certseal.RoleAuditor}
	webAdmin    = []certseal.Role{certseal.RoleAdmin}
	webAdminAud = []certseal.Role{certseal.RoleAdmin, certseal.RoleAuditor}
)

// Routes returns the pages. Every route is Public in the route table; the session and the
// role are checked by page().
func (m *Web) Routes() []Route {
	p := m.page
	return []Route{
		{Method: "GET", Path: "/", Name: "web.home", Public: true, Handler: p(webAll, m.home)},
		{Method: "GET", Path: "/static/{file}", Name: "web.static", Public: true, Handler: m.static},
		{Method: "GET", Path: "/login", Name: "web.login", Public: true, Handler: m.loginPage},
		{Method: "POST", Path: "/login", Name: "web.login_post", Public: true, Handler: m.loginPost},
		{Method: "POST", Path: "/logout", Name: "web.logout", Public: true, Handler: p(webAll, m.logout)},
		{Method: "GET", Path: "/account", Name: "web.account", Public: true, Handler: p(webAll, m.account)},
		{Method: "POST", Path: "/account", Name: "web.account_post", Public: true, Handler: p(webAll, m.accountPost)},

		{Method: "GET", Path: "/verify", Name: "web.verify", Public: true, Handler: m.verifyPage},
		{Method: "POST", Path: "/verify", Name: "web.verify_post", Public: true, Handler: m.verify.Limit(m.verifyPost)},
		{Method: "GET", Path: "/V/{ref}", Name: "web.verify_qr", Public: true, Handler: m.verifyShort},
		{Method: "GET", Path: "/v/{ref}", Name: "web.verify_qr_typed", Public: true, Handler: m.verifyShort},

		{Method: "GET", Path: "/issue", Name: "web.issue", Public: true, Handler: p(webIssuers, m.issuePage)},
		{Method: "POST", Path: "/issue", Name: "web.issue_post", Public: true, Handler: p(webIssuers, m.issuePost)},
		{Method: "GET", Path: "/issue/preview.pdf", Name: "web.issue_preview", Public: true, Handler: p(webIssuers, m.issuePreviewPDF)},
		{Method: "GET", Path: "/batch", Name: "web.batch", Public: true, Handler: p(webIssuers, m.batchPage)},
		{Method: "POST", Path: "/batch", Name: "web.batch_post", Public: true, Handler: p(webIssuers, m.batchPost)},
		{Method: "GET", Path: "/batch/{id}", Name: "web.batch_view", Public: true, Handler: p(webIssuers, m.batchStatusPage)},
		{Method: "GET", Path: "/batch/{id}/status", Name: "web.batch_status", Public: true, Handler: p(webIssuers, m.batchStatus)},
		{Method: "GET", Path: "/batch/{id}/zip", Name: "web.batch_zip", Public: true, Handler: p(webIssuers, m.batchZIP)},
		{Method: "GET", Path: "/certificates", Name: "web.certs", Public: true, Handler: p(webAll, m.certList)},
		{Method: "GET", Path: "/certificates/{id}", Name: "web.cert", Public: true, Handler: p(webAll, m.certDetail)},
		{Method: "POST", Path: "/certificates/{id}", Name: "web.cert_post", Public: true, Handler: p(webOperator, m.certOperate)},
		{Method: "GET", Path: "/certificates/{id}/certificate.pdf", Name: "web.cert_pdf", Public: true, Handler: p(webAll, m.certPDF(false))},
		{Method: "GET", Path: "/certificates/{id}/print.pdf", Name: "web.cert_print", Public: true, Handler: p(webAll, m.certPDF(true))},

		{Method: "GET", Path: "/stock", Name: "web.stock", Public: true, Handler: p(webAll, m.stockPage)},
		{Method: "POST", Path: "/stock", Name: "web.stock_post", Public: true, Handler: p([]certseal.Role{certseal.RoleBureauOfficer, certseal.RoleDeptOfficer}, m.stockPost)},
		{Method: "GET", Path: "/receipts", Name: "web.receipts", Public: true, Handler: p(webAll, m.receiptsPage)},
		{Method: "GET", Path: "/void", Name: "web.void", Public: true, Handler: p(webCounty, m.voidPage)},
		{Method: "POST", Path: "/void", Name: "web.void_post", Public: true, Handler: p(webCounty, m.voidPost)},
		{Method: "GET", Path: "/stocktake", Name: "web.stocktake", Public: true, Handler: p(webAll, m.stocktakePage)},
		{Method: "POST", Path: "/stocktake", Name: "web.stocktake_post", Public: true, Handler: p([]certseal.Role{certseal.RoleBureauOfficer, certseal.RoleDeptOfficer, certseal.RoleAdmin}, m.stocktakePost)},
		{Method: "GET", Path: "/demand", Name: "web.demand", Public: true, Handler: p(webBureau, m.demandPage)},
		{Method: "POST", Path: "/demand", Name: "web.demand_post", Public: true, Handler: p(webBureau, m.demandPost)},

		{Method: "GET", Path: "/dept/receive", Name: "web.receive", Public: true, Handler: p(webDept, m.receivePage)},
		{Method: "POST", Path: "/dept/receive", Name: "web.receive_post", Public: true, Handler: p(webDept, m.receivePost)},
		{Method: "GET", Path: "/dept/distribute", Name: "web.distribute", Public: true, Handler: p(webDept, m.distributePage)},
		{Method: "POST", Path: "/dept/distribute", Name: "web.distribute_post", Public: true, Handler: p(webDept, m.distributePost)},
		{Method: "GET", Path: "/summary", Name: "web.summary", Public: true, Handler: p(webDeptAdm, m.summaryPage)},
		{Method: "GET", Path: "/exports", Name: "web.exports", Public: true, Handler: p(webAll, m.exportsPage)},
		{Method: "GET", Path: "/exports/{file}", Name: "web.export", Public: true, Handler: p(webAll, m.export)},

		{Method: "GET", Path: "/admin/orgs", Name: "web.orgs", Public: true, Handler: p(webAdminAud, m.orgsPage)},
		{Method: "POST", Path: "/admin/orgs", Name: "web.orgs_post", Public: true, Handler: p(webAdmin, m.orgsPost)},
		{Method: "GET", Path: "/admin/users", Name: "web.users", Public: true, Handler: p(webAdminAud, m.usersPage)},
		{Method: "POST", Path: "/admin/users", Name: "web.users_post", Public: true, Handler: p(webAdmin, m.usersPost)},
		{Method: "GET", Path: "/admin/catalogue", Name: "web.items", Public: true, Handler: p(webAdminAud, m.itemsPage)},
		{Method: "POST", Path: "/admin/catalogue", Name: "web.items_post", Public: true, Handler: p(webAdmin, m.itemsPost)},
		{Method: "GET", Path: "/admin/types", Name: "web.types", Public: true, Handler: p(webAdminAud, m.typesPage)},
		{Method: "POST", Path: "/admin/types", Name: "web.types_post", Public: true, Handler: p(webAdmin, m.typesPost)},
		{Method: "GET", Path: "/admin/templates", Name: "web.templates", Public: true, Handler: p(webAdminAud, m.templatesPage)},
		{Method: "POST", Path: "/admin/templates/preview", Name: "web.template_preview", Public: true, Handler: p(webAdmin, m.templatePreview)},
		{Method: "GET", Path: "/admin/seals", Name: "web.seals", Public: true, Handler: p(webAdminAud, m.sealsPage)},
		{Method: "POST", Path: "/admin/seals", Name: "web.seals_post", Public: true, Handler: p(webAdmin, m.sealsPost)},
		{Method: "GET", Path: "/admin/rounds", Name: "web.rounds", Public: true, Handler: p(webAdminAud, m.roundsPage)},
		{Method: "POST", Path: "/admin/rounds", Name: "web.rounds_post", Public: true, Handler: p(webAdmin, m.roundsPost)},
		{Method: "GET", Path: "/admin/audit", Name: "web.audit", Public: true, Handler: p(webAdminAud, m.auditPage)},
	}
}

// webMenu is one entry of the role's menu.
type webMenu struct {
	Path, Label string
	Active      bool
}

var webMenus = map[certseal.Role][]webMenu{
	certseal.RoleClerk: {
		{Path: "/issue", Label: "签发证照"}, {Path: "/batch", Label: "批量签发"}, {Path: "/certificates", Label: "证照查询"}, {Path: "/void", Label: "空白证照作废"},
		{Path: "/stock", Label: "库存"},
	},
	certseal.RoleBureauOfficer: {
		{Path: "/demand", Label: "需求量报送"}, {Path: "/stock", Label: "库存"}, {Path: "/receipts", Label: "下发接收"},
		{Path: "/void", Label: "作废"}, {Path: "/stocktake", Label: "盘点"}, {Path: "/issue", Label: "签发证照"},
		{Path: "/batch", Label: "批量签发"}, {Path: "/certificates", Label: "证照查询"}, {Path: "/exports", Label: "导出"},
	},
	certseal.RoleDeptOfficer: {
		{Path: "/summary", Label: "需求汇总"}, {Path: "/dept/receive", Label: "空白证照入库"}, {Path: "/dept/distribute", Label: "下发到县区"},
		{Path: "/stock", Label: "库存"}, {Path: "/receipts", Label: "出入库记录"}, {Path: "/exports", Label: "导出"},
	},
	certseal.RoleAdmin: {
		{Path: "/admin/orgs", Label: "机构"}, {Path: "/admin/users", Label: "用户"}, {Path: "/admin/catalogue", Label: "事项目录"},
		{Path: "/admin/types", Label: "证照类型与绑定"}, {Path: "/admin/templates", Label: "模板"}, {Path: "/admin/seals", Label: "印章"},
		{Path: "/admin/rounds", Label: "需求征订"}, {Path: "/summary", Label: "需求汇总"}, {Path: "/stocktake", Label: "盘点审批"},
		{Path: "/certificates", Label: "证照"}, {Path: "/admin/audit", Label: "审计日志"}, {Path: "/exports", Label: "导出"},
	},
	certseal.RoleAuditor: {
		{Path: "/admin/audit", Label: "审计日志"}, {Path: "/certificates", Label: "证照"}, {Path: "/stock", Label: "库存"},
		{Path: "/summary", Label: "需求汇总"}, {Path: "/admin/orgs", Label: "机构"}, {Path: "/admin/users", Label: "用户"},
		{Path: "/admin/seals", Label: "印章"}, {Path: "/exports", Label: "导出"},
	},
}

// webView is what every page template gets.
type webView struct {
	Title   string
	User    certseal.User
	Org     certseal.Org
	Menu    []webMenu
	CSRF    string
	Flash   string
	Error   string
	ErrorAt string // the form field the error is about, when known
	// Errors are every mistake of a form, each by its field, shown together (Error is the first).
	Errors []webFieldError
	Data   any
	Now    time.Time
	Public bool

	people *webPeople // display names looked up for this page
}

var webFuncs = template.FuncMap{
	// Every time and date on every page goes through these two (China time, 2026-12-02 03:37).
	"date":     webDate,
	"datetime": webTime,
	// Every enumeration goes through label: {{label .Kind}}, {{label "level" .Level}}.
	"label": webLabel,
	"yuan":  inventory.Yuan,
	"add":   func(a, b int) int { return a + b },
	"has":   func(list []string, s string) bool { return slices.Contains(list, s) },
	"pct": func(a, b int64) int64 {
		if b <= 0 {
			return 0
		}
		return a * 100 / b
	},
	"svg": func(b []byte) template.HTML { return template.HTML(b) }, // only for SVG drawn here or by package seals
	"query": func(kv ...string) template.URL {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != "" {
				v.Set(kv[i], kv[i+1])
			}
		}
		return template.URL("?" + v.Encode())
	},
	"action": func(a string) string {
		if l, ok := map[string]string{"save": "保存", "submit": "报送", "amend": "修改", "withdraw": "撤回", "return": "退回修改", "approve": "审核通过"}[a]; ok {
			return l
		}
		return a
	},
}

// parsePages parses the layout with each page file: one template set per page.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(webFuncs).ParseFS(webFS, "web/layout.html"))
	names, err := fs.Glob(webFS, "web/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(webFS, n))
	}
	return out
}

// render writes a page with the layout. A template error is logged and answered with a plain
// 500 page; the half-written page is never sent.
func (m *Web) render(w http.ResponseWriter, r *http.Request, status int, name string, v *webView) {
	t, ok := m.pages[name]
	if !ok {
		panic("no page " + name)
	}
	v.Now = m.Clock.Now()
	v.people = &webPeople{ctx: r.Context(), orgs: m.Orgs}
	if s := webSessionOf(r); s != nil {
		p := Principal(r)
		v.User, v.Org, v.CSRF = p.User, p.Org, s.csrf
		if v.Flash == "" {
			v.Flash = m.sessions.takeFlash(s)
		}
		for _, it := range webMenus[p.User.Role] {
			it.Active = r.URL.Path == it.Path || strings.HasPrefix(r.URL.Path, it.Path+"/")
			v.Menu = append(v.Menu, it)
		}
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		m.Log.Error("web page", "page", name, "request_id", RequestID(r.Context()), "err", err)
		http.Error(w, "内部错误，请联系管理员（请求编号 "+RequestID(r.Context())+"）", http.StatusInternalServerError)
		return
	}
	webHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// webHeaders sets the security headers of every page: nothing from elsewhere, no framing by
// other sites, no caching of pages with personal data.
func webHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; frame-src 'self' blob:; object-src 'self' blob:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// fail renders a page with the error's Chinese message at the status its code maps to.
func (m *Web) fail(w http.ResponseWriter, r *http.Request, name string, v *webView, err error) {
	v.Error = certseal.ErrorMessage(err)
	var e *certseal.Error
	if errors.As(err, &e) {
		if f, ok := e.Detail["field"].(string); ok {
			v.ErrorAt = f
		}
	} else {
		m.Log.Error("web", "request_id", RequestID(r.Context()), "path", r.URL.Path, "err", err)
		v.Error += "（请求编号 " + RequestID(r.Context()) + "）"
	}
	status, ok := statusOf[certseal.ErrorCode(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	m.render(w, r, status, name, v)
}

// errorPage answers a whole page that only says what went wrong.
func (m *Web) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	m.fail(w, r, "error", &webView{Title: "出错了"}, err)
}

// done redirects after a successful POST (post/redirect/get), with a message for the next page.
func (m *Web) done(w http.ResponseWriter, r *http.Request, to, flash string) {
	if s := webSessionOf(r); s != nil && flash != "" {
		m.sessions.setFlash(s, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (m *Web) home(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, webHome(Principal(r).User.Role), http.StatusSeeOther)
}

// webHome is the first page of each role.
func webHome(role certseal.Role) string {
	switch role {
	case certseal.RoleClerk:
		return "/issue"
	case certseal.RoleBureauOfficer:
		return "/demand"
	case certseal.RoleDeptOfficer:
		return "/summary"
	case certseal.RoleAdmin:
		return "/admin/orgs"
	}
	return "/admin/audit"
}

var webStatic = map[string]string{"style.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8"}

func (m *Web) static(w http.ResponseWriter, r *http.Request) {
	name := Var(r, "file")
	ct, ok := webStatic[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := webFS.ReadFile("web/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// actor returns the signed-in user as the actor of a change.
func webActor(r *http.Request) certseal.Actor { return Principal(r).Actor() }

// formInt reads a non-negative integer form value; "" is 0.
func formInt(r *http.Request, name, label string) (int64, error) {
	s := strings.TrimSpace(r.FormValue(name))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, certseal.Errorf(certseal.EInvalid, "“%s”应为不小于0的整数", label).WithDetail("field", name)
	}
	return n, nil
}

// typeNames returns every licence type by code, and the types in code order.
func (m *Web) allTypes(ctx context.Context) ([]catalogue.LicenceType, error) {
	ts, _, err := m.Catalogue.ListTypes(ctx, catalogue.TypeFilter{}, "", 1000)
	return ts, err
}

// paperTypes returns the licence types printed on blank forms.
func (m *Web) paperTypes(ctx context.Context) ([]catalogue.LicenceType, error) {
	ts, err := m.allTypes(ctx)
	var out []catalogue.LicenceType
	for _, t := range ts {
		if t.HasPaperForm() {
			out = append(out, t)
		}
	}
	return out, err
}

// countyOrgs returns the county bureaus and county departments.
func (m *Web) countyOrgs(ctx context.Context) ([]certseal.Org, error) {
	all, _, err := m.Orgs.List(ctx, orgs.OrgFilter{}, "", 1000)
	var out []certseal.Org
	for _, o := range all {
		if o.Kind == certseal.KindCountyBureau || o.Kind == certseal.KindCountyDept {
			out = append(out, o)
		}
	}
	return out, err
}
