package web

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/inventory/demand"
	"certseal/seals"
	"certseal/server"
	"certseal/templates"
)

// The city center administrator's pages (auditors read them too): organisations, users and
// their passwords, the catalogue, licence types and bindings, templates with a live preview,
// seals with their pictures, demand rounds, and the audit log with its chain check.

func (m *Web) orgNames(r *http.Request) map[string]string {
	all, _, _ := m.Orgs.List(r.Context(), orgs.OrgFilter{}, "", 1000)
	names := map[string]string{}
	for _, o := range all {
		names[o.ID] = o.Name
	}
	return names
}

type orgsData struct {
	Orgs  []certseal.Org
	Names map[string]string
	Kinds []certseal.OrgKind
	New   certseal.Org
	Areas []certseal.Area
}

func (m *Web) orgsData(r *http.Request) *orgsData {
	d := &orgsData{Names: m.orgNames(r), Kinds: certseal.OrgKinds, Areas: certseal.GuangyuanAreas}
	d.Orgs, _, _ = m.Orgs.List(r.Context(), orgs.OrgFilter{}, "", 1000)
	return d
}

func (m *Web) orgsPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "orgs", &webView{Title: "机构", Data: m.orgsData(r)})
}

func (m *Web) orgsPost(w http.ResponseWriter, r *http.Request) {
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	o := certseal.Org{Name: f("name"), Kind: certseal.OrgKind(f("kind")), USCC: strings.ToUpper(f("uscc")), AreaCode: f("area_code"), ParentID: f("parent_id")}
	if errs := orgFormErrs(o); len(errs) > 0 {
		d := m.orgsData(r)
		d.New = o
		m.failForm(w, r, "orgs", &webView{Title: "机构", Data: d}, errs)
		return
	}
	created, err := m.Orgs.CreateOrg(r.Context(), webActor(r), o)
	if err != nil {
		d := m.orgsData(r)
		d.New = o
		m.fail(w, r, "orgs", &webView{Title: "机构", Data: d}, err)
		return
	}
	m.done(w, r, "/admin/orgs", "已添加机构“"+created.Name+"”。")
}

type userRow struct {
	certseal.User
	OrgName string
	Info    orgs.PasswordInfo
}

type usersData struct {
	Users []userRow
	Orgs  []certseal.Org
	Roles []certseal.Role
	New   certseal.User
	Admin bool
}

func (m *Web) usersData(r *http.Request) *usersData {
	ctx := r.Context()
	d := &usersData{Roles: certseal.Roles, Admin: webActor(r).Role == certseal.RoleAdmin}
	d.Orgs, _, _ = m.Orgs.List(ctx, orgs.OrgFilter{}, "", 1000)
	names := map[string]string{}
	for _, o := range d.Orgs {
		names[o.ID] = o.Name
	}
	us, _, _ := m.Orgs.ListUsers(ctx, "", "", 1000)
	for _, u := range us {
		info, _ := m.Orgs.PasswordInfo(ctx, u.ID)
		d.Users = append(d.Users, userRow{User: u, OrgName: names[u.OrgID], Info: info})
	}
	return d
}

func (m *Web) usersPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "users", &webView{Title: "用户", Data: m.usersData(r)})
}

