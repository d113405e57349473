package certs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/store"
)

// Check runs every check Issue runs before it writes anything — the request's own fields, the
// actor's role and organisation, the licence type's binding, the blank serial being the
// organisation's unused stock, the validity, the template's fields and the seal — without
// writing. It returns nil when Issue would go ahead, or the *certseal.Error Issue would return.
func (s *Service) Check(ctx context.Context, actor certseal.Actor, req IssueRequest) error {
	if err := req.Validate(); err != nil {
		return err
	}
	if actor.Role != certseal.RoleClerk && actor.Role != certseal.RoleBureauOfficer {
		return certseal.Errorf(certseal.EForbidden, "只有审批局的窗口工作人员或经办人可以签发证照")
	}
	_, err := s.check(ctx, actor, &req)
	return err
}

// BatchMapping says how the columns of a batch file (named by their header in row 1) make each
// row's issue request. The type, item and seal are the same for the whole batch, or come from a
// column each; the blank serial comes from a column, or counts up from FirstSerial row by row;
// Fields maps columns to template field names (empty: every column whose header is a field of
// the type's template, except the fields the service fills in itself).
type BatchMapping struct {
	TypeCode       string            `json:"type_code,omitempty"`
	ItemCode       string            `json:"item_code,omitempty"`
	SealID         string            `json:"seal_id,omitempty"`
	TypeCodeColumn string            `json:"type_code_column,omitempty"`
	ItemCodeColumn string            `json:"item_code_column,omitempty"`
	SealIDColumn   string            `json:"seal_id_column,omitempty"`
	HolderName     string            `json:"holder_name_column"`
	HolderCode     string            `json:"holder_code_column"`
	HolderCodeType string            `json:"holder_code_type_column,omitempty"`
	CodeType       string            `json:"holder_code_type,omitempty"` // for the whole batch; default 001
	SerialColumn   string            `json:"blank_serial_column,omitempty"`
	FirstSerial    string            `json:"first_serial,omitempty"`
	ValidFrom      string            `json:"valid_from_column,omitempty"`
	ValidTo        string            `json:"valid_to_column,omitempty"`
	Fields         map[string]string `json:"fields,omitempty"` // column header -> template field
}

// RowError is a row of a batch that cannot be (or was not) issued, and why.
type RowError struct {
	Row    int    `json:"row"`
	Reason string `json:"reason"`
	Code   string `json:"code,omitempty"`
}

// BatchReport is the result of checking a batch without issuing (a dry run).
type BatchReport struct {
	Total  int        `json:"total"`
	Valid  int        `json:"valid"`
	Errors []RowError `json:"errors"`
}

// BatchStatus is where a batch is.
type BatchStatus string

// Batch statuses.
const (
	BatchChecking BatchStatus = "checking" // every row is being checked; nothing issued yet
	BatchIssuing  BatchStatus = "issuing"  // every row passed; certificates are being issued
	BatchDone     BatchStatus = "done"     // every row was tried; Failed says how many failed
	BatchFailed   BatchStatus = "failed"   // rows failed the check; nothing was issued
)

// Label returns the status's Chinese name, or the raw value for an unknown status.
func (s BatchStatus) Label() string {
	switch s {
	case BatchChecking:
		return "检查中"
	case BatchIssuing:
		return "签发中"
	case BatchDone:
		return "已完成"
	case BatchFailed:
		return "检查未通过"
	}
	return string(s)
}

// Batch is an asynchronous batch issuance and its progress.
type Batch struct {
	ID         string      `json:"id"`
	OrgID      string      `json:"org_id"`
	CreatedBy  string      `json:"created_by"`
	FileName   string      `json:"file_name"`
	TypeCode   string      `json:"type_code,omitempty"`
	Status     BatchStatus `json:"status"`
	Total      int         `json:"total"`
	Checked    int         `json:"checked"`
	Done       int         `json:"done"`
	Failed     int         `json:"failed"`
	Message    string      `json:"message,omitempty"`
	Errors     []RowError  `json:"errors,omitempty"`
	CreatedAt  time.Time   `json:"created_at"`
	UpdatedAt  time.Time   `json:"updated_at"`
	FinishedAt time.Time   `json:"finished_at,omitzero"`
}

