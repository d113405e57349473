package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/bits"
	"sort"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// seesAll reports whether the actor may read every organisation's books: administrators and
// auditors.
func seesAll(actor certseal.Actor) bool {
	return actor.Role == certseal.RoleAdmin || actor.Role == certseal.RoleAuditor
}

// viewScope returns the organisation whose books the actor reads: the one asked for (any, "" =
// all, for administrators and auditors), otherwise the actor's own. It returns an *Error with code
// EForbidden when another actor asks for another organisation.
func viewScope(actor certseal.Actor, org string) (string, error) {
	if seesAll(actor) {
		return org, nil
	}
	if actor.OrgID == "" {
		return "", certseal.Errorf(certseal.EForbidden, "未指定操作机构")
	}
	if org != "" && org != actor.OrgID {
		return "", certseal.Errorf(certseal.EForbidden, "不能查看其他机构的空白证照台账")
	}
	return actor.OrgID, nil
}

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultPage
	}
	return min(limit, MaxPageSize)
}

// names caches organisation and type names for one query.
type names struct {
	tx    *store.Tx
	orgs  map[string]string
	types map[string]*catalogue.LicenceType
}

func newNames(tx *store.Tx) *names {
	return &names{tx: tx, orgs: map[string]string{}, types: map[string]*catalogue.LicenceType{}}
}

func (n *names) org(id string) string {
	if v, ok := n.orgs[id]; ok {
		return v
	}
	v := orgName(n.tx, id)
	n.orgs[id] = v
	return v
}

func (n *names) typ(code string) *catalogue.LicenceType {
	if t, ok := n.types[code]; ok {
		return t
	}
	t, err := catalogue.GetType(n.tx, code)
	if err != nil {
		t = catalogue.LicenceType{Code: code}
	}
	n.types[code] = &t
	return &t
}

// --- stock ---

// StockQuery selects stock lines. HolderID "" means the actor's own organisation (every holder
// for administrators and auditors). RangeLimit is the number of ranges listed per line: 0 for
// DefaultPage, at most MaxPageSize, -1 for all of them (exports); StockRanges pages further.
type StockQuery struct {
	HolderID   string `json:"holder_id,omitempty"`
	TypeCode   string `json:"type_code,omitempty"`
	State      State  `json:"state,omitempty"`
	RangeLimit int    `json:"range_limit,omitempty"`
}

// StockLine is the stock of one holder × licence type × state: the number of serials and their
// ranges in serial order. When MoreRanges is set, StockRanges with After = NextAfter lists the
// rest.
type StockLine struct {
	HolderID   string        `json:"holder_id"`
	HolderName string        `json:"holder_name"`
	TypeCode   string        `json:"type_code"`
	TypeName   string        `json:"type_name"`
	State      State         `json:"state"`
	StateLabel string        `json:"state_label"`
	Count      uint64        `json:"count"`
	Ranges     []SerialRange `json:"ranges"`
	MoreRanges bool          `json:"more_ranges,omitempty"`
	NextAfter  string        `json:"next_after,omitempty"`
}

// Stock returns the stock lines matching q (lines with no serials are left out), by holder,
// type and state. Counts come from the aggregate counters, so the answer costs O(lines + ranges
// listed) whatever the number of ranges held. It returns an *Error: EInvalid for an unknown state,
// EForbidden for another organisation's stock.
func (s *Service) Stock(ctx context.Context, actor certseal.Actor, q StockQuery) ([]StockLine, error) {
	if q.State != "" && !q.State.Valid() {
		return nil, certseal.Errorf(certseal.EInvalid, "库存状态 %q 无效", q.State)
	}
	holder, err := viewScope(actor, q.HolderID)
	if err != nil {
		return nil, err
	}
	limit := q.RangeLimit
	switch {
	case limit == 0:
		limit = DefaultPage
	case limit > MaxPageSize:
		limit = MaxPageSize
	}
	var out []StockLine
	err = s.DB.View(func(tx *store.Tx) error {
		var prefix []byte
		switch {
		case holder != "" && q.TypeCode != "":
			prefix = store.Prefix(holder, q.TypeCode)
		case holder != "":
			prefix = store.Prefix(holder)
		}
		nm := newNames(tx)
		return tx.Scan(bucketCounts, prefix, nil, func(k, v []byte) error {
			parts := bytes.Split(k, []byte{0})
			if len(parts) != 3 {
				return fmt.Errorf("inventory: corrupt count key %q", k)
			}
			l := StockLine{HolderID: string(parts[0]), TypeCode: string(parts[1]), State: State(parts[2]), Count: store.ParseU64(v)}
			if l.Count == 0 || (q.TypeCode != "" && l.TypeCode != q.TypeCode) || (q.State != "" && l.State != q.State) {
				return nil
			}
			t := nm.typ(l.TypeCode)
			l.HolderName, l.TypeName, l.StateLabel = nm.org(l.HolderID), t.Name, l.State.Label()
			if limit != 0 {
				rs, next, err := stockRanges(tx, t, l.HolderID, l.State, 0, limit)
				if err != nil {
					return err
				}
				l.Ranges, l.NextAfter, l.MoreRanges = rs, next, next != ""
			}
			out = append(out, l)
			return nil
		})
	})
	return out, err
}

