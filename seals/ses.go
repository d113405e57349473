package seals

// The electronic signature: SES_Signature, version 4, of GB/T 38540-2020.
//
//	SES_Signature ::= SEQUENCE {
//	  toSign         TBS_Sign,
//	  cert           OCTET STRING,            -- the signer's certificate
//	  signatureAlgID OBJECT IDENTIFIER,       -- 1.2.156.10197.1.501
//	  signature      BIT STRING,              -- SM2 over the DER of toSign
//	  timeStamp      [0] EXPLICIT BIT STRING OPTIONAL }
//	TBS_Sign ::= SEQUENCE {
//	  version      INTEGER,                   -- 4
//	  eseal        SESeal,
//	  timeInfo     GeneralizedTime,
//	  dataHash     BIT STRING,                -- SM3 of the signed data
//	  propertyInfo IA5String,
//	  extDatas     [0] EXPLICIT ExtensionDatas OPTIONAL }

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"time"

	"certseal"
	"certseal/internal/store"

	"github.com/emmansun/gmsm/smx509"
)

type tbsSign struct {
	Raw          asn1.RawContent
	Version      int
	ESeal        sesSeal
	TimeInfo     time.Time `asn1:"generalized"`
	DataHash     asn1.BitString
	PropertyInfo string    `asn1:"ia5"`
	ExtDatas     []ExtData `asn1:"optional,explicit,tag:0"`
}

type sesSignature struct {
	Raw            asn1.RawContent
	ToSign         tbsSign
	Cert           []byte
	SignatureAlgID asn1.ObjectIdentifier
	Signature      asn1.BitString
	TimeStamp      asn1.BitString `asn1:"optional,explicit,tag:0"`
}

// tbsSignOut and sesSignatureOut are what SignSES writes: the same fields, with the parts
// already encoded passed through as they are.
type tbsSignOut struct {
	Version      int
	ESeal        asn1.RawValue
	TimeInfo     time.Time `asn1:"generalized"`
	DataHash     asn1.BitString
	PropertyInfo string `asn1:"ia5"`
}

type sesSignatureOut struct {
	ToSign         asn1.RawValue
	Cert           []byte
	SignatureAlgID asn1.ObjectIdentifier
	Signature      asn1.BitString
}

// SESSignature is a parsed SES_Signature (GB/T 38540 v4).
type SESSignature struct {
	Raw            []byte // the DER of the whole SES_Signature
	Version        int
	ESeal          *ESeal
	TimeInfo       time.Time // the signing time the signer states
	DataHash       []byte    // the SM3 digest of the signed data
	PropertyInfo   string
	ExtDatas       []ExtData
	Cert           []byte // the signer's certificate (DER)
	SignatureAlgID asn1.ObjectIdentifier
	Signature      []byte // SM2 signature over TBSDER, DER SEQUENCE { r, s }
	TimeStamp      []byte // nil when absent

	tbs []byte
}

// TBSDER returns the DER of TBS_Sign as it appears in the signature: what the signer signed.
func (s *SESSignature) TBSDER() []byte { return s.tbs }

// MaxPropertyInfoLen bounds the propertyInfo of a signature this package makes.
const MaxPropertyInfoLen = 1024

