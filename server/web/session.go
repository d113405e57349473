package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"certseal/internal/orgs"
	"certseal/server"
)

// The session and CSRF layer of the web pages, in this one file: sessions, the page wrapper
// that checks the session, the role and the CSRF token, and the pre-login CSRF tokens. The
// cookie holds 32 random bytes; the store keeps only their SHA-256, with the user, a
// per-session CSRF token and the times (orgs.CreateSession), so a restart signs no one out.
// Each user holds at most AuthLimits.SessionsPerUser sessions (a new sign-in ends that user's
// oldest), and the server at most AuthLimits.MaxSessions: when it is full of live sessions a
// new sign-in is refused, so that nobody can sign other users out by signing in many times. A
// password change or set and a disabled user end the user's sessions in the same transaction
// (package orgs). Only the flash message and the clerk's last preview are kept in memory.
const (
	webCookie    = "certseal_session"
	webPreCookie = "certseal_pre" // binds the CSRF token of the forms shown before signing in
	webIdle      = 2 * time.Hour
	webMaxAge    = 12 * time.Hour
	webCSRFField = "csrf"
	// webCSRFHeader may carry the CSRF token instead of the form field (for scripts).
	webCSRFHeader = "X-CSRF-Token"
)

// webSession is a live session as a request sees it.
type webSession struct {
	key    [32]byte // SHA-256 of the cookie value
	userID string
	csrf   string
}

// webExtra is what a session holds in memory only: lost at a restart, which costs nothing.
type webExtra struct {
	flash   string
	preview []byte // the clerk's last issue preview
	svg     []byte // the same preview as an SVG image
}

type webSessions struct {
	orgs   *orgs.Service
	limits orgs.SessionLimits
	log    *slog.Logger
	key    [32]byte // HMAC key of the pre-login CSRF tokens

	mu    sync.Mutex
	extra map[[32]byte]*webExtra
}

func newWebSessions(o *orgs.Service, l server.AuthLimits, log *slog.Logger) *webSessions {
	l = l.WithDefaults()
	s := &webSessions{orgs: o, log: log, extra: map[[32]byte]*webExtra{},
		limits: orgs.SessionLimits{PerUser: l.SessionsPerUser, Max: l.MaxSessions, Idle: webIdle, MaxAge: webMaxAge}}
	rand.Read(s.key[:])
	return s
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create starts a session for the user and returns the cookie value. A user at
// SessionsPerUser loses their own oldest session. It returns an *Error (EUnavailable) when the
// server holds MaxSessions live sessions; no other user's session is ended.
func (s *webSessions) create(userID string) (string, error) {
	id, _, err := s.orgs.CreateSession(context.Background(), userID, s.limits)
	return id, err
}

// get returns the live session of the cookie value, or nil (also when the store fails, which
// is logged).
func (s *webSessions) get(id string) *webSession {
	v, ok, err := s.orgs.Session(context.Background(), id, s.limits)
	if err != nil {
		s.log.Error("web session", "err", err)
	}
	if err != nil || !ok {
		if id != "" {
			s.dropExtra(orgs.SessionKey(id))
		}
		return nil
	}
	return &webSession{key: v.Key, userID: v.UserID, csrf: v.CSRF}
}

func (s *webSessions) delete(v *webSession) {
	if v == nil {
		return
	}
	if err := s.orgs.EndSession(context.Background(), v.key); err != nil {
		s.log.Error("web session end", "err", err)
	}
	s.dropExtra(v.key)
}

func (s *webSessions) dropExtra(k [32]byte) {
	s.mu.Lock()
	delete(s.extra, k)
	s.mu.Unlock()
}

// extraOf returns the in-memory part of a session; s.mu is held.
func (s *webSessions) extraOf(v *webSession) *webExtra {
	x := s.extra[v.key]
	if x == nil {
		x = &webExtra{}
		s.extra[v.key] = x
	}
	return x
}

func (s *webSessions) setFlash(v *webSession, msg string) {
	s.mu.Lock()
	s.extraOf(v).flash = msg
	s.mu.Unlock()
}

func (s *webSessions) takeFlash(v *webSession) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.extra[v.key]
	if x == nil {
		return ""
	}
	f := x.flash
	x.flash = ""
	return f
}

func (s *webSessions) setPreview(v *webSession, pdf, svg []byte) {
	s.mu.Lock()
	x := s.extraOf(v)
	x.preview, x.svg = pdf, svg
	s.mu.Unlock()
}

