// Package orgs keeps organisations (机构), their users and the users' API tokens. Each service
// method is one transaction; the functions that take a *store.Tx are for other packages that need
// an organisation inside their own transaction.
package orgs

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Buckets.
const (
	bucketOrgs      store.Bucket = "orgs"
	bucketOrgByUSCC store.Bucket = "orgs_by_uscc"
	bucketUsers     store.Bucket = "users"
	bucketUserNames store.Bucket = "users_by_name"
	bucketTokens    store.Bucket = "tokens"      // key: token id
	bucketTokenHash store.Bucket = "tokens_hash" // key: SHA-256 of the token -> token id
	bucketPasswords store.Bucket = "passwords"   // key: user id -> password hash record
)

// Service manages organisations, users and tokens.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
	// Limits bound the password checks; set it before the first check (zero: the defaults).
	Limits PasswordLimits

	throttleOnce sync.Once
	thr          *throttle
	hashHook     func(dummy, enter bool) // tests count password checks with it
}

// Get returns the organisation with the given id, or an *Error with code ENotFound.
func Get(tx *store.Tx, id string) (certseal.Org, error) {
	return store.GetByID[certseal.Org](tx, bucketOrgs, id, "机构")
}

// ByUSCC returns the organisation with the given USCC, or an *Error with code ENotFound.
func ByUSCC(tx *store.Tx, uscc string) (certseal.Org, error) {
	id := tx.Get(bucketOrgByUSCC, []byte(uscc))
	if id == nil {
		return certseal.Org{}, certseal.Errorf(certseal.ENotFound, "统一社会信用代码为 %s 的机构不存在", uscc)
	}
	return Get(tx, string(id))
}

// All returns every organisation in id order.
func All(tx *store.Tx) ([]certseal.Org, error) {
	var out []certseal.Org
	err := tx.Scan(bucketOrgs, nil, nil, func(_, v []byte) error {
		var o certseal.Org
		if err := jsonUnmarshal(v, &o); err != nil {
			return err
		}
		out = append(out, o)
		return nil
	})
	return out, err
}

// OrgFilter selects organisations in List.
type OrgFilter struct {
	Kind     certseal.OrgKind
	ParentID string
	AreaCode string
}

// List returns up to limit organisations matching f with ids after the cursor `after` (""
// for the first page) and the cursor of the next page ("" when there is none).
func (s *Service) List(ctx context.Context, f OrgFilter, after string, limit int) ([]certseal.Org, string, error) {
	start, err := cursorKey(after)
	if err != nil {
		return nil, "", err
	}
	var out []certseal.Org
	var next []byte
	err = s.DB.View(func(tx *store.Tx) error {
		out, next, err = store.Page(tx, bucketOrgs, nil, start, limit, func(o *certseal.Org) bool {
			return (f.Kind == "" || o.Kind == f.Kind) && (f.ParentID == "" || o.ParentID == f.ParentID) && (f.AreaCode == "" || o.AreaCode == f.AreaCode)
		})
		return err
	})
	return out, cursorOf(next), err
}

// cursorKey turns a page cursor (an id) into the key to scan after; "" starts at the beginning.
// It returns an *Error (EInvalid) for a cursor that is not an id.
func cursorKey(after string) ([]byte, error) {
	if after == "" {
		return nil, nil
	}
	k, ok := store.IDKey(after)
	if !ok {
		return nil, certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", after)
	}
	return k, nil
}

// cursorOf turns the key of a page's last value into the next page's cursor.
func cursorOf(k []byte) string {
	if k == nil {
		return ""
	}
	return strconv.FormatUint(store.ParseU64(k), 10)
}

// GetOrg returns the organisation with the given id, or an *Error with code ENotFound.
func (s *Service) GetOrg(ctx context.Context, id string) (certseal.Org, error) {
	var o certseal.Org
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		o, err = Get(tx, id)
		return err
	})
	return o, err
}

