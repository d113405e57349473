package certs

import (
	"archive/zip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Batches runs stored batches in the background: at most Workers batches at a time (default 2),
// each in one goroutine, row after row. A batch first has every row checked; when any row fails
// the check the batch is failed with every bad row and nothing is issued. Otherwise each row is
// issued exactly as Issue does, under the idempotency key "batch/<id>/<index>" of the uploader, so
// a row is never issued twice.
//
// Restarts: a batch interrupted by a shutdown or a crash stays "checking" or "issuing" in the
// store and resumes when the service starts again: the check starts over, issuing goes on with
// the rows not yet marked done (a row issued just before the crash is found again through its
// idempotency key, not issued a second time).
type Batches struct {
	Certs *Service
	// Workers bounds the batches run at once (default 2).
	Workers int
	// Poll is how often Run looks for batches without being kicked (default 1 minute).
	Poll time.Duration

	mu      sync.Mutex
	active  map[string]bool
	cluster map[string]func() // on a cluster: the release of each active batch's claim
	kick    chan struct{}
}

// NewBatches returns a runner for the service's batches.
func NewBatches(svc *Service) *Batches { return &Batches{Certs: svc} }

func (b *Batches) kickCh() chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kick == nil {
		b.kick = make(chan struct{}, 1)
	}
	return b.kick
}

// Kick tells the runner a batch is waiting. It never blocks.
func (b *Batches) Kick() {
	select {
	case b.kickCh() <- struct{}{}:
	default:
	}
}

func (b *Batches) log() *slog.Logger { return b.Certs.log() }

// Start stores a batch (see Service.StartBatch) and kicks the runner.
func (b *Batches) Start(ctx context.Context, actor certseal.Actor, name string, data []byte, m BatchMapping) (Batch, error) {
	bt, err := b.Certs.StartBatch(ctx, actor, name, data, m)
	if err == nil {
		b.Kick()
	}
	return bt, err
}

// Run runs batches until ctx is cancelled; a batch in progress stops after its current row and
// resumes at the next Run.
func (b *Batches) Run(ctx context.Context) {
	n := b.Workers
	if n <= 0 {
		n = 2
	}
	poll := b.Poll
	if poll <= 0 {
		poll = time.Minute
	}
	kick := b.kickCh()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(poll)
			defer t.Stop()
			for {
				for ctx.Err() == nil {
					id, ok := b.claim()
					if !ok {
						break
					}
					b.Kick() // another idle worker may take the next batch
					b.process(ctx, id)
					b.release(id)
				}
				select {
				case <-ctx.Done():
					return
				case <-kick:
				case <-t.C:
				}
			}
		}()
	}
	wg.Wait()
}

// claim picks the oldest unfinished batch no worker runs.
func (b *Batches) claim() (string, bool) {
	var ids []string
	err := b.Certs.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketBatches, nil, nil, func(_, v []byte) error {
			var rec struct {
				ID     string      `json:"id"`
				Status BatchStatus `json:"status"`
			}
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.Status == BatchChecking || rec.Status == BatchIssuing {
				ids = append(ids, rec.ID)
			}
			return nil
		})
	})
	if err != nil {
		b.log().Error("batches: list", "err", err)
		return "", false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active == nil {
		b.active = map[string]bool{}
	}
	for _, id := range ids {
		if !b.active[id] && b.claimCluster(id) {
			b.active[id] = true
			return id, true
		}
	}
	return "", false
}

func (b *Batches) release(id string) {
	b.mu.Lock()
	b.releaseCluster(id)
	delete(b.active, id)
	b.mu.Unlock()
}

// update changes the batch record in one (group-committed) transaction.
func (b *Batches) update(id string, fn func(tx *store.Tx, rec *batchRecord) error) error {
	return b.Certs.DB.Batch(func(tx *store.Tx) error {
		rec, err := getBatchTx(tx, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &rec); err != nil {
			return err
		}
		rec.UpdatedAt = b.Certs.Clock.Now().UTC()
		k, _ := store.IDKey(id)
		return tx.PutJSON(bucketBatches, k, rec)
	})
}

// rowsOf reads a batch's rows in pages, each in its own short read transaction.
func (b *Batches) rowsOf(id string, fn func(index uint64, r batchRow) error) error {
	k, _ := store.IDKey(id)
	var after []byte
	for {
		type item struct {
			index uint64
			row   batchRow
		}
		var page []item
		err := b.Certs.DB.View(func(tx *store.Tx) error {
			return tx.Scan(bucketBatchRows, k, after, func(key, v []byte) error {
				if len(page) == 500 {
					return store.ErrStop
				}
				var r batchRow
				if err := json.Unmarshal(v, &r); err != nil {
					return err
				}
				page = append(page, item{store.ParseU64(key[8:]), r})
				after = append(after[:0], key...)
				return nil
			})
		})
		if err != nil {
			return err
		}
		for _, it := range page {
			if err := fn(it.index, it.row); err != nil {
				return err
			}
		}
		if len(page) < 500 {
			return nil
		}
	}
}

func rowKey(id string, index uint64) []byte {
	k, _ := store.IDKey(id)
	return append(append([]byte{}, k...), store.U64(index)...)
}

func errKey(id string, row int) []byte {
	k, _ := store.IDKey(id)
	return append(append([]byte{}, k...), store.U64(uint64(row))...)
}

