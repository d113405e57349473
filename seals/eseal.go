package seals

// The electronic seal as data: SESeal, version 4, of GB/T 38540-2020 (安全电子签章密码技术规范;
// the same structures as GM/T 0031-2014 v4). The city center, as the seal maker (制章者), signs
// the seal's information with the SM2 CA key:
//
//	SESeal ::= SEQUENCE {
//	  eSealInfo   SES_SealInfo,
//	  cert        OCTET STRING,       -- the maker's certificate
//	  signAlgID   OBJECT IDENTIFIER,  -- 1.2.156.10197.1.501 SM2-with-SM3
//	  signedValue BIT STRING }        -- SM2 signature over the DER of eSealInfo
//	SES_SealInfo ::= SEQUENCE {
//	  header   SES_Header,            -- { ID IA5String "ES", version INTEGER 4, Vid IA5String }
//	  esID     IA5String,
//	  property SES_ESPropertyInfo,
//	  picture  SES_ESPictrueInfo,
//	  extDatas ExtensionDatas OPTIONAL }
//	SES_ESPropertyInfo ::= SEQUENCE {
//	  type INTEGER, name UTF8String, certListType INTEGER,  -- 1: certificates
//	  certList SES_CertList,          -- SEQUENCE OF OCTET STRING: the seal holder's certificate
//	  createDate GeneralizedTime, validStart GeneralizedTime, validEnd GeneralizedTime }
//	SES_ESPictrueInfo ::= SEQUENCE { type IA5String, data OCTET STRING, width INTEGER, height INTEGER }
//	ExtensionDatas ::= SEQUENCE OF SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }

import (
	"bytes"
	"crypto/rand"
	"encoding/asn1"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"time"

	"certseal"
)

// ESealVersion is the SESeal and SES_Signature version this package writes and reads.
const ESealVersion = 4

// ESealVid is the vendor identifier written in SES_Header.
const ESealVid = "certseal"

// ESeal types (SES_ESPropertyInfo.type).
const (
	ESealTypeOrganisation = 1 // 单位印章
	ESealTypePerson       = 2 // 个人印章
)

// The certListType values of SES_ESPropertyInfo.
const (
	CertListCerts   = 1 // certList holds the certificates
	CertListDigests = 2 // certList holds certificate digests (read, never written here)
)

// Limits on outside input: a whole SES_Signature or SESeal, and the counts inside it.
const (
	MaxSESBytes     = 6 << 20 // a 4 MB scan and the certificates fit
	maxSESCerts     = 16
	maxSESExtDatas  = 32
	maxSESTextBytes = 4096 // names, identifiers, propertyInfo
)

type sesHeader struct {
	ID      string `asn1:"ia5"`
	Version int
	Vid     string `asn1:"ia5"`
}

type sesPropertyInfo struct {
	Type         int
	Name         string `asn1:"utf8"`
	CertListType int
	CertList     asn1.RawValue
	CreateDate   time.Time `asn1:"generalized"`
	ValidStart   time.Time `asn1:"generalized"`
	ValidEnd     time.Time `asn1:"generalized"`
}

type sesPictureInfo struct {
	Type   string `asn1:"ia5"`
	Data   []byte
	Width  int
	Height int
}

// ExtData is one entry of ExtensionDatas (GB/T 38540): a custom datum with its identifier.
type ExtData struct {
	ID       asn1.ObjectIdentifier
	Critical bool `asn1:"optional"`
	Value    []byte
}

type sesSealInfo struct {
	Raw      asn1.RawContent
	Header   sesHeader
	ESID     string `asn1:"ia5"`
	Property sesPropertyInfo
	Picture  sesPictureInfo
	ExtDatas []ExtData `asn1:"optional"`
}

type sesSeal struct {
	Raw         asn1.RawContent
	SealInfo    sesSealInfo
	Cert        []byte
	SignAlgID   asn1.ObjectIdentifier
	SignedValue asn1.BitString
}

// ESeal is a parsed SESeal (GB/T 38540 v4): the electronic seal the maker signed.
type ESeal struct {
	Raw          []byte // the DER of the whole SESeal
	Version      int
	Vid          string
	ESID         string // the seal's identifier (the registry's seal id)
	Type         int    // ESealTypeOrganisation or ESealTypePerson
	Name         string
	CertListType int
	Certs        [][]byte // the holder certificates (DER) when CertListType is CertListCerts
	CreateDate   time.Time
	ValidStart   time.Time
	ValidEnd     time.Time
	PictureType  string // "PNG", "SVG", …
	Picture      []byte
	WidthMM      int
	HeightMM     int
	ExtDatas     []ExtData
	MakerCert    []byte // the maker's certificate (DER)
	SignAlgID    asn1.ObjectIdentifier
	SignedValue  []byte // the maker's signature over SealInfoDER

	sealInfo []byte
}

