package demand

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// FilingRequest is the content of a filing (POST /demand/rounds/{id}/filings, and POST
// /demand/filings/{id}/amend). The prefilled context (use, stock, suggestion) is computed by the
// service, never taken from the request.
type FilingRequest struct {
	// OrgID is the filing organisation; when set it must be the actor's own.
	OrgID   string        `json:"org_id,omitempty"`
	Contact string        `json:"contact"`
	Phone   string        `json:"phone"`
	Note    string        `json:"note,omitempty"`
	Lines   []LineRequest `json:"lines"`
}

// LineRequest is the quantity asked for one licence type, with its reason.
type LineRequest struct {
	TypeCode string `json:"type_code"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason,omitempty"`
}

// Validate checks what can be checked without the store (not the round's types and caps). It
// returns an *Error with code EInvalid and a Chinese message naming the first bad field.
func (r *FilingRequest) Validate() error {
	r.Contact = strings.TrimSpace(r.Contact)
	r.Phone = strings.TrimSpace(r.Phone)
	if r.Contact == "" {
		return errf(certseal.EInvalid, "请填写联系人")
	}
	if err := checkText("联系人", r.Contact, MaxContactLen); err != nil {
		return err
	}
	if !validPhone(r.Phone) {
		return errf(certseal.EInvalid, "联系电话 %q 无效，应为5至20位数字（可含“-”“+”和空格）", r.Phone)
	}
	if err := checkText("备注", r.Note, MaxTextLen); err != nil {
		return err
	}
	if len(r.Lines) == 0 {
		return errf(certseal.EInvalid, "请至少填写一种证照的需求数量")
	}
	if len(r.Lines) > MaxTypes {
		return errf(certseal.EInvalid, "一份报送单最多%d种证照", MaxTypes)
	}
	seen := make(map[string]bool, len(r.Lines))
	for i := range r.Lines {
		l := &r.Lines[i]
		l.TypeCode = strings.TrimSpace(l.TypeCode)
		l.Reason = strings.TrimSpace(l.Reason)
		if l.TypeCode == "" {
			return errf(certseal.EInvalid, "第%d行：证照类型代码不能为空", i+1)
		}
		if seen[l.TypeCode] {
			return errf(certseal.EInvalid, "证照类型 %s 重复填写", l.TypeCode)
		}
		seen[l.TypeCode] = true
		if l.Quantity < 0 {
			return errf(certseal.EInvalid, "证照类型 %s 的需求数量不能为负数", l.TypeCode).WithDetail("type_code", l.TypeCode)
		}
		if l.Quantity > MaxQuantity {
			return errf(certseal.EInvalid, "证照类型 %s 的需求数量不能超过%d", l.TypeCode, MaxQuantity).WithDetail("type_code", l.TypeCode)
		}
		if err := checkText("申请理由", l.Reason, MaxTextLen); err != nil {
			return err
		}
	}
	return nil
}

func validPhone(s string) bool {
	n := utf8.RuneCountInString(s)
	if n < 5 || n > 20 {
		return false
	}
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '-' || c == '+' || c == ' ':
		default:
			return false
		}
	}
	return digits >= 5
}

// context is the prefilled ledger context of one type for one organisation.
type lineContext struct {
	inStock int64
	history []int64 // most recent year first
}

// prefill reads the ledger for the organisation: its stock of every type and its consumption of
// each type in codes over the HistoryYears years before year. It runs outside any transaction of
// this package. Without a Ledger everything is zero.
func (s *Service) prefill(ctx context.Context, orgID string, year int, codes []string) (map[string]lineContext, error) {
	out := make(map[string]lineContext, len(codes))
	var stock map[string]int64
	if s.Ledger != nil {
		var err error
		if stock, err = s.Ledger.InStock(ctx, orgID); err != nil {
			return nil, err
		}
	}
	for _, code := range codes {
		c := lineContext{inStock: stock[code], history: make([]int64, HistoryYears)}
		if s.Ledger != nil {
			for i := range HistoryYears {
				y := year - 1 - i
				n, err := s.Ledger.Consumed(ctx, orgID, code, yearStart(y), yearStart(y+1))
				if err != nil {
					return nil, err
				}
				c.history[i] = n
			}
		}
		out[code] = c
	}
	return out, nil
}

