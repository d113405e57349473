package seals

// PAdES beyond the plain signature (ETSI EN 319 142-1): B-T puts an RFC 3161 timestamp of the
// signature value into the CMS as the unsigned attribute signature-time-stamp-token; B-LT adds,
// in an incremental update, a Document Security Store (DSS, with a VRI entry for the signature)
// holding the certificate chain, the TSA's certificates and the CRLs, so that the signature can
// be validated years later without the network; B-LTA adds, in one more update, a document
// timestamp (SubFilter ETSI.RFC3161) over the whole file.

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/tsa"
)

// Level is a PAdES baseline level.
type Level string

// The PAdES baseline levels. LevelBB is the plain signature without signingTime.
const (
	LevelBB   Level = "B-B"
	LevelBT   Level = "B-T"
	LevelBLT  Level = "B-LT"
	LevelBLTA Level = "B-LTA"
)

func (l Level) rank() int {
	switch l {
	case LevelBB:
		return 1
	case LevelBT:
		return 2
	case LevelBLT:
		return 3
	case LevelBLTA:
		return 4
	}
	return 0
}

// ParseLevel returns the level named s (B-B, B-T, B-LT or B-LTA, case-insensitive). It returns
// a *certseal.Error (EInvalid) for anything else.
func ParseLevel(s string) (Level, error) {
	l := Level(strings.ToUpper(strings.TrimSpace(s)))
	if l.rank() == 0 {
		return "", certseal.Errorf(certseal.EInvalid, "PAdES 级别 %q 无效（应为 B-B、B-T、B-LT 或 B-LTA）", s)
	}
	return l, nil
}

// Timestamper gets RFC 3161 timestamps: the built-in authority (*tsa.Authority) or an external
// TSA over HTTP (*tsahttp.Client). Timestamp returns a token over digest (of hash h), or a
// *certseal.Error with code EUnavailable (tsa.Unavailable) when it cannot.
type Timestamper interface {
	Timestamp(ctx context.Context, h tsa.Hash, digest []byte) ([]byte, error)
	Name() string
}

// LongTerm says how far beyond the plain signature SignPDF goes.
type LongTerm struct {
	Level Level
	TSA   Timestamper // required from B-T on
	// CRLs (DER) and Certs go into the DSS at B-LT and B-LTA, beside the signer's certificate,
	// the chain and the certificates in the timestamp tokens.
	CRLs  [][]byte
	Certs []*x509.Certificate
	// Context bounds the TSA requests; nil is context.Background (the TSA client has its own
	// timeout).
	Context context.Context
}

var (
	oidAttrTimeStampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
	// dssArraysRe finds the arrays of a DSS this package wrote.
	dssArraysRe = regexp.MustCompile(`/Type /DSS /Certs (\[[0-9 R]*\]) /CRLs (\[[0-9 R]*\])`)
)

// tokenReserve is the room, in bytes, a timestamp token needs in /Contents.
const tokenReserve = 10 << 10

func (lt *LongTerm) check() error {
	if lt == nil {
		return nil
	}
	if lt.Level.rank() == 0 {
		return certseal.Errorf(certseal.EInvalid, "PAdES 级别 %q 无效", lt.Level)
	}
	if lt.Level.rank() >= LevelBT.rank() && lt.TSA == nil {
		return certseal.Errorf(certseal.EInvalid, "PAdES %s 级别需要配置时间戳服务", lt.Level)
	}
	return nil
}

func (lt *LongTerm) atLeast(l Level) bool { return lt != nil && lt.Level.rank() >= l.rank() }

func (lt *LongTerm) tokenReserve() int {
	if lt.atLeast(LevelBT) {
		return tokenReserve
	}
	return 0
}

func (lt *LongTerm) ctx() context.Context {
	if lt.Context != nil {
		return lt.Context
	}
	return context.Background()
}

