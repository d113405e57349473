package inventory

import (
	"context"
	"fmt"
	"math/bits"
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

// Movement is one entry of the ledger: serials of one licence type moving from one (holder,
// state) to another. Receipts have no FromOrgID and no FromState. The reference fields are set
// according to the kind.
type Movement struct {
	ID          uint64        `json:"id"`
	Kind        Kind          `json:"kind"`
	TypeCode    string        `json:"type_code"`
	TypeName    string        `json:"type_name"`
	FromOrgID   string        `json:"from_org_id,omitempty"`
	FromOrgName string        `json:"from_org_name,omitempty"`
	ToOrgID     string        `json:"to_org_id"`
	ToOrgName   string        `json:"to_org_name,omitempty"`
	FromState   State         `json:"from_state,omitempty"`
	ToState     State         `json:"to_state"`
	Ranges      []SerialRange `json:"ranges"`
	Count       uint64        `json:"count"`
	Time        time.Time     `json:"time"`
	UserID      string        `json:"user_id"`
	Username    string        `json:"username"`
	ActorOrgID  string        `json:"actor_org_id"`

	Channel        catalogue.Channel `json:"channel,omitempty"`
	Supplier       string            `json:"supplier,omitempty"`
	Contract       string            `json:"contract,omitempty"`
	UnitCostFen    int64             `json:"unit_cost_fen,omitempty"`
	TotalCostFen   int64             `json:"total_cost_fen,omitempty"`
	Batch          string            `json:"batch,omitempty"`
	ProvincialDept string            `json:"provincial_dept,omitempty"`
	Document       string            `json:"document,omitempty"`
	Reason         string            `json:"reason,omitempty"`
	ReportRef      string            `json:"report_ref,omitempty"`
	Witnesses      []string          `json:"witnesses,omitempty"`
	CertificateID  string            `json:"certificate_id,omitempty"`
	StocktakeID    uint64            `json:"stocktake_id,omitempty"`
	Note           string            `json:"note,omitempty"`

	// LicenceNumber (证照编号) is the licence number of the certificate a form was used for,
	// and OperatorName (经办人) the display name of the user; the queries fill both in.
	LicenceNumber string `json:"licence_number,omitempty"`
	OperatorName  string `json:"operator_name,omitempty"`
}

// flow columns of the reconciliation, from one organisation's point of view.
const (
	colReceived byte = iota + 1
	colSent
	colUsed
	colVoided
	colLost
	colDestroyed
	colCopyLost
)

type flow struct {
	org string
	col byte
}

func flowsOf(m *Movement) []flow {
	switch m.Kind {
	case KindReceipt, KindStocktakeReceipt:
		return []flow{{m.ToOrgID, colReceived}}
	case KindDistribution, KindHandover, KindReturn:
		return []flow{{m.FromOrgID, colSent}, {m.ToOrgID, colReceived}}
	case KindUse:
		return []flow{{m.FromOrgID, colUsed}}
	case KindVoid:
		return []flow{{m.FromOrgID, colVoided}}
	case KindLoss, KindStocktakeLoss:
		return []flow{{m.FromOrgID, colLost}}
	case KindDestruction:
		return []flow{{m.FromOrgID, colDestroyed}}
	case KindCopyLost:
		return []flow{{m.FromOrgID, colCopyLost}}
	}
	return nil
}

func traceKey(typeCode string, s span, id uint64) []byte {
	k := store.Prefix(typeCode)
	k = append(k, byte(bits.Len64(s.last-s.first)))
	k = append(k, store.U64(s.first)...)
	return append(k, store.U64(id)...)
}

// record appends m to the ledger with its indexes and its audit event.
func record(tx *store.Tx, now time.Time, actor certseal.Actor, t *catalogue.LicenceType, spans []span, m *Movement) error {
	id, err := tx.NextID(bucketMovements)
	if err != nil {
		return err
	}
	m.ID = id
	m.TypeCode, m.TypeName = t.Code, t.Name
	m.Time = now.UTC()
	m.UserID, m.Username, m.ActorOrgID = actor.UserID, actor.Username, actor.OrgID
	m.Ranges = printedAll(t, spans)
	m.Count = total(spans)
	if err := tx.PutJSON(bucketMovements, store.U64(id), m); err != nil {
		return err
	}
	for _, s := range spans {
		if err := tx.Put(bucketTrace, traceKey(t.Code, s, id), store.U64(s.last)); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for _, f := range flowsOf(m) {
		if !seen[f.org] {
			seen[f.org] = true
			if err := tx.Put(bucketMvByOrg, append(store.Prefix(f.org), store.U64(id)...), nil); err != nil {
				return err
			}
		}
		v := make([]byte, 0, 17)
		v = append(v, store.U64(uint64(m.Time.UnixNano()))...)
		v = append(v, f.col)
		v = append(v, store.U64(m.Count)...)
		if err := tx.Put(bucketMvByOrgType, append(store.Prefix(f.org, t.Code), store.U64(id)...), v); err != nil {
			return err
		}
	}
	return audit.Append(tx, now, actor, "inventory."+string(m.Kind), "inventory_movement/"+strconv.FormatUint(id, 10), m)
}

// --- authorization and lookups ---

// canMove checks that the actor may change stock: auditors never, clerks only for what a
// service window does (use, void, a lost copy). It returns an *Error with code EForbidden.
func canMove(actor certseal.Actor, clerkOK bool) error {
	if actor.OrgID == "" {
		return certseal.Errorf(certseal.EForbidden, "未指定操作机构")
	}
	switch actor.Role {
	case certseal.RoleAdmin, certseal.RoleDeptOfficer, certseal.RoleBureauOfficer:
		return nil
	case certseal.RoleClerk:
		if clerkOK {
			return nil
		}
		return certseal.Errorf(certseal.EForbidden, "窗口工作人员不能办理此项库存业务")
	}
	return certseal.Errorf(certseal.EForbidden, "%s无权变动空白证照库存", actor.Role.Label())
}

func actorOrg(tx *store.Tx, actor certseal.Actor) (certseal.Org, error) {
	o, err := orgs.Get(tx, actor.OrgID)
	if err != nil {
		return o, certseal.Errorf(certseal.EForbidden, "操作人所在机构 %q 不存在", actor.OrgID)
	}
	return o, nil
}

func paperType(tx *store.Tx, code string) (catalogue.LicenceType, error) {
	if code == "" {
		return catalogue.LicenceType{}, certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	t, err := catalogue.GetType(tx, code)
	if err != nil {
		return t, err
	}
	if !t.HasPaperForm() {
		return t, certseal.Errorf(certseal.EInvalid, "证照类型“%s”没有纸质空白证照", t.Name)
	}
	return t, nil
}

// mayReceiveBy reports whether an organisation of kind k may receive blank forms by channel c
// (domain.md): city departments and county bureaus buy from designated printers; the city and the
// counties print locally; city departments (and the city center) collect from provincial ones.
func mayReceiveBy(k certseal.OrgKind, c catalogue.Channel) bool {
	switch c {
	case catalogue.ChannelPrinter:
		return k == certseal.KindCityDepartment || k == certseal.KindCountyBureau
	case catalogue.ChannelLocalPrint:
		return k == certseal.KindCityCenter || k == certseal.KindCityDepartment || k == certseal.KindCountyBureau || k == certseal.KindCountyDept
	case catalogue.ChannelProvincial:
		return k == certseal.KindCityDepartment || k == certseal.KindCityCenter
	}
	return false
}

func isCity(k certseal.OrgKind) bool {
	return k == certseal.KindCityDepartment || k == certseal.KindCityCenter
}

func isCounty(k certseal.OrgKind) bool {
	return k == certseal.KindCountyBureau || k == certseal.KindCountyDept
}

func checkText(what, s string, max int) error {
	if utf8.RuneCountInString(s) > max {
		return certseal.Errorf(certseal.EInvalid, "%s不能超过%d个字符", what, max)
	}
	return nil
}

func required(what, s string) error {
	if strings.TrimSpace(s) == "" {
		return certseal.Errorf(certseal.EInvalid, "%s不能为空", what)
	}
	return checkText(what, s, MaxTextLen)
}

func checkRanges(rs []SerialRange) error {
	if len(rs) == 0 {
		return certseal.Errorf(certseal.EInvalid, "请至少填写一个号段")
	}
	if len(rs) > MaxRanges {
		return certseal.Errorf(certseal.EInvalid, "一次最多%d个号段", MaxRanges)
	}
	for _, r := range rs {
		if r.First == "" || r.Last == "" {
			return certseal.Errorf(certseal.EInvalid, "号段的起始编号和终止编号都不能为空")
		}
	}
	return nil
}

// --- moving stock in hand ---

// planMove checks every span and returns the ranges covering each, or the conflicts.
func planMove(tx *store.Tx, t *catalogue.LicenceType, spans []span, ok func(rng) bool, actorOrg string) ([][]rng, []Conflict, error) {
	covers := make([][]rng, len(spans))
	var all []Conflict
	for i, s := range spans {
		rs, cs, err := checkMove(tx, t, s, ok, actorOrg)
		if err != nil {
			return nil, nil, err
		}
		covers[i] = rs
		all = append(all, cs...)
	}
	return covers, all, nil
}

func applyMove(tx *store.Tx, t *catalogue.LicenceType, spans []span, covers [][]rng, to func(rng) attrs) error {
	l := newLedger(tx, t.Code)
	for i, s := range spans {
		if err := l.move(covers[i], s, to); err != nil {
			return err
		}
	}
	return l.flush()
}

// moveOwn moves serials the actor's organisation holds in state from to state to (same holder),
// writing nothing when any serial is elsewhere. It returns an *Error with code EConflict naming
// the serials that are not held in that state.
func moveOwn(tx *store.Tx, t *catalogue.LicenceType, spans []span, org string, from, to State, msg string) error {
	covers, cs, err := planMove(tx, t, spans, func(r rng) bool { return r.holder == org && r.state == from }, org)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		return conflictError(msg, cs)
	}
	return applyMove(tx, t, spans, covers, func(r rng) attrs {
		a := attrs{holder: org, state: to}
		if to == InStock {
			a.source = r.source
		}
		return a
	})
}

func orgName(tx *store.Tx, id string) string {
	if id == "" {
		return ""
	}
	o, err := orgs.Get(tx, id)
	if err != nil {
		return ""
	}
	return o.Name
}

// --- receipts ---

// Receipt is a request to receive blank forms into the actor's organisation (入库,
// POST /receipts). First and Last are printed serials. The reference fields depend on the
// channel: designated_printer needs Supplier and Contract (and UnitCostFen, the price of one form
// in fen); local_print needs Batch; provincial_collection needs ProvincialDept (the department's
// name or organisation id) and Document.
type Receipt struct {
	TypeCode       string            `json:"type_code"`
	First          string            `json:"first"`
	Last           string            `json:"last"`
	Channel        catalogue.Channel `json:"channel"`
	Supplier       string            `json:"supplier,omitempty"`
	Contract       string            `json:"contract,omitempty"`
	UnitCostFen    int64             `json:"unit_cost_fen,omitempty"`
	Batch          string            `json:"batch,omitempty"`
	ProvincialDept string            `json:"provincial_dept,omitempty"`
	Document       string            `json:"document,omitempty"`
	Note           string            `json:"note,omitempty"`
}

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid naming the first bad field.
func (r *Receipt) Validate() error {
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	if r.First == "" || r.Last == "" {
		return certseal.Errorf(certseal.EInvalid, "号段的起始编号和终止编号都不能为空")
	}
	switch r.Channel {
	case catalogue.ChannelPrinter:
		if err := required("供货单位（定点印制企业）", r.Supplier); err != nil {
			return err
		}
		if err := required("合同或发票号", r.Contract); err != nil {
			return err
		}
		if r.UnitCostFen < 0 || r.UnitCostFen > maxUnitCost {
			return certseal.Errorf(certseal.EInvalid, "单价应在0至%d分之间", maxUnitCost)
		}
	case catalogue.ChannelLocalPrint:
		if err := required("印制批次", r.Batch); err != nil {
			return err
		}
	case catalogue.ChannelProvincial:
		if err := required("省直部门", r.ProvincialDept); err != nil {
			return err
		}
		if err := required("领取凭证", r.Document); err != nil {
			return err
		}
	default:
		return certseal.Errorf(certseal.EInvalid, "入库渠道 %q 无效，应为 designated_printer、local_print 或 provincial_collection", r.Channel)
	}
	if r.Channel != catalogue.ChannelPrinter && r.UnitCostFen != 0 {
		if r.UnitCostFen < 0 || r.UnitCostFen > maxUnitCost {
			return certseal.Errorf(certseal.EInvalid, "单价应在0至%d分之间", maxUnitCost)
		}
	}
	for _, f := range []struct{ what, v string }{{"供货单位", r.Supplier}, {"合同或发票号", r.Contract}, {"印制批次", r.Batch}, {"省直部门", r.ProvincialDept}, {"凭证号", r.Document}} {
		if err := checkText(f.what, f.v, MaxTextLen); err != nil {
			return err
		}
	}
	return checkText("备注", r.Note, MaxNoteLen)
}

// Receive records a receipt of blank forms into the actor's organisation. The channel must be
// the licence type's channel and one the organisation's kind may receive by. It returns an
// *Error: EInvalid for bad input (prefix, width, reversed range, channel), ENotFound for an
// unknown type, EForbidden for an organisation that may not receive by the channel, and
// EConflict naming the serials already known for the type.
func (s *Service) Receive(ctx context.Context, actor certseal.Actor, r Receipt) (Movement, error) {
	var m Movement
	if err := r.Validate(); err != nil {
		return m, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = receiveTx(tx, s.Clock.Now(), actor, r)
		return err
	})
	return m, err
}

func receiveTx(tx *store.Tx, now time.Time, actor certseal.Actor, r Receipt) (Movement, error) {
	var m Movement
	if err := canMove(actor, false); err != nil {
		return m, err
	}
	org, err := actorOrg(tx, actor)
	if err != nil {
		return m, err
	}
	t, err := paperType(tx, r.TypeCode)
	if err != nil {
		return m, err
	}
	if t.Channel != r.Channel {
		return m, certseal.Errorf(certseal.EInvalid, "证照类型“%s”的空白证照来源为%s，不能按%s入库", t.Name, t.Channel.Label(), r.Channel.Label())
	}
	if !mayReceiveBy(org.Kind, r.Channel) {
		return m, certseal.Errorf(certseal.EForbidden, "%s不能通过“%s”渠道入库空白证照", org.Kind.Label(), r.Channel.Label())
	}
	if org.Kind == certseal.KindCityDepartment && t.ResponsibleOrgID != "" && t.ResponsibleOrgID != org.ID {
		return m, certseal.Errorf(certseal.EForbidden, "证照类型“%s”的空白证照由其他市级部门负责采购或领取", t.Name)
	}
	sp, err := parseSpan(&t, r.First, r.Last)
	if err != nil {
		return m, err
	}
	if err := checkUnknown(tx, &t, []span{sp}, org.ID, "以下印制编号已入库，不能重复入库"); err != nil {
		return m, err
	}
	hi, lo := bits.Mul64(uint64(r.UnitCostFen), sp.n())
	if hi != 0 || lo > 1<<62 {
		return m, certseal.Errorf(certseal.EInvalid, "金额过大")
	}
	l := newLedger(tx, t.Code)
	if err := l.receive(sp, attrs{holder: org.ID, state: InStock}); err != nil {
		return m, err
	}
	if err := l.flush(); err != nil {
		return m, err
	}
	m = Movement{Kind: KindReceipt, ToOrgID: org.ID, ToOrgName: org.Name, ToState: InStock,
		Channel: r.Channel, Supplier: r.Supplier, Contract: r.Contract, UnitCostFen: r.UnitCostFen, TotalCostFen: int64(lo),
		Batch: r.Batch, ProvincialDept: r.ProvincialDept, Document: r.Document, Note: r.Note}
	return m, record(tx, now, actor, &t, []span{sp}, &m)
}

// checkUnknown returns an *Error with code EConflict naming the sub-ranges of spans already
// known to the ledger.
func checkUnknown(tx *store.Tx, t *catalogue.LicenceType, spans []span, actorOrg, msg string) error {
	var cs []Conflict
	for _, sp := range spans {
		rs, err := overlapping(tx, t.Code, sp)
		if err != nil {
			return err
		}
		for _, x := range rs {
			a := x.attrs
			cs = append(cs, conflictOf(t, span{max(x.first, sp.first), min(x.last, sp.last)}, &a, actorOrg))
		}
	}
	if len(cs) > 0 {
		return conflictError(msg, cs)
	}
	return nil
}

// --- transfers ---

// Transfer is a request to move blank forms the actor's organisation holds in stock to another
// organisation (POST /transfers): a distribution (下发) from a city department to a county
// bureau or county department, a handover (移交) from a county department to the county approval
// bureau of the same area, or a return (退回) from a county organisation to the city department
// that distributed the forms.
type Transfer struct {
	Kind     Kind          `json:"kind"`
	TypeCode string        `json:"type_code"`
	ToOrgID  string        `json:"to_org_id"`
	Ranges   []SerialRange `json:"ranges"`
	Document string        `json:"document,omitempty"`
	Note     string        `json:"note,omitempty"`
}

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid.
func (r *Transfer) Validate() error {
	if !r.Kind.IsTransfer() {
		return certseal.Errorf(certseal.EInvalid, "调拨类型 %q 无效，应为 distribution、handover 或 return", r.Kind)
	}
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	if r.ToOrgID == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定接收机构")
	}
	if err := checkRanges(r.Ranges); err != nil {
		return err
	}
	if err := checkText("凭证号", r.Document, MaxTextLen); err != nil {
		return err
	}
	return checkText("备注", r.Note, MaxNoteLen)
}

