package certs

import (
	"context"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
	"certseal/inventory"
)

// OperationRequest is a lifecycle operation on a certificate.
type OperationRequest struct {
	// Op is one of: suspend, reinstate, revoke, withdraw, cancel, penalty_withdraw, expire,
	// transfer_out, cancel_transfer, renew, change, replace.
	Op     string `json:"op"`
	Reason string `json:"reason"`
	// ValidTo is the new end date for renew (and optionally change).
	ValidTo string `json:"valid_to,omitempty"`
	// Values are changed field values for change.
	Values map[string]string `json:"values,omitempty"`
	// Holder replaces the holder for change (a renamed company, say).
	Holder *Holder `json:"holder,omitempty"`
	// Serial is the blank form the new paper copy is printed on (renew, change, replace).
	Serial string `json:"blank_serial,omitempty"`
	// SealID is the seal for a new version; the old certificate's seal when empty.
	SealID string `json:"seal_id,omitempty"`
	// ReportRef is the loss report reference for replace (补证).
	ReportRef string `json:"report_ref,omitempty"`
}

type opRule struct {
	code, label string
	from        []Status
	to          Status // the new status; "" for operations that make a new version or keep it
	newVersion  bool
}

// opRules is the lifecycle: which operation may start from which status, and where it goes.
var opRules = map[string]opRule{
	"suspend":          {"03", "暂扣", []Status{StatusValid}, StatusSuspended, false},
	"reinstate":        {"06", "暂扣发还", []Status{StatusSuspended}, StatusValid, false},
	"revoke":           {"", "撤销", []Status{StatusValid, StatusSuspended}, StatusRevoked, false},
	"withdraw":         {"", "撤回", []Status{StatusValid, StatusSuspended}, StatusOther, false},
	"cancel":           {"05", "注销", []Status{StatusValid, StatusSuspended, StatusExpired}, StatusCancelled, false},
	"penalty_withdraw": {"", "吊销", []Status{StatusValid, StatusSuspended}, StatusPenalty, false},
	"expire":           {"04", "过期失效", []Status{StatusExpired}, StatusExpired, false},
	"transfer_out":     {"", "办理转出", []Status{StatusValid}, StatusTransferredOut, false},
	"cancel_transfer":  {"10", "取消转出", []Status{StatusTransferredOut}, StatusValid, false},
	"renew":            {"02", "延续", []Status{StatusValid, StatusExpired}, "", true},
	"change":           {"09", "变更", []Status{StatusValid}, "", true},
	"replace":          {"", "补证", []Status{StatusValid}, "", false},
}

// Ops lists the operation names.
func Ops() []string {
	return []string{"suspend", "reinstate", "revoke", "withdraw", "cancel", "penalty_withdraw", "expire", "transfer_out", "cancel_transfer", "renew", "change", "replace"}
}

func allowed(r opRule, st Status) bool {
	for _, f := range r.from {
		if f == st {
			return true
		}
	}
	return false
}

// Validate checks the request's own fields. It returns an *certseal.Error (EInvalid).
func (r *OperationRequest) Validate() error {
	if _, ok := opRules[r.Op]; !ok {
		return certseal.Errorf(certseal.EInvalid, "未知的操作 %q，可用：%s", r.Op, strings.Join(Ops(), "、"))
	}
	r.Reason = strings.TrimSpace(r.Reason)
	if utf8.RuneCountInString(r.Reason) < 2 || utf8.RuneCountInString(r.Reason) > 500 {
		return certseal.Errorf(certseal.EInvalid, "请填写操作原因（2至500个字符）")
	}
	if r.ValidTo != "" {
		if _, err := parseDate(r.ValidTo); err != nil {
			return certseal.Errorf(certseal.EInvalid, "valid_to 应为日期，如 2029-03-01")
		}
	}
	if r.Op == "renew" && r.ValidTo == "" {
		return certseal.Errorf(certseal.EInvalid, "延续需要填写新的有效期截止日期（valid_to）")
	}
	if r.Op == "change" && len(r.Values) == 0 && r.Holder == nil && r.ValidTo == "" {
		return certseal.Errorf(certseal.EInvalid, "变更需要填写变更的内容（values、holder 或 valid_to）")
	}
	if r.Op == "replace" && r.Serial == "" {
		return certseal.Errorf(certseal.EInvalid, "补证需要填写新的空白证照印制编号（blank_serial）")
	}
	if r.Holder != nil {
		if err := r.Holder.Validate(); err != nil {
			return err
		}
	}
	if len(r.Values) > MaxValues || len(r.ReportRef) > 100 || len(r.Serial) > 40 {
		return certseal.Errorf(certseal.EInvalid, "请求内容过长")
	}
	return nil
}

