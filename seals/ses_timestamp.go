package seals

// The timeStamp of an SES_Signature (GB/T 38540 v4, the optional [0] EXPLICIT BIT STRING after
// the signature): an RFC 3161 token over the SM3 digest of the signature value, from the same
// TSA set-up as the PDF signatures. It is added to what SignSES writes, so that the signature
// itself is made in one place (ses.go).

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"time"

	"certseal"
	"certseal/internal/tsa"

	"github.com/emmansun/gmsm/sm3"
)

// SignSESTimestamped is SignSES followed, when the Signing has a TSA (LongTerm from
// Registry.SetLongTerm), by a timestamp of the signature value (SM3 message imprint) in the
// SES_Signature's timeStamp field; without a TSA it is SignSES. It returns SignSES's errors,
// and tsa.Unavailable's (EUnavailable, 时间戳服务不可用) when the TSA fails: nothing is signed
// without the timestamp then.
func (g *Signing) SignSESTimestamped(ctx context.Context, dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	der, err := g.SignSES(dataHash, at, propertyInfo)
	if err != nil || g.LongTerm == nil || g.LongTerm.TSA == nil {
		return der, err
	}
	s, err := ParseSES(der)
	if err != nil {
		return nil, err
	}
	sum := sm3.Sum(s.Signature)
	token, err := g.LongTerm.TSA.Timestamp(ctx, tsa.SM3, sum[:])
	if err != nil {
		return nil, err
	}
	return withSESTimestamp(der, token)
}

// withSESTimestamp returns the SES_Signature der with the timeStamp field set to token.
func withSESTimestamp(der, token []byte) ([]byte, error) {
	var seq asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &seq); err != nil || len(rest) != 0 || seq.Tag != asn1.TagSequence {
		return nil, fmt.Errorf("seals: SES_Signature: %v", err)
	}
	bits, err := asn1.Marshal(asn1.BitString{Bytes: token, BitLength: 8 * len(token)})
	if err != nil {
		return nil, err
	}
	field, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: bits})
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: append(append([]byte{}, seq.Bytes...), field...)})
}

// SESTimestamp checks the timeStamp of the SES_Signature der: a token over the SM3 of its
// signature value whose TSA chains to the registry's roots (the city CA, and an external TSA's
// CA set with SetLongTerm). It returns the token's time and TSA (nil when the signature has no
// timeStamp), and a *certseal.Error (EInvalid) when the signature does not parse or the token
// does not verify or is not trusted.
func (r *Registry) SESTimestamp(ctx context.Context, der []byte) (*tsa.Info, error) {
	s, err := ParseSES(der)
	if err != nil {
		return nil, err
	}
	if s.TimeStamp == nil {
		return nil, nil
	}
	roots, _, err := r.roots(ctx)
	if err != nil {
		return nil, err
	}
	return verifySESTimestamp(s, roots)
}

func verifySESTimestamp(s *SESSignature, roots *x509.CertPool) (*tsa.Info, error) {
	sum := sm3.Sum(s.Signature)
	info, err := tsa.Verify(s.TimeStamp, tsa.SM3, sum[:], roots)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "电子签章的时间戳验证失败").WithDetail("reason", err.Error())
	}
	if !info.Trusted {
		return nil, certseal.Errorf(certseal.EInvalid, "电子签章的时间戳服务证书不可信").WithDetail("reason", info.TrustError)
	}
	return info, nil
}
