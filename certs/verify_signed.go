package certs

import (
	"crypto/sha256"
	"encoding/hex"
)

// anySigned reports whether one of the checks is of a real signature: a CMS signature whose
// signer certificate the validator read (seals.SignatureReport.Signed), which is exactly when the
// check names the signer. A /ByteRange without one (junk, or damaged beyond reading) says
// nothing about whether the file was changed.
func anySigned(cs []SignatureCheck) bool {
	for _, c := range cs {
		if c.SealID != "" || c.SealName != "" || c.Org != "" {
			return true
		}
	}
	return false
}

// signedPartHashes returns the SHA-256 (hex) of the signed revision of every valid signature that
// does not cover the whole file, once per distinct length: for a certificate with bytes appended,
// the hash of the file as issued.
func signedPartHashes(pdf []byte, checks []SignatureCheck) []string {
	seen := map[int64]bool{}
	var out []string
	for _, ch := range checks {
		if !ch.Valid || ch.CoversWholeDoc || ch.SignedLength <= 0 || ch.SignedLength >= int64(len(pdf)) || seen[ch.SignedLength] {
			continue
		}
		seen[ch.SignedLength] = true
		sum := sha256.Sum256(pdf[:ch.SignedLength])
		out = append(out, hex.EncodeToString(sum[:]))
	}
	return out
}
