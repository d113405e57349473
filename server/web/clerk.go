package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory"
	"certseal/seals"
	"certseal/server"
	"certseal/templates"
)

type issueField struct {
	templates.Field
	Value   string
	System  bool
	Invalid bool
}

type issueData struct {
	Types    []catalogue.LicenceType
	Type     *catalogue.LicenceType
	Bindings []catalogue.Binding
	Item     string
	ItemName string
	Template *templates.Template
	Fields   []issueField
	Holder   certs.Holder
	From, To string
	Seals    []seals.Seal
	SealID   string
	Serial   string
	Paper    bool
	InStock  uint64
	IdemKey  string
	Preview  bool
	Step     int
	// NameField and CodeField are the template's fields that hold the holder's name and code
	// (经营者名称, 统一社会信用代码): the form asks for them there, once, and fills the holder
	// from them. "" when the template has none, and the form asks for the holder apart.
	NameField, CodeField string
}

// issueForm builds the issuing form for the type and item in the query or form, with the
// values the clerk typed.
func (m *Web) issueForm(r *http.Request) (*issueData, error) {
	ctx := r.Context()
	actor := webActor(r)
	d := &issueData{Step: 1, IdemKey: r.FormValue("idem")}
	if d.IdemKey == "" || len(d.IdemKey) > 100 {
		d.IdemKey = randomToken()
	}
	types, err := m.allTypes(ctx)
	if err != nil {
		return d, err
	}
	d.Types = types
	code := r.FormValue("type")
	for i := range types {
		if types[i].Code == code {
			d.Type = &types[i]
		}
	}
	if d.Type == nil {
		return d, nil
	}
	d.Step = 2
	if d.Bindings, err = m.Catalogue.BindingsOfType(ctx, d.Type.Code); err != nil {
		return d, err
	}
	d.Item = r.FormValue("item")
	if len(d.Bindings) == 1 && d.Item == "" {
		d.Item = d.Bindings[0].ItemCode
	}
	for _, b := range d.Bindings {
		if b.ItemCode == d.Item {
			d.ItemName = b.ItemName
		}
	}
	if d.ItemName == "" {
		d.Item = ""
		return d, nil
	}
	d.Step = 3
	if d.Template, err = m.Templates.Template(ctx, d.Type.TemplateID, 0); err != nil {
		return d, err
	}
	names, codes := certs.HolderFields()
	for _, f := range d.Template.Fields {
		if n := d.Template.Number; n != nil && n.Field == f.Name {
			continue
		}
		field := issueField{Field: f, Value: strings.TrimSpace(r.FormValue("f." + f.Name)), System: slices.Contains(certs.SystemFields(), f.Name)}
		d.Fields = append(d.Fields, field)
		if !field.System && d.NameField == "" && slices.Contains(names, f.Name) {
			d.NameField = f.Name
		}
		if !field.System && d.CodeField == "" && slices.Contains(codes, f.Name) {
			d.CodeField = f.Name
		}
	}
	d.Holder = certs.Holder{Name: strings.TrimSpace(r.FormValue("holder_name")), Code: strings.TrimSpace(r.FormValue("holder_code")), CodeType: r.FormValue("holder_code_type")}
	// The holder is the data of the template's holder fields, when it has them.
	if d.NameField != "" {
		d.Holder.Name = d.value(d.NameField)
	}
	if d.CodeField != "" {
		d.Holder.Code = d.value(d.CodeField)
	}
	if d.Holder.CodeType == "" {
		d.Holder.CodeType = certs.CodeUSCC
	}
	d.From, d.To = strings.TrimSpace(r.FormValue("valid_from")), strings.TrimSpace(r.FormValue("valid_to"))
	d.Seals, d.SealID, d.Paper, d.Serial, d.InStock, err = m.sealsAndSerial(ctx, actor, d.Type, r.FormValue("seal"), strings.TrimSpace(r.FormValue("serial")))
	return d, err
}