// Suggest returns the suggested quantity from the use of the last HistoryYears years and the
// stock on hand: ceil(sum(history) / HistoryYears × SafetyPercent / 100) − stock, floored at 0.
func Suggest(history []int64, stock int64) int64 {
	var sum int64
	for _, h := range history {
		sum += h
	}
	num, den := sum*SafetyPercent, int64(100*HistoryYears)
	s := (num+den-1)/den - stock
	return max(s, 0)
}

// Flag reports whether a filed quantity differs from the suggested one by more than FlagMinForms
// forms and more than FlagPercent percent of the suggestion.
func Flag(filed, suggested int64) bool {
	d := filed - suggested
	if d < 0 {
		d = -d
	}
	return d > FlagMinForms && d*100 > suggested*FlagPercent
}

func newLine(code, name string, q int64, reason string, c lineContext) Line {
	l := Line{TypeCode: code, TypeName: name, Quantity: q, Reason: reason, InStock: c.inStock, UseHistory: c.history}
	if len(c.history) > 0 {
		l.LastYearUse = c.history[0]
	}
	l.Suggested = Suggest(c.history, c.inStock)
	l.Flagged = Flag(q, l.Suggested)
	return l
}

// checkLines checks the request's lines against the round: types in scope and for the
// participant, quantities within the caps. It returns an *Error with code EInvalid.
func checkLines(r *Round, p *Participant, lines []LineRequest) error {
	for _, l := range lines {
		t := r.Type(l.TypeCode)
		if t == nil {
			return errf(certseal.EInvalid, "证照类型 %s 不在本轮征订范围内", l.TypeCode).WithDetail("type_code", l.TypeCode)
		}
		if !p.mayFile(l.TypeCode) {
			return errf(certseal.EInvalid, "“%s”不负责“%s”的发证，不能报送该证照的需求", p.OrgName, t.Name).WithDetail("type_code", l.TypeCode)
		}
		if t.Cap > 0 && l.Quantity > t.Cap {
			return errf(certseal.EInvalid, "“%s”的需求数量%d超过本轮上限%d", t.Name, l.Quantity, t.Cap).WithDetail("type_code", l.TypeCode)
		}
	}
	return nil
}

func requireFiler(actor certseal.Actor, orgID string) error {
	if actor.Role != certseal.RoleBureauOfficer || actor.OrgID == "" {
		return errf(certseal.EForbidden, "只有县区行政审批局或县区原审批部门的经办人可以报送需求")
	}
	if orgID != "" && orgID != actor.OrgID {
		return errf(certseal.EForbidden, "不能为其他机构报送或修改需求")
	}
	return nil
}

func checkAccepting(r *Round, now time.Time) error {
	if r.Status != RoundOpen {
		return errf(certseal.EConflict, "征订批次 %d 已关闭，不能再报送或修改", r.ID)
	}
	if now.After(r.Deadline) {
		return errf(certseal.EConflict, "征订批次 %d 的报送截止时间（%s）已过，不能再报送或修改", r.ID, fmtTime(r.Deadline)).
			WithDetail("deadline", r.Deadline)
	}
	return nil
}

func getFiling(tx *store.Tx, id uint64) (Filing, error) {
	var f Filing
	ok, err := tx.GetJSON(bucketFilings, store.U64(id), &f)
	if err != nil {
		return f, err
	}
	if !ok {
		return f, errf(certseal.ENotFound, "报送单 %d 不存在", id)
	}
	return f, nil
}

func roundOrgKey(round uint64, org string) []byte { return append(store.U64(round), org...) }

func versionKey(filing uint64, v int) []byte {
	return append(store.U64(filing), store.U64(uint64(v))...)
}

