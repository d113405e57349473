package certs

import (
	"encoding/json"

	"certseal"
	"certseal/internal/store"
)

// Buckets.
const (
	bucketRecords  store.Bucket = "cert_records"   // U64(id) -> Certificate
	bucketPDFs     store.Bucket = "cert_pdfs"      // U64(id) -> signed PDF, before the document store (MigrateDocuments empties it)
	bucketByIdent  store.Bucket = "cert_by_ident"  // identifier -> id
	bucketByNumber store.Bucket = "cert_by_number" // licence number -> id of the newest version
	bucketByHolder store.Bucket = "cert_by_holder" // Key(holder code) + U64(id) -> nil
	bucketByIssuer store.Bucket = "cert_by_issuer" // Key(org id) + U64(id) -> nil
	bucketByHash   store.Bucket = "cert_by_hash"   // hex SHA-256 of a PDF (or OFD) we issued -> id
	bucketOps      store.Bucket = "cert_ops"       // U64(id) + U64(seq) -> Operation
	bucketIdem     store.Bucket = "cert_idem"      // Key(user id, key) -> idempotency record
)

// GetTx returns the certificate with the given id inside tx, or an *certseal.Error (ENotFound).
func GetTx(tx *store.Tx, id string) (Certificate, error) {
	return store.GetByID[Certificate](tx, bucketRecords, id, "证照")
}

// LookupTx finds a certificate by its identifier, its licence number (the newest version) or
// its id. It returns an *certseal.Error (ENotFound).
func LookupTx(tx *store.Tx, ref string) (Certificate, error) {
	if id := tx.Get(bucketByIdent, []byte(ref)); id != nil {
		return GetTx(tx, string(id))
	}
	if id := tx.Get(bucketByNumber, []byte(ref)); id != nil {
		return GetTx(tx, string(id))
	}
	if _, ok := store.IDKey(ref); ok {
		if c, err := GetTx(tx, ref); err == nil {
			return c, nil
		}
	}
	return Certificate{}, certseal.Errorf(certseal.ENotFound, "没有找到证照标识或证照编号为 %q 的证照", ref)
}

// putTx writes the certificate and its indexes. isNew adds the per-certificate indexes.
func putTx(tx *store.Tx, c *Certificate, isNew bool) error {
	k, _ := store.IDKey(c.ID)
	c.StatusLabel = c.Status.Label()
	if err := tx.PutJSON(bucketRecords, k, c); err != nil {
		return err
	}
	if !isNew {
		return nil
	}
	if err := tx.Put(bucketByIdent, []byte(c.Identifier), []byte(c.ID)); err != nil {
		return err
	}
	if err := tx.Put(bucketByNumber, []byte(c.LicenceNumber), []byte(c.ID)); err != nil {
		return err
	}
	if err := tx.Put(bucketByHolder, append(store.Prefix(c.Holder.Code), k...), nil); err != nil {
		return err
	}
	if err := tx.Put(bucketByIssuer, append(store.Prefix(c.IssuerOrgID), k...), nil); err != nil {
		return err
	}
	if c.OFDSHA256 != "" {
		// the OFD's digest too: the document store's collector and backups keep what this
		// bucket names, and a verifier finds the certificate of an OFD by it
		if err := tx.Put(bucketByHash, []byte(c.OFDSHA256), []byte(c.ID)); err != nil {
			return err
		}
	}
	if !c.HasPDF() {
		return nil // an OFD-only certificate: its OFD's digest is its one entry
	}
	return tx.Put(bucketByHash, []byte(c.PDFSHA256), []byte(c.ID))
}

// ByHashTx returns the certificate whose PDF (or OFD) has the given SHA-256, or ENotFound.
func ByHashTx(tx *store.Tx, sum string) (Certificate, error) {
	id := tx.Get(bucketByHash, []byte(sum))
	if id == nil {
		return Certificate{}, certseal.Errorf(certseal.ENotFound, "这份 PDF 不是本系统签发的")
	}
	return GetTx(tx, string(id))
}

// Operation is one step in a certificate's history.
type Operation struct {
	Seq    uint64 `json:"seq"`
	Op     string `json:"op"`
	Code   string `json:"code,omitempty"` // the national operation code, or OtherOpCode (99) with Label
	Label  string `json:"label"`
	From   Status `json:"from,omitempty"`
	To     Status `json:"to"`
	Reason string `json:"reason,omitempty"`
	NewID  string `json:"new_id,omitempty"`
	Serial string `json:"blank_serial,omitempty"`
	By     string `json:"by"`
	OrgID  string `json:"org_id"`
	At     string `json:"at"`
	// PreviousID is the version a new version was made from (renew, change, transfer_in).
	PreviousID string `json:"previous_id,omitempty"`
	// TargetOrgID is the bureau of a transfer out (and of its cancellation).
	TargetOrgID string `json:"target_org_id,omitempty"`
	// Changes are what a new version (a change, a renewal, a transfer in) changed, field by
	// field, sorted by field name, the end date last; empty for the other operations.
	Changes []FieldChange `json:"changes,omitempty"`
}

// FieldChange is one value a new version changed: the field (a template field's name, or
// 有效期至 for the end date), the old value and the new one ("" when there was none).
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

func appendOpTx(tx *store.Tx, id string, op Operation) error {
	k, _ := store.IDKey(id)
	n := uint64(0)
	tx.ScanReverse(bucketOps, k, nil, func(key, _ []byte) error {
		n = store.ParseU64(key[8:])
		return store.ErrStop
	})
	op.Seq = n + 1
	return tx.PutJSON(bucketOps, append(append([]byte{}, k...), store.U64(op.Seq)...), op)
}

// HistoryTx returns the operations on a certificate, oldest first.
func HistoryTx(tx *store.Tx, id string) ([]Operation, error) {
	k, ok := store.IDKey(id)
	if !ok {
		return nil, certseal.Errorf(certseal.ENotFound, "证照 %q 不存在", id)
	}
	var out []Operation
	err := tx.Scan(bucketOps, k, nil, func(_, v []byte) error {
		var op Operation
		if err := json.Unmarshal(v, &op); err != nil {
			return err
		}
		out = append(out, op)
		return nil
	})
	return out, err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