func (s *webSessions) takePreviewSVG(v *webSession) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.extra[v.key]; x != nil {
		return x.svg
	}
	return nil
}

func (s *webSessions) takePreview(v *webSession) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x := s.extra[v.key]; x != nil {
		return x.preview
	}
	return nil
}

// preToken returns the CSRF token of the pre-login forms for the pre-session cookie value.
func (s *webSessions) preToken(cookie string) string {
	mac := hmac.New(sha256.New, s.key[:])
	mac.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

type webSessionKey struct{}

// webSessionOf returns the session of a request that passed page(), or nil.
func webSessionOf(r *http.Request) *webSession {
	s, _ := r.Context().Value(webSessionKey{}).(*webSession)
	return s
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// page wraps a page handler: it finds the session (else sends the browser to the sign-in page),
// loads the user (a disabled user is signed out), checks the role (Allows), and checks the CSRF token of
// every POST (403 without it, compared in constant time).
func (m *Web) page(name, like string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var sess *webSession
		if c, err := r.Cookie(webCookie); err == nil {
			sess = m.sessions.get(c.Value)
		}
		if sess == nil {
			next := ""
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, "/login"+next, http.StatusSeeOther)
			return
		}
		p, err := m.Orgs.PrincipalOf(r.Context(), sess.userID)
		if err != nil {
			m.sessions.delete(sess)
			setCookie(w, r, webCookie, "", -1)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		r = server.WithPrincipal(r.WithContext(context.WithValue(r.Context(), webSessionKey{}, sess)), p)
		if r.Method == http.MethodPost {
			if r.ContentLength > webMaxForm {
				m.render(w, r, http.StatusRequestEntityTooLarge, "error", &webView{Title: "文件过大",
					Error: fmt.Sprintf("上传的内容超过 %d MB 上限，请拆分后再上传。", webMaxForm>>20)})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, webMaxForm)
			if !csrfOK(sess.csrf, csrfOf(r)) {
				m.render(w, r, http.StatusForbidden, "error", &webView{Title: "请求被拒绝",
					Error: "页面已过期或请求来源无法确认（缺少或错误的表单校验码），请刷新页面后重试。"})
				return
			}
		}
		if !m.Allows(server.Route{Name: name, Like: like}, p.User.Role) {
			m.render(w, r, http.StatusForbidden, "error", &webView{Title: "无权访问",
				Error: "角色“" + p.User.Role.Label() + "”无权使用此页面。"})
			return
		}
		h(w, r)
	}
}

// webMaxForm is the largest form a signed-in page accepts (a batch file of 20 MB and the rest).
const webMaxForm = 25 << 20

// csrfOf returns the CSRF token of a POST: the form body's field (never the query string's), or
// else the X-CSRF-Token header.
func csrfOf(r *http.Request) string {
	if v := r.PostFormValue(webCSRFField); v != "" {
		return v
	}
	return r.Header.Get(webCSRFHeader)
}

func csrfOK(want, got string) bool {
	return want != "" && got != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// safeNext returns the path on this site to go to after signing in, or "" for anything else.
// It accepts only an absolute path (with an optional query; a fragment is dropped) that has no
// scheme, host or user, no control characters, spaces or backslashes (which browsers read as
// slashes) either as written or once percent-decoded, does not start with "//" after decoding,
// and has no "." or ".." segments.
func safeNext(s string) string {
	if len(s) > 500 || !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || badNextChars(s) {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return ""
	}
	p := u.Path // decoded
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || badNextChars(p) {
		return ""
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return ""
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.RequestURI()
}

// badNextChars reports whether s holds a control character, a space or a backslash.
func badNextChars(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '\\' })
}

// preCSRF returns the pre-login CSRF token, setting the pre-session cookie when there is none.
func (m *Web) preCSRF(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(webPreCookie)
	v := ""
	if err == nil && len(c.Value) == 43 {
		v = c.Value
	} else {
		v = randomToken()
		setCookie(w, r, webPreCookie, v, 0)
	}
	return m.sessions.preToken(v)
}

// preCSRFOK checks the token of a pre-login form against the pre-session cookie.
func (m *Web) preCSRFOK(r *http.Request) bool {
	c, err := r.Cookie(webPreCookie)
	if err != nil {
		return false
	}
	return csrfOK(m.sessions.preToken(c.Value), csrfOf(r))
}