// stockRanges lists up to limit (all when negative) ranges of the holder's serials of the type in
// the state, starting after serial number after.
func stockRanges(tx *store.Tx, t *catalogue.LicenceType, holder string, st State, after uint64, limit int) ([]SerialRange, string, error) {
	prefix := store.Prefix(holder, t.Code, string(st))
	var start []byte
	if after > 0 {
		start = append(bytes.Clone(prefix), store.U64(after)...)
	}
	out := []SerialRange{}
	next := ""
	err := tx.Scan(bucketByHolder, prefix, start, func(k, v []byte) error {
		if limit >= 0 && len(out) == limit {
			next = out[len(out)-1].First
			return store.ErrStop
		}
		out = append(out, span{store.ParseU64(k[len(k)-8:]), store.ParseU64(v)}.printed(t))
		return nil
	})
	return out, next, err
}

// StockRanges pages through the ranges of one stock line: up to limit ranges whose first serial
// is after the printed serial `after` ("" for the first page), and the cursor of the next page
// ("" at the end). It returns an *Error: EInvalid for a bad state or cursor, ENotFound for an
// unknown type, EForbidden for another organisation's stock.
func (s *Service) StockRanges(ctx context.Context, actor certseal.Actor, holderID, typeCode string, st State, after string, limit int) ([]SerialRange, string, error) {
	if !st.Valid() {
		return nil, "", certseal.Errorf(certseal.EInvalid, "库存状态 %q 无效", st)
	}
	holder, err := viewScope(actor, holderID)
	if err != nil {
		return nil, "", err
	}
	if holder == "" {
		return nil, "", certseal.Errorf(certseal.EInvalid, "请指定持有机构")
	}
	var out []SerialRange
	var next string
	err = s.DB.View(func(tx *store.Tx) error {
		t, err := paperType(tx, typeCode)
		if err != nil {
			return err
		}
		var a uint64
		if after != "" {
			if a, err = t.ParseSerial(after); err != nil {
				return certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", after)
			}
		}
		out, next, err = stockRanges(tx, &t, holder, st, a, pageSize(limit))
		return err
	})
	return out, next, err
}

// --- movements ---

