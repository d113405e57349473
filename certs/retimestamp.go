package certs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Retimestamper renews the document timestamp of a stored PDF (PAdES B-LTA) and tells when
// its newest timestamp expires. *seals.Registry implements it.
type Retimestamper interface {
	Retimestamp(ctx context.Context, pdf []byte) ([]byte, error)
	TimestampExpiry(ctx context.Context, pdf []byte) (time.Time, bool, error)
}

// RetimestampResult is what one run of Retimestamp did.
type RetimestampResult struct {
	Checked, Renewed, Failed int
}

// Retimestamp re-timestamps, through r, every stored certificate PDF in force (not revoked or
// cancelled; an OFD-only certificate has none and is skipped, not counted) whose newest trusted timestamp's certificate expires within `within`, at most
// limit of them (0: no limit): the new PDF (the old one with a DSS update and a document
// timestamp appended) replaces the stored one and its SHA-256 the record's; the old hash stays
// indexed, so copies handed out before still verify. Each renewal is one transaction with its
// audit event (certificate.retimestamp); the TSA request is made outside it. A certificate
// whose PDF changed meanwhile is left for the next run. It returns the store's errors; a TSA
// failure counts as Failed and stops the run (the TSA is down: the next run tries again).
func (s *Service) Retimestamp(ctx context.Context, r Retimestamper, within time.Duration, limit int) (RetimestampResult, error) {
	var res RetimestampResult
	now := s.Clock.Now()
	var ids []string
	if err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketRecords, nil, nil, func(_, v []byte) error {
			var c Certificate
			if err := json.Unmarshal(v, &c); err != nil {
				return err
			}
			if !c.HasPDF() {
				return nil // an OFD-only certificate: no PAdES document timestamp to renew
			}
			switch c.effectiveStatus(now) {
			case StatusValid, StatusPending, StatusSuspended:
				ids = append(ids, c.ID)
			}
			return nil
		})
	}); err != nil {
		return res, err
	}
	for _, id := range ids {
		if limit > 0 && res.Renewed >= limit {
			break
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		var c Certificate
		var legacy []byte
		if err := s.DB.View(func(tx *store.Tx) error {
			var err error
			if c, err = GetTx(tx, id); err != nil {
				return err
			}
			legacy = bytes.Clone(legacyPDFTx(tx, id))
			return nil
		}); err != nil {
			continue
		}
		pdf, _, err := readDocument(ctx, s.Docs, &c, legacy)
		if err != nil || pdf == nil || !DocumentMatches(&c, pdf) {
			continue // missing or damaged: certseal check reports it; nothing to renew from
		}
		res.Checked++
		exp, ok, err := r.TimestampExpiry(ctx, pdf)
		if err != nil || !ok || exp.After(now.Add(within)) {
			continue // no timestamp (a B-B certificate), or still good for long enough
		}
		out, err := r.Retimestamp(ctx, pdf)
		if err != nil {
			res.Failed++
			if certseal.ErrorCode(err) == certseal.EUnavailable {
				return res, nil
			}
			s.log().Error("retimestamp", "certificate", id, "err", err)
			continue
		}
		old := sha256.Sum256(pdf)
		sum := sha256.Sum256(out)
		if err := s.putDocument(out); err != nil { // durable before the commit that refers to it
			return res, err
		}
		err = s.DB.Update(func(tx *store.Tx) error {
			c, err := GetTx(tx, id)
			if err != nil {
				return err
			}
			if c.PDFSHA256 != hex.EncodeToString(old[:]) {
				return errChanged
			}
			if k, ok := store.IDKey(id); ok && tx.Has(bucketPDFs, k) {
				if err := tx.Delete(bucketPDFs, k); err != nil { // the legacy copy is superseded
					return err
				}
			}
			c.PDFSHA256, c.PDFSize, c.UpdatedAt = hex.EncodeToString(sum[:]), len(out), now.UTC()
			if err := putTx(tx, &c, false); err != nil {
				return err
			}
			if err := tx.Put(bucketByHash, []byte(c.PDFSHA256), []byte(c.ID)); err != nil {
				return err
			}
			return audit.Append(tx, now, certseal.System, "certificate.retimestamp", "certificate/"+c.ID,
				map[string]any{"previous_sha256": hex.EncodeToString(old[:]), "pdf_sha256": c.PDFSHA256, "timestamp_expired": exp})
		})
		switch {
		case err == errChanged:
		case err != nil:
			return res, err
		default:
			res.Renewed++
		}
	}
	return res, nil
}

var errChanged = certseal.Errorf(certseal.EConflict, "证照文件在重新加盖时间戳期间已改变")
