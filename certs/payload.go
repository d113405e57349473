package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"certseal"
)

// CompactFields are the core fields of a certificate carried in its QR code, signed by the
// seal's key so that a phone can check them offline with the seal certificate.
type CompactFields struct {
	Identifier string `json:"i"`
	Holder     string `json:"h"`
	HolderCode string `json:"c"`
	Type       string `json:"t"`
	ValidTo    string `json:"v,omitempty"`
	Issuer     string `json:"o"`
}

const payloadVersion = "1"

// SignPayload returns "1.<base64url JSON>.<base64url ECDSA-SHA256 signature>". It returns the
// signer's error.
func SignPayload(signer crypto.Signer, f CompactFields) (string, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	body := payloadVersion + "." + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(body))
	sig, err := signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", err
	}
	return body + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

// VerifyPayload checks a QR payload against the seal's public key and returns its fields. It
// returns an *certseal.Error (EInvalid) when the payload is malformed or the signature does not
// verify.
func VerifyPayload(payload string, pub *ecdsa.PublicKey) (CompactFields, error) {
	var f CompactFields
	parts := strings.Split(payload, ".")
	if len(parts) != 3 || parts[0] != payloadVersion {
		return f, certseal.Errorf(certseal.EInvalid, "二维码数据格式不正确")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return f, certseal.Errorf(certseal.EInvalid, "二维码签名格式不正确")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if pub == nil || !ecdsa.VerifyASN1(pub, sum[:], sig) {
		return f, certseal.Errorf(certseal.EInvalid, "二维码签名验证失败：内容可能被篡改")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(raw, &f) != nil {
		return f, certseal.Errorf(certseal.EInvalid, "二维码数据格式不正确")
	}
	return f, nil
}