// stampSignature returns a token over the SHA-256 of sig and the [1] IMPLICIT unsigned
// attributes holding it.
func (lt *LongTerm) stampSignature(sig []byte) (token, unsigned []byte, err error) {
	sum := sha256.Sum256(sig)
	token, err = lt.TSA.Timestamp(lt.ctx(), tsa.SHA256, sum[:])
	if err != nil {
		return nil, nil, err
	}
	if len(token) > tokenReserve {
		return nil, nil, tsa.Unavailable(fmt.Errorf("token of %d bytes is larger than the %d reserved", len(token), tokenReserve))
	}
	set, err := setOf([][]byte{token}, false)
	if err != nil {
		return nil, nil, err
	}
	attr, err := asn1.Marshal(cmsAttribute{Type: oidAttrTimeStampToken, Values: asn1.RawValue{FullBytes: set}})
	if err != nil {
		return nil, nil, err
	}
	unsigned, err = asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: attr})
	return token, unsigned, err
}

// ltvState follows the file across the updates after the signature.
type ltvState struct {
	next   int      // the next free object number
	xref   int      // offset of the last cross-reference section
	fields []objRef // the signature fields so far
	dss    objRef
}

// tokenCerts returns the certificates a token carries (none when it does not parse).
func tokenCerts(token []byte) []*x509.Certificate {
	var ci cmsContentInfo
	if _, err := asn1.Unmarshal(token, &ci); err != nil {
		return nil
	}
	var sd parseSignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil
	}
	certs, _ := x509.ParseCertificates(sd.Certificates.Bytes)
	return certs
}

// appendDSS appends the incremental update with the DSS: one stream per certificate and CRL,
// the DSS dictionary with a VRI entry for the signature whose /Contents hex is contentsHex, and
// the catalog pointing at it.
func appendDSS(pdf []byte, pl *updatePlan, st *ltvState, o SignOptions, contentsHex, token []byte) ([]byte, error) {
	lt := o.LongTerm
	var certs []*x509.Certificate
	seen := map[string]bool{}
	for _, c := range append(append(append([]*x509.Certificate{o.Cert}, o.Chain...), lt.Certs...), tokenCerts(token)...) {
		if c != nil && !seen[string(c.Raw)] {
			seen[string(c.Raw)] = true
			certs = append(certs, c)
		}
	}
	w := &pdfWriter{buf: pdf}
	alloc := func() objRef { st.next++; return objRef{st.next - 1, 0} }
	stream := func(data []byte) objRef {
		r := alloc()
		w.begin(r)
		w.str("<</Length " + strconv.Itoa(len(data)) + ">>\nstream\n")
		w.buf = append(w.buf, data...)
		w.str("\nendstream")
		w.end()
		return r
	}
	var certRefs, crlRefs []objRef
	for _, c := range certs {
		certRefs = append(certRefs, stream(c.Raw))
	}
	for _, c := range lt.CRLs {
		if len(c) > 0 {
			crlRefs = append(crlRefs, stream(c))
		}
	}
	raw := make([]byte, hex.DecodedLen(len(contentsHex)))
	if _, err := hex.Decode(raw, contentsHex); err != nil {
		return nil, fmt.Errorf("seals: contents: %w", err)
	}
	key := sha1.Sum(raw) // the VRI key (ETSI EN 319 142-1 §5.4.2.3): SHA-1 of the signature's /Contents
	st.dss = alloc()
	w.begin(st.dss)
	w.str("<</Type /DSS /Certs [" + refList(certRefs) + "] /CRLs [" + refList(crlRefs) + "]\n/VRI <</" +
		strings.ToUpper(hex.EncodeToString(key[:])) + " <</Cert [" + refList(certRefs) + "] /CRL [" + refList(crlRefs) + "]>>>>>>")
	w.end()
	w.begin(pl.root)
	w.buf = append(w.buf, pl.catalog(st.fields, st.dss)...)
	w.end()
	w.finish(st, pl, alloc)
	return w.buf, nil
}

