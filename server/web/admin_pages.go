package web

import (
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"certseal"
	"certseal/internal/orgs"
	"certseal/seals"
	"certseal/server"
)

// The administration pages of issue #21 §3-4 beside admin.go's: editing an organisation, the
// API tokens of every user, a seal's scan and its use log. Each change goes through the service
// the API uses, so it is checked and audited the same way.

// deskAdminOnly narrows a page to the city center's administrator (not the auditor, who reads
// the lists but may not see tokens or edit).
var deskAdminOnly = []certseal.Role{certseal.RoleAdmin}

// --- organisations ---

type orgEditData struct {
	Org   certseal.Org
	Orgs  []certseal.Org // the possible parents
	Areas []certseal.Area
	// Edit is what the form holds (the stored values, or what was entered when it was refused).
	Edit certseal.Org
}

func (m *Web) orgEditData(r *http.Request) (*orgEditData, error) {
	o, err := m.Orgs.GetOrg(r.Context(), server.Var(r, "id"))
	if err != nil {
		return nil, err
	}
	d := &orgEditData{Org: o, Edit: o, Areas: certseal.GuangyuanAreas}
	all, _, err := m.Orgs.List(r.Context(), orgs.OrgFilter{}, "", 1000)
	for _, x := range all {
		if x.ID != o.ID {
			d.Orgs = append(d.Orgs, x)
		}
	}
	return d, err
}

func (m *Web) orgEditPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.orgEditData(r)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	m.render(w, r, http.StatusOK, "org", &webView{Title: "修改机构：" + d.Org.Name, Data: d})
}

// orgUpdate saves the edit form (orgs.UpdateOrg: kind and USCC never change; audited as
// org.update with the values before and after).
func (m *Web) orgUpdate(w http.ResponseWriter, r *http.Request) {
	d, err := m.orgEditData(r)
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	f := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	d.Edit.Name, d.Edit.AreaCode, d.Edit.ParentID = f("name"), f("area_code"), f("parent_id")
	v := &webView{Title: "修改机构：" + d.Org.Name, Data: d}
	if errs := orgFormErrs(d.Edit); len(errs) > 0 {
		m.failForm(w, r, "org", v, errs)
		return
	}
	if d.Edit.ParentID != "" && !slices.ContainsFunc(d.Orgs, func(o certseal.Org) bool { return o.ID == d.Edit.ParentID }) {
		m.failForm(w, r, "org", v, webErrs{{Field: "parent_id", Label: "上级机构", Message: "请选择上级机构"}})
		return
	}
	p := orgs.OrgPatch{Name: &d.Edit.Name, AreaCode: &d.Edit.AreaCode, ParentID: &d.Edit.ParentID}
	o, err := m.Orgs.UpdateOrg(r.Context(), webActor(r), d.Org.ID, p)
	if err != nil {
		m.fail(w, r, "org", v, err)
		return
	}
	m.done(w, r, "/admin/orgs", "已保存机构“"+o.Name+"”。")
}

// --- API tokens ---

type tokenRow struct {
	orgs.Token
	User certseal.User
}

type tokensData struct {
	Tokens []tokenRow
	Users  []certseal.User
	// New is the token just made: its secret is on this answer only, never stored or shown again.
	New    *tokenRow
	Secret string
	// Form is what the creation form held.
	UserID, Name string
}

func (m *Web) tokensData(r *http.Request) (*tokensData, error) {
	ctx := r.Context()
	d := &tokensData{}
	var err error
	if d.Users, _, err = m.Orgs.ListUsers(ctx, "", "", 1000); err != nil {
		return d, err
	}
	byID := map[string]certseal.User{}
	for _, u := range d.Users {
		byID[u.ID] = u
	}
	ts, err := m.Orgs.ListTokens(ctx, "")
	for i := len(ts) - 1; i >= 0; i-- { // newest first
		d.Tokens = append(d.Tokens, tokenRow{Token: ts[i], User: byID[ts[i].UserID]})
	}
	return d, err
}

func (m *Web) tokensPage(w http.ResponseWriter, r *http.Request) {
	d, err := m.tokensData(r)
	v := &webView{Title: "访问令牌", Data: d}
	if err != nil {
		m.fail(w, r, "tokens", v, err)
		return
	}
	m.render(w, r, http.StatusOK, "tokens", v)
}

