package certs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/seals"
	"certseal/templates"
)

// IssueRequest is what a window clerk submits to issue a certificate.
type IssueRequest struct {
	TypeCode  string            `json:"type_code"`
	ItemCode  string            `json:"item_code"`
	Holder    Holder            `json:"holder"`
	Values    map[string]string `json:"values"`
	ValidFrom string            `json:"valid_from,omitempty"` // 2006-01-02; default: today
	ValidTo   string            `json:"valid_to,omitempty"`
	SealID    string            `json:"seal_id"`
	Serial    string            `json:"blank_serial,omitempty"`
	Extension map[string]string `json:"extension,omitempty"`
}

// Limits on an issue request, also in the OpenAPI document.
const (
	MaxValues    = 60
	MaxValueLen  = 2000
	MaxFieldName = 50
	MaxExtension = 30
)

// Validate checks what can be checked without the store. It returns an *certseal.Error
// (EInvalid) with a Chinese message naming the field.
func (r *IssueRequest) Validate() error {
	if r.TypeCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请选择证照类型（type_code）")
	}
	if r.ItemCode == "" {
		return certseal.Errorf(certseal.EInvalid, "请选择关联事项（item_code）")
	}
	if r.SealID == "" {
		return certseal.Errorf(certseal.EInvalid, "请选择签章使用的印章（seal_id）")
	}
	if err := r.Holder.Validate(); err != nil {
		return err
	}
	if len(r.Values) > MaxValues || len(r.Extension) > MaxExtension {
		return certseal.Errorf(certseal.EInvalid, "字段过多")
	}
	for _, m := range []map[string]string{r.Values, r.Extension} {
		for k, v := range m {
			if k == "" || utf8.RuneCountInString(k) > MaxFieldName {
				return certseal.Errorf(certseal.EInvalid, "字段名 %q 无效", k)
			}
			if utf8.RuneCountInString(v) > MaxValueLen || !utf8.ValidString(v) {
				return certseal.Errorf(certseal.EInvalid, "字段“%s”的值过长或不是有效的 UTF-8 文本", k)
			}
		}
	}
	for name, d := range map[string]string{"valid_from": r.ValidFrom, "valid_to": r.ValidTo} {
		if d == "" {
			continue
		}
		if _, err := parseDate(d); err != nil {
			return certseal.Errorf(certseal.EInvalid, "%s 应为日期，如 2026-03-02", name)
		}
	}
	if len(r.Serial) > 40 {
		return certseal.Errorf(certseal.EInvalid, "印制编号过长")
	}
	return nil
}