// Transfer moves blank forms from the actor's organisation to another. It returns an *Error:
// EInvalid for bad input or a kind that does not fit the two organisations, ENotFound for an
// unknown type or receiving organisation, EForbidden for a role that may not move stock, and
// EConflict naming the serials the actor's organisation does not hold in stock (or, for a return,
// that the receiving department did not distribute).
func (s *Service) Transfer(ctx context.Context, actor certseal.Actor, r Transfer) (Movement, error) {
	var m Movement
	if err := r.Validate(); err != nil {
		return m, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = transferTx(tx, s.Clock.Now(), actor, r)
		return err
	})
	return m, err
}

func transferTx(tx *store.Tx, now time.Time, actor certseal.Actor, r Transfer) (Movement, error) {
	var m Movement
	if err := canMove(actor, false); err != nil {
		return m, err
	}
	from, err := actorOrg(tx, actor)
	if err != nil {
		return m, err
	}
	to, err := orgs.Get(tx, r.ToOrgID)
	if err != nil {
		return m, err
	}
	if to.ID == from.ID {
		return m, certseal.Errorf(certseal.EInvalid, "不能调拨给本机构")
	}
	switch r.Kind {
	case KindDistribution:
		if !isCity(from.Kind) || !isCounty(to.Kind) {
			return m, certseal.Errorf(certseal.EInvalid, "下发只能由市级部门发给县区行政审批局或县区原审批部门（%s → %s）", from.Kind.Label(), to.Kind.Label())
		}
	case KindHandover:
		if from.Kind != certseal.KindCountyDept || to.Kind != certseal.KindCountyBureau {
			return m, certseal.Errorf(certseal.EInvalid, "移交只能由县区原审批部门交给县区行政审批局（%s → %s）", from.Kind.Label(), to.Kind.Label())
		}
		if from.AreaCode != to.AreaCode {
			return m, certseal.Errorf(certseal.EInvalid, "移交只能交给同一县区的行政审批局（%s 与 %s 不在同一县区）", from.Name, to.Name)
		}
	case KindReturn:
		if !isCounty(from.Kind) || !isCity(to.Kind) {
			return m, certseal.Errorf(certseal.EInvalid, "退回只能由县区退给下发的市级部门（%s → %s）", from.Kind.Label(), to.Kind.Label())
		}
	}
	t, err := paperType(tx, r.TypeCode)
	if err != nil {
		return m, err
	}
	spans, err := parseSpans(&t, r.Ranges)
	if err != nil {
		return m, err
	}
	covers, cs, err := planMove(tx, &t, spans, func(x rng) bool { return x.holder == from.ID && x.state == InStock }, from.ID)
	if err != nil {
		return m, err
	}
	if len(cs) > 0 {
		return m, conflictError("以下印制编号不在本机构库存中，不能调拨", cs)
	}
	if r.Kind == KindReturn {
		_, cs, err := planMove(tx, &t, spans, func(x rng) bool { return x.source == to.ID }, from.ID)
		if err != nil {
			return m, err
		}
		if len(cs) > 0 {
			return m, conflictError(fmt.Sprintf("以下号段不是由“%s”下发的，不能退回给它", to.Name), cs)
		}
	}
	err = applyMove(tx, &t, spans, covers, func(x rng) attrs {
		switch r.Kind {
		case KindDistribution:
			return attrs{holder: to.ID, state: InStock, source: from.ID}
		case KindHandover:
			return attrs{holder: to.ID, state: InStock, source: x.source}
		}
		return attrs{holder: to.ID, state: InStock}
	})
	if err != nil {
		return m, err
	}
	m = Movement{Kind: r.Kind, FromOrgID: from.ID, FromOrgName: from.Name, ToOrgID: to.ID, ToOrgName: to.Name,
		FromState: InStock, ToState: InStock, Document: r.Document, Note: r.Note}
	return m, record(tx, now, actor, &t, spans, &m)
}

