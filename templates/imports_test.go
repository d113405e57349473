package templates_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
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
	allowed := map[string]bool{"templates": true, "templates/fonts": true}
	root := ".."
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, im := range f.Imports {
			p, err := strconv.Unquote(im.Path.Value)
			if err != nil {
				return err
			}
			if forbidden[p] && !allowed[rel] {
				t.Errorf("%s imports %s: fonts and PDF drawing belong in package templates", filepath.ToSlash(path), p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("walked only %d files: not the module root?", files)
	}
}
