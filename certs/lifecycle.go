package certs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
)

// OperationRequest is a lifecycle operation on a certificate.
type OperationRequest struct {
	// Op is one of: suspend, reinstate, revoke, withdraw, cancel, penalty_withdraw, expire,
	// transfer_out, cancel_transfer, transfer_in, renew, change, replace.
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
	// SealID is the seal for a new version; the old certificate's seal when empty. A transfer
	// in needs the receiving bureau's own seal.
	SealID string `json:"seal_id,omitempty"`
	// TargetOrgID is the county bureau a transfer out goes to (transfer_out); only that bureau
	// may then transfer the certificate in.
	TargetOrgID string `json:"target_org_id,omitempty"`
	// ReportRef is the loss report reference for replace (补证).
	ReportRef string `json:"report_ref,omitempty"`
}

type opRule struct {
	code, label string
	from        []Status
	to          Status // the new status; "" for operations that make a new version or keep it
	newVersion  bool
}

// OtherOpCode is the operation code recorded for an operation the national list of operation
// codes (01-10) has none for: 99 其他, as the status list's 99 其他, with the operation's own
// label (撤销, 撤回, 吊销, 办理转出, 补证, 被新版本取代) beside it.
const OtherOpCode = "99"

// opRules is the lifecycle: which operation may start from which status, and where it goes.
// Codes 01-10 are the national operation codes; the others are recorded as OtherOpCode.
var opRules = map[string]opRule{
	"suspend":          {"03", "暂扣", []Status{StatusValid}, StatusSuspended, false},
	"reinstate":        {"06", "暂扣发还", []Status{StatusSuspended}, StatusValid, false},
	"revoke":           {OtherOpCode, "撤销", []Status{StatusValid, StatusSuspended, StatusPending}, StatusRevoked, false},
	"withdraw":         {OtherOpCode, "撤回", []Status{StatusValid, StatusSuspended, StatusPending}, StatusOther, false},
	"cancel":           {"05", "注销", []Status{StatusValid, StatusSuspended, StatusExpired, StatusPending}, StatusCancelled, false},
	"penalty_withdraw": {OtherOpCode, "吊销", []Status{StatusValid, StatusSuspended, StatusPending}, StatusPenalty, false},
	"expire":           {"04", "过期失效", []Status{StatusExpired}, StatusExpired, false},
	"transfer_out":     {OtherOpCode, "办理转出", []Status{StatusValid}, StatusTransferredOut, false},
	"cancel_transfer":  {"10", "取消转出", []Status{StatusTransferredOut}, StatusValid, false},
	"transfer_in":      {"08", "转入", []Status{StatusTransferredOut}, "", true},
	"renew":            {"02", "延续", []Status{StatusValid, StatusExpired}, "", true},
	"change":           {"09", "变更", []Status{StatusValid}, "", true},
	"replace":          {OtherOpCode, "补证", []Status{StatusValid, StatusPending}, "", false},
}

// Operations recorded by the service itself, with their codes.
var recordedOps = map[string]OpCode{
	"issue":      {Code: "01", Label: "新发", National: true},
	"superseded": {Code: OtherOpCode, Label: "被新版本取代"},
}

// OpCode is the operation code and Chinese label an operation is recorded with.
type OpCode struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	// National is true for a code of the national list (01-10), false for OtherOpCode.
	National bool `json:"national"`
}

// OperationCode returns the code and label of an operation (one of Ops, or issue, or superseded:
// the record of a version whose newer version took effect), and false for an unknown name.
func OperationCode(op string) (OpCode, bool) {
	if r, ok := opRules[op]; ok {
		return OpCode{Code: r.code, Label: r.label, National: r.code != OtherOpCode}, true
	}
	c, ok := recordedOps[op]
	return c, ok
}

// OpLabel returns the Chinese name of an operation, or the name itself when it is unknown.
func OpLabel(op string) string {
	if c, ok := OperationCode(op); ok {
		return c.Label
	}
	return op
}

// Ops lists the operation names.
func Ops() []string {
	return []string{"suspend", "reinstate", "revoke", "withdraw", "cancel", "penalty_withdraw", "expire", "transfer_out", "cancel_transfer", "transfer_in", "renew", "change", "replace"}
}

