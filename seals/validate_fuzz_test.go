package seals_test

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"certseal"
	"certseal/seals"
)

// FuzzValidatePDF: the validator answers any file with reports or an EInvalid error, never
// more than MaxSignatures reports, and a valid signature is a read one whose byte range lies in
// the file. Seeds: a signed certificate-like PDF (classic xref and pdfcpu's xref streams), one
// signed twice, and the hostile shapes of the benchmark.
func FuzzValidatePDF(f *testing.F) {
	fx := newFixture(f)
	signed, err := seals.SignPDF(gofpdfDoc(f), fx.opts())
	if err != nil {
		f.Fatal(err)
	}
	twice, err := seals.SignPDF(signed, fx.opts())
	if err != nil {
		f.Fatal(err)
	}
	viaPdfcpu, err := seals.SignPDF(pdfcpuDoc(f), fx.opts())
	if err != nil {
		f.Fatal(err)
	}
	lta := fx.opts()
	lta.LongTerm = &seals.LongTerm{Level: seals.LevelBLTA, TSA: fx.builtinTSA(f, signAt)}
	ltaSigned, err := seals.SignPDF(gofpdfDoc(f), lta)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{signed, twice, viaPdfcpu, ltaSigned, []byte("%PDF-"), []byte("%PDF-1.7\n1 0 obj<</Type/Sig/ByteRange[0 1 2 3]/Contents<00>>>")} {
		f.Add(s)
	}
	for _, h := range hostiles {
		if h.name != "copied signatures" {
			f.Add(h.make(f, 512))
		}
	}
	roots := fx.roots()
	f.Fuzz(func(t *testing.T, pdf []byte) {
		reps, err := seals.ValidatePDF(pdf, roots, signAt)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			return
		}
		if len(reps) > seals.MaxSignatures {
			t.Fatalf("%d reports, more than %d", len(reps), seals.MaxSignatures)
		}
		for _, r := range reps {
			if r.Valid && (!r.Signed || r.ByteRange[2]+r.ByteRange[3] > int64(len(pdf)) || r.ByteRange[1] > r.ByteRange[2]) {
				t.Fatalf("valid report with a bad byte range or no signature: %+v", r)
			}
			whole := r.ByteRange[2]+r.ByteRange[3] == int64(len(pdf))
			if r.Valid && (r.Modified || r.Extended) == whole {
				t.Fatalf("Modified %v, Extended %v for byte range %v of a %d-byte file", r.Modified, r.Extended, r.ByteRange, len(pdf))
			}
			if r.Modified && r.Extended {
				t.Fatalf("both Modified and Extended: %+v", r)
			}
		}
	})
}

// FuzzPictureFromPNG: an uploaded seal scan is a Picture whose PNG is the upload, or an
// EInvalid error; never a panic or an unbounded allocation. Seeds: a drawn seal as a PNG, a
// small transparent PNG and an opaque one.
func FuzzPictureFromPNG(f *testing.F) {
	drawn, err := seals.Draw(lizhou)
	if err != nil {
		f.Fatal(err)
	}
	scan, err := drawn.PNG(2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(scan)
	for _, alpha := range []uint8{0, 255} {
		img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
		for i := range 16 {
			img.Set(i, i, color.NRGBA{200, 0, 0, 255})
			img.Set(i, 15-i, color.NRGBA{200, 0, 0, alpha})
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		f.Add(b.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := seals.PictureFromPNG(data)
		if err != nil {
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("error %v, want EInvalid", err)
			}
			return
		}
		if !p.IsScan() {
			t.Fatal("a scan is not IsScan")
		}
		if b, _ := p.PNG(0); !bytes.Equal(b, data) {
			t.Fatal("PNG(0) of a scan is not the upload")
		}
	})
}
