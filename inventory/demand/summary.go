package demand

import (
	"context"
	"sort"
	"strings"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Row is one organisation's line of one licence type in the aggregate.
type Row struct {
	OrgID       string           `json:"org_id"`
	OrgName     string           `json:"org_name"`
	OrgKind     certseal.OrgKind `json:"org_kind"`
	FilingID    uint64           `json:"filing_id"`
	Status      FilingStatus     `json:"status"`
	Requested   int64            `json:"requested"`
	Approved    int64            `json:"approved"`
	LastYearUse int64            `json:"last_year_use"`
	InStock     int64            `json:"in_stock"`
	Suggested   int64            `json:"suggested"`
	Flagged     bool             `json:"flagged,omitempty"`
	Reason      string           `json:"reason,omitempty"`

	rank int // the organisation's place in the round's participants
}

// TypeSummary is the aggregate of one licence type: totals and one row per filing organisation.
type TypeSummary struct {
	RoundType
	Requested   int64 `json:"requested"`
	Approved    int64 `json:"approved"`
	LastYearUse int64 `json:"last_year_use"`
	InStock     int64 `json:"in_stock"`
	Suggested   int64 `json:"suggested"`
	Flagged     int   `json:"flagged"`
	Rows        []Row `json:"rows"`
}

// Total is the requested and approved quantity of one group: a supply channel, a responsible
// city department or a filing organisation.
type Total struct {
	Key       string `json:"key"`
	Label     string `json:"label"`
	Requested int64  `json:"requested"`
	Approved  int64  `json:"approved"`
}

// FilingCounts counts the participants by the state of their filing.
type FilingCounts struct {
	Participants int `json:"participants"`
	None         int `json:"none"`
	Draft        int `json:"draft"`
	Submitted    int `json:"submitted"`
	Withdrawn    int `json:"withdrawn"`
	Approved     int `json:"approved"`
}

// Summary is the aggregate of a round (GET /demand/rounds/{id}/summary). Requested counts
// submitted and approved filings; Approved counts approved filings only. Use, stock and the
// suggestion are those prefilled in each filing when it was last saved.
type Summary struct {
	RoundID     uint64        `json:"round_id"`
	Kind        RoundKind     `json:"kind"`
	Year        int           `json:"year"`
	Title       string        `json:"title"`
	Deadline    time.Time     `json:"deadline"`
	Status      RoundStatus   `json:"status"`
	GeneratedAt time.Time     `json:"generated_at"`
	Requested   int64         `json:"requested"`
	Approved    int64         `json:"approved"`
	Flagged     int           `json:"flagged"`
	Filings     FilingCounts  `json:"filings"`
	Types       []TypeSummary `json:"types"`
	// Channels, Departments and Orgs are the totals per supply channel, per responsible city
	// department ("" for types without one) and per filing organisation.
	Channels    []Total `json:"channels"`
	Departments []Total `json:"departments"`
	Orgs        []Total `json:"orgs"`
}

// Summary aggregates a round's filings by licence type, filing organisation, supply channel and
// responsible city department. It reads only this package's data (one read transaction). It
// returns an *Error: EForbidden for an actor who may not read aggregates, ENotFound.
func (s *Service) Summary(ctx context.Context, actor certseal.Actor, roundID uint64) (Summary, error) {
	var sum Summary
	if err := requireReader(actor); err != nil {
		return sum, err
	}
	err := s.DB.View(func(tx *store.Tx) error {
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		sum, err = summarize(tx, &r, s.Clock.Now())
		return err
	})
	return sum, err
}

func summarize(tx *store.Tx, r *Round, now time.Time) (Summary, error) {
	sum := Summary{RoundID: r.ID, Kind: r.Kind, Year: r.Year, Title: r.Title, Deadline: r.Deadline, Status: r.Status,
		GeneratedAt: now.UTC(), Types: make([]TypeSummary, len(r.Types))}
	typeIdx := make(map[string]int, len(r.Types))
	for i, t := range r.Types {
		typeIdx[t.Code] = i
		sum.Types[i] = TypeSummary{RoundType: t}
	}
	partIdx := make(map[string]int, len(r.Participants))
	for i, p := range r.Participants {
		partIdx[p.OrgID] = i
	}
	orgTotals := make([]Total, len(r.Participants))
	for i, p := range r.Participants {
		orgTotals[i] = Total{Key: p.OrgID, Label: p.OrgName}
	}
	sum.Filings.Participants = len(r.Participants)
	seen := 0
	var pi int
	var inRound bool
	err := scanAgg(tx, r.ID, func(f *aggFiling) bool {
		pi, inRound = partIdx[f.orgID]
		if inRound {
			seen++
		}
		switch f.status {
		case Draft:
			sum.Filings.Draft++
		case Submitted:
			sum.Filings.Submitted++
		case Withdrawn:
			sum.Filings.Withdrawn++
		case Approved:
			sum.Filings.Approved++
		}
		return f.status.counts()
	}, func(f *aggFiling, l *aggLine) {
		i, ok := typeIdx[string(l.code)]
		if !ok {
			return
		}
		row := Row{OrgID: f.orgID, OrgName: f.orgName, OrgKind: f.orgKind, FilingID: f.id, Status: f.status,
			Requested: l.quantity, LastYearUse: l.lastYearUse, InStock: l.stock, Suggested: l.suggest, Flagged: l.flagged, rank: len(partIdx)}
		if inRound {
			row.rank = pi
		}
		if len(l.reason) > 0 {
			row.Reason = string(l.reason)
		}
		if f.status == Approved {
			row.Approved = l.approved
		}
		ts := &sum.Types[i]
		if ts.Rows == nil {
			ts.Rows = make([]Row, 0, len(r.Participants))
		}
		ts.Rows = append(ts.Rows, row)
		if inRound {
			orgTotals[pi].Requested += row.Requested
			orgTotals[pi].Approved += row.Approved
		}
	})
	if err != nil {
		return sum, err
	}
	sum.Filings.None = len(r.Participants) - seen
	channels := map[string]*Total{}
	depts := map[string]*Total{}
	var chOrder, deptOrder []string
	for i := range sum.Types {
		ts := &sum.Types[i]
		sort.SliceStable(ts.Rows, func(a, b int) bool { return ts.Rows[a].rank < ts.Rows[b].rank })
		for _, row := range ts.Rows {
			ts.Requested += row.Requested
			ts.Approved += row.Approved
			ts.LastYearUse += row.LastYearUse
			ts.InStock += row.InStock
			ts.Suggested += row.Suggested
			if row.Flagged {
				ts.Flagged++
			}
		}
		sum.Requested += ts.Requested
		sum.Approved += ts.Approved
		sum.Flagged += ts.Flagged
		ch := string(ts.Channel)
		if channels[ch] == nil {
			channels[ch] = &Total{Key: ch, Label: ts.ChannelLabel}
			chOrder = append(chOrder, ch)
		}
		channels[ch].Requested += ts.Requested
		channels[ch].Approved += ts.Approved
		d := ts.ResponsibleOrgID
		if depts[d] == nil {
			label := ts.ResponsibleName
			if d == "" {
				label = "未指定负责部门"
			}
			depts[d] = &Total{Key: d, Label: label}
			deptOrder = append(deptOrder, d)
		}
		depts[d].Requested += ts.Requested
		depts[d].Approved += ts.Approved
	}
	for _, k := range chOrder {
		sum.Channels = append(sum.Channels, *channels[k])
	}
	for _, k := range deptOrder {
		sum.Departments = append(sum.Departments, *depts[k])
	}
	sum.Orgs = orgTotals
	return sum, nil
}

// --- plan ---

// PlanSend is what a city department sends to one organisation.
type PlanSend struct {
	OrgID    string `json:"org_id"`
	OrgName  string `json:"org_name"`
	Quantity int64  `json:"quantity"`
}

// PlanType is the plan of one licence type for its responsible department: the approved total,
// the department's own stock when the plan was made, what it must buy or collect through the
// channel (Acquire = Approved − DeptStock, at least 0), and what to send to whom.
type PlanType struct {
	Code         string     `json:"code"`
	Name         string     `json:"name"`
	Channel      string     `json:"channel"`
	ChannelLabel string     `json:"channel_label"`
	Approved     int64      `json:"approved"`
	DeptStock    int64      `json:"dept_stock"`
	Acquire      int64      `json:"acquire"`
	Sends        []PlanSend `json:"sends"`
}

// DeptPlan is the plan of one responsible city department ("" for types without one).
type DeptPlan struct {
	OrgID   string     `json:"org_id"`
	OrgName string     `json:"org_name"`
	Types   []PlanType `json:"types"`
}

// Plan is a version of a round's distribution plan, made from the approved filings.
type Plan struct {
	RoundID     uint64     `json:"round_id"`
	Version     int        `json:"version"`
	MadeAt      time.Time  `json:"made_at"`
	MadeBy      string     `json:"made_by"`
	Note        string     `json:"note,omitempty"`
	Approved    int64      `json:"approved"`
	Departments []DeptPlan `json:"departments"`
}

// Quantity returns the planned quantity of the type for the organisation.
func (p *Plan) Quantity(typeCode, orgID string) int64 {
	for _, d := range p.Departments {
		for _, t := range d.Types {
			if t.Code != typeCode {
				continue
			}
			for _, s := range t.Sends {
				if s.OrgID == orgID {
					return s.Quantity
				}
			}
		}
	}
	return 0
}

// PlanRequest makes a plan (POST /demand/rounds/{id}/plan).
type PlanRequest struct {
	Note string `json:"note,omitempty"`
}

// Validate checks the note. It returns an *Error with code EInvalid.
func (r *PlanRequest) Validate() error { return checkText("说明", r.Note, MaxTextLen) }

func planKey(round uint64, v int) []byte { return append(store.U64(round), store.U64(uint64(v))...) }

// MakePlan turns the round's approved filings into a new version of its plan; earlier versions
// are kept. Department stock is read from the ledger just before. It returns an *Error:
// EInvalid, EForbidden, ENotFound, EConflict when no filing is approved yet.
func (s *Service) MakePlan(ctx context.Context, actor certseal.Actor, roundID uint64, req PlanRequest) (Plan, error) {
	var p Plan
	if err := requireAdmin(actor); err != nil {
		return p, err
	}
	if err := req.Validate(); err != nil {
		return p, err
	}
	r, err := s.GetRound(ctx, actor, roundID)
	if err != nil {
		return p, err
	}
	stock := map[string]map[string]int64{}
	for _, t := range r.Types {
		d := t.ResponsibleOrgID
		if d == "" || stock[d] != nil || s.Ledger == nil {
			continue
		}
		if stock[d], err = s.Ledger.InStock(ctx, d); err != nil {
			return p, err
		}
	}
	err = s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		sum, err := summarize(tx, &r, now)
		if err != nil {
			return err
		}
		if sum.Filings.Approved == 0 {
			return errf(certseal.EConflict, "征订批次 %d 还没有已审核的报送单，无法生成计划", roundID)
		}
		p = Plan{RoundID: roundID, Version: r.PlanVersion + 1, MadeAt: now.UTC(), MadeBy: actor.Username, Note: req.Note, Approved: sum.Approved}
		idx := map[string]int{}
		for _, ts := range sum.Types {
			d := ts.ResponsibleOrgID
			i, ok := idx[d]
			if !ok {
				name := ts.ResponsibleName
				if d == "" {
					name = "未指定负责部门"
				}
				i = len(p.Departments)
				idx[d] = i
				p.Departments = append(p.Departments, DeptPlan{OrgID: d, OrgName: name})
			}
			pt := PlanType{Code: ts.Code, Name: ts.Name, Channel: string(ts.Channel), ChannelLabel: ts.ChannelLabel,
				Approved: ts.Approved, DeptStock: stock[d][ts.Code], Sends: []PlanSend{}}
			pt.Acquire = max(pt.Approved-pt.DeptStock, 0)
			for _, row := range ts.Rows {
				if row.Approved > 0 {
					pt.Sends = append(pt.Sends, PlanSend{OrgID: row.OrgID, OrgName: row.OrgName, Quantity: row.Approved})
				}
			}
			p.Departments[i].Types = append(p.Departments[i].Types, pt)
		}
		if err := tx.PutJSON(bucketPlans, planKey(roundID, p.Version), p); err != nil {
			return err
		}
		r.PlanVersion = p.Version
		if err := putRound(tx, &r); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "demand.plan.make", roundObject(roundID), map[string]any{"version": p.Version, "approved": p.Approved, "note": req.Note})
	})
	return p, err
}

