package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"rsc.io/qr"

	"certseal"
	"certseal/certs"
	"certseal/certs/use"
	"certseal/internal/catalogue"
	"certseal/server"
)

// The use of certificates (用证, issue 20) in the pages: the department user's use request and
// its copy, the use records and their export, a certificate's uses for its issuer, and, on the
// public verification page, the holder's consent code and the holder's view of the use log.

func init() {
	webMenus[certseal.RoleUserDept] = []webMenu{{Path: "/use", Label: "用证（调取证照）"}, {Path: "/use-records", Label: "用证记录"}}
	webMenus[certseal.RoleAdmin] = append(webMenus[certseal.RoleAdmin], webMenu{Path: "/use-records", Label: "用证记录"})
	webMenus[certseal.RoleAuditor] = append(webMenus[certseal.RoleAuditor], webMenu{Path: "/use-records", Label: "用证记录"})
}

// usePages are the signed-in pages of the use of certificates.
func (m *Web) usePages() []webPage {
	return []webPage{
		{"GET", "/use", "web.use", "uses.create", nil, m.usePage},
		{"POST", "/use", "web.use_post", "uses.create", nil, m.usePost},
		{"GET", "/use-records", "web.use_records", "uses.list", nil, m.useRecords},
		{"GET", "/use/{id}/copy.pdf", "web.use_copy", "uses.copy", nil, m.useCopy},
		{"GET", "/certificates/{id}/uses", "web.cert_uses", "certs.uses", nil, m.certUses},
	}
}

// usePublicRoutes are the public pages: the holder's consent code and use log.
func (m *Web) usePublicRoutes() []server.Route {
	return []server.Route{
		{Method: "POST", Path: "/verify/consent", Name: "web.use_consent", Public: true, Handler: m.verify.Limit(m.consentPost)},
		{Method: "POST", Path: "/verify/uses", Name: "web.use_holder_log", Public: true, Handler: m.verify.Limit(m.holderLogPost)},
	}
}

// useData is the department user's use page.
type useData struct {
	Items  []catalogue.Item
	Form   use.Request
	Result *use.Use
	Public *certs.PublicView // the public verdict when consent was missing
	Recent []use.Use
}

func (m *Web) useForm(r *http.Request, d *useData) error {
	items, _, err := m.Catalogue.ListItems(r.Context(), catalogue.ItemFilter{}, "", 500)
	if err != nil {
		return err
	}
	d.Items = items
	recent, err := m.Use.List(r.Context(), webActor(r), use.Filter{})
	if len(recent) > 10 {
		recent = recent[:10]
	}
	d.Recent = recent
	return err
}

func (m *Web) usePage(w http.ResponseWriter, r *http.Request) {
	d := &useData{Form: use.Request{Ref: strings.TrimSpace(r.URL.Query().Get("ref")), ConsentCode: strings.TrimSpace(r.URL.Query().Get("code"))}}
	v := &webView{Title: "用证：调取持证人的证照", Data: d}
	if err := m.useForm(r, d); err != nil {
		m.fail(w, r, "use", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "use", v)
}

func (m *Web) usePost(w http.ResponseWriter, r *http.Request) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	d := &useData{Form: use.Request{Ref: f("ref"), ItemCode: f("item_code"), BusinessSerial: f("business_serial"),
		Purpose: f("purpose"), ConsentCode: f("consent_code"), ValidUntil: f("valid_until")}}
	v := &webView{Title: "用证：调取持证人的证照", Data: d}
	u, err := m.Use.Make(r.Context(), webActor(r), d.Form)
	if ferr := m.useForm(r, d); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		var e *certseal.Error
		if certseal.ErrorCode(err) == use.EConsentRequired && errors.As(err, &e) {
			if pv, ok := e.Detail["certificate"].(certs.PublicView); ok {
				d.Public = &pv
			}
		}
		d.Form.ConsentCode = ""
		m.fail(w, r, "use", v, err)
		return
	}
	d.Result = &u
	v.Flash = "已调取证照并生成加注件（用证编号 " + u.ID + "）"
	m.render(w, r, http.StatusCreated, "use", v)
}

func (m *Web) useCopy(w http.ResponseWriter, r *http.Request) {
	pdf, u, err := m.Use.Copy(r.Context(), webActor(r), server.Var(r, "id"))
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="certificate-copy-%s.pdf"`, u.ID))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(pdf)
}

// useRecordsData is the use records page.
type useRecordsData struct {
	From, To string
	Uses     []use.Use
	Query    template.URL
}

func (m *Web) useRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &useRecordsData{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	v := &webView{Title: "用证记录", Data: d}
	f := use.Filter{}
	for _, p := range []struct {
		s   string
		dst *use.Filter
		to  bool
	}{{d.From, &f, false}, {d.To, &f, true}} {
		if p.s == "" {
			continue
		}
		t, err := parseDay(p.s)
		if err != nil {
			m.fail(w, r, "userecords", v, err)
			return
		}
		if p.to {
			f.To = t.AddDate(0, 0, 1)
		} else {
			f.From = t
		}
	}
	us, err := m.Use.List(r.Context(), webActor(r), f)
	if err != nil {
		m.fail(w, r, "userecords", v, err)
		return
	}
	if format := q.Get("format"); format == "csv" || format == "xlsx" {
		var buf bytes.Buffer
		write, ct := use.WriteCSV, "text/csv; charset=utf-8"
		if format == "xlsx" {
			write, ct = use.WriteXLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		}
		if err := write(&buf, us); err != nil {
			m.errorPage(w, r, err)
			return
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", `attachment; filename="certificate-uses.`+format+`"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(buf.Bytes())
		return
	}
	d.Uses = us
	d.Query = template.URL("from=" + d.From + "&to=" + d.To)
	m.render(w, r, http.StatusOK, "userecords", v)
}

func parseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01-02", s, certseal.China)
	if err != nil {
		return t, certseal.Errorf(certseal.EInvalid, "日期 %q 应为 2026-03-02 的格式", s).WithDetail("field", "from")
	}
	return t, nil
}

// certUsesData is a certificate's uses page.
type certUsesData struct {
	C    certs.Certificate
	Uses []use.Use
	Log  []use.Entry
}

func (m *Web) certUses(w http.ResponseWriter, r *http.Request) {
	id := server.Var(r, "id")
	c, err := m.Certs.Get(r.Context(), webActor(r), id)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	d := &certUsesData{C: c}
	v := &webView{Title: "用证记录：" + c.Name + " " + c.LicenceNumber, Data: d}
	if d.Uses, err = m.Use.UsesOf(r.Context(), webActor(r), id); err == nil {
		d.Log, err = m.Use.Log(r.Context(), webActor(r), id)
	}
	if err != nil {
		m.fail(w, r, "usecert", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "usecert", v)
}

// consentData is the public page of the holder's consent code, or of the holder's use log.
type consentData struct {
	Grant   *use.Grant
	QR      template.HTML
	Log     []use.Entry
	Ref     string
	PreCSRF string
}

// qrSVG draws text as a QR code in SVG (medium error correction, 4 modules of quiet zone).
func qrSVG(text string) (template.HTML, error) {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	n := c.Size + 8
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" shape-rendering="crispEdges" id="consent-qr" role="img" aria-label="用证授权码二维码"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n, n, n)
	for y := 0; y < c.Size; y++ {
		for x := 0; x < c.Size; x++ {
			if c.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+4, y+4)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()), nil // drawn here from digits and an identifier only
}

func (m *Web) consentPost(w http.ResponseWriter, r *http.Request) {
	d := &consentData{}
	v := &webView{Title: "出示证照给用证部门", Data: d, Public: true}
	var p use.Proof
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, certs.MaxVerifyPDF+1<<20)
		if err = r.ParseMultipartForm(1 << 20); err != nil {
			err = certseal.Errorf(certseal.EInvalid, "无法读取表单，文件不能超过 %d MB", certs.MaxVerifyPDF>>20)
		}
	} else {
		err = r.ParseForm()
	}
	ok := m.preCSRFOK(r)
	d.PreCSRF = m.preCSRF(w, r)
	if err == nil && !ok {
		err = certseal.Errorf(certseal.EInvalid, "页面已过期，请返回核验页重新操作")
	}
	if err == nil {
		p.Ref, p.HolderCode = r.PostFormValue("ref"), r.PostFormValue("holder_code")
		if f, _, ferr := r.FormFile("file"); ferr == nil {
			var buf bytes.Buffer
			_, rerr := buf.ReadFrom(f)
			f.Close()
			if rerr != nil {
				err = certseal.Errorf(certseal.EInvalid, "无法读取上传的文件")
			}
			p.File = buf.Bytes()
		}
	}
	if err == nil {
		var g use.Grant
		if g, err = m.Use.IssueConsent(r.Context(), server.ClientAddr(r), p); err == nil {
			d.Grant = &g
			d.QR, err = qrSVG(g.QRText)
		}
	}
	if err != nil {
		m.fail(w, r, "useconsent", v, err)
		return
	}
	m.render(w, r, http.StatusCreated, "useconsent", v)
}

func (m *Web) holderLogPost(w http.ResponseWriter, r *http.Request) {
	d := &consentData{}
	v := &webView{Title: "我的证照用证记录", Data: d, Public: true}
	err := r.ParseForm()
	ok := m.preCSRFOK(r)
	d.PreCSRF = m.preCSRF(w, r)
	if err == nil && !ok {
		err = certseal.Errorf(certseal.EInvalid, "页面已过期，请返回核验页重新操作")
	}
	d.Ref = strings.TrimSpace(r.PostFormValue("ref"))
	if err == nil {
		d.Log, err = m.Use.HolderLog(r.Context(), server.ClientAddr(r), d.Ref, r.PostFormValue("consent_code"))
	}
	if err != nil {
		m.fail(w, r, "useconsent", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "useconsent", v)
}
