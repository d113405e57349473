package templates_test

import (
	"certseal/internal/fixtures"
	"testing"
)

// TestPDFKnowledgeStaysInTemplates walks the module and fails if a non-test file outside
// templates and templates/fonts imports the embedded fonts or a PDF drawing library: rendering
// (certificates and reports) lives in templates, which parses the font once per process.
func TestPDFKnowledgeStaysInTemplates(t *testing.T) {
	forbidden := map[string]bool{
		"certseal/templates/fonts":    true,
		"github.com/jung-kurt/gofpdf": true,
		"github.com/phpdave11/gofpdf": true,
		"github.com/signintech/gopdf": true,
		"codeberg.org/go-pdf/fpdf":    true,
		"github.com/go-pdf/fpdf":      true,
	}
	allowed := map[string]bool{"certseal/templates": true, "certseal/templates/fonts": true}
	for _, im := range fixtures.Imports(t) {
		if forbidden[im.Path] && !allowed[im.Package] {
			t.Errorf("%s imports %s: fonts and PDF drawing belong in package templates", im.File, im.Path)
		}
	}
}