// Buckets of batches.
const (
	bucketBatches     store.Bucket = "batch_batches" // U64(id) -> batchRecord
	bucketBatchRows   store.Bucket = "batch_rows"    // U64(id) + U64(index) -> batchRow
	bucketBatchErrors store.Bucket = "batch_errors"  // U64(id) + U64(row number) -> RowError
)

type batchRecord struct {
	Batch
	Actor certseal.Actor `json:"actor"`
}

// Row states.
const (
	rowPending = "pending"
	rowDone    = "done"
	rowFailed  = "failed"
)

type batchRow struct {
	Row           int           `json:"row"`
	Request       *IssueRequest `json:"request,omitempty"`
	BuildError    *RowError     `json:"build_error,omitempty"`
	State         string        `json:"state"`
	CertID        string        `json:"cert_id,omitempty"`
	LicenceNumber string        `json:"licence_number,omitempty"`
}

// column finds a header; "" is no column.
func column(t *Table, name, what string) (int, error) {
	if name == "" {
		return -1, nil
	}
	i := slices.Index(t.Header, strings.TrimSpace(name))
	if i < 0 {
		return -1, certseal.Errorf(certseal.EInvalid, "映射中的%s列“%s”在表头中不存在（表头：%s）", what, name, strings.Join(t.Header, "、")).WithDetail("column", name)
	}
	return i, nil
}

// built is one row turned into an issue request, or the reason it could not be.
type built struct {
	row int
	req IssueRequest
	err *RowError
}