// sealsAndSerial returns the actor's active seals that may seal the type, the chosen seal (the
// first when none was chosen), whether the type has a paper form, and for paper types the stock
// on hand and the serial to print on (the chosen one, else the next blank form on the pile). The
// issuing and the batch forms share it.
func (m *Web) sealsAndSerial(ctx context.Context, actor certseal.Actor, typ *catalogue.LicenceType, sealID, serial string) (ss []seals.Seal, chosen string, paper bool, next string, inStock uint64, err error) {
	all, _, err := m.Seals.List(ctx, seals.SealFilter{OrgID: actor.OrgID, Status: seals.StatusActive}, "", 50)
	if err != nil {
		return nil, "", false, "", 0, err
	}
	for _, s := range all {
		if s.Authorises(typ.Code) {
			ss = append(ss, s)
		}
	}
	chosen = sealID
	if chosen == "" && len(ss) > 0 {
		chosen = ss[0].ID
	}
	paper, next = typ.HasPaperForm(), serial
	if paper {
		lines, err := m.Inventory.Stock(ctx, actor, inventory.StockQuery{TypeCode: typ.Code, State: inventory.InStock, RangeLimit: 1})
		if err == nil && len(lines) > 0 {
			inStock = lines[0].Count
			if next == "" && len(lines[0].Ranges) > 0 {
				next = lines[0].Ranges[0].First
			}
		}
	}
	return ss, chosen, paper, next, inStock, nil
}

func (d *issueData) request() certs.IssueRequest {
	req := certs.IssueRequest{TypeCode: d.Type.Code, ItemCode: d.Item, Holder: d.Holder, ValidFrom: d.From, ValidTo: d.To,
		SealID: d.SealID, Values: map[string]string{}}
	if d.Paper {
		req.Serial = d.Serial
	}
	for _, f := range d.Fields {
		if !f.System && f.Value != "" {
			req.Values[f.Name] = f.Value
		}
	}
	return req
}

