package seals

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"

	"certseal"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

var pdfcpuOnce sync.Once

// pdfcpuConfig returns a pdfcpu configuration, making sure first that pdfcpu never writes a
// configuration directory into $HOME.
func pdfcpuConfig() *model.Configuration {
	pdfcpuOnce.Do(api.DisableConfigDir)
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	return conf
}

// SignOptions says who signs a PDF and where the seal goes.
type SignOptions struct {
	Signer crypto.Signer       // the seal's private key (or an HSM handle)
	Cert   *x509.Certificate   // the seal's certificate; its key must be Signer's
	Chain  []*x509.Certificate // the CA certificate(s), included in the CMS
	Page   int                 // 1-based page number; 0 means 1
	// Rect is where the seal goes on the page, in PDF points: llx, lly, urx, ury. The picture
	// is scaled to the largest square that fits and centred in it.
	Rect    [4]float64
	Picture *Picture // the seal picture; nil makes an invisible signature (Rect is then ignored)
	// Fit scales a drawn Picture to fill Rect keeping its proportions, instead of the largest
	// square in Rect: for a wide picture such as a purpose stamp (DrawBanner). A scan ignores it.
	Fit    bool
	Reason string // e.g. 电子证照签章
	// Location and Name (the signer's name) are optional.
	Location, Name string
	Time           time.Time // the signing time; required (inject the clock)
	// Algorithm is the seal's signature algorithm (Seal.SigningAlgorithm; Signing.Options sets
	// it). When nil it follows the Signer's key: ECDSAP256 for a P-256 key.
	Algorithm Algorithm
	// LongTerm is the PAdES level beyond the plain signature and what it needs (the TSA, the
	// CRLs); nil signs as before, with the signingTime attribute (pades.go).
	LongTerm *LongTerm
}

// SignPDF returns pdf with a PAdES signature (SubFilter ETSI.CAdES.detached, SHA-256) appended
// as an incremental update: a signature field whose widget shows the seal picture at Rect on
// the page, the AcroForm with SigFlags 3 in an updated catalog, and a new cross-reference
// section (a table or a stream, as the original uses) pointing back at the original one. The
// original bytes are kept unchanged in front. It returns a *certseal.Error: EInvalid for a PDF
// that is broken, encrypted or lacks the page, or for bad options; EForbidden when the signing
// time is outside the certificate's validity. Nothing is signed on error.
func SignPDF(pdf []byte, o SignOptions) ([]byte, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, certseal.Errorf(certseal.EInvalid, "文件不是 PDF 格式")
	}
	pl, _, err := planUpdate(pdf, o.Page)
	switch {
	case errors.Is(err, errEncrypted):
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件已加密，不能签章；请提供未加密的文件")
	case errors.Is(err, errPageRange):
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件没有第 %d 页", o.Page)
	case err != nil:
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件已损坏，无法签章")
	}
	return writeSigned(pdf, pl, o)
}

