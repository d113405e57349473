package seals

// CMS SignedData for PAdES (ETSI.CAdES.detached), encoded with encoding/asn1. pdfcpu's pkcs7
// package cannot sign with an arbitrary crypto.Signer (it insists on *ecdsa.PrivateKey or
// *rsa.PrivateKey), which would shut out an HSM, so the structure is built here; the
// algorithms and the signature itself are the seal's Algorithm's (algorithm.go), the private-key
// operation the Signer's.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"sort"
	"time"
)

var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSHA256            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSAEncryption     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidAttrSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidAttrSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	asn1NullParams       = asn1.RawValue{Tag: asn1.TagNull, FullBytes: []byte{5, 0}}
)

type cmsContentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, wrapped by hand
}

type cmsEncapContent struct {
	ContentType asn1.ObjectIdentifier
}

type cmsIssuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type cmsSignerInfo struct {
	Version            int
	Sid                cmsIssuerAndSerial
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue // [0] IMPLICIT SET OF Attribute
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional"` // [1] IMPLICIT, encoded by hand
}

type cmsSignedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo cmsEncapContent
	Certificates     asn1.RawValue   // [0] IMPLICIT SET OF Certificate
	SignerInfos      []cmsSignerInfo `asn1:"set"`
}

type cmsAttribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue // SET OF value, encoded
}

// RFC 5035 SigningCertificateV2 with one ESSCertIDv2; hashAlgorithm is left out because
// SHA-256 is its DEFAULT.
type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial essIssuerSerial
}

type essIssuerSerial struct {
	Issuer []asn1.RawValue // GeneralNames: one directoryName [4] EXPLICIT Name
	Serial *big.Int
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

// setOf wraps DER-encoded elements, sorted as DER requires, in a SET (tag 17) or, with
// implicit0, in [0] IMPLICIT.
func setOf(elems [][]byte, implicit0 bool) ([]byte, error) {
	sort.Slice(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 })
	rv := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(elems, nil)}
	if implicit0 {
		rv.Class, rv.Tag = asn1.ClassContextSpecific, 0
	}
	return asn1.Marshal(rv)
}

func attribute(oid asn1.ObjectIdentifier, value any) ([]byte, error) {
	v, err := asn1.Marshal(value)
	if err != nil {
		return nil, err
	}
	set, err := setOf([][]byte{v}, false)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(cmsAttribute{Type: oid, Values: asn1.RawValue{FullBytes: set}})
}

// buildCMS returns a DER CMS ContentInfo holding a detached SignedData over content whose
// digest (alg's NewHash) is digest, signed by signer with alg for cert, with the signed
// attributes contentType, messageDigest, signingTime and signing-certificate-v2, and with cert
// and chain included. With lt (PAdES, ETSI EN 319 142-1) signingTime is left out (the time is
// the dictionary's /M), and from level B-T on the signature value is timestamped by lt.TSA and
// the token (also returned) goes into the unsigned attribute signature-time-stamp-token.
func buildCMS(alg Algorithm, digest []byte, signer crypto.Signer, cert *x509.Certificate, chain []*x509.Certificate, at time.Time, lt *LongTerm) ([]byte, []byte, error) {
	certHash := sha256.Sum256(cert.Raw)
	dirName, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer})
	if err != nil {
		return nil, nil, err
	}
	var attrs [][]byte
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{
		{oidAttrContentType, oidData},
		{oidAttrSigningTime, at.UTC()},
		{oidAttrMessageDigest, digest},
		{oidAttrSigningCertV2, signingCertificateV2{Certs: []essCertIDv2{{
			CertHash:     certHash[:],
			IssuerSerial: essIssuerSerial{Issuer: []asn1.RawValue{{FullBytes: dirName}}, Serial: cert.SerialNumber},
		}}}},
	} {
		if lt != nil && a.oid.Equal(oidAttrSigningTime) {
			continue
		}
		e, err := attribute(a.oid, a.v)
		if err != nil {
			return nil, nil, fmt.Errorf("seals: encode attribute %v: %w", a.oid, err)
		}
		attrs = append(attrs, e)
	}
	// The signature covers the attributes encoded as a SET; the SignerInfo carries the same
	// bytes under [0] IMPLICIT.
	signedSet, err := setOf(attrs, false)
	if err != nil {
		return nil, nil, err
	}
	sig, err := alg.Sign(rand.Reader, signer, signedSet)
	if err != nil {
		return nil, nil, fmt.Errorf("seals: sign: %w", err)
	}
	var token, unsigned []byte
	if lt.atLeast(LevelBT) {
		if token, unsigned, err = lt.stampSignature(sig); err != nil {
			return nil, nil, err
		}
	}
	implicit := bytes.Clone(signedSet)
	implicit[0] = 0xA0 // [0] IMPLICIT, constructed
	var certs [][]byte
	certs = append(certs, cert.Raw)
	for _, c := range chain {
		if c != nil && !bytes.Equal(c.Raw, cert.Raw) {
			certs = append(certs, c.Raw)
		}
	}
	certSet, err := setOf(certs, true)
	if err != nil {
		return nil, nil, err
	}
	sd := cmsSignedData{
		Version:          1,
		DigestAlgorithms: []pkix.AlgorithmIdentifier{alg.DigestAlgorithm()},
		EncapContentInfo: cmsEncapContent{ContentType: oidData},
		Certificates:     asn1.RawValue{FullBytes: certSet},
		SignerInfos: []cmsSignerInfo{{
			Version:            1,
			Sid:                cmsIssuerAndSerial{Issuer: asn1.RawValue{FullBytes: cert.RawIssuer}, Serial: cert.SerialNumber},
			DigestAlgorithm:    alg.DigestAlgorithm(),
			SignedAttrs:        asn1.RawValue{FullBytes: implicit},
			SignatureAlgorithm: alg.SignatureAlgorithm(),
			Signature:          sig,
			UnsignedAttrs:      asn1.RawValue{FullBytes: unsigned},
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, nil, fmt.Errorf("seals: encode SignedData: %w", err)
	}
	out, err := asn1.Marshal(cmsContentInfo{ContentType: oidSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
	if err != nil {
		return nil, nil, fmt.Errorf("seals: encode ContentInfo: %w", err)
	}
	return out, token, nil
}