// CreateOrg validates o, checks its parent and that its USCC is new, and stores it with a new id.
// It returns an *Error: EInvalid for bad fields, ENotFound for an unknown parent, EConflict for a
// USCC already registered.
func (s *Service) CreateOrg(ctx context.Context, actor certseal.Actor, o certseal.Org) (certseal.Org, error) {
	if err := o.Validate(); err != nil {
		return o, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		o, err = Create(tx, s.Clock.Now(), actor, o)
		return err
	})
	return o, err
}

// Create is CreateOrg inside the caller's transaction, with o already validated.
func Create(tx *store.Tx, now time.Time, actor certseal.Actor, o certseal.Org) (certseal.Org, error) {
	if err := checkParent(tx, o); err != nil {
		return o, err
	}
	if id := tx.Get(bucketOrgByUSCC, []byte(o.USCC)); id != nil {
		return o, certseal.Errorf(certseal.EConflict, "统一社会信用代码 %s 已被机构 %s 使用", o.USCC, id).WithDetail("org_id", string(id))
	}
	n, err := tx.NextID(bucketOrgs)
	if err != nil {
		return o, err
	}
	o.ID = strconv.FormatUint(n, 10)
	o.CreatedAt, o.UpdatedAt = now.UTC(), now.UTC()
	if err := tx.PutJSON(bucketOrgs, store.U64(n), o); err != nil {
		return o, err
	}
	if err := tx.Put(bucketOrgByUSCC, []byte(o.USCC), []byte(o.ID)); err != nil {
		return o, err
	}
	return o, audit.Append(tx, now, actor, "org.create", "org/"+o.ID, o)
}

func checkParent(tx *store.Tx, o certseal.Org) error {
	if o.ParentID == "" {
		return nil
	}
	if o.ParentID == o.ID {
		return certseal.Errorf(certseal.EInvalid, "上级机构不能是自己")
	}
	if _, err := Get(tx, o.ParentID); err != nil {
		return certseal.Errorf(certseal.ENotFound, "上级机构 %q 不存在", o.ParentID)
	}
	return nil
}

// OrgPatch holds the fields UpdateOrg may change; nil fields stay as they are.
type OrgPatch struct {
	Name         *string  `json:"name"`
	AreaCode     *string  `json:"area_code"`
	ParentID     *string  `json:"parent_id"`
	PrintOffsetX *float64 `json:"print_offset_x_mm"`
	PrintOffsetY *float64 `json:"print_offset_y_mm"`
}

// UpdateOrg applies p to the organisation. Kind and USCC never change. It returns an *Error:
// ENotFound, or EInvalid for bad fields.
func (s *Service) UpdateOrg(ctx context.Context, actor certseal.Actor, id string, p OrgPatch) (certseal.Org, error) {
	var o certseal.Org
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if o, err = Get(tx, id); err != nil {
			return err
		}
		before := o
		if p.Name != nil {
			o.Name = *p.Name
		}
		if p.AreaCode != nil {
			o.AreaCode = *p.AreaCode
		}
		if p.ParentID != nil {
			o.ParentID = *p.ParentID
		}
		if p.PrintOffsetX != nil {
			o.PrintOffsetX = *p.PrintOffsetX
		}
		if p.PrintOffsetY != nil {
			o.PrintOffsetY = *p.PrintOffsetY
		}
		if err := o.Validate(); err != nil {
			return err
		}
		if err := checkParent(tx, o); err != nil {
			return err
		}
		now := s.Clock.Now()
		o.UpdatedAt = now.UTC()
		k, _ := store.IDKey(id)
		if err := tx.PutJSON(bucketOrgs, k, o); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "org.update", "org/"+o.ID, map[string]any{"before": before, "after": o})
	})
	return o, err
}

// ValidUsername reports whether s is 3-32 characters of letters, digits, '.', '_' or '-'.
func ValidUsername(s string) bool {
	if n := utf8.RuneCountInString(s); n < 3 || n > 32 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) < 0
}
