// Package web is certseal's web pages: server-side rendered html/template pages in simplified
// Chinese (templates, CSS and scripts embedded under pages/), with one session and CSRF layer
// (session.go). A page's roles are not kept here: each page route names, in Route.Like, the
// API route whose operation it performs, and takes that route's roles from the one role table
// of package server (Web.API), narrowed at most to the desk that shows the page.
package web

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
	"certseal/certs/exchange"
	"certseal/certs/use"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory"
	"certseal/inventory/demand"
	"certseal/seals"
	"certseal/server"
	"certseal/templates"
)

// The web pages (issue #8): server-side rendered html/template pages in simplified Chinese for
// county bureau officers, city department officers, window clerks and the city center's
// administrators, plus public verification. Everything they need (templates, CSS, the small
// scripts) is embedded: nothing is loaded from elsewhere, since the intranet has no internet.
//
//go:embed pages
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
	// Exchange is the change feed for the provincial platform (the export downloads).
	Exchange *exchange.Service
	Clock    certseal.Clock
	Log      *slog.Logger
	// CityName is the city center's name, printed on exports.
	CityName string
	// Auth limits sign-ins and sessions (zero fields: the defaults).
	Auth server.AuthLimits
	// API is the role table the pages take their roles from (the Server); set it before
	// serving. Without it every page but the public ones answers 403.
	API server.RouteTable
	// Use runs the use of certificates by other departments (用证, use.go).
	Use *use.Service

	sessions *webSessions
	login    *server.RateLimiter
	pages    map[string]*template.Template
	verify   *server.RateLimiter
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
	m.sessions = newWebSessions(m.Orgs, m.Auth, m.Log)
	m.login = m.Auth.Limiter()
	m.pages = parsePages()
	m.verify = server.NewRateLimiter(5, 30)
	m.verify.Share = m.Auth.Share
	return &m
}

// Desks narrow a page to the people whose desk shows it. A page's roles are those of the API
// route it names (Like) in the one role table (auth.go), and, where a desk is given, only
// those of them at that desk: a role taken from the API route is taken from the page too.
var (
	deskAdmin   = []certseal.Role{certseal.RoleAdmin, certseal.RoleAuditor} // the administration pages
	deskCity    = []certseal.Role{certseal.RoleDeptOfficer}                 // the city department's stock desk
	deskCounty  = []certseal.Role{certseal.RoleBureauOfficer, certseal.RoleClerk}
	deskHolders = []certseal.Role{certseal.RoleBureauOfficer, certseal.RoleDeptOfficer} // who hold stock
)

// sessionPages are the pages with no API counterpart: any signed-in user may use them.
const sessionPage = ""

// Routes returns the pages. Every route is Public in the route table; the session and the
// role are checked by page(), the role from the API route the page names in Like.
func (m *Web) Routes() []server.Route {
	out := []server.Route{
		{Method: "GET", Path: "/static/{file}", Name: "web.static", Public: true, Handler: m.static},
		{Method: "GET", Path: "/login", Name: "web.login", Public: true, Handler: m.loginPage},
		{Method: "POST", Path: "/login", Name: "web.login_post", Public: true, Handler: m.loginPost},
		{Method: "GET", Path: "/verify", Name: "web.verify", Public: true, Handler: m.verifyPage},
		{Method: "POST", Path: "/verify", Name: "web.verify_post", Public: true, Handler: m.verify.Limit(m.verifyPost)},
		{Method: "GET", Path: "/V/{ref}", Name: "web.verify_qr", Public: true, Handler: m.verifyShort},
		{Method: "GET", Path: "/v/{ref}", Name: "web.verify_qr_typed", Public: true, Handler: m.verifyShort},
	}
	out = append(out, m.usePublicRoutes()...)
	for _, p := range m.signedIn() {
		out = append(out, server.Route{Method: p.method, Path: p.path, Name: p.name, Public: true, Like: p.like,
			Handler: m.page(p.name, p.like, p.h)})
	}
	return out
}

