package server

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"certseal"
	"certseal/certs/exchange"
	"certseal/internal/catalogue"
)

// ExchangeAPI is the HTTP module of the exchange with the provincial platform (与省平台交换):
// the change feed of issued certificates by sequence number, its file exports, the code
// tables, and the import of the provincial catalogue with the claim/bind step.
type ExchangeAPI struct {
	Exchange  *exchange.Service
	Catalogue *catalogue.Service
}

// NewExchangeAPI returns the exchange module.
func NewExchangeAPI(x *exchange.Service, c *catalogue.Service) *ExchangeAPI {
	return &ExchangeAPI{Exchange: x, Catalogue: c}
}

// Routes returns the module's routes. The feed and its files are for the city center's
// administrators and auditors only: they carry every bureau's certificates with the holders'
// full ID numbers, which a city department officer (who sees only the types of their line)
// may not read; a platform adapter runs with an auditor's token. The import and the claim
// change the catalogue, which only administrators manage.
func (m *ExchangeAPI) Routes() []Route {
	readers := []certseal.Role{certseal.RoleAdmin, certseal.RoleAuditor}
	admin := []certseal.Role{certseal.RoleAdmin}
	return []Route{
		{Method: "GET", Path: "/api/v1/exchange/changes", Name: "exchange.changes", Roles: readers, Handler: m.changes},
		{Method: "GET", Path: "/api/v1/exchange/changes.json", Name: "exchange.export_json", Roles: readers, Handler: m.exportOf("json")},
		{Method: "GET", Path: "/api/v1/exchange/changes.xml", Name: "exchange.export_xml", Roles: readers, Handler: m.exportOf("xml")},
		{Method: "GET", Path: "/api/v1/exchange/codes", Name: "exchange.codes", Roles: readers, Handler: m.codes},
		{Method: "POST", Path: "/api/v1/catalogue/import", Name: "catalogue.import", Roles: admin, Handler: m.importCatalogue},
		{Method: "POST", Path: "/api/v1/catalogue/claims", Name: "catalogue.claim", Roles: admin, Handler: m.claim},
	}
}

func (m *ExchangeAPI) changes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := exchange.ParseSeq(v)
		if err != nil {
			writeError(w, r, err.(*certseal.Error).WithDetail("field", "after"))
			return
		}
		after = n
	}
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, r, certseal.Errorf(certseal.EInvalid, "limit 应为1至%d", exchange.MaxLimit).WithDetail("field", "limit"))
			return
		}
		limit = n
	}
	p, err := m.Exchange.Changes(r.Context(), Actor(r), after, limit)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p)
}

func (m *ExchangeAPI) exportOf(format string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rg, err := exchange.ParseRange(r.URL.Query().Get)
		if err != nil {
			writeError(w, r, err)
			return
		}
		f, err := m.Exchange.Export(r.Context(), Actor(r), rg, format)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", f.Type+"; charset=utf-8")
		w.Header().Set("Content-Disposition", disposition("attachment", "certseal-exchange."+format, f.Name))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Exchange-Count", strconv.Itoa(f.Count))
		w.Write(f.Data)
	}
}

func (m *ExchangeAPI) codes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"format": exchange.Format, "operations": exchange.Ops, "statuses": exchange.Statuses})
}

// importName is the file name a catalogue upload is read as: the filename parameter, or one
// made from the content type.
func importName(r *http.Request) string {
	if n := r.URL.Query().Get("filename"); n != "" {
		return n
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		return "catalogue.json"
	case strings.HasPrefix(ct, "text/csv"):
		return "catalogue.csv"
	case strings.Contains(ct, "spreadsheetml"):
		return "catalogue.xlsx"
	}
	return "catalogue"
}

// ReadImport reads a catalogue upload from the body (at most catalogue.MaxImportFile bytes) and
// parses it. It returns an *certseal.Error: ETooLarge, or ParseImport's.
func ReadImport(w http.ResponseWriter, r *http.Request, name string) (*catalogue.Import, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, catalogue.MaxImportFile))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, certseal.Errorf(certseal.ETooLarge, "目录文件超过 %d MB 上限", catalogue.MaxImportFile>>20)
		}
		return nil, certseal.Errorf(certseal.EInvalid, "无法读取上传的文件")
	}
	return catalogue.ParseImport(name, data)
}

func (m *ExchangeAPI) importCatalogue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	dry := q.Get("dry_run")
	if dry != "" && dry != "true" && dry != "false" {
		writeError(w, r, certseal.Errorf(certseal.EInvalid, "dry_run 应为 true 或 false").WithDetail("field", "dry_run"))
		return
	}
	im, err := ReadImport(w, r, importName(r))
	if err != nil {
		writeError(w, r, err)
		return
	}
	var p catalogue.Plan
	if dry == "true" {
		p, err = m.Catalogue.PlanImport(r.Context(), im)
	} else {
		p, err = m.Catalogue.ApplyImport(r.Context(), Actor(r), im, q.Get("expect"))
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (m *ExchangeAPI) claim(w http.ResponseWriter, r *http.Request) {
	var req catalogue.ClaimRequest
	if err := Decode(w, r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := m.Catalogue.Claim(r.Context(), Actor(r), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
