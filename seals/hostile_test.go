package seals_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"certseal"
	"certseal/seals"
)

// hostile is a kind of PDF made to be slow to scan: make returns about size bytes of it.
type hostile struct {
	name string
	make func(t testing.TB, size int) []byte
}

// repeat returns head followed by unit repeated until the result has about size bytes.
func repeat(head, unit string, size int) []byte {
	b := make([]byte, 0, size+len(unit))
	b = append(b, head...)
	for len(b) < size {
		b = append(b, unit...)
	}
	return b
}

// realContents is the hexadecimal /Contents of a real signature made by the fixture.
func realContents(t testing.TB) string {
	f := newFixture(t)
	signed, err := seals.SignPDF(gofpdfDoc(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`/Contents\s*<([0-9a-fA-F]+)>`).FindSubmatch(signed)
	if m == nil {
		t.Fatal("no /Contents in the signed PDF")
	}
	return string(m[1])
}

// copiedSignatures is a file of MaxSignatures signature dictionaries, each holding a different
// real CMS signature and a byte range over the whole file: the most SHA-256 work a file can ask
// for.
func copiedSignatures(t testing.TB, size int) []byte {
	const head = "%PDF-1.7\n"
	var parts [][]byte
	var sigs []string
	for k := range seals.MaxSignatures {
		sigs = append(sigs, realContents(t))
		parts = append(parts, fmt.Appendf(nil, "%d 0 obj\n<</Type/Sig/ByteRange[0 %010d %010d %010d]/Contents<%s>>>\nendobj\n", k+1, 0, 0, 0, sigs[k]))
	}
	n := len(head)
	for _, p := range parts {
		n += len(p)
	}
	pad := max(0, size-n)
	total := n + pad
	out := append(make([]byte, 0, total), head...)
	for k := range parts {
		start := len(out)
		a := start + bytes.Index(parts[k], []byte("/Contents<")) + len("/Contents")
		b := a + len(sigs[k]) + 2
		p := fmt.Appendf(nil, "%d 0 obj\n<</Type/Sig/ByteRange[0 %010d %010d %010d]/Contents<%s>>>\nendobj\n", k+1, a, b, total-b, sigs[k])
		out = append(out, p...)
	}
	return append(out, bytes.Repeat([]byte(" "), pad)...)
}

var hostiles = []hostile{
	{"repeated ByteRange", func(_ testing.TB, n int) []byte {
		return repeat("%PDF-1.7\n1 0 obj\n", "/ByteRange ", n)
	}},
	{"repeated obj ByteRange", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "obj /ByteRange ", n) }},
	{"unterminated strings", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "1 0 obj<</ByteRange (", n) }},
	{"unterminated hex strings", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "1 0 obj<</ByteRange <", n) }},
	{"nested dictionaries", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n1 0 obj<</ByteRange ", "<</A ", n) }},
	{"nested arrays", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "1 0 obj<</ByteRange [[[[[[[[[[", n) }},
	{"many small objects", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "1 0 obj<</X 1>>/ByteRange ", n) }},
	{"many non-signature objects", func(_ testing.TB, n int) []byte {
		return repeat("%PDF-1.7\n", "1 0 obj<</Type/Annot/ByteRange[0 1 2 3]>>endobj ", n)
	}},
	{"long string", func(_ testing.TB, n int) []byte {
		return append(repeat("%PDF-1.7\n1 0 obj<</Type/Sig/ByteRange[0 1 2 3]/Contents<", "0123456789abcdef", n), ">>>"...)
	}},
	{"comments", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n1 0 obj<</ByteRange ", "%", n) }},
	{"comments after obj", func(_ testing.TB, n int) []byte { return repeat("%PDF-1.7\n", "obj%/ByteRange ", n) }},
	{"copied signatures", copiedSignatures},
}

