// Package exchange exports issued certificates and their status changes for the provincial
// integrated platform (一体化平台): one record per change, in the order of the certificate
// outbox's sequence numbers, with the national e-licence metadata (GB/T 36903-style fields) and
// a stable operation code table. A platform adapter reads it incrementally by sequence number
// (Changes, a cursor) or as a file for a period or a sequence range (Export), in JSON or XML with
// the same fields. The format is "certseal-exchange/1"; docs/exchange.md describes it.
//
// The sequence is the outbox's (certs/outbox.go): every issue and status change appends one
// event in the same transaction as the change, numbered by the store's bucket sequence, which is
// read and written inside that transaction. On bbolt (one writer) and on etcd (serializable
// transactions: two that read the same sequence conflict and one runs again) the numbers are
// therefore handed out without gaps and become visible in order: a reader that sees number N
// sees every number below it. The outbox is never pruned.
package exchange

import (
	"context"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Format is the version every exported document carries in its "format" field.
const Format = "certseal-exchange/1"

// Limits.
const (
	DefaultLimit = 100   // records per cursor page when limit is not given
	MaxLimit     = 1000  // records per cursor page
	MaxFile      = 50000 // records per file export
)

// Op is one row of the operation code table (操作类型代码).
type Op struct {
	Code string `json:"code"` // the exchange's code, stable across versions of certseal
	Name string `json:"name"` // its Chinese name
	// National is the national operation code the record also carries (99 其他 where the
	// national list has none).
	National string `json:"national_code"`
	// Op is certseal's operation (certs.Ops, issue, superseded; new_version for the record of
	// an old version when its new version is issued).
	Op string `json:"op"`
}

// Ops is the operation code table. Codes 01-10 are the national operation codes with their
// national meaning; 9x are the exchange's own for the operations the national list files
// under 99 其他. A code once published is never reused for another meaning.
var Ops = []Op{
	{"01", "新发", "01", "issue"},
	{"02", "延续", "02", "renew"},
	{"03", "暂扣", "03", "suspend"},
	{"04", "过期失效", "04", "expire"},
	{"05", "注销", "05", "cancel"},
	{"06", "暂扣发还", "06", "reinstate"},
	{"08", "转入", "08", "transfer_in"},
	{"09", "变更", "09", "change"},
	{"10", "取消转出", "10", "cancel_transfer"},
	{"91", "撤销", "99", "revoke"},
	{"92", "撤回", "99", "withdraw"},
	{"93", "吊销", "99", "penalty_withdraw"},
	{"94", "办理转出", "99", "transfer_out"},
	{"95", "补证（挂失补办）", "99", "replace"},
	{"96", "被新版本取代", "99", "superseded"},
	{"97", "已签发新版本", "99", "new_version"},
}

// Statuses is the status code table (证照状态代码): the national codes certs uses.
var Statuses = []struct {
	Code certs.Status `json:"code"`
	Name string       `json:"name"`
}{
	{certs.StatusValid, "有效"}, {certs.StatusSuspended, "暂扣"}, {certs.StatusRevoked, "撤销"}, {certs.StatusCancelled, "注销"},
	{certs.StatusExpired, "失效"}, {certs.StatusTransferredOut, "办理转出"}, {certs.StatusPenalty, "吊销"}, {certs.StatusOther, "其他"},
}

func opOf(op string) (Op, bool) {
	for _, o := range Ops {
		if o.Op == op {
			return o, true
		}
	}
	return Op{}, false
}

// Record is one change of one certificate, with the certificate's national metadata as it
// stood after the change. JSON and XML carry the same fields under the same names.
type Record struct {
	Seq uint64 `json:"seq" xml:"seq,attr"`
	// OperationCode and OperationName are from Ops; NationalOperationCode is the national code
	// (01-10, or 99 其他).
	OperationCode         string `json:"operation_code" xml:"operation_code"`
	OperationName         string `json:"operation_name" xml:"operation_name"`
	NationalOperationCode string `json:"national_operation_code" xml:"national_operation_code"`
	OperatedAt            string `json:"operated_at" xml:"operated_at"` // RFC 3339, China time
	Reason                string `json:"reason,omitempty" xml:"reason,omitempty"`

	Identifier    string `json:"identifier" xml:"identifier"` // 证照标识 (GB/T 36904)
	LicenceNumber string `json:"licence_number" xml:"licence_number"`
	Name          string `json:"name" xml:"name"`
	Version       int    `json:"version" xml:"version"`
	// PreviousIdentifier is the version this one was made from; NewIdentifier the version that
	// was made from this one (operation 96, 97).
	PreviousIdentifier string `json:"previous_identifier,omitempty" xml:"previous_identifier,omitempty"`
	NewIdentifier      string `json:"new_identifier,omitempty" xml:"new_identifier,omitempty"`
	TypeCode           string `json:"type_code" xml:"type_code"`
	IssuerName         string `json:"issuer_name" xml:"issuer_name"`
	IssuerCode         string `json:"issuer_code" xml:"issuer_code"`
	DefinerName        string `json:"definer_name" xml:"definer_name"`
	DefinerCode        string `json:"definer_code" xml:"definer_code"`
	HolderName         string `json:"holder_name" xml:"holder_name"`
	HolderCode         string `json:"holder_code" xml:"holder_code"`
	HolderCodeType     string `json:"holder_code_type" xml:"holder_code_type"`
	IssueDate          string `json:"issue_date" xml:"issue_date"`
	ValidFrom          string `json:"valid_from" xml:"valid_from"`
	ValidTo            string `json:"valid_to,omitempty" xml:"valid_to,omitempty"`
	AreaCode           string `json:"area_code" xml:"area_code"`
	ItemName           string `json:"item_name" xml:"item_name"`
	ItemCode           string `json:"item_code" xml:"item_code"`
	StatusCode         string `json:"status_code" xml:"status_code"`
	StatusName         string `json:"status_name" xml:"status_name"`
}

// Service reads the exchange records.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
}

