package seals

// The national track: SM2 signatures with SM3 (GB/T 32918, GB/T 32905) through
// github.com/emmansun/gmsm, and the city center's SM2 root CA beside the ECDSA one. Nothing here
// implements a primitive: keys, signatures, digests, certificates and CRLs are gmsm's.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"certseal"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// AlgSM2 is the name of SM2 with SM3 (GB/T 32918, GB/T 32905), the national algorithm that
// GB/T 38540 electronic seals use.
const AlgSM2 = "sm2"

// SM2DefaultUID is the signer identity (user ID) that goes into the SM2 digest Z when a seal
// names none (GB/T 35276).
const SM2DefaultUID = "1234567812345678"

// Object identifiers of the national algorithms (GM/T 0006).
var (
	OIDSM3         = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401} // SM3 hash
	OIDSM2WithSM3  = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 501} // SM2 signature with SM3
	oidSM3Alg      = pkix.AlgorithmIdentifier{Algorithm: OIDSM3}
	oidSM2WithSM3A = pkix.AlgorithmIdentifier{Algorithm: OIDSM2WithSM3}
)

// SM2 is SM2 with SM3 and the default user ID 1234567812345678: the signature is over the SM3
// digest of Z || message, DER encoded as SEQUENCE { r, s }. Keys are *sm2.PrivateKey or any
// crypto.Signer over an SM2 key that, like gmsm's, signs the message itself when given
// sm2.DefaultSM2SignerOpts (a national cryptographic machine stands in that way).
var SM2 Algorithm = sm2SM3{}

type sm2SM3 struct{}

func (sm2SM3) Name() string { return AlgSM2 }

func (sm2SM3) NewKey() (crypto.Signer, error) {
	k, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seals: generate SM2 key: %w", err)
	}
	return k, nil
}

func (sm2SM3) Accepts(pub crypto.PublicKey) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve == sm2.P256()
}

func (sm2SM3) NewHash() hash.Hash                           { return sm3.New() }
func (sm2SM3) DigestAlgorithm() pkix.AlgorithmIdentifier    { return oidSM3Alg }
func (sm2SM3) SignatureAlgorithm() pkix.AlgorithmIdentifier { return oidSM2WithSM3A }

func (a sm2SM3) Sign(rand io.Reader, key crypto.Signer, msg []byte) ([]byte, error) {
	if !a.Accepts(key.Public()) {
		return nil, fmt.Errorf("seals: sm2 cannot sign with a %T key", key.Public())
	}
	// gmsm's option: msg is the message; the signer computes Z with the default user ID.
	return key.Sign(rand, msg, sm2.DefaultSM2SignerOpts)
}

func (a sm2SM3) Verify(pub crypto.PublicKey, msg, sig []byte) error {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || !a.Accepts(k) {
		return fmt.Errorf("seals: sm2 cannot verify with a %T key", pub)
	}
	if !sm2.VerifyASN1WithSM2(k, []byte(SM2DefaultUID), msg, sig) {
		return errSignatureMismatched
	}
	return nil
}

// SM2CAName is the common name of the SM2 root CA the registry creates when it has none.
const SM2CAName = "广元市政务服务电子印章根证书（SM2）"

// SM2CA is the city center's SM2 root certification authority: a self-signed SM2-with-SM3
// certificate and its key. It issues the SM2 seals' certificates, signs their CRL, and as the
// seal maker (制章者) signs the GB/T 38540 electronic seals (SESeal).
type SM2CA struct {
	Cert   *smx509.Certificate
	Signer crypto.Signer
}

// X509 returns the CA certificate as a crypto/x509 certificate (the same fields; only
// smx509 can verify signatures under it). It never fails.
func (ca *SM2CA) X509() *x509.Certificate { return (*x509.Certificate)(ca.Cert) }

// NewSM2CA returns a new SM2 root CA named name, valid from now for validity, with a fresh SM2
// key. It returns a *certseal.Error (EInvalid) when the name is empty or the validity not
// positive, and an error when key generation or certificate creation fails.
func NewSM2CA(name string, now time.Time, validity time.Duration) (*SM2CA, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书名称不能为空")
	}
	if validity <= 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "根证书有效期必须大于零")
	}
	key, err := SM2.NewKey()
	if err != nil {
		return nil, err
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
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("seals: create SM2 CA certificate: %w", err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("seals: parse SM2 CA certificate: %w", err)
	}
	return &SM2CA{Cert: cert, Signer: key}, nil
}