// putFiling stores the filing as a new version, with the version record and the audit event.
func putFiling(tx *store.Tx, now time.Time, actor certseal.Actor, f *Filing, action, comment string) error {
	f.Version++
	f.UpdatedAt = now.UTC()
	f.StatusLabel = f.Status.Label()
	if err := tx.PutJSON(bucketFilings, store.U64(f.ID), f); err != nil {
		return err
	}
	if err := tx.Put(bucketAgg, roundOrgKey(f.RoundID, f.OrgID), encodeAgg(f)); err != nil {
		return err
	}
	v := FilingVersion{FilingID: f.ID, Version: f.Version, Action: action, At: now.UTC(), UserID: actor.UserID,
		Username: actor.Username, Status: f.Status, Contact: f.Contact, Phone: f.Phone, Note: f.Note, Comment: comment, Lines: f.Lines}
	if err := tx.PutJSON(bucketVersions, versionKey(f.ID, f.Version), v); err != nil {
		return err
	}
	var total int64
	for _, l := range f.Lines {
		total += l.Quantity
	}
	return audit.Append(tx, now, actor, "demand.filing."+action, filingObject(f.ID), map[string]any{
		"round_id": f.RoundID, "org_id": f.OrgID, "version": f.Version, "status": f.Status, "lines": len(f.Lines), "quantity": total, "comment": comment})
}

// content sets the filing's fields and lines from the request and the prefilled context.
func content(f *Filing, r *Round, req *FilingRequest, ctx map[string]lineContext) {
	f.Contact, f.Phone, f.Note = req.Contact, req.Phone, req.Note
	f.Lines = make([]Line, 0, len(req.Lines))
	for _, l := range req.Lines {
		f.Lines = append(f.Lines, newLine(l.TypeCode, r.Type(l.TypeCode).Name, l.Quantity, l.Reason, ctx[l.TypeCode]))
	}
}

// prefillFor reads the round (for its year) and the ledger context of the requested types that
// are in the round; unknown types are left for the transaction to refuse.
func (s *Service) prefillFor(ctx context.Context, roundID uint64, orgID string, lines []LineRequest) (map[string]lineContext, error) {
	r, err := s.GetRound(ctx, certseal.System, roundID)
	if err != nil {
		return nil, err
	}
	var codes []string
	for _, l := range lines {
		if r.Type(l.TypeCode) != nil {
			codes = append(codes, l.TypeCode)
		}
	}
	return s.prefill(ctx, orgID, r.Year, codes)
}

// Prefill returns the actor's organisation's filing for the round: the saved one, or an unsaved
// draft with a line for every type the organisation files for, quantity 0, prefilled with last
// year's use, today's stock and the suggested quantity. It returns an *Error: EForbidden for an
// actor who does not file or an organisation outside the round, ENotFound for an unknown round.
func (s *Service) Prefill(ctx context.Context, actor certseal.Actor, roundID uint64) (Filing, error) {
	var f Filing
	if err := requireFiler(actor, ""); err != nil {
		return f, err
	}
	var r Round
	found := false
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if r, err = getRound(tx, roundID); err != nil {
			return err
		}
		if r.Participant(actor.OrgID) == nil {
			return errf(certseal.EForbidden, "本机构不在征订批次 %d 的报送范围内", roundID)
		}
		if id := tx.Get(bucketRoundOrg, roundOrgKey(roundID, actor.OrgID)); id != nil {
			found = true
			f, err = getFiling(tx, store.ParseU64(id))
		}
		return err
	})
	if err != nil || found {
		return f, err
	}
	p := r.Participant(actor.OrgID)
	var codes []string
	for _, t := range r.Types {
		if p.mayFile(t.Code) {
			codes = append(codes, t.Code)
		}
	}
	c, err := s.prefill(ctx, actor.OrgID, r.Year, codes)
	if err != nil {
		return f, err
	}
	f = Filing{RoundID: roundID, OrgID: p.OrgID, OrgName: p.OrgName, OrgKind: p.Kind, Status: Draft, StatusLabel: Draft.Label(), Lines: []Line{}}
	for _, code := range codes {
		f.Lines = append(f.Lines, newLine(code, r.Type(code).Name, 0, "", c[code]))
	}
	return f, nil
}