// mayOperate reports whether the actor may operate on c: the issuing organisation's clerks and
// officers, or the city center's administrator.
func mayOperate(actor certseal.Actor, c *Certificate) error {
	if actor.Role == certseal.RoleAdmin {
		return nil
	}
	if (actor.Role == certseal.RoleClerk || actor.Role == certseal.RoleBureauOfficer) && actor.OrgID == c.IssuerOrgID {
		return nil
	}
	return certseal.Errorf(certseal.EForbidden, "只有发证机关或市政务服务中心可以变更这份证照的状态")
}

// Operate applies a lifecycle operation and returns the certificate after it (for renew and
// change, the new version). It returns an *certseal.Error: EInvalid, ENotFound, EForbidden, or
// EConflict for a transition the lifecycle does not allow (reinstating a revoked certificate).
func (s *Service) Operate(ctx context.Context, actor certseal.Actor, id string, req OperationRequest) (Certificate, error) {
	if err := req.Validate(); err != nil {
		return Certificate{}, err
	}
	rule := opRules[req.Op]
	var c Certificate
	if err := s.DB.View(func(tx *store.Tx) error {
		var err error
		c, err = GetTx(tx, id)
		return err
	}); err != nil {
		return c, err
	}
	if err := mayOperate(actor, &c); err != nil {
		return c, err
	}
	now := s.Clock.Now()
	if err := checkTransition(rule, req.Op, &c, now); err != nil {
		return c, err
	}
	if rule.newVersion {
		return s.newVersion(ctx, actor, c, req, rule)
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		cur, err := GetTx(tx, id)
		if err != nil {
			return err
		}
		if err := checkTransition(rule, req.Op, &cur, now); err != nil {
			return err
		}
		op := Operation{Op: req.Op, Code: rule.code, Label: rule.label, From: cur.Status, Reason: req.Reason,
			By: actor.Username, OrgID: actor.OrgID, At: now.UTC().Format(time.RFC3339)}
		if req.Op == "replace" {
			if cur.Serial == "" {
				return certseal.Errorf(certseal.EInvalid, "电子证照没有纸质证照，无需补证")
			}
			if err := inventory.ReplaceTx(tx, now, actor, cur.TypeCode, cur.Serial, req.Serial, cur.ID, req.ReportRef); err != nil {
				return err
			}
			op.Serial = req.Serial
			cur.Serial = req.Serial
		} else {
			cur.Status = rule.to
			cur.StatusReason = req.Reason
		}
		op.To = cur.Status
		cur.UpdatedAt = now.UTC()
		if err := putTx(tx, &cur, false); err != nil {
			return err
		}
		if err := appendOpTx(tx, cur.ID, op); err != nil {
			return err
		}
		if err := audit.Append(tx, now, actor, "certificate."+req.Op, "certificate/"+cur.ID,
			map[string]any{"reason": req.Reason, "from": op.From, "to": op.To, "blank_serial": op.Serial}); err != nil {
			return err
		}
		c = cur
		return s.outboxTx(tx, &cur, op)
	})
	return c, err
}

func checkTransition(rule opRule, name string, c *Certificate, now time.Time) error {
	st := c.effectiveStatus(now)
	if name == "expire" && c.Status == StatusExpired {
		return certseal.Errorf(certseal.EConflict, "证照已经是失效状态")
	}
	if c.SupersededBy != "" {
		return certseal.Errorf(certseal.EConflict, "这是旧版本证照，已被新版本（%s）替代，请对新版本操作", c.SupersededBy)
	}
	if !allowed(rule, st) {
		if name == "expire" {
			return certseal.Errorf(certseal.EConflict, "证照有效期至 %s，尚未到期，不能办理过期失效", c.ValidTo)
		}
		return certseal.Errorf(certseal.EConflict, "证照当前状态为“%s”，不能办理“%s”", st.Label(), rule.label).
			WithDetail("status", string(st)).WithDetail("op", name)
	}
	return nil
}

