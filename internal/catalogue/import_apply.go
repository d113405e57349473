package catalogue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// The actions of an import plan entry.
const (
	ActionAdd    = "add"    // 新增
	ActionChange = "change" // 变更
	ActionKeep   = "keep"   // 不变
	ActionError  = "error"  // cannot be applied (the message says why)
)

// FieldChange is one field an import changes: its name, Chinese label, and the old and new
// values as text.
type FieldChange struct {
	Field string `json:"field"`
	Label string `json:"label"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// PlanEntry is what an import does with one item or licence type.
type PlanEntry struct {
	Kind    string        `json:"kind"` // "item" or "type"
	Code    string        `json:"code"`
	Name    string        `json:"name"`
	Row     int           `json:"row,omitempty"` // the row of a CSV/XLSX file
	Action  string        `json:"action"`
	Changes []FieldChange `json:"changes,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// Plan is the dry run of an import: per entry what would be added, changed (field old → new)
// or left, the counts, and a digest of all of it that Apply checks against.
type Plan struct {
	FileSHA256 string      `json:"file_sha256"`
	Entries    []PlanEntry `json:"entries"`
	Added      int         `json:"added"`
	Changed    int         `json:"changed"`
	Unchanged  int         `json:"unchanged"`
	Errors     int         `json:"errors"`
	// Digest is the SHA-256 of the file's digest and the entries: Apply with it applies exactly
	// this plan or refuses.
	Digest  string `json:"digest"`
	Applied bool   `json:"applied"`
}

func change(out *[]FieldChange, field, label string, old, new any) {
	if old != new {
		*out = append(*out, FieldChange{Field: field, Label: label, Old: describe(old), New: describe(new)})
	}
}

// planTx computes the plan of im against the database, and the items and types to write.
func planTx(tx *store.Tx, im *Import) (Plan, []Item, []LicenceType, error) {
	p := Plan{FileSHA256: im.SHA256, Entries: []PlanEntry{}}
	var items []Item
	var types []LicenceType
	for _, in := range im.Items {
		e := PlanEntry{Kind: "item", Code: in.Code, Name: in.Name, Row: in.row}
		cur, err := GetItem(tx, in.Code)
		switch {
		case certseal.ErrorCode(err) == certseal.ENotFound:
			e.Action = ActionAdd
			for _, c := range append([]string{in.Code}, subCodes(in.SubItems)...) {
				if owner := tx.Get(bucketCodes, []byte(c)); owner != nil {
					e.Action, e.Error = ActionError, "编码 "+c+" 已被事项 "+string(owner)+" 使用"
					break
				}
			}
			if e.Action == ActionAdd {
				items = append(items, in.asItem())
			}
		case err != nil:
			return p, nil, nil, err
		default:
			next := cur
			change(&e.Changes, "name", "事项名称", cur.Name, in.Name)
			change(&e.Changes, "legal_basis", "设定依据", cur.LegalBasis, in.LegalBasis)
			change(&e.Changes, "item_type", "事项类型", cur.ItemType, in.ItemType)
			change(&e.Changes, "level", "事项层级", cur.Level, in.Level)
			next.Name, next.LegalBasis, next.ItemType, next.Level = in.Name, in.LegalBasis, in.ItemType, in.Level
			next.SubItems = slices.Clone(cur.SubItems)
			for _, sub := range in.SubItems {
				i := slices.IndexFunc(next.SubItems, func(s SubItem) bool { return s.Code == sub.Code })
				if i >= 0 {
					change(&e.Changes, "sub_items."+sub.Code, "子项 "+sub.Code+" 名称", next.SubItems[i].Name, sub.Name)
					next.SubItems[i].Name = sub.Name
					continue
				}
				if owner := tx.Get(bucketCodes, []byte(sub.Code)); owner != nil {
					e.Error = "子项编码 " + sub.Code + " 已被事项 " + string(owner) + " 使用"
					break
				}
				change(&e.Changes, "sub_items."+sub.Code, "子项 "+sub.Code, "", sub.Name)
				next.SubItems = append(next.SubItems, sub)
			}
			if e.Error == "" {
				if err := next.Validate(); err != nil {
					e.Error = certseal.ErrorMessage(err)
				}
			}
			if e.settle() {
				items = append(items, next)
			}
		}
		p.Entries = append(p.Entries, e)
	}
	for _, in := range im.Types {
		e := PlanEntry{Kind: "type", Code: in.Code, Name: in.Name, Row: in.row}
		cur, err := GetType(tx, in.Code)
		switch {
		case certseal.ErrorCode(err) == certseal.ENotFound:
			e.Action = ActionAdd
			types = append(types, in.asType())
		case err != nil:
			return p, nil, nil, err
		default:
			next := cur
			change(&e.Changes, "name", "证照类型名称", cur.Name, in.Name)
			change(&e.Changes, "definer_name", "定义机构", cur.DefinerName, in.DefinerName)
			change(&e.Changes, "holder_kind", "持证主体类型", string(cur.HolderKind), string(in.HolderKind))
			change(&e.Changes, "min_validity_months", "最短有效期（月）", cur.MinValidityMonths, in.MinValidityMonths)
			change(&e.Changes, "max_validity_months", "最长有效期（月）", cur.MaxValidityMonths, in.MaxValidityMonths)
			next.Name, next.DefinerName, next.HolderKind = in.Name, in.DefinerName, in.HolderKind
			next.MinValidityMonths, next.MaxValidityMonths = in.MinValidityMonths, in.MaxValidityMonths
			if err := next.Validate(); err != nil {
				e.Error = certseal.ErrorMessage(err)
			}
			if e.settle() {
				types = append(types, next)
			}
		}
		p.Entries = append(p.Entries, e)
	}
	for _, e := range p.Entries {
		switch e.Action {
		case ActionAdd:
			p.Added++
		case ActionChange:
			p.Changed++
		case ActionKeep:
			p.Unchanged++
		case ActionError:
			p.Errors++
		}
	}
	b, err := json.Marshal(struct {
		F string
		E []PlanEntry
	}{p.FileSHA256, p.Entries})
	if err != nil {
		return p, nil, nil, err
	}
	sum := sha256.Sum256(b)
	p.Digest = hex.EncodeToString(sum[:])
	return p, items, types, nil
}

// PlanImport is the dry run of an import: it changes nothing and returns what Apply would do.
func (s *Service) PlanImport(ctx context.Context, im *Import) (Plan, error) {
	var p Plan
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		p, _, _, err = planTx(tx, im)
		return err
	})
	return p, err
}

