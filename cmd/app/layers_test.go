package app_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// floors are the layers of the module, bottom first: a package may import only packages on its
// own floor's lower floors (or its own folder's parent, e.g. inventory/demand -> inventory, and
// certs/push -> certs). The folders show the floors: internal/ is the foundation, cmd/ the
// wiring and the binary.
var floors = []struct {
	name     string
	prefixes []string
}{
	{"vocabulary", []string{"certseal"}},
	{"foundation", []string{"certseal/internal/", "certseal/templates/fonts"}},
	{"domain", []string{"certseal/templates", "certseal/seals", "certseal/inventory", "certseal/certs"}},
	{"HTTP", []string{"certseal/server"}},
	{"wiring and binary", []string{"certseal/cmd/"}},
}

func floorOf(pkg string) int {
	best, n := -1, -1
	for i, f := range floors {
		for _, p := range f.prefixes {
			if (pkg == p || strings.HasPrefix(pkg, strings.TrimSuffix(p, "/")+"/") || (strings.HasSuffix(p, "/") && strings.HasPrefix(pkg, p))) && len(p) > n {
				best, n = i, len(p)
			}
		}
	}
	return best
}

// TestNoArrowRunsBackUp fails when a non-test file imports a package on a higher floor: the
// foundation (internal/) never imports a domain package, the domain never imports server or
// cmd, server never imports cmd.
func TestNoArrowRunsBackUp(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || (path != root && strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := "certseal"
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		if pkg == "certseal/internal/fixtures" || strings.HasPrefix(pkg, "certseal/internal/sheet/sheettest") {
			return nil // test support
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		own := floorOf(pkg)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != "certseal" && !strings.HasPrefix(p, "certseal/") {
				continue
			}
			if to := floorOf(p); to > own {
				t.Errorf("%s (%s) imports %s (%s): an arrow running back up", path, floors[own].name, p, floors[to].name)
			}
			if floorOf(p) == own && own == 2 && !strings.HasPrefix(pkg, p+"/") && !strings.HasPrefix(p, pkg+"/") && sameDomainCycle(pkg, p) {
				t.Errorf("%s imports %s, which sits above it in the domain", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d files checked", checked)
	}
}

// domainOrder is the order inside the domain floor: a package may import only those before it.
var domainOrder = []string{"certseal/templates", "certseal/seals", "certseal/inventory", "certseal/inventory/demand", "certseal/certs", "certseal/certs/push"}

// sameDomainCycle reports whether from importing to would run against domainOrder.
func sameDomainCycle(from, to string) bool {
	idx := func(p string) int { // the nearest listed folder at or above p
		best, n := -1, 0
		for i, d := range domainOrder {
			if (p == d || strings.HasPrefix(p, d+"/")) && len(d) > n {
				best, n = i, len(d)
			}
		}
		return best
	}
	return idx(to) >= idx(from) && idx(from) >= 0
}
