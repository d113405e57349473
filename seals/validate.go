package seals

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"certseal"
	"certseal/internal/tsa"
)

// SignatureReport is what ValidatePDF finds out about one signature.
type SignatureReport struct {
	// Valid is true when the CMS signature verifies with the signer certificate and its
	// messageDigest matches the SHA-256 of the signed byte range.
	Valid bool
	// Modified is true when the byte range does not cover the whole file: bytes were added after
	// this signature (a later incremental update — another signature or an edit).
	Modified bool
	// Trusted is true when the signer certificate chains to one of the roots at the signing
	// time.
	Trusted bool
	// CertValidNow is true when the signer certificate is within its validity at now.
	CertValidNow bool
	// Signed is true when the dictionary holds a readable CMS signature with its signer's
	// certificate: a real signature, valid or not. Without it the report is of a /ByteRange
	// that is no signature (junk, or damaged beyond reading) and says nothing of the file.
	Signed bool

	SealName string    // the signer certificate's CN
	Org      string    // its O
	SealID   string    // its subject serialNumber: the seal id (esID)
	Code     string    // its OU: the seal code
	Serial   string    // the certificate serial number, hexadecimal
	Issuer   string    // the issuer's CN
	Time     time.Time // the signingTime attribute, else the dictionary's /M; zero when neither
	Reason   string    // the signature dictionary's /Reason, when readable ASCII
	// ByteRange is the signed byte range as written in the dictionary.
	ByteRange [4]int64

	// Timestamp is the time proven by a trusted RFC 3161 timestamp: the signature's unsigned
	// attribute signature-time-stamp-token, or a document timestamp's token; zero when there is
	// none that verifies and chains to the roots. TSA names the timestamp authority (its
	// certificate's CN) and TimestampTrusted says its certificate chains to the roots.
	Timestamp        time.Time
	TSA              string
	TimestampTrusted bool
	// DocTimestamp is true for a document timestamp (/Type /DocTimeStamp, /SubFilter
	// /ETSI.RFC3161) rather than a seal's signature.
	DocTimestamp bool
	// Level is the PAdES level the signature reaches: B-B (no timestamp), B-T (a signature
	// timestamp), B-LT (and a DSS after it), B-LTA (and a valid document timestamp after that);
	// "" for a document timestamp or a signature that is not valid.
	Level Level
	// Extended is true when bytes follow the signature but they are only PAdES long-term updates
	// (the DSS, document timestamps); Modified is then false.
	Extended bool
	// CertValidAtSigning is true when the signer certificate was within its validity at the
	// signing time: the proven Timestamp, else the claimed Time.
	CertValidAtSigning bool
	// TimestampExpires is when the certificate of the TSA that made Timestamp expires: a B-LTA
	// file must be timestamped again before then (AddDocumentTimestamp).
	TimestampExpires time.Time
	// Problems lists, in Chinese, why the signature is not valid, trusted or whole.
	Problems []string
}

// Limits of ValidatePDF on a file from outside.
const (
	// MaxSignatures is the most signature dictionaries ValidatePDF examines in one file; a file
	// with more is refused (EInvalid). Each signature costs one SHA-256 over at most the file, so
	// the limit keeps the work linear in the file's size.
	MaxSignatures = 16
	// MaxSignatureDictBytes bounds one signature dictionary, its /Contents included. A
	// dictionary that does not end within it is reported as unreadable.
	MaxSignatureDictBytes = 4 << 20
)

// ValidatePDF is ValidatePDFContext without a deadline.
func ValidatePDF(pdf []byte, roots *x509.CertPool, now time.Time) ([]SignatureReport, error) {
	return ValidatePDFContext(context.Background(), pdf, roots, now)
}

