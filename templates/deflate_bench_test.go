package templates_test

import (
	"bytes"
	"compress/zlib"
	"testing"

	kzlib "github.com/klauspost/compress/zlib"

	"certseal/templates"
)

// BenchmarkFontDeflate compresses the subset font of one food licence with the alternatives
// for its stream, reporting the compressed size: the standard library's and klauspost's zlib at
// several levels (klauspost's HuffmanOnly is entropy coding without matches).
func BenchmarkFontDeflate(b *testing.B) {
	fs := loadFixtures(b)
	subset, _, _, err := templates.BenchPlanned(food(b), fs[0].doc())
	if err != nil {
		b.Fatal(err)
	}
	font, err := subset()
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		std  bool
		lvl  int
	}{{"std-1", true, 1}, {"std-6", true, 6}, {"klauspost-1", false, 1}, {"klauspost-2", false, 2}, {"klauspost-huffman", false, kzlib.HuffmanOnly}, {"klauspost-0", false, 0}} {
		b.Run(c.name, func(b *testing.B) {
			var out bytes.Buffer
			var w interface {
				Write([]byte) (int, error)
				Close() error
			}
			var reset func()
			if c.std {
				z, _ := zlib.NewWriterLevel(&out, c.lvl)
				w, reset = z, func() { z.Reset(&out) }
			} else {
				z, _ := kzlib.NewWriterLevel(&out, c.lvl)
				w, reset = z, func() { z.Reset(&out) }
			}
			b.SetBytes(int64(len(font)))
			for i := 0; i < b.N; i++ {
				out.Reset()
				reset()
				w.Write(font)
				w.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes")
			b.ReportMetric(float64(len(font)), "font-bytes")
		})
	}
}