// --- voids, losses, destructions ---

// Void is a request to void spoiled blank forms the actor's organisation holds in stock (作废,
// POST /voids). Voided forms wait for a destruction batch.
type Void struct {
	TypeCode string        `json:"type_code"`
	Ranges   []SerialRange `json:"ranges"`
	Reason   string        `json:"reason"`
}

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid.
func (r *Void) Validate() error {
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	if err := checkRanges(r.Ranges); err != nil {
		return err
	}
	if strings.TrimSpace(r.Reason) == "" {
		return certseal.Errorf(certseal.EInvalid, "请填写作废原因")
	}
	return checkText("作废原因", r.Reason, MaxNoteLen)
}

// Void marks blank forms in stock as voided. Window clerks may void. It returns an *Error:
// EInvalid, ENotFound for an unknown type, EForbidden, or EConflict naming the serials not in
// the organisation's stock.
func (s *Service) Void(ctx context.Context, actor certseal.Actor, r Void) (Movement, error) {
	var m Movement
	if err := r.Validate(); err != nil {
		return m, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = ownMoveTx(tx, s.Clock.Now(), actor, true, r.TypeCode, r.Ranges, KindVoid, InStock, Voided,
			"以下印制编号不在本机构库存中，不能作废", Movement{Reason: r.Reason})
		return err
	})
	return m, err
}