// ValidatePDFContext returns a report for every signature in pdf, in file order; a PDF without
// signatures gives an empty list. A signature is checked on its own bytes (the /ByteRange and
// /Contents of its dictionary), so that a damaged file still gets a report. roots are the
// trusted CA certificates (nil trusts none); now is the time to judge the certificate's current
// validity. Its time is linear in the size of pdf whatever the bytes are, and it stops when ctx
// is done with an error that is ctx's error (errors.Is) and a *certseal.Error (EUnavailable).
// It returns a *certseal.Error (EInvalid) when pdf is not a PDF or holds more than
// MaxSignatures signature dictionaries.
func ValidatePDFContext(ctx context.Context, pdf []byte, roots *x509.CertPool, now time.Time) ([]SignatureReport, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, certseal.Errorf(certseal.EInvalid, "文件不是 PDF 格式")
	}
	reports := []SignatureReport{}
	seenCMS := map[[32]byte]bool{}
	var (
		tokBR, tokObj = []byte("/ByteRange"), []byte("obj")
		lastObj       = -1 // the last "obj" keyword found before the current /ByteRange
		objFrom       = 0  // where the search for the next "obj" goes on
		parsedTo      = 0  // bytes before this were read by an earlier dictionary parse
	)
	// Every byte is looked at a bounded number of times: the /ByteRange and "obj" searches go
	// forward only, and a dictionary is parsed only from an "obj" after the end of the last
	// parse (a dictionary that does not parse counts as read up to MaxSignatureDictBytes).
	for i, n := 0, 0; ; n++ {
		if n%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, stopped(err)
			}
		}
		k := bytes.Index(pdf[i:], tokBR)
		if k < 0 {
			break
		}
		at := i + k
		i = at + len(tokBR)
		// The dictionary starts after the "obj" keyword of the object holding it: the last one
		// that ends before the /ByteRange.
		for {
			j := bytes.Index(pdf[objFrom:at], tokObj)
			if j < 0 {
				objFrom = max(objFrom, at-len(tokObj)+1)
				break
			}
			lastObj = objFrom + j
			objFrom = lastObj + len(tokObj)
		}
		o := lastObj
		if o < 0 || o < parsedTo {
			continue
		}
		if len(reports) == MaxSignatures {
			return nil, certseal.Errorf(certseal.EInvalid, "文件中的签名字典超过 %d 个，不予核验", MaxSignatures)
		}
		limit := min(len(pdf), o+len(tokObj)+MaxSignatureDictBytes)
		start := skipWS(pdf[:limit], o+len(tokObj))
		if !bytes.HasPrefix(pdf[start:limit], []byte("<<")) {
			// No dictionary at all (the "obj" of an "endobj", say): only the white space was read.
			parsedTo = start
			reports = append(reports, SignatureReport{Problems: []string{"签名字典无法解析"}})
			continue
		}
		d, err := parseDict(pdf[:limit], start)
		if err != nil {
			parsedTo = limit
			reports = append(reports, SignatureReport{Problems: []string{"签名字典无法解析"}})
			continue
		}
		parsedTo = d.end
		if d.end < at {
			reports = append(reports, SignatureReport{Problems: []string{"签名字典无法解析"}})
			continue
		}
		if d.name("Type") != "" && d.name("Type") != "Sig" && d.name("Type") != "DocTimeStamp" {
			continue
		}
		r, err := checkSignature(ctx, pdf, d, roots, now, seenCMS)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	levels(pdf, reports)
	return reports, nil
}

// levels raises the PAdES level of every timestamped signature that a DSS follows to B-LT, and
// to B-LTA when a valid document timestamp follows too.
func levels(pdf []byte, reports []SignatureReport) {
	for i := range reports {
		r := &reports[i]
		if r.Level != LevelBT {
			continue
		}
		end := r.ByteRange[2] + r.ByteRange[3]
		if end <= 0 || end > int64(len(pdf)) {
			continue
		}
		tail := pdf[end:]
		if !bytes.Contains(tail, []byte("/Type /DSS")) && !bytes.Contains(tail, []byte("/Type/DSS")) {
			continue
		}
		r.Level = LevelBLT
		for _, o := range reports {
			if o.DocTimestamp && o.Valid && o.TimestampTrusted && o.ByteRange[2]+o.ByteRange[3] > end {
				r.Level = LevelBLTA
			}
		}
	}
}

