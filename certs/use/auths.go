package use

import (
	"context"
	"strconv"
	"strings"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// MaxAuthorisationYears bounds an authorisation's validity.
const MaxAuthorisationYears = 5

// checkAuth validates an authorisation's input inside tx and returns the organisation and item.
func checkAuth(tx *store.Tx, now time.Time, in *AuthorisationInput) (certseal.Org, catalogue.Item, error) {
	in.OrgID, in.ItemCode, in.TypeCode, in.ValidTo = strings.TrimSpace(in.OrgID), strings.TrimSpace(in.ItemCode), strings.TrimSpace(in.TypeCode), strings.TrimSpace(in.ValidTo)
	note, err := trimmed(in.Note, "备注", MaxNoteLen, true)
	if err != nil {
		return certseal.Org{}, catalogue.Item{}, err
	}
	in.Note = note
	if in.OrgID == "" || len(in.OrgID) > 20 {
		return certseal.Org{}, catalogue.Item{}, certseal.Errorf(certseal.EInvalid, "请指定被授权的用证单位（org_id）").WithDetail("field", "org_id")
	}
	o, err := orgs.Get(tx, in.OrgID)
	if err != nil {
		return o, catalogue.Item{}, err
	}
	if o.Kind == certseal.KindCityCenter || o.Kind == certseal.KindCountyBureau || o.Kind == certseal.KindPrinter {
		return o, catalogue.Item{}, certseal.Errorf(certseal.EInvalid, "%s（%s）不是用证单位，不能授权用证", o.Name, o.Kind.Label())
	}
	if in.ItemCode == "" || len(in.ItemCode) > 40 {
		return o, catalogue.Item{}, certseal.Errorf(certseal.EInvalid, "请填写事项编码（item_code）").WithDetail("field", "item_code")
	}
	it, err := catalogue.ResolveCode(tx, in.ItemCode)
	if err != nil {
		return o, it, err
	}
	if in.TypeCode != "" {
		if len(in.TypeCode) > 40 {
			return o, it, certseal.Errorf(certseal.EInvalid, "证照类型代码过长")
		}
		if _, err := catalogue.GetType(tx, in.TypeCode); err != nil {
			return o, it, err
		}
		if !catalogue.IsBound(tx, in.TypeCode, it.Code) {
			return o, it, certseal.Errorf(certseal.EInvalid, "证照类型 %s 没有绑定事项 %s", in.TypeCode, it.Code)
		}
	}
	t, err := time.ParseInLocation("2006-01-02", in.ValidTo, certseal.China)
	today := now.In(certseal.China).Format("2006-01-02")
	if err != nil || in.ValidTo < today || t.After(now.AddDate(MaxAuthorisationYears, 0, 0)) {
		return o, it, certseal.Errorf(certseal.EInvalid, "授权有效期（valid_to）应为今天至 %d 年内的日期，如 2026-12-31", MaxAuthorisationYears).WithDetail("field", "valid_to")
	}
	return o, it, nil
}

// CreateAuthorisation records a standing authorisation (administrators of the city center
// only, as the route table says). It returns a *certseal.Error: EInvalid, ENotFound.
func (s *Service) CreateAuthorisation(ctx context.Context, actor certseal.Actor, in AuthorisationInput) (Authorisation, error) {
	now := s.Clock.Now()
	var a Authorisation
	err := s.DB.Update(func(tx *store.Tx) error {
		o, it, err := checkAuth(tx, now, &in)
		if err != nil {
			return err
		}
		id, err := tx.NextID(bucketAuths)
		if err != nil {
			return err
		}
		a = Authorisation{ID: strconv.FormatUint(id, 10), OrgID: o.ID, OrgName: o.Name, ItemCode: in.ItemCode, ItemName: it.Name,
			TypeCode: in.TypeCode, ValidTo: in.ValidTo, Note: in.Note, CreatedBy: actor.Username, CreatedAt: now, UpdatedAt: now}
		if err := tx.PutJSON(bucketAuths, store.U64(id), a); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "use.authorisation.create", "use-authorisation/"+a.ID, a)
	})
	return a, err
}

// UpdateAuthorisation changes an authorisation's validity, type or note.
func (s *Service) UpdateAuthorisation(ctx context.Context, actor certseal.Actor, id string, in AuthorisationInput) (Authorisation, error) {
	now := s.Clock.Now()
	var a Authorisation
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if a, err = liveAuthTx(tx, id); err != nil {
			return err
		}
		in.OrgID = a.OrgID
		if in.ItemCode == "" {
			in.ItemCode = a.ItemCode
		}
		o, it, err := checkAuth(tx, now, &in)
		if err != nil {
			return err
		}
		before := a
		a.OrgName, a.ItemCode, a.ItemName, a.TypeCode, a.ValidTo, a.Note, a.UpdatedAt = o.Name, in.ItemCode, it.Name, in.TypeCode, in.ValidTo, in.Note, now
		k, _ := store.IDKey(a.ID)
		if err := tx.PutJSON(bucketAuths, k, a); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "use.authorisation.update", "use-authorisation/"+a.ID, map[string]any{"before": before, "after": a})
	})
	return a, err
}

// RevokeAuthorisation ends an authorisation at once (it stays in the list, revoked).
func (s *Service) RevokeAuthorisation(ctx context.Context, actor certseal.Actor, id string) (Authorisation, error) {
	now := s.Clock.Now()
	var a Authorisation
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if a, err = liveAuthTx(tx, id); err != nil {
			return err
		}
		a.Revoked, a.UpdatedAt = true, now
		k, _ := store.IDKey(a.ID)
		if err := tx.PutJSON(bucketAuths, k, a); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "use.authorisation.revoke", "use-authorisation/"+a.ID, nil)
	})
	return a, err
}

// Authorisations lists the authorisations the actor may see: all for administrators and
// auditors, its own organisation's for anyone else.
func (s *Service) Authorisations(ctx context.Context, actor certseal.Actor) ([]Authorisation, error) {
	out := []Authorisation{}
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketAuths, nil, nil, func(_, v []byte) error {
			var a Authorisation
			if err := jsonUnmarshal(v, &a); err != nil {
				return err
			}
			if actor.Role == certseal.RoleAdmin || actor.Role == certseal.RoleAuditor || a.OrgID == actor.OrgID {
				out = append(out, a)
			}
			return nil
		})
	})
	return out, err
}

// liveAuthTx returns the authorisation id if it is not revoked: ENotFound for an unknown one,
// EConflict for a revoked one.
func liveAuthTx(tx *store.Tx, id string) (Authorisation, error) {
	a, err := store.GetByID[Authorisation](tx, bucketAuths, id, "用证授权")
	if err == nil && a.Revoked {
		err = certseal.Errorf(certseal.EConflict, "用证授权 %s 已撤销", id)
	}
	return a, err
}
