package certs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/docstore"
	"certseal/internal/store"
)

// ActionDocumentCorrupt is the audit action recorded when a stored PDF no longer matches the
// SHA-256 recorded when it was signed, or is missing (and it was not served).
const ActionDocumentCorrupt = "certificate.document_corrupt"

// errDocumentCorrupt is the error for the caller of a download whose stored PDF is damaged: a
// 500-class internal error with a message for the clerk; the details go to the log and audit.
func errDocumentCorrupt(id string) error {
	return certseal.Errorf(certseal.EInternal, "存储的证照文件已损坏，请联系管理员").WithDetail("certificate_id", id)
}

// errDocumentMissing is errDocumentCorrupt for a document file that is gone.
func errDocumentMissing(id string) error {
	return certseal.Errorf(certseal.EInternal, "存储的证照文件缺失，请联系管理员").WithDetail("certificate_id", id)
}

// DocumentMatches reports whether pdf is the document recorded for c: its SHA-256 and size.
func DocumentMatches(c *Certificate, pdf []byte) bool {
	sum := sha256.Sum256(pdf)
	return hex.EncodeToString(sum[:]) == c.PDFSHA256 && len(pdf) == c.PDFSize
}

// putDocument stores a signed PDF in the document store, durably, before the commit that
// records its digest (a crash in between leaves an orphan that CollectDocuments removes later,
// never a record without its document).
func (s *Service) putDocument(pdf []byte) error {
	if s.Docs == nil {
		return certseal.Errorf(certseal.EUnavailable, "证照文件库未配置")
	}
	if _, err := s.Docs.Put(context.Background(), pdf); err != nil {
		if d := store.AsDiskFull(err); d != nil {
			return d
		}
		s.log().Error("store certificate document", "err", err)
		return certseal.Errorf(certseal.EUnavailable, "证照文件保存失败，请稍后重试")
	}
	return nil
}

// readDocument returns c's stored PDF: from the bucket of a database whose documents are not yet
// all moved out (legacy, as read inside tx), else from the document store, which checks the
// digest. missing reports that there is none.
func readDocument(ctx context.Context, docs docstore.Store, c *Certificate, legacy []byte) (pdf []byte, missing bool, err error) {
	if legacy != nil {
		return legacy, false, nil
	}
	if docs == nil {
		return nil, true, nil
	}
	pdf, err = docs.Get(ctx, c.PDFSHA256)
	switch {
	case errors.Is(err, docstore.ErrNotFound):
		return nil, true, nil
	case errors.Is(err, docstore.ErrCorrupt):
		return nil, false, nil // reported as not matching
	}
	return pdf, false, err
}

// legacyPDFTx returns the PDF of certificate id stored inside the database by a version before
// the document store (nil when there is none, which is the rule once MigrateDocuments ran).
func legacyPDFTx(tx *store.Tx, id string) []byte {
	k, ok := store.IDKey(id)
	if !ok {
		return nil
	}
	return tx.Get(bucketPDFs, k)
}

// document returns the stored PDF of certificate id, checked against the SHA-256 recorded for
// it, and the record; an OFD-only certificate has no PDF (nil, no error). The record is read in
// a read transaction and the document after it. A PDF that does not match, or is missing, is
// never returned: it is logged and audited (ActionDocumentCorrupt) and the caller gets an
// internal error. It does not check the actor's access: the caller does.
func (s *Service) document(ctx context.Context, actor certseal.Actor, id string) ([]byte, Certificate, error) {
	var legacy []byte
	var c Certificate
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if c, err = GetTx(tx, id); err != nil {
			return err
		}
		legacy = legacyPDFTx(tx, id)
		return nil
	})
	if err != nil {
		return nil, c, err
	}
	if !c.HasPDF() && legacy == nil {
		return nil, c, nil
	}
	pdf, err := s.pdfOf(ctx, actor, &c, legacy)
	return pdf, c, err
}

// pdfOf returns c's stored PDF (legacy: as read from the database's own bucket, if any), checked
// against its record; a missing or damaged one is audited and refused.
func (s *Service) pdfOf(ctx context.Context, actor certseal.Actor, c *Certificate, legacy []byte) ([]byte, error) {
	pdf, missing, err := readDocument(ctx, s.Docs, c, legacy)
	if err != nil {
		return nil, err
	}
	if missing {
		s.auditDocument(ctx, actor, c, map[string]any{"recorded_sha256": c.PDFSHA256, "recorded_size": c.PDFSize, "missing": true})
		return nil, errDocumentMissing(c.ID)
	}
	if err := s.checkDocument(ctx, actor, c, pdf); err != nil {
		return nil, err
	}
	return pdf, nil
}