func (m *Web) usersPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	id := r.FormValue("id")
	var err error
	msg := ""
	var nu certseal.User
	switch r.FormValue("action") {
	case "create":
		nu = certseal.User{Username: strings.TrimSpace(r.FormValue("username")), Name: strings.TrimSpace(r.FormValue("name")),
			OrgID: r.FormValue("org_id"), Role: certseal.Role(r.FormValue("role"))}
		all, _, _ := m.Orgs.List(ctx, orgs.OrgFilter{}, "", 1000)
		if errs := userFormErrs(nu, all); len(errs) > 0 {
			d := m.usersData(r)
			d.New = nu
			m.failForm(w, r, "users", &webView{Title: "用户", Data: d}, errs)
			return
		}
		var u certseal.User
		if u, err = m.Orgs.CreateUser(ctx, actor, nu); err == nil {
			msg = "已添加用户 " + u.Username + "，请为其设置密码。"
		}
	case "password":
		var pw string
		var generated bool
		if pw, generated, err = m.Orgs.ResetPassword(ctx, actor, id, r.FormValue("password")); err == nil {
			u, _ := m.Orgs.GetUser(ctx, id) // SetPassword ended the user's sessions
			msg = "已为 " + u.Username + " 设置密码，用户首次登录后须修改。"
			if generated {
				msg = "已为 " + u.Username + " 生成初始密码：" + pw + " （只显示这一次，请当面或通过安全渠道告知本人）"
			}
		}
	case "disable", "enable":
		var u certseal.User
		if u, err = m.Orgs.SetUserDisabled(ctx, actor, id, r.FormValue("action") == "disable"); err == nil {
			msg = "已停用 " + u.Username + "。"
			if !u.Disabled { // disabling ended the user's sessions
				msg = "已启用 " + u.Username + "。"
			}
		}
	default:
		err = certseal.Errorf(certseal.EInvalid, "未知的操作")
	}
	if err != nil {
		d := m.usersData(r)
		d.New = nu
		m.fail(w, r, "users", &webView{Title: "用户", Data: d}, err)
		return
	}
	m.done(w, r, "/admin/users", msg)
}

type itemsData struct {
	Items []catalogue.Item
	New   catalogue.Item
	Orgs  []certseal.Org
}

func (m *Web) itemsData(r *http.Request) *itemsData {
	d := &itemsData{}
	d.Items, _, _ = m.Catalogue.ListItems(r.Context(), catalogue.ItemFilter{Query: r.URL.Query().Get("q")}, "", 1000)
	d.Orgs, _ = m.countyOrgs(r.Context())
	return d
}

func (m *Web) itemsPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "items", &webView{Title: "政务服务事项目录", Data: m.itemsData(r)})
}

func (m *Web) itemsPost(w http.ResponseWriter, r *http.Request) {
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	it := catalogue.Item{Code: f("code"), Name: f("name"), LegalBasis: f("legal_basis"), ItemType: f("item_type"), Level: f("level"),
		HandlingOrgID: f("handling_org_id"), Transferred: r.FormValue("transferred") == "1"}
	created, err := m.Catalogue.CreateItem(r.Context(), webActor(r), it)
	if err != nil {
		d := m.itemsData(r)
		d.New = it
		m.fail(w, r, "items", &webView{Title: "政务服务事项目录", Data: d}, err)
		return
	}
	m.done(w, r, "/admin/catalogue", "已添加事项“"+created.Name+"”。")
}

type typeRow struct {
	catalogue.LicenceType
	Responsible string
	Bindings    []catalogue.Binding
}

type typesData struct {
	Types []typeRow
	Items []catalogue.Item
}

func (m *Web) typesData(r *http.Request) *typesData {
	ctx := r.Context()
	d := &typesData{}
	names := m.orgNames(r)
	ts, _ := m.allTypes(ctx)
	for _, t := range ts {
		bs, _ := m.Catalogue.BindingsOfType(ctx, t.Code)
		d.Types = append(d.Types, typeRow{LicenceType: t, Responsible: names[t.ResponsibleOrgID], Bindings: bs})
	}
	d.Items, _, _ = m.Catalogue.ListItems(ctx, catalogue.ItemFilter{}, "", 1000)
	return d
}

func (m *Web) typesPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "types", &webView{Title: "证照类型与事项绑定", Data: m.typesData(r)})
}

func (m *Web) typesPost(w http.ResponseWriter, r *http.Request) {
	typ, item := r.FormValue("type"), strings.TrimSpace(r.FormValue("item"))
	var err error
	msg := ""
	if r.FormValue("action") == "unbind" {
		if err = m.Catalogue.Unbind(r.Context(), webActor(r), typ, item); err == nil {
			msg = "已解除绑定 " + item + "。"
		}
	} else {
		if _, err = m.Catalogue.Bind(r.Context(), webActor(r), typ, item); err == nil {
			msg = "已绑定事项 " + item + "。"
		}
	}
	if err != nil {
		m.fail(w, r, "types", &webView{Title: "证照类型与事项绑定", Data: m.typesData(r)}, err)
		return
	}
	m.done(w, r, "/admin/types", msg)
}

