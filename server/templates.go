package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/templates"
)

// TemplateAPI is the HTTP module of the licence templates: list, get, version history, upload
// (a new version) and PDF previews.
type TemplateAPI struct {
	Store    *templates.Store
	Renderer *templates.Renderer
	Clock    certseal.Clock
	// Catalogue, when set, lets city department officers upload templates for the licence
	// types their department is responsible for (MayDesign); without it only administrators
	// upload.
	Catalogue *catalogue.Service
}

// WithCatalogue returns m with the licence-type catalogue MayDesign consults. It never fails.
func (m *TemplateAPI) WithCatalogue(c *catalogue.Service) *TemplateAPI {
	m.Catalogue = c
	return m
}

// NewTemplateAPI returns the templates module over st, rendering previews with r and dating
// them with clock (the system clock if nil). It never fails.
func NewTemplateAPI(st *templates.Store, r *templates.Renderer, clock certseal.Clock) *TemplateAPI {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &TemplateAPI{Store: st, Renderer: r, Clock: clock}
}

// DesignRoles may design templates: the city center's administrators, for any template, and
// city department officers, for the licence types of their own department (MayDesign). A
// department defines its licence types (types.create and types.update are theirs already) and
// owns its blank forms, so it is the one that can lay a template out over its own form; the
// administrator stays able to fix any template.
var DesignRoles = []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer}

// Routes returns the module's routes. Everyone signed in may read templates; administrators
// and city department officers (for their own licence types) upload them and their blank
// forms' scans; previews are for the roles that design or issue certificates (not auditors,
// who read the template JSON instead).
func (m *TemplateAPI) Routes() []Route {
	preview := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleClerk}
	return []Route{
		{Method: "GET", Path: "/api/v1/templates", Name: "templates.list", Roles: AllRoles, Handler: m.list},
		{Method: "POST", Path: "/api/v1/templates", Name: "templates.upload", Roles: DesignRoles, Handler: m.upload},
		{Method: "POST", Path: "/api/v1/template-checks", Name: "templates.check", Roles: DesignRoles, Handler: m.check},
		{Method: "POST", Path: "/api/v1/template-previews", Name: "templates.draft_preview", Roles: DesignRoles, Handler: m.draftPreview},
		{Method: "POST", Path: "/api/v1/template-scans", Name: "templates.scans.upload", Roles: DesignRoles, Handler: m.uploadScan},
		{Method: "GET", Path: "/api/v1/template-scans/{sha256}", Name: "templates.scans.get", Roles: preview, Handler: m.getScan},
		{Method: "GET", Path: "/api/v1/templates/{id}", Name: "templates.get", Roles: AllRoles, Handler: m.get},
		{Method: "GET", Path: "/api/v1/templates/{id}/versions", Name: "templates.versions", Roles: AllRoles, Handler: m.versions},
		{Method: "POST", Path: "/api/v1/templates/{id}/preview", Name: "templates.preview", Roles: preview, Handler: m.preview},
	}
}

func (m *TemplateAPI) list(w http.ResponseWriter, r *http.Request) {
	rs, err := m.Store.List(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(rs, ""))
}

// upload reads the body as a template. It does not use Decode: the template format is decoded
// (strictly) by templates.Parse, which names the problem in Chinese.
func (m *TemplateAPI) upload(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, r, &certseal.Error{Code: "unsupported_media", Message: "请求体应为 JSON（Content-Type: application/json）"})
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			err = certseal.Errorf(certseal.ETooLarge, "请求体超过 %d 字节上限", tooBig.Limit)
		}
		writeError(w, r, err)
		return
	}
	if len(body) == 0 {
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "请求体为空，应为模板 JSON"))
		return
	}
	var id struct {
		ID string `json:"id"`
	}
	json.Unmarshal(body, &id) //nolint:errcheck // Upload reports a malformed body in Chinese
	if err := m.MayDesign(r.Context(), Actor(r), id.ID); err != nil {
		writeError(w, r, err)
		return
	}
	scan := r.URL.Query().Get("scan")
	if scan != "" && !validSHA256(scan) {
		writeError(w, r, badQuery("scan", "应为扫描图片的 SHA-256（64个十六进制小写字符）"))
		return
	}
	rec, err := m.Store.UploadWithScan(r.Context(), Actor(r), body, scan)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/templates/%s?version=%d", rec.ID, rec.Version))
	writeJSON(w, http.StatusCreated, rec)
}