// checkSignature checks the signature whose dictionary is d. seen holds the SHA-256 of the
// signature values already checked in the file: a copy of one is refused unread, as two
// signatures can never be the same bytes. It returns an error only when ctx is done.
func checkSignature(ctx context.Context, pdf []byte, d dict, roots *x509.CertPool, now time.Time, seen map[[32]byte]bool) (SignatureReport, error) {
	var r SignatureReport
	bad := func(s string) { r.Problems = append(r.Problems, s) }
	if v := d.vals["Reason"]; len(v) > 1 && v[0] == '(' {
		r.Reason = string(v[1 : len(v)-1])
	}
	// The signature value first: without a CMS signature and its signer's certificate there is
	// no signature to judge (a junk /ByteRange), and nothing more is read.
	contents := d.vals["Contents"]
	if len(contents) < 2 || contents[0] != '<' || contents[len(contents)-1] != '>' {
		bad("签名字典中没有签名值（Contents）")
		return r, nil
	}
	hexSig := bytes.TrimSpace(contents[1 : len(contents)-1])
	raw, err := hex.DecodeString(string(hexSig))
	if err != nil {
		bad("签名值不是有效的十六进制数据")
		return r, nil
	}
	key := sha256.Sum256(raw)
	if seen[key] {
		bad("签名值与文件中的另一个签名完全相同，是复制的签名")
		return r, nil
	}
	seen[key] = true
	ci, err := parseCMS(raw)
	if err != nil {
		bad("签名数据（CMS）无法解析")
		return r, nil
	}
	cert := ci.signerCert()
	if cert == nil {
		bad("签名数据中没有签名者的证书")
		return r, nil
	}
	r.Signed = true
	r.SealName = cert.Subject.CommonName
	r.Org = strings.Join(cert.Subject.Organization, " ")
	r.Code = strings.Join(cert.Subject.OrganizationalUnit, " ")
	r.Issuer = cert.Issuer.CommonName
	r.Serial = cert.SerialNumber.Text(16)
	for _, n := range cert.Subject.Names {
		if n.Type.Equal(oidSubjectSerialNumber) {
			r.SealID, _ = n.Value.(string)
		}
	}
	r.Time = ci.signingTime
	if r.Time.IsZero() {
		if m := d.vals["M"]; len(m) > 4 {
			r.Time = parsePDFDate(string(m[1 : len(m)-1]))
		}
	}
	// The byte range.
	br := d.vals["ByteRange"]
	f := strings.Fields(strings.Trim(string(br), "[] \r\n"))
	ok := len(f) == 4
	for j := 0; ok && j < 4; j++ {
		n, err := parseInt(f[j])
		ok = err == nil && n >= 0
		r.ByteRange[j] = n
	}
	a, b, c := r.ByteRange[1], r.ByteRange[2], r.ByteRange[3]
	if !ok || r.ByteRange[0] != 0 || a > b || b+c > int64(len(pdf)) {
		bad("签名的字节范围（ByteRange）无效")
		return r, nil
	}
	if b+c < int64(len(pdf)) {
		if ltvOnly(pdf, int(b+c)) {
			r.Extended = true
		} else {
			r.Modified = true
			bad("签名后文件又被追加了内容（后续修改或其他签章）")
		}
	}
	// /Contents must be exactly the gap in the byte range, inside this dictionary.
	if a+1 >= b || a < int64(d.start) || b > int64(d.end) || pdf[a] != '<' || pdf[b-1] != '>' ||
		!bytes.Equal(bytes.TrimSpace(pdf[a+1:b-1]), hexSig) {
		bad("签名值不在字节范围的间隙中，文件可能被篡改")
		return r, nil
	}
	digest, err := digestRange(ctx, pdf[:a], pdf[b:b+c])
	if err != nil {
		return r, err
	}
	if d.name("Type") == "DocTimeStamp" || d.name("SubFilter") == "ETSI.RFC3161" {
		r.Valid, r.Trusted, r.Problems = false, false, nil
		checkDocTimestamp(&r, raw, digest, roots, bad)
		return r, nil
	}
	sigOK, digestOK := ci.verify(cert, digest, bad)
	r.Valid = sigOK && digestOK
	if r.Valid {
		r.Level = LevelBB
	}
	if ci.tsToken != nil {
		info, err := tsa.Verify(ci.tsToken, tsa.SHA256, digestSHA256(ci.signature), roots)
		switch {
		case err != nil:
			bad("签名时间戳验证失败：" + err.Error())
		case !info.Trusted:
			r.TSA = info.TSAName()
			bad("签名时间戳的时间戳服务证书不可信：" + info.TrustError)
		default:
			r.Timestamp, r.TSA, r.TimestampTrusted = info.Time, info.TSAName(), true
			r.TimestampExpires = info.Cert.NotAfter
			if r.Valid {
				r.Level = LevelBT
			}
		}
	}
	// The chain, at the signing time: the proven one when there is one.
	when := r.Time
	if !r.Timestamp.IsZero() {
		when = r.Timestamp
	}
	if when.IsZero() {
		when = now
	}
	r.CertValidAtSigning = !when.Before(cert.NotBefore) && !when.After(cert.NotAfter)
	if roots == nil {
		bad("未提供可信根证书，无法验证证书链")
	} else {
		inter := x509.NewCertPool()
		for _, c := range ci.certs {
			if c != cert {
				inter.AddCert(c)
			}
		}
		_, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: when, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			bad("印章证书不能链接到可信的根证书：" + err.Error())
		} else {
			r.Trusted = true
		}
	}
	r.CertValidNow = !now.Before(cert.NotBefore) && !now.After(cert.NotAfter)
	switch {
	case !r.CertValidNow && r.Timestamp.IsZero():
		bad("印章证书当前不在有效期内")
	case !r.CertValidAtSigning:
		bad("签章时印章证书不在有效期内")
	}
	return r, nil
}

