// Package tsa is RFC 3161 time-stamping: the request, the response and the token (a CMS
// SignedData over a TSTInfo, RFC 3161 and RFC 5816), encoded with encoding/asn1 over the
// standard library's crypto; an Authority that answers requests (the city center's built-in
// TSA); and Verify, which checks a token against the data it covers and the trusted roots.
//
// It has no network code: the HTTP client and handler are package tsa/tsahttp.
package tsa

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers of RFC 3161, RFC 5652, RFC 5035 and the digests.
var (
	OIDTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDTimeStamping      = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8} // id-kp-timeStamping
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningCert   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA1              = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidSM3               = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidECPublicKey       = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA256WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
)

// MaxTokenBytes bounds a time-stamp response or token read from outside.
const MaxTokenBytes = 64 << 10

// Hash names the digest of a message imprint by its object identifier.
type Hash struct {
	OID  asn1.ObjectIdentifier
	Size int
}

// SHA256 is the imprint digest certseal asks for; SM3 is GB/T 38540's (an SES signature's
// timestamp).
var (
	SHA256 = Hash{OID: oidSHA256, Size: 32}
	SM3    = Hash{OID: oidSM3, Size: 32}
)

// MessageImprint is the digest a timestamp is over.
type MessageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

// Request is a TimeStampReq.
type Request struct {
	Version        int
	MessageImprint MessageImprint
	ReqPolicy      asn1.RawValue `asn1:"optional"` // an OBJECT IDENTIFIER (ParseRequest reads it)
	Nonce          *big.Int      `asn1:"optional"`
	CertReq        bool          `asn1:"optional,default:false"`
	Extensions     asn1.RawValue `asn1:"optional,tag:0"`
}

// NewRequest returns the DER of a request for a timestamp over digest (of hash h) with nonce,
// asking for the TSA's certificate in the token. It fails only when the encoding fails.
func NewRequest(h Hash, digest []byte, nonce *big.Int) ([]byte, error) {
	if len(digest) != h.Size {
		return nil, fmt.Errorf("tsa: digest of %d bytes, want %d", len(digest), h.Size)
	}
	return asn1.Marshal(Request{Version: 1, MessageImprint: MessageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: h.OID}, HashedMessage: digest}, Nonce: nonce, CertReq: true})
}

// ParseRequest decodes a TimeStampReq. It returns an error for anything that is not one
// request of version 1 with nothing after it.
func ParseRequest(der []byte) (*Request, error) {
	if len(der) > 4096 {
		return nil, errors.New("tsa: request too large")
	}
	var seq asn1.RawValue
	rest, err := asn1.Unmarshal(der, &seq)
	if err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence || seq.Class != asn1.ClassUniversal {
		return nil, errors.New("tsa: request is not a SEQUENCE")
	}
	var r Request
	b := seq.Bytes
	if b, err = asn1.Unmarshal(b, &r.Version); err != nil || r.Version != 1 {
		return nil, errors.New("tsa: not a version 1 request")
	}
	if b, err = asn1.Unmarshal(b, &r.MessageImprint); err != nil {
		return nil, errors.New("tsa: message imprint does not decode")
	}
	for len(b) > 0 {
		var e asn1.RawValue
		if b, err = asn1.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("tsa: request: %w", err)
		}
		switch {
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagOID && r.ReqPolicy.FullBytes == nil && r.Nonce == nil:
			r.ReqPolicy = e
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagInteger && r.Nonce == nil:
			r.Nonce = new(big.Int)
			if _, err := asn1.Unmarshal(e.FullBytes, &r.Nonce); err != nil {
				return nil, errors.New("tsa: nonce does not decode")
			}
		case e.Class == asn1.ClassUniversal && e.Tag == asn1.TagBoolean:
			if _, err := asn1.Unmarshal(e.FullBytes, &r.CertReq); err != nil {
				return nil, errors.New("tsa: certReq does not decode")
			}
		case e.Class == asn1.ClassContextSpecific && e.Tag == 0:
			r.Extensions = e
		default:
			return nil, errors.New("tsa: unexpected element in request")
		}
	}
	return &r, nil
}

