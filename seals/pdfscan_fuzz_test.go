package seals

import (
	"bytes"
	"testing"

	"github.com/jung-kurt/gofpdf"
)

// FuzzReadSimple: the fast-path reader of SignPDF reads the xref table, the trailer, the
// catalog and a page of any file, or gives up with an error; never a panic, and a page it
// returns is a dictionary inside the file. (An internal test: the reader is unexported.)
func FuzzReadSimple(f *testing.F) {
	p := gofpdf.New("P", "mm", "A4", "")
	p.AddPage()
	p.SetFont("Helvetica", "", 12)
	p.Text(30, 40, "Certificate")
	p.AddPage()
	var b bytes.Buffer
	if err := p.Output(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes(), 1)
	f.Add(b.Bytes(), 2)
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000054 00000 n \n0000000105 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n148\n%%EOF\n"), 1)
	f.Fuzz(func(t *testing.T, pdf []byte, page int) {
		pl, err := planFast(pdf, page)
		if err != nil {
			return
		}
		if pl.prev < 0 || pl.prev >= len(pdf) || pl.size < 0 {
			t.Fatalf("plan %+v for a %d-byte file", pl, len(pdf))
		}
		pl.catalog([]objRef{{pl.size, 0}}, objRef{})
		pl.pageDict(objRef{pl.size, 0})
	})
}