// build turns the table's rows into issue requests with the mapping. A mapping that does not fit
// the table (an unknown column, no holder columns, a first serial without a type) is an
// *certseal.Error (EInvalid) for the whole batch; a row that cannot be built (a bad date, a
// repeated serial) is a row error.
func (s *Service) build(ctx context.Context, t *Table, m BatchMapping) ([]built, string, error) {
	cols := map[string]int{}
	for _, c := range []struct{ key, name, what string }{
		{"type", m.TypeCodeColumn, "证照类型"}, {"item", m.ItemCodeColumn, "关联事项"}, {"seal", m.SealIDColumn, "印章"},
		{"hname", m.HolderName, "持证主体名称"}, {"hcode", m.HolderCode, "持证主体代码"}, {"htype", m.HolderCodeType, "持证主体代码类型"},
		{"serial", m.SerialColumn, "印制编号"}, {"from", m.ValidFrom, "有效期起始日期"}, {"to", m.ValidTo, "有效期截止日期"},
	} {
		i, err := column(t, c.name, c.what)
		if err != nil {
			return nil, "", err
		}
		cols[c.key] = i
	}
	for _, c := range []struct{ constant, col, what string }{
		{m.TypeCode, m.TypeCodeColumn, "证照类型（type_code 或 type_code_column）"},
		{m.ItemCode, m.ItemCodeColumn, "关联事项（item_code 或 item_code_column）"},
		{m.SealID, m.SealIDColumn, "印章（seal_id 或 seal_id_column）"},
	} {
		if (c.constant == "") == (c.col == "") {
			return nil, "", certseal.Errorf(certseal.EInvalid, "映射应指定%s之一", c.what)
		}
	}
	if cols["hname"] < 0 || cols["hcode"] < 0 {
		return nil, "", certseal.Errorf(certseal.EInvalid, "映射应指定持证主体名称和代码所在的列（holder_name_column、holder_code_column）")
	}
	if m.SerialColumn != "" && m.FirstSerial != "" {
		return nil, "", certseal.Errorf(certseal.EInvalid, "印制编号请指定 blank_serial_column 或 first_serial 之一")
	}
	codeType := m.CodeType
	if codeType == "" {
		codeType = CodeUSCC
	}
	var typ catalogue.LicenceType
	if m.TypeCode != "" {
		if err := s.DB.View(func(tx *store.Tx) error {
			var err error
			typ, err = catalogue.GetType(tx, m.TypeCode)
			return err
		}); err != nil {
			return nil, "", err
		}
	}
	var first uint64
	if m.FirstSerial != "" {
		if m.TypeCode == "" {
			return nil, "", certseal.Errorf(certseal.EInvalid, "按起始印制编号顺序编号时，整批应为同一证照类型（type_code）")
		}
		n, err := typ.ParseSerial(strings.TrimSpace(m.FirstSerial))
		if err != nil {
			return nil, "", err
		}
		if n+uint64(len(t.Rows))-1 > typ.MaxSerial() {
			return nil, "", certseal.Errorf(certseal.EInvalid, "从 %s 起顺序编号 %d 张会超出印制编号的位数", m.FirstSerial, len(t.Rows))
		}
		first = n
	}
	fields := map[int]string{}
	used := map[int]bool{}
	for _, i := range cols {
		if i >= 0 {
			used[i] = true
		}
	}
	if len(m.Fields) > MaxValues {
		return nil, "", certseal.Errorf(certseal.EInvalid, "字段映射不能超过%d个", MaxValues)
	}
	for col, field := range m.Fields {
		i, err := column(t, col, "字段")
		if err != nil {
			return nil, "", err
		}
		if field = strings.TrimSpace(field); field == "" {
			return nil, "", certseal.Errorf(certseal.EInvalid, "列“%s”映射的模板字段名为空", col)
		}
		fields[i] = field
	}
	if len(m.Fields) == 0 {
		if m.TypeCode == "" {
			return nil, "", certseal.Errorf(certseal.EInvalid, "证照类型按列指定时，请在 fields 中写明各列对应的模板字段")
		}
		if typ.TemplateID == "" {
			return nil, "", certseal.Errorf(certseal.EInvalid, "证照类型“%s”还没有指定模板", typ.Name)
		}
		tpl, err := s.Templates.Template(ctx, typ.TemplateID, 0)
		if err != nil {
			return nil, "", err
		}
		number := ""
		if tpl.Number != nil {
			number = tpl.Number.Field
		}
		for i, h := range t.Header {
			if _, ok := tpl.Field(h); ok && !used[i] && !isSystemField(h) && h != number {
				fields[i] = h
			}
		}
	}
	out := make([]built, 0, len(t.Rows))
	serialRow := map[string]int{}
	for k, r := range t.Rows {
		b := built{row: r.Number}
		fail := func(format string, args ...any) {
			b.err = &RowError{Row: r.Number, Reason: fmt.Sprintf(format, args...), Code: certseal.EInvalid}
		}
		req := IssueRequest{TypeCode: m.TypeCode, ItemCode: m.ItemCode, SealID: m.SealID, Values: map[string]string{},
			Holder: Holder{Name: r.Cell(cols["hname"]), Code: r.Cell(cols["hcode"]), CodeType: codeType}}
		if i := cols["type"]; i >= 0 {
			req.TypeCode = r.Cell(i)
		}
		if i := cols["item"]; i >= 0 {
			req.ItemCode = r.Cell(i)
		}
		if i := cols["seal"]; i >= 0 {
			req.SealID = r.Cell(i)
		}
		if i := cols["htype"]; i >= 0 && r.Cell(i) != "" {
			req.Holder.CodeType = r.Cell(i)
		}
		switch {
		case cols["serial"] >= 0:
			req.Serial = r.Cell(cols["serial"])
		case m.FirstSerial != "":
			req.Serial = typ.FormatSerial(first + uint64(k))
		}
		for key, dst := range map[string]*string{"from": &req.ValidFrom, "to": &req.ValidTo} {
			if i := cols[key]; i >= 0 && r.Cell(i) != "" {
				d, ok := parseBatchDate(r.Cell(i))
				if !ok {
					fail("“%s”列的日期“%s”无法识别，应为 2029-04-15 或 2029年4月15日", t.Header[i], r.Cell(i))
				}
				*dst = d
			}
		}
		for i, f := range fields {
			if v := r.Cell(i); v != "" {
				req.Values[f] = v
			}
		}
		if b.err == nil && req.Serial != "" {
			key := req.TypeCode + "\x00" + req.Serial
			if prev, dup := serialRow[key]; dup {
				fail("印制编号 %s 与第%d行重复", req.Serial, prev)
			} else {
				serialRow[key] = r.Number
			}
		}
		b.req = req
		out = append(out, b)
	}
	return out, m.TypeCode, nil
}