// BenchmarkValidateHostile validates hostile files of 1, 5 and 20 MB; each must take well under
// a second (linear time), against hours for the quadratic scan it replaces.
func BenchmarkValidateHostile(b *testing.B) {
	for _, h := range hostiles {
		for _, mb := range []int{1, 5, 20} {
			pdf := h.make(b, mb<<20)
			b.Run(fmt.Sprintf("%s/%dMB", h.name, mb), func(b *testing.B) {
				b.SetBytes(int64(len(pdf)))
				for b.Loop() {
					if _, err := seals.ValidatePDF(pdf, nil, signAt); err != nil && certseal.ErrorCode(err) != certseal.EInvalid {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestValidateHostileCancelled: a validation of a big hostile file stops with the context's
// error once the context is done (the request's deadline passed or its client went away).
func TestValidateHostileCancelled(t *testing.T) {
	for _, h := range hostiles {
		t.Run(h.name, func(t *testing.T) {
			pdf := h.make(t, 8<<20)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := seals.ValidatePDFContext(ctx, pdf, nil, signAt)
			if !errors.Is(err, context.Canceled) || certseal.ErrorCode(err) != certseal.EUnavailable {
				t.Fatalf("ValidatePDFContext with a cancelled context = %v, want context.Canceled and EUnavailable", err)
			}
		})
	}
}

// TestValidateHostileAnswers: the hostile files get an answer, not a hang or a crash, and a
// junk /ByteRange is never a real signature.
func TestValidateHostileAnswers(t *testing.T) {
	for _, h := range hostiles {
		t.Run(h.name, func(t *testing.T) {
			reps, err := seals.ValidatePDF(h.make(t, 256<<10), nil, signAt)
			if err != nil {
				if certseal.ErrorCode(err) != certseal.EInvalid {
					t.Fatalf("error %v, want EInvalid", err)
				}
				return
			}
			if len(reps) > seals.MaxSignatures {
				t.Fatalf("%d reports, more than MaxSignatures", len(reps))
			}
			for _, r := range reps {
				if r.Valid || r.Trusted {
					t.Fatalf("hostile file has a valid signature: %+v", r)
				}
				if r.Signed != (h.name == "copied signatures") {
					t.Fatalf("report Signed = %v: %+v", r.Signed, r)
				}
			}
		})
	}
}

// TestValidateCopiedSignaturesDigest: a real signature copied into another file is read as a
// signature (Signed) whose digest does not match, so the file is reported as changed.
func TestValidateCopiedSignaturesDigest(t *testing.T) {
	reps, err := seals.ValidatePDF(copiedSignatures(t, 64<<10), nil, signAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != seals.MaxSignatures {
		t.Fatalf("%d reports, want %d", len(reps), seals.MaxSignatures)
	}
	for _, r := range reps {
		if !r.Signed || r.Valid || r.SealID != "51080200000001" {
			t.Fatalf("report %+v, want a read but invalid signature of seal 51080200000001", r)
		}
	}
}

// TestValidateSameSignatureTwice: one signature value copied into a second dictionary is
// refused unread (so a file cannot make the validator hash it many times for one signature).
func TestValidateSameSignatureTwice(t *testing.T) {
	hexSig := realContents(t)
	pdf := fmt.Appendf(nil, "%%PDF-1.7\n1 0 obj\n<</Type/Sig/ByteRange[0 1 2 3]/Contents<%s>>>\nendobj\n2 0 obj\n<</Type/Sig/ByteRange[0 1 2 3]/Contents<%s>>>\nendobj\n", hexSig, hexSig)
	reps, err := seals.ValidatePDF(pdf, nil, signAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || !reps[0].Signed || reps[1].Signed || !slices.Contains(reps[1].Problems, "签名值与文件中的另一个签名完全相同，是复制的签名") {
		t.Fatalf("reports %+v, want the second refused as a copy", reps)
	}
}

// laterCancelled is a context whose Err is nil for its first n calls and context.Canceled
// after: a client that goes away while the validation runs.
type laterCancelled struct {
	context.Context
	n int
}

func (c *laterCancelled) Err() error {
	if c.n > 0 {
		c.n--
		return nil
	}
	return context.Canceled
}

// TestValidateCancelledMidway: a context cancelled while the scan or the hashing runs stops it.
func TestValidateCancelledMidway(t *testing.T) {
	for _, h := range hostiles {
		if h.name != "repeated ByteRange" && h.name != "copied signatures" {
			continue
		}
		t.Run(h.name, func(t *testing.T) {
			pdf := h.make(t, 8<<20)
			_, err := seals.ValidatePDFContext(&laterCancelled{Context: context.Background(), n: 3}, pdf, nil, signAt)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("ValidatePDFContext cancelled midway = %v, want context.Canceled", err)
			}
		})
	}
}

// TestValidateJunkBeforeSignature: a /ByteRange that is no dictionary (after an "endobj") does
// not hide the real signature that follows it.
func TestValidateJunkBeforeSignature(t *testing.T) {
	f := newFixture(t)
	signed, err := seals.SignPDF(gofpdfDoc(t), f.opts())
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(signed, '\n') + 1
	junk := append(append(bytes.Clone(signed[:nl]), "endobj /ByteRange [0 1 2 3]\n"...), signed[nl:]...)
	reps, err := seals.ValidatePDF(junk, f.roots(), signAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 2 || reps[0].Signed || !reps[1].Signed || reps[1].SealID != "51080200000001" || reps[1].Valid {
		t.Fatalf("reports %+v, want the junk then the (now broken) real signature", reps)
	}
}
