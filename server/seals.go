package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"certseal"
	"certseal/seals"
)

// MaxPDFBytes is the largest PDF that POST /api/v1/seals/validate accepts (20 MiB).
const MaxPDFBytes = 20 << 20

// SealAPI is the HTTP module of the seal registry: /api/v1/seals and /api/v1/ca.
type SealAPI struct {
	reg   *seals.Registry
	clock certseal.Clock

	mu   sync.Mutex
	pngs map[string][]byte // rendered PNGs by seal id, version and resolution
}

// NewSealAPI returns the HTTP module over the registry; clock tells the effective status (nil:
// the system clock). It never fails.
func NewSealAPI(reg *seals.Registry, clock certseal.Clock) *SealAPI {
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	return &SealAPI{reg: reg, clock: clock, pngs: map[string][]byte{}}
}

// Routes returns the seal registry's routes.
func (m *SealAPI) Routes() []Route {
	officers := []certseal.Role{certseal.RoleAdmin, certseal.RoleBureauOfficer, certseal.RoleAuditor}
	return []Route{
		{Method: "GET", Path: "/api/v1/seals", Name: "seals.list", Roles: AllRoles, Handler: m.list},
		{Method: "POST", Path: "/api/v1/seals", Name: "seals.create", Roles: AdminOnly, Handler: m.create},
		{Method: "POST", Path: "/api/v1/seals/validate", Name: "seals.validate", Roles: AllRoles, Handler: m.validate},
		{Method: "GET", Path: "/api/v1/seals/{id}", Name: "seals.get", Roles: AllRoles, Handler: m.get},
		{Method: "POST", Path: "/api/v1/seals/{id}/suspend", Name: "seals.suspend", Roles: AdminOnly, Handler: m.status(m.reg.Suspend)},
		{Method: "POST", Path: "/api/v1/seals/{id}/reinstate", Name: "seals.reinstate", Roles: AdminOnly, Handler: m.status(m.reg.Reinstate)},
		{Method: "POST", Path: "/api/v1/seals/{id}/revoke", Name: "seals.revoke", Roles: AdminOnly, Handler: m.status(m.reg.Revoke)},
		{Method: "POST", Path: "/api/v1/seals/{id}/renew", Name: "seals.renew", Roles: AdminOnly, Handler: m.renew},
		{Method: "GET", Path: "/api/v1/seals/{id}/image.svg", Name: "seals.image_svg", Public: true, Handler: m.imageSVG},
		{Method: "GET", Path: "/api/v1/seals/{id}/image.png", Name: "seals.image_png", Public: true, Handler: m.imagePNG},
		{Method: "PUT", Path: "/api/v1/seals/{id}/scan", Name: "seals.scan_put", Roles: AdminOnly, Handler: m.putScan},
		{Method: "DELETE", Path: "/api/v1/seals/{id}/scan", Name: "seals.scan_delete", Roles: AdminOnly, Handler: m.deleteScan},
		{Method: "GET", Path: "/api/v1/seals/{id}/uses", Name: "seals.uses", Roles: officers, Handler: m.uses},
		{Method: "GET", Path: "/api/v1/ca/certificate", Name: "ca.certificate", Public: true, Handler: m.caCertificate},
		{Method: "GET", Path: "/api/v1/ca/crl", Name: "ca.crl", Public: true, Handler: m.crl},
		{Method: "GET", Path: "/api/v1/seals/{id}/eseal", Name: "seals.eseal", Public: true, Handler: m.eseal},
		{Method: "GET", Path: "/api/v1/ca/sm2/certificate", Name: "ca.sm2_certificate", Public: true, Handler: m.sm2CACertificate},
		{Method: "GET", Path: "/api/v1/ca/sm2/crl", Name: "ca.sm2_crl", Public: true, Handler: m.sm2CRL},
	}
}

// sealView is a seal as the API shows it.
type sealView struct {
	seals.Seal
	EffectiveStatus seals.Status `json:"effective_status"`
	StatusLabel     string       `json:"status_label"`
	ImageSVG        string       `json:"image_svg"`
	ImagePNG        string       `json:"image_png"`
	ESeal           string       `json:"eseal,omitempty"` // an SM2 seal's SESeal (GB/T 38540)
}

