package server_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServerHoldsNoStore fails when a non-test file of package server or server/web imports
// the store: the handlers reach the data through the services only (issue 13 point 5), and the
// database itself through the narrow Database interface the server declares.
func TestServerHoldsNoStore(t *testing.T) {
	for _, dir := range []string{".", "web"} { // package server and its web pages
		checkNoStore(t, dir)
	}
}

func checkNoStore(t *testing.T, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, im := range f.Imports {
			p, err := strconv.Unquote(im.Path.Value)
			if err != nil {
				t.Fatal(err)
			}
			if p == "certseal/internal/store" {
				t.Errorf("%s imports %s; go through a service method instead", fset.Position(im.Pos()), p)
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no source files found in %s", dir)
	}
}
