// Package fonts embeds the Song/Ming-style Chinese TrueType fonts that certificates, reports and
// seal drawings are set in: the simplified-Chinese face of AR PL UMing (Debian
// fonts-arphic-uming), split out of uming.ttc with fontTools and stripped of its embedded
// bitmaps, and a fallback for the rarer characters of GBK and GB 18030 that UMing lacks: a
// subset of HanaMinA (Debian fonts-hanazono, GlyphWiki Project) made by make-fallback.sh. Their
// licences (Arphic Public License; Hanazono Font License) are beside them.
package fonts

import _ "embed"

//go:embed uming-cn.ttf
var uming []byte

//go:embed fallback-gbk.ttf
var fallback []byte

// SongName is the family name under which renderers register the font.
const SongName = "uming"

// Song returns a fresh copy of the TrueType bytes of the Song/Ming face. It never fails. The copy
// is the caller's own: gofpdf (the demand report uses it) writes into the font bytes it is given,
// so every goroutine that hands the font to gofpdf needs a copy of its own. The certificate
// renderer reads SongShared instead and embeds subsets it builds itself.
func Song() []byte {
	b := make([]byte, len(uming))
	copy(b, uming)
	return b
}

// SongShared returns the embedded font bytes without copying. The caller must not modify them;
// it is for read-only parsers such as golang.org/x/image/font/sfnt.
func SongShared() []byte { return uming }

// FallbackShared returns the embedded fallback font without copying: a TrueType (glyf) Ming-style
// font with only the characters of GBK and of the BMP CJK ideographs of GB 18030 that the Song
// face lacks (8,085 characters). The caller must not modify the bytes. It never fails.
func FallbackShared() []byte { return fallback }
