package seals_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"certseal/seals"
	"certseal/templates"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// The writer/scanner contract: templates' PDF writer (templates/pdfwrite.go) writes exactly the
// shape SignPDF's fast path reads (pdfscan.go): one classic xref table without /Prev, offsets
// pointing at "n 0 obj", a catalog without /AcroForm, a page without /Annots, no object or xref
// streams. These tests fail if either side changes: the writer's real output must take the fast
// path, and each way out of the shape must take the pdfcpu path (and still sign).

// certificatePDF renders template id's sample certificate with package templates.
func certificatePDF(t *testing.T, tpl *templates.Template) []byte {
	t.Helper()
	d := tpl.SampleDocument()
	d.Created = signAt
	pdf, err := templates.NewRenderer().Render(tpl, d)
	if err != nil {
		t.Fatal(err)
	}
	return pdf
}

// signAndCheck signs pdf with the fixture's seal and checks certseal's verdict.
func signAndCheck(t *testing.T, f *fixture, pdf []byte) []byte {
	t.Helper()
	signed, err := seals.SignPDF(pdf, f.opts())
	if err != nil {
		t.Fatalf("SignPDF: %v", err)
	}
	reps, err := seals.ValidatePDF(signed, f.roots(), signAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || !reps[0].Valid || reps[0].Modified {
		t.Fatalf("signed copy: reports %+v, want one valid, unmodified signature", reps)
	}
	return signed
}

func TestWriterScannerContract(t *testing.T) {
	f := newFixture(t)
	for _, tpl := range templates.Builtin() {
		t.Run(tpl.ID, func(t *testing.T) {
			pdf := certificatePDF(t, tpl)
			path, err := seals.SignPath(pdf, 1)
			if err != nil || path != "fast" {
				t.Fatalf("templates' output takes the %s path (%v), want the fast path", path, err)
			}
			signAndCheck(t, f, pdf)
		})
	}

	food, _ := templates.BuiltinByID("food-business-licence")
	pdf := certificatePDF(t, food)
	if got := reflow(t, pdf); !bytes.Equal(got, pdf) {
		t.Fatal("reflow changes the writer's own output: the test helper is wrong")
	}
	t.Run("pdfsig", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "signed.pdf")
		if err := os.WriteFile(file, signAndCheck(t, f, pdf), 0o644); err != nil {
			t.Fatal(err)
		}
		if out := pdfsig(t, file); !strings.Contains(out, "Signature is Valid.") {
			t.Errorf("pdfsig: got\n%s\nwant Signature is Valid.", out)
		}
	})

	for _, tc := range []struct {
		name   string
		mutate func([]byte) []byte
		signs  bool // the pdfcpu path still signs it
	}{
		{"xref stream and object streams", func(b []byte) []byte { return xrefStream(t, b) }, true},
		{"catalog with AcroForm", func(b []byte) []byte {
			return reflow(t, replaceOnce(t, b, "<</Type /Catalog ", "<</Type /Catalog /AcroForm <</Fields []>> "))
		}, true},
		{"page with Annots", func(b []byte) []byte {
			return reflow(t, replaceOnce(t, b, "<</Type /Page /Parent", "<</Type /Page /Annots [] /Parent"))
		}, true},
		{"trailer with Prev", func(b []byte) []byte {
			return reflow(t, replaceOnce(t, b, "trailer\n<</Size ", "trailer\n<</Prev 0 /Size "))
		}, false},
		{"stale xref offsets", func(b []byte) []byte {
			return replaceOnce(t, b, "%PDF-1.7\n", "%PDF-1.7\n% one more line\n")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := tc.mutate(bytes.Clone(pdf))
			path, err := seals.SignPath(bad, 1)
			if path != "pdfcpu" {
				t.Fatalf("took the %s path (%v), want the pdfcpu fallback", path, err)
			}
			if tc.signs {
				if err != nil {
					t.Fatalf("pdfcpu path: %v", err)
				}
				signAndCheck(t, f, bad)
			}
		})
	}
}

func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if bytes.Count(b, []byte(old)) != 1 {
		t.Fatalf("%q is not in the writer's output exactly once", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// reflow rewrites the classic xref table and startxref of a one-section PDF after its objects
// moved, keeping everything else; on the writer's own output it changes nothing.
func reflow(t *testing.T, pdf []byte) []byte {
	t.Helper()
	x := bytes.LastIndex(pdf, []byte("\nxref\n")) + 1
	tr := bytes.Index(pdf[x:], []byte("trailer\n"))
	var n int
	if x == 0 || tr < 0 {
		t.Fatal("no classic xref table")
	}
	if _, err := fmt.Sscanf(string(pdf[x:x+tr]), "xref\n0 %d\n", &n); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(pdf[:x])
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", n)
	for i := 1; i < n; i++ {
		off := bytes.Index(pdf[:x], []byte(fmt.Sprintf("\n%d 0 obj\n", i)))
		if off < 0 {
			t.Fatalf("object %d not found", i)
		}
		fmt.Fprintf(&b, "%010d 00000 n \n", off+1)
	}
	trailer := pdf[x+tr:]
	k := bytes.LastIndex(trailer, []byte("startxref\n"))
	b.Write(trailer[:k])
	fmt.Fprintf(&b, "startxref\n%d\n%%%%EOF\n", x)
	return b.Bytes()
}

// xrefStream is pdf rewritten by pdfcpu with an xref stream and object streams.
func xrefStream(t *testing.T, pdf []byte) []byte {
	t.Helper()
	api.DisableConfigDir()
	conf := model.NewDefaultConfiguration()
	conf.WriteObjectStream = true
	conf.WriteXRefStream = true
	var out bytes.Buffer
	if err := api.Optimize(bytes.NewReader(pdf), &out, conf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("/XRef")) {
		t.Fatal("pdfcpu wrote no xref stream")
	}
	return out.Bytes()
}
