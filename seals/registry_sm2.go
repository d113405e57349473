package seals

import (
	"context"
	"crypto/x509"
	"math/big"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"

	"github.com/emmansun/gmsm/smx509"
)

// BucketESeals holds the SESeal (GB/T 38540, DER) of every SM2 seal, by seal id.
const BucketESeals store.Bucket = "seal_eseals"

var (
	keySM2CACert = []byte("sm2_ca_cert")
	keySM2CAKey  = []byte("sm2_ca_key")
)

// loadSM2CATx returns the SM2 CA stored in the database, or nil when there is none. It returns
// a *certseal.Error when the stored key cannot be opened (wrong master key, damaged data).
func (r *Registry) loadSM2CATx(tx *store.Tx) (*SM2CA, error) {
	der := tx.Get(BucketMeta, keySM2CACert)
	sealed := tx.Get(BucketMeta, keySM2CAKey)
	if der == nil || sealed == nil {
		return nil, nil
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return nil, certseal.Errorf(certseal.EInvalid, "已存储的 SM2 根证书已损坏")
	}
	key, err := r.keys.Open(sealed)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, certseal.Errorf(certseal.EInvalid, "已存储的 SM2 根证书与其私钥不匹配")
	}
	return &SM2CA{Cert: cert, Signer: key}, nil
}

func (r *Registry) cachedSM2CA() *SM2CA {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sm2ca
}

func (r *Registry) setSM2CA(ca *SM2CA) {
	r.mu.Lock()
	r.sm2ca = ca
	r.crlGen++
	r.mu.Unlock()
}

// putSM2CATx stores ca (its key sealed) and audits it.
func (r *Registry) putSM2CATx(tx *store.Tx, now time.Time, actor certseal.Actor, ca *SM2CA, sealed []byte, action string) error {
	if err := tx.Put(BucketMeta, keySM2CACert, ca.Cert.Raw); err != nil {
		return err
	}
	if err := tx.Put(BucketMeta, keySM2CAKey, sealed); err != nil {
		return err
	}
	return audit.Append(tx, now, actor, action, "sm2_ca", map[string]any{
		"subject": ca.Cert.Subject.CommonName, "serial": ca.Cert.SerialNumber.Text(16), "algorithm": AlgSM2,
		"not_before": ca.Cert.NotBefore, "not_after": ca.Cert.NotAfter, "sha256": certFingerprint(ca.X509()),
	})
}

// SM2CA returns the SM2 root CA, loading it from the database, or creating it (a new
// self-signed SM2-with-SM3 certificate named SM2CAName, valid for CAValidity; audited as
// sm2_ca.create) when the database has none. It returns a *certseal.Error when the stored key
// cannot be opened, and the store's error otherwise.
func (r *Registry) SM2CA(ctx context.Context) (*SM2CA, error) {
	ca, _, err := r.EnsureSM2CA(ctx)
	return ca, err
}

// EnsureSM2CA creates the SM2 root CA when the database has none and reports whether it did;
// `certseal init` runs it beside EnsureCA. It returns the errors of SM2CA.
func (r *Registry) EnsureSM2CA(ctx context.Context) (ca *SM2CA, created bool, err error) {
	if ca := r.cachedSM2CA(); ca != nil {
		return ca, false, nil
	}
	if err := r.db.View(func(tx *store.Tx) error {
		var err error
		ca, err = r.loadSM2CATx(tx)
		return err
	}); err != nil {
		return nil, false, err
	}
	if ca != nil {
		r.setSM2CA(ca)
		return ca, false, nil
	}
	now := r.clock.Now()
	fresh, err := NewSM2CA(SM2CAName, now.Add(-time.Minute), CAValidity)
	if err != nil {
		return nil, false, err
	}
	sealed, err := r.keys.Seal(fresh.Signer)
	if err != nil {
		return nil, false, err
	}
	err = r.db.Update(func(tx *store.Tx) error {
		existing, err := r.loadSM2CATx(tx)
		if err != nil {
			return err
		}
		if existing != nil {
			ca, created = existing, false
			return nil
		}
		ca, created = fresh, true
		return r.putSM2CATx(tx, now, certseal.System, fresh, sealed, "sm2_ca.create")
	})
	if err != nil {
		return nil, false, err
	}
	r.setSM2CA(ca)
	return ca, created, nil
}

// sm2CATx returns the SM2 CA inside tx, creating and storing it when there is none. Like caTx it
// does crypto inside the transaction and is only for demo data (CreateTx).
func (r *Registry) sm2CATx(tx *store.Tx, now time.Time) (*SM2CA, error) {
	if ca := r.cachedSM2CA(); ca != nil {
		return ca, nil
	}
	ca, err := r.loadSM2CATx(tx)
	if err != nil {
		return nil, err
	}
	if ca == nil {
		if ca, err = NewSM2CA(SM2CAName, now.Add(-time.Minute), CAValidity); err != nil {
			return nil, err
		}
		sealed, err := r.keys.Seal(ca.Signer)
		if err != nil {
			return nil, err
		}
		if err := r.putSM2CATx(tx, now, certseal.System, ca, sealed, "sm2_ca.create"); err != nil {
			return nil, err
		}
	}
	tx.OnCommit(func() { r.setSM2CA(ca) })
	return ca, nil
}