// hash returns a digest of the request, to tell a retry from a different request under the same
// idempotency key.
func (r *IssueRequest) hash() string {
	raw, _ := json.Marshal(r) // maps marshal with sorted keys
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

type idemRecord struct {
	CertID      string `json:"cert_id"`
	RequestHash string `json:"request_hash"`
}

// Fields the service fills in itself; a client value that differs is refused.
var issuerFields = []string{"发证机关"}
var issueDateFields = []string{"发证日期", "日期"}
var validToFields = []string{"有效期至"}
var validityTextFields = []string{"有效期限", "有效期"}
var holderNameFields = []string{"经营者名称", "持证主体", "业户名称"}
var holderCodeFields = []string{"统一社会信用代码", "社会信用代码（身份证号码）"}

// plan is an issuance checked and ready to render.
type plan struct {
	typ     catalogue.LicenceType
	item    catalogue.Item
	org     certseal.Org
	tpl     *templates.Template
	signing *Signing
	// ofdSigning is the SM2 seal that seals the OFD file, nil when the type has none.
	ofdSigning *Signing
	values     map[string]string
	from, to   string
	now        time.Time
}

// Issue issues a certificate. With a non-empty idempotency key, a retry of the same request
// returns the first result (replayed true) and never a second certificate; the same key with a
// different request is a conflict. It returns an *certseal.Error: EInvalid for bad input,
// ENotFound for an unknown type, item or seal, EForbidden when the actor may not issue it or use
// the seal, EConflict when the blank serial is not the organisation's unused stock or the seal is
// not active. The certificate is presented as Get presents it: its status as of now (one whose
// valid_from is in the future answers 00 未生效).
func (s *Service) Issue(ctx context.Context, actor certseal.Actor, req IssueRequest, idemKey string) (Certificate, bool, error) {
	c, replayed, err := s.issue(ctx, actor, req, idemKey)
	if err != nil {
		return Certificate{}, false, err
	}
	s.present(&c)
	return c, replayed, nil
}

func (s *Service) issue(ctx context.Context, actor certseal.Actor, req IssueRequest, idemKey string) (Certificate, bool, error) {
	if err := req.Validate(); err != nil {
		return Certificate{}, false, err
	}
	if len(idemKey) > 200 {
		return Certificate{}, false, certseal.Errorf(certseal.EInvalid, "Idempotency-Key 不能超过200个字符")
	}
	if actor.Role != certseal.RoleClerk && actor.Role != certseal.RoleBureauOfficer {
		return Certificate{}, false, certseal.Errorf(certseal.EForbidden, "只有审批局的窗口工作人员或经办人可以签发证照")
	}
	// The idempotency key first: a retry of a request still running hears "retry", not "taken".
	var claims []claimReq
	if idemKey != "" {
		claims = append(claims, claimReq{"idem\x00" + actor.UserID + "\x00" + idemKey,
			certseal.Errorf(certseal.EConflict, "同一 Idempotency-Key 的请求正在处理，请稍后重试以取得结果").WithDetail("retry", true)})
	}
	if req.Serial != "" {
		claims = append(claims, claimReq{fmt.Sprintf("serial\x00%s\x00%s", req.TypeCode, req.Serial),
			certseal.Errorf(certseal.EConflict, "空白证照 %s 正在被另一笔签发使用", req.Serial).WithDetail("blank_serial", req.Serial)})
	}
	release, err := s.claimInOrder(claims...)
	if err != nil {
		return Certificate{}, false, err
	}
	defer release()
	var reqHash string
	if idemKey != "" {
		reqHash = req.hash() // only a retry under the same key needs it
		if c, ok, err := s.replay(actor, idemKey, reqHash); ok || err != nil {
			return c, ok, err
		}
	}
	p, err := s.check(ctx, actor, &req)
	if err != nil {
		return Certificate{}, false, err
	}
	// Reserve the licence number, the identifier serial and the record id, in memory: the one
	// commit below stores them with the certificate.
	number, idSerial, r, err := s.takeNumbers(p.now, p.org.ID, areaOf(p.org), p.typ.Code, p.typ.NumberPattern, p.values)
	if err != nil {
		return Certificate{}, false, err
	}
	c := s.newRecord(actor, p, &req, strconv.FormatUint(r.id, 10), number, Identifier{TypeCode: p.typ.Code, IssuerCode: p.org.USCC, Serial: idSerial, Version: 1})
	pdf, err := s.produce(&c, p)
	if err != nil {
		s.voidReservation(actor, c, err)
		return Certificate{}, false, err
	}
	err = s.DB.Batch(func(tx *store.Tx) error {
		if idemKey != "" && tx.Has(bucketIdem, store.Key(actor.UserID, idemKey)) {
			return certseal.Errorf(certseal.EConflict, "同一 Idempotency-Key 已签发过证照")
		}
		if err := commitReserved(tx, r); err != nil {
			return err
		}
		if req.Serial != "" {
			if err := inventory.UseTx(tx, p.now, actor, p.typ.Code, req.Serial, c.ID); err != nil {
				return err
			}
		}
		if err := s.storeNewTx(tx, actor, &c, pdf, Operation{Op: "issue", Code: "01", Label: "新发", To: StatusValid, Serial: req.Serial}); err != nil {
			return err
		}
		if idemKey != "" {
			return tx.PutJSON(bucketIdem, store.Key(actor.UserID, idemKey), idemRecord{CertID: c.ID, RequestHash: reqHash})
		}
		return nil
	})
	if err != nil {
		s.voidReservation(actor, c, err)
		return Certificate{}, false, err
	}
	return c, false, nil
}

func (s *Service) replay(actor certseal.Actor, key, reqHash string) (Certificate, bool, error) {
	var c Certificate
	var found bool
	err := s.DB.View(func(tx *store.Tx) error {
		var rec idemRecord
		ok, err := tx.GetJSON(bucketIdem, store.Key(actor.UserID, key), &rec)
		if err != nil || !ok {
			return err
		}
		if rec.RequestHash != reqHash {
			return certseal.Errorf(certseal.EConflict, "Idempotency-Key %q 已用于另一笔不同的签发请求", key)
		}
		found = true
		c, err = GetTx(tx, rec.CertID)
		return err
	})
	return c, found, err
}

func areaOf(o certseal.Org) string {
	if o.AreaCode != "" {
		return o.AreaCode
	}
	return o.USCC[2:8]
}

// check validates the request against the store, the seal and the template, outside any write
// transaction.
func (s *Service) check(ctx context.Context, actor certseal.Actor, req *IssueRequest) (*plan, error) {
	p, err := s.prepare(ctx, actor, req)
	if err != nil {
		return nil, err
	}
	signers, err := memoOf(ctx).do("signers\x00"+req.SealID+"\x00"+p.typ.Code, func() (any, error) {
		q := *p
		var err error
		if q.signing, err = s.Seals.SignerFor(ctx, actor, req.SealID, q.typ.Code, q.now); err != nil {
			return nil, err
		}
		if err := s.ofdSigner(ctx, actor, &q); err != nil {
			return nil, err
		}
		return [2]*Signing{q.signing, q.ofdSigning}, nil
	})
	if err != nil {
		return nil, err
	}
	g := signers.([2]*Signing)
	p.signing, p.ofdSigning = g[0], g[1]
	return p, nil
}

// checkMemo remembers, for the rows of one batch check (checkAll), what does not change from
// row to row: the template and the seal's signers. On etcd each is several network round trips.
// A nil *checkMemo remembers nothing.
type checkMemo struct {
	mu sync.Mutex
	m  map[string]*memoEntry
}

type memoEntry struct {
	once sync.Once
	v    any
	err  error
}

type memoKey struct{}

func withCheckMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, memoKey{}, &checkMemo{m: map[string]*memoEntry{}})
}