func (o *SignOptions) check() error {
	if o.Algorithm != nil && o.Algorithm.Name() == AlgSM2 {
		return certseal.Errorf(certseal.EInvalid, "国密（SM2）印章用于 OFD 电子证照的 GB/T 38540 电子签章，不能签署 PDF：PDF 证照请使用 ECDSA 印章，或把证照类型的文件格式设为 OFD").WithDetail("algorithm", AlgSM2)
	}
	if o.Signer == nil || o.Cert == nil {
		return certseal.Errorf(certseal.EInvalid, "签章需要印章的私钥和证书")
	}
	if !publicKeysEqual(o.Cert.PublicKey, o.Signer.Public()) {
		return certseal.Errorf(certseal.EInvalid, "印章私钥与印章证书不匹配")
	}
	if o.Algorithm == nil {
		a, err := algorithmForKey(o.Signer.Public())
		if err != nil {
			return certseal.Errorf(certseal.EInvalid, "不支持的印章密钥类型").WithDetail("reason", err.Error())
		}
		o.Algorithm = a
	} else if !o.Algorithm.Accepts(o.Signer.Public()) {
		return certseal.Errorf(certseal.EInvalid, "印章私钥不是 %s 算法的密钥", o.Algorithm.Name())
	}
	if o.Time.IsZero() {
		return certseal.Errorf(certseal.EInvalid, "签章时间不能为空")
	}
	if o.Time.Before(o.Cert.NotBefore) || o.Time.After(o.Cert.NotAfter) {
		return certseal.Errorf(certseal.EForbidden, "印章证书在签章时间不在有效期内（%s 至 %s）",
			o.Cert.NotBefore.In(certseal.China).Format("2006-01-02"), o.Cert.NotAfter.In(certseal.China).Format("2006-01-02"))
	}
	if err := o.LongTerm.check(); err != nil {
		return err
	}
	if o.Page == 0 {
		o.Page = 1
	}
	if o.Page < 0 {
		return certseal.Errorf(certseal.EInvalid, "页码必须从 1 开始")
	}
	if o.Picture != nil {
		r := o.Rect
		for _, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 14400 {
				return certseal.Errorf(certseal.EInvalid, "印章位置不正确")
			}
		}
		if r[2]-r[0] < 1 || r[3]-r[1] < 1 {
			return certseal.Errorf(certseal.EInvalid, "印章位置不正确：右上角必须在左下角的右上方")
		}
	}
	return nil
}

// planUpdate reads what the incremental update needs from pdf: with the package's own scanner
// when the file has the shape package templates writes (fast is then true), else with pdfcpu.
// The shape is pinned by seals/contract_test.go (TestWriterScannerContract).
func planUpdate(pdf []byte, page int) (pl *updatePlan, fast bool, err error) {
	pl, err = planFast(pdf, page)
	if errors.Is(err, errFastPath) {
		pl, err = planPdfcpu(pdf, page)
		return pl, false, err
	}
	return pl, err == nil, err
}

// updatePlan is what the incremental update needs to know about the original file.
type updatePlan struct {
	size       int    // the original trailer's /Size: the first free object number
	prev       int    // offset of the original's last cross-reference section
	xrefStream bool   // the original uses cross-reference streams
	root, page objRef // the catalog and the page the seal goes on
	// catalog returns the updated catalog given the signature fields and the DSS (num 0:
	// none); pageDict the updated page given the seal's field.
	catalog  func(fields []objRef, dss objRef) []byte
	pageDict func(field objRef) []byte
	trailer  []byte // extra trailer entries to repeat: /Info and /ID
}

// planFast reads a PDF with a single classic xref table (as gofpdf writes) with the package's
// own small scanner. It returns errFastPath for anything else.
func planFast(pdf []byte, page int) (*updatePlan, error) {
	doc, err := readSimple(pdf)
	if err != nil {
		return nil, err
	}
	size, ok := doc.trailer.int("Size")
	rootRef, ok2 := doc.trailer.ref("Root")
	if !ok || !ok2 {
		return nil, errFastPath
	}
	root, err := doc.obj(rootRef)
	if err != nil {
		return nil, err
	}
	if _, ok := root.vals["AcroForm"]; ok {
		return nil, errFastPath
	}
	pageRef, pd, err := doc.page(root, page)
	if err != nil {
		return nil, err
	}
	if _, ok := pd.vals["Annots"]; ok {
		return nil, errFastPath
	}
	rootRaw := pdf[root.start+2 : root.end]
	pageRaw := pdf[pd.start+2 : pd.end]
	pl := &updatePlan{size: size, prev: doc.xref, root: rootRef, page: pageRef}
	pl.catalog = func(fs []objRef, dss objRef) []byte {
		d := ""
		if dss.num > 0 {
			d = " /DSS " + dss.String()
		}
		return concat("<</AcroForm <</Fields [", refList(fs), "] /SigFlags 3>>", d, "\n", string(rootRaw))
	}
	pl.pageDict = func(f objRef) []byte {
		return concat("<</Annots [", f.String(), "]\n", string(pageRaw))
	}
	for _, k := range []string{"Info", "ID"} {
		if v, ok := doc.trailer.vals[k]; ok {
			pl.trailer = append(pl.trailer, concat("/", k, " ", string(v), "\n")...)
		}
	}
	return pl, nil
}

