package certs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// ActionDocumentCorrupt is the audit action recorded when a stored PDF no longer matches the
// SHA-256 recorded when it was signed (and it was not served).
const ActionDocumentCorrupt = "certificate.document_corrupt"

// errDocumentCorrupt is the error for the caller of a download whose stored PDF is damaged: a
// 500-class internal error with a message for the clerk; the details go to the log and audit.
func errDocumentCorrupt(id string) error {
	return certseal.Errorf(certseal.EInternal, "存储的证照文件已损坏，请联系管理员").WithDetail("certificate_id", id)
}

// DocumentMatches reports whether pdf is the document recorded for c: its SHA-256 and size.
func DocumentMatches(c *Certificate, pdf []byte) bool {
	sum := sha256.Sum256(pdf)
	return hex.EncodeToString(sum[:]) == c.PDFSHA256 && len(pdf) == c.PDFSize
}

// document returns the stored PDF of certificate id, checked against the SHA-256 recorded for
// it. The PDF is read (a copy) in a read transaction and hashed after it. A PDF that does not
// match is never returned: the mismatch is logged and audited (ActionDocumentCorrupt) and the
// caller gets an internal error. It does not check the actor's access: the caller does.
func (s *Service) document(ctx context.Context, actor certseal.Actor, id string) ([]byte, Certificate, error) {
	var pdf []byte
	var c Certificate
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if c, err = GetTx(tx, id); err != nil {
			return err
		}
		pdf, err = PDFTx(tx, id)
		return err
	})
	if err != nil {
		return nil, c, err
	}
	if err := s.checkDocument(ctx, actor, &c, pdf); err != nil {
		return nil, c, err
	}
	return pdf, c, nil
}

// checkDocument returns nil when pdf is c's recorded document, and otherwise logs and audits the
// damage and returns the internal error for the caller.
func (s *Service) checkDocument(ctx context.Context, actor certseal.Actor, c *Certificate, pdf []byte) error {
	if DocumentMatches(c, pdf) {
		return nil
	}
	sum := sha256.Sum256(pdf)
	got := hex.EncodeToString(sum[:])
	s.log().ErrorContext(ctx, "stored certificate PDF does not match its recorded SHA-256; not served",
		"certificate", c.ID, "recorded_sha256", c.PDFSHA256, "recorded_size", c.PDFSize, "stored_sha256", got, "stored_size", len(pdf), "user", actor.Username)
	err := s.DB.Update(func(tx *store.Tx) error {
		return audit.Append(tx, s.Clock.Now(), actor, ActionDocumentCorrupt, "certificate/"+c.ID, map[string]any{
			"recorded_sha256": c.PDFSHA256, "recorded_size": c.PDFSize, "stored_sha256": got, "stored_size": len(pdf)})
	})
	if err != nil {
		s.log().ErrorContext(ctx, "audit the damaged certificate PDF", "certificate", c.ID, "err", err)
	}
	return errDocumentCorrupt(c.ID)
}

// CheckZIP checks, before a batch's ZIP is sent, that the stored PDF of every certificate the
// ZIP holds matches its recorded SHA-256, so that a damaged one is refused with an error instead
// of cutting the download short or sending it. It returns the error of the first damaged
// document (audited as ActionDocumentCorrupt), or GetBatch's error.
func (b *Batches) CheckZIP(ctx context.Context, actor certseal.Actor, id string) error {
	if _, err := b.Certs.GetBatch(ctx, actor, id); err != nil {
		return err
	}
	return b.rowsOf(id, func(_ uint64, r batchRow) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.State != rowDone {
			return nil
		}
		_, _, err := b.Certs.document(ctx, actor, r.CertID)
		return err
	})
}
