package certs_test

import (
	"strings"
	"testing"

	"certseal/internal/fixtures"
)

// TestNoNetworkImports: package certs issues and verifies; webhook delivery lives in certs/push,
// which reads the outbox after the commit. No file of certs imports a network package.
func TestNoNetworkImports(t *testing.T) {
	for _, im := range fixtures.Imports(t) {
		if im.Package == "certseal/certs" && (im.Path == "net" || strings.HasPrefix(im.Path, "net/")) {
			t.Errorf("%s imports %s", im.File, im.Path)
		}
	}
}