func refList(rs []objRef) string {
	var b []byte
	for i, r := range rs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, r.String()...)
	}
	return string(b)
}

func concat(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// planPdfcpu reads any PDF pdfcpu can read.
func planPdfcpu(pdf []byte, page int) (pl *updatePlan, err error) {
	defer func() {
		if r := recover(); r != nil { // pdfcpu on hostile input
			pl, err = nil, fmt.Errorf("seals: pdfcpu: %v", r)
		}
	}()
	ctx, err := api.ReadContext(bytes.NewReader(pdf), pdfcpuConfig())
	if err != nil {
		if bytes.Contains(pdf, []byte("/Encrypt")) {
			return nil, errEncrypted
		}
		return nil, fmt.Errorf("seals: read PDF: %w", err)
	}
	if ctx.Encrypt != nil || ctx.E != nil {
		return nil, errEncrypted
	}
	if ctx.Root == nil || ctx.Size == nil {
		return nil, errors.New("seals: no catalog")
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return nil, err
	}
	if page > ctx.PageCount {
		return nil, errPageRange
	}
	pd, pref, _, err := ctx.PageDict(page, false)
	if err != nil || pref == nil {
		return nil, fmt.Errorf("seals: page %d: %v", page, err)
	}
	cat, err := ctx.Catalog()
	if err != nil {
		return nil, err
	}
	var annots types.Array
	if a, ok := pd.Find("Annots"); ok {
		if annots, err = ctx.DereferenceArray(a); err != nil {
			return nil, err
		}
	}
	af := types.Dict{}
	var fields types.Array
	if a, ok := cat.Find("AcroForm"); ok {
		d, err := ctx.DereferenceDict(a)
		if err != nil {
			return nil, err
		}
		for k, v := range d {
			af[k] = v
		}
		if f, ok := d.Find("Fields"); ok {
			if fields, err = ctx.DereferenceArray(f); err != nil {
				return nil, err
			}
		}
	}
	prev, ok := lastStartXref(pdf)
	if !ok {
		return nil, errors.New("seals: no startxref")
	}
	pl = &updatePlan{
		size:       *ctx.Size,
		prev:       prev,
		xrefStream: ctx.Read.UsingXRefStreams,
		root:       objRef{ctx.Root.ObjectNumber.Value(), ctx.Root.GenerationNumber.Value()},
		page:       objRef{pref.ObjectNumber.Value(), pref.GenerationNumber.Value()},
	}
	pl.catalog = func(fs []objRef, dss objRef) []byte {
		a := types.Dict{}
		for k, v := range af {
			a[k] = v
		}
		a["Fields"] = append(types.Array{}, fields...)
		for _, f := range fs {
			a["Fields"] = append(a["Fields"].(types.Array), *types.NewIndirectRef(f.num, f.gen))
		}
		a["SigFlags"] = types.Integer(3)
		c := types.Dict{}
		for k, v := range cat {
			c[k] = v
		}
		c["AcroForm"] = a
		if dss.num > 0 {
			c["DSS"] = *types.NewIndirectRef(dss.num, dss.gen)
		}
		return []byte(c.PDFString())
	}
	pl.pageDict = func(f objRef) []byte {
		p := types.Dict{}
		for k, v := range pd {
			p[k] = v
		}
		p["Annots"] = append(append(types.Array{}, annots...), *types.NewIndirectRef(f.num, f.gen))
		return []byte(p.PDFString())
	}
	if ctx.Info != nil {
		pl.trailer = append(pl.trailer, concat("/Info ", ctx.Info.String(), "\n")...)
	}
	if len(ctx.ID) > 0 {
		pl.trailer = append(pl.trailer, concat("/ID ", ctx.ID.PDFString(), "\n")...)
	}
	return pl, nil
}

// pdfDate formats t as a PDF date, D:YYYYMMDDHHmmSS+hh'mm'.
func pdfDate(t time.Time) string {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("D:%s%c%02d'%02d'", t.Format("20060102150405"), sign, off/3600, off%3600/60)
}

// pdfText encodes s as a PDF text string: a literal string when it is printable ASCII, else
// UTF-16BE with a byte-order mark in a hex string.
func pdfText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		var b bytes.Buffer
		b.WriteByte('(')
		for i := 0; i < len(s); i++ {
			if s[i] == '(' || s[i] == ')' || s[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(s[i])
		}
		b.WriteByte(')')
		return b.String()
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2, 2+2*len(u))
	b[0], b[1] = 0xFE, 0xFF
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return "<" + hex.EncodeToString(b) + ">"
}

