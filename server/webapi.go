package server

import (
	"context"
	"net/http"

	"certseal"
	"certseal/certs"
	"certseal/internal/orgs"
)

// The surface of package server that the web pages (package server/web) use besides Route,
// RouteTable, AllRoles, Principal, Var, RequestID, RateLimiter, AuthLimits, WriteError and
// WriteJSON: the error and
// PDF writers the API uses too, so that a page and an API call answer alike. Nothing here is
// needed by anything else.

// NotFoundPager is a module that answers unknown addresses itself (the web pages' HTML 404):
// the router asks it before its JSON 404, and it reports whether it answered.
type NotFoundPager interface {
	NotFoundPage(w http.ResponseWriter, r *http.Request) bool
}

// WithPrincipal returns r carrying p as its authenticated caller (read by Principal), and names
// p's user in the request log; the web pages call it for a request with a valid session.
func WithPrincipal(r *http.Request, p orgs.Principal) *http.Request {
	noteWho(r, p)
	return r.WithContext(context.WithValue(r.Context(), keyPrincipal, &p))
}

// HTTPStatus returns the HTTP status an error's code maps to (500 for an unknown code).
func HTTPStatus(err error) int {
	if s, ok := statusOf[certseal.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// WritePDF answers a PDF document shown in the browser under the file name name.
func WritePDF(w http.ResponseWriter, name string, pdf []byte) { writePDF(w, name, pdf) }

// ReadPDF reads an uploaded PDF from the request (the raw body or the "file" form field),
// within the size limit the verification API has.
func ReadPDF(w http.ResponseWriter, r *http.Request) ([]byte, error) { return readPDF(w, r) }

// WantsHTML reports whether the client asks for HTML rather than JSON.
func WantsHTML(r *http.Request) bool { return wantsHTML(r) }

// StatusClass returns the CSS class of a certificate status.
func StatusClass(s certs.Status) string { return statusClass(s) }

// Disposition returns a Content-Disposition header value of kind ("attachment" or "inline")
// with an ASCII file name and its UTF-8 form.
func Disposition(kind, ascii, name string) string { return disposition(kind, ascii, name) }

// ClientAddr returns the client address a request is rate-limited by.
func ClientAddr(r *http.Request) string { return clientAddr(r) }

// SetRetryAfter sets the Retry-After header of a rate_limited error that says how long to wait.
func SetRetryAfter(w http.ResponseWriter, err error) { setRetryAfter(w, err) }

// WithDefaults returns the limits with each zero field set to its default.
func (l AuthLimits) WithDefaults() AuthLimits { return l.withDefaults() }

// Limiter returns a new per-address limiter of LoginBurst and LoginRate.
func (l AuthLimits) Limiter() *RateLimiter { return l.limiter() }