// finish writes the cross-reference section of an update after the signature.
func (w *pdfWriter) finish(st *ltvState, pl *updatePlan, alloc func() objRef) {
	up := *pl
	up.prev = st.xref
	if up.xrefStream {
		w.xrefStream(alloc(), &up)
	} else {
		w.xrefTable(st.next, &up)
	}
	st.xref = w.xrefAt
}

// appendDocTimestamp appends the incremental update with a document timestamp (/Type
// /DocTimeStamp, /SubFilter /ETSI.RFC3161) over the whole file as it then is, an invisible
// field for it, and the catalog listing the field.
func appendDocTimestamp(pdf []byte, pl *updatePlan, st *ltvState, lt *LongTerm) ([]byte, error) {
	w := &pdfWriter{buf: pdf}
	alloc := func() objRef { st.next++; return objRef{st.next - 1, 0} }
	sigRef, fieldRef := alloc(), alloc()
	w.begin(sigRef)
	w.str("<</Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161\n/ByteRange [")
	brAt := len(w.buf)
	w.buf = append(w.buf, make([]byte, byteRangeWidth)...)
	for i := brAt; i < len(w.buf); i++ {
		w.buf[i] = ' '
	}
	w.str("]\n/Contents ")
	contentsAt := len(w.buf)
	w.buf = append(w.buf, '<')
	for i := 0; i < 2*tokenReserve; i++ {
		w.buf = append(w.buf, '0')
	}
	w.buf = append(w.buf, '>')
	contentsEnd := len(w.buf)
	w.str(">>")
	w.end()
	st.fields = append(st.fields, fieldRef)
	w.begin(fieldRef)
	w.str("<</Type /Annot /Subtype /Widget /FT /Sig /T " + pdfText("certseal-ts-"+strconv.Itoa(fieldRef.num)) +
		" /V " + sigRef.String() + " /F 132 /P " + pl.page.String() + " /Rect [0 0 0 0]>>")
	w.end()
	w.begin(pl.root)
	w.buf = append(w.buf, pl.catalog(st.fields, st.dss)...)
	w.end()
	w.finish(st, pl, alloc)
	out := w.buf
	br := fmt.Sprintf("0 %d %d %d", contentsAt, contentsEnd, len(out)-contentsEnd)
	if len(br) > byteRangeWidth {
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件过大")
	}
	copy(out[brAt:], br)
	h := sha256.New()
	h.Write(out[:contentsAt])
	h.Write(out[contentsEnd:])
	token, err := lt.TSA.Timestamp(lt.ctx(), tsa.SHA256, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	if len(token) > tokenReserve {
		return nil, tsa.Unavailable(fmt.Errorf("token of %d bytes is larger than the %d reserved", len(token), tokenReserve))
	}
	hex.Encode(out[contentsAt+1:], token)
	return out, nil
}

// AddDocumentTimestamp returns pdf, a certificate signed by SignPDF, with a DSS update (the
// certificates and CRLs of lt, and those of the new token) and a new document timestamp over
// the whole file: the re-timestamping that keeps a B-LTA file verifiable after the last
// timestamp's certificate expires. It returns a *certseal.Error: EInvalid when pdf cannot be
// read, EUnavailable when the TSA fails.
func AddDocumentTimestamp(pdf []byte, lt *LongTerm) ([]byte, error) {
	if lt == nil || lt.TSA == nil {
		return nil, certseal.Errorf(certseal.EInvalid, "重新加盖时间戳需要配置时间戳服务")
	}
	pl, err := planPdfcpu(pdf, 1)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "PDF 文件无法读取，不能加盖时间戳")
	}
	st := ltvState{next: pl.size, xref: pl.prev}
	// The DSS update of the re-timestamp: the existing signature fields stay (planPdfcpu kept
	// them), the new DSS adds what lt names; the catalog is rewritten with pdfcpu.
	w := &pdfWriter{buf: append([]byte{}, pdf...)}
	if c := w.buf[len(w.buf)-1]; c != '\n' && c != '\r' {
		w.buf = append(w.buf, '\n')
	}
	alloc := func() objRef { st.next++; return objRef{st.next - 1, 0} }
	var certRefs, crlRefs []objRef
	stream := func(data []byte) objRef {
		r := alloc()
		w.begin(r)
		w.str("<</Length " + strconv.Itoa(len(data)) + ">>\nstream\n")
		w.buf = append(w.buf, data...)
		w.str("\nendstream")
		w.end()
		return r
	}
	// The DSS so far stays: its certificates and CRLs are referred to again.
	if m := dssArraysRe.FindAllSubmatch(pdf, -1); len(m) > 0 {
		last := m[len(m)-1]
		certRefs, _ = refsIn(last[1])
		crlRefs, _ = refsIn(last[2])
	}
	for _, c := range lt.Certs {
		certRefs = append(certRefs, stream(c.Raw))
	}
	for _, c := range lt.CRLs {
		crlRefs = append(crlRefs, stream(c))
	}
	st.dss = alloc()
	w.begin(st.dss)
	w.str("<</Type /DSS /Certs [" + refList(certRefs) + "] /CRLs [" + refList(crlRefs) + "]>>")
	w.end()
	w.begin(pl.root)
	w.buf = append(w.buf, pl.catalog(nil, st.dss)...)
	w.end()
	w.finish(&st, pl, alloc)
	return appendDocTimestamp(w.buf, pl, &st, lt)
}

