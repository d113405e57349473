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

// SongShared returns the embedded font bytes without copying. The caller must not modify them.
// Only package templates reads them (it parses the font once per process for certificates,
// reports and seal outlines; templates/imports_test.go keeps it that way).
func SongShared() []byte { return uming }

// FallbackShared returns the embedded fallback font without copying: a TrueType (glyf) Ming-style
// font with only the characters of GBK and of the BMP CJK ideographs of GB 18030 that the Song
// face lacks (8,085 characters). The caller must not modify the bytes. It never fails.
func FallbackShared() []byte { return fallback }
