package seals

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"certseal"

	"golang.org/x/crypto/pkcs12"
)

// Signer is the private-key operation the package needs, so that an HSM (PKCS#11) or an SM2
// signer can stand in for an in-memory key later: it is crypto.Signer. Sign receives the
// SHA-256 digest of the data to sign and returns the signature in the encoding of the key's
// algorithm (ASN.1 DER for ECDSA).
type Signer = crypto.Signer

// Extended key usages for document signing, as PDF readers look for them.
var (
	OIDDocumentSigning     = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}       // id-kp-documentSigning (RFC 9336)
	OIDMSDocumentSigning   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 10, 3, 12} // Microsoft document signing
	OIDAdobeAuthenticDocs  = asn1.ObjectIdentifier{1, 2, 840, 113583, 1, 1, 5}       // Adobe Authentic Documents Trust
	oidSubjectSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}                       // serialNumber in a Name
)

// CA is the city center's root certification authority: a self-signed ECDSA P-256 certificate
// and its private key. It issues the seals' certificates and signs the CRL.
type CA struct {
	Cert   *x509.Certificate
	Signer crypto.Signer
}

// NewCA returns a new root CA named name (the certificate's common name and organisation),
// valid from now for validity, with a fresh ECDSA P-256 key. It returns a *certseal.Error
// (EInvalid) when the name is empty or the validity not positive, and an error when key
// generation or certificate creation fails.
func NewCA(name string, now time.Time, validity time.Duration) (*CA, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书名称不能为空")
	}
	if validity <= 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书有效期必须大于零")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seals: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"CN"}},
		NotBefore:             now.Add(-time.Minute).UTC(),
		NotAfter:              now.Add(validity).UTC(),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("seals: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("seals: parse CA certificate: %w", err)
	}
	return &CA{Cert: cert, Signer: key}, nil
}

// CAFromPEM returns the CA whose certificate and private key are given in PEM (the key as
// PKCS#8, SEC 1 "EC PRIVATE KEY" or PKCS#1). It returns a *certseal.Error (EInvalid) when either
// does not parse, the certificate is not a CA certificate, or the key does not match it.
func CAFromPEM(certPEM, keyPEM []byte) (*CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书不是有效的 PEM 证书")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书无法解析：%v", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书私钥不是有效的 PEM 数据")
	}
	// Legacy (RFC 1423) encryption is marked by a Proc-Type header; PKCS#8 encryption by the type.
	if strings.Contains(kb.Headers["Proc-Type"], "ENCRYPTED") || kb.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书私钥已加密，请先导出为未加密的 PKCS#8，或使用 PKCS#12 导入")
	}
	key, err := parsePrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return newImportedCA(cert, key)
}

// CAFromPKCS12 returns the CA held in a PKCS#12 (.p12/.pfx) file protected by password. Only
// the legacy PKCS#12 encryption (PBE-SHA1-3DES, as `openssl pkcs12 -export -legacy` writes) is
// supported. It returns a *certseal.Error (EInvalid) when the file does not decode (wrong
// password, unsupported encryption), or holds no CA certificate with a matching key.
func CAFromPKCS12(data []byte, password string) (*CA, error) {
	key, cert, err := pkcs12.Decode(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, certseal.Errorf(certseal.EInvalid, "PKCS#12 文件的密码不正确")
		}
		return nil, certseal.Errorf(certseal.EInvalid, "PKCS#12 文件无法解析（仅支持 3DES 加密的传统格式，可用 openssl pkcs12 -legacy 重新导出）：%v", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, certseal.Errorf(certseal.EInvalid, "PKCS#12 文件中的私钥类型不受支持")
	}
	return newImportedCA(cert, s)
}

func newImportedCA(cert *x509.Certificate, key crypto.Signer) (*CA, error) {
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的证书不是 CA 证书（缺少 CA 基本约束或证书签名用途）")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的私钥与根证书不匹配")
	}
	return &CA{Cert: cert, Signer: key}, nil
}

func parsePrivateKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, certseal.Errorf(certseal.EInvalid, "私钥类型不受支持")
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, certseal.Errorf(certseal.EInvalid, "私钥无法解析（支持 PKCS#8、SEC 1 与 PKCS#1）")
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}

// CertificatePEM returns the CA certificate in PEM form. It never fails.
func (ca *CA) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// SealSubject names the seal a certificate is issued for.
type SealSubject struct {
	ID   string // the seal identifier (esID); goes into the subject's serialNumber
	Name string // the seal's full name, e.g. 利州区行政审批局行政审批专用章; the common name
	Org  string // the owning organisation; the subject's O
	Code string // the 13-digit seal code; the subject's OU, when set
}

