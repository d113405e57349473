package certs

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"certseal"
	"certseal/internal/docstore"
	"certseal/internal/store"
	"certseal/seals"
	"certseal/templates"
)

// ErrCodeNoSM2Seal is the detail "reason" of the error Issue returns when the licence type needs
// an OFD file and the issuing seal has no SM2 registration.
const ErrCodeNoSM2Seal = "no_sm2_seal"

// sealLister lists seals; *seals.Registry implements it. A SealSource without it cannot seal
// OFD files (the SM2 registration of the issuing seal is found through it).
type sealLister interface {
	List(ctx context.Context, f seals.SealFilter, after string, limit int) ([]seals.Seal, string, error)
}

// errNoSM2Seal is the error for a type whose certificates need an OFD when the organisation has
// no usable SM2 seal.
func errNoSM2Seal(sealID string) error {
	return certseal.Errorf(certseal.EConflict, "证照类型要求 OFD 文件，但本机构没有可用的国密（SM2）印章").
		WithDetail("reason", ErrCodeNoSM2Seal).WithDetail("seal_id", sealID)
}

// twinOf returns the active seal of the same organisation and 13-digit code as s whose algorithm
// is alg (one physical seal registered once for ECDSA, once for SM2), or false.
func (s *Service) twinOf(ctx context.Context, seal seals.Seal, alg string) (seals.Seal, bool, error) {
	l, ok := s.Seals.(sealLister)
	if !ok {
		return seals.Seal{}, false, nil
	}
	after := ""
	for range 100 { // at most 100 pages of an organisation's seals
		list, next, err := l.List(ctx, seals.SealFilter{OrgID: seal.OrgID, Status: seals.StatusActive}, after, 200)
		if err != nil {
			return seals.Seal{}, false, err
		}
		for _, x := range list {
			a, err := x.SigningAlgorithm()
			if err == nil && x.ID != seal.ID && x.Code == seal.Code && a.Name() == alg {
				return x, true, nil
			}
		}
		if next == "" {
			break
		}
		after = next
	}
	return seals.Seal{}, false, nil
}

// twinSigner returns the signing material of the other registration (alg) of seal, found
// through twinOf once and then remembered; a remembered one that SignerFor refuses (revoked,
// suspended, expired since) is looked up again. ok is false when there is none.
func (s *Service) twinSigner(ctx context.Context, actor certseal.Actor, seal seals.Seal, alg, typeCode string, at time.Time) (*Signing, bool, error) {
	key := seal.ID + "\x00" + alg
	if id, ok := s.twins.Load(key); ok {
		if g, err := s.Seals.SignerFor(ctx, actor, id.(string), typeCode, at); err == nil {
			return g, true, nil
		}
		s.twins.Delete(key)
	}
	twin, ok, err := s.twinOf(ctx, seal, alg)
	if err != nil || !ok {
		return nil, false, err
	}
	g, err := s.Seals.SignerFor(ctx, actor, twin.ID, typeCode, at)
	if err != nil {
		return nil, false, err
	}
	s.twins.Store(key, twin.ID)
	return g, true, nil
}

// ofdSigner sets p.ofdSigning when the type's certificates have an OFD: the SM2 registration of
// the issuing seal. When the clerk chose the SM2 registration itself, the PDF is signed by its
// ECDSA registration (seals.SignPDF refuses an SM2 seal). For an OFD-only type (format ofd)
// both are the SM2 registration: it seals the OFD, signs the QR code and is the record's seal.
func (s *Service) ofdSigner(ctx context.Context, actor certseal.Actor, p *plan) error {
	// the SM2 registration of the chosen seal: the seal itself, or its twin
	sm2 := func() (*Signing, error) {
		if p.signing.Algorithm.Name() == seals.AlgSM2 {
			return p.signing, nil
		}
		g, ok, err := s.twinSigner(ctx, actor, p.signing.Seal, seals.AlgSM2, p.typ.Code, p.now)
		if err == nil && !ok {
			err = errNoSM2Seal(p.signing.Seal.ID)
		}
		return g, err
	}
	if !p.typ.Format.PDF() {
		g, err := sm2()
		if err != nil {
			return err
		}
		p.signing, p.ofdSigning = g, g
		return nil
	}
	if !p.typ.Format.OFD() {
		if p.signing.Algorithm.Name() == seals.AlgSM2 {
			return certseal.Errorf(certseal.EInvalid, "国密（SM2）印章 %s 只能签发 OFD 文件，“%s”签发 PDF，请选择同一印章的 ECDSA 登记", p.signing.Seal.ID, p.typ.Name).WithDetail("seal_id", p.signing.Seal.ID)
		}
		return nil
	}
	if p.signing.Algorithm.Name() == seals.AlgSM2 {
		pdfSigning, ok, err := s.twinSigner(ctx, actor, p.signing.Seal, seals.AlgECDSAP256, p.typ.Code, p.now)
		if err != nil {
			return err
		}
		if !ok {
			return certseal.Errorf(certseal.EConflict, "“%s”还需要 PDF 文件，但印章 %s 没有可用的 ECDSA 登记", p.typ.Name, p.signing.Seal.ID).WithDetail("seal_id", p.signing.Seal.ID)
		}
		p.ofdSigning, p.signing = p.signing, pdfSigning
		return nil
	}
	g, err := sm2()
	if err != nil {
		return err
	}
	p.ofdSigning = g
	return nil
}

