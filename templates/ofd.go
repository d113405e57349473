package templates

// The OFD writer: the same Plan as the PDF, as an OFD package (GB/T 33190-2016, the national
// fixed-layout format that GB/T 36905 puts e-licences in). The package is a ZIP:
//
//	OFD.xml                        DocBody: DocInfo (DocID, title, author, dates, creator,
//	                               the licence metadata as CustomDatas) and DocRoot
//	Doc_0/Document.xml             CommonData (MaxUnitID, PhysicalBox, PublicRes, DocumentRes),
//	                               Pages, Annotations, CustomTags
//	Doc_0/PublicRes.xml            the fonts, with their subset TrueType files under Doc_0/Res/
//	Doc_0/DocumentRes.xml          the document's resources (none: every drawing is a path)
//	Doc_0/Annotations.xml          the page annotations (none until the seal is stamped, which
//	                               is a signature's StampAnnot)
//	Doc_0/Tags/CustomTags.xml      names Doc_0/Tags/Licence.xml, the GB/T 36903 metadata
//	Doc_0/Pages/Page_0/Content.xml one layer: PathObjects (shapes, the QR code) and TextObjects
//
// Coordinates are millimetres from the top-left corner, y down, as in the Plan; each TextCode
// carries its glyph positions (DeltaX), so text is selectable and lands where the PDF puts it.
// The same plan and options give the same bytes (fixed entry order and times, no maps).

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"

	"certseal"
)

// OFDNamespace is the XML namespace of every OFD part (GB/T 33190-2016).
const OFDNamespace = "http://www.ofdspec.org/2016"

// LicenceNamespace is the namespace of the licence metadata part (Doc_0/Tags/Licence.xml)
// and of its CustomTag entry.
const LicenceNamespace = "urn:certseal:gbt36903:licence-metadata"

// LicenceMetadata is the GB/T 36903-style description of an e-licence (电子证照元数据) that
// travels inside its OFD file. Empty fields are left out.
type LicenceMetadata struct {
	Identifier     string // 证照标识 (GB/T 36904)
	Number         string // 证照编号
	Name           string // 证照名称
	TypeCode       string // 证照类型代码
	Issuer         string // 证照颁发机构
	IssuerCode     string // 证照颁发机构代码 (统一社会信用代码)
	Holder         string // 持证主体
	HolderCode     string // 持证主体代码
	HolderCodeType string // 持证主体代码类型
	IssueDate      string // 证照颁发日期, YYYY-MM-DD
	ValidFrom      string // 证照有效期起始日期
	ValidUntil     string // 证照有效期截止日期
	AreaCode       string // 证照所属行政区划代码
	CatalogueItem  string // 关联事项 (catalogue item code)
}

// fields returns the metadata as (element name, Chinese name, value) in the standard's order.
func (m *LicenceMetadata) fields() [][3]string {
	return [][3]string{
		{"Identifier", "证照标识", m.Identifier},
		{"Number", "证照编号", m.Number},
		{"Name", "证照名称", m.Name},
		{"TypeCode", "证照类型代码", m.TypeCode},
		{"Issuer", "证照颁发机构", m.Issuer},
		{"IssuerCode", "证照颁发机构代码", m.IssuerCode},
		{"Holder", "持证主体", m.Holder},
		{"HolderCode", "持证主体代码", m.HolderCode},
		{"HolderCodeType", "持证主体代码类型", m.HolderCodeType},
		{"IssueDate", "证照颁发日期", m.IssueDate},
		{"ValidFrom", "证照有效期起始日期", m.ValidFrom},
		{"ValidUntil", "证照有效期截止日期", m.ValidUntil},
		{"AreaCode", "证照所属行政区划代码", m.AreaCode},
		{"CatalogueItem", "关联事项", m.CatalogueItem},
	}
}