func viewOf(s seals.Seal, now time.Time) sealView {
	eff := s.EffectiveStatus(now)
	if eff == seals.StatusUnknown {
		eff = s.Status
	}
	base := "/api/v1/seals/" + s.ID
	if s.LicenceTypes == nil {
		s.LicenceTypes = []string{}
	}
	v := sealView{Seal: s, EffectiveStatus: eff, StatusLabel: eff.Label(), ImageSVG: base + "/image.svg", ImagePNG: base + "/image.png"}
	if s.Algorithm == seals.AlgSM2 {
		v.ESeal = base + "/eseal"
	}
	return v
}

func (m *SealAPI) now(r *http.Request) time.Time { return m.clock.Now() }

// mayRead reports whether the caller may see the seal: admins and auditors see every seal,
// everyone else their own organisation's.
func mayRead(r *http.Request, s seals.Seal) bool {
	p := Principal(r)
	return seesAll(p) || s.OrgID == p.Org.ID
}

func (m *SealAPI) list(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := seals.SealFilter{OrgID: q.Get("org_id"), Status: seals.Status(q.Get("status")), Type: seals.SealType(q.Get("type"))}
	if p := Principal(r); !seesAll(p) {
		if f.OrgID != "" && f.OrgID != p.Org.ID {
			writeError(w, r, certseal.Errorf(certseal.EForbidden, "只能查看本机构的印章"))
			return
		}
		f.OrgID = p.Org.ID
	}
	items, next, err := m.reg.List(r.Context(), f, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	now := m.now(r)
	views := make([]sealView, len(items))
	for i, s := range items {
		views[i] = viewOf(s, now)
	}
	writeJSON(w, http.StatusOK, list(views, next))
}

type sealRequest struct {
	Name          string         `json:"name"`
	OrgID         string         `json:"org_id"`
	Type          seals.SealType `json:"type"`
	Code          string         `json:"code"`
	DiameterMM    float64        `json:"diameter_mm"`
	Authorisation seals.AuthDoc  `json:"authorisation"`
	LicenceTypes  []string       `json:"licence_types"`
	ValidFrom     string         `json:"valid_from"`
	ValidTo       string         `json:"valid_to"`
	Algorithm     string         `json:"algorithm"` // ecdsa-p256 (the default) or sm2
}

// parseTime reads a time given as RFC 3339 or as a date (YYYY-MM-DD, China time): the start of
// the day, or its last second when end is set.
func parseTime(field, s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, certseal.China); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Second)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, certseal.Errorf(certseal.EInvalid, "字段 %s 应为日期（YYYY-MM-DD）或 RFC 3339 时间", field).WithDetail("field", field)
	}
	return t, nil
}

func (m *SealAPI) create(w http.ResponseWriter, r *http.Request) {
	var req sealRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	from, err := parseTime("valid_from", req.ValidFrom, false)
	if err != nil {
		writeError(w, r, err)
		return
	}
	to, err := parseTime("valid_to", req.ValidTo, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := m.reg.Create(r.Context(), Actor(r), seals.NewSeal{
		Name: req.Name, OrgID: req.OrgID, Type: req.Type, Code: req.Code, DiameterMM: req.DiameterMM,
		Auth: req.Authorisation, LicenceTypes: req.LicenceTypes, ValidFrom: from, ValidTo: to, Algorithm: req.Algorithm,
	})
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/seals/"+s.ID)
	writeJSON(w, http.StatusCreated, viewOf(s, m.now(r)))
}

// readable returns the seal when the caller may see it, and ENotFound otherwise.
func (m *SealAPI) readable(r *http.Request) (seals.Seal, error) {
	id := Var(r, "id")
	s, err := m.reg.Get(r.Context(), id)
	if err == nil && !mayRead(r, s) {
		err = certseal.Errorf(certseal.ENotFound, "印章 %q 不存在", id)
	}
	return s, err
}

func (m *SealAPI) get(w http.ResponseWriter, r *http.Request) {
	s, err := m.readable(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(s, m.now(r)))
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (m *SealAPI) status(change func(ctx context.Context, actor certseal.Actor, id, reason string) (seals.Seal, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req reasonRequest
		if err := Decode(w, r, &req); err != nil {
			writeError(w, r, err)
			return
		}
		s, err := change(r.Context(), Actor(r), Var(r, "id"), req.Reason)
		if err != nil {
			writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, viewOf(s, m.now(r)))
	}
}

// renewRequest is the body of POST /api/v1/seals/{id}/renew.
type renewRequest struct {
	ValidTo string `json:"valid_to"` // YYYY-MM-DD (the end of that day, China time) or RFC 3339
	Reason  string `json:"reason"`
}

func (m *SealAPI) renew(w http.ResponseWriter, r *http.Request) {
	var req renewRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	to, err := parseTime("valid_to", req.ValidTo, true)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := m.reg.Renew(r.Context(), Actor(r), Var(r, "id"), to, req.Reason)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(s, m.now(r)))
}

// imageHeaders sets the caching headers of a seal picture and answers 304 when the client has
// this version; it reports whether the caller should still write the body.
func imageHeaders(w http.ResponseWriter, r *http.Request, s seals.Seal, variant, contentType string) bool {
	etag := fmt.Sprintf(`"%s-%d-%s"`, s.ID, s.UpdatedAt.UnixNano(), variant)
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return false
	}
	h.Set("Content-Type", contentType)
	return true
}

