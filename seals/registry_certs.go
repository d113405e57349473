package seals

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"certseal"
	"certseal/internal/store"
)

// RecordUseTx is the package function RecordUseTx for a document whose SHA-256 is written in
// hexadecimal, as certificates and the seal-use log keep it; with it the registry is the seal
// source package certs declares. It returns a *certseal.Error (EInvalid) when docSHA256 is not
// 64 hexadecimal digits, and the errors of RecordUseTx otherwise.
func (r *Registry) RecordUseTx(tx *store.Tx, now time.Time, actor certseal.Actor, sealID, docSHA256, purpose, objectID string) error {
	var sum [32]byte
	if len(docSHA256) != hex.EncodedLen(len(sum)) {
		return certseal.Errorf(certseal.EInvalid, "文档摘要不是 64 位十六进制的 SHA-256")
	}
	if _, err := hex.Decode(sum[:], []byte(docSHA256)); err != nil {
		return certseal.Errorf(certseal.EInvalid, "文档摘要不是 64 位十六进制的 SHA-256")
	}
	return RecordUseTx(tx, now, actor, sealID, sum, purpose, objectID)
}

// SignStatusList signs data (the certificate status list without its proof) with the root CA's
// key, ECDSA over SHA-256, and returns the ASN.1 DER signature and the CA certificate in PEM.
// The key stays behind the CA's crypto.Signer. It returns the errors of CA and of the signer.
func (r *Registry) SignStatusList(ctx context.Context, data []byte) (signature, signerCertPEM []byte, err error) {
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256(data)
	sig, err := ca.Signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, nil, err
	}
	return sig, ca.CertificatePEM(), nil
}