// Loss is a request to record blank forms of the actor's organisation as lost (遗失,
// POST /losses), with the reference of the loss report.
type Loss struct {
	TypeCode  string        `json:"type_code"`
	Ranges    []SerialRange `json:"ranges"`
	ReportRef string        `json:"report_ref"`
	Reason    string        `json:"reason,omitempty"`
}

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid.
func (r *Loss) Validate() error {
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	if err := checkRanges(r.Ranges); err != nil {
		return err
	}
	if err := required("遗失报告编号", r.ReportRef); err != nil {
		return err
	}
	return checkText("遗失情况说明", r.Reason, MaxNoteLen)
}

// Lose records blank forms in stock as lost. It returns an *Error: EInvalid, ENotFound for an
// unknown type, EForbidden, or EConflict naming the serials not in the organisation's stock.
func (s *Service) Lose(ctx context.Context, actor certseal.Actor, r Loss) (Movement, error) {
	var m Movement
	if err := r.Validate(); err != nil {
		return m, err
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = ownMoveTx(tx, s.Clock.Now(), actor, false, r.TypeCode, r.Ranges, KindLoss, InStock, Lost,
			"以下印制编号不在本机构库存中，不能登记遗失", Movement{ReportRef: r.ReportRef, Reason: r.Reason})
		return err
	})
	return m, err
}

