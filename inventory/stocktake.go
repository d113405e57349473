package inventory

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/store"
)

// StocktakeStatus is where a stocktake is in its approval.
type StocktakeStatus string

// Stocktake statuses.
const (
	StocktakePending  StocktakeStatus = "pending"  // 待审批
	StocktakeApproved StocktakeStatus = "approved" // 已审批，账面已调整
	StocktakeRejected StocktakeStatus = "rejected" // 已驳回，账面未调整
)

// Label returns the status's Chinese name.
func (s StocktakeStatus) Label() string {
	switch s {
	case StocktakePending:
		return "待审批"
	case StocktakeApproved:
		return "已审批"
	case StocktakeRejected:
		return "已驳回"
	}
	return string(s)
}

// StocktakeLine is what an organisation physically counted of one licence type. Missing names
// the serials found missing when the count is short (optional: without it, approval marks the
// highest serials in stock lost); Surplus names the serials found beyond the books (required for
// approval of a surplus; they must be unknown to the ledger). Books and Difference (Counted minus
// Books, at the time of the count) are filled in by the service.
type StocktakeLine struct {
	TypeCode   string        `json:"type_code"`
	TypeName   string        `json:"type_name,omitempty"`
	Counted    uint64        `json:"counted"`
	Missing    []SerialRange `json:"missing,omitempty"`
	Surplus    []SerialRange `json:"surplus,omitempty"`
	Books      uint64        `json:"books"`
	Difference int64         `json:"difference"`
}

// StocktakeRequest is a stocktake entered by an organisation (盘点, POST /stocktakes).
type StocktakeRequest struct {
	Lines []StocktakeLine `json:"lines"`
	Note  string          `json:"note,omitempty"`
}

// MaxStocktakeLines is the number of licence types one stocktake may count.
const MaxStocktakeLines = 200

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid.
func (r *StocktakeRequest) Validate() error {
	if len(r.Lines) == 0 {
		return certseal.Errorf(certseal.EInvalid, "盘点单至少包含一种证照类型")
	}
	if len(r.Lines) > MaxStocktakeLines {
		return certseal.Errorf(certseal.EInvalid, "一张盘点单最多%d种证照类型", MaxStocktakeLines)
	}
	seen := map[string]bool{}
	for _, l := range r.Lines {
		if l.TypeCode == "" {
			return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
		}
		if seen[l.TypeCode] {
			return certseal.Errorf(certseal.EInvalid, "证照类型 %s 在盘点单中重复", l.TypeCode)
		}
		seen[l.TypeCode] = true
		if len(l.Missing) > 0 && len(l.Surplus) > 0 {
			return certseal.Errorf(certseal.EInvalid, "同一证照类型不能既有盘亏编号又有盘盈编号")
		}
		for _, rs := range [][]SerialRange{l.Missing, l.Surplus} {
			if len(rs) > 0 {
				if err := checkRanges(rs); err != nil {
					return err
				}
			}
		}
	}
	return checkText("备注", r.Note, MaxNoteLen)
}

