package server

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The OpenAPI 3 document is kept as YAML fragments under openapi/, one per part of the API, so
// that each part documents its own routes; they are merged (paths and components) at first use
// and served as JSON.
//
//go:embed openapi/*.yaml
var openapiFS embed.FS

var (
	openapiOnce sync.Once
	openapiDoc  []byte
	openapiErr  error
)

// OpenAPI returns the merged OpenAPI document as JSON, or an error when a fragment is not valid
// YAML or two fragments define the same path or schema.
func OpenAPI() ([]byte, error) {
	openapiOnce.Do(func() { openapiDoc, openapiErr = buildOpenAPI() })
	return openapiDoc, openapiErr
}

func buildOpenAPI() ([]byte, error) {
	names, err := fs.Glob(openapiFS, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	doc := map[string]any{}
	for _, name := range names {
		raw, err := openapiFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var frag map[string]any
		if err := yaml.Unmarshal(raw, &frag); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := merge(doc, frag, name, 0); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
}

// merge copies src into dst; maps are merged down to the level of individual paths and schemas,
// where a second definition is an error.
func merge(dst, src map[string]any, name string, depth int) error {
	for k, v := range src {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		om, ok1 := old.(map[string]any)
		nm, ok2 := v.(map[string]any)
		if !ok1 || !ok2 || depth >= 2 {
			return fmt.Errorf("%s: %q is defined twice", name, k)
		}
		if err := merge(om, nm, name, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := OpenAPI()
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(doc)
}