// Retimestamp returns pdf with a new DSS update (the CA certificate, its current CRL, the
// built-in or configured TSA's certificates) and a new document timestamp from the registry's
// TSA (AddDocumentTimestamp): what keeps a B-LTA certificate verifiable after its last
// timestamp's certificate expires. It returns a *certseal.Error: EInvalid without a TSA set up
// (SetLongTerm) or for a PDF that cannot be read, EUnavailable when the TSA fails.
func (r *Registry) Retimestamp(ctx context.Context, pdf []byte) ([]byte, error) {
	_, ts := r.LongTermSetting()
	if ts == nil {
		return nil, certseal.Errorf(certseal.EInvalid, "重新加盖时间戳需要配置时间戳服务")
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, err
	}
	crl, err := r.CRL(ctx)
	if err != nil {
		return nil, err
	}
	lt := &LongTerm{Level: LevelBLTA, TSA: ts, CRLs: [][]byte{crl}, Certs: append([]*x509.Certificate{ca.Cert}, r.tsaRoots()...), Context: ctx}
	if _, ok := ts.(builtinStamper); ok {
		if a, err := r.BuiltinTSA(ctx); err == nil {
			lt.Certs = append(lt.Certs, a.Cert)
		}
	}
	return AddDocumentTimestamp(pdf, lt)
}

// TimestampExpiry returns when the newest trusted timestamp in pdf (a document timestamp, else
// a signature timestamp) stops being verifiable: its TSA certificate's expiry; ok is false when
// pdf has no trusted timestamp. It returns ValidatePDF's errors.
func (r *Registry) TimestampExpiry(ctx context.Context, pdf []byte) (time.Time, bool, error) {
	roots, _, err := r.roots(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	reps, err := ValidatePDFContext(ctx, pdf, roots, r.clock.Now())
	if err != nil {
		return time.Time{}, false, err
	}
	var at time.Time
	var end int64 = -1
	for _, rep := range reps {
		if rep.TimestampTrusted && !rep.TimestampExpires.IsZero() && rep.ByteRange[2]+rep.ByteRange[3] > end {
			at, end = rep.TimestampExpires, rep.ByteRange[2]+rep.ByteRange[3]
		}
	}
	return at, end >= 0, nil
}