// SealInfoDER returns the DER of SES_SealInfo as it appears in the seal: what the maker signed.
func (e *ESeal) SealInfoDER() []byte { return e.sealInfo }

// eSealSpec is what goes into a new SESeal.
type eSealSpec struct {
	ESID, Name             string
	HolderCert             []byte
	Created, Start, End    time.Time
	PictureType            string
	Picture                []byte
	WidthMM, HeightMM      float64
	MakerCert              []byte
	MakerSign              func(msg []byte) ([]byte, error)
	SignAlg                asn1.ObjectIdentifier
	ExtDatas               []ExtData
	sealType, certListType int
}

// makeESeal returns the DER SESeal of spec, signed by spec.MakerSign over the DER of its
// SES_SealInfo.
func makeESeal(spec eSealSpec) ([]byte, error) {
	certs, err := asn1.Marshal([][]byte{spec.HolderCert})
	if err != nil {
		return nil, fmt.Errorf("seals: eseal cert list: %w", err)
	}
	sec := func(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
	if spec.sealType == 0 {
		spec.sealType = ESealTypeOrganisation
	}
	if spec.certListType == 0 {
		spec.certListType = CertListCerts
	}
	info := sesSealInfo{
		Header: sesHeader{ID: "ES", Version: ESealVersion, Vid: ESealVid},
		ESID:   spec.ESID,
		Property: sesPropertyInfo{
			Type: spec.sealType, Name: spec.Name, CertListType: spec.certListType, CertList: asn1.RawValue{FullBytes: certs},
			CreateDate: sec(spec.Created), ValidStart: sec(spec.Start), ValidEnd: sec(spec.End),
		},
		Picture: sesPictureInfo{
			Type: spec.PictureType, Data: spec.Picture,
			Width: int(math.Round(spec.WidthMM)), Height: int(math.Round(spec.HeightMM)),
		},
		ExtDatas: spec.ExtDatas,
	}
	infoDER, err := asn1.Marshal(info)
	if err != nil {
		return nil, fmt.Errorf("seals: eseal info: %w", err)
	}
	sig, err := spec.MakerSign(infoDER)
	if err != nil {
		return nil, fmt.Errorf("seals: sign eseal: %w", err)
	}
	info.Raw = infoDER
	der, err := asn1.Marshal(sesSeal{
		SealInfo: info, Cert: spec.MakerCert, SignAlgID: spec.SignAlg,
		SignedValue: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("seals: eseal: %w", err)
	}
	return der, nil
}

// newESeal makes the SESeal of an SM2 seal: its certificate as the holder's, its picture (PNG)
// and validity, signed by the SM2 CA as the maker, created at now.
func newESeal(ca *SM2CA, s *Seal, pic *Picture, now time.Time) ([]byte, error) {
	png, err := eSealPNG(pic)
	if err != nil {
		return nil, err
	}
	w, h := pic.SizeMM()
	return makeESeal(eSealSpec{
		ESID: s.ID, Name: s.Name, HolderCert: s.Certificate,
		Created: now, Start: s.ValidFrom, End: s.ValidTo,
		PictureType: "PNG", Picture: png, WidthMM: w, HeightMM: h,
		MakerCert: ca.Cert.Raw, SignAlg: OIDSM2WithSM3,
		MakerSign: func(msg []byte) ([]byte, error) { return SM2.Sign(rand.Reader, ca.Signer, msg) },
	})
}

// eSealPxPerMM is the resolution of a drawn seal's picture in its SESeal: about 200 dpi, 336 pixels
// across a 42 mm seal, as GET /api/v1/seals/{id}/image.png serves it by default.
const eSealPxPerMM = 8

// eSealPNGCompression is the zlib level of that picture.
const eSealPNGCompression = png.DefaultCompression

// eSealPNG returns the picture of a SESeal: an uploaded scan as it was uploaded; a drawing at
// eSealPxPerMM as a paletted PNG of the seal red at 256 opacities. The drawing is one colour, so
// nothing is lost against RGBA, and the file is small: every SES_Signature carries the seal, and
// SM3 hashes it at each signature and verification. A 42 mm seal's SESeal is about 22 KB (at 12
// pixels a millimetre 34 KB; as a level-9 RGBA PNG 74 KB); zlib level 6 writes it in a few
// milliseconds, where level 9 takes about 16 times as long for 6% less.
func eSealPNG(pic *Picture) ([]byte, error) {
	if pic.IsScan() {
		return pic.PNG(0)
	}
	img := pic.raster(eSealPxPerMM)
	pal := make(color.Palette, 256)
	for a := range pal {
		pal[a] = color.NRGBA{R: Red.R, G: Red.G, B: Red.B, A: uint8(a)}
	}
	b := img.Bounds()
	out := image.NewPaletted(b, pal)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.SetColorIndex(x, y, img.RGBAAt(x, y).A) // one colour: the opacity says it all
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: eSealPNGCompression}).Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("seals: eseal picture: %w", err)
	}
	return buf.Bytes(), nil
}

