package web

import (
	"certseal/server"
	"context"
	"net/http"
	"strings"
)

// NotFoundPage answers an unknown address asked for by a browser with a Chinese HTML page in
// the layout (with the menu when the browser is signed in) and a link home, and reports true.
// It reports false, writing nothing, for the API (/api/...) and for clients that do not ask for
// HTML, which keep the JSON error. The router calls it before its JSON 404.
func (m *Web) NotFoundPage(w http.ResponseWriter, r *http.Request) bool {
	if strings.HasPrefix(r.URL.Path, "/api/") || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	if c, err := r.Cookie(webCookie); err == nil {
		if sess := m.sessions.get(c.Value); sess != nil {
			if p, err := m.Orgs.PrincipalOf(r.Context(), sess.userID); err == nil {
				r = server.WithPrincipal(r.WithContext(context.WithValue(r.Context(), webSessionKey{}, sess)), p)
			}
		}
	}
	m.render(w, r, http.StatusNotFound, "notfound", &webView{Title: "页面不存在", Data: r.URL.Path})
	return true
}