// Plan returns a version of the round's plan (0: the latest). It returns an *Error: EForbidden,
// ENotFound for an unknown round or when there is no such plan.
func (s *Service) Plan(ctx context.Context, actor certseal.Actor, roundID uint64, version int) (Plan, error) {
	var p Plan
	if err := requireReader(actor); err != nil {
		return p, err
	}
	err := s.DB.View(func(tx *store.Tx) error {
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		if version <= 0 {
			version = r.PlanVersion
		}
		ok, err := tx.GetJSON(bucketPlans, planKey(roundID, version), &p)
		if err != nil {
			return err
		}
		if !ok {
			return errf(certseal.ENotFound, "征订批次 %d 没有第%d版分配计划", roundID, version)
		}
		return nil
	})
	return p, err
}

// --- fulfilment ---

// FulfilmentRow is one organisation and licence type: requested, approved, planned (latest plan),
// distributed by the responsible department since the round opened, and outstanding (approved
// less distributed, at least 0).
type FulfilmentRow struct {
	OrgID            string `json:"org_id"`
	OrgName          string `json:"org_name"`
	TypeCode         string `json:"type_code"`
	TypeName         string `json:"type_name"`
	ResponsibleOrgID string `json:"responsible_org_id,omitempty"`
	Requested        int64  `json:"requested"`
	Approved         int64  `json:"approved"`
	Planned          int64  `json:"planned"`
	Distributed      int64  `json:"distributed"`
	Outstanding      int64  `json:"outstanding"`
}

