package seals_test

import (
	"context"
	"testing"

	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/seals"
	"certseal/templates"
)

// BenchmarkIssueFormats renders and seals the food-licence fixtures with 利州区's SM2 seal, as
// issuing does: "pdf" is Render then SignPDF with the seal's ECDSA registration (the visible
// seal, CMS; SignPDF refuses an SM2 seal), "ofd" is Layout,
// OFDWriter and SignOFD (SM3 of every file, SES_Signature with SM2). The issue's bound is ofd
// ≤ 1.5 × pdf.
func BenchmarkIssueFormats(b *testing.B) {
	e := newRegEnv(b)
	at := regStart.Add(1e9 * 3600)
	ec := e.create(b, e.lizhouSeal()) // the PDF is signed by the ECDSA registration of the seal
	gEC, err := e.reg.SignerFor(context.Background(), e.lizhou, ec.ID, demo.TypeFood, at)
	if err != nil {
		b.Fatal(err)
	}
	_, g := e.sm2Seal(b) // and the OFD by its SM2 twin
	tpl, _ := templates.BuiltinByID("food-business-licence")
	recs := fixtures.FoodRecords(b)
	docs := make([]templates.Document, len(recs))
	for i, r := range recs {
		docs[i] = templates.Document{Values: r.Fields, LicenceNumber: r.LicenceNumber, QRPayload: r.VerifyURL, Created: ofdCreated}
	}
	r := templates.NewRenderer()
	pl := tpl.Seal()
	x, y, d := pl.PDFPoints()
	rect := [4]float64{x - d/2, y - d/2, x + d/2, y + d/2}
	b.Run("pdf", func(b *testing.B) {
		b.ReportAllocs()
		i, size := 0, 0
		for b.Loop() {
			pdf, err := r.Render(tpl, docs[i%len(docs)])
			if err != nil {
				b.Fatal(err)
			}
			signed, err := seals.SignPDF(pdf, gEC.Options(pl.Page, rect, "电子证照签章", at))
			if err != nil {
				b.Fatal(err)
			}
			size += len(signed)
			i++
		}
		b.ReportMetric(float64(size)/float64(i), "bytes/doc")
	})
	b.Run("ofd", func(b *testing.B) {
		b.ReportAllocs()
		i, size := 0, 0
		for b.Loop() {
			p, err := r.Layout(tpl, docs[i%len(docs)])
			if err != nil {
				b.Fatal(err)
			}
			pkg, err := templates.OFDWriter{Author: "广元市利州区行政审批局"}.Write(p)
			if err != nil {
				b.Fatal(err)
			}
			signed, err := seals.SignOFD(pkg, sealOpts(pl, at, func(h []byte) ([]byte, error) { return g.SignSES(h, at, "certificate.ofd") }))
			if err != nil {
				b.Fatal(err)
			}
			size += len(signed)
			i++
		}
		b.ReportMetric(float64(size)/float64(i), "bytes/doc")
	})
}