// OFDWriter writes a Plan as an OFD package (see ofd.go for its parts). Its fields are the
// document metadata a Plan does not carry. The zero value writes a valid package with no
// author and no licence metadata; a writer may be used by any number of goroutines at once.
type OFDWriter struct {
	Author  string           // DocInfo/Author: the issuing organisation
	DocID   string           // DocInfo/DocID; empty: 32 hex digits derived from the content
	Licence *LicenceMetadata // nil: no CustomTags, no CustomDatas
}

// Format returns "ofd".
func (OFDWriter) Format() string { return "ofd" }

// Write returns the OFD package of p. The same plan and writer give the same bytes. It returns
// an error with code EInternal if the subset font cannot be built.
func (w OFDWriter) Write(p *Plan) ([]byte, error) {
	fonts, bySlot, err := p.fonts()
	if err != nil {
		return nil, err
	}
	// IDs: fonts 1.., the page, then the layer and the page objects.
	id := 0
	next := func() int { id++; return id }
	fontID := [2]int{}
	fontIDs := make([]int, len(fonts))
	for i, f := range fonts {
		fontIDs[i] = next()
		for s := range bySlot {
			if bySlot[s] == f {
				fontID[s] = fontIDs[i]
			}
		}
	}
	pageID := next()
	content := p.ofdContent(next, fontID)

	var pub xmlBuf
	pub.head("Res", ` BaseLoc="Res"`)
	if len(fonts) > 0 {
		pub.s("<ofd:Fonts>")
		for i, f := range fonts {
			family := "AR PL UMing CN"
			if f.f != p.font {
				family = "certseal GBK fallback"
			}
			pub.s(`<ofd:Font ID="`)
			pub.int(fontIDs[i])
			pub.s(`" FontName="`)
			pub.esc(f.name)
			pub.s(`" FamilyName="`)
			pub.esc(family)
			pub.s(`"><ofd:FontFile>`)
			pub.s(ofdFontFile(fontIDs[i]))
			pub.s("</ofd:FontFile></ofd:Font>")
		}
		pub.s("</ofd:Fonts>")
	}
	pub.s("</ofd:Res>")

	var docRes xmlBuf
	docRes.head("Res", ` BaseLoc="Res"`)
	docRes.s("</ofd:Res>")

	var annots xmlBuf
	annots.head("Annotations", "")
	annots.s("</ofd:Annotations>")

	var doc xmlBuf
	doc.head("Document", "")
	doc.s("<ofd:CommonData><ofd:MaxUnitID>")
	doc.int(id)
	doc.s("</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 ")
	doc.num(p.Width)
	doc.s(" ")
	doc.num(p.Height)
	doc.s("</ofd:PhysicalBox></ofd:PageArea><ofd:PublicRes>PublicRes.xml</ofd:PublicRes>" +
		"<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes></ofd:CommonData>")
	doc.s(`<ofd:Pages><ofd:Page ID="`)
	doc.int(pageID)
	doc.s(`" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>`)
	doc.s("<ofd:Annotations>Annotations.xml</ofd:Annotations>")
	if w.Licence != nil {
		doc.s("<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags>")
	}
	doc.s("</ofd:Document>")
	parts := []ofdPart{
		{"Doc_0/Document.xml", doc.b},
		{"Doc_0/PublicRes.xml", pub.b},
		{"Doc_0/DocumentRes.xml", docRes.b},
		{"Doc_0/Annotations.xml", annots.b},
		{"Doc_0/Pages/Page_0/Content.xml", content},
	}
	if w.Licence != nil {
		var tags xmlBuf
		tags.head("CustomTags", "")
		tags.s(`<ofd:CustomTag NameSpace="` + LicenceNamespace + `"><ofd:FileLoc>Licence.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>`)
		var lic xmlBuf
		lic.s(xml.Header[:len(xml.Header)-1])
		lic.s(`<LicenceMetadata xmlns="` + LicenceNamespace + `" Standard="GB/T 36903">`)
		for _, f := range w.Licence.fields() {
			if f[2] == "" {
				continue
			}
			lic.s("<" + f[0] + ` Name="` + f[1] + `">`)
			lic.esc(f[2])
			lic.s("</" + f[0] + ">")
		}
		lic.s("</LicenceMetadata>")
		parts = append(parts, ofdPart{"Doc_0/Tags/CustomTags.xml", tags.b}, ofdPart{"Doc_0/Tags/Licence.xml", lic.b})
	}
	for i, f := range fonts {
		parts = append(parts, ofdPart{"Doc_0/Res/" + ofdFontFile(fontIDs[i]), f.sub.data})
	}

	docID := w.DocID
	if docID == "" {
		h := sha256.New()
		for _, pt := range parts {
			h.Write([]byte(pt.name))
			h.Write([]byte{0})
			h.Write(pt.data)
		}
		docID = hex.EncodeToString(h.Sum(nil)[:16])
	}
	var top xmlBuf
	top.head("OFD", ` Version="1.0" DocType="OFD"`)
	top.s("<ofd:DocBody><ofd:DocInfo><ofd:DocID>")
	top.esc(docID)
	top.s("</ofd:DocID><ofd:Title>")
	top.esc(p.Title)
	top.s("</ofd:Title>")
	if w.Author != "" {
		top.s("<ofd:Author>")
		top.esc(w.Author)
		top.s("</ofd:Author>")
	}
	date := p.Created.Format("2006-01-02")
	top.s("<ofd:CreationDate>" + date + "</ofd:CreationDate><ofd:ModDate>" + date + "</ofd:ModDate><ofd:Creator>")
	top.esc(p.Producer)
	top.s("</ofd:Creator><ofd:CreatorVersion>")
	top.esc(p.Creator)
	top.s("</ofd:CreatorVersion>")
	if w.Licence != nil {
		top.s("<ofd:CustomDatas>")
		for _, f := range w.Licence.fields() {
			if f[2] == "" {
				continue
			}
			top.s(`<ofd:CustomData Name="` + f[1] + `">`)
			top.esc(f[2])
			top.s("</ofd:CustomData>")
		}
		top.s("</ofd:CustomDatas>")
	}
	top.s("</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>")

	out, err := writeOFDZip(append([]ofdPart{{"OFD.xml", top.b}}, parts...), p.Created)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInternal, "OFD文件生成失败").WithDetail("reason", err.Error())
	}
	return out, nil
}