const byteRangeWidth = 44

// inkGState names the graphics state of the seal's appearance, which sets the Multiply blend
// mode.
const inkGState = "SealInk" // room for "0 a b c" with 10-digit offsets

// writeSigned appends the incremental update to a copy of pdf, then computes the digest over
// the byte range and fills in the CMS.
func writeSigned(pdf []byte, pl *updatePlan, o SignOptions) ([]byte, error) {
	reserve := 1536 + len(o.Cert.Raw) + o.LongTerm.tokenReserve()
	for _, c := range o.Chain {
		if c != nil {
			reserve += len(c.Raw)
		}
	}
	type extraObj struct {
		ref  objRef
		body []byte
	}
	var extra []extraObj // the picture's streams
	w := &pdfWriter{buf: make([]byte, 0, len(pdf)+2*reserve+4096)}
	w.buf = append(w.buf, pdf...)
	if c := w.buf[len(w.buf)-1]; c != '\n' && c != '\r' {
		w.buf = append(w.buf, '\n')
	}
	next := pl.size
	alloc := func() objRef { next++; return objRef{next - 1, 0} }
	sigRef, fieldRef := alloc(), alloc()

	// The signature dictionary; /ByteRange and /Contents are filled in at the end.
	w.begin(sigRef)
	w.str("<</Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached\n/M ")
	w.str(pdfText(pdfDate(o.Time)))
	if o.Reason != "" {
		w.str("\n/Reason " + pdfText(o.Reason))
	}
	if o.Location != "" {
		w.str("\n/Location " + pdfText(o.Location))
	}
	if o.Name != "" {
		w.str("\n/Name " + pdfText(o.Name))
	}
	w.str("\n/ByteRange [")
	brAt := len(w.buf)
	w.buf = append(w.buf, bytes.Repeat([]byte{' '}, byteRangeWidth)...)
	w.str("]\n/Contents ")
	contentsAt := len(w.buf)
	w.buf = append(w.buf, '<')
	w.buf = append(w.buf, bytes.Repeat([]byte{'0'}, 2*reserve)...)
	w.buf = append(w.buf, '>')
	contentsEnd := len(w.buf)
	w.str(">>")
	w.end()

	// The field and its widget, merged into one dictionary.
	rect := [4]float64{}
	var apRef objRef
	if o.Picture != nil {
		rect = o.Rect
		apRef = alloc()
	}
	w.begin(fieldRef)
	w.str("<</Type /Annot /Subtype /Widget /FT /Sig /T ")
	w.str(pdfText("certseal-" + strconv.Itoa(fieldRef.num)))
	w.str(" /V " + sigRef.String() + " /F 132 /P " + pl.page.String())
	w.str(fmt.Sprintf(" /Rect [%s %s %s %s]", fmtNum(rect[0]), fmtNum(rect[1]), fmtNum(rect[2]), fmtNum(rect[3])))
	if o.Picture != nil {
		w.str(" /AP <</N " + apRef.String() + ">>")
	}
	w.str(">>")
	w.end()

	if p := o.Picture; p != nil {
		bw, bh := rect[2]-rect[0], rect[3]-rect[1]
		size := math.Min(bw, bh)
		x, y := (bw-size)/2, (bh-size)/2
		var content []byte
		var res string
		if p.scan != nil {
			img, mask := alloc(), alloc()
			content = p.PDFOps(x, y, size)
			res = "/SealImage " + img.String()
			s := p.scan
			extra = append(extra,
				extraObj{img, concat("<</Type /XObject /Subtype /Image /Width ", strconv.Itoa(s.wpx), " /Height ", strconv.Itoa(s.hpx),
					" /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode /SMask ", mask.String(), " /Length ", strconv.Itoa(len(s.rgb)), ">>\nstream\n", string(s.rgb), "\nendstream")},
				extraObj{mask, concat("<</Type /XObject /Subtype /Image /Width ", strconv.Itoa(s.wpx), " /Height ", strconv.Itoa(s.hpx),
					" /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode /Length ", strconv.Itoa(len(s.alpha)), ">>\nstream\n", string(s.alpha), "\nendstream")})
		} else {
			form := alloc()
			scale := size / math.Max(p.w, p.h)
			ox, oy := x+(size-p.w*scale)/2, y+(size-p.h*scale)/2
			if o.Fit {
				scale = math.Min(bw/p.w, bh/p.h)
				ox, oy = (bw-p.w*scale)/2, (bh-p.h*scale)/2
			}
			content = []byte(fmt.Sprintf("q %s 0 0 %s %s %s cm /Seal Do Q\n", fmtNum(scale), fmtNum(scale), fmtNum(ox), fmtNum(oy)))
			res = "/Seal " + form.String()
			z := p.flateOps()
			extra = append(extra, extraObj{form, concat("<</Type /XObject /Subtype /Form /BBox [0 0 ", fmtNum(p.w), " ", fmtNum(p.h),
				"] /Filter /FlateDecode /Length ", strconv.Itoa(len(z)), ">>\nstream\n", string(z), "\nendstream")})
		}
		// The seal is painted like ink: with the Multiply blend mode, so the text under it (the
		// issuing authority, the date) stays readable and only the paper turns red.
		content = append([]byte("/"+inkGState+" gs\n"), content...)
		w.begin(apRef)
		w.str(fmt.Sprintf("<</Type /XObject /Subtype /Form /BBox [0 0 %s %s] /Resources <</XObject <<%s>> /ExtGState <</%s <</Type /ExtGState /BM /Multiply>>>>>> /Length %d>>\nstream\n",
			fmtNum(bw), fmtNum(bh), res, inkGState, len(content)))
		w.buf = append(w.buf, content...)
		w.str("\nendstream")
		w.end()
		for _, e := range extra {
			w.begin(e.ref)
			w.buf = append(w.buf, e.body...)
			w.end()
		}
	}

	w.begin(pl.page)
	w.buf = append(w.buf, pl.pageDict(fieldRef)...)
	w.end()
	w.begin(pl.root)
	w.buf = append(w.buf, pl.catalog([]objRef{fieldRef}, objRef{})...)
	w.end()

	if pl.xrefStream {
		w.xrefStream(alloc(), pl)
	} else {
		w.xrefTable(next, pl)
	}

	// Fill in the byte range, hash it, sign, and put the CMS into /Contents.
	out := w.buf
	br := fmt.Sprintf("0 %d %d %d", contentsAt, contentsEnd, len(out)-contentsEnd)
	if len(br) > byteRangeWidth {
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件过大")
	}
	copy(out[brAt:], br)
	h := o.Algorithm.NewHash()
	h.Write(out[:contentsAt])
	h.Write(out[contentsEnd:])
	cms, token, err := buildCMS(o.Algorithm, h.Sum(nil), o.Signer, o.Cert, o.Chain, o.Time, o.LongTerm)
	if err != nil {
		return nil, err
	}
	if len(cms) > reserve {
		return nil, fmt.Errorf("seals: CMS of %d bytes exceeds the %d reserved", len(cms), reserve)
	}
	hex.Encode(out[contentsAt+1:], cms)
	if o.LongTerm.atLeast(LevelBLT) {
		lt := ltvState{next: next, xref: w.xrefAt, fields: []objRef{fieldRef}}
		if out, err = appendDSS(out, pl, &lt, o, out[contentsAt+1:contentsEnd-1], token); err != nil {
			return nil, err
		}
		if o.LongTerm.atLeast(LevelBLTA) {
			if out, err = appendDocTimestamp(out, pl, &lt, o.LongTerm); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

type xrefEntry struct{ num, off int }

type pdfWriter struct {
	buf     []byte
	offsets []xrefEntry
	xrefAt  int // where the last cross-reference section written starts
}

func (w *pdfWriter) str(s string) { w.buf = append(w.buf, s...) }

func (w *pdfWriter) begin(r objRef) {
	w.offsets = append(w.offsets, xrefEntry{r.num, len(w.buf)})
	w.buf = strconv.AppendInt(w.buf, int64(r.num), 10)
	w.buf = append(w.buf, ' ')
	w.buf = strconv.AppendInt(w.buf, int64(r.gen), 10)
	w.buf = append(w.buf, " obj\n"...)
}

func (w *pdfWriter) end() { w.buf = append(w.buf, "\nendobj\n"...) }

// runs groups the sorted entries into subsections of consecutive object numbers.
func (w *pdfWriter) runs() [][]xrefEntry {
	sort.Slice(w.offsets, func(i, j int) bool { return w.offsets[i].num < w.offsets[j].num })
	var out [][]xrefEntry
	for i, e := range w.offsets {
		if i == 0 || e.num != w.offsets[i-1].num+1 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], e)
	}
	return out
}

func (w *pdfWriter) xrefTable(size int, pl *updatePlan) {
	at := len(w.buf)
	w.xrefAt = at
	w.str("xref\n")
	for _, run := range w.runs() {
		w.str(fmt.Sprintf("%d %d\n", run[0].num, len(run)))
		for _, e := range run {
			w.str(fmt.Sprintf("%010d 00000 n \n", e.off))
		}
	}
	w.str(fmt.Sprintf("trailer\n<</Size %d /Root %s /Prev %d\n", size, pl.root, pl.prev))
	w.buf = append(w.buf, pl.trailer...)
	w.str(fmt.Sprintf(">>\nstartxref\n%d\n%%%%EOF\n", at))
}

func (w *pdfWriter) xrefStream(self objRef, pl *updatePlan) {
	at := len(w.buf)
	w.xrefAt = at
	w.offsets = append(w.offsets, xrefEntry{self.num, at})
	var index []string
	var data []byte
	for _, run := range w.runs() {
		index = append(index, strconv.Itoa(run[0].num), strconv.Itoa(len(run)))
		for _, e := range run {
			data = append(data, 1, byte(e.off>>24), byte(e.off>>16), byte(e.off>>8), byte(e.off), 0, 0)
		}
	}
	w.begin(self)
	w.offsets = w.offsets[:len(w.offsets)-1] // begin recorded it again
	w.str(fmt.Sprintf("<</Type /XRef /Size %d /W [1 4 2] /Index [%s] /Root %s /Prev %d\n", self.num+1, joinSpace(index), pl.root, pl.prev))
	w.buf = append(w.buf, pl.trailer...)
	w.str(fmt.Sprintf("/Length %d>>\nstream\n", len(data)))
	w.buf = append(w.buf, data...)
	w.str("\nendstream")
	w.end()
	w.str(fmt.Sprintf("startxref\n%d\n%%%%EOF\n", at))
}

func joinSpace(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}