// stopped is the error of a validation stopped by its context: EUnavailable for the caller,
// and ctx's error for errors.Is.
func stopped(ctxErr error) error {
	return errors.Join(certseal.Errorf(certseal.EUnavailable, "签名核验已中止：超过了请求时限，或客户端已断开"), ctxErr)
}

// digestRange returns the SHA-256 of the parts, checking ctx every MiB.
func digestRange(ctx context.Context, parts ...[]byte) ([]byte, error) {
	const chunk = 1 << 20
	h := sha256.New()
	for _, p := range parts {
		for len(p) > 0 {
			if err := ctx.Err(); err != nil {
				return nil, stopped(err)
			}
			n := min(len(p), chunk)
			h.Write(p[:n])
			p = p[n:]
		}
	}
	return h.Sum(nil), nil
}

func parseInt(s string) (int64, error) {
	var n int64
	if len(s) == 0 || len(s) > 12 {
		return 0, fmt.Errorf("bad number")
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number")
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

func parsePDFDate(s string) time.Time {
	s = strings.TrimPrefix(s, "D:")
	if len(s) < 14 {
		return time.Time{}
	}
	t, err := time.Parse("20060102150405-07'00'", s)
	if err != nil {
		t, _ = time.Parse("20060102150405Z", s)
	}
	return t
}

// parsedCMS is a decoded CMS SignedData with one signer.
type parsedCMS struct {
	certs       []*x509.Certificate
	sid         cmsIssuerAndSerial
	digestAlg   asn1.ObjectIdentifier
	sigAlg      asn1.ObjectIdentifier
	signedAttrs []byte // as encoded under [0] IMPLICIT
	signature   []byte
	attrs       map[string][]byte // attribute OID -> first value, DER
	signingTime time.Time
	tsToken     []byte // the unsigned attribute signature-time-stamp-token, when present
}

type parseSignedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo asn1.RawValue
	Certificates     asn1.RawValue     `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue     `asn1:"optional,tag:1"`
	SignerInfos      []parseSignerInfo `asn1:"set"`
}

type parseSignerInfo struct {
	Version            int
	Sid                cmsIssuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

func parseCMS(der []byte) (*parsedCMS, error) {
	var ci cmsContentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, err
	}
	_ = rest // zero padding may follow in /Contents
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("not SignedData")
	}
	var sd parseSignedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, err
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%d signers", len(sd.SignerInfos))
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, err
	}
	si := sd.SignerInfos[0]
	p := &parsedCMS{
		certs:       certs,
		sid:         si.Sid,
		digestAlg:   si.DigestAlgorithm.Algorithm,
		sigAlg:      si.SignatureAlgorithm.Algorithm,
		signedAttrs: si.SignedAttrs.FullBytes,
		signature:   si.Signature,
		attrs:       map[string][]byte{},
	}
	for b := si.SignedAttrs.Bytes; len(b) > 0; {
		var a struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, err
		}
		var first asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &first); err == nil {
			p.attrs[a.Type.String()] = first.FullBytes
		}
	}
	if v, ok := p.attrs[oidAttrSigningTime.String()]; ok {
		_, _ = asn1.Unmarshal(v, &p.signingTime)
	}
	for b := si.UnsignedAttrs.Bytes; len(b) > 0; {
		var a struct {
			Type   asn1.ObjectIdentifier
			Values asn1.RawValue
		}
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, err
		}
		var first asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &first); err == nil && a.Type.Equal(oidAttrTimeStampToken) && p.tsToken == nil {
			p.tsToken = first.FullBytes
		}
	}
	return p, nil
}

func (p *parsedCMS) signerCert() *x509.Certificate {
	for _, c := range p.certs {
		if bytes.Equal(c.RawIssuer, p.sid.Issuer.FullBytes) && c.SerialNumber.Cmp(p.sid.Serial) == 0 {
			return c
		}
	}
	return nil
}

// verify checks the signature over the signed attributes and the message digest against
// digest (the SHA-256 of the byte range).
func (p *parsedCMS) verify(cert *x509.Certificate, digest []byte, bad func(string)) (sigOK, digestOK bool) {
	if !p.digestAlg.Equal(oidSHA256) {
		bad("签名使用了不支持的摘要算法")
		return false, false
	}
	if len(p.signedAttrs) == 0 {
		bad("签名数据缺少签名属性")
		return false, false
	}
	var md []byte
	if v, ok := p.attrs[oidAttrMessageDigest.String()]; ok {
		_, _ = asn1.Unmarshal(v, &md)
	}
	digestOK = bytes.Equal(md, digest)
	if !digestOK {
		bad("文件内容与签名时的摘要不一致，文件已被篡改")
	}
	if v, ok := p.attrs[oidAttrSigningCertV2.String()]; ok {
		var sc signingCertificateV2
		if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
			bad("签名证书属性（signing-certificate-v2）无法解析")
		} else if h := sha256.Sum256(cert.Raw); !bytes.Equal(sc.Certs[0].CertHash, h[:]) {
			bad("签名证书属性与签名者证书不一致")
		}
	} else {
		bad("签名缺少 signing-certificate-v2 属性")
	}
	set := bytes.Clone(p.signedAttrs)
	set[0] = 0x31 // the signature covers the attributes as a SET
	var alg x509.SignatureAlgorithm
	switch cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		alg = x509.ECDSAWithSHA256
	case *rsa.PublicKey:
		alg = x509.SHA256WithRSA
	default:
		bad("签名者证书的密钥类型不受支持")
		return false, digestOK
	}
	if err := cert.CheckSignature(alg, set, p.signature); err != nil {
		bad("签名值验证失败")
		return false, digestOK
	}
	return true, digestOK
}