// Destruction is a destruction batch (销毁, POST /destructions): voided forms of the actor's
// organisation destroyed in front of witnesses.
type Destruction struct {
	TypeCode  string        `json:"type_code"`
	Ranges    []SerialRange `json:"ranges"`
	Witnesses []string      `json:"witnesses"`
	Document  string        `json:"document,omitempty"`
	Note      string        `json:"note,omitempty"`
}

// Validate checks what can be checked without the store. It returns an *Error with code
// EInvalid.
func (r *Destruction) Validate() error {
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定证照类型")
	}
	if err := checkRanges(r.Ranges); err != nil {
		return err
	}
	if len(r.Witnesses) == 0 {
		return certseal.Errorf(certseal.EInvalid, "销毁须有监销人")
	}
	if len(r.Witnesses) > MaxWitnesses {
		return certseal.Errorf(certseal.EInvalid, "监销人不能超过%d人", MaxWitnesses)
	}
	seen := map[string]bool{}
	for _, w := range r.Witnesses {
		w = strings.TrimSpace(w)
		if w == "" {
			return certseal.Errorf(certseal.EInvalid, "监销人姓名不能为空")
		}
		if seen[w] {
			return certseal.Errorf(certseal.EInvalid, "监销人 %s 重复", w)
		}
		seen[w] = true
		if err := checkText("监销人姓名", w, 50); err != nil {
			return err
		}
	}
	if err := checkText("凭证号", r.Document, MaxTextLen); err != nil {
		return err
	}
	return checkText("备注", r.Note, MaxNoteLen)
}