// webPage is one signed-in page: the API route it is like, and its desk (nil: no narrowing).
type webPage struct {
	method, path, name, like string
	desk                     []certseal.Role
	h                        http.HandlerFunc
}

// signedIn returns the signed-in pages.
func (m *Web) signedIn() []webPage {
	pages := []webPage{
		{"GET", "/", "web.home", sessionPage, nil, m.home},
		{"POST", "/logout", "web.logout", sessionPage, nil, m.logout},
		{"GET", "/account", "web.account", sessionPage, nil, m.account},
		{"POST", "/account", "web.account_post", sessionPage, nil, m.accountPost},

		{"GET", "/issue", "web.issue", "certs.issue", nil, m.issuePage},
		{"POST", "/issue", "web.issue_post", "certs.issue", nil, m.issuePost},
		{"GET", "/issue/preview.pdf", "web.issue_preview", "certs.issue", nil, m.issuePreviewPDF},
		{"GET", "/issue/preview.svg", "web.issue_preview_svg", "certs.issue", nil, m.issuePreviewSVG},
		{"GET", "/batch", "web.batch", "batches.create", nil, m.batchPage},
		{"POST", "/batch", "web.batch_post", "batches.create", nil, m.batchPost},
		{"GET", "/batch/{id}", "web.batch_view", "batches.create", nil, m.batchStatusPage},
		{"GET", "/batch/{id}/status", "web.batch_status", "batches.create", nil, m.batchStatus},
		{"GET", "/batch/{id}/zip", "web.batch_zip", "batches.create", nil, m.batchZIP},
		{"GET", "/certificates", "web.certs", "certs.list", nil, m.certList},
		{"GET", "/certificates/{id}", "web.cert", "certs.get", nil, m.certDetail},
		{"POST", "/certificates/{id}", "web.cert_post", "certs.operate", nil, m.certOperate},
		{"GET", "/certificates/{id}/certificate.pdf", "web.cert_pdf", "certs.pdf", nil, m.certPDF(false)},
		{"GET", "/certificates/{id}/certificate.ofd", "web.cert_ofd", "certs.ofd", nil, m.certOFD},
		{"GET", "/certificates/{id}/print.pdf", "web.cert_print", "certs.print", nil, m.certPDF(true)},
		{"GET", "/certificates/{id}/change", "web.cert_change", "certs.operate", deskCounty, m.changePage},
		{"POST", "/certificates/{id}/change", "web.cert_change_post", "certs.operate", deskCounty, m.changePost},

		{"GET", "/stock", "web.stock", "inventory.stock", nil, m.stockPage},
		{"POST", "/stock", "web.stock_post", "inventory.thresholds.set", deskHolders, m.stockPost},
		{"GET", "/receipts", "web.receipts", "inventory.movements", nil, m.receiptsPage},
		{"GET", "/void", "web.void", "inventory.voids", deskCounty, m.voidPage},
		{"POST", "/void", "web.void_post", "inventory.voids", deskCounty, m.voidPost},
		{"GET", "/stocktake", "web.stocktake", "inventory.stocktakes.list", nil, m.stocktakePage},
		{"POST", "/stocktake", "web.stocktake_post", "inventory.stocktakes.create", nil, m.stocktakePost},
		{"GET", "/demand", "web.demand", "demand.filings.save", nil, m.demandPage},
		{"POST", "/demand", "web.demand_post", "demand.filings.save", nil, m.demandPost},

		{"GET", "/dept/receive", "web.receive", "inventory.receipts", deskCity, m.receivePage},
		{"POST", "/dept/receive", "web.receive_post", "inventory.receipts", deskCity, m.receivePost},
		{"GET", "/dept/distribute", "web.distribute", "inventory.transfers", deskCity, m.distributePage},
		{"POST", "/dept/distribute", "web.distribute_post", "inventory.transfers", deskCity, m.distributePost},
		{"GET", "/summary", "web.summary", "demand.summary", nil, m.summaryPage},
		{"GET", "/exports", "web.exports", "inventory.movements", nil, m.exportsPage},
		{"GET", "/exports/{file}", "web.export", "inventory.movements", nil, m.export},

		{"GET", "/admin/orgs", "web.orgs", "orgs.list", deskAdmin, m.orgsPage},
		{"POST", "/admin/orgs", "web.orgs_post", "orgs.create", nil, m.orgsPost},
		{"GET", "/admin/orgs/{id}", "web.org_edit", "orgs.update", nil, m.orgEditPage},
		{"POST", "/admin/orgs/{id}", "web.org_update", "orgs.update", nil, m.orgUpdate},
		{"GET", "/admin/tokens", "web.tokens", "tokens.list", deskAdminOnly, m.tokensPage},
		{"POST", "/admin/tokens", "web.tokens_post", "tokens.create", deskAdminOnly, m.tokensPost},
		{"GET", "/admin/users", "web.users", "users.list", deskAdmin, m.usersPage},
		{"POST", "/admin/users", "web.users_post", "users.create", nil, m.usersPost},
		{"GET", "/admin/catalogue", "web.items", "items.list", deskAdmin, m.itemsPage},
		{"POST", "/admin/catalogue", "web.items_post", "items.create", nil, m.itemsPost},
		{"GET", "/admin/types", "web.types", "types.list", deskAdmin, m.typesPage},
		{"POST", "/admin/types", "web.types_post", "bindings.create", nil, m.typesPost},
		{"GET", "/admin/templates", "web.templates", "templates.list", deskAdmin, m.templatesPage},
		{"POST", "/admin/templates/preview", "web.template_preview", "templates.upload", deskAdmin, m.templatePreview},
		{"GET", "/admin/seals", "web.seals", "seals.list", deskAdmin, m.sealsPage},
		{"POST", "/admin/seals", "web.seals_post", "seals.create", nil, m.sealsPost},
		{"POST", "/admin/seals/{id}/scan", "web.seal_scan", "seals.scan_put", nil, m.sealScan},
		{"GET", "/admin/seals/{id}/uses", "web.seal_uses", "seals.uses", deskAdmin, m.sealUsesPage},
		{"GET", "/admin/rounds", "web.rounds", "demand.rounds.list", deskAdmin, m.roundsPage},
		{"POST", "/admin/rounds", "web.rounds_post", "demand.rounds.open", nil, m.roundsPost},
		{"GET", "/admin/audit", "web.audit", "audit.list", nil, m.auditPage},
	}
	pages = append(pages, m.usePages()...)
	pages = append(pages, m.exchangePages()...)
	pages = append(pages, m.designerRoutes()...)
	return append(pages, m.calibrationRoutes()...)
}

