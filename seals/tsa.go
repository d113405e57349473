package seals

// The city center's built-in time-stamp authority (RFC 3161): its key sealed under the master
// key beside the CA's, its certificate issued by the city CA with the critical extended key
// usage id-kp-timeStamping, and a serial number that only grows, persisted in the store in
// blocks so that a token does not cost a write.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
	"certseal/internal/tsa"
)

// BucketTSA holds the built-in TSA: its certificate, its sealed key and the serial numbers
// handed out so far.
const BucketTSA store.Bucket = "seal_tsa"

var (
	keyTSACert   = []byte("tsa_cert")
	keyTSAKey    = []byte("tsa_key")
	keyTSASerial = []byte("serial_reserved") // big-endian uint64: every serial up to it may be used
)

// TSAName is the common name of the built-in TSA's certificate.
const TSAName = "广元市政务服务时间戳服务"

// TSAValidity is the validity of the built-in TSA's certificate; a new one is issued when less
// than TSARenewBefore is left.
const (
	TSAValidity    = 5 * 365 * 24 * time.Hour
	TSARenewBefore = 180 * 24 * time.Hour
)

// serialBlock is how many serial numbers one store write reserves.
const serialBlock = 1000

var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// IssueTSA returns a certificate for a time-stamping key pub, signed by the CA and valid from
// notBefore to notAfter (cut to the CA's own validity): subject CN name, key usage
// digitalSignature and contentCommitment, and the extended key usage id-kp-timeStamping alone,
// marked critical as RFC 3161 §2.3 requires. It returns a *certseal.Error (EInvalid) for an
// empty name or validity, and an error when signing fails.
func (ca *CA) IssueTSA(name string, pub any, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if strings.TrimSpace(name) == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "时间戳服务证书需要名称")
	}
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	if notBefore.Before(ca.Cert.NotBefore) {
		notBefore = ca.Cert.NotBefore
	}
	if !notAfter.After(notBefore) {
		return nil, certseal.Errorf(certseal.EInvalid, "时间戳服务证书的有效期为空")
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{tsa.OIDTimeStamping})
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:    serial,
		Subject:         pkix.Name{CommonName: name, Organization: ca.Cert.Subject.Organization, Country: []string{"CN"}},
		NotBefore:       notBefore.UTC(),
		NotAfter:        notAfter.UTC(),
		KeyUsage:        x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Signer)
	if err != nil {
		return nil, fmt.Errorf("seals: create TSA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// tsaState is the registry's time-stamping: the built-in authority once opened, the serials
// reserved, and the long-term signing set-up (SetLongTerm).
type tsaState struct {
	mu         sync.Mutex
	authority  *tsa.Authority
	serialNext uint64 // the next serial to hand out; 0: reserve first
	serialEnd  uint64 // the last serial reserved

	level Level
	stamp Timestamper
	roots []*x509.Certificate
}

// SetLongTerm makes every Signing that SignerFor returns ask for level (B-T and up need ts)
// and adds roots, the CA certificates of an external TSA, to the roots validation trusts for
// timestamps. A zero level signs plain signatures with signingTime, as before.
func (r *Registry) SetLongTerm(level Level, ts Timestamper, roots []*x509.Certificate) {
	r.ts.mu.Lock()
	defer r.ts.mu.Unlock()
	r.ts.level, r.ts.stamp, r.ts.roots = level, ts, roots
}

// LongTermSetting returns the level and the TSA SetLongTerm set (nil TSA: none).
func (r *Registry) LongTermSetting() (Level, Timestamper) {
	r.ts.mu.Lock()
	defer r.ts.mu.Unlock()
	return r.ts.level, r.ts.stamp
}

// longTerm returns the LongTerm of a signing now: the level, the TSA, and the CA's current
// CRL for the DSS. It returns nil when no level is set.
func (r *Registry) longTerm(ctx context.Context) (*LongTerm, error) {
	level, ts := r.LongTermSetting()
	if level == "" {
		return nil, nil
	}
	lt := &LongTerm{Level: level, TSA: ts}
	if level.rank() >= LevelBLT.rank() {
		crl, err := r.CRL(ctx)
		if err != nil {
			return nil, err
		}
		lt.CRLs = [][]byte{crl}
		r.ts.mu.Lock()
		lt.Certs = append(lt.Certs, r.ts.roots...)
		r.ts.mu.Unlock()
	}
	return lt, nil
}

// tsaRoots returns the extra roots trusted for timestamps.
func (r *Registry) tsaRoots() []*x509.Certificate {
	r.ts.mu.Lock()
	defer r.ts.mu.Unlock()
	return r.ts.roots
}

// BuiltinTSA returns the city center's own time-stamp authority, opening its key, or making
// the key and a certificate from the CA (TSAName, valid for TSAValidity) when the database has
// none or the certificate has less than TSARenewBefore left; the creation is audited. It
// returns the errors of CA, of the Keyring and of the store.
func (r *Registry) BuiltinTSA(ctx context.Context) (*tsa.Authority, error) {
	now := r.clock.Now()
	r.ts.mu.Lock()
	a := r.ts.authority
	r.ts.mu.Unlock()
	if a != nil && now.Before(a.Cert.NotAfter.Add(-TSARenewBefore)) {
		return a, nil
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, err
	}
	var cert *x509.Certificate
	var sealed []byte
	if err := r.db.View(func(tx *store.Tx) error {
		if der := tx.Get(BucketTSA, keyTSACert); der != nil {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return certseal.Errorf(certseal.EInvalid, "已存储的时间戳服务证书已损坏")
			}
			cert, sealed = c, tx.Get(BucketTSA, keyTSAKey)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var key = (*ecdsa.PrivateKey)(nil)
	if cert != nil && sealed != nil && now.Before(cert.NotAfter.Add(-TSARenewBefore)) && cert.CheckSignatureFrom(ca.Cert) == nil {
		k, err := r.keys.Open(sealed)
		if err != nil {
			return nil, err
		}
		a = r.authority(k, cert, ca)
	} else {
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("seals: generate TSA key: %w", err)
		}
		if cert, err = ca.IssueTSA(TSAName, key.Public(), now.Add(-time.Minute), now.Add(TSAValidity)); err != nil {
			return nil, err
		}
		if sealed, err = r.keys.Seal(key); err != nil {
			return nil, err
		}
		if err := r.db.Update(func(tx *store.Tx) error {
			if err := tx.Put(BucketTSA, keyTSACert, cert.Raw); err != nil {
				return err
			}
			if err := tx.Put(BucketTSA, keyTSAKey, sealed); err != nil {
				return err
			}
			return audit.Append(tx, now, certseal.System, "tsa.create", "tsa", map[string]any{
				"subject": cert.Subject.CommonName, "serial": cert.SerialNumber.Text(16), "not_before": cert.NotBefore, "not_after": cert.NotAfter,
				"sha256": certFingerprint(cert), "policy": tsa.PolicyOID})
		}); err != nil {
			return nil, err
		}
		a = r.authority(key, cert, ca)
	}
	r.ts.mu.Lock()
	r.ts.authority = a
	r.ts.mu.Unlock()
	return a, nil
}

func (r *Registry) authority(key Signer, cert *x509.Certificate, ca *CA) *tsa.Authority {
	return &tsa.Authority{Signer: key, Cert: cert, Chain: []*x509.Certificate{ca.Cert}, Policy: tsa.PolicyOID,
		Accuracy: tsa.Accuracy{Seconds: 1}, Now: r.clock.Now, NextSerial: r.nextTSASerial}
}

// nextTSASerial returns the next serial number of the built-in TSA: larger than every one
// handed out before, in this process or an earlier one (a block of serialBlock is reserved in
// the store at a time; a restart skips what was left of the block).
func (r *Registry) nextTSASerial() (*big.Int, error) {
	r.ts.mu.Lock()
	defer r.ts.mu.Unlock()
	if r.ts.serialNext == 0 || r.ts.serialNext > r.ts.serialEnd {
		var from uint64
		err := r.db.Update(func(tx *store.Tx) error {
			var done uint64
			if b := tx.Get(BucketTSA, keyTSASerial); len(b) == 8 {
				done = binary.BigEndian.Uint64(b)
			}
			from = done + 1
			return tx.Put(BucketTSA, keyTSASerial, binary.BigEndian.AppendUint64(nil, done+serialBlock))
		})
		if err != nil {
			return nil, err
		}
		r.ts.serialNext, r.ts.serialEnd = from, from+serialBlock-1
	}
	n := r.ts.serialNext
	r.ts.serialNext++
	return new(big.Int).SetUint64(n), nil
}

// BuiltinTimestamper returns the built-in authority as a Timestamper, in process (no network
// round trip): each request goes to the current authority (BuiltinTSA), so a renewed TSA
// certificate is picked up. Its errors are tsa.Unavailable's.
func (r *Registry) BuiltinTimestamper() Timestamper { return builtinStamper{r} }

type builtinStamper struct{ r *Registry }

func (b builtinStamper) Timestamp(ctx context.Context, h tsa.Hash, digest []byte) ([]byte, error) {
	a, err := b.r.BuiltinTSA(ctx)
	if err != nil {
		return nil, tsa.Unavailable(err)
	}
	return a.Timestamp(ctx, h, digest)
}

func (b builtinStamper) Name() string { return TSAName }