type templatesData struct {
	List     []templates.Record
	Selected *templates.Record
	Fields   []issueField
	Number   string
}

func (m *Web) templatesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &templatesData{}
	v := &webView{Title: "证照模板", Data: d}
	var err error
	if d.List, err = m.Templates.List(ctx); err != nil {
		m.fail(w, r, "templates", v, err)
		return
	}
	id := r.URL.Query().Get("id")
	if id == "" && len(d.List) > 0 {
		id = d.List[0].ID
	}
	if id != "" {
		rec, err := m.Templates.Get(ctx, id, 0)
		if err != nil {
			m.fail(w, r, "templates", v, err)
			return
		}
		d.Selected = &rec
		sample := rec.Template.SampleDocument()
		d.Number = sample.LicenceNumber
		for _, f := range rec.Template.Fields {
			d.Fields = append(d.Fields, issueField{Field: f, Value: sample.Values[f.Name]})
		}
	}
	m.render(w, r, http.StatusOK, "templates", v)
}

// templatePreview renders the template with the values of the form (the sample's where
// empty) and answers the PDF; errors are plain text for the page's script to show.
func (m *Web) templatePreview(w http.ResponseWriter, r *http.Request) {
	rec, err := m.Templates.Get(r.Context(), r.FormValue("id"), 0)
	if err != nil {
		http.Error(w, certseal.ErrorMessage(err), server.HTTPStatus(err))
		return
	}
	d := rec.Template.SampleDocument()
	for _, f := range rec.Template.Fields {
		if v, ok := r.Form["f."+f.Name]; ok {
			if s := strings.TrimSpace(v[0]); s != "" {
				d.Values[f.Name] = s
			} else {
				delete(d.Values, f.Name)
			}
		}
	}
	if n := strings.TrimSpace(r.FormValue("number")); n != "" {
		d.LicenceNumber = n
	}
	if r.FormValue("mode") == "overlay" {
		d.Mode = templates.Overlay
	}
	d.Created = m.Clock.Now()
	if err := rec.Template.CheckValues(d.Values); err != nil {
		http.Error(w, certseal.ErrorMessage(err), http.StatusBadRequest)
		return
	}
	pdf, err := m.Renderer.Render(rec.Template, d)
	if err != nil {
		http.Error(w, certseal.ErrorMessage(err), http.StatusBadRequest)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	server.WritePDF(w, rec.ID+"-预览.pdf", pdf)
}

type sealRow struct {
	seals.Seal
	Effective seals.Status
	Types     []string
}

type sealsData struct {
	Seals []sealRow
	Admin bool
	// The registration form (admin): organisations that may own seals, licence types, and what
	// was entered when it was refused.
	Orgs  []certseal.Org
	Types []catalogue.LicenceType
	New   newSealForm
}

// newSealForm is what the registration form holds.
type newSealForm struct {
	seals.NewSeal
	ValidTo string
	// Algorithms are the registrations asked for: ecdsa-p256, sm2, or both (the SM2 twin of
	// the same physical seal, same code).
	Algorithms []string
	// Preview is the drawing of the seal as entered (SVG), when the clerk asked for it.
	Preview []byte
}

// KindsFor returns the organisation kinds a role fits (certseal.RoleFits), space-separated, for
// the user form's script to offer only the roles that fit the chosen organisation.
func (d *usersData) KindsFor(r certseal.Role) string {
	var out []string
	for _, k := range certseal.OrgKinds {
		if certseal.RoleFits(r, k) {
			out = append(out, string(k))
		}
	}
	return strings.Join(out, " ")
}

// Picks reports whether the form picked licence type code.
func (f newSealForm) Picks(code string) bool { return slices.Contains(f.LicenceTypes, code) }

// PreviewURL is the drawing as a data: URL for an <img> (the page's CSP keeps inline SVG's
// style out; an image is drawn apart from it).
func (f newSealForm) PreviewURL() template.URL {
	return template.URL("data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString(f.Preview))
}

// HasAlg reports whether the form asks for a registration with the algorithm.
func (f newSealForm) HasAlg(alg string) bool { return slices.Contains(f.Algorithms, alg) }

// sealFormOf reads the registration form: at most the values the form has, each trimmed; an
// unknown size or algorithm is kept for Create (or sealFormErrs) to name.
func sealFormOf(form url.Values) newSealForm {
	f := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	n := newSealForm{NewSeal: seals.NewSeal{
		Name: f("name"), OrgID: f("org_id"), Type: seals.SealType(f("type")), Code: f("code"),
		Auth: seals.AuthDoc{Number: f("auth_number"), Date: f("auth_date")}, Algorithm: seals.AlgECDSAP256,
	}, ValidTo: f("valid_to")}
	types := form["licence_types"]
	if len(types) > seals.MaxLicenceTypes+1 {
		types = types[:seals.MaxLicenceTypes+1] // Create names the limit
	}
	n.LicenceTypes = types
	for _, a := range form["algorithm"] {
		if a = strings.TrimSpace(a); a != "" && !slices.Contains(n.Algorithms, a) && len(n.Algorithms) < 3 {
			n.Algorithms = append(n.Algorithms, a)
		}
	}
	if len(n.Algorithms) == 0 && form.Get("algorithm_form") == "" {
		n.Algorithms = []string{seals.AlgECDSAP256} // a client without the checkboxes
	}
	if len(n.Algorithms) > 0 {
		n.Algorithm = n.Algorithms[0]
	}
	switch f("diameter_mm") {
	case "", "42":
		n.DiameterMM = 42
	case "45":
		n.DiameterMM = 45
	default:
		n.DiameterMM = -1 // not a size the form offers
	}
	return n
}

// sealFormErrs checks what the form itself can tell: the size and the algorithms, and for a
// preview the name and the code it draws (Create checks it all again, and the rest).
func sealFormErrs(n newSealForm, preview bool) webErrs {
	var e webErrs
	if n.DiameterMM != 42 && n.DiameterMM != 45 {
		e.addMsg("diameter_mm", "印章尺寸", "请选择 42 毫米或 45 毫米")
	}
	if len(n.Algorithms) == 0 {
		e.addMsg("algorithm", "签名算法", "请至少选择一种签名算法")
	}
	for _, a := range n.Algorithms {
		if a != seals.AlgECDSAP256 && a != seals.AlgSM2 {
			e.addMsg("algorithm", "签名算法", "请选择 ECDSA P-256 和（或）SM2 国密")
		}
	}
	if !preview {
		return e // Create names the first of the rest
	}
	if strings.TrimSpace(n.Name) == "" {
		e.addMsg("name", "印章名称", "不能为空")
	} else if utf8.RuneCountInString(n.Name) > seals.MaxSealNameLen {
		e.addMsg("name", "印章名称", fmt.Sprintf("不能超过 %d 个字", seals.MaxSealNameLen))
	}
	if !seals.ValidSealCode(n.Code) {
		e.addMsg("code", "公章编码", "印章编码应为 13 位数字")
	}
	return e
}

func (m *Web) sealsData(r *http.Request) *sealsData {
	ctx := r.Context()
	d := &sealsData{Admin: webActor(r).Role == certseal.RoleAdmin}
	d.New.Algorithm = seals.AlgECDSAP256
	d.New.Algorithms = []string{seals.AlgECDSAP256}
	d.New.DiameterMM = seals.DefaultDiameterMM
	ss, _, _ := m.Seals.List(ctx, seals.SealFilter{}, "", 1000)
	types, _ := m.allTypes(ctx)
	if d.Admin {
		d.Types = types
		all, _, _ := m.Orgs.List(ctx, orgs.OrgFilter{}, "", 1000)
		for _, o := range all {
			if o.Kind == certseal.KindCountyBureau || o.Kind == certseal.KindCityCenter || o.Kind == certseal.KindCityDepartment || o.Kind == certseal.KindCountyDept {
				d.Orgs = append(d.Orgs, o)
			}
		}
	}
	tn := map[string]string{}
	for _, t := range types {
		tn[t.Code] = t.Name
	}
	now := m.Clock.Now()
	for _, s := range ss {
		row := sealRow{Seal: s, Effective: s.EffectiveStatus(now)}
		for _, c := range s.LicenceTypes {
			if n := tn[c]; n != "" {
				row.Types = append(row.Types, n)
			} else {
				row.Types = append(row.Types, c)
			}
		}
		d.Seals = append(d.Seals, row)
	}
	return d
}

func (m *Web) sealsPage(w http.ResponseWriter, r *http.Request) {
	m.render(w, r, http.StatusOK, "seals", &webView{Title: "电子印章", Data: m.sealsData(r)})
}

// sealsCreate registers a seal from the form (登记印章), ECDSA P-256, SM2 (国密) or both (the
// same seal registered twice, the SM2 twin with the same code), or draws it (action=preview)
// without saving anything.
func (m *Web) sealsCreate(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // a malformed body leaves the fields empty, and Create names the first
	ctx := r.Context()
	n := sealFormOf(r.Form)
	page := func(status int, errs webErrs, err error) {
		d := m.sealsData(r)
		d.New = n
		v := &webView{Title: "电子印章", Data: d}
		switch {
		case len(errs) > 0:
			m.failForm(w, r, "seals", v, errs)
		case err != nil:
			m.fail(w, r, "seals", v, err)
		default:
			m.render(w, r, status, "seals", v)
		}
	}
	preview := r.FormValue("action") == "preview"
	if errs := sealFormErrs(n, preview); len(errs) > 0 {
		page(0, errs, nil)
		return
	}
	if preview {
		svg, err := m.drawNewSeal(r, n)
		if err != nil {
			page(0, webErrs{{Field: "name", Label: "印章图样", Message: certseal.ErrorMessage(err)}}, nil)
			return
		}
		n.Preview = svg
		page(http.StatusOK, nil, nil)
		return
	}
	to, err := time.ParseInLocation("2006-01-02", n.ValidTo, certseal.China)
	if err != nil {
		page(0, webErrs{{Field: "valid_to", Label: "有效期至", Message: "应为 YYYY-MM-DD 格式的日期"}}, nil)
		return
	}
	n.NewSeal.ValidTo = to.AddDate(0, 0, 1).Add(-time.Second)
	// A twin is registered only when both can be: its code must be free for every algorithm.
	all, _, err := m.Seals.List(ctx, seals.SealFilter{}, "", 1000)
	if err != nil {
		page(0, nil, err)
		return
	}
	for _, s := range all {
		if s.Code == n.Code && n.HasAlg(s.Algorithm) {
			page(0, webErrs{{Field: "code", Label: "公章编码", Message: fmt.Sprintf("%s 已被印章 %s（%s）使用", n.Code, s.ID, algLabel(s.Algorithm))}}, nil)
			return
		}
	}
	var made []string
	for _, alg := range n.Algorithms {
		one := n.NewSeal
		one.Algorithm = alg
		s, err := m.Seals.Create(ctx, webActor(r), one)
		if err != nil {
			if len(made) > 0 {
				err = certseal.Errorf(certseal.ErrorCode(err), "%s已登记；%s未登记：%s", strings.Join(made, "、"), algLabel(alg), certseal.ErrorMessage(err))
			}
			page(0, nil, err)
			return
		}
		made = append(made, "“"+s.Name+"”（"+s.ID+"，"+algLabel(s.Algorithm)+"）")
	}
	m.done(w, r, "/admin/seals", "已登记印章"+strings.Join(made, "、")+"。")
}

// algLabel names a signature algorithm for the pages.
func algLabel(alg string) string {
	if alg == seals.AlgSM2 {
		return "SM2 国密"
	}
	return "ECDSA P-256"
}

// drawNewSeal draws the seal the form describes, as it will look once registered.
func (m *Web) drawNewSeal(r *http.Request, n newSealForm) ([]byte, error) {
	o, err := m.Orgs.GetOrg(r.Context(), n.OrgID)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "请选择印章所属机构")
	}
	typ := n.Type
	if typ == "" {
		typ = seals.TypeDedicatedApproval
	}
	s := seals.Seal{Name: n.Name, OrgName: o.Name, Type: typ, Code: n.Code, DiameterMM: n.DiameterMM}
	pic, err := seals.Draw(s.Appearance())
	if err != nil {
		return nil, err
	}
	return pic.SVG(), nil
}