// versionOf reads the optional ?version=N (0 when absent: the latest).
func versionOf(r *http.Request) (int, error) {
	s := r.URL.Query().Get("version")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, badQuery("version", "应为正整数")
	}
	return n, nil
}

func (m *TemplateAPI) get(w http.ResponseWriter, r *http.Request) {
	v, err := versionOf(r)
	if err == nil {
		var rec templates.Record
		if rec, err = m.Store.Get(r.Context(), Var(r, "id"), v); err == nil {
			writeJSON(w, http.StatusOK, rec)
			return
		}
	}
	writeError(w, r, err)
}

func (m *TemplateAPI) versions(w http.ResponseWriter, r *http.Request) {
	rs, err := m.Store.Versions(r.Context(), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(rs, ""))
}

type previewRequest struct {
	// Scan draws the scan the version was designed over under the page (SVG only).
	Scan          bool              `json:"scan"`
	Version       int               `json:"version"`
	Values        map[string]string `json:"values"`
	LicenceNumber *string           `json:"licence_number"`
	QRPayload     *string           `json:"qr_payload"`
	Mode          string            `json:"mode"`
	OffsetX       float64           `json:"offset_x_mm"`
	OffsetY       float64           `json:"offset_y_mm"`
}

// preview renders the template with the template's sample values (or placeholders), overridden
// by the values given, and answers the PDF. A preview carries no seal and no signature, its QR
// code says it is a specimen, and nothing is stored.
func (m *TemplateAPI) preview(w http.ResponseWriter, r *http.Request) {
	var req previewRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	if req.Version < 0 {
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "version 应为正整数").WithDetail("field", "version"))
		return
	}
	rec, err := m.Store.Get(r.Context(), Var(r, "id"), req.Version)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d := rec.Template.SampleDocument()
	for k, v := range req.Values {
		if v == "" {
			delete(d.Values, k)
			continue
		}
		d.Values[k] = v
	}
	if req.LicenceNumber != nil {
		d.LicenceNumber = *req.LicenceNumber
		if n := rec.Template.Number; n != nil && n.Field != "" {
			if _, given := req.Values[n.Field]; !given {
				delete(d.Values, n.Field) // the number given replaces the sample's
			}
		}
	}
	if req.QRPayload != nil {
		d.QRPayload = *req.QRPayload
	}
	switch req.Mode {
	case "", "full":
	case "overlay":
		d.Mode = templates.Overlay
		d.OffsetX, d.OffsetY = req.OffsetX, req.OffsetY
	default:
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "mode 应为 full 或 overlay").WithDetail("field", "mode"))
		return
	}
	d.Created = m.Clock.Now()
	switch f := r.URL.Query().Get("format"); f {
	case "svg":
		sw := templates.SVGWriter{}
		if req.Scan {
			sc, err := m.Store.ScanOf(r.Context(), rec.ID, rec.Version)
			if err != nil {
				writeError(w, r, err)
				return
			}
			sw.Scan, sw.ScanOpacity = &sc, 0.9
		}
		plan, err := m.Renderer.Layout(rec.Template, d)
		if err == nil {
			var svg []byte
			if svg, err = sw.Write(plan); err == nil {
				WriteSVG(w, fmt.Sprintf("%s-v%d-%s-preview.svg", rec.ID, rec.Version, d.Mode), svg)
				return
			}
		}
		writeError(w, r, err)
		return
	case "", "pdf":
	default:
		writeError(w, r, badQuery("format", "应为 pdf 或 svg"))
		return
	}
	pdf, err := m.Renderer.Render(rec.Template, d)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s-v%d-%s-preview.pdf"`, rec.ID, rec.Version, d.Mode))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(pdf)))
	w.WriteHeader(http.StatusOK)
	w.Write(pdf)
}