// newVersion issues version+1 of c for renew or change: a new identifier linked to the previous
// one, a new PDF, and the old version marked superseded.
func (s *Service) newVersion(ctx context.Context, actor certseal.Actor, old Certificate, req OperationRequest, rule opRule) (Certificate, error) {
	claims := map[string]string{"version\x00" + old.ID: "这份证照正在办理另一项变更或延续"}
	if req.Serial != "" {
		claims["serial\x00"+old.TypeCode+"\x00"+req.Serial] = "空白证照 " + req.Serial + " 正在被另一笔签发使用"
	}
	release, err := s.claim(claims)
	if err != nil {
		return Certificate{}, err
	}
	defer release()
	ir := IssueRequest{TypeCode: old.TypeCode, ItemCode: old.ItemCode, Holder: old.Holder, ValidFrom: old.ValidFrom, ValidTo: old.ValidTo,
		SealID: old.SealID, Serial: req.Serial, Extension: old.Extension, Values: map[string]string{}}
	derived := map[string]bool{}
	for _, list := range [][]string{issuerFields, issueDateFields, validToFields, validityTextFields} {
		for _, f := range list {
			derived[f] = true
		}
	}
	for k, v := range old.Values {
		if !derived[k] {
			ir.Values[k] = v
		}
	}
	if req.Op == "renew" {
		ir.ValidFrom = s.Clock.Now().In(certseal.China).Format(DateLayout)
		if old.ValidTo != "" && old.ValidTo >= ir.ValidFrom {
			to, _ := parseDate(old.ValidTo)
			ir.ValidFrom = to.AddDate(0, 0, 1).Format(DateLayout)
		}
	}
	if req.ValidTo != "" {
		ir.ValidTo = req.ValidTo
	}
	for k, v := range req.Values {
		ir.Values[k] = v
	}
	if req.Holder != nil {
		for _, f := range append(append([]string{}, holderNameFields...), holderCodeFields...) {
			delete(ir.Values, f)
		}
		ir.Holder = *req.Holder
	}
	if req.SealID != "" {
		ir.SealID = req.SealID
	}
	if old.Serial == "" {
		ir.Serial = ""
	}
	p, err := s.check(ctx, actor, &ir)
	if err != nil {
		return Certificate{}, err
	}
	ident, err := ParseIdentifier(old.Identifier)
	if err != nil {
		return Certificate{}, err
	}
	ident.Version = old.Version + 1
	var c Certificate
	if err := s.DB.Batch(func(tx *store.Tx) error {
		n, err := tx.NextID(bucketRecords)
		if err != nil {
			return err
		}
		c = s.newRecord(actor, p, &ir, strconv.FormatUint(n, 10), old.LicenceNumber, ident)
		c.PreviousID = old.ID
		return nil
	}); err != nil {
		return Certificate{}, err
	}
	pdf, err := s.produce(&c, p)
	if err != nil {
		return Certificate{}, err
	}
	now := p.now
	err = s.DB.Batch(func(tx *store.Tx) error {
		cur, err := GetTx(tx, old.ID)
		if err != nil {
			return err
		}
		if err := checkTransition(rule, req.Op, &cur, now); err != nil {
			return err
		}
		if ir.Serial != "" {
			if err := inventory.UseTx(tx, now, actor, c.TypeCode, ir.Serial, c.ID); err != nil {
				return err
			}
		}
		op := Operation{Op: req.Op, Code: rule.code, Label: rule.label, From: cur.effectiveStatus(now), To: StatusValid, Reason: req.Reason, Serial: ir.Serial}
		if err := s.storeNewTx(tx, actor, &c, pdf, op); err != nil {
			return err
		}
		cur.Status = StatusOther
		cur.StatusReason = "已" + rule.label + "，被新版本 " + c.Identifier + " 替代：" + req.Reason
		cur.SupersededBy = c.ID
		cur.UpdatedAt = now.UTC()
		if err := putTx(tx, &cur, false); err != nil {
			return err
		}
		oldOp := Operation{Op: "superseded", Label: "被新版本替代", From: op.From, To: StatusOther, Reason: req.Reason, NewID: c.ID,
			By: actor.Username, OrgID: actor.OrgID, At: now.UTC().Format(time.RFC3339)}
		if err := appendOpTx(tx, cur.ID, oldOp); err != nil {
			return err
		}
		return s.outboxTx(tx, &cur, oldOp)
	})
	if err != nil {
		s.voidReservation(actor, c, err)
		return Certificate{}, err
	}
	return c, nil
}

// ExpireDue records the expiry of every valid certificate whose validity ended before now, as
// the system actor, and returns how many it expired. It returns an error only when the store
// fails.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	var due []string
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketRecords, nil, nil, func(_, v []byte) error {
			var c Certificate
			if err := jsonUnmarshal(v, &c); err != nil {
				return err
			}
			if c.Expired(now) {
				due = append(due, c.ID)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		if _, err := s.Operate(ctx, certseal.System, id, OperationRequest{Op: "expire", Reason: "有效期届满，自动失效"}); err == nil {
			n++
		}
	}
	return n, nil
}
