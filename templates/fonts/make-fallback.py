#!/usr/bin/python3
"""Builds fallback-gbk.ttf: the glyphs of HanaMinA (Debian fonts-hanazono) for the characters
of GBK and the CJK ideographs of the GB 18030 BMP that uming-cn.ttf lacks.

Run from templates/fonts: ./make-fallback.sh (it installs fonts-hanazono if needed).
Needs fontTools (Debian python3-fonttools). The output is deterministic for the same inputs.
"""
import sys
import unicodedata

from fontTools import subset
from fontTools.ttLib import TTFont

SRC = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf"
OUT = sys.argv[2] if len(sys.argv) > 2 else "fallback-gbk.ttf"
FAMILY = "certseal GBK fallback"  # not a Reserved Font Name of the OFL alternative


def cmap4(font):
    """The (3,1) format 4 cmap: what gofpdf and certseal's renderer read."""
    for t in font["cmap"].tables:
        if t.format == 4 and t.platformID == 3 and t.platEncID == 1:
            return t.cmap
    raise SystemExit("no (3,1) format 4 cmap")


def gbk():
    out = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                s = bytes([lead, trail]).decode("gbk")
            except UnicodeDecodeError:
                continue
            if len(s) == 1 and not 0xE000 <= ord(s) <= 0xF8FF:
                out.add(ord(s))
    return out


def bmp_han():
    ranges = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    return {c for a, b in ranges for c in range(a, b + 1) if unicodedata.category(chr(c)) == "Lo"}


uming = cmap4(TTFont("uming-cn.ttf", lazy=True))
src = TTFont(SRC, recalcTimestamp=False)
have = cmap4(src)
want = {c for c in gbk() | bmp_han() if c not in uming and c in have}
print(f"{len(want)} characters from {SRC}", file=sys.stderr)

opts = subset.Options()
opts.hinting = False  # certificates are printed and viewed at high resolution
opts.layout_features = []
opts.notdef_outline = True
opts.name_IDs = []  # the name table is rewritten below
opts.drop_tables += ["vhea", "vmtx", "GSUB", "GPOS", "GDEF", "BASE", "VORG", "gasp", "DSIG", "FFTM", "prop"]
opts.glyph_names = False
opts.recalc_timestamp = False
sub = subset.Subsetter(opts)
sub.populate(unicodes=sorted(want))
sub.subset(src)

name = src["name"]
name.names = []
notice = ("Subset of HanaMinA (Hanazono Mincho) by the GlyphWiki Project, "
          "Copyright 2008-2011 GlyphWiki Project; Hanazono Font License (see LICENSE-HANAZONO.txt)")
for nid, text in [(0, notice), (1, FAMILY), (2, "Regular"), (3, FAMILY + " 1.0"), (4, FAMILY),
                  (6, "certseal-GBKFallback")]:
    name.setName(text, nid, 3, 1, 0x409)
# keep only the (3,1) format 4 and the format 12 subtables fontTools made from the cmap
src["cmap"].tables = [t for t in src["cmap"].tables if (t.platformID, t.platEncID) == (3, 1)]
src.save(OUT)