// WriteSVG answers an SVG image drawn here (templates.SVGWriter) with headers that keep it
// inert even when opened on its own: a sandboxing CSP that allows nothing but inline data
// images, no sniffing, no caching, shown inline under the given file name. It never fails.
func WriteSVG(w http.ResponseWriter, name string, svg []byte) {
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", disposition("inline", "preview.svg", name))
	h.Set("Content-Length", strconv.Itoa(len(svg)))
	w.WriteHeader(http.StatusOK)
	w.Write(svg)
}

// MayDesign reports whether actor may upload a version of template id: an administrator
// always; a city department officer when a licence type of its own department uses the id and
// no other department's does, or, for a new id (not built in, never uploaded, used by no type),
// always. It returns nil or a *certseal.Error with code EForbidden naming the reason.
func (m *TemplateAPI) MayDesign(ctx context.Context, actor certseal.Actor, id string) error {
	switch actor.Role {
	case certseal.RoleAdmin:
		return nil
	case certseal.RoleDeptOfficer:
	default:
		return certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员和市级部门可以设计模板")
	}
	if m.Catalogue == nil {
		return certseal.Errorf(certseal.EForbidden, "市级部门设计模板需要证照类型目录，请联系管理员")
	}
	own := false
	after := ""
	for {
		ts, next, err := m.Catalogue.ListTypes(ctx, catalogue.TypeFilter{}, after, 500)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if t.TemplateID != id {
				continue
			}
			if t.ResponsibleOrgID != actor.OrgID {
				return certseal.Errorf(certseal.EForbidden, "模板“%s”用于其他部门负责的证照类型“%s”，市级部门只能修改本部门证照类型的模板", id, t.Name).
					WithDetail("licence_type", t.Code)
			}
			own = true
		}
		if next == "" {
			break
		}
		after = next
	}
	if own {
		return nil
	}
	if _, err := m.Store.Get(ctx, id, 0); err == nil {
		return certseal.Errorf(certseal.EForbidden, "模板“%s”已存在且不属于本部门的证照类型，请另起一个模板编号", id).WithDetail("field", "id")
	} else if certseal.ErrorCode(err) != certseal.ENotFound {
		return err
	}
	return nil
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckResult is what templates.check answers: the template's boxes by name and every problem.
type CheckResult struct {
	OK       bool                 `json:"ok"`
	Problems []templates.Problem  `json:"problems"`
	Boxes    []templates.NamedBox `json:"boxes"`
}