func (b *Batches) process(ctx context.Context, id string) {
	var rec batchRecord
	if err := b.Certs.DB.View(func(tx *store.Tx) error {
		var err error
		rec, err = getBatchTx(tx, id)
		return err
	}); err != nil {
		b.log().Error("batches: read", "batch", id, "err", err)
		return
	}
	if rec.Status == BatchChecking {
		if !b.check(ctx, &rec) {
			return
		}
	}
	if rec.Status != BatchIssuing {
		return
	}
	err := b.rowsOf(id, func(index uint64, r batchRow) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.State != rowPending || r.Request == nil {
			return nil
		}
		key := "batch/" + id + "/" + itoa(index)
		c, _, err := b.Certs.Issue(ctx, rec.Actor, *r.Request, key)
		return b.update(id, func(tx *store.Tx, cur *batchRecord) error {
			if err != nil {
				r.State = rowFailed
				cur.Failed++
				if err := tx.PutJSON(bucketBatchErrors, errKey(id, r.Row), RowError{Row: r.Row, Reason: certseal.ErrorMessage(err), Code: certseal.ErrorCode(err)}); err != nil {
					return err
				}
			} else {
				r.State, r.CertID, r.LicenceNumber = rowDone, c.ID, c.LicenceNumber
				cur.Done++
			}
			return tx.PutJSON(bucketBatchRows, rowKey(id, index), r)
		})
	})
	if err != nil {
		if ctx.Err() == nil {
			b.log().Error("batches: issue", "batch", id, "err", err)
		}
		return // resumes at the next start
	}
	now := b.Certs.Clock.Now().UTC()
	if err := b.update(id, func(tx *store.Tx, cur *batchRecord) error {
		cur.Status, cur.FinishedAt = BatchDone, now
		if cur.Failed > 0 {
			cur.Message = itoa(uint64(cur.Failed)) + " 行签发失败，其余已签发"
		}
		return audit.Append(tx, now, rec.Actor, "certificate.batch.done", "batch/"+id, map[string]any{"done": cur.Done, "failed": cur.Failed})
	}); err != nil {
		b.log().Error("batches: finish", "batch", id, "err", err)
	}
}

// check checks every row; it reports whether the batch moved on to issuing.
func (b *Batches) check(ctx context.Context, rec *batchRecord) bool {
	id := rec.ID
	var rows []built
	err := b.rowsOf(id, func(_ uint64, r batchRow) error {
		bt := built{row: r.Row, err: r.BuildError}
		if r.Request != nil {
			bt.req = *r.Request
		}
		rows = append(rows, bt)
		return nil
	})
	if err != nil {
		b.log().Error("batches: read rows", "batch", id, "err", err)
		return false
	}
	last := b.Certs.Clock.Now()
	errs, err := b.Certs.checkAll(ctx, rec.Actor, rows, func(done int) {
		if now := b.Certs.Clock.Now(); now.Sub(last) > time.Second || done == len(rows) {
			last = now
			b.update(id, func(_ *store.Tx, cur *batchRecord) error { cur.Checked = done; return nil })
		}
	})
	if err != nil {
		return false // ctx ended: the check starts over at the next start
	}
	now := b.Certs.Clock.Now().UTC()
	err = b.update(id, func(tx *store.Tx, cur *batchRecord) error {
		cur.Checked = len(rows)
		if len(errs) == 0 {
			cur.Status = BatchIssuing
			return nil
		}
		for _, e := range errs {
			if err := tx.PutJSON(bucketBatchErrors, errKey(id, e.Row), e); err != nil {
				return err
			}
		}
		cur.Status, cur.FinishedAt = BatchFailed, now
		cur.Failed = len(errs)
		cur.Message = itoa(uint64(len(errs))) + " 行未通过检查，整批未签发；请改正后重新上传"
		return audit.Append(tx, now, rec.Actor, "certificate.batch.failed", "batch/"+id, map[string]any{"bad_rows": len(errs)})
	})
	if err != nil {
		b.log().Error("batches: record the check", "batch", id, "err", err)
		return false
	}
	if len(errs) > 0 {
		return false
	}
	rec.Status = BatchIssuing
	return true
}

// ZIPName is the file name of a certificate's PDF in a batch's ZIP: its licence number.
func ZIPName(licenceNumber string) string {
	r := strings.NewReplacer("/", "_", "\\", "_", ":", "_", "\x00", "_")
	return r.Replace(licenceNumber) + ".pdf"
}

// WriteZIP streams a ZIP of the PDFs (and OFDs) of a finished batch's certificates to w, named
// by licence number, reading one file at a time and checking each against its SHA-256 (an
// OFD-only certificate adds its .ofd alone). Call GetBatch and
// CheckZIP first: once writing has begun an error can only cut the stream short. It returns an *certseal.Error (ENotFound; EConflict for a batch that
// is not done) before anything is written, or the writer's error.
func (b *Batches) WriteZIP(ctx context.Context, actor certseal.Actor, id string, w io.Writer) error {
	bt, err := b.Certs.GetBatch(ctx, actor, id)
	if err != nil {
		return err
	}
	if bt.Status != BatchDone {
		return certseal.Errorf(certseal.EConflict, "批次尚未完成（当前状态：%s），完成后才能下载", bt.Status.Label())
	}
	zw := zip.NewWriter(w)
	err = b.rowsOf(id, func(_ uint64, r batchRow) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.State != rowDone {
			return nil
		}
		pdf, c, err := b.Certs.document(ctx, actor, r.CertID) // checked against its SHA-256
		if err != nil {
			return err
		}
		if pdf != nil { // an OFD-only certificate has its OFD alone
			f, err := zw.CreateHeader(&zip.FileHeader{Name: ZIPName(r.LicenceNumber), Method: zip.Store, Modified: bt.CreatedAt})
			if err != nil {
				return err
			}
			if _, err = f.Write(pdf); err != nil {
				return err
			}
		}
		return b.Certs.zipOFD(ctx, actor, zw, &c, bt.CreatedAt) // its OFD next to it, if it has one
	})
	if err != nil {
		return err
	}
	return zw.Close()
}
