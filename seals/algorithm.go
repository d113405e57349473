package seals

// The seam between signing and signature algorithms. A seal names the algorithm it signs with
// (Seal.Algorithm); SignPDF builds the CMS SignedData from what that Algorithm says: the digest
// of the document and of the signed attributes, the two algorithm identifiers, the signing
// itself through the seal's crypto.Signer, whose private key never leaves this package (or an
// HSM). A seal chooses ECDSA P-256 with SHA-256 (ECDSAP256, what PDF readers check) or SM2 with
// SM3 (SM2, sm2.go: the national algorithm of GB/T 38540 electronic seals).

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"

	"certseal"
)

// Algorithm is one signature algorithm of seals: how its keys are made and checked, which
// digest the document and the CMS signed attributes get, how the CMS names both algorithms, and
// how a message is signed and verified. Implementations hash inside Sign and Verify, because
// some algorithms (SM2 with its signer identity Z) sign the message rather than a bare digest.
// Implementations are stateless and safe for concurrent use.
type Algorithm interface {
	// Name is the stable name stored in a seal record: "ecdsa-p256" or "sm2".
	Name() string
	// NewKey returns a fresh key pair, or an error when the random source fails.
	NewKey() (crypto.Signer, error)
	// Accepts reports whether pub is a public key of this algorithm.
	Accepts(pub crypto.PublicKey) bool
	// NewHash returns the digest of the signed document (the CMS messageDigest attribute).
	NewHash() hash.Hash
	// DigestAlgorithm is the CMS digestAlgorithm of NewHash.
	DigestAlgorithm() pkix.AlgorithmIdentifier
	// SignatureAlgorithm is the CMS signatureAlgorithm of the signature Sign makes.
	SignatureAlgorithm() pkix.AlgorithmIdentifier
	// Sign returns key's signature over msg (the DER of the CMS signed attributes), in the
	// encoding the CMS carries. It returns the Signer's error if signing fails.
	Sign(rand io.Reader, key crypto.Signer, msg []byte) ([]byte, error)
	// Verify checks that sig is pub's signature over msg; it returns an error if it is not.
	Verify(pub crypto.PublicKey, msg, sig []byte) error
}

// AlgECDSAP256 is the name of ECDSA on P-256 with SHA-256, the algorithm of every seal made
// before seals had an algorithm, and the default.
const AlgECDSAP256 = "ecdsa-p256"

// ECDSAP256 is ECDSA on the NIST P-256 curve with SHA-256 (RFC 5758 ecdsa-with-SHA256), the
// algorithm PDF readers check.
var ECDSAP256 Algorithm = ecdsaSHA256{name: AlgECDSAP256, curve: elliptic.P256()}

// algorithms are the algorithms a seal can choose, by name.
var algorithms = map[string]Algorithm{AlgECDSAP256: ECDSAP256, AlgSM2: SM2}

// AlgorithmByName returns the algorithm called name; "" is ECDSAP256. It returns a
// *certseal.Error with code EInvalid for a name it does not know.
func AlgorithmByName(name string) (Algorithm, error) {
	if name == "" {
		return ECDSAP256, nil
	}
	if a, ok := algorithms[name]; ok {
		return a, nil
	}
	return nil, certseal.Errorf(certseal.EInvalid, "不支持的印章签名算法 %q（应为 %s 或 %s）", name, AlgECDSAP256, AlgSM2).WithDetail("field", "algorithm")
}

// SigningAlgorithm returns the algorithm the seal signs with: ECDSAP256 for a record that names
// none. It returns a *certseal.Error (EInvalid) for an algorithm this build does not know.
func (s Seal) SigningAlgorithm() (Algorithm, error) { return AlgorithmByName(s.Algorithm) }

// UnmarshalJSON decodes a stored seal; a record written before seals had an algorithm reads as
// ecdsa-p256, the only algorithm there was.
func (s *Seal) UnmarshalJSON(b []byte) error {
	type plain Seal // no methods: no recursion
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	if s.Algorithm == "" {
		s.Algorithm = AlgECDSAP256
	}
	return nil
}

