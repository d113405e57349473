package app_test

import (
	"certseal/internal/fixtures"
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
	for _, im := range fixtures.Imports(t) {
		pkg, p := im.Package, im.Path
		if pkg == "certseal/internal/fixtures" || strings.HasPrefix(pkg, "certseal/internal/sheet/sheettest") {
			continue // test support
		}
		if p != "certseal" && !strings.HasPrefix(p, "certseal/") {
			continue
		}
		own, to := floorOf(pkg), floorOf(p)
		if to > own {
			t.Errorf("%s (%s) imports %s (%s): an arrow running back up", im.File, floors[own].name, p, floors[to].name)
		}
		if to == own && own == 2 && !strings.HasPrefix(pkg, p+"/") && !strings.HasPrefix(p, pkg+"/") && sameDomainCycle(pkg, p) {
			t.Errorf("%s imports %s, which sits above it in the domain", im.File, p)
		}
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