// MovementFilter selects movements; zero fields match everything. HolderID matches movements
// that sent serials from or brought them to the organisation. From is inclusive, To exclusive.
type MovementFilter struct {
	HolderID string    `json:"holder_id,omitempty"`
	TypeCode string    `json:"type_code,omitempty"`
	Kind     Kind      `json:"kind,omitempty"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
}

func (f *MovementFilter) match(m *Movement) bool {
	return (f.TypeCode == "" || m.TypeCode == f.TypeCode) && (f.Kind == "" || m.Kind == f.Kind) &&
		(f.From.IsZero() || !m.Time.Before(f.From)) && (f.To.IsZero() || m.Time.Before(f.To))
}

// Movements returns up to limit movements matching f, newest first, with ids below before (0 for
// the newest), and the cursor of the next page (0 at the end). With a holder it walks that
// holder's index (by type too when both are given), otherwise the whole ledger. Actors other than
// administrators and auditors see their own organisation's movements only. It returns an *Error:
// EInvalid for an unknown kind, EForbidden for another organisation.
func (s *Service) Movements(ctx context.Context, actor certseal.Actor, f MovementFilter, before uint64, limit int) ([]Movement, uint64, error) {
	if f.Kind != "" && !f.Kind.Valid() {
		return nil, 0, certseal.Errorf(certseal.EInvalid, "变动类型 %q 无效", f.Kind)
	}
	holder, err := viewScope(actor, f.HolderID)
	if err != nil {
		return nil, 0, err
	}
	limit = pageSize(limit)
	out := []Movement{}
	var next uint64
	err = s.DB.View(func(tx *store.Tx) error {
		visit := func(id uint64, raw []byte) error {
			if raw == nil {
				raw = tx.Get(bucketMovements, store.U64(id))
			}
			var m Movement
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			if !f.match(&m) {
				return nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return store.ErrStop
			}
			out = append(out, m)
			return nil
		}
		var bucket store.Bucket
		var prefix []byte
		switch {
		case holder != "" && f.TypeCode != "":
			bucket, prefix = bucketMvByOrgType, store.Prefix(holder, f.TypeCode)
		case holder != "":
			bucket, prefix = bucketMvByOrg, store.Prefix(holder)
		default:
			var start []byte
			if before > 0 {
				start = store.U64(before)
			}
			if err := tx.ScanReverse(bucketMovements, nil, start, func(k, v []byte) error { return visit(store.ParseU64(k), v) }); err != nil {
				return err
			}
			s.describe(tx, out)
			return nil
		}
		var start []byte
		if before > 0 {
			start = append(bytes.Clone(prefix), store.U64(before)...)
		}
		if err := tx.ScanReverse(bucket, prefix, start, func(k, _ []byte) error { return visit(store.ParseU64(k[len(k)-8:]), nil) }); err != nil {
			return err
		}
		s.describe(tx, out)
		return nil
	})
	return out, next, err
}

// GetMovement returns one movement. Actors other than administrators and auditors see only
// movements of their own organisation. It returns an *Error: ENotFound or EForbidden.
func (s *Service) GetMovement(ctx context.Context, actor certseal.Actor, id uint64) (Movement, error) {
	var m Movement
	err := s.DB.View(func(tx *store.Tx) error {
		ok, err := tx.GetJSON(bucketMovements, store.U64(id), &m)
		if err != nil {
			return err
		}
		if !ok {
			return certseal.Errorf(certseal.ENotFound, "库存变动记录 %d 不存在", id)
		}
		if !seesAll(actor) && m.FromOrgID != actor.OrgID && m.ToOrgID != actor.OrgID {
			return certseal.Errorf(certseal.EForbidden, "不能查看其他机构的库存变动")
		}
		ms := []Movement{m}
		s.describe(tx, ms)
		m = ms[0]
		return nil
	})
	return m, err
}

// --- trace ---

// TraceResult is the history of one serial: where it is now and every movement that touched it,
// oldest first.
type TraceResult struct {
	TypeCode   string     `json:"type_code"`
	TypeName   string     `json:"type_name"`
	Serial     string     `json:"serial"`
	Known      bool       `json:"known"`
	HolderID   string     `json:"holder_id,omitempty"`
	HolderName string     `json:"holder_name,omitempty"`
	State      State      `json:"state,omitempty"`
	StateLabel string     `json:"state_label,omitempty"`
	Movements  []Movement `json:"movements"`
}

// Trace returns every movement that touched one serial. The trace index stores each moved range
// under its size class c = bits.Len64(last-first), then its first serial; a range of class c that
// holds serial s starts in [s-2^c+1, s], so the trace does one seek per size class (at most 41 for
// the widest serials) and reads the ranges that start in that window: O(C·log M + k + f) for M
// indexed ranges, k movements found and f nearby ranges of similar size that end before s. It
// never scans the whole ledger. Administrators and auditors may trace any serial; others only a
// serial their organisation holds or that one of its movements touched. It returns an *Error:
// EInvalid for a bad serial, ENotFound for an unknown type, EForbidden.
func (s *Service) Trace(ctx context.Context, actor certseal.Actor, typeCode, serial string) (TraceResult, error) {
	res := TraceResult{TypeCode: typeCode, Serial: serial, Movements: []Movement{}}
	err := s.DB.View(func(tx *store.Tx) error {
		t, err := paperType(tx, typeCode)
		if err != nil {
			return err
		}
		res.TypeName = t.Name
		sp, err := parseSpan(&t, serial, serial)
		if err != nil {
			return err
		}
		n := sp.first
		if r, ok, err := rangeAt(tx, t.Code, n); err != nil {
			return err
		} else if ok {
			res.Known, res.HolderID, res.State, res.StateLabel = true, r.holder, r.state, r.state.Label()
			res.HolderName = orgName(tx, r.holder)
		}
		ids, err := traceIDs(tx, t.Code, n, bits.Len64(t.MaxSerial()))
		if err != nil {
			return err
		}
		allowed := seesAll(actor) || res.HolderID == actor.OrgID
		for _, id := range ids {
			var m Movement
			if _, err := tx.GetJSON(bucketMovements, store.U64(id), &m); err != nil {
				return err
			}
			if m.FromOrgID == actor.OrgID || m.ToOrgID == actor.OrgID {
				allowed = true
			}
			res.Movements = append(res.Movements, m)
		}
		if !allowed {
			return certseal.Errorf(certseal.EForbidden, "印制编号 %s 与本机构无关，不能查看其流转记录", serial)
		}
		s.describe(tx, res.Movements)
		return nil
	})
	return res, err
}

func traceIDs(tx *store.Tx, typeCode string, n uint64, classes int) ([]uint64, error) {
	var ids []uint64
	c := tx.Cursor(bucketTrace)
	for class := 0; class <= classes; class++ {
		p := append(store.Prefix(typeCode), byte(class))
		var lo uint64
		if w := uint64(1)<<class - 1; n > w {
			lo = n - w
		}
		for k, v := c.Seek(append(bytes.Clone(p), store.U64(lo)...)); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
			rest := k[len(p):]
			if len(rest) != 16 {
				return nil, fmt.Errorf("inventory: corrupt trace key %x", k)
			}
			first := store.ParseU64(rest[:8])
			if first > n {
				break
			}
			if store.ParseU64(v) >= n {
				ids = append(ids, store.ParseU64(rest[8:]))
			}
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// --- reconciliation ---

// Reconciliation is the account of one organisation's stock of one licence type over a period
// [From, To): Opening + Received − Sent − Used − Voided − Lost = Closing, all from the ledger.
// Destroyed (voided forms destroyed) and CopiesLost (used forms whose paper copy was lost) do not
// touch the stock in hand and are shown for information. When the period runs to now, BooksInStock
// is the current in-stock count and Balanced says whether Closing equals it.
type Reconciliation struct {
	OrgID        string    `json:"org_id"`
	OrgName      string    `json:"org_name"`
	TypeCode     string    `json:"type_code"`
	TypeName     string    `json:"type_name"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Opening      int64     `json:"opening"`
	Received     int64     `json:"received"`
	Sent         int64     `json:"sent"`
	Used         int64     `json:"used"`
	Voided       int64     `json:"voided"`
	Lost         int64     `json:"lost"`
	Closing      int64     `json:"closing"`
	Destroyed    int64     `json:"destroyed"`
	CopiesLost   int64     `json:"copies_lost"`
	Checked      bool      `json:"checked"`
	BooksInStock int64     `json:"books_in_stock,omitempty"`
	Balanced     bool      `json:"balanced"`
}