// Page is one answer of Changes.
type Page struct {
	Format      string   `json:"format"`
	GeneratedAt string   `json:"generated_at"`
	After       uint64   `json:"after"`
	Next        uint64   `json:"next"`     // the after of the next call: the last seq returned, or After
	LastSeq     uint64   `json:"last_seq"` // the newest sequence number when read
	More        bool     `json:"has_more"`
	Count       int      `json:"count"`
	Changes     []Record `json:"changes"`
}

func (s *Service) now() time.Time { return s.Clock.Now() }

// read returns up to limit records with seq in (after, upto] (upto 0: no end) whose time is in
// [from, to) (zero: no bound), and the newest sequence number; more is true when records
// beyond limit remain.
func read(tx *store.Tx, after, upto uint64, from, to time.Time, limit int) (out []Record, last uint64, more bool, err error) {
	last = certs.LastEventSeqTx(tx)
	cur := after
	for {
		evs, err := certs.EventsAfterTx(tx, cur, 256)
		if err != nil {
			return nil, 0, false, err
		}
		if len(evs) == 0 {
			return out, last, false, nil
		}
		for _, e := range evs {
			cur = e.Seq
			if upto != 0 && e.Seq > upto {
				return out, last, false, nil
			}
			if (!from.IsZero() && e.At.Before(from)) || (!to.IsZero() && !e.At.Before(to)) {
				continue
			}
			if len(out) == limit {
				return out, last, true, nil
			}
			r, err := recordOf(tx, e)
			if err != nil {
				return nil, 0, false, err
			}
			out = append(out, r)
		}
	}
}