// checkDocument returns nil when pdf is c's recorded document, and otherwise logs and audits the
// damage and returns the internal error for the caller.
func (s *Service) checkDocument(ctx context.Context, actor certseal.Actor, c *Certificate, pdf []byte) error {
	return s.checkStored(ctx, actor, c, "", pdf, c.PDFSHA256, c.PDFSize)
}

// checkStored returns nil when data has the recorded SHA-256 and size, and otherwise logs and
// audits the damage (file names the document, "" for the PDF) and returns the internal error.
// data is nil when the store refused bytes that do not have their digest.
func (s *Service) checkStored(ctx context.Context, actor certseal.Actor, c *Certificate, file string, data []byte, sha string, size int) error {
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if data != nil && got == sha && len(data) == size {
		return nil
	}
	if data == nil {
		got = ""
	}
	detail := map[string]any{"recorded_sha256": sha, "recorded_size": size, "stored_sha256": got, "stored_size": len(data)}
	if file != "" {
		detail["file"] = file
	}
	s.auditDocument(ctx, actor, c, detail)
	return errDocumentCorrupt(c.ID)
}

// auditDocument logs and audits a stored document that was not served.
func (s *Service) auditDocument(ctx context.Context, actor certseal.Actor, c *Certificate, detail map[string]any) {
	s.log().ErrorContext(ctx, "stored certificate PDF is damaged or missing; not served",
		"certificate", c.ID, "detail", detail, "user", actor.Username)
	err := s.DB.Update(func(tx *store.Tx) error {
		return audit.Append(tx, s.Clock.Now(), actor, ActionDocumentCorrupt, "certificate/"+c.ID, detail)
	})
	if err != nil {
		s.log().ErrorContext(ctx, "audit the damaged certificate PDF", "certificate", c.ID, "err", err)
	}
}

// CheckZIP checks, before a batch's ZIP is sent, that the stored PDF and OFD of every
// certificate the ZIP holds match their recorded SHA-256, so that a damaged one is refused with an error instead
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
		_, c, err := b.Certs.document(ctx, actor, r.CertID)
		if err == nil && c.OFDSHA256 != "" {
			_, _, err = b.Certs.ofdDocument(ctx, actor, &c)
		}
		return err
	})
}

// migrateChunk is how many stored PDFs MigrateDocuments moves per transaction.
const migrateChunk = 64

