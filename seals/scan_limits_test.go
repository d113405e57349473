package seals_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"testing"

	"certseal"
	"certseal/seals"
)

// pngChunk returns a PNG chunk with its length and CRC.
func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// tinyBigPNG is a PNG of a few hundred bytes whose header says w×h pixels of 16-bit RGBA, with
// rows rows of image data (all zero).
func tinyBigPNG(w, h, rows int) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = 16, 6 // 16-bit RGBA
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(make([]byte, rows*(1+8*w)))
	zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", z.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}

// TestPictureFromPNGDecodeBomb: a small upload whose header claims a large image is refused
// without decoding it into a full-size image.
func TestPictureFromPNGDecodeBomb(t *testing.T) {
	for _, c := range []struct {
		name       string
		w, h, rows int
	}{
		{"truncated", seals.MaxScanPixels, seals.MaxScanPixels, 1},
		{"truncated within the area", 2000, 2000, 1},
		{"over the area", seals.MaxScanPixels, seals.MaxScanPixels, seals.MaxScanPixels},
		{"fully transparent", 200, 200, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := tinyBigPNG(c.w, c.h, c.rows)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := seals.PictureFromPNG(data)
			runtime.ReadMemStats(&after)
			if certseal.ErrorCode(err) != certseal.EInvalid {
				t.Fatalf("PictureFromPNG = %v, want EInvalid", err)
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
				t.Fatalf("a %d-byte upload allocated %d MB", len(data), got>>20)
			}
		})
	}
}