// SignSES returns the DER SES_Signature (GB/T 38540 v4) of the seal over dataHash, the SM3
// digest of the signed data computed by the caller, at the signing time at, with propertyInfo
// (an IA5 text describing the data, e.g. the document's name). The TBS_Sign carries the seal's
// SESeal; the signature is the seal key's SM2 signature over TBS_Sign, through the seal's
// crypto.Signer. It returns a *certseal.Error (EInvalid) when the seal is not an SM2 seal or
// has no SESeal, dataHash is not 32 bytes, at is zero, or propertyInfo is not printable ASCII
// of at most MaxPropertyInfoLen bytes; and the signer's error when signing fails.
func (g *Signing) SignSES(dataHash []byte, at time.Time, propertyInfo string) ([]byte, error) {
	if g.Algorithm == nil || g.Algorithm.Name() != AlgSM2 {
		return nil, certseal.Errorf(certseal.EInvalid, "印章 %s 不是 SM2 国密印章，不能制作 GB/T 38540 电子签章", g.Seal.ID)
	}
	if len(g.ESeal) == 0 {
		return nil, certseal.Errorf(certseal.EInvalid, "印章 %s 没有电子印章数据（SESeal）", g.Seal.ID)
	}
	if len(dataHash) != 32 {
		return nil, certseal.Errorf(certseal.EInvalid, "原文杂凑值应为 32 字节的 SM3 摘要，实际为 %d 字节", len(dataHash))
	}
	if at.IsZero() {
		return nil, certseal.Errorf(certseal.EInvalid, "请指定签章时间")
	}
	if len(propertyInfo) > MaxPropertyInfoLen || !printableASCII(propertyInfo) {
		return nil, certseal.Errorf(certseal.EInvalid, "原文属性信息应为不超过 %d 个字符的可打印 ASCII 文本", MaxPropertyInfoLen)
	}
	var rv asn1.RawValue // the stored SESeal as it is, not parsed and encoded again
	if rest, err := asn1.Unmarshal(g.ESeal, &rv); err != nil || len(rest) != 0 || rv.Tag != asn1.TagSequence {
		return nil, certseal.Errorf(certseal.EInvalid, "印章 %s 的电子印章数据已损坏", g.Seal.ID)
	}
	tbs := tbsSignOut{
		Version: ESealVersion, ESeal: asn1.RawValue{FullBytes: g.ESeal}, TimeInfo: at.UTC().Truncate(time.Second),
		DataHash: asn1.BitString{Bytes: dataHash, BitLength: 8 * len(dataHash)}, PropertyInfo: propertyInfo,
	}
	tbsDER, err := asn1.Marshal(tbs)
	if err != nil {
		return nil, fmt.Errorf("seals: TBS_Sign: %w", err)
	}
	sig, err := g.Algorithm.Sign(rand.Reader, g.Signer, tbsDER)
	if err != nil {
		return nil, fmt.Errorf("seals: sign SES_Signature: %w", err)
	}
	der, err := asn1.Marshal(sesSignatureOut{
		ToSign: asn1.RawValue{FullBytes: tbsDER}, Cert: g.Cert.Raw, SignatureAlgID: OIDSM2WithSM3,
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("seals: SES_Signature: %w", err)
	}
	return der, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// ParseSES returns the SES_Signature (GB/T 38540 v4) in der, with its embedded SESeal. It
// checks the structure only (VerifySES checks the signatures, the chain and the times). It
// returns a *certseal.Error (EInvalid, detail verdict=bad_structure) when der is larger than
// MaxSESBytes or is not one DER SES_Signature of version 4 with nothing after it.
func ParseSES(der []byte) (*SESSignature, error) {
	if len(der) > MaxSESBytes {
		return nil, certseal.Errorf(certseal.EInvalid, "电子签章数据不能超过 %d MB", MaxSESBytes>>20).WithDetail("verdict", SESBadStructure)
	}
	var s sesSignature
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil {
		return nil, errStructure("电子签章", err)
	}
	if len(rest) != 0 {
		return nil, errStructure("电子签章", fmt.Errorf("%d bytes after the signature", len(rest)))
	}
	t := &s.ToSign
	switch {
	case t.Version != ESealVersion:
		return nil, errStructure("电子签章", fmt.Errorf("version %d, want %d", t.Version, ESealVersion))
	case len(t.PropertyInfo) > maxSESTextBytes:
		return nil, errStructure("电子签章", fmt.Errorf("propertyInfo too long"))
	case len(t.ExtDatas) > maxSESExtDatas:
		return nil, errStructure("电子签章", fmt.Errorf("%d extensions", len(t.ExtDatas)))
	case t.DataHash.BitLength%8 != 0 || s.Signature.BitLength%8 != 0:
		return nil, errStructure("电子签章", fmt.Errorf("a bit string is not whole bytes"))
	}
	e, err := eSealFrom(&t.ESeal)
	if err != nil {
		return nil, err
	}
	out := &SESSignature{
		Raw: s.Raw, Version: t.Version, ESeal: e, TimeInfo: t.TimeInfo, DataHash: t.DataHash.Bytes,
		PropertyInfo: t.PropertyInfo, ExtDatas: t.ExtDatas, Cert: s.Cert, SignatureAlgID: s.SignatureAlgID,
		Signature: s.Signature.Bytes, tbs: t.Raw,
	}
	if s.TimeStamp.BitLength > 0 {
		out.TimeStamp = s.TimeStamp.Bytes
	}
	return out, nil
}

// The stable codes of a SESVerdict.
const (
	SESValid            = "valid"                  // every check passed
	SESBadStructure     = "bad_structure"          // not a GB/T 38540 v4 SES_Signature
	SESBadESeal         = "bad_eseal"              // the embedded SESeal: maker's signature, maker, or holder certificate
	SESBadSignature     = "bad_signature"          // the signature does not verify with the signer's certificate
	SESBadChain         = "bad_chain"              // the signer's certificate does not chain to the SM2 CA
	SESRevoked          = "revoked"                // the signer's certificate is on the SM2 CRL
	SESSealNotValidAt   = "seal_not_valid_at_time" // the seal was not in force at timeInfo
	SESHashMismatch     = "hash_mismatch"          // the signed digest is not the given data's
	SESUnsupportedAlgID = "bad_algorithm"          // an algorithm other than SM2-with-SM3
)

// SESVerdict is the outcome of VerifySES: OK, or the first check that failed, with a stable
// code and a Chinese message, and what the signature says about its seal.
type SESVerdict struct {
	OK       bool
	Code     string // SESValid, SESBadStructure, …
	Message  string // in Chinese, for the person checking
	SignedAt time.Time
	SealID   string // the SESeal's esID
	SealName string
	SealCode string // the seal's 13-digit code (from the registry, else the certificate's OU)
	// Registered is true when the seal is this registry's SM2 seal with this certificate.
	Registered bool
	// Cert is the signer's certificate (nil when the structure is bad).
	Cert *smx509.Certificate
	// Signature is the parsed signature (nil when the structure is bad).
	Signature *SESSignature
}

func (v *SESVerdict) fail(code, format string, args ...any) *SESVerdict {
	v.OK, v.Code, v.Message = false, code, fmt.Sprintf(format, args...)
	return v
}

// VerifySES checks the SES_Signature der against dataHash, the SM3 digest of the data it
// claims to sign, and returns the verdict: the structure (bad_structure); the embedded SESeal's
// signature by the maker, the maker being this registry's SM2 CA, and the signer's certificate
// being in the seal's certificate list (bad_eseal); the signature over TBS_Sign with the
// signer's certificate (bad_signature); the certificate's chain to the SM2 CA at timeInfo
// (bad_chain) and its revocation (revoked: timeInfo is the signer's own claim, so a revoked
// certificate fails whenever it signed); the seal's validity, and its registered status, at
// timeInfo (seal_not_valid_at_time); dataHash (hash_mismatch). A failed check is a verdict, not
// an error. It returns an error only when ctx is done or the SM2 CA or the store cannot be read.
func (r *Registry) VerifySES(ctx context.Context, der, dataHash []byte) (*SESVerdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := &SESVerdict{}
	sig, err := ParseSES(der)
	if err != nil {
		return v.fail(SESBadStructure, "%s", certseal.ErrorMessage(err)), nil
	}
	v.Signature, v.SignedAt, v.SealID, v.SealName = sig, sig.TimeInfo, sig.ESeal.ESID, sig.ESeal.Name
	ca, err := r.SM2CA(ctx)
	if err != nil {
		return nil, err
	}
	cert, err := smx509.ParseCertificate(sig.Cert)
	if err != nil {
		return v.fail(SESBadStructure, "签章者证书无法解析：%v", err), nil
	}
	v.Cert = cert
	if len(cert.Subject.OrganizationalUnit) > 0 {
		v.SealCode = cert.Subject.OrganizationalUnit[0]
	}
	if !sig.SignatureAlgID.Equal(OIDSM2WithSM3) || !sig.ESeal.SignAlgID.Equal(OIDSM2WithSM3) {
		return v.fail(SESUnsupportedAlgID, "签名算法 %v 不是 SM2-with-SM3（1.2.156.10197.1.501）", sig.SignatureAlgID), nil
	}
	// 1. The seal: signed by the maker, the maker being our SM2 CA, holding the signer.
	if !bytes.Equal(sig.ESeal.MakerCert, ca.Cert.Raw) {
		return v.fail(SESBadESeal, "电子印章的制章者证书不是本系统的 SM2 根证书"), nil
	}
	if !r.esealVerified(sig.ESeal) {
		if err := SM2.Verify(ca.Cert.PublicKey, sig.ESeal.SealInfoDER(), sig.ESeal.SignedValue); err != nil {
			return v.fail(SESBadESeal, "电子印章的制章者签名无效：印章数据已被篡改"), nil
		}
		r.rememberESeal(sig.ESeal)
	}
	if sig.ESeal.CertListType != CertListCerts || !sig.ESeal.holds(sig.Cert) {
		return v.fail(SESBadESeal, "签章者证书不在电子印章的证书列表中"), nil
	}
	// 2. The signature over TBS_Sign.
	if !SM2.Accepts(cert.PublicKey) {
		return v.fail(SESBadSignature, "签章者证书的公钥不是 SM2 公钥"), nil
	}
	if err := SM2.Verify(cert.PublicKey, sig.TBSDER(), sig.Signature); err != nil {
		return v.fail(SESBadSignature, "电子签章的签名值无效：签章数据已被篡改或不是该证书签署的"), nil
	}
	// 3. The chain at timeInfo.
	roots := smx509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(smx509.VerifyOptions{Roots: roots, CurrentTime: sig.TimeInfo, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return v.fail(SESBadChain, "签章者证书不能验证到本系统的 SM2 根证书（签章时间 %s）：%v", sig.TimeInfo.In(certseal.China).Format("2006-01-02 15:04:05"), err), nil
	}
	if cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return v.fail(SESBadChain, "签章者证书不允许用于数字签名"), nil
	}
	// 4. Revocation and the registry's record of the seal.
	var s Seal
	var rv revocation
	revoked, registered := false, false
	if err := r.db.View(func(tx *store.Tx) error {
		got, err := getTx(tx, sig.ESeal.ESID)
		if err != nil {
			return nil // not a seal of this registry: the chain decides
		}
		// The seal's current certificate or one it had before a renewal.
		s, registered = got, got.Algorithm == AlgSM2 && got.hasCert(sig.Cert)
		ok, err := tx.GetJSON(BucketRevoked, []byte(got.ID), &rv)
		if err != nil {
			return err
		}
		revoked = ok && rv.covers(cert.SerialNumber.Text(16))
		return nil
	}); err != nil {
		return nil, err
	}
	if registered {
		v.Registered, v.SealCode, v.SealName = true, s.Code, s.Name
	}
	if revoked {
		return v.fail(SESRevoked, "印章证书已于 %s 吊销", rv.At.In(certseal.China).Format("2006-01-02 15:04:05")), nil
	}
	// 5. The seal at timeInfo.
	e := sig.ESeal
	if sig.TimeInfo.Before(e.ValidStart) || !sig.TimeInfo.Before(e.ValidEnd) {
		return v.fail(SESSealNotValidAt, "签章时间 %s 不在电子印章的有效期（%s 至 %s）内",
			sig.TimeInfo.In(certseal.China).Format("2006-01-02 15:04:05"),
			e.ValidStart.In(certseal.China).Format("2006-01-02"), e.ValidEnd.In(certseal.China).Format("2006-01-02")), nil
	}
	if registered {
		if st := s.EffectiveStatus(sig.TimeInfo); st != StatusActive {
			return v.fail(SESSealNotValidAt, "签章时印章状态为“%s”", st.Label()), nil
		}
	}
	// 6. The data.
	if !bytes.Equal(sig.DataHash, dataHash) {
		return v.fail(SESHashMismatch, "原文杂凑值不符：文档在签章后已被修改"), nil
	}
	v.OK, v.Code, v.Message = true, SESValid, "电子签章有效"
	return v, nil
}

// maxVerifiedESeals bounds the cache of SESeals whose maker's signature was verified.
const maxVerifiedESeals = 1024

// esealVerified reports whether the maker's signature of exactly these SESeal bytes was
// verified before (under the current SM2 CA): every signature of a seal carries the same
// SESeal, and SM3 over its picture is most of the cost of checking it again.
func (r *Registry) esealVerified(e *ESeal) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.esealOK[e.ESID]
	return ok && c.gen == r.crlGen && bytes.Equal(c.der, e.Raw)
}

func (r *Registry) rememberESeal(e *ESeal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.esealOK == nil || len(r.esealOK) >= maxVerifiedESeals {
		r.esealOK = map[string]verifiedESeal{}
	}
	r.esealOK[e.ESID] = verifiedESeal{der: bytes.Clone(e.Raw), gen: r.crlGen}
}

type verifiedESeal struct {
	der []byte
	gen uint64 // r.crlGen when verified: a CA change forgets it
}

// VerifyESeal checks a SESeal on its own (as GET /api/v1/seals/{id}/eseal serves it): the
// structure (bad_structure), and the maker being this registry's SM2 CA whose signature over
// SES_SealInfo verifies (bad_eseal). The verdict's SignedAt is the seal's creation date. A
// failed check is a verdict, not an error; it returns an error only when ctx is done or the SM2
// CA cannot be read.
func (r *Registry) VerifyESeal(ctx context.Context, der []byte) (*SESVerdict, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v := &SESVerdict{}
	e, err := ParseESeal(der)
	if err != nil {
		return v.fail(SESBadStructure, "%s", certseal.ErrorMessage(err)), nil
	}
	v.SignedAt, v.SealID, v.SealName = e.CreateDate, e.ESID, e.Name
	ca, err := r.SM2CA(ctx)
	if err != nil {
		return nil, err
	}
	if !e.SignAlgID.Equal(OIDSM2WithSM3) {
		return v.fail(SESUnsupportedAlgID, "签名算法 %v 不是 SM2-with-SM3（1.2.156.10197.1.501）", e.SignAlgID), nil
	}
	if !bytes.Equal(e.MakerCert, ca.Cert.Raw) {
		return v.fail(SESBadESeal, "电子印章的制章者证书不是本系统的 SM2 根证书"), nil
	}
	if err := SM2.Verify(ca.Cert.PublicKey, e.SealInfoDER(), e.SignedValue); err != nil {
		return v.fail(SESBadESeal, "电子印章的制章者签名无效：印章数据已被篡改"), nil
	}
	if len(e.Certs) > 0 {
		if c, err := smx509.ParseCertificate(e.Certs[0]); err == nil {
			v.Cert = c
			if len(c.Subject.OrganizationalUnit) > 0 {
				v.SealCode = c.Subject.OrganizationalUnit[0]
			}
		}
	}
	if err := r.db.View(func(tx *store.Tx) error {
		if s, err := getTx(tx, e.ESID); err == nil && s.Algorithm == AlgSM2 && slices.ContainsFunc(e.Certs, s.hasCert) {
			v.Registered, v.SealCode, v.SealName = true, s.Code, s.Name
		}
		return nil
	}); err != nil {
		return nil, err
	}
	v.OK, v.Code, v.Message = true, SESValid, "电子印章有效（制章者签名正确）"
	return v, nil
}
