package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"certseal"
	"certseal/certs/use"
)

// The use of certificates by other departments (用证, issue 20): consent codes for holders (public,
// rate limited), use requests and purpose-stamped copies for department users, the use log,
// standing authorisations for the city center.

func init() {
	statusOf[use.EConsentRequired] = http.StatusForbidden
	statusOf[use.EConsentInvalid] = http.StatusForbidden
}

// CopyVerifier tells a purpose-stamped copy (加注件) from a certificate in a verification: ok is
// false for a file that is not one of our copies. *use.Service implements it.
type CopyVerifier interface {
	Verify(ctx context.Context, file []byte) (use.Verdict, bool, error)
}

var _ CopyVerifier = (*use.Service)(nil)

// AllAndUserDept is AllRoles and the department users (用证部门), for the routes a department
// user needs beside its own: who am I, its API tokens, the catalogue items and licence types.
var AllAndUserDept = append(append([]certseal.Role{}, AllRoles...), certseal.RoleUserDept)

// UseAPI is the HTTP module of the use of certificates.
type UseAPI struct {
	Use    *use.Service
	Public *RateLimiter // the public consent routes, per client address
}

// NewUseAPI returns the use module; the public consent routes are limited to 1 request a second
// per client address with bursts of 10 (on top of the failure limits of the use service).
func NewUseAPI(u *use.Service) *UseAPI { return &UseAPI{Use: u, Public: NewRateLimiter(1, 10)} }

// Routes returns the module's routes: holders (public) ask for consent codes and read their
// certificate's use log; department users (user_dept) make uses and download copies;
// administrators manage authorisations; issuers read a certificate's uses.
func (m *UseAPI) Routes() []Route {
	dept := []certseal.Role{certseal.RoleUserDept}
	readers := []certseal.Role{certseal.RoleAdmin, certseal.RoleAuditor, certseal.RoleUserDept}
	return []Route{
		{Method: "POST", Path: "/api/v1/consents", Name: "consents.create", Public: true, Handler: m.Public.Limit(m.consent)},
		{Method: "POST", Path: "/api/v1/consents/log", Name: "consents.log", Public: true, Handler: m.Public.Limit(m.holderLog)},
		{Method: "POST", Path: "/api/v1/uses", Name: "uses.create", Roles: dept, Handler: m.create},
		{Method: "GET", Path: "/api/v1/uses", Name: "uses.list", Roles: readers, Handler: m.list},
		{Method: "GET", Path: "/api/v1/uses/{id}", Name: "uses.get", Roles: readers, Handler: m.get},
		{Method: "GET", Path: "/api/v1/uses/{id}/copy", Name: "uses.copy", Roles: readers, Handler: m.copy},
		{Method: "GET", Path: "/api/v1/certificates/{id}/uses", Name: "certs.uses", Roles: AllRoles, Handler: m.certUses},
		{Method: "GET", Path: "/api/v1/use-authorisations", Name: "use_auths.list", Roles: readers, Handler: m.auths},
		{Method: "POST", Path: "/api/v1/use-authorisations", Name: "use_auths.create", Roles: AdminOnly, Handler: m.createAuth},
		{Method: "PATCH", Path: "/api/v1/use-authorisations/{id}", Name: "use_auths.update", Roles: AdminOnly, Handler: m.updateAuth},
		{Method: "DELETE", Path: "/api/v1/use-authorisations/{id}", Name: "use_auths.revoke", Roles: AdminOnly, Handler: m.revokeAuth},
	}
}

// consentRequest is the JSON proof of possession: the licence number (or identifier) and the
// holder's code.
type consentRequest struct {
	Ref        string `json:"ref"`
	HolderCode string `json:"holder_code"`
}

