package seals

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"regexp"
	"strconv"

	"certseal/internal/tsa"
)

// maxLTVObjects bounds the objects looked at in the updates after a signature.
const maxLTVObjects = 256

var (
	objHeadRe = regexp.MustCompile(`(?:^|[\r\n ])(\d{1,10}) (\d{1,5}) obj\b`)
	rootRe    = regexp.MustCompile(`/Root\s*(\d{1,10}\s+\d{1,5}\s+R)`)
)

// ltvOnly reports whether the bytes of pdf after end are only PAdES long-term updates of the
// shape SignPDF and AddDocumentTimestamp write: new streams holding certificates and CRLs (a
// dictionary of /Length alone, under an object number the signed part does not use), a DSS, a
// document timestamp and its invisible widget, cross-reference streams, and the catalog, which
// may differ from the signed revision's only in /AcroForm and /DSS; every trailer keeps the
// /Root. Anything else (a page, a content stream, an annotation, a changed catalog) is a
// modification, and so are bytes after a signature without a DSS or document timestamp. It reads at most maxLTVObjects objects and each byte a bounded number of times.
func ltvOnly(pdf []byte, end int) bool {
	tail := pdf[end:]
	if len(bytes.TrimSpace(tail)) == 0 {
		return true
	}
	if bytes.Contains(tail, []byte("/Encrypt")) || bytes.Contains(tail, []byte("/ObjStm")) {
		return false
	}
	signed := pdf[:end]
	var root []byte
	if m := rootRe.FindAllSubmatch(signed, -1); len(m) > 0 {
		root = m[len(m)-1][1]
	}
	for _, m := range rootRe.FindAllSubmatch(tail, -1) {
		if !bytes.Equal(bytes.Join(bytes.Fields(m[1]), []byte(" ")), bytes.Join(bytes.Fields(root), []byte(" "))) {
			return false
		}
	}
	if !bytes.HasSuffix(bytes.TrimSpace(tail), []byte("%%EOF")) {
		return false
	}
	rootRef, _ := parseRef(root, 0)
	// Where each object of the signed part is last defined: one pass over it.
	defined := map[objRef]int{}
	for _, m := range objHeadRe.FindAllSubmatchIndex(signed, -1) {
		num, _ := strconv.Atoi(string(signed[m[2]:m[3]]))
		gen, _ := strconv.Atoi(string(signed[m[4]:m[5]]))
		defined[objRef{num, gen}] = m[1]
	}
	ltv := false // a DSS or a document timestamp was seen
	for i, n := 0, 0; i < len(tail); n++ {
		if n > maxLTVObjects {
			return false
		}
		loc := objHeadRe.FindSubmatchIndex(tail[i:])
		if loc == nil {
			break
		}
		num, _ := strconv.Atoi(string(tail[i+loc[2] : i+loc[3]]))
		gen, _ := strconv.Atoi(string(tail[i+loc[4] : i+loc[5]]))
		d, err := parseDict(tail, i+loc[1])
		if err != nil {
			return false
		}
		i = d.end
		after := skipWS(tail, d.end)
		isStream := bytes.HasPrefix(tail[after:], []byte("stream"))
		if isStream {
			l, ok := d.int("Length")
			if !ok || after+len("stream")+1+l > len(tail) {
				return false
			}
			i = after + len("stream") + 1 + l
		}
		switch {
		case d.name("Type") == "XRef" && isStream:
		case (d.name("Type") == "DSS" || d.name("Type") == "DocTimeStamp") && !isStream:
			ltv = true
		case d.name("FT") == "Sig" && !isStream && zeroRect(d.vals["Rect"]) && d.name("Subtype") == "Widget" && len(d.vals) <= 9:
		case isStream && len(d.vals) == 1:
			if _, ok := defined[objRef{num, gen}]; ok {
				return false
			}
		case num == rootRef.num && gen == rootRef.gen && !isStream:
			at, ok := defined[objRef{num, gen}]
			if !ok || !sameCatalog(signed, at, d) {
				return false
			}
		default:
			return false
		}
	}
	return ltv
}

func zeroRect(v []byte) bool {
	f := bytes.Fields(bytes.Trim(v, "[]"))
	if len(f) != 4 {
		return false
	}
	for _, x := range f {
		if string(x) != "0" {
			return false
		}
	}
	return true
}

// sameCatalog reports whether the catalog d equals the catalog of signed whose "obj" keyword
// ends at at, but for /AcroForm and /DSS.
func sameCatalog(signed []byte, at int, d dict) bool {
	prev, err := parseDict(signed, at)
	if err != nil {
		return false
	}
	skip := func(k string) bool { return k == "AcroForm" || k == "DSS" }
	for k, v := range d.vals {
		if skip(k) {
			continue
		}
		if pv, ok := prev.vals[k]; !ok || !bytes.Equal(bytes.Join(bytes.Fields(pv), []byte(" ")), bytes.Join(bytes.Fields(v), []byte(" "))) {
			return false
		}
	}
	for k := range prev.vals {
		if _, ok := d.vals[k]; !ok && !skip(k) {
			return false
		}
	}
	return true
}

// checkDocTimestamp checks a document timestamp (/SubFilter /ETSI.RFC3161): its /Contents is a
// token whose imprint is the SHA-256 of the byte range.
func checkDocTimestamp(r *SignatureReport, raw, digest []byte, roots *x509.CertPool, bad func(string)) {
	r.DocTimestamp = true
	tok := raw
	var rv asn1.RawValue
	if rest, err := asn1.Unmarshal(raw, &rv); err == nil {
		tok = raw[:len(raw)-len(rest)] // without the zero padding
	}
	info, err := tsa.Verify(tok, tsa.SHA256, digest, roots)
	if err != nil {
		bad("文档时间戳验证失败：" + err.Error())
		return
	}
	r.Valid = true
	r.Timestamp, r.TSA = info.Time, info.TSAName()
	r.TimestampTrusted = info.Trusted
	r.Time = info.Time
	if info.Cert != nil {
		r.TimestampExpires = info.Cert.NotAfter
	}
	if info.Cert != nil {
		r.SealName, r.Issuer, r.Serial = info.Cert.Subject.CommonName, info.Cert.Issuer.CommonName, info.Cert.SerialNumber.Text(16)
	}
	r.Trusted = info.Trusted
	if !info.Trusted {
		bad("文档时间戳的时间戳服务证书不可信：" + info.TrustError)
	}
}

// digestSHA256 is the SHA-256 of the parts.
func digestSHA256(parts ...[]byte) []byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}