// statusInfo is PKIStatusInfo.
type statusInfo struct {
	Status       int
	StatusString []asn1.RawValue `asn1:"optional"` // PKIFreeText: SEQUENCE OF UTF8String
	FailInfo     asn1.BitString  `asn1:"optional"`
}

type response struct {
	Status statusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

// PKIStatus values.
const (
	StatusGranted         = 0
	StatusGrantedWithMods = 1
	StatusRejection       = 2
)

// Accuracy is the TSTInfo's accuracy.
type Accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

// TSTInfo is the content of a token.
type TSTInfo struct {
	Version        int
	Policy         asn1.RawValue // OBJECT IDENTIFIER, kept raw: arcs may exceed int
	MessageImprint MessageImprint
	SerialNumber   *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       Accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional,default:false"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

// ParseResponse returns the token of a TimeStampResp, or an error when the TSA did not grant
// it (with its status text) or the response does not decode.
func ParseResponse(der []byte) ([]byte, error) {
	if len(der) > MaxTokenBytes {
		return nil, errors.New("tsa: response too large")
	}
	var r response
	if _, err := asn1.Unmarshal(der, &r); err != nil {
		return nil, fmt.Errorf("tsa: response: %w", err)
	}
	if r.Status.Status != StatusGranted && r.Status.Status != StatusGrantedWithMods {
		var text []string
		for _, v := range r.Status.StatusString {
			text = append(text, string(v.Bytes))
		}
		return nil, fmt.Errorf("tsa: request refused (status %d %q)", r.Status.Status, text)
	}
	if len(r.Token.FullBytes) == 0 {
		return nil, errors.New("tsa: response holds no token")
	}
	return r.Token.FullBytes, nil
}

// --- the token: CMS SignedData ---

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContent struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"explicit,optional,tag:0"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	Sid                issuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue
	EncapContentInfo encapContent
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type essCertIDv2 struct {
	HashAlgorithm pkix.AlgorithmIdentifier `asn1:"optional"`
	CertHash      []byte
	IssuerSerial  asn1.RawValue `asn1:"optional"`
}

type essCertID struct {
	CertHash     []byte
	IssuerSerial asn1.RawValue `asn1:"optional"`
}

// Info is what a verified token says.
type Info struct {
	Time     time.Time // genTime
	Serial   *big.Int
	Policy   string // dotted
	Accuracy Accuracy
	Nonce    *big.Int
	Cert     *x509.Certificate   // the TSA's certificate
	Certs    []*x509.Certificate // every certificate in the token
	// Trusted is true when Cert chains to one of the roots at Time with id-kp-timeStamping.
	Trusted bool
	// TrustError says why Trusted is false ("" when true or no roots were given).
	TrustError string
}

// TSAName returns the TSA certificate's common name, else its organisation.
func (i *Info) TSAName() string {
	if i.Cert == nil {
		return ""
	}
	if i.Cert.Subject.CommonName != "" {
		return i.Cert.Subject.CommonName
	}
	if len(i.Cert.Subject.Organization) > 0 {
		return i.Cert.Subject.Organization[0]
	}
	return ""
}

// Verify checks that token is a timestamp over digest (of hash h) signed by a TSA certificate
// in the token: the signature over the signed attributes, the messageDigest over the TSTInfo,
// the signing-certificate attribute (v1 or v2), the imprint, and the extended key usage
// id-kp-timeStamping. With roots, it also checks the chain at the token's time (Info.Trusted).
// It returns an error, and no Info, when any check but the chain fails.
func Verify(token []byte, h Hash, digest []byte, roots *x509.CertPool) (*Info, error) {
	if len(token) > MaxTokenBytes {
		return nil, errors.New("tsa: token too large")
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(token, &ci); err != nil {
		return nil, fmt.Errorf("tsa: token: %w", err)
	}
	if !ci.ContentType.Equal(OIDSignedData) {
		return nil, errors.New("tsa: token is not SignedData")
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("tsa: SignedData: %w", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(OIDTSTInfo) {
		return nil, errors.New("tsa: token content is not a TSTInfo")
	}
	var content []byte
	if _, err := asn1.Unmarshal(sd.EncapContentInfo.EContent.Bytes, &content); err != nil {
		return nil, fmt.Errorf("tsa: eContent: %w", err)
	}
	var tst TSTInfo
	if rest, err := asn1.Unmarshal(content, &tst); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("tsa: TSTInfo: %v", err)
	}
	if tst.Version != 1 || tst.SerialNumber == nil {
		return nil, errors.New("tsa: TSTInfo version or serial missing")
	}
	if !tst.MessageImprint.HashAlgorithm.Algorithm.Equal(h.OID) || !bytes.Equal(tst.MessageImprint.HashedMessage, digest) {
		return nil, errors.New("tsa: the token's message imprint is not the digest of the data")
	}
	if len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("tsa: %d signers", len(sd.SignerInfos))
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("tsa: certificates: %w", err)
	}
	si := sd.SignerInfos[0]
	var cert *x509.Certificate
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, si.Sid.Issuer.FullBytes) && si.Sid.Serial != nil && c.SerialNumber.Cmp(si.Sid.Serial) == 0 {
			cert = c
		}
	}
	if cert == nil {
		return nil, errors.New("tsa: the token does not hold the TSA's certificate")
	}
	dh, err := hashOf(si.DigestAlgorithm.Algorithm)
	if err != nil {
		return nil, err
	}
	attrs := map[string][]byte{}
	for b := si.SignedAttrs.Bytes; len(b) > 0; {
		var a attribute
		if b, err = asn1.Unmarshal(b, &a); err != nil {
			return nil, fmt.Errorf("tsa: signed attributes: %w", err)
		}
		var first asn1.RawValue
		if _, err := asn1.Unmarshal(a.Values.Bytes, &first); err == nil {
			attrs[a.Type.String()] = first.FullBytes
		}
	}
	var ct asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(attrs[oidAttrContentType.String()], &ct); err != nil || !ct.Equal(OIDTSTInfo) {
		return nil, errors.New("tsa: content-type attribute is not TSTInfo")
	}
	var md []byte
	if _, err := asn1.Unmarshal(attrs[oidAttrMessageDigest.String()], &md); err != nil || !bytes.Equal(md, digestOf(dh, content)) {
		return nil, errors.New("tsa: message-digest attribute does not match the TSTInfo")
	}
	if err := checkSigningCert(attrs, cert); err != nil {
		return nil, err
	}
	set := bytes.Clone(si.SignedAttrs.FullBytes)
	if len(set) == 0 {
		return nil, errors.New("tsa: no signed attributes")
	}
	set[0] = 0x31
	alg, err := signatureAlgorithm(dh, si.SignatureAlgorithm.Algorithm, cert.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := cert.CheckSignature(alg, set, si.Signature); err != nil {
		return nil, fmt.Errorf("tsa: the token's signature does not verify: %w", err)
	}
	if !hasTimeStampingEKU(cert) {
		return nil, errors.New("tsa: the signer's certificate is not for time-stamping (id-kp-timeStamping)")
	}
	info := &Info{Time: tst.GenTime, Serial: tst.SerialNumber, Policy: OIDString(tst.Policy.FullBytes), Accuracy: tst.Accuracy, Nonce: tst.Nonce, Cert: cert, Certs: certs}
	if roots != nil {
		inter := x509.NewCertPool()
		for _, c := range certs {
			if c != cert {
				inter.AddCert(c)
			}
		}
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: tst.GenTime, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
			info.TrustError = err.Error()
		} else {
			info.Trusted = true
		}
	}
	return info, nil
}

// hasTimeStampingEKU reports whether cert's extended key usage is exactly id-kp-timeStamping,
// marked critical, as RFC 3161 §2.3 requires.
func hasTimeStampingEKU(cert *x509.Certificate) bool {
	critical := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = e.Critical
		}
	}
	return critical && len(cert.ExtKeyUsage) == 1 && cert.ExtKeyUsage[0] == x509.ExtKeyUsageTimeStamping && len(cert.UnknownExtKeyUsage) == 0
}

