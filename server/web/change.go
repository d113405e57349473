package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/certs"
	"certseal/server"
	"certseal/templates"
)

// Changing a certificate's values (变更, issue #21 §6): the certificate page links to a form with
// the current values; the clerk edits them, previews the new version (rendered by the service
// as issuing would, certs.Preview) and issues it (the change operation, certs.Operate), which
// makes version+1 with a new identifier and records what changed (field, old, new) in the
// history of both versions.

// changeData is the change form.
type changeData struct {
	C      certs.Certificate
	Fields []issueField // the values the clerk may edit (not those the service fills in)
	// Old are the current values by field name, shown beside each field.
	Old     map[string]string
	ValidTo string
	Reason  string
	Paper   bool
	Serial  string
	InStock uint64
	Preview bool
	// Changes are what the new version would change, shown with the preview.
	Changes []certs.FieldChange
}

// changeForm builds the form for the certificate: the current values, or what the clerk typed
// when the form was sent.
func (m *Web) changeForm(r *http.Request, sent bool) (*changeData, error) {
	ctx := r.Context()
	actor := webActor(r)
	c, err := m.Certs.Get(ctx, actor, server.Var(r, "id"))
	if err != nil {
		return nil, err
	}
	d := &changeData{C: c, Old: c.Values, ValidTo: c.ValidTo}
	t, err := m.Templates.Template(ctx, c.TemplateID, c.TemplateVersion)
	if err != nil {
		return d, err
	}
	system := certs.SystemFields()
	for _, f := range t.Fields {
		if n := t.Number; n != nil && n.Field == f.Name || slices.Contains(system, f.Name) {
			continue
		}
		v := c.Values[f.Name]
		if sent {
			v = strings.TrimSpace(r.FormValue("f." + f.Name))
		}
		d.Fields = append(d.Fields, issueField{Field: f, Value: v})
	}
	if sent {
		d.ValidTo = strings.TrimSpace(r.FormValue("valid_to"))
		d.Reason = strings.TrimSpace(r.FormValue("reason"))
		d.Serial = strings.TrimSpace(r.FormValue("serial"))
	}
	if c.Serial != "" {
		typ, err := m.Catalogue.GetType(ctx, c.TypeCode)
		if err != nil {
			return d, err
		}
		var next string
		_, _, d.Paper, next, d.InStock, err = m.sealsAndSerial(ctx, actor, &typ, c.SealID, d.Serial)
		if err != nil {
			return d, err
		}
		if !sent { // the next blank form on the pile is offered; what was sent stands, empty too
			d.Serial = next
		}
	}
	return d, nil
}

// changes returns what the form changes, field by field, in the form's order, the end date last.
func (d *changeData) changes() []certs.FieldChange {
	var out []certs.FieldChange
	for _, f := range d.Fields {
		if f.Value != d.Old[f.Name] {
			out = append(out, certs.FieldChange{Field: f.Name, Old: d.Old[f.Name], New: f.Value})
		}
	}
	if d.ValidTo != d.C.ValidTo {
		out = append(out, certs.FieldChange{Field: "有效期至", Old: d.C.ValidTo, New: d.ValidTo})
	}
	return out
}

// holder returns the new holder when the form changes the holder's name or code fields, else nil.
func (d *changeData) holder() *certs.Holder {
	names, codes := certs.HolderFields()
	h := d.C.Holder
	changed := false
	for _, f := range d.Fields {
		if f.Value == d.Old[f.Name] {
			continue
		}
		if slices.Contains(names, f.Name) {
			h.Name, changed = f.Value, true
		}
		if slices.Contains(codes, f.Name) {
			h.Code, changed = f.Value, true
		}
	}
	if !changed {
		return nil
	}
	return &h
}

// request returns the change operation of the form.
func (d *changeData) request() certs.OperationRequest {
	req := certs.OperationRequest{Op: "change", Reason: d.Reason, Holder: d.holder()}
	for _, c := range d.changes() {
		if c.Field == "有效期至" {
			req.ValidTo = c.New
			continue
		}
		if req.Values == nil {
			req.Values = map[string]string{}
		}
		req.Values[c.Field] = c.New
	}
	if d.Paper {
		req.Serial = d.Serial
	}
	return req
}

// previewRequest returns the issue request the new version would be made from, as
// certs.Service makes it for a change (the old values without those the service fills in, the
// changes over them), for the preview.
func (d *changeData) previewRequest() certs.IssueRequest {
	old := d.C
	ir := certs.IssueRequest{TypeCode: old.TypeCode, ItemCode: old.ItemCode, Holder: old.Holder, ValidFrom: old.ValidFrom, ValidTo: old.ValidTo,
		SealID: old.SealID, Extension: old.Extension, Values: map[string]string{}}
	system := certs.SystemFields()
	for k, v := range old.Values {
		if !slices.Contains(system, k) {
			ir.Values[k] = v
		}
	}
	req := d.request()
	maps.Copy(ir.Values, req.Values)
	if req.ValidTo != "" {
		ir.ValidTo = req.ValidTo
	}
	if req.Holder != nil {
		ir.Holder = *req.Holder
	}
	ir.Serial = req.Serial
	return ir
}