// MigrateDocuments moves the PDFs that a version before the document store kept inside the
// database out to docs: each is written to docs (durably) and then deleted from the database,
// migrateChunk at a time, so an interrupted migration (a crash, ctx ending) resumes where it
// stopped and a certificate is readable all along (reads look in the database first). A stored
// PDF that does not match its record is left where it is (reads keep reporting it); limit > 0
// stops after that many moved (tests). It returns how many it moved and left.
func MigrateDocuments(ctx context.Context, db *store.DB, docs docstore.Store, limit int) (moved, left int, err error) {
	type doc struct {
		key []byte
		pdf []byte
		ok  bool
	}
	var after []byte
	for {
		var chunk []doc
		err := db.View(func(tx *store.Tx) error {
			return tx.Scan(bucketPDFs, nil, after, func(k, v []byte) error {
				var c Certificate
				found, err := tx.GetJSON(bucketRecords, k, &c)
				if err != nil {
					return err
				}
				chunk = append(chunk, doc{key: append([]byte{}, k...), pdf: append([]byte{}, v...), ok: found && DocumentMatches(&c, v)})
				if len(chunk) == migrateChunk {
					return store.ErrStop
				}
				return nil
			})
		})
		if err != nil || len(chunk) == 0 {
			return moved, left, err
		}
		after = chunk[len(chunk)-1].key
		var done [][]byte
		for _, d := range chunk {
			if !d.ok {
				left++
				continue
			}
			if limit > 0 && moved+len(done) >= limit {
				break
			}
			if err := ctx.Err(); err != nil {
				break
			}
			if _, err := docs.Put(ctx, d.pdf); err != nil {
				return moved, left, fmt.Errorf("move certificate %d's PDF: %w", store.ParseU64(d.key), err)
			}
			done = append(done, d.key)
		}
		if len(done) > 0 {
			if err := db.Update(func(tx *store.Tx) error {
				for _, k := range done {
					if err := tx.Delete(bucketPDFs, k); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return moved, left, err
			}
			moved += len(done)
		}
		if err := ctx.Err(); err != nil {
			return moved, left, err
		}
		if limit > 0 && moved >= limit {
			return moved, left, nil
		}
	}
}

// CollectDocuments removes the documents written more than grace ago that no certificate
// records (left by a crash or a failed commit after the document was written) and returns how
// many it removed.
func CollectDocuments(ctx context.Context, db *store.DB, docs docstore.Store, grace time.Duration) (int, error) {
	removed, err := docstore.Collect(ctx, docs, time.Now().Add(-grace), func(ds []string) (map[string]bool, error) {
		refs := map[string]bool{}
		err := db.View(func(tx *store.Tx) error {
			for _, d := range ds {
				refs[d] = tx.Has(bucketByHash, []byte(d)) || tx.Has(bucketDocRefs, []byte(d))
			}
			return nil
		})
		return refs, err
	})
	return len(removed), err
}

// Orphans returns the digests of the stored documents that no certificate records (for
// `certseal check`; a document younger than a commit can be one legitimately on a live
// database, so run it on a quiescent one).
func Orphans(ctx context.Context, db *store.DB, docs docstore.Store) ([]string, error) {
	var out []string
	err := docs.Walk(ctx, func(d string, _ int64, _ time.Time) error {
		return db.View(func(tx *store.Tx) error {
			if !tx.Has(bucketByHash, []byte(d)) && !tx.Has(bucketDocRefs, []byte(d)) {
				out = append(out, d)
			}
			return nil
		})
	})
	return out, err
}

// DocumentsTx calls fn with the digest of every certificate's document that is in the document
// store (not those still inside the database before MigrateDocuments), in digest order, then
// with those of the other documents referred to (ReferDocumentTx), in digest order: what a
// backup of the database as tx sees must hold besides the database.
func DocumentsTx(tx *store.Tx, fn func(digest string) error) error {
	err := tx.Scan(bucketByHash, nil, nil, func(k, v []byte) error {
		if legacyPDFTx(tx, string(v)) != nil {
			return nil
		}
		return fn(string(k))
	})
	if err != nil {
		return err
	}
	return tx.Scan(bucketDocRefs, nil, nil, func(k, _ []byte) error {
		if tx.Has(bucketByHash, k) {
			return nil // already given
		}
		return fn(string(k))
	})
}

// bucketDocRefs holds the stored documents that belong to the services built on certificates
// rather than to a certificate's record (a purpose-stamped copy of package certs/use): hex
// SHA-256 -> its owner ("use/12"). The collector, check and backups keep them as they keep a
// certificate's PDF and OFD.
const bucketDocRefs store.Bucket = "cert_doc_refs"

// PutDocument stores data in the document store, durably, and returns its digest, for a service
// built on certificates (a purpose-stamped copy): the commit that records it must also call
// ReferDocumentTx, or the collector removes it after its grace period. Errors are
// *certseal.Error: EUnavailable when the store fails (a full disk is a *store.DiskFullError).
func (s *Service) PutDocument(data []byte) (string, error) {
	if err := s.putDocument(data); err != nil {
		return "", err
	}
	return docstore.Digest(data), nil
}

// ReferDocumentTx records in tx that the stored document digest belongs to owner, so that the
// collector, check and backups keep it.
func ReferDocumentTx(tx *store.Tx, digest, owner string) error {
	if !docstore.ValidDigest(digest) {
		return certseal.Errorf(certseal.EInternal, "文件摘要无效：%q", digest)
	}
	return tx.Put(bucketDocRefs, []byte(digest), []byte(owner))
}

// Document returns the stored document digest (PutDocument), checked against its digest. It
// returns an *certseal.Error: ENotFound when there is none, EInternal when the stored bytes are
// damaged (logged), EUnavailable when the store cannot be read.
func (s *Service) Document(ctx context.Context, digest string) ([]byte, error) {
	if s.Docs == nil {
		return nil, certseal.Errorf(certseal.EUnavailable, "证照文件库未配置")
	}
	data, err := s.Docs.Get(ctx, digest)
	switch {
	case err == nil:
		return data, nil
	case errors.Is(err, docstore.ErrNotFound):
		return nil, certseal.Errorf(certseal.ENotFound, "文件 %s 不在证照文件库中", digest)
	case errors.Is(err, docstore.ErrCorrupt):
		s.log().Error("stored document damaged", "digest", digest, "err", err)
		return nil, certseal.Errorf(certseal.EInternal, "文件 %s 已损坏，不予提供", digest)
	default:
		s.log().Error("read stored document", "digest", digest, "err", err)
		return nil, certseal.Errorf(certseal.EUnavailable, "证照文件库暂时无法读取，请稍后重试")
	}
}
