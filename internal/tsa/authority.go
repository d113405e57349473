package tsa

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"certseal"
)

// PolicyOID is the TSA policy of certseal's built-in authority: 2.25 is the UUID arc of
// ITU-T X.667, so the number is certseal's own without registration. The policy it names: the
// time is the server's system clock (kept by NTP on the city's intranet; the token's accuracy
// says ±1 s), each token has a serial number larger than every earlier one, and the key is the
// city center's, certified by its root CA with the critical extended key usage
// id-kp-timeStamping.
const PolicyOID = "2.25.329800735698586629295641978511506172918"

// policyDER is PolicyOID encoded (encoding/asn1's ObjectIdentifier holds only int arcs).
var policyDER = mustOID(PolicyOID)

// Authority answers time-stamp requests (RFC 3161) with tokens signed by its key.
type Authority struct {
	Signer crypto.Signer       // the TSA key (ECDSA P-256)
	Cert   *x509.Certificate   // its certificate, with the critical EKU id-kp-timeStamping
	Chain  []*x509.Certificate // the CA certificate(s), included in every token
	Policy string              // dotted; "" is PolicyOID
	// Accuracy of the clock, written in every token.
	Accuracy Accuracy
	// Now is the clock; NextSerial returns a serial number larger than every earlier one
	// (persisted, so that a restart never repeats one).
	Now        func() time.Time
	NextSerial func() (*big.Int, error)
}

// errBadRequest marks a request the authority refuses (a rejection response, not an error).
var errBadRequest = errors.New("tsa: bad request")

// Respond returns the DER TimeStampResp answering the DER request req: a token when the
// request is good, a rejection (status 2 with failInfo badAlg or badDataFormat) when it is not.
// It returns an error only when the authority cannot sign or number a token.
func (a *Authority) Respond(req []byte) ([]byte, error) {
	r, err := ParseRequest(req)
	if err != nil {
		return rejection(5, "request does not decode") // badDataFormat
	}
	h, err := imprintHash(r.MessageImprint.HashAlgorithm.Algorithm)
	if err != nil || len(r.MessageImprint.HashedMessage) != h.Size {
		return rejection(0, "unsupported hash algorithm or wrong digest length") // badAlg
	}
	if len(r.ReqPolicy.FullBytes) > 0 && !bytes.Equal(r.ReqPolicy.FullBytes, a.policy()) {
		return rejection(15, "unaccepted policy") // unacceptedPolicy
	}
	token, err := a.Stamp(h, r.MessageImprint.HashedMessage, r.Nonce)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(response{Status: statusInfo{Status: StatusGranted}, Token: asn1.RawValue{FullBytes: token}})
}

func (a *Authority) policy() []byte {
	if a.Policy != "" {
		if der, err := EncodeOID(a.Policy); err == nil {
			return der
		}
	}
	return policyDER
}

func imprintHash(oid asn1.ObjectIdentifier) (Hash, error) {
	switch {
	case oid.Equal(oidSHA256):
		return SHA256, nil
	case oid.Equal(oidSM3):
		return SM3, nil
	case oid.Equal(oidSHA384):
		return Hash{OID: oidSHA384, Size: 48}, nil
	case oid.Equal(oidSHA512):
		return Hash{OID: oidSHA512, Size: 64}, nil
	}
	return Hash{}, errBadRequest
}

func rejection(bit int, text string) ([]byte, error) {
	fi := asn1.BitString{Bytes: make([]byte, bit/8+1), BitLength: bit + 1}
	fi.Bytes[bit/8] |= 0x80 >> (bit % 8)
	return asn1.Marshal(response{Status: statusInfo{Status: StatusRejection, StatusString: []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(text)}}, FailInfo: fi}})
}

type signingCertificateV2 struct {
	Certs []struct {
		CertHash []byte
	}
}

