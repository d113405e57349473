package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"certseal"
	"certseal/internal/orgs"
)

// Route is one API route and who may call it. The list of all routes, with their roles, is the
// role table of the service: a role not listed on a route gets 403.
type Route struct {
	Method string
	Path   string
	Name   string
	Roles  []certseal.Role // roles allowed; ignored when Public
	Public bool            // no login needed
	// Like names, on a web page, the API route whose operation the page performs: the page's
	// roles are that route's roles (see Server.Route), so a role is changed in one place.
	Like    string
	Handler http.HandlerFunc
}

// RouteTable looks up a route of the role table by its name.
type RouteTable interface {
	// Route returns the route named name, and whether there is one.
	Route(name string) (Route, bool)
}

// Role sets used in the route table.
var (
	AllRoles   = []certseal.Role{certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer, certseal.RoleClerk, certseal.RoleAuditor}
	AdminOnly  = []certseal.Role{certseal.RoleAdmin}
	AdminAudit = []certseal.Role{certseal.RoleAdmin, certseal.RoleAuditor}
)

// Allows reports whether role may call the route.
func (rt Route) Allows(role certseal.Role) bool {
	if rt.Public {
		return true
	}
	for _, r := range rt.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// Var returns the path variable name of the request.
func Var(r *http.Request, name string) string { return mux.Vars(r)[name] }

// authorize wraps a route's handler: it authenticates the bearer token and checks the role.
func (s *Server) authorize(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if !rt.Allows(p.User.Role) {
			writeError(w, r, certseal.Errorf(certseal.EForbidden, "角色“%s”无权执行此操作", p.User.Role.Label()))
			return
		}
		noteWho(r, p)
		ctx := context.WithValue(r.Context(), keyPrincipal, &p)
		rt.Handler(w, r.WithContext(ctx))
	})
}

func (s *Server) authenticate(r *http.Request) (orgs.Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return orgs.Principal{}, certseal.Errorf(certseal.EUnauthorized, "需要登录：请在 Authorization 头中提供 Bearer 令牌")
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return orgs.Principal{}, certseal.Errorf(certseal.EUnauthorized, "Authorization 头应为 “Bearer <令牌>”")
	}
	p, err := s.Orgs.Authenticate(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return p, err
	}
	if p.Stale {
		select {
		case s.touches <- p.TokenID:
		default: // the recorder is busy; the next request will try again
		}
	}
	return p, nil
}

// Principal returns the authenticated caller of a request that passed authorize.
func Principal(r *http.Request) orgs.Principal {
	p, _ := r.Context().Value(keyPrincipal).(*orgs.Principal)
	if p == nil {
		return orgs.Principal{}
	}
	return *p
}

// Actor returns the authenticated caller as the actor of a change.
func Actor(r *http.Request) certseal.Actor { return Principal(r).Actor() }

// AuthLimits limit signing in. A zero field takes its default.
type AuthLimits struct {
	// LoginBurst and LoginRate limit, per client address, the posts of the sign-in form and
	// the API token creations (each its own budget): LoginBurst at once, then LoginRate per
	// second. Over it the answer is 429 rate_limited with Retry-After. Defaults
	// DefaultLoginBurst and DefaultLoginRate.
	LoginBurst int
	LoginRate  float64
	// SessionsPerUser is how many web sessions one user may hold; a further sign-in ends that
	// user's oldest session. Default DefaultSessionsPerUser.
	SessionsPerUser int
	// MaxSessions is how many web sessions the server holds; when that many are live, a new
	// sign-in is refused (503 unavailable) rather than another user's session ended. Default
	// DefaultMaxSessions.
	MaxSessions int
	// Share is the number of nodes sharing the per-address limits (RateLimiter.Share; nil: one).
	Share func() int
}

// Defaults of AuthLimits.
const (
	DefaultLoginBurst      = 30
	DefaultLoginRate       = 0.5
	DefaultSessionsPerUser = 10
	DefaultMaxSessions     = 10000
)

func (l AuthLimits) withDefaults() AuthLimits {
	if l.LoginBurst <= 0 {
		l.LoginBurst = DefaultLoginBurst
	}
	if l.LoginRate <= 0 {
		l.LoginRate = DefaultLoginRate
	}
	if l.SessionsPerUser <= 0 {
		l.SessionsPerUser = DefaultSessionsPerUser
	}
	if l.MaxSessions <= 0 {
		l.MaxSessions = DefaultMaxSessions
	}
	return l
}

// limiter returns a new per-address limiter of LoginBurst and LoginRate.
func (l AuthLimits) limiter() *RateLimiter {
	l = l.withDefaults()
	rl := NewRateLimiter(l.LoginRate, float64(l.LoginBurst))
	rl.Share = l.Share
	return rl
}

// authLimiter holds the server's limiter of token creation, made from Server.Auth at first use.
type authLimiter struct {
	once sync.Once
	l    *RateLimiter
}

// limitTokens wraps the token creation handler with the per-address limit of Server.Auth.
func (s *Server) limitTokens(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.tokenLimit.once.Do(func() { s.tokenLimit.l = s.Auth.limiter() })
		s.tokenLimit.l.Limit(h)(w, r)
	}
}

// setRetryAfter sets the Retry-After header of a rate_limited error that says how long to wait
// (Detail["retry_after_seconds"]).
func setRetryAfter(w http.ResponseWriter, err error) {
	var e *certseal.Error
	if !errors.As(err, &e) || e.Code != certseal.ERateLimited {
		return
	}
	if n, ok := e.Detail["retry_after_seconds"].(int); ok && n > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(n))
	}
}