// algorithmForKey returns the algorithm of a signer's public key when SignOptions names none:
// ECDSAP256 for a P-256 key; for keys no seal makes (other ECDSA curves, RSA: imported or HSM
// keys passed to SignPDF directly) the algorithm SignPDF has always used for them.
func algorithmForKey(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if ECDSAP256.Accepts(k) {
			return ECDSAP256, nil
		}
		return ecdsaSHA256{name: "ecdsa-sha256"}, nil
	case *rsa.PublicKey:
		return rsaSHA256{}, nil
	}
	return nil, fmt.Errorf("seals: unsupported signer key %T", pub)
}

var (
	oidSHA256Alg           = pkix.AlgorithmIdentifier{Algorithm: oidSHA256}
	oidECDSAWithSHA256Alg  = pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256}
	oidRSAEncryptionAlg    = pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1NullParams}
	errSignatureMismatched = errors.New("seals: signature does not verify")
)

// ecdsaSHA256 is ECDSA with SHA-256 on curve (any curve when nil), signatures ASN.1 DER.
type ecdsaSHA256 struct {
	name  string
	curve elliptic.Curve
}

func (a ecdsaSHA256) Name() string { return a.name }

func (a ecdsaSHA256) NewKey() (crypto.Signer, error) {
	c := a.curve
	if c == nil {
		c = elliptic.P256()
	}
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("seals: generate seal key: %w", err)
	}
	return k, nil
}

func (a ecdsaSHA256) Accepts(pub crypto.PublicKey) bool {
	k, ok := pub.(*ecdsa.PublicKey)
	return ok && k.Curve != nil && (a.curve == nil || k.Curve.Params().Name == a.curve.Params().Name)
}

func (ecdsaSHA256) NewHash() hash.Hash                           { return sha256.New() }
func (ecdsaSHA256) DigestAlgorithm() pkix.AlgorithmIdentifier    { return oidSHA256Alg }
func (ecdsaSHA256) SignatureAlgorithm() pkix.AlgorithmIdentifier { return oidECDSAWithSHA256Alg }

func (ecdsaSHA256) Sign(rand io.Reader, key crypto.Signer, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return key.Sign(rand, h[:], crypto.SHA256)
}

func (a ecdsaSHA256) Verify(pub crypto.PublicKey, msg, sig []byte) error {
	k, ok := pub.(*ecdsa.PublicKey)
	if !ok || !a.Accepts(k) {
		return fmt.Errorf("seals: %s cannot verify with a %T key", a.name, pub)
	}
	h := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(k, h[:], sig) {
		return errSignatureMismatched
	}
	return nil
}

// rsaSHA256 is RSA PKCS #1 v1.5 with SHA-256, for RSA keys passed to SignPDF directly; no seal
// makes RSA keys.
type rsaSHA256 struct{}

func (rsaSHA256) Name() string { return "rsa-sha256" }

func (rsaSHA256) NewKey() (crypto.Signer, error) {
	return nil, errors.New("seals: seals do not make RSA keys")
}

func (rsaSHA256) Accepts(pub crypto.PublicKey) bool {
	_, ok := pub.(*rsa.PublicKey)
	return ok
}

func (rsaSHA256) NewHash() hash.Hash                           { return sha256.New() }
func (rsaSHA256) DigestAlgorithm() pkix.AlgorithmIdentifier    { return oidSHA256Alg }
func (rsaSHA256) SignatureAlgorithm() pkix.AlgorithmIdentifier { return oidRSAEncryptionAlg }

func (rsaSHA256) Sign(rand io.Reader, key crypto.Signer, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return key.Sign(rand, h[:], crypto.SHA256)
}

func (rsaSHA256) Verify(pub crypto.PublicKey, msg, sig []byte) error {
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("seals: rsa-sha256 cannot verify with a %T key", pub)
	}
	h := sha256.Sum256(msg)
	return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
}
