package server

import (
	"net/http"

	"certseal"
	"certseal/internal/tsa"
	"certseal/internal/tsa/tsahttp"
)

// TSAPath is where the built-in time-stamp authority answers RFC 3161 requests over HTTP:
// POST with Content-Type application/timestamp-query; the reply is application/timestamp-reply.
const TSAPath = "/tsa"

// TSAAPI serves the city center's built-in time-stamp authority at TSAPath, when it is enabled
// (`certseal serve -tsa builtin`); otherwise the path answers 404.
type TSAAPI struct {
	// Authority returns the current authority (nil: the built-in TSA is not enabled).
	Authority func(r *http.Request) (*tsa.Authority, error)
}

// NewTSAAPI returns the module; authority may be nil (not enabled).
func NewTSAAPI(authority func(r *http.Request) (*tsa.Authority, error)) *TSAAPI {
	return &TSAAPI{Authority: authority}
}

// Routes returns POST /tsa, public: a TSA is asked by machines without accounts.
func (m *TSAAPI) Routes() []Route {
	return []Route{{Method: "POST", Path: TSAPath, Name: "tsa", Public: true, Handler: m.serve}}
}

func (m *TSAAPI) serve(w http.ResponseWriter, r *http.Request) {
	if m.Authority == nil {
		writeError(w, r, certseal.Errorf(certseal.ENotFound, "本服务未启用内置时间戳服务（启动参数 -tsa builtin）"))
		return
	}
	a, err := m.Authority(r)
	if err != nil {
		writeError(w, r, certseal.Errorf(certseal.EUnavailable, "时间戳服务暂时不可用"))
		return
	}
	tsahttp.Handler(a).ServeHTTP(w, r)
}

// TSAReporter tells /readyz about the time-stamp authority: its mode, name and PAdES level,
// and how the last request went.
type TSAReporter interface {
	TSAReport() map[string]any
}