// SaveFiling creates the actor's organisation's filing for the round as a draft, or saves a new
// version of its draft (also after a return or a withdrawal), prefilled from the ledger. It
// returns an *Error: EInvalid for bad input (negative quantity, over the cap, a type outside the
// round), EForbidden for another organisation or one outside the round, ENotFound for an unknown
// round, EConflict when the round is closed or past its deadline or the filing is already
// submitted (use AmendFiling) or approved.
func (s *Service) SaveFiling(ctx context.Context, actor certseal.Actor, roundID uint64, req FilingRequest) (Filing, error) {
	var f Filing
	if err := requireFiler(actor, req.OrgID); err != nil {
		return f, err
	}
	if err := req.Validate(); err != nil {
		return f, err
	}
	lc, err := s.prefillFor(ctx, roundID, actor.OrgID, req.Lines)
	if err != nil {
		return f, err
	}
	err = s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		p := r.Participant(actor.OrgID)
		if p == nil {
			return errf(certseal.EForbidden, "本机构不在征订批次 %d 的报送范围内", roundID)
		}
		if err := checkAccepting(&r, now); err != nil {
			return err
		}
		if err := checkLines(&r, p, req.Lines); err != nil {
			return err
		}
		key := roundOrgKey(roundID, actor.OrgID)
		if id := tx.Get(bucketRoundOrg, key); id != nil {
			if f, err = getFiling(tx, store.ParseU64(id)); err != nil {
				return err
			}
			switch f.Status {
			case Submitted:
				return errf(certseal.EConflict, "报送单 %d 已报送，修改请使用“修改报送”", f.ID)
			case Approved:
				return errf(certseal.EConflict, "报送单 %d 已审核，不能再修改", f.ID)
			}
		} else {
			o, err := orgs.Get(tx, actor.OrgID)
			if err != nil {
				return err
			}
			id, err := tx.NextID(bucketFilings)
			if err != nil {
				return err
			}
			f = Filing{ID: id, RoundID: roundID, OrgID: o.ID, OrgName: o.Name, OrgKind: o.Kind, CreatedAt: now.UTC()}
			if err := tx.Put(bucketRoundOrg, key, store.U64(id)); err != nil {
				return err
			}
		}
		f.Status = Draft
		content(&f, &r, &req, lc)
		return putFiling(tx, now, actor, &f, "save", "")
	})
	return f, err
}

// filerUpdate runs fn on the actor's own filing in a transaction where the round accepts
// filings, then stores the new version.
func (s *Service) filerUpdate(actor certseal.Actor, id uint64, action string, fn func(f *Filing, r *Round) (string, error)) (Filing, error) {
	var f Filing
	if err := requireFiler(actor, ""); err != nil {
		return f, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		var err error
		if f, err = getFiling(tx, id); err != nil {
			return err
		}
		if f.OrgID != actor.OrgID {
			return errf(certseal.EForbidden, "不能报送或修改其他机构的报送单")
		}
		r, err := getRound(tx, f.RoundID)
		if err != nil {
			return err
		}
		if err := checkAccepting(&r, now); err != nil {
			return err
		}
		comment, err := fn(&f, &r)
		if err != nil {
			return err
		}
		return putFiling(tx, now, actor, &f, action, comment)
	})
	return f, err
}

// SubmitFiling submits a draft (报送) before the deadline. It returns an *Error: EForbidden for
// another organisation's filing, ENotFound, EConflict when the round is closed or past its
// deadline or the filing is not a draft.
func (s *Service) SubmitFiling(ctx context.Context, actor certseal.Actor, id uint64) (Filing, error) {
	return s.filerUpdate(actor, id, "submit", func(f *Filing, r *Round) (string, error) {
		if f.Status != Draft {
			return "", errf(certseal.EConflict, "报送单 %d 当前为“%s”，只有草稿可以报送", f.ID, f.Status.Label())
		}
		now := s.Clock.Now().UTC()
		f.Status, f.SubmittedAt, f.ReturnComment = Submitted, &now, ""
		return "", nil
	})
}