// errStructure is the *certseal.Error of a SESeal or SES_Signature that does not parse.
func errStructure(what string, err error) error {
	return certseal.Errorf(certseal.EInvalid, "%s的数据结构不符合 GB/T 38540：%v", what, err).WithDetail("verdict", SESBadStructure)
}

// ParseESeal returns the SESeal (GB/T 38540 v4) in der. It checks the structure only, not the
// maker's signature (VerifySES does). It returns a *certseal.Error (EInvalid) when der is larger
// than MaxSESBytes, is not one DER SESeal with nothing after it, is not version 4, or holds
// more certificates or extensions than a seal needs.
func ParseESeal(der []byte) (*ESeal, error) {
	if len(der) > MaxSESBytes {
		return nil, certseal.Errorf(certseal.EInvalid, "电子印章数据不能超过 %d MB", MaxSESBytes>>20).WithDetail("verdict", SESBadStructure)
	}
	var s sesSeal
	rest, err := asn1.Unmarshal(der, &s)
	if err != nil {
		return nil, errStructure("电子印章", err)
	}
	if len(rest) != 0 {
		return nil, errStructure("电子印章", fmt.Errorf("%d bytes after the seal", len(rest)))
	}
	return eSealFrom(&s)
}

func eSealFrom(s *sesSeal) (*ESeal, error) {
	in := &s.SealInfo
	p := &in.Property
	switch {
	case in.Header.ID != "ES":
		return nil, errStructure("电子印章", fmt.Errorf("header ID %q, want ES", in.Header.ID))
	case in.Header.Version != ESealVersion:
		return nil, errStructure("电子印章", fmt.Errorf("version %d, want %d", in.Header.Version, ESealVersion))
	case len(in.ESID) > maxSESTextBytes || len(p.Name) > maxSESTextBytes || len(in.Header.Vid) > maxSESTextBytes || len(in.Picture.Type) > maxSESTextBytes:
		return nil, errStructure("电子印章", fmt.Errorf("a text field is too long"))
	case len(in.ExtDatas) > maxSESExtDatas:
		return nil, errStructure("电子印章", fmt.Errorf("%d extensions", len(in.ExtDatas)))
	case s.SignedValue.BitLength%8 != 0:
		return nil, errStructure("电子印章", fmt.Errorf("signature is not whole bytes"))
	}
	e := &ESeal{
		Raw: s.Raw, Version: in.Header.Version, Vid: in.Header.Vid, ESID: in.ESID,
		Type: p.Type, Name: p.Name, CertListType: p.CertListType,
		CreateDate: p.CreateDate, ValidStart: p.ValidStart, ValidEnd: p.ValidEnd,
		PictureType: in.Picture.Type, Picture: in.Picture.Data, WidthMM: in.Picture.Width, HeightMM: in.Picture.Height,
		ExtDatas: in.ExtDatas, MakerCert: s.Cert, SignAlgID: s.SignAlgID, SignedValue: s.SignedValue.Bytes,
		sealInfo: in.Raw,
	}
	if p.CertListType == CertListCerts {
		var certs [][]byte
		rest, err := asn1.Unmarshal(p.CertList.FullBytes, &certs)
		if err != nil || len(rest) != 0 {
			return nil, errStructure("电子印章", fmt.Errorf("certList: %v", err))
		}
		if len(certs) > maxSESCerts {
			return nil, errStructure("电子印章", fmt.Errorf("%d certificates", len(certs)))
		}
		e.Certs = certs
	}
	return e, nil
}

// holds reports whether the seal's certificate list holds cert (DER).
func (e *ESeal) holds(cert []byte) bool {
	for _, c := range e.Certs {
		if bytes.Equal(c, cert) {
			return true
		}
	}
	return false
}