// Fulfilment is how far the round's approved demand has been distributed (GET
// /demand/rounds/{id}/fulfilment). Distributions count from the round's opening to the end of its
// year.
type Fulfilment struct {
	RoundID     uint64          `json:"round_id"`
	Since       time.Time       `json:"since"`
	Until       time.Time       `json:"until"`
	PlanVersion int             `json:"plan_version"`
	Requested   int64           `json:"requested"`
	Approved    int64           `json:"approved"`
	Distributed int64           `json:"distributed"`
	Outstanding int64           `json:"outstanding"`
	Rows        []FulfilmentRow `json:"rows"`
}

// Fulfilment compares the round's approved filings with the distributions (下发) of each type's
// responsible department to the round's organisations, as the ledger records them since the round
// opened. Rows are by participant, then by the round's type order; a row is listed when any of
// its numbers is non-zero. It returns an *Error: EForbidden, ENotFound; or the ledger's error.
func (s *Service) Fulfilment(ctx context.Context, actor certseal.Actor, roundID uint64) (Fulfilment, error) {
	var fu Fulfilment
	if err := requireReader(actor); err != nil {
		return fu, err
	}
	var r Round
	var sum Summary
	var plan *Plan
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if r, err = getRound(tx, roundID); err != nil {
			return err
		}
		if sum, err = summarize(tx, &r, s.Clock.Now()); err != nil {
			return err
		}
		if r.PlanVersion > 0 {
			plan = &Plan{}
			_, err = tx.GetJSON(bucketPlans, planKey(roundID, r.PlanVersion), plan)
		}
		return err
	})
	if err != nil {
		return fu, err
	}
	fu = Fulfilment{RoundID: roundID, Since: r.OpenedAt, Until: yearStart(r.Year + 1).UTC(), PlanVersion: r.PlanVersion, Rows: []FulfilmentRow{}}
	nt := len(r.Types)
	typeIdx := make(map[string]int, nt)
	for i, t := range r.Types {
		typeIdx[t.Code] = i
	}
	partIdx := make(map[string]int, len(r.Participants))
	for i, p := range r.Participants {
		partIdx[p.OrgID] = i
	}
	// cells[p*nt+t] is participant p's account of type t.
	type cell struct{ req, appr, plan, dist int64 }
	cells := make([]cell, len(r.Participants)*nt)
	for t, ts := range sum.Types {
		for _, row := range ts.Rows {
			if p, ok := partIdx[row.OrgID]; ok {
				cells[p*nt+t].req += row.Requested
				cells[p*nt+t].appr += row.Approved
			}
		}
	}
	if plan != nil {
		for _, d := range plan.Departments {
			for _, pt := range d.Types {
				t, ok := typeIdx[pt.Code]
				if !ok {
					continue
				}
				for _, x := range pt.Sends {
					if p, ok := partIdx[x.OrgID]; ok {
						cells[p*nt+t].plan += x.Quantity
					}
				}
			}
		}
	}
	if s.Ledger != nil && fu.Until.After(fu.Since) {
		depts := map[string]bool{}
		for _, t := range r.Types {
			if t.ResponsibleOrgID != "" {
				depts[t.ResponsibleOrgID] = true
			}
		}
		for _, d := range sortedKeys(depts) {
			ds, err := s.Ledger.Distributions(ctx, d, fu.Since, fu.Until)
			if err != nil {
				return fu, err
			}
			for _, x := range ds {
				t, ok := typeIdx[x.TypeCode]
				p, ok2 := partIdx[x.ToOrgID]
				if !ok || !ok2 || r.Types[t].ResponsibleOrgID != d {
					continue
				}
				cells[p*nt+t].dist += x.Count
			}
		}
	}
	n := 0
	for i := range cells {
		if c := &cells[i]; c.req != 0 || c.appr != 0 || c.dist != 0 || c.plan != 0 {
			n++
		}
	}
	fu.Rows = make([]FulfilmentRow, 0, n)
	for p, part := range r.Participants {
		for t, ty := range r.Types {
			c := &cells[p*nt+t]
			if c.req == 0 && c.appr == 0 && c.dist == 0 && c.plan == 0 {
				continue
			}
			row := FulfilmentRow{OrgID: part.OrgID, OrgName: part.OrgName, TypeCode: ty.Code, TypeName: ty.Name, ResponsibleOrgID: ty.ResponsibleOrgID,
				Requested: c.req, Approved: c.appr, Planned: c.plan, Distributed: c.dist, Outstanding: max(c.appr-c.dist, 0)}
			fu.Rows = append(fu.Rows, row)
			fu.Requested += row.Requested
			fu.Approved += row.Approved
			fu.Distributed += row.Distributed
			fu.Outstanding += row.Outstanding
		}
	}
	return fu, nil
}

