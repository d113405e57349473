package seals

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// The registry's buckets. Private keys are only ever stored in them as Keyring-sealed bytes.
const (
	BucketMeta    store.Bucket = "seal_meta"    // key-check value, CA certificate and sealed CA key
	BucketSeals   store.Bucket = "seal_seals"   // seal id -> Seal (JSON); its sequence numbers the seals
	BucketKeys    store.Bucket = "seal_keys"    // seal id -> the seal's Keyring-sealed private key
	BucketCodes   store.Bucket = "seal_codes"   // 13-digit seal code -> seal id
	BucketScans   store.Bucket = "seal_scans"   // seal id -> uploaded scan (PNG)
	BucketUses    store.Bucket = "seal_uses"    // seal id 0x00 sequence -> Use (JSON)
	BucketRevoked store.Bucket = "seal_revoked" // seal id -> revocation (certificate serial, time)
)

var (
	keyCheck  = []byte("key_check")
	keyCACert = []byte("ca_cert")
	keyCAKey  = []byte("ca_key")
)

// CAName is the common name of the root CA that the registry creates when it has none.
const CAName = "广元市政务服务电子印章根证书"

// CAValidity is the validity of the root CA that the registry creates.
const CAValidity = 20 * 365 * 24 * time.Hour

// Registry is the seal registry: the seals of the city center and the county bureaus, their
// keys (sealed by a Keyring), the root CA, the seal-use log and validation with the seals'
// status. It is backed by the store; every method that changes something is one transaction,
// and key generation, certificate issuing and signing happen outside transactions. A Registry is
// safe for concurrent use.
type Registry struct {
	db    *store.DB
	keys  *Keyring
	clock certseal.Clock

	createMu sync.Mutex // one Create at a time: see Create

	mu      sync.Mutex
	ca      *CA
	signers map[string]crypto.Signer // opened seal keys by seal id
	pics    map[string]cachedPicture // pictures by seal id
	crl     cachedCRL
	crlGen  uint64 // raised after every revocation or CA change
	sm2ca   *SM2CA
	sm2crl  cachedCRL
	esealOK map[string]verifiedESeal // SESeals whose maker's signature verified, by esID

	// renewHook, when set (tests), runs in Renew between making the new certificate and storing it.
	renewHook func()

	ts tsaState // the built-in TSA and the long-term signing set-up (tsa.go)
}

type cachedPicture struct {
	updated time.Time
	pic     *Picture
}

type cachedCRL struct {
	der []byte
	gen uint64
	at  time.Time
}

// KeyCheckStored reports whether the database already holds a master key-check value, that is,
// whether keys may have been sealed under some master key. A service that finds one must not
// create a new master key. It returns the store's error when the database cannot be read.
func KeyCheckStored(db *store.DB) (bool, error) {
	var ok bool
	err := db.View(func(tx *store.Tx) error {
		ok = tx.Has(BucketMeta, keyCheck)
		return nil
	})
	return ok, err
}

// NewRegistry returns the registry over db whose keys are sealed by keys. It first checks the
// master key: when the database holds a key-check value, keys must match it, and NewRegistry
// returns a *certseal.Error (EForbidden, message ErrWrongMasterKey) otherwise, having written
// nothing; when it holds none (a new database), it stores keys' check value. It returns the
// store's error when the database cannot be read or written.
func NewRegistry(db *store.DB, keys *Keyring, clock certseal.Clock) (*Registry, error) {
	if db == nil || keys == nil {
		return nil, errors.New("seals: NewRegistry needs a database and a keyring")
	}
	if clock == nil {
		clock = certseal.SystemClock{}
	}
	var stored []byte
	if err := db.View(func(tx *store.Tx) error {
		stored = tx.Get(BucketMeta, keyCheck)
		return nil
	}); err != nil {
		return nil, err
	}
	if stored != nil {
		if err := keys.Verify(stored); err != nil {
			return nil, err
		}
	} else {
		// First use: store the check value, unless another process did meanwhile.
		err := db.Update(func(tx *store.Tx) error {
			if cur := tx.Get(BucketMeta, keyCheck); cur != nil {
				return keys.Verify(cur)
			}
			return tx.Put(BucketMeta, keyCheck, keys.CheckValue())
		})
		if err != nil {
			return nil, err
		}
	}
	return &Registry{db: db, keys: keys, clock: clock, signers: map[string]crypto.Signer{}, pics: map[string]cachedPicture{}}, nil
}