// webDesks are the pages' desks by page name.
var webDesks = map[string][]certseal.Role{}

func init() {
	for _, p := range (&Web{}).signedIn() {
		webDesks[p.name] = p.desk
	}
}

// Allows reports whether role may use the page route rt (one of Routes): any signed-in role
// for a page with no API counterpart (Like empty), else the roles the API route named by Like
// allows (looked up in m.API), narrowed to the page's desk. Without m.API no role may use a
// page that names an API route.
func (m *Web) Allows(rt server.Route, role certseal.Role) bool {
	name, like := rt.Name, rt.Like
	if !slices.Contains(server.AllAndUserDept, role) {
		return false
	}
	if like == sessionPage {
		return true
	}
	if m.API == nil {
		return false
	}
	rt, ok := m.API.Route(like)
	if !ok || !rt.Allows(role) {
		return false
	}
	desk := webDesks[name]
	return desk == nil || slices.Contains(desk, role)
}

// webMenu is one entry of the role's menu.
type webMenu struct {
	Path, Label string
	Active      bool
}

var webMenus = map[certseal.Role][]webMenu{
	certseal.RoleClerk: {
		{Path: "/issue", Label: "签发证照"}, {Path: "/batch", Label: "批量签发"}, {Path: "/certificates", Label: "证照查询"}, {Path: "/void", Label: "空白证照作废"},
		{Path: "/stock", Label: "库存"}, {Path: "/calibration", Label: "套打校准"},
	},
	certseal.RoleBureauOfficer: {
		{Path: "/demand", Label: "需求量报送"}, {Path: "/stock", Label: "库存"}, {Path: "/receipts", Label: "下发接收"},
		{Path: "/void", Label: "作废"}, {Path: "/stocktake", Label: "盘点"}, {Path: "/issue", Label: "签发证照"},
		{Path: "/batch", Label: "批量签发"}, {Path: "/certificates", Label: "证照查询"}, {Path: "/exports", Label: "导出"},
		{Path: "/calibration", Label: "套打校准"},
	},
	certseal.RoleDeptOfficer: {
		{Path: "/summary", Label: "需求汇总"}, {Path: "/dept/receive", Label: "空白证照入库"}, {Path: "/dept/distribute", Label: "下发到县区"},
		{Path: "/stock", Label: "库存"}, {Path: "/receipts", Label: "出入库记录"}, {Path: "/exports", Label: "导出"},
		{Path: "/designer", Label: "模板设计"},
	},
	certseal.RoleAdmin: {
		{Path: "/admin/orgs", Label: "机构"}, {Path: "/admin/users", Label: "用户"}, {Path: "/admin/tokens", Label: "令牌"}, {Path: "/admin/catalogue", Label: "事项目录"},
		{Path: "/admin/types", Label: "证照类型与绑定"}, {Path: "/admin/templates", Label: "模板"}, {Path: "/admin/seals", Label: "印章"},
		{Path: "/admin/rounds", Label: "需求征订"}, {Path: "/summary", Label: "需求汇总"}, {Path: "/stocktake", Label: "盘点审批"},
		{Path: "/certificates", Label: "证照"}, {Path: "/admin/audit", Label: "审计日志"}, {Path: "/exports", Label: "导出"},
		{Path: "/admin/exchange", Label: "与省平台交换"},
		{Path: "/designer", Label: "模板设计"},
	},
	certseal.RoleAuditor: {
		{Path: "/admin/audit", Label: "审计日志"}, {Path: "/certificates", Label: "证照"}, {Path: "/stock", Label: "库存"},
		{Path: "/summary", Label: "需求汇总"}, {Path: "/admin/orgs", Label: "机构"}, {Path: "/admin/users", Label: "用户"},
		{Path: "/admin/seals", Label: "印章"}, {Path: "/exports", Label: "导出"},
		{Path: "/admin/exchange", Label: "与省平台交换"},
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
	base := template.Must(template.New("layout.html").Funcs(webFuncs).ParseFS(webFS, "pages/layout.html"))
	names, err := fs.Glob(webFS, "pages/*.html")
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
		p := server.Principal(r)
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
		m.Log.Error("web page", "page", name, "request_id", server.RequestID(r.Context()), "err", err)
		http.Error(w, "内部错误，请联系管理员（请求编号 "+server.RequestID(r.Context())+"）", http.StatusInternalServerError)
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
		m.Log.Error("web", "request_id", server.RequestID(r.Context()), "path", r.URL.Path, "err", err)
		v.Error += "（请求编号 " + server.RequestID(r.Context()) + "）"
	}
	m.render(w, r, server.HTTPStatus(err), name, v)
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
	http.Redirect(w, r, webHome(server.Principal(r).User.Role), http.StatusSeeOther)
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
	case certseal.RoleUserDept:
		return "/use"
	}
	return "/admin/audit"
}

var webStatic = map[string]string{"style.css": "text/css; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
	"designer.js": "text/javascript; charset=utf-8", "designer.css": "text/css; charset=utf-8"}

func (m *Web) static(w http.ResponseWriter, r *http.Request) {
	name := server.Var(r, "file")
	ct, ok := webStatic[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := webFS.ReadFile("pages/" + name)
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
func webActor(r *http.Request) certseal.Actor { return server.Principal(r).Actor() }

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
