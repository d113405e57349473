package demand

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

func errf(code, format string, args ...any) *certseal.Error {
	return certseal.Errorf(code, format, args...)
}

// isCenterAdmin reports whether the actor runs the rounds: an administrator of the city center.
func isCenterAdmin(a certseal.Actor) bool {
	return a.Role == certseal.RoleAdmin && (a.OrgKind == certseal.KindCityCenter || a.OrgKind == "")
}

// seesAll reports whether the actor may read every filing and the aggregates: administrators,
// auditors and city department officers (who buy and distribute by the plan).
func seesAll(a certseal.Actor) bool {
	return a.Role == certseal.RoleAdmin || a.Role == certseal.RoleAuditor || a.Role == certseal.RoleDeptOfficer
}

func requireAdmin(a certseal.Actor) error {
	if !isCenterAdmin(a) {
		return errf(certseal.EForbidden, "只有市政务服务中心管理员可以执行此操作")
	}
	return nil
}

func requireReader(a certseal.Actor) error {
	if !seesAll(a) {
		return errf(certseal.EForbidden, "无权查看需求汇总")
	}
	return nil
}

func checkText(what, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return errf(certseal.EInvalid, "%s不能超过%d个字符", what, max)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }) {
		return errf(certseal.EInvalid, "%s含有控制字符", what)
	}
	return nil
}

func roundObject(id uint64) string  { return "demand/rounds/" + strconv.FormatUint(id, 10) }
func filingObject(id uint64) string { return "demand/filings/" + strconv.FormatUint(id, 10) }

// RoundRequest opens a round (POST /demand/rounds).
type RoundRequest struct {
	Kind RoundKind `json:"kind"`
	// Year is the year of a yearly round; a top-up round takes its parent's year.
	Year int `json:"year,omitempty"`
	// ParentID is the yearly round a top-up round belongs to.
	ParentID uint64             `json:"parent_id,omitempty"`
	Title    string             `json:"title,omitempty"`
	Notice   string             `json:"notice,omitempty"`
	Deadline time.Time          `json:"deadline"`
	Types    []RoundTypeRequest `json:"types"`
	// Participants are the organisations asked to file (county bureaus or county departments).
	// Empty: every county bureau, and every county department that handles an item not
	// transferred bound to a type in scope (for those types only).
	Participants []string `json:"participants,omitempty"`
}

// RoundTypeRequest is a licence type in scope with its optional cap (0: none).
type RoundTypeRequest struct {
	Code string `json:"code"`
	Cap  int64  `json:"cap,omitempty"`
}

// Validate checks what can be checked without the store. It returns an *Error with code EInvalid
// naming the first bad field.
func (r *RoundRequest) Validate() error {
	r.Title = strings.TrimSpace(r.Title)
	switch r.Kind {
	case Yearly:
		if r.Year < 2000 || r.Year > 2100 {
			return errf(certseal.EInvalid, "征订年度 %d 无效", r.Year)
		}
		if r.ParentID != 0 {
			return errf(certseal.EInvalid, "年度征订不能指定所属年度征订")
		}
	case TopUp:
		if r.ParentID == 0 {
			return errf(certseal.EInvalid, "补充征订必须指定所属的年度征订")
		}
	default:
		return errf(certseal.EInvalid, "征订类型 %q 无效，应为 yearly（年度征订）或 topup（补充征订）", r.Kind)
	}
	if r.Deadline.IsZero() {
		return errf(certseal.EInvalid, "请填写报送截止时间")
	}
	if err := checkText("标题", r.Title, MaxTextLen); err != nil {
		return err
	}
	if err := checkText("通知内容", r.Notice, 5000); err != nil {
		return err
	}
	if len(r.Types) == 0 {
		return errf(certseal.EInvalid, "请至少选择一种证照类型")
	}
	if len(r.Types) > MaxTypes {
		return errf(certseal.EInvalid, "一次征订最多%d种证照类型", MaxTypes)
	}
	seen := make(map[string]bool, len(r.Types))
	for _, t := range r.Types {
		if t.Code == "" {
			return errf(certseal.EInvalid, "证照类型代码不能为空")
		}
		if seen[t.Code] {
			return errf(certseal.EInvalid, "证照类型 %s 重复", t.Code)
		}
		seen[t.Code] = true
		if t.Cap < 0 || t.Cap > MaxQuantity {
			return errf(certseal.EInvalid, "证照类型 %s 的数量上限应在0至%d之间", t.Code, MaxQuantity)
		}
	}
	if len(r.Participants) > MaxParticipants {
		return errf(certseal.EInvalid, "报送单位最多%d个", MaxParticipants)
	}
	seenOrg := make(map[string]bool, len(r.Participants))
	for _, id := range r.Participants {
		if seenOrg[id] {
			return errf(certseal.EInvalid, "报送单位 %s 重复", id)
		}
		seenOrg[id] = true
	}
	return nil
}

