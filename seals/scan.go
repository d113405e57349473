package seals

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"image"
	"image/png"

	"certseal"
)

// MaxScanBytes, MaxScanPixels and MaxScanArea bound an uploaded seal scan: its file, the
// length of a side and the number of pixels (a 42 mm seal scanned at 600 dpi is about 1000
// pixels a side). They are checked on the PNG header, before the image is decoded.
const (
	MaxScanBytes  = 4 << 20
	MaxScanPixels = 4000
	MaxScanArea   = 2000 * 2000
)

// maxDeflateRatio is more than zlib ever inflates one byte to (about 1032): image data that
// would need more than this is missing, and the PNG is refused before it is decoded.
const maxDeflateRatio = 1100

// scanImage is an uploaded seal scan with its PDF image streams prepared once.
type scanImage struct {
	png        []byte
	img        image.Image
	wpx, hpx   int
	rgb, alpha []byte // zlib (FlateDecode) compressed samples: DeviceRGB and the DeviceGray soft mask
}

// PictureFromPNG returns a Picture made from an uploaded scan of a seal: a PNG with a
// transparent background. Its size is taken to be 42 mm across the longer side, keeping the
// aspect ratio. It returns a *certseal.Error (EInvalid) when the data is not a PNG, is larger
// than MaxScanBytes, MaxScanPixels a side or MaxScanArea pixels, or has no transparent pixel or
// no visible one.
func PictureFromPNG(data []byte) (*Picture, error) {
	if len(data) > MaxScanBytes {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片不能超过 %d MB", MaxScanBytes>>20)
	}
	if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片必须是 PNG 格式")
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片不是有效的 PNG 文件")
	}
	if cfg.Width < 16 || cfg.Height < 16 || cfg.Width > MaxScanPixels || cfg.Height > MaxScanPixels {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片的尺寸必须在 16 至 %d 像素之间", MaxScanPixels)
	}
	if cfg.Width*cfg.Height > MaxScanArea {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片的像素过多：宽×高不能超过 %d 万像素", MaxScanArea/10000)
	}
	// The decoder allocates the whole image first: refuse a header whose image the file cannot
	// hold even at zlib's best (one byte a row at the least).
	if need := cfg.Height * (1 + cfg.Width/8); need > len(data)*maxDeflateRatio {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片不是有效的 PNG 文件（图像数据不完整）")
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片不是有效的 PNG 文件")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgb := make([]byte, 0, w*h*3)
	alpha := make([]byte, 0, w*h)
	transparent, visible := false, false
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			if a < 0xffff {
				transparent = true
			}
			if a > 0 {
				visible = true
			}
			if a > 0 { // un-premultiply
				r, g, bl = r*0xffff/a, g*0xffff/a, bl*0xffff/a
			}
			rgb = append(rgb, byte(r>>8), byte(g>>8), byte(bl>>8))
			alpha = append(alpha, byte(a>>8))
		}
	}
	if !transparent {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片必须是背景透明的 PNG（带 Alpha 通道）")
	}
	if !visible {
		return nil, certseal.Errorf(certseal.EInvalid, "印章图片完全透明，没有可见的印章")
	}
	s := &scanImage{png: bytes.Clone(data), img: img, wpx: w, hpx: h, rgb: deflate(rgb), alpha: deflate(alpha)}
	pw, ph := float64(DefaultDiameterMM), float64(DefaultDiameterMM)
	if w > h {
		ph = pw * float64(h) / float64(w)
	} else {
		pw = ph * float64(w) / float64(h)
	}
	return &Picture{w: pw, h: ph, scan: s}, nil
}

func deflate(b []byte) []byte {
	var out bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&out, zlib.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return out.Bytes()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
