package server

import (
	"errors"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"

	"certseal"
	"certseal/certs"
)

// CertAPI is the HTTP module of certificates: issuing, queries, the lifecycle, and public
// verification.
type CertAPI struct {
	Certs  *certs.Service
	Signer certs.ListSigner
	Issuer string // the status list's issuer name
	Public *RateLimiter
}

// NewCertAPI returns the certificates module; public verification is limited to 5 requests a
// second per client address with bursts of 30.
func NewCertAPI(svc *certs.Service, signer certs.ListSigner, issuer string) *CertAPI {
	return &CertAPI{Certs: svc, Signer: signer, Issuer: issuer, Public: NewRateLimiter(5, 30)}
}

// Routes returns the module's routes.
func (m *CertAPI) Routes() []Route {
	issuers := []certseal.Role{certseal.RoleClerk, certseal.RoleBureauOfficer}
	operators := []certseal.Role{certseal.RoleAdmin, certseal.RoleClerk, certseal.RoleBureauOfficer}
	return []Route{
		{Method: "POST", Path: "/api/v1/certificates", Name: "certs.issue", Roles: issuers, Handler: m.issue},
		{Method: "GET", Path: "/api/v1/certificates", Name: "certs.list", Roles: AllRoles, Handler: m.list},
		{Method: "GET", Path: "/api/v1/certificates/{id}", Name: "certs.get", Roles: AllRoles, Handler: m.get},
		{Method: "GET", Path: "/api/v1/certificates/{id}/pdf", Name: "certs.pdf", Roles: AllRoles, Handler: m.pdf},
		{Method: "GET", Path: "/api/v1/certificates/{id}/print.pdf", Name: "certs.print", Roles: AllRoles, Handler: m.print},
		{Method: "GET", Path: "/api/v1/certificates/{id}/history", Name: "certs.history", Roles: AllRoles, Handler: m.history},
		{Method: "POST", Path: "/api/v1/certificates/{id}/operations", Name: "certs.operate", Roles: operators, Handler: m.operate},
		{Method: "POST", Path: "/api/v1/verify", Name: "verify.pdf", Public: true, Handler: m.Public.Limit(m.verifyPDF)},
		{Method: "GET", Path: "/verify/{ref}", Name: "verify.ref", Public: true, Handler: m.Public.Limit(m.verifyRef)},
		{Method: "GET", Path: "/api/v1/status-list", Name: "status_list", Public: true, Handler: m.Public.Limit(m.statusList)},
	}
}

func (m *CertAPI) issue(w http.ResponseWriter, r *http.Request) {
	var req certs.IssueRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	c, replayed, err := m.Certs.Issue(r.Context(), Actor(r), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/certificates/"+c.ID)
	status := http.StatusCreated
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	writeJSON(w, status, c)
}

func (m *CertAPI) list(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := certs.Filter{TypeCode: q.Get("type_code"), HolderCode: q.Get("holder_code"), Status: certs.Status(q.Get("status")),
		IssuerID: q.Get("issuer_id"), Query: q.Get("q")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, certseal.China)
			if err != nil {
				writeError(w, r, badQuery(p.name, "应为日期，如 2026-03-02"))
				return
			}
			*p.dst = t
		}
	}
	if f.To.IsZero() == false {
		f.To = f.To.AddDate(0, 0, 1)
	}
	items, next, err := m.Certs.List(r.Context(), Actor(r), f, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

func (m *CertAPI) get(w http.ResponseWriter, r *http.Request) {
	c, err := m.Certs.Get(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// writePDF answers with a PDF shown inline, named name (UTF-8) and certseal.pdf for old clients.
func writePDF(w http.ResponseWriter, name string, pdf []byte) {
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disposition("inline", "certseal.pdf", name))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(pdf)
}

func (m *CertAPI) pdf(w http.ResponseWriter, r *http.Request) {
	pdf, c, err := m.Certs.PDF(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+c.PDFSHA256+`"`)
	writePDF(w, c.Name+"-"+c.LicenceNumber+".pdf", pdf)
}

func (m *CertAPI) print(w http.ResponseWriter, r *http.Request) {
	pdf, c, err := m.Certs.PrintPDF(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writePDF(w, c.Name+"-"+c.LicenceNumber+"-套打.pdf", pdf)
}

func (m *CertAPI) history(w http.ResponseWriter, r *http.Request) {
	ops, err := m.Certs.History(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(ops, ""))
}

func (m *CertAPI) operate(w http.ResponseWriter, r *http.Request) {
	var req certs.OperationRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	c, err := m.Certs.Operate(r.Context(), Actor(r), Var(r, "id"), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// readPDF reads a PDF request body: raw application/pdf, or a multipart form with a "file" part.
func readPDF(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	r.Body = http.MaxBytesReader(w, r.Body, certs.MaxVerifyPDF)
	var rd io.Reader = r.Body
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		f, _, err := r.FormFile("file")
		if err != nil {
			return nil, certseal.Errorf(certseal.EInvalid, "请上传 PDF 文件（表单字段 file）")
		}
		defer f.Close()
		rd = f
	}
	pdf, err := io.ReadAll(rd)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, certseal.Errorf(certseal.ETooLarge, "PDF 文件超过 %d MB 上限", certs.MaxVerifyPDF>>20)
	}
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的文件")
	}
	if len(pdf) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "上传的文件为空")
	}
	return pdf, nil
}

