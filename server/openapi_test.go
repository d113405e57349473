package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"certseal/internal/testenv"
)

// TestOpenAPICoversRoutes fails when a route is missing from the OpenAPI document, or the
// document names a path the server does not have.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := testenv.Start(t)
	r := e.Must(200, "GET", "/api/v1/openapi.json", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.Decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	have := map[string]bool{}
	for _, rt := range e.App.Server.AllRoutes() {
		have[rt.Path] = true
		ops, ok := doc.Paths[rt.Path]
		if !ok {
			t.Errorf("route %s %s is not in the OpenAPI document", rt.Method, rt.Path)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("route %s %s: the document has the path but not the method", rt.Method, rt.Path)
		}
	}
	for p := range doc.Paths {
		if !have[p] {
			t.Errorf("the OpenAPI document names %s, which the server does not serve", p)
		}
	}
}