// --- missing and reminders ---

// MissingOrg is a participant that has not submitted its filing: none yet ("" status), a draft
// (perhaps returned for correction) or a withdrawn one.
type MissingOrg struct {
	OrgID       string           `json:"org_id"`
	OrgName     string           `json:"org_name"`
	Kind        certseal.OrgKind `json:"kind"`
	AreaCode    string           `json:"area_code,omitempty"`
	FilingID    uint64           `json:"filing_id,omitempty"`
	Status      FilingStatus     `json:"status,omitempty"`
	StatusLabel string           `json:"status_label"`
}

func missing(tx *store.Tx, r *Round) ([]MissingOrg, error) {
	out := []MissingOrg{}
	for _, p := range r.Participants {
		m := MissingOrg{OrgID: p.OrgID, OrgName: p.OrgName, Kind: p.Kind, AreaCode: p.AreaCode, StatusLabel: "未填报"}
		if id := tx.Get(bucketRoundOrg, roundOrgKey(r.ID, p.OrgID)); id != nil {
			f, err := getFiling(tx, store.ParseU64(id))
			if err != nil {
				return nil, err
			}
			if f.Status.counts() {
				continue
			}
			m.FilingID, m.Status, m.StatusLabel = f.ID, f.Status, f.Status.Label()
			if f.Status == Draft && f.ReturnComment != "" {
				m.StatusLabel = "退回修改"
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// Missing lists the round's organisations that have not submitted their filing, in the round's
// order (GET /demand/rounds/{id}/missing). It returns an *Error: EForbidden, ENotFound.
func (s *Service) Missing(ctx context.Context, actor certseal.Actor, roundID uint64) ([]MissingOrg, error) {
	var out []MissingOrg
	if err := requireReader(actor); err != nil {
		return nil, err
	}
	err := s.DB.View(func(tx *store.Tx) error {
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		out, err = missing(tx, &r)
		return err
	})
	return out, err
}

// Reminders is the reminder list of a round (GET /demand/rounds/{id}/reminders?days=N): when the
// round accepts filings and its deadline is at most Days days away, Due is set and Orgs lists the
// organisations still to submit; otherwise Orgs is empty.
type Reminders struct {
	RoundID  uint64       `json:"round_id"`
	Deadline time.Time    `json:"deadline"`
	Now      time.Time    `json:"now"`
	Days     int          `json:"days"`
	HoursTo  int64        `json:"hours_to_deadline"`
	Due      bool         `json:"due"`
	Message  string       `json:"message"`
	Orgs     []MissingOrg `json:"orgs"`
}

// MaxReminderDays bounds the reminder window.
const MaxReminderDays = 366

// Reminders returns the organisations to remind when the deadline is within days days. It returns
// an *Error: EInvalid for days outside 0..MaxReminderDays, EForbidden, ENotFound.
func (s *Service) Reminders(ctx context.Context, actor certseal.Actor, roundID uint64, days int) (Reminders, error) {
	var rem Reminders
	if err := requireReader(actor); err != nil {
		return rem, err
	}
	if days < 0 || days > MaxReminderDays {
		return rem, errf(certseal.EInvalid, "提醒天数应在0至%d之间", MaxReminderDays)
	}
	err := s.DB.View(func(tx *store.Tx) error {
		now := s.Clock.Now()
		r, err := getRound(tx, roundID)
		if err != nil {
			return err
		}
		left := r.Deadline.Sub(now)
		rem = Reminders{RoundID: r.ID, Deadline: r.Deadline, Now: now.UTC(), Days: days, HoursTo: int64(left / time.Hour), Orgs: []MissingOrg{}}
		switch {
		case r.Status != RoundOpen:
			rem.Message = "本轮征订已关闭"
		case left < 0:
			rem.Message = "报送截止时间已过"
		case left > time.Duration(days)*24*time.Hour:
			rem.Message = "距报送截止时间尚远，暂不提醒"
		default:
			rem.Due = true
			if rem.Orgs, err = missing(tx, &r); err != nil {
				return err
			}
			var names []string
			for _, m := range rem.Orgs {
				names = append(names, m.OrgName)
			}
			if len(names) == 0 {
				rem.Message = "所有单位均已报送"
			} else {
				rem.Message = "请以下单位于" + fmtTime(r.Deadline) + "前报送需求：" + strings.Join(names, "、")
			}
		}
		return nil
	})
	return rem, err
}