// recordOf joins an outbox event with its certificate's record: the metadata that never
// changes for a version from the record, the status, holder and dates as of the change from
// the event.
func recordOf(tx *store.Tx, e certs.Event) (Record, error) {
	c, err := certs.GetTx(tx, e.CertificateID)
	if err != nil {
		return Record{}, err
	}
	op := e.Operation
	if e.NewID != "" && op != "superseded" {
		op = "new_version"
	}
	o, ok := opOf(op)
	if !ok {
		// an operation added to certs without a row here: exported under its national code so
		// nothing is lost; the table test fails so the row gets added
		o = Op{Code: e.OperationCode, Name: certs.OpLabel(op), National: e.OperationCode, Op: op}
	}
	r := Record{Seq: e.Seq, OperationCode: o.Code, OperationName: o.Name, NationalOperationCode: o.National,
		OperatedAt: e.At.In(certseal.China).Format(time.RFC3339), Reason: e.Reason,
		Identifier: c.Identifier, LicenceNumber: c.LicenceNumber, Name: c.Name, Version: c.Version,
		TypeCode: c.TypeCode, IssuerName: c.IssuerName, IssuerCode: c.IssuerCode, DefinerName: c.DefinerName, DefinerCode: c.DefinerCode,
		HolderName: e.Holder.Name, HolderCode: e.Holder.Code, HolderCodeType: e.Holder.CodeType,
		IssueDate: c.IssueDate, ValidFrom: e.ValidFrom, ValidTo: e.ValidTo, AreaCode: c.AreaCode,
		ItemName: c.ItemName, ItemCode: c.ItemCode, StatusCode: string(e.Status), StatusName: e.Status.Label()}
	if c.PreviousID != "" && e.NewID == "" {
		if p, err := certs.GetTx(tx, c.PreviousID); err == nil {
			r.PreviousIdentifier = p.Identifier
		}
	}
	if e.NewID != "" {
		if n, err := certs.GetTx(tx, e.NewID); err == nil {
			r.NewIdentifier = n.Identifier
		}
	}
	return r, nil
}

func mayExport(actor certseal.Actor) error {
	if actor.Role != certseal.RoleAdmin && actor.Role != certseal.RoleAuditor {
		return certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员和审计员可以导出交换数据")
	}
	return nil
}

// Changes returns up to limit records with sequence numbers above after, in order, and the
// cursor for the next call. A page that returns records is audited (exchange.read, with the
// range). It returns an *certseal.Error: EInvalid for a limit outside 1..MaxLimit (0 means
// DefaultLimit), EForbidden for a role other than admin or auditor.
func (s *Service) Changes(ctx context.Context, actor certseal.Actor, after uint64, limit int) (Page, error) {
	if err := mayExport(actor); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, certseal.Errorf(certseal.EInvalid, "limit 应为1至%d", MaxLimit).WithDetail("field", "limit")
	}
	now := s.now()
	p := Page{Format: Format, GeneratedAt: now.In(certseal.China).Format(time.RFC3339), After: after, Next: after}
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		p.Changes, p.LastSeq, p.More, err = read(tx, after, 0, time.Time{}, time.Time{}, limit)
		return err
	})
	if err != nil {
		return Page{}, err
	}
	p.Count = len(p.Changes)
	if p.Changes == nil {
		p.Changes = []Record{}
	}
	if n := len(p.Changes); n > 0 {
		p.Next = p.Changes[n-1].Seq
		if err := s.audit(actor, now, "exchange.read", map[string]any{"after": after, "first": p.Changes[0].Seq, "last": p.Next, "count": n}); err != nil {
			return Page{}, err
		}
	}
	return p, nil
}

func (s *Service) audit(actor certseal.Actor, now time.Time, action string, detail any) error {
	return s.DB.Update(func(tx *store.Tx) error {
		return audit.Append(tx, now, actor, action, "exchange/changes", detail)
	})
}

// LastSeq returns the newest sequence number of the feed (0 when nothing was issued yet).
func (s *Service) LastSeq(ctx context.Context) (uint64, error) {
	var n uint64
	err := s.DB.View(func(tx *store.Tx) error {
		n = certs.LastEventSeqTx(tx)
		return nil
	})
	return n, err
}