// SM2CAFromPEM returns the SM2 CA whose certificate and private key are given in PEM (the key
// as PKCS#8 or SEC 1 "EC PRIVATE KEY", as `openssl genpkey -algorithm SM2` writes it). It
// returns a *certseal.Error (EInvalid) when either does not parse, the certificate is not an
// SM2 CA certificate signed with SM2-with-SM3, or the key does not match it.
func SM2CAFromPEM(certPEM, keyPEM []byte) (*SM2CA, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 根证书不是有效的 PEM 证书")
	}
	cert, err := smx509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 根证书无法解析：%v", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 根证书私钥不是有效的 PEM 数据")
	}
	if strings.Contains(kb.Headers["Proc-Type"], "ENCRYPTED") || kb.Type == "ENCRYPTED PRIVATE KEY" {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 根证书私钥已加密，请先导出为未加密的 PKCS#8")
	}
	key, err := parseSM2PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return newImportedSM2CA(cert, key)
}

func newImportedSM2CA(cert *smx509.Certificate, key crypto.Signer) (*SM2CA, error) {
	if !SM2.Accepts(cert.PublicKey) {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的证书不是 SM2 证书")
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的证书不是 CA 证书（缺少 CA 基本约束或证书签名用途）")
	}
	if cert.SignatureAlgorithm != smx509.SM2WithSM3 {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的 SM2 根证书不是以 SM2-with-SM3 签名的")
	}
	if cert.KeyUsage&x509.KeyUsageCRLSign == 0 || len(cert.SubjectKeyId) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的 SM2 根证书缺少吊销列表签名用途（cRLSign）或主体密钥标识符")
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, certseal.Errorf(certseal.EInvalid, "导入的私钥与 SM2 根证书不匹配")
	}
	return &SM2CA{Cert: cert, Signer: key}, nil
}

// parseSM2PrivateKey returns the SM2 key in der (PKCS#8 or SEC 1), or a *certseal.Error
// (EInvalid).
func parseSM2PrivateKey(der []byte) (crypto.Signer, error) {
	var key any
	var err error
	if key, err = smx509.ParsePKCS8PrivateKey(der); err != nil {
		key, err = smx509.ParseTypedECPrivateKey(der)
	}
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 私钥无法解析（支持 PKCS#8 与 SEC 1）")
	}
	s, ok := key.(crypto.Signer)
	if !ok || !SM2.Accepts(s.Public()) {
		return nil, certseal.Errorf(certseal.EInvalid, "私钥不是 SM2 私钥")
	}
	return s, nil
}

// CertificatePEM returns the SM2 CA certificate in PEM form. It never fails.
func (ca *SM2CA) CertificatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// IssueSeal returns an SM2-with-SM3 certificate for the seal's SM2 public key, signed by the
// CA, with the subject, key usages and validity rules of CA.IssueSeal. It returns a
// *certseal.Error (EInvalid) when the key is not an SM2 key, the name, organisation or id is
// empty, the validity is empty or outside the CA's own, and an error when signing fails.
func (ca *SM2CA) IssueSeal(s SealSubject, pub crypto.PublicKey, notBefore, notAfter time.Time) (*smx509.Certificate, error) {
	if !SM2.Accepts(pub) {
		return nil, certseal.Errorf(certseal.EInvalid, "SM2 印章证书需要 SM2 公钥")
	}
	tmpl, err := sealTemplate(ca.X509(), s, notBefore, notAfter)
	if err != nil {
		return nil, err
	}
	der, err := smx509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("seals: create SM2 seal certificate: %w", err)
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("seals: parse SM2 seal certificate: %w", err)
	}
	return cert, nil
}

// CRL returns a DER certificate revocation list signed by the SM2 CA with SM2-with-SM3, with
// the contents and rules of CA.CRL. It returns a *certseal.Error (EInvalid) when next is not
// after now or a serial is missing, and an error when signing fails.
func (ca *SM2CA) CRL(revoked []Revoked, now, next time.Time) ([]byte, error) {
	tmpl, err := crlTemplate(revoked, now, next)
	if err != nil {
		return nil, err
	}
	der, err := smx509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("seals: create SM2 CRL: %w", err)
	}
	return der, nil
}

// sm3Hex returns the SM3 digest of b in hexadecimal.
func sm3Hex(b []byte) string {
	sum := sm3.Sum(b)
	return hex.EncodeToString(sum[:])
}

// parseSealCert parses a stored seal certificate: with smx509 for SM2 seals (crypto/x509 does
// not know the SM2 curve), crypto/x509 otherwise.
func parseSealCert(alg string, der []byte) (*x509.Certificate, error) {
	if alg == AlgSM2 {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		return (*x509.Certificate)(c), nil
	}
	return x509.ParseCertificate(der)
}
