package web

import (
	"net/http"
	"net/url"
	"strings"

	"certseal"
	"certseal/certs"
	"certseal/certs/use"
	"certseal/server"
)

// Public verification (核验): by number or identifier (at /verify/{ref}, which package server's
// certificate module answers), from the QR code's short URL (/V/{ref}, see certs.ShortURL), or
// by uploading the PDF itself. No sign-in; rate limited per client address like the API's
// verification.

type verifyData struct {
	Ref     string
	View    *certs.PublicView
	Verdict *certs.PDFVerdict
	Class   string
	PreCSRF string
	// Copy is set when the file was a purpose-stamped copy (加注件): for whom, for what, until when.
	Copy *use.CopyInfo
}

func verdictClass(v string) string {
	switch v {
	case certs.VerdictValid:
		return "ok"
	case certs.VerdictSuspended, certs.VerdictExpired:
		return "warn"
	}
	return "bad"
}

func (m *Web) verifyPage(w http.ResponseWriter, r *http.Request) {
	d := &verifyData{Ref: strings.TrimSpace(r.URL.Query().Get("ref")), PreCSRF: m.preCSRF(w, r)}
	v := &webView{Title: "电子证照核验", Data: d, Public: true}
	if d.Ref == "" {
		m.render(w, r, http.StatusOK, "verify", v)
		return
	}
	if ok, _ := m.verify.Allow(server.ClientAddr(r)); !ok {
		m.fail(w, r, "verify", v, certseal.Errorf(certseal.ERateLimited, "查询过于频繁，请稍后再试"))
		return
	}
	pv, err := m.Certs.Lookup(r.Context(), d.Ref)
	if err != nil {
		m.fail(w, r, "verify", v, err)
		return
	}
	d.View, d.Class = &pv, server.StatusClass(pv.Status)
	m.render(w, r, http.StatusOK, "verify", v)
}

func (m *Web) verifyPost(w http.ResponseWriter, r *http.Request) {
	d := &verifyData{}
	v := &webView{Title: "电子证照核验", Data: d, Public: true}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		d.PreCSRF = m.preCSRF(w, r)
		m.fail(w, r, "verify", v, certseal.Errorf(certseal.EInvalid, "请选择要核验的 PDF 文件"))
		return
	}
	pdf, err := server.ReadPDF(w, r)
	ok := m.preCSRFOK(r)
	d.PreCSRF = m.preCSRF(w, r)
	if !ok {
		m.fail(w, r, "verify", v, certseal.Errorf(certseal.EInvalid, "页面已过期，请重新选择文件核验"))
		return
	}
	if err != nil {
		m.fail(w, r, "verify", v, err)
		return
	}
	if m.Use != nil {
		if cv, ok, err := m.Use.Verify(r.Context(), pdf); ok || err != nil {
			if err != nil {
				m.fail(w, r, "verify", v, err)
				return
			}
			d.Verdict, d.Class, d.View, d.Copy = &cv.PDFVerdict, verdictClass(cv.Verdict), cv.Certificate, cv.Copy
			m.render(w, r, http.StatusOK, "verify", v)
			return
		}
	}
	verify := m.Certs.VerifyPDF
	if certs.IsZIP(pdf) { // an OFD package: GB/T 38540 seals
		verify = m.Certs.VerifyOFD
	}
	res, err := verify(r.Context(), pdf)
	if err != nil {
		m.fail(w, r, "verify", v, err)
		return
	}
	d.Verdict, d.Class = &res, verdictClass(res.Verdict)
	if res.Certificate != nil {
		d.View = res.Certificate
	}
	m.render(w, r, http.StatusOK, "verify", v)
}

// verifyShort answers the short URL of a certificate's QR code, /V/<ref>.<signature> (also in
// lower case): it finds the certificate by the record id in <ref> and sends a browser to the
// verification page, a program to /verify/{identifier}. The signature is for offline checking
// (certs.VerifyQR) and is not needed here. Errors are a page for a browser, JSON for a program.
func (m *Web) verifyShort(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	ref, _, _ := strings.Cut(server.Var(r, "ref"), ".")
	fail := func(err error) {
		if !server.WantsHTML(r) {
			server.WriteError(w, r, err)
			return
		}
		d := &verifyData{Ref: ref, PreCSRF: m.preCSRF(w, r)}
		m.fail(w, r, "verify", &webView{Title: "电子证照核验", Data: d, Public: true}, err)
	}
	if ok, _ := m.verify.Allow(server.ClientAddr(r)); !ok {
		fail(certseal.Errorf(certseal.ERateLimited, "查询过于频繁，请稍后再试"))
		return
	}
	id, err := certs.ParseShortRef(ref)
	if err != nil {
		fail(err)
		return
	}
	pv, err := m.Certs.Lookup(r.Context(), id)
	if err != nil {
		fail(err)
		return
	}
	to := "/verify/" + url.PathEscape(pv.Identifier)
	if server.WantsHTML(r) {
		to = "/verify?ref=" + url.QueryEscape(pv.Identifier)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