func (m *CertAPI) verifyPDF(w http.ResponseWriter, r *http.Request) {
	pdf, err := readPDF(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	v, err := m.Certs.VerifyPDF(r.Context(), pdf)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// wantsHTML reports whether the client prefers HTML (a browser) over JSON (a program).
func wantsHTML(r *http.Request) bool {
	acc := r.Header.Get("Accept")
	if r.URL.Query().Get("format") == "json" {
		return false
	}
	return strings.Contains(acc, "text/html") && strings.Index(acc, "text/html") < indexOr(acc, "application/json", len(acc))
}

func indexOr(s, sub string, def int) int {
	if i := strings.Index(s, sub); i >= 0 {
		return i
	}
	return def
}

func (m *CertAPI) verifyRef(w http.ResponseWriter, r *http.Request) {
	ref := Var(r, "ref")
	v, err := m.Certs.Lookup(r.Context(), ref)
	w.Header().Set("Cache-Control", "no-store")
	if !wantsHTML(r) {
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, v)
		return
	}
	page := verifyPage{Ref: ref, View: &v}
	status := http.StatusOK
	if err != nil {
		page.View = nil
		page.Error = certseal.ErrorMessage(err)
		status = statusOf[certseal.ErrorCode(err)]
	} else {
		page.Class = statusClass(v.Status)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	verifyTmpl.Execute(w, page)
}

func statusClass(s certs.Status) string {
	switch s {
	case certs.StatusValid:
		return "ok"
	case certs.StatusSuspended, certs.StatusExpired:
		return "warn"
	}
	return "bad"
}

type verifyPage struct {
	Ref   string
	View  *certs.PublicView
	Error string
	Class string
}

var verifyTmpl = template.Must(template.New("verify").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>电子证照核验</title>
<style>
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:640px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 16px}
.status{font-size:40px;font-weight:bold;padding:20px;border-radius:8px;text-align:center;margin-bottom:20px}
.ok{background:#e6f4ea;color:#1e7b34}.warn{background:#fff4e0;color:#a35f00}.bad{background:#fde7e9;color:#b3261e}
table{width:100%;border-collapse:collapse;background:#fff}td{padding:8px 10px;border-bottom:1px solid #e5e5e5;vertical-align:top}
td:first-child{color:#666;width:9em}.err{background:#fde7e9;color:#b3261e;padding:16px;border-radius:8px}
</style></head><body><main>
<h1>电子证照核验</h1>
{{if .View}}
<div class="status {{.Class}}" id="status">{{.View.StatusLabel}}</div>
{{if .View.StatusReason}}<p>{{.View.StatusReason}}</p>{{end}}
{{if .View.SupersededBy}}<p>该证照已有新版本：<a href="/verify/{{.View.SupersededBy}}">{{.View.SupersededBy}}</a></p>{{end}}
<table>
<tr><td>证照名称</td><td>{{.View.Name}}</td></tr>
<tr><td>证照编号</td><td>{{.View.LicenceNumber}}</td></tr>
<tr><td>持证主体</td><td>{{.View.HolderName}}</td></tr>
<tr><td>主体代码</td><td>{{.View.HolderCode}}</td></tr>
<tr><td>发证机关</td><td>{{.View.IssuerName}}</td></tr>
<tr><td>电子印章</td><td>{{.View.SealName}}</td></tr>
<tr><td>发证日期</td><td>{{.View.IssueDate}}</td></tr>
<tr><td>有效期</td><td>{{.View.ValidFrom}} 至 {{if .View.ValidTo}}{{.View.ValidTo}}{{else}}长期{{end}}</td></tr>
<tr><td>关联事项</td><td>{{.View.ItemName}}</td></tr>
<tr><td>证照标识</td><td style="word-break:break-all">{{.View.Identifier}}</td></tr>
<tr><td>核验时间</td><td>{{.View.CheckedAt}}</td></tr>
</table>
{{else}}
<div class="err" id="status">{{.Error}}</div>
<p>查询内容：{{.Ref}}</p>
{{end}}
</main></body></html>`))

func (m *CertAPI) statusList(w http.ResponseWriter, r *http.Request) {
	l, err := m.Certs.StatusList(r.Context(), m.Signer, m.Issuer)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, l)
}