func memoOf(ctx context.Context) *checkMemo {
	m, _ := ctx.Value(memoKey{}).(*checkMemo)
	return m
}

// do returns f's result for key, calling f once per key.
func (m *checkMemo) do(key string, f func() (any, error)) (any, error) {
	if m == nil {
		return f()
	}
	m.mu.Lock()
	e := m.m[key]
	if e == nil {
		e = &memoEntry{}
		m.m[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v, e.err = f() })
	return e.v, e.err
}

// prepare is check without the seal: the store, the template, the validity and the values to
// print (fill), as Issue and Preview both need them.
func (s *Service) prepare(ctx context.Context, actor certseal.Actor, req *IssueRequest) (*plan, error) {
	p := &plan{now: s.Clock.Now()}
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		if p.org, err = orgs.Get(tx, actor.OrgID); err != nil {
			return err
		}
		if p.org.Kind != certseal.KindCountyBureau && p.org.Kind != certseal.KindCountyDept {
			return certseal.Errorf(certseal.EForbidden, "只有县区行政审批局或原审批部门可以签发证照")
		}
		if p.typ, err = catalogue.GetType(tx, req.TypeCode); err != nil {
			return err
		}
		if p.item, err = catalogue.ResolveCode(tx, req.ItemCode); err != nil {
			return err
		}
		if !catalogue.IsBound(tx, req.TypeCode, req.ItemCode) && !catalogue.IsBound(tx, req.TypeCode, p.item.Code) {
			return certseal.Errorf(certseal.EInvalid, "证照类型“%s”没有绑定事项 %s，请先在证照目录中认领绑定", p.typ.Name, req.ItemCode)
		}
		if p.typ.HasPaperForm() {
			if req.Serial == "" {
				return certseal.Errorf(certseal.EInvalid, "“%s”需要打印在空白证照上，请填写空白证照的印制编号（blank_serial）", p.typ.Name)
			}
			holder, st, err := inventory.StateTx(tx, p.typ.Code, req.Serial)
			if err != nil {
				return err
			}
			if holder != actor.OrgID || st != inventory.InStock {
				return certseal.Errorf(certseal.EConflict, "空白证照 %s 不在本机构的可用库存中（当前状态：%s）", req.Serial, stateLabel(holder == actor.OrgID, st)).WithDetail("blank_serial", req.Serial)
			}
		} else if req.Serial != "" {
			return certseal.Errorf(certseal.EInvalid, "“%s”是电子证照，没有空白证照印制编号", p.typ.Name)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p.typ.TemplateID == "" {
		return nil, certseal.Errorf(certseal.EInvalid, "证照类型“%s”还没有指定模板", p.typ.Name)
	}
	tpl, err := memoOf(ctx).do("template\x00"+p.typ.TemplateID, func() (any, error) {
		return s.Templates.Template(ctx, p.typ.TemplateID, 0)
	})
	if err != nil {
		return nil, err
	}
	p.tpl = tpl.(*templates.Template)
	if err := s.dates(p, req); err != nil {
		return nil, err
	}
	if p.values, err = s.fill(p, req.Values, &req.Holder); err != nil {
		return nil, err
	}
	if err := p.tpl.CheckValues(p.values); err != nil {
		return nil, err
	}
	return p, nil
}

// dates settles the validity period against the licence type's range.
func (s *Service) dates(p *plan, req *IssueRequest) error {
	today := p.now.In(certseal.China).Format(DateLayout)
	p.from = req.ValidFrom
	if p.from == "" {
		p.from = today
	}
	p.to = req.ValidTo
	from, _ := parseDate(p.from)
	if p.typ.MaxValidityMonths > 0 && p.to == "" {
		return certseal.Errorf(certseal.EInvalid, "“%s”有期限，请填写有效期截止日期（valid_to）", p.typ.Name)
	}
	if p.to == "" {
		return nil
	}
	to, _ := parseDate(p.to)
	if !to.After(from) {
		return certseal.Errorf(certseal.EInvalid, "有效期截止日期应晚于起始日期")
	}
	if to.Format(DateLayout) < today {
		return certseal.Errorf(certseal.EInvalid, "有效期截止日期不能早于今天")
	}
	if p.typ.MinValidityMonths > 0 && to.Before(from.AddDate(0, p.typ.MinValidityMonths, -1)) {
		return certseal.Errorf(certseal.EInvalid, "“%s”的有效期不能短于%d个月", p.typ.Name, p.typ.MinValidityMonths)
	}
	if p.typ.MaxValidityMonths > 0 && to.After(from.AddDate(0, p.typ.MaxValidityMonths, 0)) {
		return certseal.Errorf(certseal.EInvalid, "“%s”的有效期不能超过%d个月", p.typ.Name, p.typ.MaxValidityMonths)
	}
	return nil
}

// fill returns the values to print: the clerk's values plus the fields the service fills in
// itself (issuer, dates, holder). A clerk's value that contradicts the service is refused. It is
// the only place those fields are filled: Issue, Check (and so every batch row) and Preview all
// reach it through prepare.
func (s *Service) fill(p *plan, in map[string]string, h *Holder) (map[string]string, error) {
	out := make(map[string]string, len(in)+6)
	for k, v := range in {
		out[k] = strings.TrimSpace(v)
	}
	issueDate := ChineseDate(p.now.In(certseal.China))
	set := func(names []string, v string, strict bool) error {
		for _, n := range names {
			if _, ok := p.tpl.Field(n); !ok {
				continue
			}
			if old, ok := out[n]; ok && old != "" && old != v {
				if strict {
					return certseal.Errorf(certseal.EInvalid, "字段“%s”由系统填写为“%s”，不能填写为“%s”", n, v, old).WithDetail("field", n)
				}
				continue
			}
			out[n] = v
		}
		return nil
	}
	if err := set(issuerFields, p.org.Name, true); err != nil {
		return nil, err
	}
	if err := set(issueDateFields, issueDate, true); err != nil {
		return nil, err
	}
	if p.to != "" {
		to, _ := parseDate(p.to)
		if err := set(validToFields, ChineseDate(to), true); err != nil {
			return nil, err
		}
		from, _ := parseDate(p.from)
		set(validityTextFields, ChineseDate(from)+"至"+ChineseDate(to), false)
	}
	set(holderNameFields, h.Name, false)
	set(holderCodeFields, h.Code, false)
	if n := p.tpl.Number; n != nil && n.Field != "" {
		if v := out[n.Field]; v != "" {
			return nil, certseal.Errorf(certseal.EInvalid, "字段“%s”（证照编号）由系统生成，不能填写", n.Field).WithDetail("field", n.Field)
		}
		delete(out, n.Field)
	}
	return out, nil
}

func (s *Service) newRecord(actor certseal.Actor, p *plan, req *IssueRequest, id, number string, ident Identifier) Certificate {
	now := p.now.UTC()
	c := Certificate{
		ID: id, Identifier: ident.String(), Version: ident.Version, LicenceNumber: number,
		Name: p.typ.Name, TypeCode: p.typ.Code, ItemCode: req.ItemCode, ItemName: p.item.Name,
		IssuerOrgID: p.org.ID, IssuerName: p.org.Name, IssuerCode: p.org.USCC,
		DefinerName: p.typ.DefinerName, DefinerCode: p.typ.DefinerUSCC(), AreaCode: areaOf(p.org),
		Holder: req.Holder, IssueDate: p.now.In(certseal.China).Format(DateLayout), ValidFrom: p.from, ValidTo: p.to,
		Values: p.values, Extension: req.Extension, TemplateID: p.tpl.ID, TemplateVersion: p.tpl.Version,
		SealID: p.signing.Seal.ID, SealName: p.signing.Seal.Name, Serial: req.Serial,
		Status: StatusValid, IssuedBy: actor.Username, CreatedAt: now, UpdatedAt: now,
	}
	c.StatusIndex, _ = strconv.ParseUint(id, 10, 64) // the record id is the status-list index
	c.VerifyURL = s.verifyURL(c.Identifier)
	return c
}

// produce renders, stamps and signs the certificate's PDF (and, when the type has one, seals its
// OFD from the same layout), outside any transaction, sets the record's hashes and writes the
// files to the document store. For an OFD-only type it seals the OFD alone and returns no PDF.
func (s *Service) produce(c *Certificate, p *plan) ([]byte, error) {
	qrText, err := QRText(p.signing.Signer, s.publicBase(), c.ID)
	if err != nil {
		return nil, err
	}
	c.QRText = qrText
	lp, err := s.Renderer.Layout(p.tpl, p.document(c.LicenceNumber, qrText))
	if err != nil {
		return nil, err
	}
	if !p.typ.Format.PDF() {
		// OFD only: the OFD is the certificate's one document.
		return nil, s.produceOFD(c, p, lp)
	}
	var ofdErr chan error
	if p.ofdSigning != nil {
		// The OFD is written, sealed and stored (its own fsync) while the PDF is: it sets only
		// the record's OFD fields.
		ofdErr = make(chan error, 1)
		go func() { ofdErr <- s.produceOFD(c, p, lp) }()
	}
	signed, err := s.producePDF(c, p, lp)
	if ofdErr != nil {
		if oerr := <-ofdErr; err == nil {
			err = oerr
		}
	}
	if err != nil {
		return nil, err
	}
	return signed, nil
}

// producePDF writes the plan as a PDF, signs it with the seal (PAdES), sets the record's PDF
// digest and stores it in the document store, durably, before the commit that records it.
func (s *Service) producePDF(c *Certificate, p *plan, lp *templates.Plan) ([]byte, error) {
	raw, err := templates.PDFWriter{}.Write(lp)
	if err != nil {
		return nil, err
	}
	sp := p.tpl.Seal()
	x, y, d := sp.PDFPoints()
	signed, err := seals.SignPDF(raw, seals.SignOptions{
		Signer: p.signing.Signer, Cert: p.signing.Cert, Chain: p.signing.Chain, Page: sp.Page,
		Rect:    [4]float64{x - d/2, y - d/2, x + d/2, y + d/2},
		Picture: p.signing.Picture, Reason: "签发" + c.Name, Location: c.IssuerName, Name: c.SealName, Time: p.now,
		LongTerm: p.signing.LongTerm, // PAdES level and TSA: a TSA failure fails the issue (EUnavailable)
	})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(signed)
	c.PDFSHA256 = hex.EncodeToString(sum[:])
	c.PDFSize = len(signed)
	if err := s.putDocument(signed); err != nil { // durable before the commit that records it
		return nil, err
	}
	return signed, nil
}

// storeNewTx writes a new certificate (its PDF and OFD are already in the document store), its
// history, the seal use of each file, audit and outbox events.
func (s *Service) storeNewTx(tx *store.Tx, actor certseal.Actor, c *Certificate, pdf []byte, op Operation) error {
	if tx.Has(bucketByNumber, []byte(c.LicenceNumber)) && c.Version == 1 {
		return certseal.Errorf(certseal.EConflict, "证照编号 %s 已存在", c.LicenceNumber)
	}
	if err := putTx(tx, c, true); err != nil {
		return err
	}
	op.By, op.OrgID, op.At = actor.Username, actor.OrgID, c.CreatedAt.Format(time.RFC3339)
	if err := appendOpTx(tx, c.ID, op); err != nil {
		return err
	}
	if c.HasPDF() {
		if err := s.Seals.RecordUseTx(tx, c.CreatedAt, actor, c.SealID, c.PDFSHA256, op.Label+c.Name, "certificate/"+c.ID); err != nil {
			return err
		}
	}
	if c.OFDSealID != "" {
		if err := s.Seals.RecordUseTx(tx, c.CreatedAt, actor, c.OFDSealID, c.OFDSHA256, op.Label+c.Name+"（OFD）", "certificate/"+c.ID); err != nil {
			return err
		}
	}
	detail := map[string]any{"identifier": c.Identifier, "licence_number": c.LicenceNumber, "type_code": c.TypeCode, "holder": c.Holder, "blank_serial": c.Serial}
	if c.HasPDF() {
		detail["pdf_sha256"] = c.PDFSHA256
	}
	if c.OFDSHA256 != "" {
		detail["ofd_sha256"] = c.OFDSHA256
	}
	if err := audit.Append(tx, c.CreatedAt, actor, "certificate."+op.Op, "certificate/"+c.ID, detail); err != nil {
		return err
	}
	return s.outboxTx(tx, c, op)
}

// voidReservation records that a reserved licence number was not used, so the gap in the
// sequence is explained in the audit log.
func (s *Service) voidReservation(actor certseal.Actor, c Certificate, cause error) {
	err := s.DB.Update(func(tx *store.Tx) error {
		return audit.Append(tx, s.Clock.Now(), actor, "certificate.number_unused", "certificate/"+c.ID,
			map[string]string{"licence_number": c.LicenceNumber, "identifier": c.Identifier, "reason": certseal.ErrorMessage(cause)})
	})
	if err != nil {
		s.log().Error("record unused licence number", "number", c.LicenceNumber, "err", err)
	}
}

func (s *Service) verifyURL(identifier string) string {
	return s.publicBase() + "/verify/" + identifier
}

// publicBase returns the public base URL without a trailing slash.
func (s *Service) publicBase() string {
	base := strings.TrimRight(s.BaseURL, "/")
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	return base
}

// SystemFields returns the names of the template fields the service fills in itself when it
// issues (the issuer, the dates, the validity); a form shows them read-only.
func SystemFields() []string {
	var out []string
	for _, l := range [][]string{issuerFields, issueDateFields, validToFields, validityTextFields} {
		out = append(out, l...)
	}
	return out
}

// HolderFields returns the names of the template fields filled from the holder's name and code
// when the clerk leaves them empty.
func HolderFields() (names, codes []string) {
	return append([]string{}, holderNameFields...), append([]string{}, holderCodeFields...)
}

// stateLabel names a blank form's state for a clerk: its Chinese label when the form is the
// organisation's own, "其他机构持有" when another organisation holds it (whose stock is not the
// clerk's business).
func stateLabel(own bool, st inventory.State) string {
	if !own {
		return "其他机构持有"
	}
	return st.Label()
}