func (m *SealAPI) imageSVG(w http.ResponseWriter, r *http.Request) {
	pic, s, err := m.reg.Picture(r.Context(), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; img-src data:; style-src 'unsafe-inline'")
	if imageHeaders(w, r, s, "svg", "image/svg+xml") {
		w.Write(pic.SVG())
	}
}

// DefaultSealPxPerMM is the resolution of GET /api/v1/seals/{id}/image.png without px_per_mm:
// 8 pixels a millimetre, 336 pixels across a 42 mm seal.
const DefaultSealPxPerMM = 8

func (m *SealAPI) imagePNG(w http.ResponseWriter, r *http.Request) {
	px := float64(DefaultSealPxPerMM)
	if v := r.URL.Query().Get("px_per_mm"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 24 {
			writeError(w, r, badQuery("px_per_mm", "应为 1 至 24 的整数"))
			return
		}
		px = float64(n)
	}
	pic, s, err := m.reg.Picture(r.Context(), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	variant := "png" + strconv.Itoa(int(px))
	if !imageHeaders(w, r, s, variant, "image/png") {
		return
	}
	key := fmt.Sprintf("%s-%d-%s", s.ID, s.UpdatedAt.UnixNano(), variant)
	m.mu.Lock()
	data, ok := m.pngs[key]
	m.mu.Unlock()
	if !ok {
		data, err = pic.PNG(px)
		if err != nil {
			w.Header().Del("ETag")
			w.Header().Del("Cache-Control")
			writeError(w, r, err)
			return
		}
		m.mu.Lock()
		if len(m.pngs) >= 256 {
			clear(m.pngs)
		}
		m.pngs[key] = data
		m.mu.Unlock()
	}
	w.Write(data)
}

// readBody reads a request body of the given media type up to limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, mediaType, what string, limit int64) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != mediaType {
		return nil, &certseal.Error{Code: "unsupported_media", Message: fmt.Sprintf("请求体应为 %s（Content-Type: %s）", what, mediaType)}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, certseal.Errorf(certseal.ETooLarge, "%s超过 %d MB 上限", what, limit>>20)
	}
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取请求体")
	}
	if len(data) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "请求体为空，应为 %s", what)
	}
	return data, nil
}

func (m *SealAPI) putScan(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(w, r, "image/png", "PNG 图片", seals.MaxScanBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := m.reg.SetScan(r.Context(), Actor(r), Var(r, "id"), data)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(s, m.now(r)))
}

func (m *SealAPI) deleteScan(w http.ResponseWriter, r *http.Request) {
	s, err := m.reg.ClearScan(r.Context(), Actor(r), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewOf(s, m.now(r)))
}