// checkAll checks every built row with Check, calling progress after each; it stops early (and
// returns ctx's error) when ctx ends.
func (s *Service) checkAll(ctx context.Context, actor certseal.Actor, rows []built, progress func(done int)) ([]RowError, error) {
	// Rows are checked by checkWorkers at once: a row's check is a handful of reads, each a
	// network round trip on etcd (10,000 rows one after the other ran past the batch
	// deadline on a cluster); the report keeps the rows' order.
	ctx = withCheckMemo(ctx) // the template and the signers, looked up once for all the rows
	found := make([]*RowError, len(rows))
	var next, done atomic.Int64
	var mu sync.Mutex // progress is called with a rising count, one call at a time
	var wg sync.WaitGroup
	for range min(checkWorkers, len(rows)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rows) || ctx.Err() != nil {
					return
				}
				if rows[i].err != nil {
					found[i] = rows[i].err
				} else if err := s.Check(ctx, actor, rows[i].req); err != nil {
					found[i] = &RowError{Row: rows[i].row, Reason: certseal.ErrorMessage(err), Code: certseal.ErrorCode(err)}
				}
				if progress != nil {
					mu.Lock()
					progress(int(done.Add(1)))
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var errs []RowError
	for _, e := range found {
		if e != nil {
			errs = append(errs, *e)
		}
	}
	return errs, nil
}

// checkWorkers is how many rows of a batch are checked at once.
const checkWorkers = 8

// CheckBatch reads a CSV or XLSX batch, builds every row's issue request with the mapping and
// checks each row as Issue would (and the blank serials for repeats within the batch), without
// writing anything: the dry run. It returns the report, or an *certseal.Error (EInvalid for a
// file or mapping that cannot be used at all, EForbidden for a role that may not issue).
func (s *Service) CheckBatch(ctx context.Context, actor certseal.Actor, name string, data []byte, m BatchMapping) (BatchReport, error) {
	if actor.Role != certseal.RoleClerk && actor.Role != certseal.RoleBureauOfficer {
		return BatchReport{}, certseal.Errorf(certseal.EForbidden, "只有审批局的窗口工作人员或经办人可以签发证照")
	}
	t, err := ReadTable(name, data)
	if err != nil {
		return BatchReport{}, err
	}
	rows, _, err := s.build(ctx, t, m)
	if err != nil {
		return BatchReport{}, err
	}
	errs, err := s.checkAll(ctx, actor, rows, nil)
	if err != nil {
		return BatchReport{}, err
	}
	if errs == nil {
		errs = []RowError{}
	}
	return BatchReport{Total: len(rows), Valid: len(rows) - len(errs), Errors: errs}, nil
}

// StartBatch reads and builds a batch as CheckBatch does, stores it with status checking, and
// returns it at once; the Batches runner then checks every row and, when all pass, issues them.
// It returns an *certseal.Error like CheckBatch.
func (s *Service) StartBatch(ctx context.Context, actor certseal.Actor, name string, data []byte, m BatchMapping) (Batch, error) {
	if actor.Role != certseal.RoleClerk && actor.Role != certseal.RoleBureauOfficer {
		return Batch{}, certseal.Errorf(certseal.EForbidden, "只有审批局的窗口工作人员或经办人可以签发证照")
	}
	t, err := ReadTable(name, data)
	if err != nil {
		return Batch{}, err
	}
	rows, typeCode, err := s.build(ctx, t, m)
	if err != nil {
		return Batch{}, err
	}
	now := s.Clock.Now().UTC()
	if len(name) > 200 {
		name = name[:200]
	}
	rec := batchRecord{Batch: Batch{OrgID: actor.OrgID, CreatedBy: actor.Username, FileName: name, TypeCode: typeCode,
		Status: BatchChecking, Total: len(rows), CreatedAt: now, UpdatedAt: now}, Actor: actor}
	err = s.DB.Update(func(tx *store.Tx) error {
		n, err := tx.NextID(bucketBatches)
		if err != nil {
			return err
		}
		rec.ID = itoa(n)
		k := store.U64(n)
		for i, b := range rows {
			r := batchRow{Row: b.row, State: rowPending}
			if b.err != nil {
				r.BuildError = b.err
			} else {
				req := b.req
				r.Request = &req
			}
			if err := tx.PutJSON(bucketBatchRows, append(append([]byte{}, k...), store.U64(uint64(i))...), r); err != nil {
				return err
			}
		}
		if err := tx.PutJSON(bucketBatches, k, rec); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "certificate.batch.create", "batch/"+rec.ID,
			map[string]any{"file_name": name, "rows": len(rows), "type_code": typeCode})
	})
	return rec.Batch, err
}

