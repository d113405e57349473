// Package demand runs the annual blank-form demand rounds (年度征订) of issue #4: the city center
// opens a round with a deadline and the licence types in scope; every county approval bureau (and
// every county department, for the items not yet transferred) files a demand form (需求量报送单)
// prefilled from the blank-form ledger; the city center returns or approves the filings,
// aggregates them by licence type, county, supply channel and responsible city department, turns
// the approved aggregate into a versioned distribution plan, and follows its fulfilment through
// the distributions recorded in the ledger. README.md describes the states, the suggestion
// formula and who may do what.
//
// Each Service method is one transaction. Ledger reads (prefill, plan stock, fulfilment) go
// through the Ledger interface and happen outside the package's own transactions.
package demand

import (
	"context"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/store"
)

// Buckets.
const (
	// bucketRounds: U64(id) -> Round (JSON).
	bucketRounds store.Bucket = "demand_rounds"
	// bucketYearly: Key(year) -> U64(id) of the year's yearly round, so that a year has one.
	bucketYearly store.Bucket = "demand_yearly"
	// bucketFilings: U64(id) -> Filing (JSON), the current state of each filing.
	bucketFilings store.Bucket = "demand_filings"
	// bucketRoundOrg: U64(round) + org id -> U64(filing id): one filing per organisation and round.
	bucketRoundOrg store.Bucket = "demand_round_org"
	// bucketVersions: U64(filing) + U64(version) -> FilingVersion (JSON), append-only.
	bucketVersions store.Bucket = "demand_filing_versions"
	// bucketPlans: U64(round) + U64(version) -> Plan (JSON), append-only.
	bucketPlans store.Bucket = "demand_plans"
)

// Buckets lists every bucket of the package (for backups, dumps and tests).
var Buckets = []store.Bucket{bucketRounds, bucketYearly, bucketFilings, bucketRoundOrg, bucketVersions, bucketPlans, bucketAgg}

// Limits on requests.
const (
	MaxTypes        = 1000       // licence types in one round
	MaxParticipants = 2000       // organisations asked to file in one round
	MaxQuantity     = 10_000_000 // forms of one type in one filing line, or a cap
	MaxTextLen      = 500        // characters of a reason, comment, note or title
	MaxContactLen   = 50         // characters of a contact person
)

// Suggestion parameters (README.md, "Suggested quantity"): the suggestion is the mean of the use
// over the HistoryYears calendar years before the round's year, times SafetyPercent/100, rounded
// up, less the stock on hand, floored at 0. A filed quantity is flagged when it differs from the
// suggestion by more than FlagMinForms forms and by more than FlagPercent percent of the
// suggestion.
const (
	HistoryYears  = 3
	SafetyPercent = 120
	FlagMinForms  = 20
	FlagPercent   = 50
)

// Service runs the demand rounds. Every method is one transaction of its own; Ledger is read
// before or after it, never inside.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
	// Ledger reads the blank-form ledger; NewLedger adapts an *inventory.Service.
	Ledger Ledger
	// Catalogue finds the items bound to a licence type when a round works out which county
	// departments must file (items not transferred). Nil: only county bureaus are asked by default.
	Catalogue *catalogue.Service
}

// Ledger is what demand needs from the blank-form ledger (package inventory). Its methods run
// their own read transactions, so they are never called inside one of this package's.
type Ledger interface {
	// InStock returns the organisation's in-stock count per licence type code. It returns an
	// error when the ledger cannot be read.
	InStock(ctx context.Context, orgID string) (map[string]int64, error)
	// Consumed returns how many blank forms of the type the organisation consumed (used or
	// voided) in [from, to). It returns an error when the ledger cannot be read.
	Consumed(ctx context.Context, orgID, typeCode string, from, to time.Time) (int64, error)
	// Distributions returns the distributions (下发) sent by the city department in [since,
	// until). It returns an error when the ledger cannot be read.
	Distributions(ctx context.Context, fromOrgID string, since, until time.Time) ([]Distribution, error)
}

// Distribution is one distribution movement of the ledger.
type Distribution struct {
	MovementID uint64    `json:"movement_id"`
	FromOrgID  string    `json:"from_org_id"`
	ToOrgID    string    `json:"to_org_id"`
	TypeCode   string    `json:"type_code"`
	Count      int64     `json:"count"`
	Time       time.Time `json:"time"`
}

