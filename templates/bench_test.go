package templates_test

import (
	"sync/atomic"
	"testing"

	"certseal/templates"
)

// BenchmarkRenderFood renders the 200 food-licence fixtures one after another on one goroutine.
func BenchmarkRenderFood(b *testing.B) {
	fs := loadFixtures(b)
	tpl := food(b)
	r := templates.NewRenderer()
	if _, err := r.Render(tpl, fs[0].doc()); err != nil { // warm the font index
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	size := 0
	for i := 0; i < b.N; i++ {
		pdf, err := r.Render(tpl, fs[i%len(fs)].doc())
		if err != nil {
			b.Fatal(err)
		}
		size += len(pdf)
	}
	b.ReportMetric(float64(size)/float64(b.N), "pdf-bytes/doc")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkRenderFoodParallel renders the fixtures on GOMAXPROCS goroutines.
func BenchmarkRenderFoodParallel(b *testing.B) {
	fs := loadFixtures(b)
	tpl := food(b)
	r := templates.NewRenderer()
	if _, err := r.Render(tpl, fs[0].doc()); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)) % len(fs)
			if _, err := r.Render(tpl, fs[i].doc()); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
}

// The breakdown of one food licence: values checked and laid out, QR code, subset font, the
// font's PDF objects (compressed font, widths, ToUnicode) in a minimal file, and the whole
// writing stage (fonts, drawing, compression, output).
func BenchmarkStages(b *testing.B) {
	fs := loadFixtures(b)
	tpl := food(b)
	d := fs[0].doc()
	subset, embed, write, err := templates.BenchPlanned(tpl, d)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("layout", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := templates.BenchLayout(tpl, d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("qr", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := templates.BenchQR(d.QRPayload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("font-subset", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := subset(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("font-embed", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := embed(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := write(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