func getBatchTx(tx *store.Tx, id string) (batchRecord, error) {
	var rec batchRecord
	k, ok := store.IDKey(id)
	if ok {
		found, err := tx.GetJSON(bucketBatches, k, &rec)
		if err != nil {
			return rec, err
		}
		ok = found
	}
	if !ok {
		return rec, certseal.Errorf(certseal.ENotFound, "批次 %q 不存在", id)
	}
	return rec, nil
}

// mayReadBatch: administrators and auditors every batch, others their organisation's.
func mayReadBatch(actor certseal.Actor, b *Batch) bool {
	return actor.Role == certseal.RoleAdmin || actor.Role == certseal.RoleAuditor || actor.OrgID == b.OrgID
}

// GetBatch returns a batch with its progress and every row error. It returns an *certseal.Error
// (ENotFound, also for another organisation's batch).
func (s *Service) GetBatch(ctx context.Context, actor certseal.Actor, id string) (Batch, error) {
	var b Batch
	err := s.DB.View(func(tx *store.Tx) error {
		rec, err := getBatchTx(tx, id)
		if err != nil {
			return err
		}
		if !mayReadBatch(actor, &rec.Batch) {
			return certseal.Errorf(certseal.ENotFound, "批次 %q 不存在", id)
		}
		b = rec.Batch
		k, _ := store.IDKey(id)
		b.Errors = []RowError{}
		return tx.Scan(bucketBatchErrors, k, nil, func(_, v []byte) error {
			var e RowError
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			b.Errors = append(b.Errors, e)
			return nil
		})
	})
	return b, err
}

// ListBatches returns up to limit batches the actor may see, newest first, before the cursor (a
// batch id), without their row errors, and the next cursor.
func (s *Service) ListBatches(ctx context.Context, actor certseal.Actor, cursor string, limit int) ([]Batch, string, error) {
	out := []Batch{}
	next := ""
	var before []byte
	if cursor != "" {
		k, ok := store.IDKey(cursor)
		if !ok {
			return nil, "", certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", cursor)
		}
		before = k
	}
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.ScanReverse(bucketBatches, nil, before, func(_, v []byte) error {
			var rec batchRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !mayReadBatch(actor, &rec.Batch) {
				return nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return store.ErrStop
			}
			out = append(out, rec.Batch)
			return nil
		})
	})
	return out, next, err
}
