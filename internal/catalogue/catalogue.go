// Package catalogue keeps the government service catalogue (政务服务事项), the licence types
// (证照类型) and the bindings between them (认领/绑定).
//
// design.md puts licence types and the catalogue in package certs. They live here instead,
// below certs and inventory, because the blank-form ledger (inventory) and the demand rounds need a
// licence type's serial format and supply channel, and inventory sits below certs in the import
// order.
package catalogue

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// Buckets.
const (
	bucketItems    store.Bucket = "catalogue_items"  // item code -> Item
	bucketCodes    store.Bucket = "catalogue_codes"  // item or sub-item code -> item code
	bucketTypes    store.Bucket = "licence_types"    // type code -> LicenceType
	bucketBindings store.Bucket = "bindings_by_type" // Key(type, code) -> Binding
	bucketByItem   store.Bucket = "bindings_by_item" // Key(code, type) -> nil
)

// ItemTypes are the kinds of government service item (事项类型).
var ItemTypes = []string{"行政许可", "行政确认", "行政给付", "行政检查", "行政裁决", "行政奖励", "行政处罚", "行政强制", "行政征收", "其他行政权力", "公共服务"}

// Levels are the levels at which an item is handled.
var Levels = []string{"national", "provincial", "city", "county"}

// SubItem is a sub-item (子项) with its own code.
type SubItem struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Item is a government service catalogue item (政务服务事项). Its name, code, legal basis and
// type are the same at every level ("one item one standard, one sub-item one code").
type Item struct {
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	LegalBasis    string    `json:"legal_basis"`
	ItemType      string    `json:"item_type"`
	Level         string    `json:"level"`
	HandlingOrgID string    `json:"handling_org_id,omitempty"`
	Transferred   bool      `json:"transferred"`
	SubItems      []SubItem `json:"sub_items,omitempty"`
	// ClaimedAt is when the city claimed the item (认领, Claim); zero before.
	ClaimedAt time.Time `json:"claimed_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Field limits, also stated in the OpenAPI document.
const (
	MaxCodeLen       = 64
	MaxLegalBasisLen = 2000
	MaxSubItems      = 100
	MaxSerialPrefix  = 8
	MaxSerialWidth   = 12
)

var codeRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.\-]*$`)

func checkCode(what, code string) error {
	if code == "" || len(code) > MaxCodeLen || !codeRE.MatchString(code) {
		return certseal.Errorf(certseal.EInvalid, "%s %q 应为1至%d位字母、数字、点或连字符", what, code, MaxCodeLen)
	}
	return nil
}

func checkName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return certseal.Errorf(certseal.EInvalid, "%s不能为空", what)
	}
	if utf8.RuneCountInString(name) > certseal.MaxNameLen {
		return certseal.Errorf(certseal.EInvalid, "%s不能超过%d个字符", what, certseal.MaxNameLen)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Validate checks the item's own fields and returns an *Error with code EInvalid naming the first
// bad one.
func (it *Item) Validate() error {
	it.Name = strings.TrimSpace(it.Name)
	if err := checkCode("事项编码", it.Code); err != nil {
		return err
	}
	if err := checkName("事项名称", it.Name); err != nil {
		return err
	}
	if utf8.RuneCountInString(it.LegalBasis) > MaxLegalBasisLen {
		return certseal.Errorf(certseal.EInvalid, "设定依据不能超过%d个字符", MaxLegalBasisLen)
	}
	if !contains(ItemTypes, it.ItemType) {
		return certseal.Errorf(certseal.EInvalid, "事项类型 %q 无效，应为：%s", it.ItemType, strings.Join(ItemTypes, "、"))
	}
	if !contains(Levels, it.Level) {
		return certseal.Errorf(certseal.EInvalid, "事项层级 %q 无效，应为 national、provincial、city 或 county", it.Level)
	}
	if len(it.SubItems) > MaxSubItems {
		return certseal.Errorf(certseal.EInvalid, "子项不能超过%d个", MaxSubItems)
	}
	seen := map[string]bool{it.Code: true}
	for i, s := range it.SubItems {
		if err := checkCode("子项编码", s.Code); err != nil {
			return err
		}
		if err := checkName("子项名称", s.Name); err != nil {
			return certseal.Errorf(certseal.EInvalid, "第%d个子项：%s", i+1, certseal.ErrorMessage(err))
		}
		if seen[s.Code] {
			return certseal.Errorf(certseal.EInvalid, "子项编码 %s 重复", s.Code)
		}
		seen[s.Code] = true
	}
	return nil
}

// Service manages the catalogue, licence types and bindings.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
}

// GetItem returns the item with the given code inside tx, or an *Error with code ENotFound.
func GetItem(tx *store.Tx, code string) (Item, error) {
	var it Item
	ok, err := tx.GetJSON(bucketItems, []byte(code), &it)
	if err != nil {
		return it, err
	}
	if !ok {
		return it, certseal.Errorf(certseal.ENotFound, "事项 %q 不存在", code)
	}
	return it, nil
}

// ResolveCode returns the item that owns code, which may be the item's own code or one of its
// sub-item codes, or an *Error with code ENotFound.
func ResolveCode(tx *store.Tx, code string) (Item, error) {
	owner := tx.Get(bucketCodes, []byte(code))
	if owner == nil {
		return Item{}, certseal.Errorf(certseal.ENotFound, "事项或子项编码 %q 不存在", code)
	}
	return GetItem(tx, string(owner))
}