// ImportSM2CA replaces the registry's SM2 root CA by the one given in PEM (see SM2CAFromPEM);
// audited as sm2_ca.import. It is refused while SM2 seals exist. It returns a *certseal.Error:
// EForbidden for an actor who is not an administrator, EInvalid for a certificate or key that
// does not parse or match, EConflict when SM2 seals exist; and the store's error otherwise.
func (r *Registry) ImportSM2CA(ctx context.Context, actor certseal.Actor, certPEM, keyPEM []byte) error {
	if actor.Role != certseal.RoleAdmin {
		return certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员可以导入根证书")
	}
	ca, err := SM2CAFromPEM(certPEM, keyPEM)
	if err != nil {
		return err
	}
	sealed, err := r.keys.Seal(ca.Signer)
	if err != nil {
		return err
	}
	now := r.clock.Now()
	err = r.db.Update(func(tx *store.Tx) error {
		if tx.Count(BucketESeals) > 0 {
			return certseal.Errorf(certseal.EConflict, "已有 SM2 印章由当前 SM2 根证书签发，不能更换 SM2 根证书")
		}
		return r.putSM2CATx(tx, now, actor, ca, sealed, "sm2_ca.import")
	})
	if err != nil {
		return err
	}
	r.setSM2CA(ca)
	return nil
}

// SM2CRL returns the revocation list of the revoked SM2 seals' certificates, DER encoded and
// signed by the SM2 CA with SM2-with-SM3, valid for a day; cached like CRL. It returns the
// errors of SM2CA and of signing.
func (r *Registry) SM2CRL(ctx context.Context) ([]byte, error) {
	ca, err := r.SM2CA(ctx)
	if err != nil {
		return nil, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	c, gen := r.sm2crl, r.crlGen
	r.mu.Unlock()
	if c.der != nil && c.gen == gen && now.Sub(c.at) < time.Hour && !now.Before(c.at) {
		return c.der, nil
	}
	revoked, err := r.revokedOf(AlgSM2)
	if err != nil {
		return nil, err
	}
	der, err := ca.CRL(revoked, now, now.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.crlGen == gen {
		r.sm2crl = cachedCRL{der: der, gen: gen, at: now}
	}
	r.mu.Unlock()
	return der, nil
}

// revokedOf returns the revoked certificates of the seals of algorithm alg: every certificate
// a revoked seal has had (its earlier ones, before renewals, too).
func (r *Registry) revokedOf(alg string) ([]Revoked, error) {
	var out []Revoked
	err := r.db.View(func(tx *store.Tx) error {
		return tx.Scan(BucketRevoked, nil, nil, func(k, v []byte) error {
			var rv revocation
			if err := jsonUnmarshal(v, &rv); err != nil {
				return err
			}
			s, err := getTx(tx, string(k))
			if err != nil || s.Algorithm != alg {
				return nil
			}
			for _, hex := range append([]string{rv.Serial}, rv.Earlier...) {
				serial, ok := new(big.Int).SetString(hex, 16)
				if !ok {
					return certseal.Errorf(certseal.EInvalid, "吊销记录中的证书序列号已损坏")
				}
				out = append(out, Revoked{Serial: serial, At: rv.At, Reason: 0})
			}
			return nil
		})
	})
	return out, err
}

// ESeal returns the SESeal (GB/T 38540 v4, DER) of the SM2 seal id and the seal. It returns a
// *certseal.Error: ENotFound for an unknown seal or a seal that is not an SM2 seal.
func (r *Registry) ESeal(ctx context.Context, id string) ([]byte, Seal, error) {
	var der []byte
	var s Seal
	err := r.db.View(func(tx *store.Tx) error {
		var err error
		if s, err = getTx(tx, id); err != nil {
			return err
		}
		der = append([]byte(nil), tx.Get(BucketESeals, []byte(s.ID))...)
		return nil
	})
	if err != nil {
		return nil, s, err
	}
	if len(der) == 0 {
		return nil, s, certseal.Errorf(certseal.ENotFound, "印章 %s 不是 SM2 国密印章，没有 GB/T 38540 电子印章数据", s.ID)
	}
	return der, s, nil
}

// sealChain returns the CA chain of a seal of algorithm alg.
func (r *Registry) sealChain(ctx context.Context, alg string) ([]*x509.Certificate, error) {
	if alg == AlgSM2 {
		ca, err := r.SM2CA(ctx)
		if err != nil {
			return nil, err
		}
		return []*x509.Certificate{ca.X509()}, nil
	}
	ca, err := r.CA(ctx)
	if err != nil {
		return nil, err
	}
	return []*x509.Certificate{ca.Cert}, nil
}
