package seals_test

import (
	"testing"

	"certseal/seals"
)

// BenchmarkSignPAdES signs the same page at every level with the built-in TSA in process: the
// cost of the signature timestamp, the DSS update and the document timestamp, beside B-B.
//
//	go test -run xxx -bench SignPAdES -benchmem ./seals/
func BenchmarkSignPAdES(b *testing.B) {
	f := newFixture(b)
	doc := gofpdfDoc(b)
	a := f.builtinTSA(b, signAt)
	crl, err := f.ca.CRL(nil, signAt, signAt.AddDate(0, 0, 1))
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range []seals.Level{"", seals.LevelBB, seals.LevelBT, seals.LevelBLT, seals.LevelBLTA} {
		name := string(l)
		if name == "" {
			name = "plain"
		}
		b.Run(name, func(b *testing.B) {
			o := f.opts()
			if l != "" {
				o.LongTerm = &seals.LongTerm{Level: l, TSA: a, CRLs: [][]byte{crl}}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := seals.SignPDF(doc, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