// Stamp returns a token over digest (of hash h), with nonce when not nil. It returns an error
// when numbering or signing fails.
func (a *Authority) Stamp(h Hash, digest []byte, nonce *big.Int) ([]byte, error) {
	if a.Signer == nil || a.Cert == nil || a.Now == nil || a.NextSerial == nil {
		return nil, errors.New("tsa: authority is not set up")
	}
	serial, err := a.NextSerial()
	if err != nil {
		return nil, fmt.Errorf("tsa: serial number: %w", err)
	}
	tst, err := asn1.Marshal(TSTInfo{
		Version: 1, Policy: asn1.RawValue{FullBytes: a.policy()},
		MessageImprint: MessageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: h.OID}, HashedMessage: digest},
		SerialNumber:   serial, GenTime: a.Now().UTC().Truncate(time.Second), Accuracy: a.Accuracy, Nonce: nonce,
	})
	if err != nil {
		return nil, fmt.Errorf("tsa: encode TSTInfo: %w", err)
	}
	md := sha256.Sum256(tst)
	ch := sha256.Sum256(a.Cert.Raw)
	var scv2 signingCertificateV2
	scv2.Certs = append(scv2.Certs, struct{ CertHash []byte }{ch[:]})
	var attrs [][]byte
	for _, at := range []struct {
		oid asn1.ObjectIdentifier
		v   any
	}{{oidAttrContentType, OIDTSTInfo}, {oidAttrMessageDigest, md[:]}, {oidAttrSigningCertV2, scv2}} {
		v, err := asn1.Marshal(at.v)
		if err != nil {
			return nil, err
		}
		set, err := setOf([][]byte{v}, 0x31)
		if err != nil {
			return nil, err
		}
		e, err := asn1.Marshal(attribute{Type: at.oid, Values: asn1.RawValue{FullBytes: set}})
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, e)
	}
	signed, err := setOf(attrs, 0x31)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(signed)
	sig, err := a.Signer.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("tsa: sign: %w", err)
	}
	if _, ok := a.Signer.Public().(*ecdsa.PublicKey); !ok {
		return nil, errors.New("tsa: the built-in authority signs with ECDSA only")
	}
	implicit := bytes.Clone(signed)
	implicit[0] = 0xA0
	certs := [][]byte{a.Cert.Raw}
	for _, c := range a.Chain {
		if c != nil && !bytes.Equal(c.Raw, a.Cert.Raw) {
			certs = append(certs, c.Raw)
		}
	}
	certSet, err := setOf(certs, 0xA0)
	if err != nil {
		return nil, err
	}
	sha := pkix.AlgorithmIdentifier{Algorithm: oidSHA256}
	digestAlgs, err := asn1.Marshal(sha)
	if err != nil {
		return nil, err
	}
	digestSet, err := setOf([][]byte{digestAlgs}, 0x31)
	if err != nil {
		return nil, err
	}
	octets, err := asn1.Marshal(tst)
	if err != nil {
		return nil, err
	}
	sd := struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		EncapContentInfo encapContent
		Certificates     asn1.RawValue
		SignerInfos      []signerInfo `asn1:"set"`
	}{
		Version:          3,
		DigestAlgorithms: asn1.RawValue{FullBytes: digestSet},
		EncapContentInfo: encapContent{EContentType: OIDTSTInfo, EContent: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: octets}},
		Certificates:     asn1.RawValue{FullBytes: certSet},
		SignerInfos: []signerInfo{{
			Version:            1,
			Sid:                issuerAndSerial{Issuer: asn1.RawValue{FullBytes: a.Cert.RawIssuer}, Serial: a.Cert.SerialNumber},
			DigestAlgorithm:    sha,
			SignedAttrs:        asn1.RawValue{FullBytes: implicit},
			SignatureAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidECDSAWithSHA256},
			Signature:          sig,
		}},
	}
	inner, err := asn1.Marshal(sd)
	if err != nil {
		return nil, fmt.Errorf("tsa: encode SignedData: %w", err)
	}
	return asn1.Marshal(contentInfo{ContentType: OIDSignedData, Content: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner}})
}

// setOf wraps DER elements, sorted as DER requires, under the tag byte (0x31 SET, 0xA0 [0]).
func setOf(elems [][]byte, tag byte) ([]byte, error) {
	sort.Slice(elems, func(i, j int) bool { return bytes.Compare(elems[i], elems[j]) < 0 })
	rv := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(elems, nil)}
	if tag == 0xA0 {
		rv.Class, rv.Tag = asn1.ClassContextSpecific, 0
	}
	return asn1.Marshal(rv)
}

func mustOID(s string) []byte {
	der, err := EncodeOID(s)
	if err != nil {
		panic(err)
	}
	return der
}

// EncodeOID returns the DER of the dotted object identifier s, whose arcs may be of any size
// (2.25 UUID arcs are 128-bit). It returns an error for a malformed identifier.
func EncodeOID(s string) ([]byte, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, fmt.Errorf("tsa: object identifier %q", s)
	}
	arcs := make([]*big.Int, len(parts))
	for i, p := range parts {
		n, ok := new(big.Int).SetString(p, 10)
		if !ok || n.Sign() < 0 || len(p) > 40 {
			return nil, fmt.Errorf("tsa: object identifier %q", s)
		}
		arcs[i] = n
	}
	if arcs[0].Cmp(big.NewInt(2)) > 0 || (arcs[0].Cmp(big.NewInt(2)) < 0 && arcs[1].Cmp(big.NewInt(39)) > 0) {
		return nil, fmt.Errorf("tsa: object identifier %q", s)
	}
	first := new(big.Int).Mul(arcs[0], big.NewInt(40))
	first.Add(first, arcs[1])
	var body []byte
	for _, a := range append([]*big.Int{first}, arcs[2:]...) {
		var enc []byte
		n := new(big.Int).Set(a)
		for {
			enc = append([]byte{byte(new(big.Int).And(n, big.NewInt(0x7f)).Int64())}, enc...)
			n.Rsh(n, 7)
			if n.Sign() == 0 {
				break
			}
		}
		for i := 0; i < len(enc)-1; i++ {
			enc[i] |= 0x80
		}
		body = append(body, enc...)
	}
	return asn1.Marshal(asn1.RawValue{Tag: asn1.TagOID, Bytes: body})
}

