package web

import (
	"net/http"
	"strconv"
	"strings"

	"certseal"
	"certseal/server"
	"certseal/templates"
)

// Overlay calibration (issue 21 item 2): the window prints the calibration sheet, measures where
// its centre crosshair landed and enters it here; the offset is stored on its organisation and
// every overlay print is shifted back by it. The page previews the overlay print of a licence
// type over the scan of its blank form, with the offset applied.

func (m *Web) calibrationRoutes() []webPage {
	return []webPage{
		{"GET", "/calibration", "web.calibration", "orgs.print_offset", nil, m.calibrationPage},
		{"POST", "/calibration", "web.calibration_post", "orgs.print_offset", nil, m.calibrationPost},
		{"GET", "/calibration/sheet.pdf", "web.calibration_sheet", "calibration.sheet", nil, m.calibrationSheet},
		{"GET", "/calibration/preview.svg", "web.calibration_preview", "templates.preview", nil, m.calibrationPreview},
	}
}

type calibrationData struct {
	Org          certseal.Org
	Types        []designerType
	Type         string
	MeasuredX    string
	MeasuredY    string
	CentreX      float64
	CentreY      float64
	PreviewQuery string
}

func (m *Web) calibrationData(r *http.Request) (*calibrationData, error) {
	d := &calibrationData{Org: server.Principal(r).Org, CentreX: templates.CalibrationCentre[0], CentreY: templates.CalibrationCentre[1]}
	ts, err := m.paperTypes(r.Context())
	if err != nil {
		return d, err
	}
	d.Type = r.FormValue("type")
	for _, t := range ts {
		if t.TemplateID == "" {
			continue
		}
		d.Types = append(d.Types, designerType{Code: t.Code, Name: t.Name, TemplateID: t.TemplateID})
		if d.Type == "" {
			d.Type = t.Code
		}
	}
	return d, nil
}

func (m *Web) calibrationPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.calibrationData(r)
	v := &webView{Title: "套打校准", Data: d}
	if err != nil {
		m.fail(w, r, "calibration", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "calibration", v)
}

func (m *Web) calibrationPost(w http.ResponseWriter, r *http.Request) {
	d, err := m.calibrationData(r)
	v := &webView{Title: "套打校准", Data: d}
	if err != nil {
		m.fail(w, r, "calibration", v, err)
		return
	}
	d.MeasuredX, d.MeasuredY = strings.TrimSpace(r.FormValue("measured_x")), strings.TrimSpace(r.FormValue("measured_y"))
	var errs webErrs
	num := func(field, label, s string) *float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			errs.addMsg(field, label, "应为毫米数，如 105.5")
			return nil
		}
		return &f
	}
	var req server.OffsetRequest
	if r.FormValue("action") == "reset" {
		zero := 0.0
		req.OffsetX, req.OffsetY = &zero, &zero
	} else {
		req.MeasuredX = num("measured_x", "中心十字到左边的距离", d.MeasuredX)
		req.MeasuredY = num("measured_y", "中心十字到上边的距离", d.MeasuredY)
	}
	if len(errs) > 0 {
		m.failForm(w, r, "calibration", v, errs)
		return
	}
	org, err := server.SetOffset(r, m.Orgs, webActor(r), d.Org.ID, req)
	if err != nil {
		m.fail(w, r, "calibration", v, err)
		return
	}
	m.done(w, r, "/calibration?type="+d.Type, "已保存本单位的套打偏移：向右 "+strconv.FormatFloat(org.PrintOffsetX, 'f', 1, 64)+
		" 毫米，向下 "+strconv.FormatFloat(org.PrintOffsetY, 'f', 1, 64)+" 毫米（负数为向左、向上）。")
}

func (m *Web) calibrationSheet(w http.ResponseWriter, r *http.Request) {
	pdf, err := server.CalibrationSheet(server.Principal(r).Org.Name, m.Clock)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	server.WritePDF(w, "套打校准页.pdf", pdf)
}

// calibrationPreview draws the overlay print of the licence type's template, with the
// organisation's offset, over the scan of its blank form (or, without one, over the template's
// boxes at their places, so the shift shows).
func (m *Web) calibrationPreview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := m.Catalogue.GetType(ctx, r.URL.Query().Get("type"))
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	rec, err := m.Templates.Get(ctx, t.TemplateID, 0)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	org, err := m.Orgs.GetOrg(ctx, server.Principal(r).Org.ID)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	d := rec.Template.SampleDocument()
	d.Mode, d.OffsetX, d.OffsetY, d.Created = templates.Overlay, org.PrintOffsetX, org.PrintOffsetY, m.Clock.Now()
	plan, err := m.Renderer.Layout(rec.Template, d)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	sw := templates.SVGWriter{HideSeal: true}
	if sc, err := m.Templates.ScanOf(ctx, rec.ID, rec.Version); err == nil {
		sw.Scan = &sc
	} else {
		sw.Boxes = rec.Template.Boxes()
	}
	svg, err := sw.Write(plan)
	if err != nil {
		server.WriteError(w, r, err)
		return
	}
	server.WriteSVG(w, "套打预览.svg", svg)
}
