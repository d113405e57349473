package web

import (
	"net/http"
	"strconv"
	"strings"

	"certseal"
	"certseal/internal/orgs"
	"certseal/server"
)

// The sign-in, sign-out and account pages, over the session layer of session.go.

type loginData struct {
	Username string
	Next     string
	PreCSRF  string
}

func (m *Web) loginPage(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(webCookie); err == nil && m.sessions.get(c.Value) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d := &loginData{Next: safeNext(r.URL.Query().Get("next")), PreCSRF: m.preCSRF(w, r)}
	m.render(w, r, http.StatusOK, "login", &webView{Title: "登录", Data: d, Public: true})
}

func (m *Web) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	d := &loginData{Username: strings.TrimSpace(r.PostFormValue("username")), Next: safeNext(r.PostFormValue("next"))}
	v := &webView{Title: "登录", Data: d, Public: true}
	if ok, wait := m.login.Allow(server.ClientAddr(r)); !ok {
		d.PreCSRF = m.preCSRF(w, r)
		n := int(wait.Seconds()) + 1
		w.Header().Set("Retry-After", strconv.Itoa(n))
		m.fail(w, r, "login", v, certseal.Errorf(certseal.ERateLimited, "登录请求过于频繁，请%d秒后再试", n))
		return
	}
	if !m.preCSRFOK(r) {
		// Not 403: the role table's check posts to every public route without a cookie. The
		// form is shown again with a fresh token; nothing was done.
		d.PreCSRF = m.preCSRF(w, r)
		v.Error = "页面已过期，请重新输入用户名和密码。"
		m.render(w, r, http.StatusBadRequest, "login", v)
		return
	}
	d.PreCSRF = m.preCSRF(w, r)
	u, err := m.Orgs.CheckPassword(r.Context(), server.ClientAddr(r), d.Username, r.PostFormValue("password"))
	if err != nil {
		server.SetRetryAfter(w, err)
		m.fail(w, r, "login", v, err)
		return
	}
	if c, err := r.Cookie(webCookie); err == nil { // a new id at every sign-in
		if old := m.sessions.get(c.Value); old != nil {
			m.sessions.delete(old)
		}
	}
	id, err := m.sessions.create(u.ID)
	if err != nil {
		m.fail(w, r, "login", v, err)
		return
	}
	setCookie(w, r, webCookie, id, 0)
	to := d.Next
	if info, err := m.Orgs.PasswordInfo(r.Context(), u.ID); err == nil && info.MustChange {
		sess := m.sessions.get(id)
		m.sessions.setFlash(sess, "您的密码由管理员设置，请先修改为只有您自己知道的密码。")
		to = "/account"
	}
	if to == "" {
		to = webHome(u.Role)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (m *Web) logout(w http.ResponseWriter, r *http.Request) {
	m.sessions.delete(webSessionOf(r))
	setCookie(w, r, webCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

type accountData struct {
	Info orgs.PasswordInfo
}

func (m *Web) account(w http.ResponseWriter, r *http.Request) {
	info, _ := m.Orgs.PasswordInfo(r.Context(), webSessionOf(r).userID)
	m.render(w, r, http.StatusOK, "account", &webView{Title: "我的账号", Data: accountData{Info: info}})
}

func (m *Web) accountPost(w http.ResponseWriter, r *http.Request) {
	sess := webSessionOf(r)
	v := &webView{Title: "我的账号", Data: accountData{}}
	if r.FormValue("new") != r.FormValue("new2") {
		m.fail(w, r, "account", v, certseal.Errorf(certseal.EInvalid, "两次输入的新密码不一致").WithDetail("field", "new2"))
		return
	}
	if err := m.Orgs.ChangePassword(r.Context(), webActor(r), r.FormValue("old"), r.FormValue("new")); err != nil {
		server.SetRetryAfter(w, err)
		m.fail(w, r, "account", v, err)
		return
	}
	// The change ended every session of the user (other browsers signed in with the old
	// password); this browser gets a new one.
	m.sessions.dropExtra(sess.key)
	id, err := m.sessions.create(sess.userID)
	if err != nil {
		setCookie(w, r, webCookie, "", -1)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	setCookie(w, r, webCookie, id, 0)
	m.sessions.setFlash(&webSession{key: orgs.SessionKey(id)}, "密码已修改。")
	http.Redirect(w, r, "/account", http.StatusSeeOther)
}