// RoundKind is the kind of a round.
type RoundKind string

// Round kinds.
const (
	Yearly RoundKind = "yearly" // 年度征订
	TopUp  RoundKind = "topup"  // 补充征订
)

// Label returns the kind's Chinese name.
func (k RoundKind) Label() string {
	switch k {
	case Yearly:
		return "年度征订"
	case TopUp:
		return "补充征订"
	}
	return string(k)
}

// RoundStatus is where a round is.
type RoundStatus string

// Round statuses. A round accepts filings while it is open and its deadline has not passed.
const (
	RoundOpen   RoundStatus = "open"   // 征订中
	RoundClosed RoundStatus = "closed" // 已截止
)

// Label returns the status's Chinese name.
func (s RoundStatus) Label() string {
	switch s {
	case RoundOpen:
		return "征订中"
	case RoundClosed:
		return "已关闭"
	}
	return string(s)
}

// FilingStatus is where a filing is.
type FilingStatus string

// Filing statuses (README.md draws the transitions).
const (
	Draft     FilingStatus = "draft"     // 草稿 (also after a return for correction)
	Submitted FilingStatus = "submitted" // 已报送
	Withdrawn FilingStatus = "withdrawn" // 已撤回
	Approved  FilingStatus = "approved"  // 已审核
)

// Label returns the status's Chinese name.
func (s FilingStatus) Label() string {
	switch s {
	case Draft:
		return "草稿"
	case Submitted:
		return "已报送"
	case Withdrawn:
		return "已撤回"
	case Approved:
		return "已审核"
	}
	return string(s)
}

// counts reports whether a filing in this status counts as requested in the aggregate.
func (s FilingStatus) counts() bool { return s == Submitted || s == Approved }

// RoundType is a licence type in scope of a round, with its per-type cap.
type RoundType struct {
	Code             string            `json:"code"`
	Name             string            `json:"name"`
	Channel          catalogue.Channel `json:"channel"`
	ChannelLabel     string            `json:"channel_label"`
	ResponsibleOrgID string            `json:"responsible_org_id,omitempty"`
	ResponsibleName  string            `json:"responsible_name,omitempty"`
	// Cap is the largest quantity one filing may ask for (0: no cap).
	Cap int64 `json:"cap,omitempty"`
}

// Participant is an organisation asked to file in a round. Types lists the licence types it
// files for (a county department files only for its items not transferred); empty means every
// type of the round.
type Participant struct {
	OrgID    string           `json:"org_id"`
	OrgName  string           `json:"org_name"`
	Kind     certseal.OrgKind `json:"kind"`
	AreaCode string           `json:"area_code,omitempty"`
	Types    []string         `json:"types,omitempty"`
}

// mayFile reports whether the participant files for the type.
func (p *Participant) mayFile(code string) bool {
	if len(p.Types) == 0 {
		return true
	}
	for _, t := range p.Types {
		if t == code {
			return true
		}
	}
	return false
}

// Reopening records a reopened round.
type Reopening struct {
	At          time.Time `json:"at"`
	By          string    `json:"by"`
	Reason      string    `json:"reason"`
	OldDeadline time.Time `json:"old_deadline"`
	NewDeadline time.Time `json:"new_deadline"`
}

// Round is a demand round: a yearly round (年度征订) or a top-up round (补充征订) linked to the
// yearly round of its year.
type Round struct {
	ID           uint64        `json:"id"`
	Kind         RoundKind     `json:"kind"`
	KindLabel    string        `json:"kind_label"`
	Year         int           `json:"year"`
	ParentID     uint64        `json:"parent_id,omitempty"`
	Title        string        `json:"title"`
	Notice       string        `json:"notice,omitempty"`
	Deadline     time.Time     `json:"deadline"`
	Status       RoundStatus   `json:"status"`
	StatusLabel  string        `json:"status_label"`
	Types        []RoundType   `json:"types"`
	Participants []Participant `json:"participants"`
	OpenedAt     time.Time     `json:"opened_at"`
	OpenedBy     string        `json:"opened_by"`
	ClosedAt     *time.Time    `json:"closed_at,omitempty"`
	ClosedBy     string        `json:"closed_by,omitempty"`
	CloseNote    string        `json:"close_note,omitempty"`
	Reopenings   []Reopening   `json:"reopenings,omitempty"`
	PlanVersion  int           `json:"plan_version,omitempty"`
}

