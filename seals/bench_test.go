package seals_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"testing"
	"time"

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

// BenchmarkSignSES signs a document digest with an SM2 seal: TBS_Sign with the SESeal, SM2
// over it (beside BenchmarkSignECDSA, the same key operation with ECDSA P-256).
func BenchmarkSignSES(b *testing.B) {
	e := newRegEnv(b)
	_, g := e.sm2Seal(b)
	hash := docHash("doc")
	at := regStart.Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.SignSES(hash, at, "certificate.ofd"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySES verifies a SES_Signature: structure, the maker's and the signer's SM2
// signatures, the chain to the SM2 CA, the registry's record.
func BenchmarkVerifySES(b *testing.B) {
	e := newRegEnv(b)
	_, g := e.sm2Seal(b)
	hash := docHash("doc")
	der, err := g.SignSES(hash, regStart.Add(time.Hour), "certificate.ofd")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v, err := e.reg.VerifySES(ctx, der, hash)
		if err != nil || !v.OK {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkSignECDSA and BenchmarkVerifyECDSA are the key operations of an ECDSA P-256 seal over
// the same message as the SM2 benchmarks sign (a TBS_Sign), through the Algorithm seam: what
// the SM2 path is compared with.
func BenchmarkSignECDSA(b *testing.B) {
	msg, key := ecdsaBenchInput(b)
	for b.Loop() {
		if _, err := seals.ECDSAP256.Sign(rand.Reader, key, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyECDSA(b *testing.B) {
	msg, key := ecdsaBenchInput(b)
	sig, err := seals.ECDSAP256.Sign(rand.Reader, key, msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := seals.ECDSAP256.Verify(key.Public(), msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignSM2 and BenchmarkVerifySM2 are the same for SM2 with SM3.
func BenchmarkSignSM2(b *testing.B) {
	msg, _ := ecdsaBenchInput(b)
	key, err := seals.SM2.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := seals.SM2.Sign(rand.Reader, key, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySM2(b *testing.B) {
	msg, _ := ecdsaBenchInput(b)
	key, err := seals.SM2.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	sig, err := seals.SM2.Sign(rand.Reader, key, msg)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := seals.SM2.Verify(key.Public(), msg, sig); err != nil {
			b.Fatal(err)
		}
	}
}

// ecdsaBenchInput is a real TBS_Sign (of an SM2 seal's signature) and a P-256 key.
func ecdsaBenchInput(b *testing.B) ([]byte, crypto.Signer) {
	e := newRegEnv(b)
	_, g := e.sm2Seal(b)
	der, err := g.SignSES(docHash("doc"), regStart.Add(time.Hour), "certificate.ofd")
	if err != nil {
		b.Fatal(err)
	}
	p, err := seals.ParseSES(der)
	if err != nil {
		b.Fatal(err)
	}
	key, err := seals.ECDSAP256.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	return p.TBSDER(), key
}