func checkSigningCert(attrs map[string][]byte, cert *x509.Certificate) error {
	if v, ok := attrs[oidAttrSigningCertV2.String()]; ok {
		var sc struct{ Certs []essCertIDv2 }
		if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
			return errors.New("tsa: signing-certificate-v2 attribute does not decode")
		}
		alg := sc.Certs[0].HashAlgorithm.Algorithm
		if len(alg) == 0 {
			alg = oidSHA256
		}
		h, err := hashOf(alg)
		if err != nil {
			return err
		}
		if !bytes.Equal(sc.Certs[0].CertHash, digestOf(h, cert.Raw)) {
			return errors.New("tsa: signing-certificate-v2 attribute does not name the signer's certificate")
		}
		return nil
	}
	if v, ok := attrs[oidAttrSigningCert.String()]; ok {
		var sc struct{ Certs []essCertID }
		if _, err := asn1.Unmarshal(v, &sc); err != nil || len(sc.Certs) == 0 {
			return errors.New("tsa: signing-certificate attribute does not decode")
		}
		sum := sha1.Sum(cert.Raw)
		if !bytes.Equal(sc.Certs[0].CertHash, sum[:]) {
			return errors.New("tsa: signing-certificate attribute does not name the signer's certificate")
		}
		return nil
	}
	return errors.New("tsa: the token has no signing-certificate attribute")
}