// produceOFD writes the plan as an OFD package with the licence metadata, seals it with the SM2
// seal (GB/T 38540), sets the record's OFD digest and stores it in the document store, durably,
// before the commit that records it.
func (s *Service) produceOFD(c *Certificate, p *plan, lp *templates.Plan) error {
	g := p.ofdSigning
	pkg, err := templates.OFDWriter{Author: c.IssuerName, Licence: &templates.LicenceMetadata{
		Identifier: c.Identifier, Number: c.LicenceNumber, Name: c.Name, TypeCode: c.TypeCode,
		Issuer: c.IssuerName, IssuerCode: c.IssuerCode, Holder: c.Holder.Name, HolderCode: c.Holder.Code,
		HolderCodeType: c.Holder.CodeType, IssueDate: c.IssueDate, ValidFrom: c.ValidFrom, ValidUntil: c.ValidTo,
		AreaCode: c.AreaCode, CatalogueItem: c.ItemCode,
	}}.Write(lp)
	if err != nil {
		return err
	}
	sp := p.tpl.Seal()
	now := p.now
	sealed, err := seals.SignOFD(pkg, seals.OFDSignOptions{
		Sign: func(h []byte) ([]byte, error) { return g.SignSES(h, now, c.ID+".ofd") },
		Time: now, Page: sp.Page, X: sp.X, Y: sp.Y, Diameter: sp.Diameter,
	})
	if err != nil {
		return err
	}
	sum := sha256.Sum256(sealed)
	c.OFDSHA256, c.OFDSize, c.OFDSealID = hex.EncodeToString(sum[:]), len(sealed), g.Seal.ID
	return s.putDocument(sealed)
}

// ErrCodeNoOFD is the detail "reason" of OFD's ENotFound for a certificate that has no OFD file.
const ErrCodeNoOFD = "no_ofd"

// OFD returns the sealed OFD of a certificate the actor may see, checked against the SHA-256 and
// size recorded when it was sealed. It returns an *certseal.Error: ENotFound for an unknown
// certificate or one whose type has no OFD (reason no_ofd), or EInternal for a stored OFD that
// is damaged or missing (never served; logged and audited as ActionDocumentCorrupt).
func (s *Service) OFD(ctx context.Context, actor certseal.Actor, id string) ([]byte, Certificate, error) {
	c, err := s.readable(actor, id, nil)
	if err != nil {
		return nil, c, err
	}
	if c.OFDSHA256 == "" {
		return nil, c, certseal.Errorf(certseal.ENotFound, "证照“%s”（%s）没有 OFD 文件：签发时其证照类型只签发 PDF", c.Name, c.LicenceNumber).WithDetail("reason", ErrCodeNoOFD)
	}
	return s.ofdDocument(ctx, actor, &c)
}

// ofdDocument reads c's OFD from the document store and checks it against its record.
func (s *Service) ofdDocument(ctx context.Context, actor certseal.Actor, c *Certificate) ([]byte, Certificate, error) {
	if s.Docs == nil {
		return nil, *c, errDocumentMissing(c.ID)
	}
	pkg, err := s.Docs.Get(ctx, c.OFDSHA256)
	switch {
	case errors.Is(err, docstore.ErrNotFound):
		s.auditDocument(ctx, actor, c, map[string]any{"file": "ofd", "recorded_sha256": c.OFDSHA256, "recorded_size": c.OFDSize, "missing": true})
		return nil, *c, errDocumentMissing(c.ID)
	case errors.Is(err, docstore.ErrCorrupt):
		pkg = nil
	case err != nil:
		return nil, *c, err
	}
	if err := s.checkStored(ctx, actor, c, "ofd", pkg, c.OFDSHA256, c.OFDSize); err != nil {
		return nil, *c, err
	}
	return pkg, *c, nil
}