// ApplyImport applies im in one transaction: it adds and changes exactly what PlanImport shows
// (each item and type audited as item.create/item.update/licence_type.create/
// licence_type.update, and the whole as catalogue.import), or nothing. With expect set (the
// dry run's Digest) it refuses a plan that came out differently, because the catalogue changed
// in between. An import that changes nothing writes nothing. It returns an *certseal.Error:
// EForbidden for anyone but an administrator, EConflict for a plan that differs from expect,
// EInvalid when an entry cannot be applied (the plan's errors).
func (s *Service) ApplyImport(ctx context.Context, actor certseal.Actor, im *Import, expect string) (Plan, error) {
	if actor.Role != certseal.RoleAdmin {
		return Plan{}, certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员可以导入目录")
	}
	var p Plan
	err := s.DB.Update(func(tx *store.Tx) error {
		var items []Item
		var types []LicenceType
		var err error
		if p, items, types, err = planTx(tx, im); err != nil {
			return err
		}
		if expect != "" && p.Digest != expect {
			return certseal.Errorf(certseal.EConflict, "目录在预览之后已有变化，请重新预览后再导入")
		}
		if p.Errors > 0 {
			return certseal.Errorf(certseal.EInvalid, "有%d项无法导入（见预览中的说明），未做任何更改", p.Errors)
		}
		if len(items)+len(types) == 0 {
			return errNothing // roll back: an empty commit would still write the file's meta page
		}
		now := s.Clock.Now()
		for _, it := range items {
			before, err := GetItem(tx, it.Code)
			if certseal.ErrorCode(err) == certseal.ENotFound {
				if _, err := CreateItemTx(tx, now, actor, it); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			for _, sub := range it.SubItems {
				if !tx.Has(bucketCodes, []byte(sub.Code)) {
					if err := tx.Put(bucketCodes, []byte(sub.Code), []byte(it.Code)); err != nil {
						return err
					}
				}
			}
			it.UpdatedAt = now.UTC()
			if err := tx.PutJSON(bucketItems, []byte(it.Code), it); err != nil {
				return err
			}
			if err := audit.Append(tx, now, actor, "item.update", "item/"+it.Code, map[string]any{"before": before, "after": it, "source": "catalogue.import"}); err != nil {
				return err
			}
		}
		for _, t := range types {
			before, err := GetType(tx, t.Code)
			if certseal.ErrorCode(err) == certseal.ENotFound {
				if _, err := CreateTypeTx(tx, now, actor, t); err != nil {
					return err
				}
				continue
			} else if err != nil {
				return err
			}
			t.UpdatedAt = now.UTC()
			if err := tx.PutJSON(bucketTypes, []byte(t.Code), t); err != nil {
				return err
			}
			if err := audit.Append(tx, now, actor, "licence_type.update", "licence_type/"+t.Code, map[string]any{"before": before, "after": t, "source": "catalogue.import"}); err != nil {
				return err
			}
		}
		p.Applied = true
		return audit.Append(tx, now, actor, "catalogue.import", "catalogue", map[string]any{"file_sha256": p.FileSHA256,
			"digest": p.Digest, "added": p.Added, "changed": p.Changed, "unchanged": p.Unchanged})
	})
	if err != nil && !errors.Is(err, errNothing) {
		return Plan{}, err
	}
	return p, nil
}

// errNothing ends a transaction that found nothing to write, rolling it back.
var errNothing = errors.New("nothing to write")

// ClaimRequest is the 认领/绑定 step for one catalogue item: the city organisation that handles
// it (empty keeps the current one) and the licence types to bind to it (or to one of its
// sub-items: ItemCode may be a sub-item's code).
type ClaimRequest struct {
	ItemCode      string   `json:"item_code"`
	HandlingOrgID string   `json:"handling_org_id,omitempty"`
	TypeCodes     []string `json:"type_codes,omitempty"`
}

// ClaimResult is what Claim did.
type ClaimResult struct {
	Item     Item      `json:"item"`
	Bound    []Binding `json:"bound"`         // bindings made now
	Existing []string  `json:"already_bound"` // type codes that were bound already
}

// Claim claims the item for the city (认领: it records the handling organisation and the time)
// and binds the licence types to the code (绑定), in one transaction, audited (item.claim and
// binding.create). Claiming again and binding a type that is bound already change nothing
// more. It returns an *certseal.Error: EForbidden for anyone but an administrator, ENotFound
// for an unknown item, organisation or type, EInvalid when the item would have no handling
// organisation or more than 20 types are given.
func (s *Service) Claim(ctx context.Context, actor certseal.Actor, req ClaimRequest) (ClaimResult, error) {
	if actor.Role != certseal.RoleAdmin {
		return ClaimResult{}, certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员可以认领事项")
	}
	if len(req.TypeCodes) > 20 {
		return ClaimResult{}, certseal.Errorf(certseal.EInvalid, "一次最多绑定20个证照类型").WithDetail("field", "type_codes")
	}
	res := ClaimResult{Bound: []Binding{}, Existing: []string{}}
	err := s.DB.Update(func(tx *store.Tx) error {
		it, err := ResolveCode(tx, req.ItemCode)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		before, wrote := it, false
		if req.HandlingOrgID != "" {
			if _, err := orgs.Get(tx, req.HandlingOrgID); err != nil {
				return certseal.Errorf(certseal.ENotFound, "实施机构 %q 不存在", req.HandlingOrgID).WithDetail("field", "handling_org_id")
			}
			it.HandlingOrgID = req.HandlingOrgID
		}
		if it.HandlingOrgID == "" {
			return certseal.Errorf(certseal.EInvalid, "认领事项须指定本市的实施机构").WithDetail("field", "handling_org_id")
		}
		if it.ClaimedAt.IsZero() || it.HandlingOrgID != before.HandlingOrgID {
			if it.ClaimedAt.IsZero() {
				it.ClaimedAt = now.UTC()
			}
			it.UpdatedAt = now.UTC()
			if err := tx.PutJSON(bucketItems, []byte(it.Code), it); err != nil {
				return err
			}
			if err := audit.Append(tx, now, actor, "item.claim", "item/"+it.Code, map[string]any{"before": before, "after": it}); err != nil {
				return err
			}
			wrote = true
		}
		res.Item = it
		for _, tc := range req.TypeCodes {
			if IsBound(tx, tc, req.ItemCode) {
				res.Existing = append(res.Existing, tc)
				continue
			}
			b, err := BindTx(tx, now, actor, tc, req.ItemCode)
			if err != nil {
				return err
			}
			res.Bound = append(res.Bound, b)
			wrote = true
		}
		if !wrote {
			return errNothing
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNothing) {
		return ClaimResult{}, err
	}
	return res, nil
}

// settle sets the action of an entry that exists already from its error and its changes, and
// reports whether it changes anything.
func (e *PlanEntry) settle() bool {
	switch {
	case e.Error != "":
		e.Action = ActionError
	case len(e.Changes) == 0:
		e.Action = ActionKeep
	default:
		e.Action = ActionChange
		return true
	}
	return false
}
