package seals_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"certseal"
	"certseal/seals"
)

// FuzzVerifySES: VerifySES answers any bytes with a verdict (never an error, never a panic),
// its code is one of the stable codes, and only the untouched signature over the right digest
// is valid. ParseESeal takes the same bytes and fails with EInvalid or parses. Seeds: a real
// SES_Signature, its SESeal, and truncations.
func FuzzVerifySES(f *testing.F) {
	e := newRegEnv(f)
	_, g := e.sm2Seal(f)
	hash := docHash("doc")
	der, err := g.SignSES(hash, regStart.Add(time.Hour), "certificate.ofd")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{der, g.ESeal, der[:len(der)/2], {0x30, 0x00}, {0x30, 0x84, 0xff, 0xff, 0xff, 0xff}} {
		f.Add(s)
	}
	codes := []string{seals.SESValid, seals.SESBadStructure, seals.SESBadESeal, seals.SESBadSignature, seals.SESBadChain,
		seals.SESRevoked, seals.SESSealNotValidAt, seals.SESHashMismatch, seals.SESUnsupportedAlgID}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := e.reg.VerifySES(ctx, data, hash)
		if err != nil {
			t.Fatalf("VerifySES: %v", err)
		}
		if !slices.Contains(codes, v.Code) || v.Message == "" || v.OK != (v.Code == seals.SESValid) {
			t.Fatalf("verdict %+v", v)
		}
		if v.OK && !bytes.Equal(data, der) {
			// Only a byte-identical signature verifies: DER has one encoding, SM2 is unforgeable.
			t.Fatalf("a changed signature verifies")
		}
		if _, err := seals.ParseESeal(data); err != nil && certseal.ErrorCode(err) != certseal.EInvalid {
			t.Fatalf("ParseESeal: %v", err)
		}
	})
}