// Destroy records a destruction batch: voided forms of the actor's organisation become
// destroyed; the returned movement is the batch record (its id is the batch number). It returns
// an *Error: EInvalid, ENotFound for an unknown type, EForbidden, or EConflict naming the serials
// that are not voided forms of the organisation.
func (s *Service) Destroy(ctx context.Context, actor certseal.Actor, r Destruction) (Movement, error) {
	var m Movement
	if err := r.Validate(); err != nil {
		return m, err
	}
	ws := make([]string, len(r.Witnesses))
	for i, w := range r.Witnesses {
		ws[i] = strings.TrimSpace(w)
	}
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = ownMoveTx(tx, s.Clock.Now(), actor, false, r.TypeCode, r.Ranges, KindDestruction, Voided, Destroyed,
			"以下印制编号不是本机构已作废待销毁的空白证照", Movement{Witnesses: ws, Document: r.Document, Note: r.Note})
		return err
	})
	return m, err
}

func ownMoveTx(tx *store.Tx, now time.Time, actor certseal.Actor, clerkOK bool, typeCode string, rs []SerialRange,
	kind Kind, from, to State, msg string, m Movement) (Movement, error) {
	if err := canMove(actor, clerkOK); err != nil {
		return m, err
	}
	org, err := actorOrg(tx, actor)
	if err != nil {
		return m, err
	}
	t, err := paperType(tx, typeCode)
	if err != nil {
		return m, err
	}
	spans, err := parseSpans(&t, rs)
	if err != nil {
		return m, err
	}
	if err := moveOwn(tx, &t, spans, org.ID, from, to, msg); err != nil {
		return m, err
	}
	m.Kind, m.FromOrgID, m.FromOrgName, m.ToOrgID, m.ToOrgName, m.FromState, m.ToState = kind, org.ID, org.Name, org.ID, org.Name, from, to
	return m, record(tx, now, actor, &t, spans, &m)
}