func getRound(tx *store.Tx, id uint64) (Round, error) {
	var r Round
	ok, err := tx.GetJSON(bucketRounds, store.U64(id), &r)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, errf(certseal.ENotFound, "征订批次 %d 不存在", id)
	}
	return r, nil
}

func putRound(tx *store.Tx, r *Round) error {
	r.KindLabel = r.Kind.Label()
	r.StatusLabel = r.Status.Label()
	return tx.PutJSON(bucketRounds, store.U64(r.ID), r)
}

// untransferred returns, per county department, the in-scope licence types it files for: those
// bound to a catalogue item not transferred (未划转) that the department handles. It reads the
// catalogue in its own transactions.
func (s *Service) untransferred(ctx context.Context, codes []string) (map[string][]string, error) {
	out := map[string][]string{}
	if s.Catalogue == nil {
		return out, nil
	}
	for _, code := range codes {
		bs, err := s.Catalogue.BindingsOfType(ctx, code)
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			it, err := s.Catalogue.GetItem(ctx, b.ItemCode)
			if err != nil {
				continue // a sub-item code: its item is bound too, or it is not ours to decide
			}
			if !it.Transferred && it.HandlingOrgID != "" {
				l := out[it.HandlingOrgID]
				if len(l) == 0 || l[len(l)-1] != code {
					out[it.HandlingOrgID] = append(l, code)
				}
			}
		}
	}
	return out, nil
}

