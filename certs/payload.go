package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base32"
	"math/big"
	"strconv"
	"strings"

	"certseal"
	"certseal/seals"
)

// The QR code of a certificate holds a short verification URL written only with the characters
// of the QR alphanumeric mode (0-9, A-Z and " $%*+-./:"), which packs 11 bits into two
// characters, so that the code stays small enough to read from a phone or a 100 dpi scan:
//
//	HTTP://HOST:PORT/V/<ref>.<signature>
//
// <ref> is the certificate's record id (also its status-list index) in base 32 (0-9, A-V).
// <signature> is the seal key's ECDSA signature (SHA-256) over "certseal-qr:" and everything in
// front of the dot (for an OFD-only certificate, whose seal is SM2: its SM2 signature with SM3
// and the default signer ID 1234567812345678 over the same bytes), as the 64 raw bytes r‖s of
// the 256-bit curve in RFC 4648 base32 without padding (103 characters). A phone checks it offline with the seal certificate's public key: the URL, host
// included, is the one the issuer wrote; the signed status list then gives the status of <ref>
// offline too. The server answers /V/<ref> and /v/<ref>, with or without the signature.
// Scheme and host are written in capitals, which URLs treat as the same; a base URL with a
// lower-case path keeps its case, and the QR code then falls back to byte mode.

// ShortPath is the path the short verification URLs of QR codes start with.
const ShortPath = "/V/"

const qrSigDomain = "certseal-qr:"

var sigEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ShortRef returns the short reference of a record id: the id in base 32, upper case. It returns
// false for an id that is not a positive decimal number.
func ShortRef(id string) (string, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return "", false
	}
	return strings.ToUpper(strconv.FormatUint(n, 32)), true
}

// ParseShortRef returns the record id of a short reference, or of the last part of a QR code's
// text (a signature after a dot is ignored). It returns an *certseal.Error (EInvalid) for
// anything else.
func ParseShortRef(ref string) (string, error) {
	if i := strings.IndexByte(ref, '.'); i >= 0 {
		ref = ref[:i]
	}
	n, err := strconv.ParseUint(strings.ToLower(ref), 32, 64)
	if err != nil || n == 0 || len(ref) > 13 {
		return "", certseal.Errorf(certseal.EInvalid, "二维码中的证照编码不正确")
	}
	return strconv.FormatUint(n, 10), nil
}

// qrBase returns base with scheme and host in capitals (URLs ignore their case), without a
// trailing slash.
func qrBase(base string) string {
	base = strings.TrimRight(base, "/")
	scheme, rest, ok := strings.Cut(base, "://")
	if !ok || scheme == "" || rest == "" {
		return base
	}
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	return strings.ToUpper(scheme) + "://" + strings.ToUpper(host) + path
}

// ShortURL returns the short verification URL of the certificate with record id, without a
// signature, under the public base URL base. It returns "" for an id that is not a record id.
func ShortURL(base, id string) string {
	ref, ok := ShortRef(id)
	if !ok {
		return ""
	}
	return qrBase(base) + ShortPath + ref
}

// QRText returns the text of a certificate's QR code: its short URL and the signature of signer
// (the seal's P-256 key) over it. It returns an *certseal.Error (EInvalid) for an id that is
// not a record id or a key that is not P-256, and the signer's error.
func QRText(signer crypto.Signer, base, id string) (string, error) {
	u := ShortURL(base, id)
	if u == "" {
		return "", certseal.Errorf(certseal.EInvalid, "证照记录编号 %q 不正确", id)
	}
	pub, ok := signer.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve.Params().BitSize != 256 {
		return "", certseal.Errorf(certseal.EInvalid, "二维码签名需要 P-256 或 SM2 印章密钥")
	}
	var der []byte
	var err error
	if seals.SM2.Accepts(pub) {
		// An OFD-only certificate's seal: SM2 with SM3 (and the default signer ID) over the
		// same bytes, in the same 64-byte r‖s form.
		der, err = seals.SM2.Sign(rand.Reader, signer, []byte(qrSigDomain+u))
	} else {
		sum := sha256.Sum256([]byte(qrSigDomain + u))
		der, err = signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		return "", err
	}
	raw, err := p256Raw(der)
	if err != nil {
		return "", err
	}
	return u + "." + sigEncoding.EncodeToString(raw), nil
}

// p256Raw turns the ASN.1 DER form of an ECDSA P-256 signature (what a crypto.Signer returns)
// into the fixed 64-byte R‖S form (RFC 7518 §3.4, ES256), for the QR code and the status list.
// It returns an *certseal.Error (EInternal) for anything else.
func p256Raw(der []byte) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &sig); err != nil || len(rest) != 0 || sig.R.Sign() <= 0 || sig.S.Sign() <= 0 ||
		sig.R.BitLen() > 256 || sig.S.BitLen() > 256 {
		return nil, certseal.Errorf(certseal.EInternal, "印章密钥返回的签名格式不正确")
	}
	raw := make([]byte, 64)
	sig.R.FillBytes(raw[:32])
	sig.S.FillBytes(raw[32:])
	return raw, nil
}

// VerifyQR checks the text of a QR code against the seal's public key (P-256 ECDSA, or SM2 for
// an OFD-only certificate's seal) and returns the record id it names. It returns an
// *certseal.Error (EInvalid) when the text is not a signed short URL or the signature does not
// verify.
func VerifyQR(text string, pub *ecdsa.PublicKey) (string, error) {
	dot := strings.LastIndexByte(text, '.')
	slash := strings.LastIndex(text, ShortPath)
	if dot < 0 || slash < 0 || dot < slash {
		return "", certseal.Errorf(certseal.EInvalid, "二维码数据格式不正确")
	}
	id, err := ParseShortRef(text[slash+len(ShortPath) : dot])
	if err != nil {
		return "", err
	}
	raw, err := sigEncoding.DecodeString(text[dot+1:])
	if err != nil || len(raw) != 64 {
		return "", certseal.Errorf(certseal.EInvalid, "二维码签名格式不正确")
	}
	r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
	if pub != nil && seals.SM2.Accepts(pub) {
		der, err := asn1.Marshal(struct{ R, S *big.Int }{r, s})
		if err != nil || seals.SM2.Verify(pub, []byte(qrSigDomain+text[:dot]), der) != nil {
			return "", certseal.Errorf(certseal.EInvalid, "二维码签名验证失败：内容可能被篡改")
		}
		return id, nil
	}
	sum := sha256.Sum256([]byte(qrSigDomain + text[:dot]))
	if pub == nil || !ecdsa.Verify(pub, sum[:], r, s) {
		return "", certseal.Errorf(certseal.EInvalid, "二维码签名验证失败：内容可能被篡改")
	}
	return id, nil
}