// AmendFiling saves a new version of a draft or submitted filing before the deadline; the status
// does not change and every earlier version is kept. It returns the errors of SaveFiling, and
// EConflict for a withdrawn (save it again instead) or approved filing.
func (s *Service) AmendFiling(ctx context.Context, actor certseal.Actor, id uint64, req FilingRequest) (Filing, error) {
	if err := requireFiler(actor, req.OrgID); err != nil {
		return Filing{}, err
	}
	if err := req.Validate(); err != nil {
		return Filing{}, err
	}
	var roundID uint64
	err := s.DB.View(func(tx *store.Tx) error {
		f, err := getFiling(tx, id)
		roundID = f.RoundID
		return err
	})
	if err != nil {
		return Filing{}, err
	}
	lc, err := s.prefillFor(ctx, roundID, actor.OrgID, req.Lines)
	if err != nil {
		return Filing{}, err
	}
	return s.filerUpdate(actor, id, "amend", func(f *Filing, r *Round) (string, error) {
		if f.Status != Draft && f.Status != Submitted {
			return "", errf(certseal.EConflict, "报送单 %d 当前为“%s”，不能修改", f.ID, f.Status.Label())
		}
		if err := checkLines(r, r.Participant(f.OrgID), req.Lines); err != nil {
			return "", err
		}
		content(f, r, &req, lc)
		return "", nil
	})
}

// WithdrawRequest withdraws a filing (POST /demand/filings/{id}/withdraw).
type WithdrawRequest struct {
	Reason string `json:"reason,omitempty"`
}

// Validate checks the reason. It returns an *Error with code EInvalid.
func (r *WithdrawRequest) Validate() error { return checkText("撤回原因", r.Reason, MaxTextLen) }

// WithdrawFiling withdraws a draft or submitted filing (撤回) before the deadline: it no longer
// counts, and the organisation is listed as missing until it saves and submits again. It returns
// an *Error: EInvalid, EForbidden, ENotFound, EConflict when the round no longer accepts filings
// or the filing is withdrawn or approved.
func (s *Service) WithdrawFiling(ctx context.Context, actor certseal.Actor, id uint64, req WithdrawRequest) (Filing, error) {
	if err := req.Validate(); err != nil {
		return Filing{}, err
	}
	return s.filerUpdate(actor, id, "withdraw", func(f *Filing, r *Round) (string, error) {
		if f.Status != Draft && f.Status != Submitted {
			return "", errf(certseal.EConflict, "报送单 %d 当前为“%s”，不能撤回", f.ID, f.Status.Label())
		}
		f.Status, f.SubmittedAt = Withdrawn, nil
		return req.Reason, nil
	})
}

// ReturnRequest returns a filing for correction (POST /demand/filings/{id}/return).
type ReturnRequest struct {
	Comment string `json:"comment"`
}

// Validate checks that there is a comment. It returns an *Error with code EInvalid.
func (r *ReturnRequest) Validate() error {
	r.Comment = strings.TrimSpace(r.Comment)
	if r.Comment == "" {
		return errf(certseal.EInvalid, "退回修改必须填写意见")
	}
	return checkText("退回意见", r.Comment, MaxTextLen)
}

// ApproveRequest approves a filing (POST /demand/filings/{id}/approve). Lines may set an approved
// quantity per type; a type not listed is approved as filed.
type ApproveRequest struct {
	Lines   []ApprovedLine `json:"lines,omitempty"`
	Comment string         `json:"comment,omitempty"`
}

// ApprovedLine is the approved quantity of one type.
type ApprovedLine struct {
	TypeCode string `json:"type_code"`
	Quantity int64  `json:"quantity"`
}