// OIDString returns the dotted form of a DER object identifier, or "" when der is not one.
func OIDString(der []byte) string {
	var rv asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &rv); err != nil || len(rest) != 0 || rv.Tag != asn1.TagOID || rv.Class != asn1.ClassUniversal || len(rv.Bytes) == 0 || len(rv.Bytes) > 128 {
		return ""
	}
	var arcs []*big.Int
	n := new(big.Int)
	for i, b := range rv.Bytes {
		n.Lsh(n, 7)
		n.Or(n, big.NewInt(int64(b&0x7f)))
		if b&0x80 == 0 {
			arcs = append(arcs, n)
			n = new(big.Int)
		} else if i == len(rv.Bytes)-1 {
			return ""
		}
	}
	first := arcs[0]
	var out []string
	switch {
	case first.Cmp(big.NewInt(40)) < 0:
		out = []string{"0", first.String()}
	case first.Cmp(big.NewInt(80)) < 0:
		out = []string{"1", new(big.Int).Sub(first, big.NewInt(40)).String()}
	default:
		out = []string{"2", new(big.Int).Sub(first, big.NewInt(80)).String()}
	}
	for _, a := range arcs[1:] {
		out = append(out, a.String())
	}
	return strings.Join(out, ".")
}

// Unavailable returns the error of a timestamp that could not be had: a *certseal.Error with
// code EUnavailable and the message every caller shows (时间戳服务不可用……), the cause in its
// detail; errors.Is and errors.As reach the cause too.
func Unavailable(cause error) error {
	return errors.Join(certseal.Errorf(certseal.EUnavailable, "时间戳服务不可用，证照未签发，请稍后重试或联系管理员").WithDetail("reason", cause.Error()), cause)
}

// Name returns the authority's name (its certificate's common name).
func (a *Authority) Name() string {
	if a.Cert == nil {
		return ""
	}
	return a.Cert.Subject.CommonName
}

// Timestamp returns a token over digest (of hash h) from the authority itself, in process. Its
// errors are Unavailable's.
func (a *Authority) Timestamp(ctx context.Context, h Hash, digest []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, Unavailable(err)
	}
	if len(digest) != h.Size {
		return nil, Unavailable(fmt.Errorf("digest of %d bytes", len(digest)))
	}
	tok, err := a.Stamp(h, digest, nil)
	if err != nil {
		return nil, Unavailable(err)
	}
	return tok, nil
}

// Stamper is what gets timestamps: an *Authority in process, or a client of a TSA.
type Stamper interface {
	Timestamp(ctx context.Context, h Hash, digest []byte) ([]byte, error)
	Name() string
}

// Monitor is a Stamper that remembers how the last request went, for /readyz.
type Monitor struct {
	Stamper Stamper
	Mode    string // "builtin" or "url"

	mu      sync.Mutex
	lastOK  time.Time
	lastErr string
	errAt   time.Time
}

// Timestamp is the Stamper's, recording the outcome.
func (m *Monitor) Timestamp(ctx context.Context, h Hash, digest []byte) ([]byte, error) {
	tok, err := m.Stamper.Timestamp(ctx, h, digest)
	m.mu.Lock()
	if err != nil {
		m.lastErr, m.errAt = certseal.ErrorMessage(err), time.Now()
		var ce *certseal.Error
		if errors.As(err, &ce) && ce.Detail != nil {
			if r, ok := ce.Detail["reason"]; ok {
				m.lastErr = fmt.Sprint(r)
			}
		}
	} else {
		m.lastOK = time.Now()
	}
	m.mu.Unlock()
	return tok, err
}

// Name is the Stamper's.
func (m *Monitor) Name() string { return m.Stamper.Name() }

// Report returns what /readyz shows: the mode, the name, and the times of the last success and
// the last failure (with its reason) when there were any.
func (m *Monitor) Report() map[string]any {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := map[string]any{"mode": m.Mode, "name": m.Stamper.Name()}
	if !m.lastOK.IsZero() {
		r["last_ok"] = m.lastOK.UTC().Format(time.RFC3339)
	}
	if m.lastErr != "" {
		r["last_error"], r["last_error_at"] = m.lastErr, m.errAt.UTC().Format(time.RFC3339)
	}
	return r
}
