package certs_test

import (
	"bytes"
	"fmt"
	"testing"

	"certseal/certs"
)

// BenchmarkVerifyAppendedEOF verifies a real certificate followed by 1, 5 and 20 MB of "%%EOF"
// markers (the largest file POST /api/v1/verify takes): the time grows with the file, linearly.
func BenchmarkVerifyAppendedEOF(b *testing.B) {
	e := newEnv(b)
	c := e.issue(1, 1)
	pdf := e.pdf(c.ID)
	for _, mb := range []int{1, 5, 20} {
		file := append(bytes.Clone(pdf), bytes.Repeat([]byte("%%EOF\n"), (mb<<20-len(pdf))/6)...)
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			b.SetBytes(int64(len(file)))
			for i := 0; i < b.N; i++ {
				v, err := e.svc.VerifyPDF(ctx, file)
				if err != nil || v.Verdict != certs.VerdictModified || v.Certificate == nil {
					b.Fatalf("verdict %s %v, certificate %v", v.Verdict, err, v.Certificate != nil)
				}
			}
		})
	}
}