// Validate checks what can be checked without the store. It returns an *Error with code EInvalid.
func (r *ApproveRequest) Validate() error {
	seen := map[string]bool{}
	for _, l := range r.Lines {
		if seen[l.TypeCode] {
			return errf(certseal.EInvalid, "证照类型 %s 重复", l.TypeCode)
		}
		seen[l.TypeCode] = true
		if l.Quantity < 0 {
			return errf(certseal.EInvalid, "证照类型 %s 的审核数量不能为负数", l.TypeCode)
		}
		if l.Quantity > MaxQuantity {
			return errf(certseal.EInvalid, "证照类型 %s 的审核数量不能超过%d", l.TypeCode, MaxQuantity)
		}
	}
	return checkText("审核意见", r.Comment, MaxTextLen)
}

// adminUpdate runs fn on a filing for the city center and stores the new version.
func (s *Service) adminUpdate(actor certseal.Actor, id uint64, action string, fn func(f *Filing, r *Round, now time.Time) (string, error)) (Filing, error) {
	var f Filing
	if err := requireAdmin(actor); err != nil {
		return f, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		var err error
		if f, err = getFiling(tx, id); err != nil {
			return err
		}
		r, err := getRound(tx, f.RoundID)
		if err != nil {
			return err
		}
		comment, err := fn(&f, &r, now)
		if err != nil {
			return err
		}
		return putFiling(tx, now, actor, &f, action, comment)
	})
	return f, err
}

// ReturnFiling returns a submitted filing to its organisation for correction with a comment: it
// becomes a draft again, which the organisation saves and submits while the round accepts
// filings. It returns an *Error: EInvalid without a comment, EForbidden, ENotFound, EConflict
// when the filing is not submitted.
func (s *Service) ReturnFiling(ctx context.Context, actor certseal.Actor, id uint64, req ReturnRequest) (Filing, error) {
	if err := req.Validate(); err != nil {
		return Filing{}, err
	}
	return s.adminUpdate(actor, id, "return", func(f *Filing, r *Round, now time.Time) (string, error) {
		if f.Status != Submitted {
			return "", errf(certseal.EConflict, "报送单 %d 当前为“%s”，只有已报送的报送单可以退回", f.ID, f.Status.Label())
		}
		f.Status, f.ReturnComment, f.SubmittedAt = Draft, req.Comment, nil
		return req.Comment, nil
	})
}

// ApproveFiling approves a submitted filing, as filed or with the approved quantities of the
// request (within the round's caps). It returns an *Error: EInvalid for a negative quantity,
// over the cap or a type not in the filing, EForbidden, ENotFound, EConflict when the filing is
// already approved or not submitted.
func (s *Service) ApproveFiling(ctx context.Context, actor certseal.Actor, id uint64, req ApproveRequest) (Filing, error) {
	if err := req.Validate(); err != nil {
		return Filing{}, err
	}
	return s.adminUpdate(actor, id, "approve", func(f *Filing, r *Round, now time.Time) (string, error) {
		switch f.Status {
		case Approved:
			return "", errf(certseal.EConflict, "报送单 %d 已审核，不能重复审核", f.ID)
		case Submitted:
		default:
			return "", errf(certseal.EConflict, "报送单 %d 当前为“%s”，只有已报送的报送单可以审核", f.ID, f.Status.Label())
		}
		set := map[string]int64{}
		for _, l := range req.Lines {
			if f.Line(l.TypeCode) == nil {
				return "", errf(certseal.EInvalid, "报送单 %d 没有证照类型 %s", f.ID, l.TypeCode).WithDetail("type_code", l.TypeCode)
			}
			if t := r.Type(l.TypeCode); t != nil && t.Cap > 0 && l.Quantity > t.Cap {
				return "", errf(certseal.EInvalid, "“%s”的审核数量%d超过本轮上限%d", t.Name, l.Quantity, t.Cap).WithDetail("type_code", l.TypeCode)
			}
			set[l.TypeCode] = l.Quantity
		}
		for i := range f.Lines {
			l := &f.Lines[i]
			l.Approved = l.Quantity
			if q, ok := set[l.TypeCode]; ok {
				l.Approved = q
			}
		}
		at := now.UTC()
		f.Status, f.ApprovedAt, f.ApprovedBy, f.ApproveComment = Approved, &at, actor.Username, req.Comment
		return req.Comment, nil
	})
}

