package server

import (
	"errors"
	"io"
	"net/http"
	"net/url"
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
	// Copies, when set, answers for a purpose-stamped copy (加注件) in a verification.
	Copies CopyVerifier
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
		{Method: "GET", Path: "/api/v1/certificates/{id}/ofd", Name: "certs.ofd", Roles: AllRoles, Handler: m.ofd},
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
	if !f.To.IsZero() {
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

// ofd answers with the certificate's sealed OFD (GB/T 33190, GB/T 38540 seal) as a download.
func (m *CertAPI) ofd(w http.ResponseWriter, r *http.Request) {
	pkg, c, err := m.Certs.OFD(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", `"`+c.OFDSHA256+`"`)
	WriteOFD(w, c.Name+"-"+c.LicenceNumber+".ofd", pkg)
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
	if m.Copies != nil {
		if v, ok, err := m.Copies.Verify(r.Context(), pdf); ok || err != nil {
			if err != nil {
				writeError(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, v)
			return
		}
	}
	verify := m.Certs.VerifyPDF
	if certs.IsZIP(pdf) { // an OFD package (a ZIP, normally with OFD.xml): GB/T 38540 seals
		verify = m.Certs.VerifyOFD
	}
	v, err := verify(r.Context(), pdf)
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

// verifyRef answers GET /verify/{ref}, where the QR code points: JSON for programs; browsers are
// sent to the public verification page, which shows the same view in the site's style.
func (m *CertAPI) verifyRef(w http.ResponseWriter, r *http.Request) {
	ref := Var(r, "ref")
	w.Header().Set("Cache-Control", "no-store")
	if wantsHTML(r) {
		http.Redirect(w, r, "/verify?ref="+url.QueryEscape(ref), http.StatusSeeOther)
		return
	}
	v, err := m.Certs.Lookup(r.Context(), ref)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (m *CertAPI) statusList(w http.ResponseWriter, r *http.Request) {
	l, err := m.Certs.StatusList(r.Context(), m.Signer, m.Issuer)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, l)
}

// statusClass is the CSS class a status is shown with: ok, warn or bad.
func statusClass(s certs.Status) string {
	switch s {
	case certs.StatusValid:
		return "ok"
	case certs.StatusSuspended, certs.StatusExpired, certs.StatusPending:
		return "warn"
	}
	return "bad"
}
