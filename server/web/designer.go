package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/server"
	"certseal/templates"
)

// The visual template designer (issue 21 item 1): one page (designer.html, designer.js) where a
// city department officer or the city center's administrator lays a template out over the scan
// of the blank form with the mouse, and the JSON endpoints its script calls with the session
// cookie and the X-CSRF-Token header. The checks, the preview and the upload are the API's
// (server.CheckTemplate, server.RenderDraft, templates.Store.UploadWithScan, MayDesign), so the
// page can do nothing the API would refuse.

// deskDesign are the roles whose desk shows the designer.
var deskDesign = server.DesignRoles

// designerRoutes are the designer's pages, appended to signedIn.
func (m *Web) designerRoutes() []webPage {
	return []webPage{
		{"GET", "/designer", "web.designer", "templates.upload", deskDesign, m.designerPage},
		{"POST", "/designer/check", "web.designer_check", "templates.check", deskDesign, m.designerCheck},
		{"POST", "/designer/preview", "web.designer_preview", "templates.draft_preview", deskDesign, m.designerPreview},
		{"POST", "/designer/scan", "web.designer_scan", "templates.scans.upload", deskDesign, m.designerScan},
		{"GET", "/designer/scan/{sha256}", "web.designer_scan_get", "templates.scans.get", deskDesign, m.designerScanGet},
		{"POST", "/designer/save", "web.designer_save", "templates.upload", deskDesign, m.designerSave},
		{"POST", "/designer/publish", "web.designer_publish", "types.update", deskDesign, m.designerPublish},
	}
}

func (m *Web) templateAPI() *server.TemplateAPI {
	return (&server.TemplateAPI{Store: m.Templates, Renderer: m.Renderer, Clock: m.Clock}).WithCatalogue(m.Catalogue)
}

// designerType is a licence type the user may design for, with its current template.
type designerType struct {
	Code, Name, TemplateID string
}

// designerData is what the designer page gets: the types the user may design and publish for,
// the template to start from (JSON, for the script), its scan and the field names the service
// fills in itself.
type designerData struct {
	Types      []designerType
	Type       string
	Template   string // the JSON of the template to start from, "" for a new one
	TemplateID string
	Version    int
	Scan       string // SHA-256 of the starting version's scan
	System     string // JSON list of the service-filled field names
	Fields     string // JSON list of the fields of the type's current template
	Sample     string // JSON of that template's sample (values and licence number), "{}" if none
}

// designTypes returns the licence types the user may publish templates to: every type for an
// administrator, its own department's for a city department officer.
func (m *Web) designTypes(r *http.Request) ([]catalogue.LicenceType, error) {
	p := server.Principal(r)
	f := catalogue.TypeFilter{}
	if p.User.Role == certseal.RoleDeptOfficer {
		f.ResponsibleOrgID = p.User.OrgID
	}
	ts, _, err := m.Catalogue.ListTypes(r.Context(), f, "", 500)
	return ts, err
}

func (m *Web) designerPage(w http.ResponseWriter, r *http.Request) {
	d := &designerData{}
	v := &webView{Title: "模板设计器", Data: d}
	ts, err := m.designTypes(r)
	if err != nil {
		m.fail(w, r, "designer", v, err)
		return
	}
	q := r.URL.Query()
	d.Type = q.Get("type")
	from := q.Get("from")
	fieldsOf := ""
	for _, t := range ts {
		d.Types = append(d.Types, designerType{Code: t.Code, Name: t.Name, TemplateID: t.TemplateID})
		if t.Code == d.Type {
			fieldsOf = t.TemplateID
			if from == "" && q.Get("new") == "" {
				from = t.TemplateID
			}
		}
	}
	sys, _ := json.Marshal(certs.SystemFields())
	d.System = string(sys)
	d.Fields, d.Sample = "[]", "{}"
	if from != "" {
		rec, err := m.Templates.Get(r.Context(), from, 0)
		if err != nil {
			m.fail(w, r, "designer", v, err)
			return
		}
		src, err := m.Templates.Source(r.Context(), rec.ID, rec.Version)
		if err != nil {
			m.fail(w, r, "designer", v, err)
			return
		}
		d.Template, d.TemplateID, d.Version = string(src), rec.ID, rec.Version
		if sc, err := m.Templates.ScanOf(r.Context(), rec.ID, rec.Version); err == nil {
			d.Scan = sc.SHA256
		}
		fieldsOf = rec.ID
	}
	if fieldsOf != "" {
		// The fields a box may be bound to: those of the type's current template.
		if t, err := m.Templates.Template(r.Context(), fieldsOf, 0); err == nil {
			fs, _ := json.Marshal(t.Fields)
			d.Fields = string(fs)
			if t.Sample != nil {
				sm, _ := json.Marshal(t.Sample)
				d.Sample = string(sm)
			}
		}
	}
	m.render(w, r, http.StatusOK, "designer", v)
}