// errs checks the form at once: each changed field by the template's rules, the end date, the
// reason, the blank form, and that something changes. The service checks it all again.
func (d *changeData) errs(t *templates.Template) webErrs {
	var e webErrs
	for _, f := range d.Fields {
		if f.Value == d.Old[f.Name] {
			continue
		}
		if msg, ok := fieldProblem(t, f.Field, f.Value); ok {
			e.addMsg(f.Name, label(f.Field), msg)
		}
	}
	if d.ValidTo != "" {
		if _, err := time.ParseInLocation("2006-01-02", d.ValidTo, certseal.China); err != nil {
			e.addMsg("valid_to", "有效期至", "应为日期，如 2029-03-01")
		}
	} else if d.C.ValidTo != "" {
		e.addMsg("valid_to", "有效期至", "不能清空；变更有效期请填写新的截止日期")
	}
	if n := utf8.RuneCountInString(d.Reason); n < 2 || n > 500 {
		e.addMsg("reason", "变更原因", "请填写变更原因（2至500个字符）")
	}
	if d.Paper && d.Serial == "" {
		e.addMsg("serial", "新空白证照印制编号", "不能为空：变更后的证照需要打印在新的空白证照上")
	}
	if len(d.changes()) == 0 && !e.has("valid_to") {
		e.addMsg("changes", "变更内容", "没有修改任何内容，请修改需要变更的项目")
	}
	return e
}

// markInvalid marks the form's field.
func (d *changeData) markInvalid(field string) {
	for i := range d.Fields {
		if d.Fields[i].Name == field {
			d.Fields[i].Invalid = true
		}
	}
}

func changeTitle(c certs.Certificate) string { return "变更 " + c.Name + " " + c.LicenceNumber }

func (m *Web) changePage(w http.ResponseWriter, r *http.Request) {
	d, err := m.changeForm(r, false)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	if err := changeAllowed(d.C, m.Clock.Now()); err != nil {
		m.errorPage(w, r, err)
		return
	}
	m.render(w, r, http.StatusOK, "change", &webView{Title: changeTitle(d.C), Data: d})
}

// changeAllowed tells, before the clerk fills in the form, when the lifecycle refuses a change.
func changeAllowed(c certs.Certificate, now time.Time) error {
	if !slices.Contains(certs.OpsFrom(&c, now), "change") {
		return certseal.Errorf(certseal.EConflict, "证照当前状态为“%s”，不能办理变更", c.StatusLabel)
	}
	return nil
}

// changePost previews (action=preview) or issues (action=change) the new version.
func (m *Web) changePost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d, err := m.changeForm(r, true)
	if d == nil {
		m.errorPage(w, r, err)
		return
	}
	v := &webView{Title: changeTitle(d.C), Data: d}
	if err != nil {
		m.fail(w, r, "change", v, err)
		return
	}
	t, err := m.Templates.Template(ctx, d.C.TemplateID, d.C.TemplateVersion)
	if err != nil {
		m.fail(w, r, "change", v, err)
		return
	}
	if errs := d.errs(t); len(errs) > 0 {
		for _, e := range errs {
			d.markInvalid(e.Field)
		}
		m.failForm(w, r, "change", v, errs)
		return
	}
	if r.FormValue("action") == "preview" {
		pv, err := m.Certs.Preview(ctx, webActor(r), d.previewRequest())
		if err == nil {
			// one layout, the PDF one click away and the SVG image the page shows, as the issue form
			var pdf, svg []byte
			plan, lerr := m.Renderer.Layout(pv.Template, pv.Document)
			if err = lerr; err == nil {
				if pdf, err = (templates.PDFWriter{}).Write(plan); err == nil {
					svg, err = templates.SVGWriter{}.Write(plan)
				}
			}
			if err == nil {
				m.sessions.setPreview(webSessionOf(r), pdf, svg)
				d.Preview, d.Changes = true, d.changes()
				v.Flash = "预览已生成：请核对变更内容和新版本证照，无误后点击“办理变更”。"
				m.render(w, r, http.StatusOK, "change", v)
				return
			}
		}
		m.changeFail(w, r, v, d, err)
		return
	}
	req := d.request()
	if err := req.Validate(); err != nil {
		m.changeFail(w, r, v, d, err)
		return
	}
	nc, err := m.Certs.Operate(ctx, webActor(r), d.C.ID, req)
	if err != nil {
		m.changeFail(w, r, v, d, err)
		return
	}
	msg := "已办理变更：新版本为第 " + strconv.Itoa(nc.Version) + " 版（" + nc.Identifier + "）。"
	if nc.Serial != "" {
		msg += "请将空白证照 " + nc.Serial + " 放入打印机，点击“打印套打”。"
	}
	m.done(w, r, "/certificates/"+nc.ID, msg)
}

// changeFail shows the service's refusal on the form, under the field it names when it names one.
func (m *Web) changeFail(w http.ResponseWriter, r *http.Request, v *webView, d *changeData, err error) {
	var e *certseal.Error
	if errors.As(err, &e) && e.Code == certseal.EInvalid {
		field, _ := e.Detail["field"].(string)
		if field == "blank_serial" {
			field = "serial"
		}
		label := field
		for _, f := range d.Fields {
			if f.Name == field && f.Label != "" {
				label = f.Label
			}
		}
		if field == "" {
			field, label = "changes", "变更内容"
		}
		d.markInvalid(field)
		m.failForm(w, r, "change", v, webErrs{{Field: field, Label: label, Message: certseal.ErrorMessage(err)}})
		return
	}
	m.fail(w, r, "change", v, err)
}

// canChange reports whether the page offers the actor the change form for c: a role the change
// page allows, a certificate of the actor's organisation, and a status the lifecycle changes.
func (m *Web) canChange(actor certseal.Actor, c *certs.Certificate) bool {
	return m.Allows(server.Route{Name: "web.cert_change", Like: "certs.operate"}, actor.Role) && actor.OrgID == c.IssuerOrgID &&
		slices.Contains(certs.OpsFrom(c, m.Clock.Now()), "change")
}
