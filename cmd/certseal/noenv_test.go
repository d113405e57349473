package main_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// envReads are the functions that read the process environment, by import path.
var envReads = map[string]map[string]bool{
	"os":      {"Getenv": true, "LookupEnv": true, "Environ": true},
	"syscall": {"Getenv": true, "Environ": true},
}

// TestNoEnvOutsideCmd fails when a package outside cmd/certseal reads the environment (the wiring
// in cmd/app included): every flag and variable is read in cmd/certseal into app.Config and
// passed down. Test files and the test fixtures are excepted.
func TestNoEnvOutsideCmd(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel == "cmd/certseal" || rel == "internal/fixtures" || name == "testdata" || name == "vendor" || (rel != "." && strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		for _, bad := range envUses(f) {
			t.Errorf("%s: reads the environment; read it in cmd/certseal and pass it in app.Config", fset.Position(bad.Pos()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned only %d files: the walk missed the module", files)
	}
}

// envUses returns the uses (calls or references) of the environment readers in f, through
// whatever name f imports os and syscall as.
func envUses(f *ast.File) []*ast.SelectorExpr {
	names := map[string]map[string]bool{}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		fns, ok := envReads[p]
		if !ok {
			continue
		}
		name := filepath.Base(p)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[name] = fns
	}
	var out []*ast.SelectorExpr
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); ok && names[x.Name][sel.Sel.Name] {
			out = append(out, sel)
		}
		return true
	})
	return out
}

// TestEnvUsesFindsAliases checks the scanner itself: it finds reads through an alias and a
// dot-free reference, and ignores a local variable that happens to be called os.
func TestEnvUsesFindsAliases(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want int
	}{
		{`package p; import "os"; var _ = os.Getenv("A")`, 1},
		{`package p; import o "os"; func f() { _, _ = o.LookupEnv("A"); _ = o.Environ }`, 2},
		{`package p; import "syscall"; func f() { syscall.Getenv("A") }`, 1},
		{`package p; import "os"; func f() { os.Exit(1) }`, 0},
		{`package p; type t struct{ Getenv func(string) string }; func f(os t) { os.Getenv("A") }`, 0},
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", tc.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(envUses(f)); got != tc.want {
			t.Errorf("%s: %d uses, want %d", tc.src, got, tc.want)
		}
	}
}