// ReadProof reads a consent request: JSON {ref, holder_code}, or the certificate's file (a raw
// body of type application/pdf, application/ofd, application/zip or application/octet-stream,
// or a multipart form with a "file" part).
func ReadProof(w http.ResponseWriter, r *http.Request) (use.Proof, error) {
	ct := r.Header.Get("Content-Type")
	isFile := strings.HasPrefix(ct, "multipart/form-data") || strings.HasPrefix(ct, "application/pdf") || strings.HasPrefix(ct, "application/ofd") ||
		strings.HasPrefix(ct, "application/zip") || strings.HasPrefix(ct, "application/octet-stream")
	if !isFile {
		var in consentRequest
		if err := Decode(w, r, &in); err != nil {
			return use.Proof{}, err
		}
		return use.Proof{Ref: in.Ref, HolderCode: in.HolderCode}, nil
	}
	file, err := readPDF(w, r)
	if err != nil {
		return use.Proof{}, err
	}
	return use.Proof{File: file}, nil
}

func (m *UseAPI) consent(w http.ResponseWriter, r *http.Request) {
	p, err := ReadProof(w, r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	g, err := m.Use.IssueConsent(r.Context(), clientAddr(r), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, g)
}

// holderLogRequest asks for a certificate's use log with a live consent code.
type holderLogRequest struct {
	Ref         string `json:"ref"`
	ConsentCode string `json:"consent_code"`
}

func (m *UseAPI) holderLog(w http.ResponseWriter, r *http.Request) {
	var in holderLogRequest
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	es, err := m.Use.HolderLog(r.Context(), clientAddr(r), in.Ref, in.ConsentCode)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, list(es, ""))
}

func (m *UseAPI) create(w http.ResponseWriter, r *http.Request) {
	var in use.Request
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	u, err := m.Use.Make(r.Context(), Actor(r), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/uses/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
}

func (m *UseAPI) list(w http.ResponseWriter, r *http.Request) {
	format, err := exportFormat(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	from, to, err := period(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	f := use.Filter{OrgID: strings.TrimSpace(r.URL.Query().Get("org_id")), From: from, To: to}
	us, err := m.Use.List(r.Context(), Actor(r), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if format == "" {
		writeJSON(w, http.StatusOK, list(us, ""))
		return
	}
	var buf bytes.Buffer
	write := use.WriteCSV
	if format == "xlsx" {
		write = use.WriteXLSX
	}
	if err := write(&buf, us); err != nil {
		writeError(w, r, err)
		return
	}
	name := "用证记录"
	if !from.IsZero() {
		name += "-" + from.Format("20060102")
	}
	w.Header().Set("Content-Type", exportTypes[format])
	w.Header().Set("Content-Disposition", disposition("attachment", "certificate-uses."+format, name+"."+format))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.Copy(w, &buf)
}

func (m *UseAPI) get(w http.ResponseWriter, r *http.Request) {
	u, err := m.Use.Get(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (m *UseAPI) copy(w http.ResponseWriter, r *http.Request) {
	pdf, u, err := m.Use.Copy(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", disposition("attachment", "certificate-copy-"+u.ID+".pdf", u.LicenceName+"-加注件-"+u.ID+".pdf"))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(pdf)
}

// certificateUses is a certificate's uses and its use log, for its issuer.
type certificateUses struct {
	Items []use.Use   `json:"items"`
	Log   []use.Entry `json:"log"`
}

func (m *UseAPI) certUses(w http.ResponseWriter, r *http.Request) {
	id := Var(r, "id")
	us, err := m.Use.UsesOf(r.Context(), Actor(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	log, err := m.Use.Log(r.Context(), Actor(r), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, certificateUses{Items: us, Log: log})
}

func (m *UseAPI) auths(w http.ResponseWriter, r *http.Request) {
	as, err := m.Use.Authorisations(r.Context(), Actor(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(as, ""))
}

func (m *UseAPI) createAuth(w http.ResponseWriter, r *http.Request) {
	var in use.AuthorisationInput
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := m.Use.CreateAuthorisation(r.Context(), Actor(r), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/use-authorisations/"+a.ID)
	writeJSON(w, http.StatusCreated, a)
}

func (m *UseAPI) updateAuth(w http.ResponseWriter, r *http.Request) {
	var in use.AuthorisationInput
	if err := Decode(w, r, &in); err != nil {
		writeError(w, r, err)
		return
	}
	a, err := m.Use.UpdateAuthorisation(r.Context(), Actor(r), Var(r, "id"), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (m *UseAPI) revokeAuth(w http.ResponseWriter, r *http.Request) {
	a, err := m.Use.RevokeAuthorisation(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}
