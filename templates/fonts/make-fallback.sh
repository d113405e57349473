#!/bin/sh
# Regenerates fallback-gbk.ttf, the GBK / GB 18030 fallback font of the certificate renderer:
# the glyphs of HanaMinA (Debian package fonts-hanazono, GlyphWiki Project, Hanazono Font
# License) for the characters of GBK and the BMP CJK ideographs of GB 18030 that uming-cn.ttf
# lacks, without hinting. Needs python3 with fontTools (Debian python3-fonttools).
#
#   cd templates/fonts && ./make-fallback.sh && cd .. && go test -run Coverage -v .
set -eu
cd "$(dirname "$0")"
src=/usr/share/fonts/truetype/hanazono/HanaMinA.ttf
if [ ! -f "$src" ]; then
	apt-get install -y fonts-hanazono
fi
/usr/bin/python3 make-fallback.py "$src" fallback-gbk.ttf
cp /usr/share/doc/fonts-hanazono/copyright LICENSE-HANAZONO.txt
ls -l fallback-gbk.ttf