// CreateItem validates and stores a new catalogue item. It returns an *Error: EInvalid,
// ENotFound (handling organisation) or EConflict (the code or a sub-item code is taken).
func (s *Service) CreateItem(ctx context.Context, actor certseal.Actor, it Item) (Item, error) {
	if err := it.Validate(); err != nil {
		return it, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		it, err = CreateItemTx(tx, s.Clock.Now(), actor, it)
		return err
	})
	return it, err
}

// CreateItemTx is CreateItem inside the caller's transaction, with it already validated.
func CreateItemTx(tx *store.Tx, now time.Time, actor certseal.Actor, it Item) (Item, error) {
	if it.HandlingOrgID != "" {
		if _, err := orgs.Get(tx, it.HandlingOrgID); err != nil {
			return it, certseal.Errorf(certseal.ENotFound, "实施机构 %q 不存在", it.HandlingOrgID)
		}
	}
	codes := []string{it.Code}
	for _, s := range it.SubItems {
		codes = append(codes, s.Code)
	}
	for _, c := range codes {
		if owner := tx.Get(bucketCodes, []byte(c)); owner != nil {
			return it, certseal.Errorf(certseal.EConflict, "编码 %s 已被事项 %s 使用", c, owner)
		}
	}
	it.CreatedAt, it.UpdatedAt = now.UTC(), now.UTC()
	if err := tx.PutJSON(bucketItems, []byte(it.Code), it); err != nil {
		return it, err
	}
	for _, c := range codes {
		if err := tx.Put(bucketCodes, []byte(c), []byte(it.Code)); err != nil {
			return it, err
		}
	}
	return it, audit.Append(tx, now, actor, "item.create", "item/"+it.Code, it)
}

// ItemPatch holds the fields UpdateItem may change; the code never changes, and sub-items may
// only be added (a code once published stays).
type ItemPatch struct {
	Name          *string   `json:"name"`
	LegalBasis    *string   `json:"legal_basis"`
	ItemType      *string   `json:"item_type"`
	Level         *string   `json:"level"`
	HandlingOrgID *string   `json:"handling_org_id"`
	Transferred   *bool     `json:"transferred"`
	AddSubItems   []SubItem `json:"add_sub_items"`
}

// UpdateItem applies p to the item with the given code. It returns an *Error: ENotFound,
// EInvalid or EConflict (a new sub-item code is taken).
func (s *Service) UpdateItem(ctx context.Context, actor certseal.Actor, code string, p ItemPatch) (Item, error) {
	var it Item
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if it, err = GetItem(tx, code); err != nil {
			return err
		}
		before := it
		if p.Name != nil {
			it.Name = *p.Name
		}
		if p.LegalBasis != nil {
			it.LegalBasis = *p.LegalBasis
		}
		if p.ItemType != nil {
			it.ItemType = *p.ItemType
		}
		if p.Level != nil {
			it.Level = *p.Level
		}
		if p.HandlingOrgID != nil {
			it.HandlingOrgID = *p.HandlingOrgID
		}
		if p.Transferred != nil {
			it.Transferred = *p.Transferred
		}
		it.SubItems = append(it.SubItems, p.AddSubItems...)
		if err := it.Validate(); err != nil {
			return err
		}
		if it.HandlingOrgID != "" {
			if _, err := orgs.Get(tx, it.HandlingOrgID); err != nil {
				return certseal.Errorf(certseal.ENotFound, "实施机构 %q 不存在", it.HandlingOrgID)
			}
		}
		for _, sub := range p.AddSubItems {
			if owner := tx.Get(bucketCodes, []byte(sub.Code)); owner != nil {
				return certseal.Errorf(certseal.EConflict, "编码 %s 已被事项 %s 使用", sub.Code, owner)
			}
			if err := tx.Put(bucketCodes, []byte(sub.Code), []byte(it.Code)); err != nil {
				return err
			}
		}
		now := s.Clock.Now()
		it.UpdatedAt = now.UTC()
		if err := tx.PutJSON(bucketItems, []byte(it.Code), it); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "item.update", "item/"+it.Code, map[string]any{"before": before, "after": it})
	})
	return it, err
}

// GetItem returns the item with the given code, or an *Error with code ENotFound.
func (s *Service) GetItem(ctx context.Context, code string) (Item, error) {
	var it Item
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		it, err = GetItem(tx, code)
		return err
	})
	return it, err
}

// ItemFilter selects items in ListItems.
type ItemFilter struct {
	Level       string
	ItemType    string
	Transferred *bool
	Query       string // substring of the name or code
}

// ListItems returns up to limit items matching f in code order after the cursor, and the next
// cursor ("" at the end).
func (s *Service) ListItems(ctx context.Context, f ItemFilter, after string, limit int) ([]Item, string, error) {
	var out []Item
	var next []byte
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		out, next, err = store.Page(tx, bucketItems, nil, cursor(after), limit, func(it *Item) bool {
			return (f.Level == "" || it.Level == f.Level) && (f.ItemType == "" || it.ItemType == f.ItemType) &&
				(f.Transferred == nil || it.Transferred == *f.Transferred) &&
				(f.Query == "" || strings.Contains(it.Name, f.Query) || strings.Contains(it.Code, f.Query))
		})
		return err
	})
	return out, string(next), err
}

// cursor is the key to scan after for a page cursor (a code); nil for the first page.
func cursor(after string) []byte {
	if after == "" {
		return nil
	}
	return []byte(after)
}