// check validates a template without storing it and answers every box problem at once (for the
// designer's inline marks), 200 whether or not the template is valid; a body that is not a
// template at all is a 400.
func (m *TemplateAPI) check(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		writeError(w, r, certseal.Errorf(certseal.ETooLarge, "请求体超过 %d 字节上限", MaxBodyBytes))
		return
	}
	res, err := CheckTemplate(body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// CheckTemplate decodes a template strictly and returns its boxes and every problem
// (templates.Problems); the result's Problems is empty, not nil, for a valid template. It
// returns a *certseal.Error with code EInvalid when the body is not a template object.
func CheckTemplate(body []byte) (CheckResult, error) {
	t, err := templates.Decode(body)
	if err != nil {
		return CheckResult{}, err
	}
	if t.Version == 0 {
		t.Version = 1
	}
	ps, err := templates.Problems(t)
	if err != nil {
		return CheckResult{}, err
	}
	if ps == nil {
		ps = []templates.Problem{}
	}
	res := CheckResult{OK: len(ps) == 0, Problems: ps, Boxes: t.Boxes()}
	for i := range res.Boxes {
		for _, p := range ps {
			if p.Box == res.Boxes[i].Name || p.OtherBox == res.Boxes[i].Name {
				res.Boxes[i].Marked = true
			}
		}
	}
	return res, nil
}

// uploadScan stores the body, a PNG or JPEG picture of a blank form, and answers its record.
func (m *TemplateAPI) uploadScan(w http.ResponseWriter, r *http.Request) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "image/png" && ct != "image/jpeg" {
		writeError(w, r, &certseal.Error{Code: "unsupported_media", Message: "扫描图片应为 PNG 或 JPEG（Content-Type: image/png 或 image/jpeg）"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, templates.MaxScanUpload))
	if err != nil {
		writeError(w, r, certseal.Errorf(certseal.ETooLarge, "扫描图片超过 %d MB 上限", templates.MaxScanUpload>>20))
		return
	}
	sc, err := m.Store.PutScan(r.Context(), Actor(r), body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/template-scans/"+sc.SHA256)
	writeJSON(w, http.StatusCreated, sc)
}

func (m *TemplateAPI) getScan(w http.ResponseWriter, r *http.Request) {
	sum := Var(r, "sha256")
	if !validSHA256(sum) {
		writeError(w, r, certseal.Errorf(certseal.ENotFound, "没有这张空白证照扫描图片"))
		return
	}
	sc, err := m.Store.Scan(r.Context(), sum)
	if err != nil {
		writeError(w, r, err)
		return
	}
	WriteScan(w, sc)
}

// WriteScan answers a stored scan's image. It never fails.
func WriteScan(w http.ResponseWriter, sc templates.Scan) {
	w.Header().Set("Content-Type", sc.MIME)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	w.Header().Set("Content-Length", strconv.Itoa(len(sc.Data)))
	w.WriteHeader(http.StatusOK)
	w.Write(sc.Data)
}

// DraftPreview is a preview of a template that is not stored yet (the designer's live view).
type DraftPreview struct {
	Template json.RawMessage `json:"template"`
	// Scan is the SHA-256 of a stored scan to draw under the page; empty: none.
	Scan string `json:"scan"`
	// Boxes draws the template's boxes, problems in red.
	Boxes bool `json:"boxes"`
}

// RenderDraft lays out the draft template with its sample document (SampleDocument) and writes
// it as SVG over its scan. It returns the SVG, or the check result when the template has
// problems (and no SVG), or a *certseal.Error: EInvalid for a body that is not a template or a
// sample that does not lay out, ENotFound for an unknown scan.
func RenderDraft(ctx context.Context, st *templates.Store, r *templates.Renderer, clock certseal.Clock, req DraftPreview) ([]byte, *CheckResult, error) {
	res, err := CheckTemplate(req.Template)
	if err != nil {
		return nil, nil, err
	}
	if !res.OK {
		return nil, &res, nil
	}
	t, err := templates.Decode(req.Template)
	if err != nil {
		return nil, nil, err
	}
	if t.Version == 0 {
		t.Version = 1
	}
	if err := t.Validate(); err != nil {
		return nil, nil, err
	}
	sw := templates.SVGWriter{}
	if req.Scan != "" {
		if !validSHA256(req.Scan) {
			return nil, nil, certseal.Errorf(certseal.EInvalid, "scan 应为扫描图片的 SHA-256").WithDetail("field", "scan")
		}
		sc, err := st.Scan(ctx, req.Scan)
		if err != nil {
			return nil, nil, err
		}
		sw.Scan, sw.ScanOpacity = &sc, 0.9
	}
	if req.Boxes {
		sw.Boxes = res.Boxes
	}
	d := t.SampleDocument()
	d.Created = clock.Now()
	plan, err := r.Layout(t, d)
	if err != nil {
		return nil, nil, err
	}
	svg, err := sw.Write(plan)
	return svg, nil, err
}

// draftPreview answers the SVG preview of a template not yet stored, or, when the template has
// problems, 422 with every problem (the check result).
func (m *TemplateAPI) draftPreview(w http.ResponseWriter, r *http.Request) {
	var req DraftPreview
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	svg, res, err := RenderDraft(r.Context(), m.Store, m.Renderer, m.Clock, req)
	switch {
	case err != nil:
		writeError(w, r, err)
	case res != nil:
		writeJSON(w, http.StatusUnprocessableEntity, res)
	default:
		WriteSVG(w, "draft-preview.svg", svg)
	}
}