// OpenRound opens a yearly or top-up round. Only a city center administrator may. Every type must
// be a licence type with a paper form; the deadline must be in the future; a year has one yearly
// round; a top-up round belongs to an open or closed yearly round and takes its year. It returns
// an *Error: EInvalid for bad input, ENotFound for an unknown type, organisation or parent round,
// EForbidden, EConflict for a second yearly round of a year.
func (s *Service) OpenRound(ctx context.Context, actor certseal.Actor, req RoundRequest) (Round, error) {
	var r Round
	if err := requireAdmin(actor); err != nil {
		return r, err
	}
	if err := req.Validate(); err != nil {
		return r, err
	}
	codes := make([]string, len(req.Types))
	for i, t := range req.Types {
		codes[i] = t.Code
	}
	var depts map[string][]string
	if len(req.Participants) == 0 {
		var err error
		if depts, err = s.untransferred(ctx, codes); err != nil {
			return r, err
		}
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		if !req.Deadline.After(now) {
			return errf(certseal.EInvalid, "报送截止时间 %s 已过", fmtTime(req.Deadline))
		}
		r = Round{Kind: req.Kind, Year: req.Year, Title: req.Title, Notice: req.Notice, Deadline: req.Deadline.UTC(),
			Status: RoundOpen, OpenedAt: now.UTC(), OpenedBy: actor.Username}
		if req.Kind == TopUp {
			p, err := getRound(tx, req.ParentID)
			if err != nil {
				return err
			}
			if p.Kind != Yearly {
				return errf(certseal.EInvalid, "补充征订只能挂在年度征订下（批次 %d 是%s）", p.ID, p.Kind.Label())
			}
			r.ParentID, r.Year = p.ID, p.Year
		} else if id := tx.Get(bucketYearly, store.Key(strconv.Itoa(req.Year))); id != nil {
			return errf(certseal.EConflict, "%d年度征订已经存在（批次 %d），请使用补充征订", req.Year, store.ParseU64(id))
		}
		if r.Title == "" {
			r.Title = fmt.Sprintf("广元市%d年空白证照%s", r.Year, r.Kind.Label())
		}
		names := map[string]string{}
		orgName := func(id string) string {
			if n, ok := names[id]; ok {
				return n
			}
			o, err := orgs.Get(tx, id)
			if err != nil {
				names[id] = id
				return id
			}
			names[id] = o.Name
			return o.Name
		}
		for _, tr := range req.Types {
			t, err := catalogue.GetType(tx, tr.Code)
			if err != nil {
				return err
			}
			if !t.HasPaperForm() {
				return errf(certseal.EInvalid, "证照类型“%s”没有纸质空白证照，无需征订", t.Name)
			}
			rt := RoundType{Code: t.Code, Name: t.Name, Channel: t.Channel, ChannelLabel: t.Channel.Label(),
				ResponsibleOrgID: t.ResponsibleOrgID, Cap: tr.Cap}
			if t.ResponsibleOrgID != "" {
				rt.ResponsibleName = orgName(t.ResponsibleOrgID)
			}
			r.Types = append(r.Types, rt)
		}
		if len(req.Participants) > 0 {
			for _, id := range req.Participants {
				o, err := orgs.Get(tx, id)
				if err != nil {
					return err
				}
				if o.Kind != certseal.KindCountyBureau && o.Kind != certseal.KindCountyDept {
					return errf(certseal.EInvalid, "“%s”是%s，只有县区行政审批局和县区原审批部门报送需求", o.Name, o.Kind.Label())
				}
				r.Participants = append(r.Participants, Participant{OrgID: o.ID, OrgName: o.Name, Kind: o.Kind, AreaCode: o.AreaCode})
			}
		} else {
			all, err := orgs.All(tx)
			if err != nil {
				return err
			}
			for _, o := range all {
				switch {
				case o.Kind == certseal.KindCountyBureau:
					r.Participants = append(r.Participants, Participant{OrgID: o.ID, OrgName: o.Name, Kind: o.Kind, AreaCode: o.AreaCode})
				case o.Kind == certseal.KindCountyDept && len(depts[o.ID]) > 0:
					r.Participants = append(r.Participants, Participant{OrgID: o.ID, OrgName: o.Name, Kind: o.Kind, AreaCode: o.AreaCode, Types: depts[o.ID]})
				}
			}
			if len(r.Participants) > MaxParticipants {
				return errf(certseal.EInvalid, "报送单位超过%d个，请明确指定报送单位", MaxParticipants)
			}
		}
		if len(r.Participants) == 0 {
			return errf(certseal.EInvalid, "没有需要报送的单位")
		}
		id, err := tx.NextID(bucketRounds)
		if err != nil {
			return err
		}
		r.ID = id
		if r.Kind == Yearly {
			if err := tx.Put(bucketYearly, store.Key(strconv.Itoa(r.Year)), store.U64(id)); err != nil {
				return err
			}
		}
		if err := putRound(tx, &r); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "demand.round.open", roundObject(id), map[string]any{
			"kind": r.Kind, "year": r.Year, "parent_id": r.ParentID, "deadline": r.Deadline, "types": len(r.Types), "participants": len(r.Participants)})
	})
	return r, err
}

// RoundFilter selects rounds for Rounds; zero fields match everything.
type RoundFilter struct {
	Year     int         `json:"year,omitempty"`
	Kind     RoundKind   `json:"kind,omitempty"`
	Status   RoundStatus `json:"status,omitempty"`
	ParentID uint64      `json:"parent_id,omitempty"`
}

// Rounds returns the rounds matching f, newest first (GET /demand/rounds). Every signed-in actor
// may list rounds. It returns an error only when the store cannot be read.
func (s *Service) Rounds(ctx context.Context, actor certseal.Actor, f RoundFilter) ([]Round, error) {
	out := []Round{}
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.ScanReverse(bucketRounds, nil, nil, func(_, v []byte) error {
			var r Round
			if err := jsonUnmarshal(v, &r); err != nil {
				return err
			}
			if (f.Year != 0 && r.Year != f.Year) || (f.Kind != "" && r.Kind != f.Kind) ||
				(f.Status != "" && r.Status != f.Status) || (f.ParentID != 0 && r.ParentID != f.ParentID) {
				return nil
			}
			out = append(out, r)
			return nil
		})
	})
	return out, err
}