func (m *Web) sealsPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	if a := r.FormValue("action"); a == "create" || a == "preview" {
		m.sealsCreate(w, r)
		return
	}
	id, reason := r.FormValue("id"), strings.TrimSpace(r.FormValue("reason"))
	var err error
	var s seals.Seal
	if reason == "" {
		err = certseal.Errorf(certseal.EInvalid, "请填写原因").WithDetail("field", "reason")
	} else {
		switch r.FormValue("action") {
		case "suspend":
			s, err = m.Seals.Suspend(ctx, actor, id, reason)
		case "reinstate":
			s, err = m.Seals.Reinstate(ctx, actor, id, reason)
		case "revoke":
			s, err = m.Seals.Revoke(ctx, actor, id, reason)
		case "renew":
			var to time.Time
			if to, err = time.ParseInLocation("2006-01-02", r.FormValue("valid_to"), certseal.China); err != nil {
				err = certseal.Errorf(certseal.EInvalid, "续期后的有效期至应为 YYYY-MM-DD 格式的日期").WithDetail("field", "valid_to")
				break
			}
			if s, err = m.Seals.Renew(ctx, actor, id, to.AddDate(0, 0, 1).Add(-time.Second), reason); err == nil {
				m.done(w, r, "/admin/seals", "印章“"+s.Name+"”已续期至 "+s.ValidTo.In(certseal.China).Format("2006-01-02")+"，新证书序列号 "+s.CertSerial+"。")
				return
			}
		default:
			err = certseal.Errorf(certseal.EInvalid, "未知的操作")
		}
	}
	if err != nil {
		m.fail(w, r, "seals", &webView{Title: "电子印章", Data: m.sealsData(r)}, err)
		return
	}
	m.done(w, r, "/admin/seals", "印章“"+s.Name+"”现在的状态为“"+s.Status.Label()+"”。")
}

