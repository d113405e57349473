package server_test

import (
	"strings"
	"testing"

	"certseal/internal/fixtures"
)

// TestServerHoldsNoStore fails when a non-test file of package server or server/web imports
// the store: the handlers reach the data through the services only (issue 13 point 5), and the
// database itself through the narrow Database interface the server declares.
func TestServerHoldsNoStore(t *testing.T) {
	for _, im := range fixtures.Imports(t) {
		if (im.Package == "certseal/server" || strings.HasPrefix(im.Package, "certseal/server/")) && im.Path == "certseal/internal/store" {
			t.Errorf("%s imports %s; go through a service method instead", im.File, im.Path)
		}
	}
}
