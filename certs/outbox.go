package certs

import (
	"encoding/json"
	"time"

	"certseal/internal/store"
)

// bucketOutbox holds the result-push events (审批结果推送), keyed by sequence number.
const bucketOutbox store.Bucket = "cert_outbox"

// Event is a change to a certificate that subscribers are told about: an issue or a status
// change. Events are appended in the same transaction as the change, so none is lost and none
// is sent for a change that did not happen.
type Event struct {
	Seq           uint64    `json:"seq"`
	Type          string    `json:"type"` // certificate.issue, certificate.suspend, ...
	CertificateID string    `json:"certificate_id"`
	Identifier    string    `json:"identifier"`
	LicenceNumber string    `json:"licence_number"`
	TypeCode      string    `json:"type_code"`
	IssuerOrgID   string    `json:"issuer_org_id"`
	Status        Status    `json:"status"`
	Operation     string    `json:"operation"`
	OperationCode string    `json:"operation_code,omitempty"`
	Reason        string    `json:"reason,omitempty"`
	NewID         string    `json:"new_certificate_id,omitempty"`
	Holder        Holder    `json:"holder"`
	ValidFrom     string    `json:"valid_from"`
	ValidTo       string    `json:"valid_to,omitempty"`
	At            time.Time `json:"at"`
}

func (s *Service) outboxTx(tx *store.Tx, c *Certificate, op Operation) error {
	seq, err := tx.NextID(bucketOutbox)
	if err != nil {
		return err
	}
	at, _ := time.Parse(time.RFC3339, op.At)
	e := Event{Seq: seq, Type: "certificate." + op.Op, CertificateID: c.ID, Identifier: c.Identifier, LicenceNumber: c.LicenceNumber,
		TypeCode: c.TypeCode, IssuerOrgID: c.IssuerOrgID, Status: c.Status, Operation: op.Op, OperationCode: op.Code,
		Reason: op.Reason, NewID: op.NewID, Holder: c.Holder, ValidFrom: c.ValidFrom, ValidTo: c.ValidTo, At: at}
	if err := tx.PutJSON(bucketOutbox, store.U64(seq), e); err != nil {
		return err
	}
	s.notify(tx)
	return nil
}

// LastEventSeqTx returns the sequence number of the newest outbox event (0 when there is none).
func LastEventSeqTx(tx *store.Tx) uint64 { return tx.Sequence(bucketOutbox) }

// EventsAfterTx returns up to limit outbox events with sequence numbers above after.
func EventsAfterTx(tx *store.Tx, after uint64, limit int) ([]Event, error) {
	var out []Event
	var start []byte
	if after > 0 {
		start = store.U64(after)
	}
	err := tx.Scan(bucketOutbox, nil, start, func(_, v []byte) error {
		if len(out) == limit {
			return store.ErrStop
		}
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}