// --- the root CA ---

// loadCATx returns the CA stored in the database, or nil when there is none. It returns a
// *certseal.Error when the stored key cannot be opened (wrong master key, damaged data).
func (r *Registry) loadCATx(tx *store.Tx) (*CA, error) {
	der := tx.Get(BucketMeta, keyCACert)
	sealed := tx.Get(BucketMeta, keyCAKey)
	if der == nil || sealed == nil {
		return nil, nil
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "已存储的根证书已损坏")
	}
	key, err := r.keys.Open(sealed)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, certseal.Errorf(certseal.EInvalid, "已存储的根证书与其私钥不匹配")
	}
	return &CA{Cert: cert, Signer: key}, nil
}

func (r *Registry) cachedCA() *CA {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ca
}

func (r *Registry) setCA(ca *CA) {
	r.mu.Lock()
	r.ca = ca
	r.crlGen++
	r.mu.Unlock()
}

// putCATx stores ca (its key sealed) and audits it.
func (r *Registry) putCATx(tx *store.Tx, now time.Time, actor certseal.Actor, ca *CA, sealed []byte, action string) error {
	if err := tx.Put(BucketMeta, keyCACert, ca.Cert.Raw); err != nil {
		return err
	}
	if err := tx.Put(BucketMeta, keyCAKey, sealed); err != nil {
		return err
	}
	return audit.Append(tx, now, actor, action, "ca", map[string]any{
		"subject": ca.Cert.Subject.CommonName, "serial": ca.Cert.SerialNumber.Text(16),
		"not_before": ca.Cert.NotBefore, "not_after": ca.Cert.NotAfter, "sha256": certFingerprint(ca.Cert),
	})
}

func certFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])
}

// Keyring returns the keyring the registry seals its keys with, for other secrets that must not
// be stored in clear (webhook secrets). The keyring never reveals the master key.
func (r *Registry) Keyring() *Keyring { return r.keys }

// CA returns the root CA, loading it from the database, or creating it (a new self-signed
// ECDSA P-256 certificate named CAName, valid for CAValidity) when the database has none. It
// returns a *certseal.Error when the stored key cannot be opened, and the store's error
// otherwise.
func (r *Registry) CA(ctx context.Context) (*CA, error) {
	ca, _, err := r.ensureCA(ctx)
	return ca, err
}

// EnsureCA creates the root CA when the database has none and reports whether it did; it is
// the first-start step of `certseal init`. It returns the errors of CA.
func (r *Registry) EnsureCA(ctx context.Context) (ca *CA, created bool, err error) {
	return r.ensureCA(ctx)
}

func (r *Registry) ensureCA(ctx context.Context) (*CA, bool, error) {
	if ca := r.cachedCA(); ca != nil {
		return ca, false, nil
	}
	var ca *CA
	if err := r.db.View(func(tx *store.Tx) error {
		var err error
		ca, err = r.loadCATx(tx)
		return err
	}); err != nil {
		return nil, false, err
	}
	if ca != nil {
		r.setCA(ca)
		return ca, false, nil
	}
	// Crypto outside the transaction: make the CA, then store it unless another caller won.
	now := r.clock.Now()
	fresh, err := NewCA(CAName, now.Add(-time.Minute), CAValidity)
	if err != nil {
		return nil, false, err
	}
	sealed, err := r.keys.Seal(fresh.Signer)
	if err != nil {
		return nil, false, err
	}
	created := false
	err = r.db.Update(func(tx *store.Tx) error {
		existing, err := r.loadCATx(tx)
		if err != nil {
			return err
		}
		if existing != nil {
			ca, created = existing, false
			return nil
		}
		ca, created = fresh, true
		return r.putCATx(tx, now, certseal.System, fresh, sealed, "ca.create")
	})
	if err != nil {
		return nil, false, err
	}
	r.setCA(ca)
	return ca, created, nil
}