// SESVerifier checks a GB/T 38540 SES_Signature against the digest it claims to sign;
// *seals.Registry implements it. A Validator without it cannot check OFD files.
type SESVerifier interface {
	VerifySES(ctx context.Context, der, dataHash []byte) (*seals.SESVerdict, error)
}

// IsOFD reports whether b looks like an OFD package: a ZIP (PK\x03\x04) with an OFD.xml entry
// named in its first local header or central directory. It reads no more than b.
func IsOFD(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return false
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return false
	}
	for i, f := range zr.File {
		if i >= seals.MaxOFDEntries {
			return false
		}
		if f.Name == "OFD.xml" {
			return true
		}
	}
	return false
}

// VerifyOFD checks an OFD package as VerifyPDF checks a PDF, with the same verdicts: every
// signature's References (a changed, removed or added file makes it modified, naming the
// file), its SES_Signature over Signature.xml (seals.VerifySES: the SESeal, the signer's chain
// and revocation, the seal at the signing time), and the certificate found through the signed
// licence identifier (OFD.xml's CustomData 证照标识), its live status. A broken file is a
// verdict, not an error; the error is the store's or ctx's.
func (s *Service) VerifyOFD(ctx context.Context, pkg []byte) (PDFVerdict, error) {
	sum := sha256.Sum256(pkg)
	out := PDFVerdict{SHA256: hex.EncodeToString(sum[:]), Format: "ofd"}
	sv, ok := s.Validator.(SESVerifier)
	if !ok {
		return out, certseal.Errorf(certseal.EUnavailable, "本系统未配置国密签章验证")
	}
	verdicts, err := seals.VerifyOFD(ctx, pkg, func(der, h []byte) (*seals.SESVerdict, error) {
		return sv.VerifySES(ctx, der, h)
	})
	if err != nil {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		out.Verdict = VerdictUnknown
		out.Reasons = []string{"无法读取 OFD 文件中的签章：" + certseal.ErrorMessage(err)}
		if name, sealed := sealedPackage(pkg); sealed {
			// A package with signatures whose structure no longer reads (OFD.xml or the
			// signature list removed or damaged) was changed after it was sealed.
			out.Verdict = VerdictModified
			if name != "" {
				out.Reasons = append(out.Reasons, "文件已被删除："+name)
			}
		}
		out.Label = verdictLabels[out.Verdict]
		return out, nil
	}
	ident, sealRevoked := "", false
	for _, v := range verdicts {
		ch := SignatureCheck{Valid: v.Intact() && v.SESErr == nil && v.SES != nil && v.SES.OK, Modified: !v.Intact(), Trusted: true, Problems: v.Problems, CoversWholeDoc: len(v.Added) == 0}
		if v.SES != nil {
			ch.SealID, ch.SealName, ch.SignedAt = v.SES.SealID, v.SES.SealName, v.SES.SignedAt
			if !v.SES.OK && v.SES.Message != "" {
				ch.Problems = append(append([]string{}, ch.Problems...), v.SES.Message)
			}
			switch v.SES.Code {
			case seals.SESRevoked, seals.SESSealNotValidAt:
				sealRevoked = true
			case seals.SESHashMismatch:
				ch.Modified = true
				ch.Problems = append(ch.Problems, "签章描述文件 "+v.Signature+" 在签章后被改动")
			case seals.SESBadSignature:
				ch.Modified = true
			case seals.SESBadESeal, seals.SESBadChain, seals.SESBadStructure:
				ch.Trusted = false
			}
			if v.SES.Cert != nil && len(v.SES.Cert.Subject.Organization) > 0 {
				ch.Org = v.SES.Cert.Subject.Organization[0]
			}
		}
		out.Signatures = append(out.Signatures, ch)
		if v.Intact() && ident == "" {
			// OFD.xml is protected: the identifier is the signed one when the signature holds;
			// when it does not, the package names one of ours but is not its sealed file.
			ident = v.CustomData["证照标识"]
		}
	}
	var c Certificate
	found := false
	if ident != "" {
		err = s.DB.View(func(tx *store.Tx) error {
			cert, err := LookupTx(tx, ident)
			if err != nil || cert.Identifier != ident || cert.OFDSHA256 == "" {
				return nil
			}
			c, found = cert, true
			v := s.publicView(tx, c)
			out.Certificate = &v
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	checks := out.Signatures
	switch {
	case len(checks) == 0:
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "OFD 文件中没有电子签章")
	case anyModified(checks):
		out.Verdict = VerdictModified
		out.Reasons = append(out.Reasons, "电子签章验证失败：OFD 文件在签章后被改动")
	case sealRevoked:
		out.Verdict = VerdictRevoked
		out.Reasons = append(out.Reasons, "签章所用的国密印章在签章时不在有效期内，或其证书已被吊销")
	case found && !allValid(checks):
		out.Verdict = VerdictModified
		out.Reasons = append(out.Reasons, "OFD 文件的签名值（SignedValue.dat）已被改动或替换，与本系统签发的证照不符")
	case !allValid(checks):
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "电子签章无法确认")
	case !found:
		out.Verdict = VerdictUnknown
		out.Reasons = append(out.Reasons, "签章有效，但这份 OFD 不是本系统签发的证照")
	}
	for _, ch := range checks {
		out.Reasons = append(out.Reasons, ch.Problems...)
	}
	return finish(out, &c, s.Clock.Now()), nil
}

// sealedPackage reports whether pkg is a ZIP holding a GB/T 38540 signature list (an OFD that was
// sealed), and names OFD.xml when the package lost it.
func sealedPackage(pkg []byte) (missing string, sealed bool) {
	if !bytes.HasPrefix(pkg, []byte("PK\x03\x04")) {
		return "", false
	}
	zr, err := zip.NewReader(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil {
		return "", false
	}
	root := false
	for i, f := range zr.File {
		if i >= seals.MaxOFDEntries {
			break
		}
		root = root || f.Name == "OFD.xml"
		sealed = sealed || strings.HasSuffix(f.Name, "/Signatures.xml") || strings.HasSuffix(f.Name, "/SignedValue.dat")
	}
	if sealed && !root {
		missing = "OFD.xml"
	}
	return missing, sealed
}

// IsZIP reports whether b starts as a ZIP archive (an OFD package, or what is left of one).
func IsZIP(b []byte) bool { return bytes.HasPrefix(b, []byte("PK\x03\x04")) }

func anyModified(cs []SignatureCheck) bool {
	for _, c := range cs {
		if c.Modified {
			return true
		}
	}
	return false
}

// zipOFD adds c's OFD, checked against its digest, to a batch's ZIP as <licence number>.ofd; a
// certificate without one adds nothing.
func (s *Service) zipOFD(ctx context.Context, actor certseal.Actor, zw *zip.Writer, c *Certificate, at time.Time) error {
	if c.OFDSHA256 == "" {
		return nil
	}
	pkg, _, err := s.ofdDocument(ctx, actor, c)
	if err != nil {
		return err
	}
	f, err := zw.CreateHeader(&zip.FileHeader{Name: strings.TrimSuffix(ZIPName(c.LicenceNumber), ".pdf") + ".ofd", Method: zip.Store, Modified: at})
	if err != nil {
		return err
	}
	_, err = f.Write(pkg)
	return err
}

// checkOFDFile returns what is wrong with c's stored OFD ("" when it matches its record or c has
// none), for CheckConsistency.
func checkOFDFile(ctx context.Context, files docstore.Store, c *Certificate) string {
	if c.OFDSHA256 == "" || files == nil {
		return ""
	}
	pkg, err := files.Get(ctx, c.OFDSHA256)
	if errors.Is(err, docstore.ErrNotFound) {
		return "存储的 OFD 证照文件不存在：SHA-256 " + c.OFDSHA256
	}
	sum := sha256.Sum256(pkg)
	if err != nil || hex.EncodeToString(sum[:]) != c.OFDSHA256 || len(pkg) != c.OFDSize {
		return fmt.Sprintf("存储的 OFD 证照文件已损坏：与签发时记录的 SHA-256 %s（%d 字节）不符", c.OFDSHA256, c.OFDSize)
	}
	return ""
}
