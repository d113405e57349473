package seals_test

import (
	"testing"

	"certseal/seals"
)

// BenchmarkSignOnePage signs an already-rendered one-page certificate: parse (fast path),
// incremental update with the visible seal, SHA-256 over the byte range, CMS with ECDSA P-256.
func BenchmarkSignOnePage(b *testing.B) {
	f := newFixture(b)
	doc := gofpdfDoc(b)
	o := f.opts()
	if _, err := seals.SignPDF(doc, o); err != nil { // warm the picture's cached streams
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seals.SignPDF(doc, o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignOnePagePdfcpu is the same on a PDF with xref streams, which goes through
// pdfcpu's parser.
func BenchmarkSignOnePagePdfcpu(b *testing.B) {
	f := newFixture(b)
	doc := pdfcpuDoc(b)
	o := f.opts()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seals.SignPDF(doc, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	f := newFixture(b)
	signed, err := seals.SignPDF(gofpdfDoc(b), f.opts())
	if err != nil {
		b.Fatal(err)
	}
	roots := f.roots()
	for b.Loop() {
		if _, err := seals.ValidatePDF(signed, roots, signAt); err != nil {
			b.Fatal(err)
		}
	}
}