// NewSealKey returns a fresh ECDSA P-256 key pair, a key of ECDSAP256 (the registry makes a
// seal's key with the seal's Algorithm). It returns an error only when the system's random
// source fails.
func NewSealKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seals: generate seal key: %w", err)
	}
	return k, nil
}

// IssueSeal returns a certificate for the seal's public key, signed by the CA and valid from
// notBefore to notAfter: subject CN = the seal name, O = the organisation, serialNumber = the
// seal id, OU = the seal code; key usage digitalSignature and contentCommitment
// (nonRepudiation); extended key usages for document signing (id-kp-documentSigning, Microsoft
// and Adobe document signing) and emailProtection, which NSS-based readers such as poppler
// require of a signer. It returns a *certseal.Error (EInvalid) when the name, organisation or id
// is empty, the validity is empty or outside the CA's own, and an error when signing fails.
func (ca *CA) IssueSeal(s SealSubject, pub crypto.PublicKey, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	tmpl, err := sealTemplate(ca.Cert, s, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("seals: create seal certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("seals: parse seal certificate: %w", err)
	}
	return cert, nil
}

// sealTemplate checks a seal certificate's subject and validity against the issuing CA
// certificate and returns the template of CA.IssueSeal (and SM2CA.IssueSeal).
func sealTemplate(ca *x509.Certificate, s SealSubject, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if strings.TrimSpace(s.Name) == "" || strings.TrimSpace(s.Org) == "" || strings.TrimSpace(s.ID) == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "印章证书需要印章编号、印章名称和所属单位")
	}
	if !notAfter.After(notBefore) {
		return nil, certseal.Errorf(certseal.EInvalid, "印章有效期的截止时间必须晚于起始时间")
	}
	if notAfter.After(ca.NotAfter) || notBefore.Before(ca.NotBefore) {
		return nil, certseal.Errorf(certseal.EInvalid, "印章有效期超出了根证书的有效期（%s 至 %s）",
			ca.NotBefore.In(certseal.China).Format("2006-01-02"), ca.NotAfter.In(certseal.China).Format("2006-01-02"))
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	subj := pkix.Name{
		CommonName:   s.Name,
		Organization: []string{s.Org},
		Country:      []string{"CN"},
		ExtraNames:   []pkix.AttributeTypeAndValue{{Type: oidSubjectSerialNumber, Value: s.ID}},
	}
	if s.Code != "" {
		subj.OrganizationalUnit = []string{s.Code}
	}
	return &x509.Certificate{
		SerialNumber:       serial,
		Subject:            subj,
		NotBefore:          notBefore.UTC(),
		NotAfter:           notAfter.UTC(),
		KeyUsage:           x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:        []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage: []asn1.ObjectIdentifier{OIDDocumentSigning, OIDMSDocumentSigning, OIDAdobeAuthenticDocs},
	}, nil
}

// Revoked is one revoked seal certificate for the CRL.
type Revoked struct {
	Serial *big.Int
	At     time.Time
	Reason int // RFC 5280 CRLReason: 0 unspecified, 1 keyCompromise, 4 superseded, 5 cessationOfOperation, 6 certificateHold
}

// CRL returns a DER certificate revocation list signed by the CA listing revoked, issued at
// now with the next update at next; its CRL number is now in Unix seconds, so later lists have
// larger numbers. It returns a *certseal.Error (EInvalid) when next is not after now or a serial
// is missing, and an error when signing fails.
func (ca *CA) CRL(revoked []Revoked, now, next time.Time) ([]byte, error) {
	tmpl, err := crlTemplate(revoked, now, next)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("seals: create CRL: %w", err)
	}
	return der, nil
}

// crlTemplate checks the list and returns the template of CA.CRL (and SM2CA.CRL).
func crlTemplate(revoked []Revoked, now, next time.Time) (*x509.RevocationList, error) {
	if !next.After(now) {
		return nil, certseal.Errorf(certseal.EInvalid, "吊销列表的下次更新时间必须晚于本次")
	}
	entries := make([]x509.RevocationListEntry, 0, len(revoked))
	for _, r := range revoked {
		if r.Serial == nil {
			return nil, certseal.Errorf(certseal.EInvalid, "吊销记录缺少证书序列号")
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Serial, RevocationTime: r.At.UTC(), ReasonCode: r.Reason})
	}
	return &x509.RevocationList{
		Number:                    big.NewInt(now.Unix()),
		ThisUpdate:                now.UTC(),
		NextUpdate:                next.UTC(),
		RevokedCertificateEntries: entries,
	}, nil
}

func randomSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("seals: serial number: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}