// caTx returns the CA inside tx, creating and storing it when there is none. It does crypto
// inside the transaction and is only for demo data (CreateTx). The CA is cached after commit.
func (r *Registry) caTx(tx *store.Tx, now time.Time) (*CA, error) {
	if ca := r.cachedCA(); ca != nil {
		return ca, nil
	}
	ca, err := r.loadCATx(tx)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		ca, err = NewCA(CAName, now.Add(-time.Minute), CAValidity)
		if err != nil {
			return nil, err
		}
		sealed, err := r.keys.Seal(ca.Signer)
		if err != nil {
			return nil, err
		}
		if err := r.putCATx(tx, now, certseal.System, ca, sealed, "ca.create"); err != nil {
			return nil, err
		}
	}
	tx.OnCommit(func() { r.setCA(ca) })
	return ca, nil
}

// ImportCA replaces the registry's root CA by the one given in PEM (see CAFromPEM). It is
// refused while seals issued by the current CA exist. It returns a *certseal.Error: EForbidden
// for an actor who is not an administrator, EInvalid for a certificate or key that does not
// parse or match, EConflict when seals exist; and the store's error otherwise.
func (r *Registry) ImportCA(ctx context.Context, actor certseal.Actor, certPEM, keyPEM []byte) error {
	ca, err := CAFromPEM(certPEM, keyPEM)
	if err != nil {
		return err
	}
	return r.importCA(actor, ca)
}

// ImportCAPKCS12 is ImportCA for a PKCS#12 file protected by password (see CAFromPKCS12).
func (r *Registry) ImportCAPKCS12(ctx context.Context, actor certseal.Actor, data []byte, password string) error {
	ca, err := CAFromPKCS12(data, password)
	if err != nil {
		return err
	}
	return r.importCA(actor, ca)
}

func (r *Registry) importCA(actor certseal.Actor, ca *CA) error {
	if actor.Role != certseal.RoleAdmin {
		return certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员可以导入根证书")
	}
	sealed, err := r.keys.Seal(ca.Signer)
	if err != nil {
		return err
	}
	now := r.clock.Now()
	err = r.db.Update(func(tx *store.Tx) error {
		if tx.Count(BucketSeals) > 0 {
			return certseal.Errorf(certseal.EConflict, "已有印章由当前根证书签发，不能更换根证书")
		}
		return r.putCATx(tx, now, actor, ca, sealed, "ca.import")
	})
	if err != nil {
		return err
	}
	r.setCA(ca)
	return nil
}

// CRL returns the certificate revocation list of the revoked ECDSA seals' certificates (SM2
// seals are on SM2CRL), DER encoded
// and signed by the CA, valid for a day. Lists are cached for up to an hour and remade at once
// after a revocation. It returns the errors of CA and of signing.
func (r *Registry) CRL(ctx context.Context) ([]byte, error) {
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	c, gen := r.crl, r.crlGen
	r.mu.Unlock()
	if c.der != nil && c.gen == gen && now.Sub(c.at) < time.Hour && !now.Before(c.at) {
		return c.der, nil
	}
	revoked, err := r.revokedOf(AlgECDSAP256)
	if err != nil {
		return nil, err
	}
	der, err := ca.CRL(revoked, now, now.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.crlGen == gen {
		r.crl = cachedCRL{der: der, gen: gen, at: now}
	}
	r.mu.Unlock()
	return der, nil
}

// revocation is the value of BucketRevoked.
type revocation struct {
	Serial string `json:"serial"` // hexadecimal
	// Earlier are the serials of the seal's certificates before its renewals: revoked with it.
	Earlier []string  `json:"earlier,omitempty"`
	At      time.Time `json:"at"`
}

// covers reports whether the revocation revokes the certificate with the serial (hexadecimal).
func (rv *revocation) covers(serial string) bool {
	if strings.EqualFold(rv.Serial, serial) {
		return true
	}
	for _, e := range rv.Earlier {
		if strings.EqualFold(e, serial) {
			return true
		}
	}
	return false
}

// roots returns a pool holding the CA certificate.
func (r *Registry) roots(ctx context.Context) (*x509.CertPool, *CA, error) {
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, nil, err
	}
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	for _, c := range r.tsaRoots() { // an external TSA's CA, trusted for timestamps
		p.AddCert(c)
	}
	return p, ca, nil
}