func (m *SealAPI) uses(w http.ResponseWriter, r *http.Request) {
	pg, err := PageOf(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	s, err := m.readable(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := m.reg.Uses(r.Context(), s.ID, pg.Cursor, pg.Limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list(items, next))
}

func (m *SealAPI) caCertificate(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "pem" && format != "der" {
		writeError(w, r, badQuery("format", "应为 pem 或 der"))
		return
	}
	ca, err := m.reg.CA(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	if format == "der" {
		h.Set("Content-Type", "application/pkix-cert")
		h.Set("Content-Disposition", `attachment; filename="certseal-root-ca.cer"`)
		w.Write(ca.Cert.Raw)
		return
	}
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Disposition", `inline; filename="certseal-root-ca.pem"`)
	w.Write(ca.CertificatePEM())
}

func (m *SealAPI) crl(w http.ResponseWriter, r *http.Request) {
	der, err := m.reg.CRL(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("Content-Disposition", `attachment; filename="certseal.crl"`)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(der)
}

// eseal serves an SM2 seal's SESeal (GB/T 38540 v4, DER): public, like the seal's picture.
func (m *SealAPI) eseal(w http.ResponseWriter, r *http.Request) {
	der, s, err := m.reg.ESeal(r.Context(), Var(r, "id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !imageHeaders(w, r, s, "eseal", "application/octet-stream") {
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+s.ID+`.eseal"`)
	w.Write(der)
}

func (m *SealAPI) sm2CACertificate(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format != "" && format != "pem" && format != "der" {
		writeError(w, r, badQuery("format", "应为 pem 或 der"))
		return
	}
	ca, err := m.reg.SM2CA(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	if format == "der" {
		h.Set("Content-Type", "application/pkix-cert")
		h.Set("Content-Disposition", `attachment; filename="certseal-sm2-root-ca.cer"`)
		w.Write(ca.Cert.Raw)
		return
	}
	h.Set("Content-Type", "application/x-pem-file")
	h.Set("Content-Disposition", `inline; filename="certseal-sm2-root-ca.pem"`)
	w.Write(ca.CertificatePEM())
}

func (m *SealAPI) sm2CRL(w http.ResponseWriter, r *http.Request) {
	der, err := m.reg.SM2CRL(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("Content-Disposition", `attachment; filename="certseal-sm2.crl"`)
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(der)
}

// signatureView is one signature of a validated PDF, as the API shows it.
type signatureView struct {
	Valid           bool         `json:"valid"`
	Modified        bool         `json:"modified"`
	Trusted         bool         `json:"trusted"`
	CertValidNow    bool         `json:"cert_valid_now"`
	Registered      bool         `json:"registered"`
	SealID          string       `json:"seal_id,omitempty"`
	SealName        string       `json:"seal_name,omitempty"`
	Org             string       `json:"org,omitempty"`
	Code            string       `json:"code,omitempty"`
	Serial          string       `json:"cert_serial,omitempty"`
	Issuer          string       `json:"issuer,omitempty"`
	SigningTime     *time.Time   `json:"signing_time,omitempty"`
	Reason          string       `json:"reason,omitempty"`
	ByteRange       [4]int64     `json:"byte_range"`
	StatusAtSigning seals.Status `json:"status_at_signing"`
	StatusNow       seals.Status `json:"status_now"`
	Problems        []string     `json:"problems"`
}

// ValidationResult is the answer of POST /api/v1/seals/validate.
type ValidationResult struct {
	Signatures []signatureView `json:"signatures"`
	// AllValid is true when there is at least one signature and every one is valid, trusted,
	// covers the whole file up to the last one, and was made while its seal was active.
	AllValid bool `json:"all_valid"`
}

// ValidationOf turns the registry's reports into the API's answer.
func ValidationOf(reps []seals.Report) ValidationResult {
	res := ValidationResult{Signatures: make([]signatureView, len(reps)), AllValid: len(reps) > 0}
	for i, rep := range reps {
		v := signatureView{
			Valid: rep.Valid, Modified: rep.Modified, Trusted: rep.Trusted, CertValidNow: rep.CertValidNow, Registered: rep.Registered,
			SealID: rep.SealID, SealName: rep.SealName, Org: rep.Org, Code: rep.Code, Serial: rep.Serial, Issuer: rep.Issuer,
			Reason: rep.Reason, ByteRange: rep.ByteRange, StatusAtSigning: rep.StatusAtSigning, StatusNow: rep.StatusNow,
			Problems: rep.Problems,
		}
		if !rep.Time.IsZero() {
			t := rep.Time
			v.SigningTime = &t
		}
		if v.Problems == nil {
			v.Problems = []string{}
		}
		last := i == len(reps)-1
		if !rep.Valid || !rep.Trusted || !rep.Registered || rep.StatusAtSigning != seals.StatusActive || (last && rep.Modified) {
			res.AllValid = false
		}
		res.Signatures[i] = v
	}
	return res
}

func (m *SealAPI) validate(w http.ResponseWriter, r *http.Request) {
	pdf, err := readBody(w, r, "application/pdf", "PDF 文件", MaxPDFBytes)
	if err != nil {
		writeError(w, r, err)
		return
	}
	reps, err := m.reg.ValidateWithStatus(r.Context(), pdf)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ValidationOf(reps))
}