// --- use, inside the certificate issuer's transaction ---

func useKey(typeCode string, n uint64) []byte {
	return append(store.Prefix(typeCode), store.U64(n)...)
}

// UseTx consumes one blank form for a certificate inside the caller's transaction: the serial
// must be held in stock by actor.OrgID. It checks everything before writing, so on error nothing
// was written. It returns an *Error: EInvalid for a bad serial or a type without paper form,
// ENotFound for an unknown type, EForbidden for an auditor, and EConflict naming the serial and
// its state when it is not in the organisation's stock (used, voided, lost, held elsewhere or
// never received).
func UseTx(tx *store.Tx, now time.Time, actor certseal.Actor, typeCode, serial string, certificateID string) error {
	_, err := useTx(tx, now, actor, typeCode, serial, certificateID)
	return err
}

func useTx(tx *store.Tx, now time.Time, actor certseal.Actor, typeCode, serial, certificateID string) (Movement, error) {
	var m Movement
	if err := canMove(actor, true); err != nil {
		return m, err
	}
	if err := required("证照编号", certificateID); err != nil {
		return m, err
	}
	t, err := paperType(tx, typeCode)
	if err != nil {
		return m, err
	}
	sp, err := parseSpan(&t, serial, serial)
	if err != nil {
		return m, err
	}
	if err := moveOwn(tx, &t, []span{sp}, actor.OrgID, InStock, Used, "印制编号 "+serial+" 不能使用"); err != nil {
		return m, err
	}
	if err := tx.Put(bucketUses, useKey(t.Code, sp.first), []byte(certificateID)); err != nil {
		return m, err
	}
	m = Movement{Kind: KindUse, FromOrgID: actor.OrgID, ToOrgID: actor.OrgID, FromState: InStock, ToState: Used, CertificateID: certificateID}
	return m, record(tx, now, actor, &t, []span{sp}, &m)
}