// GetRound returns a round. It returns an *Error with code ENotFound.
func (s *Service) GetRound(ctx context.Context, actor certseal.Actor, id uint64) (Round, error) {
	var r Round
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		r, err = getRound(tx, id)
		return err
	})
	return r, err
}

// CloseRequest closes a round (POST /demand/rounds/{id}/close).
type CloseRequest struct {
	Note string `json:"note,omitempty"`
}

// Validate checks the note. It returns an *Error with code EInvalid.
func (r *CloseRequest) Validate() error { return checkText("说明", r.Note, MaxTextLen) }

// CloseRound closes an open round: it no longer accepts filings; the city center may still
// return and approve them. It returns an *Error: EInvalid, EForbidden, ENotFound, EConflict when
// the round is already closed.
func (s *Service) CloseRound(ctx context.Context, actor certseal.Actor, id uint64, req CloseRequest) (Round, error) {
	var r Round
	if err := requireAdmin(actor); err != nil {
		return r, err
	}
	if err := req.Validate(); err != nil {
		return r, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if r, err = getRound(tx, id); err != nil {
			return err
		}
		if r.Status == RoundClosed {
			return errf(certseal.EConflict, "征订批次 %d 已经关闭", id)
		}
		now := s.Clock.Now().UTC()
		r.Status, r.ClosedAt, r.ClosedBy, r.CloseNote = RoundClosed, &now, actor.Username, req.Note
		if err := putRound(tx, &r); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "demand.round.close", roundObject(id), map[string]any{"note": req.Note})
	})
	return r, err
}

// ReopenRequest reopens a round with a reason and a new deadline (POST
// /demand/rounds/{id}/reopen).
type ReopenRequest struct {
	Reason   string    `json:"reason"`
	Deadline time.Time `json:"deadline"`
}

// Validate checks what can be checked without the store. It returns an *Error with code EInvalid.
func (r *ReopenRequest) Validate() error {
	r.Reason = strings.TrimSpace(r.Reason)
	if r.Reason == "" {
		return errf(certseal.EInvalid, "请填写重新开放的原因")
	}
	if r.Deadline.IsZero() {
		return errf(certseal.EInvalid, "请填写新的报送截止时间")
	}
	return checkText("原因", r.Reason, MaxTextLen)
}

// ReopenRound reopens a closed round, or one whose deadline has passed, until a new deadline in
// the future. It returns an *Error: EInvalid for a missing reason or a past deadline,
// EForbidden, ENotFound, EConflict when the round is open and its deadline has not passed.
func (s *Service) ReopenRound(ctx context.Context, actor certseal.Actor, id uint64, req ReopenRequest) (Round, error) {
	var r Round
	if err := requireAdmin(actor); err != nil {
		return r, err
	}
	if err := req.Validate(); err != nil {
		return r, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if r, err = getRound(tx, id); err != nil {
			return err
		}
		now := s.Clock.Now()
		if r.Accepting(now) {
			return errf(certseal.EConflict, "征订批次 %d 仍在征订中（截止 %s），无需重新开放", id, fmtTime(r.Deadline))
		}
		if !req.Deadline.After(now) {
			return errf(certseal.EInvalid, "新的报送截止时间 %s 已过", fmtTime(req.Deadline))
		}
		r.Reopenings = append(r.Reopenings, Reopening{At: now.UTC(), By: actor.Username, Reason: req.Reason,
			OldDeadline: r.Deadline, NewDeadline: req.Deadline.UTC()})
		r.Status, r.Deadline, r.ClosedAt, r.ClosedBy, r.CloseNote = RoundOpen, req.Deadline.UTC(), nil, "", ""
		if err := putRound(tx, &r); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "demand.round.reopen", roundObject(id), map[string]any{"reason": req.Reason, "deadline": r.Deadline})
	})
	return r, err
}

// fmtTime formats a time in China time, e.g. 2026-03-31 18:00.
func fmtTime(t time.Time) string { return t.In(certseal.China).Format("2006-01-02 15:04") }

// yearStart returns 1 January of the year, 00:00 China time.
func yearStart(y int) time.Time { return time.Date(y, 1, 1, 0, 0, 0, 0, certseal.China) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