// designerBody reads a JSON body of at most server.MaxBodyBytes.
func designerBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, server.MaxBodyBytes))
	if err != nil {
		return nil, certseal.Errorf(certseal.ETooLarge, "模板超过 %d 字节上限", server.MaxBodyBytes)
	}
	return b, nil
}

func (m *Web) designerCheck(w http.ResponseWriter, r *http.Request) {
	body, err := designerBody(w, r)
	if err == nil {
		var res server.CheckResult
		if res, err = server.CheckTemplate(body); err == nil {
			server.WriteJSON(w, http.StatusOK, res)
			return
		}
	}
	server.WriteError(w, r, err)
}

func (m *Web) designerPreview(w http.ResponseWriter, r *http.Request) {
	body, err := designerBody(w, r)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	var req server.DraftPreview
	if err := strictJSON(body, &req); err != nil {
		server.WriteError(w, r, err)
		return
	}
	svg, res, err := server.RenderDraft(r.Context(), m.Templates, m.Renderer, m.Clock, req)
	switch {
	case err != nil:
		server.WriteError(w, r, err)
	case res != nil:
		server.WriteJSON(w, http.StatusUnprocessableEntity, res)
	default:
		server.WriteSVG(w, "preview.svg", svg)
	}
}

// strictJSON decodes one JSON object, refusing unknown keys and trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data")
	}
	if err != nil {
		return certseal.Errorf(certseal.EInvalid, "请求不是有效的JSON：%v", err)
	}
	return nil
}

func (m *Web) designerScan(w http.ResponseWriter, r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct != "image/png" && ct != "image/jpeg" {
		server.WriteError(w, r, certseal.Errorf(certseal.EInvalid, "扫描图片应为 PNG 或 JPEG 格式（PDF 请先另存为图片）").WithDetail("field", "scan"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, templates.MaxScanUpload))
	if err != nil {
		server.WriteError(w, r, certseal.Errorf(certseal.ETooLarge, "扫描图片超过 %d MB 上限", templates.MaxScanUpload>>20))
		return
	}
	sc, err := m.Templates.PutScan(r.Context(), webActor(r), body)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	server.WriteJSON(w, http.StatusCreated, sc)
}

func (m *Web) designerScanGet(w http.ResponseWriter, r *http.Request) {
	sc, err := m.Templates.Scan(r.Context(), server.Var(r, "sha256"))
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	server.WriteScan(w, sc)
}

// designerSaveRequest is the designer's save: the template and the scan it was laid over.
type designerSaveRequest struct {
	Template json.RawMessage `json:"template"`
	Scan     string          `json:"scan"`
}

func (m *Web) designerSave(w http.ResponseWriter, r *http.Request) {
	body, err := designerBody(w, r)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	var req designerSaveRequest
	if err := strictJSON(body, &req); err != nil {
		server.WriteError(w, r, err)
		return
	}
	res, err := server.CheckTemplate(req.Template)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	if !res.OK {
		server.WriteJSON(w, http.StatusUnprocessableEntity, res)
		return
	}
	var id struct {
		ID string `json:"id"`
	}
	json.Unmarshal(req.Template, &id) //nolint:errcheck // CheckTemplate decoded it
	if err := m.templateAPI().MayDesign(r.Context(), webActor(r), id.ID); err != nil {
		server.WriteError(w, r, err)
		return
	}
	rec, err := m.Templates.UploadWithScan(r.Context(), webActor(r), req.Template, req.Scan)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	rec.Template = nil
	server.WriteJSON(w, http.StatusCreated, rec)
}

// designerPublishRequest names the licence type and the template to print it from.
type designerPublishRequest struct {
	Type     string `json:"type_code"`
	Template string `json:"template_id"`
}

func (m *Web) designerPublish(w http.ResponseWriter, r *http.Request) {
	body, err := designerBody(w, r)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	var req designerPublishRequest
	if err := strictJSON(body, &req); err != nil {
		server.WriteError(w, r, err)
		return
	}
	rec, err := m.Templates.Get(r.Context(), req.Template, 0)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	ts, err := m.designTypes(r)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	if !slices.ContainsFunc(ts, func(t catalogue.LicenceType) bool { return t.Code == req.Type }) {
		server.WriteError(w, r, certseal.Errorf(certseal.EForbidden, "只能把模板发布到本部门负责的证照类型").WithDetail("field", "type_code"))
		return
	}
	t, err := m.Catalogue.UpdateType(r.Context(), webActor(r), req.Type, catalogue.TypePatch{TemplateID: &rec.ID})
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	server.WriteJSON(w, http.StatusOK, map[string]any{"type_code": t.Code, "type_name": t.Name, "template_id": rec.ID, "version": rec.Version})
}