// Use is UseTx in its own transaction, for callers outside package certs. It returns the
// movement, or the errors of UseTx.
func (s *Service) Use(ctx context.Context, actor certseal.Actor, typeCode, serial, certificateID string) (Movement, error) {
	var m Movement
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		m, err = useTx(tx, s.Clock.Now(), actor, typeCode, serial, certificateID)
		return err
	})
	return m, err
}

// LoseTx records, inside the caller's transaction, that the paper copy printed on a used serial
// was lost (the first half of 补证): the serial goes from used to lost. The serial must have been
// used by actor.OrgID, for certificateID when the ledger knows the certificate. It checks
// everything before writing. It returns an *Error: EInvalid, ENotFound, EForbidden, or EConflict
// when the serial is not a used form of the organisation or was used for another certificate.
func LoseTx(tx *store.Tx, now time.Time, actor certseal.Actor, typeCode, serial, certificateID, reportRef string) error {
	if err := canMove(actor, true); err != nil {
		return err
	}
	if err := required("证照编号", certificateID); err != nil {
		return err
	}
	if err := checkText("遗失报告编号", reportRef, MaxTextLen); err != nil {
		return err
	}
	t, err := paperType(tx, typeCode)
	if err != nil {
		return err
	}
	sp, err := parseSpan(&t, serial, serial)
	if err != nil {
		return err
	}
	if got := tx.Get(bucketUses, useKey(t.Code, sp.first)); got != nil && string(got) != certificateID {
		return certseal.Errorf(certseal.EConflict, "印制编号 %s 用于其他证照，不是证照 %s 的纸质件", serial, certificateID)
	}
	if err := moveOwn(tx, &t, []span{sp}, actor.OrgID, Used, Lost, "印制编号 "+serial+" 不是本机构已使用的证照纸"); err != nil {
		return err
	}
	m := Movement{Kind: KindCopyLost, FromOrgID: actor.OrgID, ToOrgID: actor.OrgID, FromState: Used, ToState: Lost,
		CertificateID: certificateID, ReportRef: reportRef}
	return record(tx, now, actor, &t, []span{sp}, &m)
}

// ReplaceTx is 补证 on paper inside the caller's transaction: the old serial's copy is recorded
// lost (LoseTx) and the new serial is used for the same certificate (UseTx). Both are checked
// before anything is written. It returns the errors of LoseTx and UseTx.
func ReplaceTx(tx *store.Tx, now time.Time, actor certseal.Actor, typeCode, oldSerial, newSerial, certificateID, reportRef string) error {
	t, err := paperType(tx, typeCode)
	if err != nil {
		return err
	}
	sp, err := parseSpan(&t, newSerial, newSerial)
	if err != nil {
		return err
	}
	_, cs, err := planMove(tx, &t, []span{sp}, func(r rng) bool { return r.holder == actor.OrgID && r.state == InStock }, actor.OrgID)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		return conflictError("印制编号 "+newSerial+" 不能使用", cs)
	}
	if err := LoseTx(tx, now, actor, typeCode, oldSerial, certificateID, reportRef); err != nil {
		return err
	}
	return UseTx(tx, now, actor, typeCode, newSerial, certificateID)
}

// StateTx returns who holds a serial and in what state, inside the caller's transaction. It
// returns an *Error: EInvalid for a bad serial, ENotFound for an unknown type or a serial never
// received.
func StateTx(tx *store.Tx, typeCode, serial string) (holderID string, st State, err error) {
	t, err := paperType(tx, typeCode)
	if err != nil {
		return "", "", err
	}
	sp, err := parseSpan(&t, serial, serial)
	if err != nil {
		return "", "", err
	}
	r, ok, err := rangeAt(tx, t.Code, sp.first)
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", certseal.Errorf(certseal.ENotFound, "印制编号 %s 尚未入库", serial)
	}
	return r.holder, r.state, nil
}