// OpsFrom lists the operations the lifecycle allows on c as of now, in the order of Ops: those
// whose rule starts from c's status as read now (00 未生效 and 05 失效 included; a valid
// certificate past its end date counts as expired), none on a version a newer one has superseded
// or taken over, and replace (补证) only for a certificate printed on a blank form. Who may
// operate is checked apart: transfer_in is for the receiving bureau only, the rest for the
// issuing organisation and the city center. Pages offer these and nothing else.
func OpsFrom(c *Certificate, now time.Time) []string {
	var out []string
	for _, name := range Ops() {
		if checkTransition(opRules[name], name, c, now) != nil {
			continue
		}
		if name == "replace" && c.Serial == "" {
			continue
		}
		out = append(out, name)
	}
	return out
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
	r.TargetOrgID = strings.TrimSpace(r.TargetOrgID)
	if r.Op == "transfer_out" && r.TargetOrgID == "" {
		return certseal.Errorf(certseal.EInvalid, "办理转出需要填写转入的县区审批局（target_org_id）")
	}
	if r.Op != "transfer_out" && r.TargetOrgID != "" {
		return certseal.Errorf(certseal.EInvalid, "只有办理转出需要填写转入机关（target_org_id）")
	}
	if r.Op == "transfer_in" && r.SealID == "" {
		return certseal.Errorf(certseal.EInvalid, "转入需要选择本机关的印章（seal_id），证照将以本机关的名义重新签章")
	}
	if r.Holder != nil {
		if err := r.Holder.Validate(); err != nil {
			return err
		}
	}
	if len(r.Values) > MaxValues || len(r.ReportRef) > 100 || len(r.Serial) > 40 || len(r.TargetOrgID) > 40 {
		return certseal.Errorf(certseal.EInvalid, "请求内容过长")
	}
	return nil
}

// mayOperate reports whether the actor may apply op to c: the issuing organisation's clerks and
// officers, or the city center's administrator; a transfer in only the clerks and officers of
// the bureau the certificate was transferred to.
func mayOperate(actor certseal.Actor, c *Certificate, op string) error {
	if op == "transfer_in" {
		if (actor.Role == certseal.RoleClerk || actor.Role == certseal.RoleBureauOfficer) && c.TransferToOrgID != "" && actor.OrgID == c.TransferToOrgID {
			return nil
		}
		return certseal.Errorf(certseal.EForbidden, "只有证照转入的县区审批局的工作人员可以办理转入")
	}
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
// The certificate is presented as Get presents it: its status as of now (a renewal that takes
// effect later answers 00 未生效, as the next Get does).
func (s *Service) Operate(ctx context.Context, actor certseal.Actor, id string, req OperationRequest) (Certificate, error) {
	c, err := s.operate(ctx, actor, id, req)
	if err != nil {
		return Certificate{}, err
	}
	s.present(&c)
	return c, nil
}

func (s *Service) operate(ctx context.Context, actor certseal.Actor, id string, req OperationRequest) (Certificate, error) {
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
	if err := mayOperate(actor, &c, req.Op); err != nil {
		return c, err
	}
	now := s.Clock.Now()
	if err := checkTransition(rule, req.Op, &c, now); err != nil {
		return c, err
	}
	var target certseal.Org
	if req.Op == "transfer_out" {
		if err := s.DB.View(func(tx *store.Tx) error {
			var err error
			target, err = transferTarget(tx, &c, req.TargetOrgID)
			return err
		}); err != nil {
			return c, err
		}
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
		k, _ := store.IDKey(cur.ID)
		switch req.Op {
		case "transfer_out":
			if _, err := transferTarget(tx, &cur, target.ID); err != nil {
				return err
			}
			cur.TransferToOrgID, cur.TransferToName = target.ID, target.Name
			op.TargetOrgID = target.ID
			// the receiving bureau finds the certificate in its own list
			if err := tx.Put(bucketByIssuer, append(store.Prefix(target.ID), k...), nil); err != nil {
				return err
			}
		case "cancel_transfer":
			op.TargetOrgID = cur.TransferToOrgID
			if err := tx.Delete(bucketByIssuer, append(store.Prefix(cur.TransferToOrgID), k...)); err != nil {
				return err
			}
			cur.TransferToOrgID, cur.TransferToName = "", ""
		}
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
			if rule.to == StatusValid {
				// back in force (reinstated, transfer cancelled): the old reason no longer applies
				cur.StatusReason = ""
			}
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
			map[string]any{"reason": req.Reason, "from": op.From, "to": op.To, "blank_serial": op.Serial, "target_org_id": op.TargetOrgID}); err != nil {
			return err
		}
		c = cur
		return s.outboxTx(tx, &cur, op)
	})
	return c, err
}

// transferTarget checks, inside tx, the bureau a certificate is transferred out to: an existing
// county bureau or department other than the issuer. It returns an *certseal.Error: ENotFound,
// EInvalid.
func transferTarget(tx *store.Tx, c *Certificate, orgID string) (certseal.Org, error) {
	o, err := orgs.Get(tx, orgID)
	if err != nil {
		return o, certseal.Errorf(certseal.ENotFound, "转入机关 %q 不存在", orgID)
	}
	if o.Kind != certseal.KindCountyBureau && o.Kind != certseal.KindCountyDept {
		return o, certseal.Errorf(certseal.EInvalid, "证照只能转出到县区行政审批局或原审批部门，“%s”是%s", o.Name, o.Kind.Label())
	}
	if o.ID == c.IssuerOrgID {
		return o, certseal.Errorf(certseal.EInvalid, "不能把证照转出到本机关")
	}
	return o, nil
}