// Type returns the round's licence type with the code, or nil.
func (r *Round) Type(code string) *RoundType {
	for i := range r.Types {
		if r.Types[i].Code == code {
			return &r.Types[i]
		}
	}
	return nil
}

// Participant returns the participant with the organisation id, or nil.
func (r *Round) Participant(orgID string) *Participant {
	for i := range r.Participants {
		if r.Participants[i].OrgID == orgID {
			return &r.Participants[i]
		}
	}
	return nil
}

// Accepting reports whether the round accepts filings at now: open and the deadline not passed.
func (r *Round) Accepting(now time.Time) bool {
	return r.Status == RoundOpen && !now.After(r.Deadline)
}

// Line is one licence type of a filing: the quantity asked for with its reason, the quantity the
// city center approved, and the context prefilled from the ledger when the filing was saved.
type Line struct {
	TypeCode string `json:"type_code"`
	TypeName string `json:"type_name"`
	Quantity int64  `json:"quantity"`
	Reason   string `json:"reason,omitempty"`
	// Approved is set when the filing is approved.
	Approved int64 `json:"approved"`
	// LastYearUse is the forms consumed (used or voided) in the year before the round's year.
	LastYearUse int64 `json:"last_year_use"`
	// InStock is the organisation's stock of the type when the filing was saved.
	InStock int64 `json:"in_stock"`
	// UseHistory is the consumption in each of the HistoryYears years before the round's year,
	// the most recent first.
	UseHistory []int64 `json:"use_history"`
	// Suggested is the suggested quantity (README.md).
	Suggested int64 `json:"suggested"`
	// Flagged is set when Quantity differs a lot from Suggested.
	Flagged bool `json:"flagged,omitempty"`
}

// Filing is an organisation's demand form (需求量报送单) for a round: one per organisation and
// round. Version counts its saved versions; FilingVersions lists them all.
type Filing struct {
	ID             uint64           `json:"id"`
	RoundID        uint64           `json:"round_id"`
	OrgID          string           `json:"org_id"`
	OrgName        string           `json:"org_name"`
	OrgKind        certseal.OrgKind `json:"org_kind"`
	Status         FilingStatus     `json:"status"`
	StatusLabel    string           `json:"status_label"`
	Version        int              `json:"version"`
	Contact        string           `json:"contact"`
	Phone          string           `json:"phone"`
	Note           string           `json:"note,omitempty"`
	Lines          []Line           `json:"lines"`
	ReturnComment  string           `json:"return_comment,omitempty"`
	ApproveComment string           `json:"approve_comment,omitempty"`
	CreatedAt      time.Time        `json:"created_at"`
	UpdatedAt      time.Time        `json:"updated_at"`
	SubmittedAt    *time.Time       `json:"submitted_at,omitempty"`
	ApprovedAt     *time.Time       `json:"approved_at,omitempty"`
	ApprovedBy     string           `json:"approved_by,omitempty"`
}

// Line returns the filing's line of the type, or nil.
func (f *Filing) Line(code string) *Line {
	for i := range f.Lines {
		if f.Lines[i].TypeCode == code {
			return &f.Lines[i]
		}
	}
	return nil
}

// FilingVersion is one version of a filing as it was after a change, kept forever.
type FilingVersion struct {
	FilingID uint64       `json:"filing_id"`
	Version  int          `json:"version"`
	Action   string       `json:"action"` // save, submit, amend, withdraw, return, approve
	At       time.Time    `json:"at"`
	UserID   string       `json:"user_id"`
	Username string       `json:"username"`
	Status   FilingStatus `json:"status"`
	Contact  string       `json:"contact"`
	Phone    string       `json:"phone"`
	Note     string       `json:"note,omitempty"`
	Comment  string       `json:"comment,omitempty"`
	Lines    []Line       `json:"lines"`
}
