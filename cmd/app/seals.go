package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/seals"
)

// MasterKeyFile is the name of the master key file in the data directory, used when
// Config.MasterKey is not set.
const MasterKeyFile = "master.key"

// openSeals opens the seal registry: the master key (c.MasterKey, else the key file in the
// data directory, created with mode 0600 on a new database only, and then reported as created),
// the Keyring checked against the key-check value stored in the database (a different master
// key makes Open fail with seals.ErrWrongMasterKey, writing nothing), and the registry.
func openSeals(db *store.DB, c Config, clock certseal.Clock) (reg *seals.Registry, created bool, err error) {
	stored, err := seals.KeyCheckStored(db)
	if err != nil {
		return nil, false, err
	}
	path := filepath.Join(c.Data, MasterKeyFile)
	// Only a database that has never held sealed keys may get a new master key: for any other
	// a missing key is an error, never a reason to make a new one.
	master, created, err := seals.LoadMasterKey(c.MasterKey, path, !stored)
	if err != nil {
		if stored && certseal.ErrorCode(err) == certseal.ENotFound {
			return nil, false, certseal.Errorf(certseal.EForbidden, "数据库中已有加密的印章密钥，但找不到主密钥：请设置 %s 或恢复主密钥文件 %s；服务拒绝启动，已存储的密钥没有被改动", seals.MasterKeyEnv, path)
		}
		return nil, false, err
	}
	keys, err := seals.NewKeyring(master)
	clear(master)
	if err != nil {
		return nil, false, err
	}
	reg, err = seals.NewRegistry(db, keys, clock)
	if err != nil {
		return nil, false, err
	}
	return reg, created, nil
}

// initCA is the first-start step of the seals: it says whether Open created the master key
// file, and creates the root CA when there is none.
func (a *App) initCA(w io.Writer) error {
	if a.masterKeyCreated {
		fmt.Fprintf(w, "created the master key file %s (mode 0600); keep a copy apart from the database backups\n", filepath.Join(a.Config.Data, MasterKeyFile))
	}
	ca, made, err := a.Seals.EnsureCA(context.Background())
	if err != nil {
		return err
	}
	sum := sha256.Sum256(ca.Cert.Raw)
	verb := "root CA exists"
	if made {
		verb = "created the root CA"
	}
	fmt.Fprintf(w, "%s %q, valid until %s, SHA-256 %X\n", verb, ca.Cert.Subject.CommonName,
		ca.Cert.NotAfter.In(certseal.China).Format("2006-01-02"), sum)
	sm2ca, made, err := a.Seals.EnsureSM2CA(context.Background())
	if err != nil {
		return err
	}
	sum = sha256.Sum256(sm2ca.Cert.Raw)
	verb = "SM2 root CA exists"
	if made {
		verb = "created the SM2 root CA"
	}
	fmt.Fprintf(w, "%s %q, valid until %s, SHA-256 %X\n", verb, sm2ca.Cert.Subject.CommonName,
		sm2ca.Cert.NotAfter.In(certseal.China).Format("2006-01-02"), sum)
	return nil
}

// DemoSealAuthorisation is the authorising document the demo seals cite.
var DemoSealAuthorisation = seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"}

// demoSeals returns the demo step that gives every county bureau its dedicated approval seal
// (行政审批专用章), registered twice (ECDSA for PDF, SM2 for OFD), authorised for every demo licence type and valid for five years. It makes the
// keys (and the CA, when there is none) inside the demo transaction, which only demo data may.
func demoSeals(reg *seals.Registry) demo.Step {
	return func(tx *store.Tx, now time.Time, orgIDs map[string]string) error {
		types, err := catalogue.AllTypes(tx)
		if err != nil {
			return err
		}
		codes := make([]string, len(types))
		for i, t := range types {
			codes[i] = t.Code
		}
		for i, b := range demo.Bureaus {
			id, ok := orgIDs[b.Name]
			if !ok {
				continue
			}
			area := b.Area
			if area == "" {
				area = "510800"
			}
			n := seals.NewSeal{
				Name: b.Name + "行政审批专用章", OrgID: id, Type: seals.TypeDedicatedApproval,
				Code: fmt.Sprintf("%s%07d", area, i+1), Auth: DemoSealAuthorisation, LicenceTypes: codes,
				ValidFrom: now, ValidTo: now.AddDate(5, 0, 0),
			}
			if _, err := reg.CreateTx(tx, now, certseal.System, n); err != nil {
				if certseal.ErrorCode(err) == certseal.EConflict {
					continue // the code is taken already: keep what is there
				}
				return fmt.Errorf("demo seal %s: %w", n.Name, err)
			}
		}
		// Every bureau's seal is also registered for SM2 (same code), so that the demo food
		// licence, whose format is pdf+ofd, gets its OFD sealed under GB/T 38540 (issued by
		// 利州区, transferred in by another bureau).
		for i, b := range demo.Bureaus {
			id, ok := orgIDs[b.Name]
			if !ok {
				continue
			}
			area := b.Area
			if area == "" {
				area = "510800"
			}
			n := seals.NewSeal{
				Name: b.Name + "行政审批专用章", OrgID: id, Type: seals.TypeDedicatedApproval,
				Code: fmt.Sprintf("%s%07d", area, i+1), Auth: DemoSealAuthorisation, LicenceTypes: codes,
				ValidFrom: now, ValidTo: now.AddDate(5, 0, 0), Algorithm: seals.AlgSM2,
			}
			if _, err := reg.CreateTx(tx, now, certseal.System, n); err != nil && certseal.ErrorCode(err) != certseal.EConflict {
				return fmt.Errorf("demo SM2 seal %s: %w", n.Name, err)
			}
		}
		return nil
	}
}
