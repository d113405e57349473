// Package fonts embeds the Song/Ming-style Chinese TrueType font that certificates, reports and
// seal drawings are set in: the simplified-Chinese face of AR PL UMing (Debian
// fonts-arphic-uming), split out of uming.ttc with fontTools and stripped of its embedded
// bitmaps. Its licence (Arphic Public License) is beside it.
package fonts

import _ "embed"

//go:embed uming-cn.ttf
var uming []byte

// SongName is the family name under which renderers register the font.
const SongName = "uming"

// Song returns a fresh copy of the TrueType bytes of the Song/Ming face. It never fails. The copy
// is the caller's own: gofpdf writes into the font bytes it is given, so every goroutine that
// hands the font to gofpdf needs a copy of its own.
func Song() []byte {
	b := make([]byte, len(uming))
	copy(b, uming)
	return b
}

// SongShared returns the embedded font bytes without copying. The caller must not modify them;
// it is for read-only parsers such as golang.org/x/image/font/sfnt.
func SongShared() []byte { return uming }