// Reconcile computes the reconciliation of an organisation's stock of a type over [from, to)
// from the ledger alone (zero from: since the beginning; zero to: until now). It reads the
// organisation's index for the type, never decoding a movement: O(movements of that organisation
// and type). It returns an *Error: EInvalid for a reversed period, ENotFound for an unknown type
// or organisation, EForbidden for another organisation's books.
func (s *Service) Reconcile(ctx context.Context, actor certseal.Actor, orgID, typeCode string, from, to time.Time) (Reconciliation, error) {
	var r Reconciliation
	org, err := viewScope(actor, orgID)
	if err != nil {
		return r, err
	}
	if org == "" {
		return r, certseal.Errorf(certseal.EInvalid, "请指定机构")
	}
	now := s.Clock.Now()
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return r, certseal.Errorf(certseal.EInvalid, "对账期间的开始时间应早于结束时间")
	}
	err = s.DB.View(func(tx *store.Tx) error {
		var err error
		r, err = reconcileTx(tx, org, typeCode, from, to, now)
		return err
	})
	return r, err
}

func reconcileTx(tx *store.Tx, orgID, typeCode string, from, to, now time.Time) (Reconciliation, error) {
	var r Reconciliation
	o, err := orgs.Get(tx, orgID)
	if err != nil {
		return r, err
	}
	t, err := paperType(tx, typeCode)
	if err != nil {
		return r, err
	}
	r = Reconciliation{OrgID: o.ID, OrgName: o.Name, TypeCode: t.Code, TypeName: t.Name, From: from.UTC(), To: to.UTC()}
	if to.IsZero() {
		r.To = now.UTC()
	}
	err = tx.Scan(bucketMvByOrgType, store.Prefix(o.ID, t.Code), nil, func(_, v []byte) error {
		if len(v) != 17 {
			return fmt.Errorf("inventory: corrupt movement index")
		}
		at := time.Unix(0, int64(store.ParseU64(v[:8])))
		n := int64(store.ParseU64(v[9:]))
		if !to.IsZero() && !at.Before(to) {
			return nil
		}
		if !from.IsZero() && at.Before(from) {
			switch v[8] {
			case colReceived:
				r.Opening += n
			case colSent, colUsed, colVoided, colLost:
				r.Opening -= n
			}
			return nil
		}
		switch v[8] {
		case colReceived:
			r.Received += n
		case colSent:
			r.Sent += n
		case colUsed:
			r.Used += n
		case colVoided:
			r.Voided += n
		case colLost:
			r.Lost += n
		case colDestroyed:
			r.Destroyed += n
		case colCopyLost:
			r.CopiesLost += n
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	r.Closing = r.Opening + r.Received - r.Sent - r.Used - r.Voided - r.Lost
	if to.IsZero() || !to.Before(now) {
		r.Checked = true
		r.BooksInStock = int64(count(tx, o.ID, t.Code, InStock))
		r.Balanced = r.BooksInStock == r.Closing
	} else {
		r.Balanced = r.Closing >= 0
	}
	return r, nil
}

// --- thresholds and low stock ---

// Threshold is the in-stock level of a licence type below which a holder wants an alert.
type Threshold struct {
	HolderID  string `json:"holder_id"`
	TypeCode  string `json:"type_code"`
	Threshold uint64 `json:"threshold"`
}

// SetThreshold sets the actor's organisation's alert level for a type; 0 removes it. It returns
// an *Error: EInvalid, ENotFound for an unknown type, EForbidden for an auditor.
func (s *Service) SetThreshold(ctx context.Context, actor certseal.Actor, typeCode string, threshold uint64) (Threshold, error) {
	th := Threshold{HolderID: actor.OrgID, TypeCode: typeCode, Threshold: threshold}
	err := s.DB.Update(func(tx *store.Tx) error {
		if err := canMove(actor, false); err != nil {
			return err
		}
		if _, err := actorOrg(tx, actor); err != nil {
			return err
		}
		t, err := paperType(tx, typeCode)
		if err != nil {
			return err
		}
		if threshold > t.MaxSerial() {
			return certseal.Errorf(certseal.EInvalid, "预警数量不能超过%d", t.MaxSerial())
		}
		k := store.Key(actor.OrgID, t.Code)
		if threshold == 0 {
			err = tx.Delete(bucketThresholds, k)
		} else {
			err = tx.Put(bucketThresholds, k, store.U64(threshold))
		}
		if err != nil {
			return err
		}
		return audit.Append(tx, s.Clock.Now(), actor, "inventory.threshold", "inventory_threshold/"+actor.OrgID+"/"+t.Code, th)
	})
	return th, err
}

// Thresholds returns the alert levels of a holder ("" = own; every holder for administrators and
// auditors). It returns an *Error with code EForbidden for another organisation.
func (s *Service) Thresholds(ctx context.Context, actor certseal.Actor, holderID string) ([]Threshold, error) {
	holder, err := viewScope(actor, holderID)
	if err != nil {
		return nil, err
	}
	out := []Threshold{}
	err = s.DB.View(func(tx *store.Tx) error {
		return scanThresholds(tx, holder, func(th Threshold) { out = append(out, th) })
	})
	return out, err
}

func scanThresholds(tx *store.Tx, holder string, fn func(Threshold)) error {
	var prefix []byte
	if holder != "" {
		prefix = store.Prefix(holder)
	}
	return tx.Scan(bucketThresholds, prefix, nil, func(k, v []byte) error {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 2 {
			return fmt.Errorf("inventory: corrupt threshold key %q", k)
		}
		fn(Threshold{HolderID: string(parts[0]), TypeCode: string(parts[1]), Threshold: store.ParseU64(v)})
		return nil
	})
}

// LowStockAlert is a holder's type whose in-stock count is below the threshold it set.
type LowStockAlert struct {
	HolderID   string `json:"holder_id"`
	HolderName string `json:"holder_name"`
	TypeCode   string `json:"type_code"`
	TypeName   string `json:"type_name"`
	Threshold  uint64 `json:"threshold"`
	InStock    uint64 `json:"in_stock"`
}

// LowStock lists the holders and types whose in-stock count is below their threshold, for one
// holder ("" = own; every holder for administrators and auditors). It costs one read per
// threshold. It returns an *Error with code EForbidden for another organisation.
func (s *Service) LowStock(ctx context.Context, actor certseal.Actor, holderID string) ([]LowStockAlert, error) {
	holder, err := viewScope(actor, holderID)
	if err != nil {
		return nil, err
	}
	out := []LowStockAlert{}
	err = s.DB.View(func(tx *store.Tx) error {
		nm := newNames(tx)
		return scanThresholds(tx, holder, func(th Threshold) {
			n := count(tx, th.HolderID, th.TypeCode, InStock)
			if n < th.Threshold {
				out = append(out, LowStockAlert{HolderID: th.HolderID, HolderName: nm.org(th.HolderID), TypeCode: th.TypeCode,
					TypeName: nm.typ(th.TypeCode).Name, Threshold: th.Threshold, InStock: n})
			}
		})
	})
	return out, err
}

// --- verification ---

// VerifyTx checks the ledger's invariants inside tx: per type, the ranges are disjoint, well
// formed and merged (no two touching ranges with the same holder, state and source); the holder
// index lists exactly the ranges; every aggregate counter equals the sum of its ranges; and the
// serials over all holders and states equal what was received. It returns an error describing
// the first violation, or nil.
func VerifyTx(tx *store.Tx) error {
	sums := map[string]uint64{}   // countKey -> serials
	totals := map[string]uint64{} // type -> serials
	nRanges := 0
	var prev rng
	prevType := ""
	err := tx.Scan(bucketRanges, nil, nil, func(k, v []byte) error {
		r, err := decodeRange(k, v)
		if err != nil {
			return err
		}
		typ := string(k[:len(k)-9])
		if r.first == 0 || r.first > r.last || !r.state.Valid() || r.holder == "" {
			return fmt.Errorf("inventory: malformed range %s/%d-%d", typ, r.first, r.last)
		}
		if typ == prevType {
			if r.first <= prev.last {
				return fmt.Errorf("inventory: ranges %d-%d and %d-%d of %s overlap", prev.first, prev.last, r.first, r.last, typ)
			}
			if r.first == prev.last+1 && r.attrs == prev.attrs {
				return fmt.Errorf("inventory: ranges %d-%d and %d-%d of %s are not merged", prev.first, prev.last, r.first, r.last, typ)
			}
		}
		if r.state != InStock && r.source != "" {
			return fmt.Errorf("inventory: range %s/%d-%d not in stock keeps a source", typ, r.first, r.last)
		}
		if got := tx.Get(bucketByHolder, holderKey(r.holder, typ, r.state, r.first)); got == nil || store.ParseU64(got) != r.last {
			return fmt.Errorf("inventory: range %s/%d-%d missing from the holder index", typ, r.first, r.last)
		}
		sums[string(countKey(r.holder, typ, r.state))] += r.n()
		totals[typ] += r.n()
		nRanges++
		prev, prevType = r, typ
		return nil
	})
	if err != nil {
		return err
	}
	nIdx := 0
	if err := tx.Scan(bucketByHolder, nil, nil, func(_, _ []byte) error { nIdx++; return nil }); err != nil {
		return err
	}
	if nIdx != nRanges {
		return fmt.Errorf("inventory: holder index has %d entries for %d ranges", nIdx, nRanges)
	}
	err = tx.Scan(bucketCounts, nil, nil, func(k, v []byte) error {
		if got, want := store.ParseU64(v), sums[string(k)]; got != want {
			return fmt.Errorf("inventory: counter %q is %d, its ranges hold %d", k, got, want)
		}
		delete(sums, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k, n := range sums {
		return fmt.Errorf("inventory: %d serials under %q have no counter", n, k)
	}
	err = tx.Scan(bucketTotals, nil, nil, func(k, v []byte) error {
		if got, want := store.ParseU64(v), totals[string(k)]; got != want {
			return fmt.Errorf("inventory: type %s received %d serials, its ranges hold %d", k, got, want)
		}
		delete(totals, string(k))
		return nil
	})
	if err != nil {
		return err
	}
	for k, n := range totals {
		return fmt.Errorf("inventory: type %s holds %d serials but never received any", k, n)
	}
	return nil
}

// Verify runs VerifyTx in a read transaction.
func (s *Service) Verify(ctx context.Context) error {
	return s.DB.View(VerifyTx)
}