// Stocktake is a recorded stocktake with its approval.
type Stocktake struct {
	ID          uint64          `json:"id"`
	OrgID       string          `json:"org_id"`
	OrgName     string          `json:"org_name"`
	Lines       []StocktakeLine `json:"lines"`
	Note        string          `json:"note,omitempty"`
	Status      StocktakeStatus `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	CreatedBy   string          `json:"created_by"`
	DecidedAt   *time.Time      `json:"decided_at,omitempty"`
	DecidedBy   string          `json:"decided_by,omitempty"`
	Decision    string          `json:"decision_note,omitempty"`
	MovementIDs []uint64        `json:"movement_ids,omitempty"`
}

// CreateStocktake records what the actor's organisation counted and the difference with its
// books; the books change only when an administrator approves it. It returns an *Error:
// EInvalid for bad input, a type the organisation never held, or named serials whose number does
// not match the difference; ENotFound for an unknown type; EForbidden; EConflict when named
// missing serials are not in stock or named surplus serials are already known.
func (s *Service) CreateStocktake(ctx context.Context, actor certseal.Actor, r StocktakeRequest) (Stocktake, error) {
	var st Stocktake
	if err := r.Validate(); err != nil {
		return st, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		if err := canMove(actor, false); err != nil {
			return err
		}
		org, err := actorOrg(tx, actor)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		st = Stocktake{OrgID: org.ID, OrgName: org.Name, Note: r.Note, Status: StocktakePending, CreatedAt: now.UTC(), CreatedBy: actor.Username}
		for _, l := range r.Lines {
			t, err := paperType(tx, l.TypeCode)
			if err != nil {
				return err
			}
			if !everHeld(tx, org.ID, t.Code) {
				return certseal.Errorf(certseal.EInvalid, "本机构从未持有证照类型“%s”的空白证照，不能盘点", t.Name)
			}
			l.TypeName = t.Name
			l.Books = count(tx, org.ID, t.Code, InStock)
			l.Difference = int64(l.Counted) - int64(l.Books)
			if err := checkNamed(tx, &t, org.ID, &l); err != nil {
				return err
			}
			st.Lines = append(st.Lines, l)
		}
		id, err := tx.NextID(bucketStocktakes)
		if err != nil {
			return err
		}
		st.ID = id
		if err := tx.PutJSON(bucketStocktakes, store.U64(id), st); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "inventory.stocktake", "inventory_stocktake/"+strconv.FormatUint(id, 10), st)
	})
	return st, err
}

// checkNamed checks the named missing or surplus serials of a line against its difference and the
// current ledger, and normalises them.
func checkNamed(tx *store.Tx, t *catalogue.LicenceType, org string, l *StocktakeLine) error {
	if len(l.Missing) > 0 {
		spans, err := parseSpans(t, l.Missing)
		if err != nil {
			return err
		}
		if l.Difference >= 0 || total(spans) != uint64(-l.Difference) {
			return certseal.Errorf(certseal.EInvalid, "证照类型“%s”盘亏%d份，列明的缺失编号为%d份，两者应一致", t.Name, max(-l.Difference, 0), total(spans))
		}
		_, cs, err := planMove(tx, t, spans, func(r rng) bool { return r.holder == org && r.state == InStock }, org)
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			return conflictError("以下列为缺失的印制编号不在本机构账面库存中", cs)
		}
		l.Missing = printedAll(t, spans)
	}
	if len(l.Surplus) > 0 {
		spans, err := parseSpans(t, l.Surplus)
		if err != nil {
			return err
		}
		if l.Difference <= 0 || total(spans) != uint64(l.Difference) {
			return certseal.Errorf(certseal.EInvalid, "证照类型“%s”盘盈%d份，列明的多出编号为%d份，两者应一致", t.Name, max(l.Difference, 0), total(spans))
		}
		if err := checkUnknown(tx, t, spans, org, "以下列为盘盈的印制编号已在台账中"); err != nil {
			return err
		}
		l.Surplus = printedAll(t, spans)
	}
	return nil
}

func getStocktake(tx *store.Tx, id uint64) (Stocktake, error) {
	var st Stocktake
	ok, err := tx.GetJSON(bucketStocktakes, store.U64(id), &st)
	if err != nil {
		return st, err
	}
	if !ok {
		return st, certseal.Errorf(certseal.ENotFound, "盘点单 %d 不存在", id)
	}
	return st, nil
}

// ApproveStocktake adjusts the books to a pending stocktake; only an administrator may. For each
// line with a shortfall, the named missing serials (or, when none were named, the highest serials
// the organisation has in stock) become lost; for each line with a surplus, the named serials
// are received as a stocktake receipt. Everything happens in one transaction. It returns an
// *Error: EForbidden for a non-administrator, ENotFound, EConflict when the stocktake is no longer
// pending, a surplus names no serials, named serials are no longer in stock or are now known, or
// the organisation's stock is now smaller than the shortfall.
func (s *Service) ApproveStocktake(ctx context.Context, actor certseal.Actor, id uint64, note string) (Stocktake, error) {
	var st Stocktake
	if err := checkText("审批意见", note, MaxNoteLen); err != nil {
		return st, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if st, err = decide(tx, actor, id); err != nil {
			return err
		}
		now := s.Clock.Now()
		for _, l := range st.Lines {
			if l.Difference == 0 {
				continue
			}
			t, err := paperType(tx, l.TypeCode)
			if err != nil {
				return err
			}
			m := Movement{StocktakeID: st.ID, FromOrgID: st.OrgID, FromOrgName: st.OrgName, ToOrgID: st.OrgID, ToOrgName: st.OrgName}
			var spans []span
			if l.Difference < 0 {
				n := uint64(-l.Difference)
				if len(l.Missing) > 0 {
					if spans, err = parseSpans(&t, l.Missing); err != nil {
						return err
					}
				} else if spans, err = highestInStock(tx, st.OrgID, t.Code, n); err != nil {
					return err
				} else if total(spans) < n {
					return certseal.Errorf(certseal.EConflict, "“%s”账面库存只剩%d份，少于盘亏的%d份，请重新盘点", t.Name, total(spans), n)
				}
				if err := moveOwn(tx, &t, spans, st.OrgID, InStock, Lost, "以下盘亏编号已不在该机构库存中，请重新盘点"); err != nil {
					return err
				}
				m.Kind, m.FromState, m.ToState = KindStocktakeLoss, InStock, Lost
			} else {
				if len(l.Surplus) == 0 {
					return certseal.Errorf(certseal.EConflict, "“%s”盘盈%d份但未列明多出的印制编号，不能调整账面", t.Name, l.Difference)
				}
				if spans, err = parseSpans(&t, l.Surplus); err != nil {
					return err
				}
				if err := checkUnknown(tx, &t, spans, st.OrgID, "以下盘盈编号已在台账中，不能作为盘盈入库"); err != nil {
					return err
				}
				led := newLedger(tx, t.Code)
				for _, sp := range spans {
					if err := led.receive(sp, attrs{holder: st.OrgID, state: InStock}); err != nil {
						return err
					}
				}
				if err := led.flush(); err != nil {
					return err
				}
				m.Kind, m.FromOrgID, m.FromOrgName, m.ToState = KindStocktakeReceipt, "", "", InStock
			}
			m.Note = note
			if err := record(tx, now, actor, &t, spans, &m); err != nil {
				return err
			}
			st.MovementIDs = append(st.MovementIDs, m.ID)
		}
		return finish(tx, now, actor, &st, StocktakeApproved, note)
	})
	return st, err
}

// RejectStocktake closes a pending stocktake without changing the books; only an administrator
// may. It returns an *Error: EForbidden, ENotFound, or EConflict when it is no longer pending.
func (s *Service) RejectStocktake(ctx context.Context, actor certseal.Actor, id uint64, note string) (Stocktake, error) {
	var st Stocktake
	if err := checkText("审批意见", note, MaxNoteLen); err != nil {
		return st, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if st, err = decide(tx, actor, id); err != nil {
			return err
		}
		return finish(tx, s.Clock.Now(), actor, &st, StocktakeRejected, note)
	})
	return st, err
}

func decide(tx *store.Tx, actor certseal.Actor, id uint64) (Stocktake, error) {
	if actor.Role != certseal.RoleAdmin {
		return Stocktake{}, certseal.Errorf(certseal.EForbidden, "只有管理员可以审批盘点结果")
	}
	st, err := getStocktake(tx, id)
	if err != nil {
		return st, err
	}
	if st.Status != StocktakePending {
		return st, certseal.Errorf(certseal.EConflict, "盘点单 %d %s，不能再审批", id, st.Status.Label())
	}
	return st, nil
}

func finish(tx *store.Tx, now time.Time, actor certseal.Actor, st *Stocktake, status StocktakeStatus, note string) error {
	at := now.UTC()
	st.Status, st.DecidedAt, st.DecidedBy, st.Decision = status, &at, actor.Username, note
	if err := tx.PutJSON(bucketStocktakes, store.U64(st.ID), st); err != nil {
		return err
	}
	return audit.Append(tx, now, actor, "inventory.stocktake."+string(status), "inventory_stocktake/"+strconv.FormatUint(st.ID, 10),
		map[string]any{"status": status, "note": note, "movement_ids": st.MovementIDs})
}

// highestInStock returns up to n of the highest serials the holder has in stock, in ascending
// order.
func highestInStock(tx *store.Tx, holder, typeCode string, n uint64) ([]span, error) {
	var out []span
	rem := n
	err := tx.ScanReverse(bucketByHolder, store.Prefix(holder, typeCode, string(InStock)), nil, func(k, v []byte) error {
		s := span{store.ParseU64(k[len(k)-8:]), store.ParseU64(v)}
		if s.n() > rem {
			s.first = s.last - rem + 1
		}
		out = append(out, s)
		rem -= s.n()
		if rem == 0 {
			return store.ErrStop
		}
		return nil
	})
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// GetStocktake returns a stocktake. Other organisations' stocktakes are visible to
// administrators and auditors only. It returns an *Error: ENotFound or EForbidden.
func (s *Service) GetStocktake(ctx context.Context, actor certseal.Actor, id uint64) (Stocktake, error) {
	var st Stocktake
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if st, err = getStocktake(tx, id); err != nil {
			return err
		}
		if !seesAll(actor) && st.OrgID != actor.OrgID {
			return certseal.Errorf(certseal.EForbidden, "不能查看其他机构的盘点单")
		}
		return nil
	})
	return st, err
}

// StocktakeFilter selects stocktakes; zero fields match everything.
type StocktakeFilter struct {
	OrgID  string          `json:"org_id,omitempty"`
	Status StocktakeStatus `json:"status,omitempty"`
}

// Stocktakes returns up to limit stocktakes matching f, newest first, with ids below before (0
// for the newest), and the cursor of the next page (0 at the end). Actors other than
// administrators and auditors see their own organisation's only. It returns an *Error with code
// EForbidden when f names another organisation.
func (s *Service) Stocktakes(ctx context.Context, actor certseal.Actor, f StocktakeFilter, before uint64, limit int) ([]Stocktake, uint64, error) {
	org, err := viewScope(actor, f.OrgID)
	if err != nil {
		return nil, 0, err
	}
	limit = pageSize(limit)
	var out []Stocktake
	var next uint64
	var start []byte
	if before > 0 {
		start = store.U64(before)
	}
	err = s.DB.View(func(tx *store.Tx) error {
		return tx.ScanReverse(bucketStocktakes, nil, start, func(_, v []byte) error {
			var st Stocktake
			if err := json.Unmarshal(v, &st); err != nil {
				return err
			}
			if (org != "" && st.OrgID != org) || (f.Status != "" && st.Status != f.Status) {
				return nil
			}
			if len(out) == limit {
				next = out[len(out)-1].ID
				return store.ErrStop
			}
			out = append(out, st)
			return nil
		})
	})
	return out, next, err
}
