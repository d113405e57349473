package server

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"certseal"
	"certseal/templates"
)

// TemplateAPI is the HTTP module of the licence templates: list, get, version history, upload
// (a new version) and PDF previews.
type TemplateAPI struct {
	Store    *templates.Store
	Renderer *templates.Renderer
	Clock    certseal.Clock
}

// NewTemplateAPI returns the templates module over st, rendering previews with r and dating
// them with clock (the system clock if nil). It never fails.
func NewTemplateAPI(st *templates.Store, r *templates.Renderer, clock certseal.Clock) *TemplateAPI {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &TemplateAPI{Store: st, Renderer: r, Clock: clock}
}

// Routes returns the module's routes. Everyone signed in may read templates; only an
// administrator uploads them; previews are for the roles that design or issue certificates
// (not auditors, who read the template JSON instead).
func (m *TemplateAPI) Routes() []Route {
	preview := []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleClerk}
	return []Route{
		{Method: "GET", Path: "/api/v1/templates", Name: "templates.list", Roles: AllRoles, Handler: m.list},
		{Method: "POST", Path: "/api/v1/templates", Name: "templates.upload", Roles: AdminOnly, Handler: m.upload},
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
	rec, err := m.Store.Upload(r.Context(), Actor(r), body)
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