// value returns the typed value of the template field.
func (d *issueData) value(name string) string {
	for _, f := range d.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// field maps an error's field to the form's: the holder's name and code are the template's
// holder fields when the form asks for them there.
func (d *issueData) field(f string) string {
	switch {
	case f == "holder.name" && d.NameField != "":
		return d.NameField
	case f == "holder.code" && d.CodeField != "":
		return d.CodeField
	}
	return f
}

func (d *issueData) markInvalid(field string) {
	for i := range d.Fields {
		if d.Fields[i].Name == field {
			d.Fields[i].Invalid = true
		}
	}
}

// errs checks every field of the filled-in form at once: each template field by the template's
// own rules, the holder, the dates, the seal and the blank form. The service checks it all again.
func (d *issueData) errs() webErrs {
	var e webErrs
	nameLabel, codeLabel := "持证主体名称", "证件号码"
	for _, f := range d.Fields {
		if f.Name == d.NameField {
			nameLabel = label(f.Field)
		}
		if f.Name == d.CodeField {
			codeLabel = label(f.Field)
		}
	}
	nameAt, codeAt := d.field("holder.name"), d.field("holder.code")
	if d.Holder.Name == "" && d.NameField == "" {
		e.addMsg(nameAt, nameLabel, "不能为空")
	} else if utf8.RuneCountInString(d.Holder.Name) > 100 {
		e.addMsg(nameAt, nameLabel, "不能超过100个字符")
	}
	if d.Holder.Code == "" && d.CodeField == "" {
		e.addMsg(codeAt, codeLabel, "不能为空")
	} else if d.Holder.Code != "" {
		h := certs.Holder{Name: "-", Code: d.Holder.Code, CodeType: d.Holder.CodeType}
		if err := h.Validate(); err != nil {
			e.addMsg(codeAt, codeLabel, strings.TrimPrefix(certseal.ErrorMessage(err), "持证主体代码："))
		}
	}
	// Every field by the template's rules (the holder's code has its kind's message already).
	for _, f := range d.Fields {
		if f.System {
			continue
		}
		if msg, ok := fieldProblem(d.Template, f.Field, f.Value); ok {
			e.addMsg(f.Name, label(f.Field), msg)
		}
	}
	for _, p := range []struct{ field, label, v string }{{"valid_from", "有效期起", d.From}, {"valid_to", "有效期至", d.To}} {
		if p.v == "" {
			continue
		}
		if _, err := time.ParseInLocation("2006-01-02", p.v, certseal.China); err != nil {
			e.addMsg(p.field, p.label, "应为日期，如 2026-03-02")
		}
	}
	if d.To == "" && d.Type.MaxValidityMonths > 0 {
		e.addMsg("valid_to", "有效期至", fmt.Sprintf("%s的有效期为 %d 至 %d 个月，请填写截止日期", d.Type.Name, d.Type.MinValidityMonths, d.Type.MaxValidityMonths))
	}
	if d.SealID == "" {
		e.addMsg("seal", "电子印章", "本单位没有可用于此证照类型的有效印章")
	}
	if d.Paper && d.Serial == "" {
		e.addMsg("blank_serial", "空白证照印制编号", "不能为空")
	}
	// Listed in the order of the form.
	at := map[string]int{"holder.name": -2, "holder.code": -1}
	for i, f := range d.Fields {
		at[f.Name] = i
	}
	pos := func(x webFieldError) int {
		if i, ok := at[x.Field]; ok {
			return i
		}
		return len(d.Fields)
	}
	slices.SortStableFunc(e, func(a, b webFieldError) int { return pos(a) - pos(b) })
	return e
}

func (m *Web) issuePage(w http.ResponseWriter, r *http.Request) {
	d, err := m.issueForm(r)
	v := &webView{Title: "签发证照", Data: d}
	if err != nil {
		m.fail(w, r, "issue", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "issue", v)
}

func (m *Web) issuePost(w http.ResponseWriter, r *http.Request) {
	d, err := m.issueForm(r)
	v := &webView{Title: "签发证照", Data: d}
	if err == nil && d.Step < 3 {
		err = certseal.Errorf(certseal.EInvalid, "请先选择证照类型和办理事项")
	}
	if err != nil {
		m.fail(w, r, "issue", v, err)
		return
	}
	if errs := d.errs(); len(errs) > 0 {
		for _, e := range errs {
			d.markInvalid(e.Field)
		}
		m.failForm(w, r, "issue", v, errs)
		return
	}
	req := d.request()
	if err := req.Validate(); err != nil {
		m.issueFail(w, r, v, d, err)
		return
	}
	if r.FormValue("action") == "preview" {
		// The service fills in and checks the values as it would on issue.
		pv, err := m.Certs.Preview(r.Context(), webActor(r), req)
		if err != nil {
			m.issueFail(w, r, v, d, err)
			return
		}
		// One layout, two files: the PDF one click away, and the SVG image the page shows
		// (a PDF in an iframe is a black box in many intranet and headless browsers).
		plan, err := m.Renderer.Layout(pv.Template, pv.Document)
		var pdf, svg []byte
		if err == nil {
			if pdf, err = (templates.PDFWriter{}).Write(plan); err == nil {
				svg, err = templates.SVGWriter{}.Write(plan)
			}
		}
		if err != nil {
			m.issueFail(w, r, v, d, err)
			return
		}
		m.sessions.setPreview(webSessionOf(r), pdf, svg)
		d.Preview = true
		v.Flash = "预览已生成：请核对下方内容，无误后点击“签发”。"
		m.render(w, r, http.StatusOK, "issue", v)
		return
	}
	c, _, err := m.Certs.Issue(r.Context(), webActor(r), req, "web-"+d.IdemKey)
	if err != nil {
		m.issueFail(w, r, v, d, err)
		return
	}
	msg := "证照已签发，证照编号 " + c.LicenceNumber + "。"
	if c.Serial != "" {
		msg += "请将空白证照 " + c.Serial + " 放入打印机，点击“打印套打”。"
	}
	m.done(w, r, "/certificates/"+c.ID, msg)
}

func (m *Web) issueFail(w http.ResponseWriter, r *http.Request, v *webView, d *issueData, err error) {
	var e *certseal.Error
	if errors.As(err, &e) {
		if field, _ := e.Detail["field"].(string); field != "" {
			field = d.field(field)
			d.markInvalid(field)
			// One mistake the service found, listed as the form's others are.
			if e.Code == certseal.EInvalid {
				label := field
				for _, f := range d.Fields {
					if f.Name == field && f.Label != "" {
						label = f.Label
					}
				}
				m.failForm(w, r, "issue", v, webErrs{{Field: field, Label: label, Message: certseal.ErrorMessage(err)}})
				return
			}
		}
	}
	m.fail(w, r, "issue", v, err)
}

func (m *Web) issuePreviewSVG(w http.ResponseWriter, r *http.Request) {
	svg := m.sessions.takePreviewSVG(webSessionOf(r))
	if svg == nil {
		http.Error(w, "没有预览，请在签发页面点击“预览”", http.StatusNotFound)
		return
	}
	server.WriteSVG(w, "预览.svg", svg)
}

func (m *Web) issuePreviewPDF(w http.ResponseWriter, r *http.Request) {
	pdf := m.sessions.takePreview(webSessionOf(r))
	if pdf == nil {
		http.Error(w, "没有预览，请在签发页面点击“预览”", http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	server.WritePDF(w, "预览.pdf", pdf)
}

type certListData struct {
	Items  []certs.Certificate
	Next   string
	Q      string
	Status string
	Type   string
	From   string
	To     string
	Types  []catalogue.LicenceType
	States []certs.Status
}

var webCertStatuses = []certs.Status{certs.StatusPending, certs.StatusValid, certs.StatusSuspended, certs.StatusRevoked, certs.StatusCancelled,
	certs.StatusExpired, certs.StatusTransferredOut, certs.StatusPenalty, certs.StatusOther}

func (m *Web) certList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &certListData{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Type: q.Get("type"), From: q.Get("from"), To: q.Get("to"), States: webCertStatuses}
	v := &webView{Title: "证照查询", Data: d}
	d.Types, _ = m.allTypes(r.Context())
	f := certs.Filter{Query: d.Q, Status: certs.Status(d.Status), TypeCode: d.Type}
	for _, p := range []struct {
		s     string
		dst   *time.Time
		label string
	}{{d.From, &f.From, "起始日期"}, {d.To, &f.To, "截止日期"}} {
		if p.s == "" {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02", p.s, certseal.China)
		if err != nil {
			m.fail(w, r, "certs", v, certseal.Errorf(certseal.EInvalid, "%s应为日期，如 2026-03-02", p.label))
			return
		}
		*p.dst = t
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1)
	}
	items, next, err := m.Certs.List(r.Context(), webActor(r), f, q.Get("cursor"), 50)
	if err != nil {
		m.fail(w, r, "certs", v, err)
		return
	}
	d.Items, d.Next = items, next
	m.render(w, r, http.StatusOK, "certs", v)
}

type certValue struct{ Name, Value string }

type certDetailData struct {
	C       certs.Certificate
	Values  []certValue
	History []certs.Operation
	Ops     []webOp
	Has     []string // the ops of Ops, for the fields only some of them need
	CanOp   bool
	Class   string
	// Targets are the organisations a transfer out may go to (county bureaus and county
	// departments other than the issuer), when transfer_out is offered.
	Targets []certseal.Org
	// CanChange offers the change form (变更, change.go).
	CanChange bool
}

type webOp struct{ Op, Label string }

// webOps are the status changes a window offers, with their Chinese names (change, which
// needs new values, has its own form: change.go).
var webOps = []webOp{
	{"suspend", "暂扣"}, {"reinstate", "暂扣发还"}, {"withdraw", "撤回"}, {"revoke", "撤销"}, {"cancel", "注销"},
	{"penalty_withdraw", "吊销"}, {"transfer_out", "办理转出"}, {"cancel_transfer", "取消转出"}, {"renew", "延续"},
	{"replace", "补证（纸质证照遗失）"},
}

func (m *Web) certDetailData(r *http.Request, id string) (*certDetailData, error) {
	ctx := r.Context()
	actor := webActor(r)
	c, err := m.Certs.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	d := &certDetailData{C: c, Class: server.StatusClass(c.Status)}
	// Only what the lifecycle allows from the current status (certs.OpsFrom), in webOps' order.
	allowed := certs.OpsFrom(&c, m.Clock.Now())
	for _, op := range webOps {
		if slices.Contains(allowed, op.Op) {
			d.Ops = append(d.Ops, op)
			d.Has = append(d.Has, op.Op)
		}
	}
	d.CanOp = m.Allows(server.Route{Name: "web.cert_post", Like: "certs.operate"}, actor.Role) && len(d.Ops) > 0
	if d.CanOp && slices.Contains(d.Has, "transfer_out") {
		for _, kind := range []certseal.OrgKind{certseal.KindCountyBureau, certseal.KindCountyDept} {
			os, _, err := m.Orgs.List(ctx, orgs.OrgFilter{Kind: kind}, "", 1000)
			if err != nil {
				return nil, err
			}
			for _, o := range os {
				if o.ID != c.IssuerOrgID {
					d.Targets = append(d.Targets, o)
				}
			}
		}
	}
	d.History, _ = m.Certs.History(ctx, actor, c.ID)
	d.CanChange = m.canChange(actor, &c)
	seen := map[string]bool{}
	if t, err := m.Templates.Template(ctx, c.TemplateID, c.TemplateVersion); err == nil {
		for _, f := range t.Fields {
			if v, ok := c.Values[f.Name]; ok {
				d.Values = append(d.Values, certValue{f.Name, v})
				seen[f.Name] = true
			}
		}
	}
	for k, v := range c.Values {
		if !seen[k] {
			d.Values = append(d.Values, certValue{k, v})
		}
	}
	return d, nil
}

func (m *Web) certDetail(w http.ResponseWriter, r *http.Request) {
	d, err := m.certDetailData(r, server.Var(r, "id"))
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	m.render(w, r, http.StatusOK, "cert", &webView{Title: d.C.Name + " " + d.C.LicenceNumber, Data: d})
}

func (m *Web) certOperate(w http.ResponseWriter, r *http.Request) {
	id := server.Var(r, "id")
	req := certs.OperationRequest{Op: r.FormValue("op"), Reason: strings.TrimSpace(r.FormValue("reason")),
		ValidTo: strings.TrimSpace(r.FormValue("valid_to")), Serial: strings.TrimSpace(r.FormValue("serial")),
		ReportRef: strings.TrimSpace(r.FormValue("report_ref"))}
	if req.Op == "transfer_out" {
		req.TargetOrgID = strings.TrimSpace(r.FormValue("target_org_id"))
	}
	err := req.Validate()
	var c certs.Certificate
	if err == nil {
		c, err = m.Certs.Operate(r.Context(), webActor(r), id, req)
	}
	if err != nil {
		d, gerr := m.certDetailData(r, id)
		if gerr != nil {
			m.errorPage(w, r, err)
			return
		}
		m.fail(w, r, "cert", &webView{Title: d.C.Name + " " + d.C.LicenceNumber, Data: d}, err)
		return
	}
	m.done(w, r, "/certificates/"+c.ID, "已办理：证照现在的状态为“"+c.StatusLabel+"”。")
}

// certOFD downloads the certificate's sealed OFD (a pdf+ofd licence type).
func (m *Web) certOFD(w http.ResponseWriter, r *http.Request) {
	pkg, c, err := m.Certs.OFD(r.Context(), webActor(r), server.Var(r, "id"))
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	server.WriteOFD(w, c.Name+"-"+c.LicenceNumber+".ofd", pkg)
}

func (m *Web) certPDF(print bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var pdf []byte
		var c certs.Certificate
		var err error
		if print {
			pdf, c, err = m.Certs.PrintPDF(r.Context(), webActor(r), server.Var(r, "id"))
		} else {
			pdf, c, err = m.Certs.PDF(r.Context(), webActor(r), server.Var(r, "id"))
		}
		if err != nil {
			m.errorPage(w, r, err)
			return
		}
		name := c.Name + "-" + c.LicenceNumber + ".pdf"
		if print {
			name = c.Name + "-" + c.LicenceNumber + "-套打-" + c.Serial + ".pdf"
		}
		w.Header().Set("Cache-Control", "no-store")
		server.WritePDF(w, name, pdf)
	}
}

// fieldProblem checks one field's value alone by the template's rules (required, length, type,
// pattern, glyphs) and returns what is wrong with it, said under the field: "字段“住所”为必填项"
// reads "为必填项" there.
func fieldProblem(t *templates.Template, f templates.Field, value string) (string, bool) {
	one := templates.Template{ID: t.ID, Version: t.Version, Name: t.Name, Page: t.Page, MinFontSize: t.MinFontSize, Color: t.Color,
		SealPos: t.SealPos, QR: t.QR, Overlay: t.Overlay, Number: t.Number, Fields: []templates.Field{f}}
	vals := map[string]string{}
	if value != "" {
		vals[f.Name] = value
	}
	var ce *certseal.Error
	err := one.CheckValues(vals)
	if !errors.As(err, &ce) || ce.Code != certseal.EInvalid {
		return "", false
	}
	if at, _ := ce.Detail["field"].(string); at != f.Name {
		return "", false
	}
	return strings.TrimPrefix(strings.TrimPrefix(certseal.ErrorMessage(err), "字段“"+f.Name+"”"), "的值"), true
}

// label is what a form calls a template field: its label, or its name.
func label(f templates.Field) string {
	if f.Label != "" {
		return f.Label
	}
	return f.Name
}