// --- demand rounds ---

type roundsData struct {
	Ready   bool
	Rounds  []demand.Round
	Round   *demand.Round
	Filings []demand.Filing
	Missing []demand.MissingOrg
	Types   []typeRow
	Year    int
	Admin   bool
}

func (m *Web) roundsData(r *http.Request) (*roundsData, error) {
	ctx := r.Context()
	actor := webActor(r)
	d := &roundsData{Ready: m.Demand != nil, Year: m.Clock.Now().In(certseal.China).Year(), Admin: actor.Role == certseal.RoleAdmin}
	if !d.Ready {
		return d, nil
	}
	ts, _ := m.paperTypes(ctx)
	for _, t := range ts {
		d.Types = append(d.Types, typeRow{LicenceType: t})
	}
	var err error
	if d.Rounds, err = m.Demand.Rounds(ctx, actor, demand.RoundFilter{}); err != nil {
		return d, err
	}
	id, _ := strconv.ParseUint(r.FormValue("round"), 10, 64)
	for i := range d.Rounds {
		if d.Rounds[i].ID == id || id == 0 && d.Round == nil {
			d.Round = &d.Rounds[i]
		}
	}
	if d.Round != nil {
		if d.Filings, err = m.Demand.Filings(ctx, actor, d.Round.ID, demand.FilingFilter{}); err != nil {
			return d, err
		}
		d.Missing, _ = m.Demand.Missing(ctx, actor, d.Round.ID)
	}
	return d, nil
}