func ofdFontFile(id int) string { return "font_" + strconv.Itoa(id) + ".ttf" }

// ofdPart is one file of the package.
type ofdPart struct {
	name string
	data []byte
}

// writeOFDZip writes parts in order into a ZIP whose entries all carry the time at (UTC,
// seconds), the XML deflated at the renderer's speed-first level, the fonts stored.
func writeOFDZip(parts []ofdPart, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	n := 0
	for _, pt := range parts {
		n += len(pt.data)
	}
	buf.Grow(n/2 + 4096)
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, newPooledFlate)
	mod := at.UTC().Truncate(time.Second)
	for _, pt := range parts {
		// The font is stored, not deflated: compressing it here and inflating it again when the
		// package is sealed (SM3 of every file) was a third of the time of an OFD certificate,
		// for 30 KB.
		method := zip.Deflate
		if strings.HasSuffix(pt.name, ".ttf") {
			method = zip.Store
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: pt.name, Method: method, Modified: mod})
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(pt.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ofdContent returns Pages/Page_0/Content.xml: one body layer with the shapes, the text runs
// (in the fonts of fontID, by segment slot) and the QR code, in the PDF's draw order.
func (p *Plan) ofdContent(next func() int, fontID [2]int) []byte {
	var b xmlBuf
	b.b = make([]byte, 0, 32<<10)
	b.head("Page", "")
	b.s("<ofd:Area><ofd:PhysicalBox>0 0 ")
	b.num(p.Width)
	b.s(" ")
	b.num(p.Height)
	b.s(`</ofd:PhysicalBox></ofd:Area><ofd:Content><ofd:Layer ID="`)
	b.int(next())
	b.s(`" Type="Body">`)
	for i := range p.Shapes {
		b.shape(&p.Shapes[i], next(), p.Width, p.Height)
	}
	for _, run := range p.Runs {
		x := run.X
		for _, seg := range p.segments(run.Text) {
			b.text(next(), fontID[seg.font], run, x, seg, p.font)
			x += seg.width*run.Size*ptToMM + float64(seg.n)*run.Spacing
		}
	}
	if q := p.QR; q != nil {
		b.qr(next(), q)
	}
	b.s("</ofd:Layer></ofd:Content></ofd:Page>")
	return b.b
}

// shape appends s as a PathObject over the whole page (absolute coordinates).
func (b *xmlBuf) shape(s *Shape, id int, w, h float64) {
	b.s(`<ofd:PathObject ID="`)
	b.int(id)
	b.s(`" Boundary="0 0 `)
	b.num(w)
	b.s(" ")
	b.num(h)
	if s.Fill {
		b.s(`" Stroke="false" Fill="true"><ofd:FillColor Value="`)
	} else {
		b.s(`" LineWidth="`)
		b.num(s.LineWidth)
		b.s(`"><ofd:StrokeColor Value="`)
	}
	b.color(s.Color)
	b.s(`"/><ofd:AbbreviatedData>`)
	switch s.Kind {
	case ShapeRect:
		b.rect(s.X, s.Y, s.W, s.H)
	case ShapeLine:
		b.s("M ")
		b.pt(s.X, s.Y)
		b.s(" L ")
		b.pt(s.X2, s.Y2)
	case ShapePath:
		for i, seg := range s.Path {
			if i > 0 {
				b.s(" ")
			}
			switch seg.Op {
			case MoveTo:
				b.s("M ")
				b.pt(seg.Pts[0][0], seg.Pts[0][1])
			case LineTo:
				b.s("L ")
				b.pt(seg.Pts[0][0], seg.Pts[0][1])
			case CurveTo:
				b.s("B ")
				b.pt(seg.Pts[0][0], seg.Pts[0][1])
				b.s(" ")
				b.pt(seg.Pts[1][0], seg.Pts[1][1])
				b.s(" ")
				b.pt(seg.Pts[2][0], seg.Pts[2][1])
			case Close:
				b.s("C")
			}
		}
	}
	b.s("</ofd:AbbreviatedData></ofd:PathObject>")
}

// rect appends the closed rectangle of top-left x, y and size w, h.
func (b *xmlBuf) rect(x, y, w, h float64) {
	b.s("M ")
	b.pt(x, y)
	b.s(" L ")
	b.pt(x+w, y)
	b.s(" L ")
	b.pt(x+w, y+h)
	b.s(" L ")
	b.pt(x, y+h)
	b.s(" C")
}

// text appends one segment of run, starting at x, as a TextObject in font fid: its boundary is
// the line box (ascent to descent, with a margin), the TextCode's origin is the baseline-left
// point inside it, and DeltaX gives the advance to each next character (width times size plus
// the run's spacing), exactly what the PDF sets.
func (b *xmlBuf) text(id, fid int, run TextRun, x float64, seg segment, f *fontIndex) {
	size := run.Size * ptToMM
	asc := float64(f.ascent) / float64(f.unitsPerEm) * size
	desc := -float64(f.descent) / float64(f.unitsPerEm) * size
	width := seg.width*size + float64(seg.n)*run.Spacing
	const margin = 0.5
	b.s(`<ofd:TextObject ID="`)
	b.int(id)
	b.s(`" Boundary="`)
	b.num(x - margin)
	b.s(" ")
	b.num(run.Y - asc - margin)
	b.s(" ")
	b.num(width + 2*margin)
	b.s(" ")
	b.num(asc + desc + 2*margin)
	b.s(`" Font="`)
	b.int(fid)
	b.s(`" Size="`)
	b.num(size)
	b.s(`"><ofd:FillColor Value="`)
	b.color(run.Color)
	b.s(`"/><ofd:TextCode X="`)
	b.num(margin)
	b.s(`" Y="`)
	b.num(asc + margin)
	b.s(`"`)
	if seg.n > 1 {
		b.s(` DeltaX="`)
		i := 0
		for _, r := range seg.s {
			if i == seg.n-1 {
				break
			}
			if i > 0 {
				b.s(" ")
			}
			b.num(f.width(r)*size + run.Spacing)
			i++
		}
		b.s(`"`)
	}
	b.s(">")
	b.esc(seg.s)
	b.s("</ofd:TextCode></ofd:TextObject>")
}

// qr appends the dark modules of q as one filled PathObject, a rectangle per horizontal run
// of dark modules in a row.
func (b *xmlBuf) qr(id int, q *QRCode) {
	m := q.ModuleSize()
	n := q.Modules()
	x0 := q.X + float64(QuietZone)*m
	y0 := q.Y + float64(QuietZone)*m
	b.s(`<ofd:PathObject ID="`)
	b.int(id)
	b.s(`" Boundary="`)
	b.num(q.X)
	b.s(" ")
	b.num(q.Y)
	b.s(" ")
	b.num(q.Size)
	b.s(" ")
	b.num(q.Size)
	b.s(`" Stroke="false" Fill="true"><ofd:FillColor Value="0 0 0"/><ofd:AbbreviatedData>`)
	first := true
	for row := 0; row < n; row++ {
		for col := 0; col < n; {
			if !q.Dark(col, row) {
				col++
				continue
			}
			end := col
			for end < n && q.Dark(end, row) {
				end++
			}
			if !first {
				b.s(" ")
			}
			first = false
			// Relative to the boundary's origin.
			b.rect(x0-q.X+float64(col)*m, y0-q.Y+float64(row)*m, float64(end-col)*m, m)
			col = end
		}
	}
	b.s("</ofd:AbbreviatedData></ofd:PathObject>")
}

// xmlBuf builds one XML part.
type xmlBuf struct{ b []byte }

func (b *xmlBuf) s(s string) { b.b = append(b.b, s...) }

func (b *xmlBuf) int(v int) { b.b = strconv.AppendInt(b.b, int64(v), 10) }

// head appends the XML declaration and the start tag of the root element ofd:name with the
// OFD namespace and the attributes attrs (each with a leading space).
func (b *xmlBuf) head(name, attrs string) {
	b.s(`<?xml version="1.0" encoding="UTF-8"?>`)
	b.s(`<ofd:` + name + ` xmlns:ofd="` + OFDNamespace + `"` + attrs + `>`)
}

// num appends v in mm rounded to 3 decimals, without trailing zeros.
func (b *xmlBuf) num(v float64) {
	v = math.Round(v*1000) / 1000
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		b.b = append(b.b, '0')
		return
	}
	b.b = strconv.AppendFloat(b.b, v, 'f', -1, 64)
}

func (b *xmlBuf) pt(x, y float64) {
	b.num(x)
	b.s(" ")
	b.num(y)
}

func (b *xmlBuf) color(c [3]int) {
	for i, v := range c {
		if i > 0 {
			b.s(" ")
		}
		b.int(min(max(v, 0), 255))
	}
}

// esc appends s with XML's special characters escaped; characters XML 1.0 does not allow
// become U+FFFD.
func (b *xmlBuf) esc(s string) {
	var w bytes.Buffer
	xml.EscapeText(&w, []byte(s)) //nolint:errcheck // bytes.Buffer never fails
	b.b = append(b.b, w.Bytes()...)
}

// flateWriters recycles the deflate writers of the ZIP entries: a new one per entry costs
// about a megabyte of tables.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed) // the level is valid
	return w
}}

// pooledFlate is a ZIP compressor whose Close returns the writer to the pool.
type pooledFlate struct{ *flate.Writer }

func (p pooledFlate) Close() error {
	err := p.Writer.Close()
	flateWriters.Put(p.Writer)
	return err
}

func newPooledFlate(out io.Writer) (io.WriteCloser, error) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(out)
	return pooledFlate{w}, nil
}