func checkTransition(rule opRule, name string, c *Certificate, now time.Time) error {
	st := c.effectiveStatus(now)
	if name == "expire" && c.Status == StatusExpired {
		return certseal.Errorf(certseal.EConflict, "证照已经是失效状态")
	}
	if c.SupersededBy != "" {
		next := c.SupersededByIdentifier
		if next == "" {
			next = c.SupersededBy
		}
		if c.Status == StatusTransferredOut {
			return certseal.Errorf(certseal.EConflict, "证照已由%s转入为第%d版（%s），不能再办理“%s”", c.TransferToName, c.Version+1, next, rule.label)
		}
		if !c.Superseded(now) {
			return certseal.Errorf(certseal.EConflict, "这份证照已办理新版本（第%d版，%s，自%s起生效），请对新版本操作", c.Version+1, next, c.SupersededFrom)
		}
		return certseal.Errorf(certseal.EConflict, "这是旧版本证照，%s（%s），请对新版本操作", c.SupersededLabel(), next)
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

// newVersion issues version+1 of c for renew, change or transfer in: a new identifier linked to
// the previous one (under the receiving bureau's issuer code for a transfer in), a new PDF, and
// the old version linked to it. The old version stays as it is until the new one takes effect
// (its valid_from) and is superseded from then on (computed on read, recorded by the sweep);
// a transfer in leaves it 06 办理转出 with the link.
func (s *Service) newVersion(ctx context.Context, actor certseal.Actor, old Certificate, req OperationRequest, rule opRule) (Certificate, error) {
	// The version first, in a fixed order: a concurrent operation on the same certificate always
	// hears "in progress, retry", never "serial taken".
	claims := []claimReq{{"version\x00" + old.ID,
		certseal.Errorf(certseal.EConflict, "这份证照正在办理另一项变更、延续或转入，请稍后重试").WithDetail("retry", true)}}
	if req.Serial != "" {
		claims = append(claims, claimReq{"serial\x00" + old.TypeCode + "\x00" + req.Serial,
			certseal.Errorf(certseal.EConflict, "空白证照 %s 正在被另一笔签发使用", req.Serial).WithDetail("blank_serial", req.Serial)})
	}
	release, err := s.claimInOrder(claims...)
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
	transfer := req.Op == "transfer_in"
	// the record id (and for a transfer in, the receiving bureau's identifier serial) from
	// memory; the commit below stores them with the new version
	r, err := s.takeVersion(p.now, p.org.ID, transfer)
	if err != nil {
		return Certificate{}, err
	}
	if transfer {
		ident.IssuerCode, ident.Serial = p.org.USCC, formatSerial(p.now, r.values[0])
	}
	c := s.newRecord(actor, p, &ir, strconv.FormatUint(r.id, 10), old.LicenceNumber, ident)
	c.PreviousID = old.ID
	if transfer {
		c.TransferFromOrgID, c.TransferFromName = old.IssuerOrgID, old.IssuerName
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
		if err := commitReserved(tx, r); err != nil {
			return err
		}
		if transfer && cur.TransferToOrgID != actor.OrgID {
			return certseal.Errorf(certseal.EConflict, "证照的转入机关已变更，请刷新后重试")
		}
		if ir.Serial != "" {
			if err := inventory.UseTx(tx, now, actor, c.TypeCode, ir.Serial, c.ID); err != nil {
				return err
			}
		}
		from := cur.effectiveStatus(now)
		changes := versionChanges(&cur, &c)
		op := Operation{Op: req.Op, Code: rule.code, Label: rule.label, From: from, To: StatusValid, Reason: req.Reason, Serial: ir.Serial, PreviousID: cur.ID, Changes: changes}
		if err := s.storeNewTx(tx, actor, &c, pdf, op); err != nil {
			return err
		}
		cur.SupersededBy, cur.SupersededByIdentifier, cur.SupersededFrom = c.ID, c.Identifier, c.ValidFrom
		// On the old version: a transfer in leaves it 06 with the link; a new version in force at
		// once (a change, the renewal of an expired certificate) supersedes it now; a renewal
		// that takes effect later leaves it in force until the sweep (or any read) finds the day.
		oldOp := Operation{Op: req.Op, Code: rule.code, Label: fmt.Sprintf("%s为第%d版（自%s起生效）", rule.label, c.Version, c.ValidFrom),
			From: from, Reason: req.Reason, NewID: c.ID, By: actor.Username, OrgID: actor.OrgID, At: now.UTC().Format(time.RFC3339), Changes: changes}
		if !transfer && cur.Superseded(now) {
			code := recordedOps["superseded"]
			oldOp.Op, oldOp.Code, oldOp.Label = "superseded", code.Code, cur.SupersededLabel()
			cur.Status = StatusOther
			cur.StatusReason = cur.SupersededLabel() + "（" + c.Identifier + "）：" + req.Reason
		}
		oldOp.To = cur.Status
		cur.UpdatedAt = now.UTC()
		if err := putTx(tx, &cur, false); err != nil {
			return err
		}
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

// versionChanges returns what the new version changes of the old one: the values the clerk
// can edit (not the ones the service fills in itself on issue, such as the issue date), then
// the end date of validity, the fields sorted by name.
func versionChanges(old, c *Certificate) []FieldChange {
	system := SystemFields()
	var names []string
	for k := range old.Values {
		names = append(names, k)
	}
	for k := range c.Values {
		if _, ok := old.Values[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	var out []FieldChange
	for _, k := range names {
		if slices.Contains(system, k) || old.Values[k] == c.Values[k] {
			continue
		}
		out = append(out, FieldChange{Field: k, Old: old.Values[k], New: c.Values[k]})
	}
	if old.ValidTo != c.ValidTo {
		out = append(out, FieldChange{Field: "有效期至", Old: old.ValidTo, New: c.ValidTo})
	}
	return out
}

// SweepResult counts what one sweep recorded.
type SweepResult struct {
	Expired    int `json:"expired"`    // 04 过期失效: valid certificates past their valid_to
	Superseded int `json:"superseded"` // versions whose newer version took effect
}

// Sweep records, as the system actor and on the service's clock, what time alone has changed:
// the supersession of every version whose newer version has taken effect (status 99 with an
// operation "superseded") and the expiry of every valid certificate whose validity ended (05 by
// the operation 04 过期失效). Reads already show both before the sweep runs. It returns an error
// only when the store fails.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	now := s.Clock.Now()
	var res SweepResult
	var due, superseded []string
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketRecords, nil, nil, func(_, v []byte) error {
			var c Certificate
			if err := jsonUnmarshal(v, &c); err != nil {
				return err
			}
			switch {
			case c.Status == StatusValid && c.Superseded(now):
				superseded = append(superseded, c.ID)
			case c.Expired(now):
				due = append(due, c.ID)
			}
			return nil
		})
	})
	if err != nil {
		return res, err
	}
	for _, id := range superseded {
		ok, err := s.recordSuperseded(id, now)
		if err != nil {
			return res, err
		}
		if ok {
			res.Superseded++
		}
	}
	for _, id := range due {
		if _, err := s.Operate(ctx, certseal.System, id, OperationRequest{Op: "expire", Reason: "有效期届满，自动失效"}); err == nil {
			res.Expired++
		}
	}
	return res, nil
}

// recordSuperseded records that the newer version of a valid certificate has taken effect: the
// status 99 with the reason, the operation "superseded" and its outbox event. It reports false
// when another sweep recorded it first.
func (s *Service) recordSuperseded(id string, now time.Time) (bool, error) {
	done := false
	err := s.DB.Update(func(tx *store.Tx) error {
		cur, err := GetTx(tx, id)
		if err != nil || cur.Status != StatusValid || !cur.Superseded(now) {
			return err
		}
		code := recordedOps["superseded"]
		op := Operation{Op: "superseded", Code: code.Code, Label: cur.SupersededLabel(), From: StatusValid, To: StatusOther,
			Reason: "第" + strconv.Itoa(cur.Version+1) + "版自" + cur.SupersededFrom + "起生效", NewID: cur.SupersededBy,
			By: certseal.System.Username, OrgID: certseal.System.OrgID, At: now.UTC().Format(time.RFC3339)}
		cur.Status = StatusOther
		cur.StatusReason = cur.SupersededLabel() + "（" + cur.SupersededByIdentifier + "）"
		cur.UpdatedAt = now.UTC()
		if err := putTx(tx, &cur, false); err != nil {
			return err
		}
		if err := appendOpTx(tx, cur.ID, op); err != nil {
			return err
		}
		if err := audit.Append(tx, now, certseal.System, "certificate.superseded", "certificate/"+cur.ID,
			map[string]any{"new_id": cur.SupersededBy, "new_identifier": cur.SupersededByIdentifier, "from": cur.SupersededFrom}); err != nil {
			return err
		}
		done = true
		return s.outboxTx(tx, &cur, op)
	})
	return done, err
}

// ExpireDue runs the sweep (Sweep) and returns how many records it changed: expiries and
// supersessions. It returns an error only when the store fails.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	r, err := s.Sweep(ctx)
	return r.Expired + r.Superseded, err
}