// tokensPost creates a token for a user (answered on this page, once) or revokes one.
func (m *Web) tokensPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	actor := webActor(r)
	if actor.Role != certseal.RoleAdmin { // the API lets others make and revoke only their own
		m.errorPage(w, r, certseal.Errorf(certseal.EForbidden, "只有管理员可以管理其他用户的令牌"))
		return
	}
	switch r.FormValue("action") {
	case "create":
		userID, name := strings.TrimSpace(r.FormValue("user_id")), strings.TrimSpace(r.FormValue("name"))
		fail := func(errs webErrs, err error) {
			d, _ := m.tokensData(r)
			d.UserID, d.Name = userID, name
			v := &webView{Title: "访问令牌", Data: d}
			if err != nil {
				m.fail(w, r, "tokens", v, err)
				return
			}
			m.failForm(w, r, "tokens", v, errs)
		}
		var errs webErrs
		if userID == "" {
			errs.addMsg("user_id", "用户", "请选择令牌所属的用户")
		}
		if name == "" {
			errs.addMsg("name", "令牌名称", "请填写令牌的用途，如“业务系统对接”")
		} else if n := len([]rune(name)); n > 50 {
			errs.addMsg("name", "令牌名称", "不能超过50个字符")
		}
		if len(errs) > 0 {
			fail(errs, nil)
			return
		}
		t, secret, err := m.Orgs.CreateToken(ctx, actor, userID, name)
		if err != nil {
			if certseal.ErrorCode(err) == certseal.ENotFound {
				fail(webErrs{{Field: "user_id", Label: "用户", Message: certseal.ErrorMessage(err)}}, nil)
				return
			}
			fail(nil, err)
			return
		}
		d, err := m.tokensData(r)
		u, _ := m.Orgs.GetUser(ctx, userID)
		d.New, d.Secret = &tokenRow{Token: t, User: u}, secret
		v := &webView{Title: "访问令牌", Data: d, Flash: "已为 " + u.Username + " 创建令牌“" + t.Name + "”。令牌只显示这一次，请立即复制并妥善保存。"}
		if err != nil {
			m.fail(w, r, "tokens", v, err)
			return
		}
		m.render(w, r, http.StatusOK, "tokens", v)
	case "revoke":
		t, err := m.Orgs.RevokeToken(ctx, actor, r.FormValue("id"))
		if err != nil {
			d, _ := m.tokensData(r)
			m.fail(w, r, "tokens", &webView{Title: "访问令牌", Data: d}, err)
			return
		}
		m.done(w, r, "/admin/tokens", "已吊销令牌“"+t.Name+"”（编号 "+t.ID+"），它已立即失效。")
	default:
		m.errorPage(w, r, certseal.Errorf(certseal.EInvalid, "未知的操作"))
	}
}

// --- seals: scan and uses ---

// sealScan uploads a scan of the physical seal (a PNG with a transparent background) to stand
// for the drawing, or clears it (action=clear); seals.SetScan checks the image and audits.
func (m *Web) sealScan(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := server.Var(r, "id")
	var s seals.Seal
	var err error
	if r.FormValue("action") == "clear" {
		s, err = m.Seals.ClearScan(ctx, webActor(r), id)
	} else {
		var data []byte
		if data, err = scanFile(r); err == nil {
			s, err = m.Seals.SetScan(ctx, webActor(r), id, data)
		}
	}
	if err != nil {
		m.fail(w, r, "seals", &webView{Title: "电子印章", Data: m.sealsData(r)}, err)
		return
	}
	if s.HasScan {
		m.done(w, r, "/admin/seals", "已上传印章“"+s.Name+"”的扫描件，此后签章使用扫描件的图样。")
		return
	}
	m.done(w, r, "/admin/seals", "印章“"+s.Name+"”已改用系统绘制的图样。")
}

// scanFile returns the uploaded scan, at most seals.MaxScanBytes.
func scanFile(r *http.Request) ([]byte, error) {
	f, _, err := r.FormFile("file")
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "请选择印章扫描件（PNG 图片）").WithDetail("field", "file")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, seals.MaxScanBytes+1))
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的图片").WithDetail("field", "file")
	}
	if len(data) > seals.MaxScanBytes {
		return nil, certseal.Errorf(certseal.ETooLarge, "印章图片不能超过 %d MB", seals.MaxScanBytes>>20).WithDetail("field", "file")
	}
	return data, nil
}

type useRow struct {
	seals.Use
	CertID string // the certificate the use was about, when it was one
}

type sealUsesData struct {
	Seal seals.Seal
	Uses []useRow
	Next string
}

// sealUsesPage lists the seal's use log, newest first, 100 a page.
func (m *Web) sealUsesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := m.Seals.Get(ctx, server.Var(r, "id"))
	if err != nil {
		m.errorPage(w, r, err)
		return
	}
	d := &sealUsesData{Seal: s}
	v := &webView{Title: "用印记录：" + s.Name, Data: d}
	uses, next, err := m.Seals.Uses(ctx, s.ID, r.URL.Query().Get("before"), 100)
	if err != nil {
		m.fail(w, r, "seal_uses", v, err)
		return
	}
	d.Next = next
	for _, u := range uses {
		d.Uses = append(d.Uses, useRow{Use: u, CertID: useCert(u)})
	}
	m.render(w, r, http.StatusOK, "seal_uses", v)
}

// useCert returns the certificate a use was about, or "".
func useCert(u seals.Use) string {
	if id, ok := strings.CutPrefix(u.ObjectID, "certificate/"); ok {
		if _, err := strconv.ParseUint(id, 10, 64); err == nil {
			return id
		}
	}
	return ""
}
