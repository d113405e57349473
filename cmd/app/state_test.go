package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoPackageState fails when cmd/app keeps state in package-level variables (maps of
// services keyed by *App, say): every service is a field of App, built by Open. The two
// read-only values below are the exceptions.
func TestNoPackageState(t *testing.T) {
	allowed := map[string]bool{"DefaultGC": true, "DemoSealAuthorisation": true}
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files++
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, id := range spec.(*ast.ValueSpec).Names {
					if id.Name != "_" && !allowed[id.Name] {
						t.Errorf("%s: package-level variable %s: keep the App's state in its fields", fset.Position(id.Pos()), id.Name)
					}
				}
			}
		}
	}
	if files == 0 {
		t.Fatal("no source files found")
	}
}