func (m *Web) roundsPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.roundsData(r)
	v := &webView{Title: "需求征订", Data: d}
	if err != nil {
		m.fail(w, r, "rounds", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "rounds", v)
}

func (m *Web) roundsPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	if m.Demand == nil {
		m.errorPage(w, r, certseal.Errorf(certseal.EUnavailable, "需求征订服务尚未启用"))
		return
	}
	id, _ := strconv.ParseUint(r.FormValue("id"), 10, 64)
	round := r.FormValue("round")
	var err error
	msg := ""
	switch r.FormValue("action") {
	case "open":
		year, _ := strconv.Atoi(r.FormValue("year"))
		var deadline time.Time
		deadline, err = time.ParseInLocation("2006-01-02", r.FormValue("deadline"), certseal.China)
		if err != nil {
			err = certseal.Errorf(certseal.EInvalid, "请填写报送截止日期").WithDetail("field", "deadline")
			break
		}
		req := demand.RoundRequest{Kind: demand.Yearly, Year: year, Title: strings.TrimSpace(r.FormValue("title")),
			Notice: strings.TrimSpace(r.FormValue("notice")), Deadline: deadline.Add(24*time.Hour - time.Second)}
		for _, c := range r.Form["types"] {
			capN, _ := strconv.ParseInt(r.FormValue("cap."+c), 10, 64)
			req.Types = append(req.Types, demand.RoundTypeRequest{Code: c, Cap: capN})
		}
		if err = req.Validate(); err == nil {
			var rd demand.Round
			if rd, err = m.Demand.OpenRound(ctx, actor, req); err == nil {
				msg, round = "已发布“"+rd.Title+"”，各县区可以开始报送。", strconv.FormatUint(rd.ID, 10)
			}
		}
	case "close":
		if _, err = m.Demand.CloseRound(ctx, actor, id, demand.CloseRequest{Note: strings.TrimSpace(r.FormValue("note"))}); err == nil {
			msg = "征订已截止。"
		}
	case "approve":
		if _, err = m.Demand.ApproveFiling(ctx, actor, id, demand.ApproveRequest{Comment: strings.TrimSpace(r.FormValue("comment"))}); err == nil {
			msg = "报送单已审核通过。"
		}
	case "return":
		req := demand.ReturnRequest{Comment: strings.TrimSpace(r.FormValue("comment"))}
		if err = req.Validate(); err == nil {
			if _, err = m.Demand.ReturnFiling(ctx, actor, id, req); err == nil {
				msg = "报送单已退回修改。"
			}
		}
	case "plan":
		var p demand.Plan
		if p, err = m.Demand.MakePlan(ctx, actor, id, demand.PlanRequest{}); err == nil {
			msg = fmt.Sprintf("已生成下发计划第 %d 版，审核合计 %d 张。", p.Version, p.Approved)
		}
	default:
		err = certseal.Errorf(certseal.EInvalid, "未知的操作")
	}
	if err != nil {
		d, _ := m.roundsData(r)
		m.fail(w, r, "rounds", &webView{Title: "需求征订", Data: d}, err)
		return
	}
	m.done(w, r, "/admin/rounds?round="+round, msg)
}

// --- audit log ---

type auditData struct {
	Events []audit.Event
	Next   uint64
	Action string
	Check  *audit.Result
}

func (m *Web) auditPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := &auditData{Action: strings.TrimSpace(q.Get("action"))}
	v := &webView{Title: "审计日志", Data: d}
	before, _ := strconv.ParseUint(q.Get("before"), 10, 64)
	var err error
	d.Events, d.Next, err = m.Audit.List(r.Context(), audit.Filter{Action: d.Action}, before, 100)
	if err == nil && q.Get("check") == "1" {
		var res audit.Result
		res, err = m.Audit.Verify(r.Context())
		d.Check = &res
	}
	if err != nil {
		m.fail(w, r, "audit", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "audit", v)
}