func hashOf(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, nil
	case oid.Equal(oidSHA384):
		return crypto.SHA384, nil
	case oid.Equal(oidSHA512):
		return crypto.SHA512, nil
	case oid.Equal(oidSHA1):
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("tsa: unsupported digest %v", oid)
}

func digestOf(h crypto.Hash, b []byte) []byte {
	switch h {
	case crypto.SHA384:
		s := sha512.Sum384(b)
		return s[:]
	case crypto.SHA512:
		s := sha512.Sum512(b)
		return s[:]
	case crypto.SHA1:
		s := sha1.Sum(b)
		return s[:]
	}
	s := sha256.Sum256(b)
	return s[:]
}

func signatureAlgorithm(h crypto.Hash, sig asn1.ObjectIdentifier, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	switch pub.(type) {
	case *ecdsa.PublicKey:
		if sig.Equal(oidECPublicKey) || sig.Equal(oidECDSAWithSHA256) || sig.Equal(oidECDSAWithSHA384) || sig.Equal(oidECDSAWithSHA512) {
			switch h {
			case crypto.SHA256:
				return x509.ECDSAWithSHA256, nil
			case crypto.SHA384:
				return x509.ECDSAWithSHA384, nil
			case crypto.SHA512:
				return x509.ECDSAWithSHA512, nil
			}
		}
	case *rsa.PublicKey:
		if sig.Equal(oidRSAEncryption) || sig.Equal(oidSHA256WithRSA) || sig.Equal(oidSHA384WithRSA) || sig.Equal(oidSHA512WithRSA) {
			switch h {
			case crypto.SHA256:
				return x509.SHA256WithRSA, nil
			case crypto.SHA384:
				return x509.SHA384WithRSA, nil
			case crypto.SHA512:
				return x509.SHA512WithRSA, nil
			}
		}
	}
	return 0, fmt.Errorf("tsa: unsupported signature algorithm %v with %T", sig, pub)
}