// canRead reports whether the actor may read the organisation's filings.
func canRead(actor certseal.Actor, orgID string) bool { return seesAll(actor) || actor.OrgID == orgID }

// GetFiling returns a filing. Organisations see their own; administrators, auditors and city
// department officers see all. It returns an *Error: ENotFound, EForbidden.
func (s *Service) GetFiling(ctx context.Context, actor certseal.Actor, id uint64) (Filing, error) {
	var f Filing
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if f, err = getFiling(tx, id); err != nil {
			return err
		}
		if !canRead(actor, f.OrgID) {
			return errf(certseal.EForbidden, "无权查看其他机构的报送单")
		}
		return nil
	})
	return f, err
}

// FilingVersions returns every version of a filing, oldest first. It returns the errors of
// GetFiling.
func (s *Service) FilingVersions(ctx context.Context, actor certseal.Actor, id uint64) ([]FilingVersion, error) {
	out := []FilingVersion{}
	err := s.DB.View(func(tx *store.Tx) error {
		f, err := getFiling(tx, id)
		if err != nil {
			return err
		}
		if !canRead(actor, f.OrgID) {
			return errf(certseal.EForbidden, "无权查看其他机构的报送单")
		}
		return tx.Scan(bucketVersions, store.U64(id), nil, func(_, v []byte) error {
			var fv FilingVersion
			if err := jsonUnmarshal(v, &fv); err != nil {
				return err
			}
			out = append(out, fv)
			return nil
		})
	})
	return out, err
}

// FilingFilter selects filings of a round; zero fields match everything.
type FilingFilter struct {
	OrgID  string       `json:"org_id,omitempty"`
	Status FilingStatus `json:"status,omitempty"`
}

// Filings returns the filings of a round matching f, by organisation id (GET
// /demand/rounds/{id}/filings). Organisations that file see only their own. It returns an
// *Error: ENotFound for an unknown round, EForbidden when f names another organisation.
func (s *Service) Filings(ctx context.Context, actor certseal.Actor, roundID uint64, f FilingFilter) ([]Filing, error) {
	if !seesAll(actor) {
		if f.OrgID != "" && f.OrgID != actor.OrgID {
			return nil, errf(certseal.EForbidden, "无权查看其他机构的报送单")
		}
		f.OrgID = actor.OrgID
	}
	out := []Filing{}
	err := s.DB.View(func(tx *store.Tx) error {
		if _, err := getRound(tx, roundID); err != nil {
			return err
		}
		return scanFilings(tx, roundID, f.OrgID, func(x *Filing) error {
			if f.Status == "" || x.Status == f.Status {
				out = append(out, *x)
			}
			return nil
		})
	})
	return out, err
}

// scanFilings calls fn for each filing of the round (of one organisation when org is set).
func scanFilings(tx *store.Tx, roundID uint64, org string, fn func(f *Filing) error) error {
	prefix := store.U64(roundID)
	if org != "" {
		id := tx.Get(bucketRoundOrg, roundOrgKey(roundID, org))
		if id == nil {
			return nil
		}
		f, err := getFiling(tx, store.ParseU64(id))
		if err != nil {
			return err
		}
		return fn(&f)
	}
	return tx.Scan(bucketRoundOrg, prefix, nil, func(_, v []byte) error {
		var f Filing
		raw := tx.Get(bucketFilings, v)
		if raw == nil {
			return nil
		}
		if err := jsonUnmarshal(raw, &f); err != nil {
			return err
		}
		return fn(&f)
	})
}
