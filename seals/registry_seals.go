package seals

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// SealType is the kind of a seal.
type SealType string

// The seal types.
const (
	TypeDedicatedApproval SealType = "dedicated_approval" // 行政审批专用章
	TypeOfficial          SealType = "official"           // 公章
)

// Valid reports whether t is a known seal type.
func (t SealType) Valid() bool { return t == TypeDedicatedApproval || t == TypeOfficial }

// Label returns the seal type's Chinese name, or the raw value for an unknown type.
func (t SealType) Label() string {
	switch t {
	case TypeDedicatedApproval:
		return "行政审批专用章"
	case TypeOfficial:
		return "公章"
	}
	return string(t)
}

// Status is a seal's recorded status. Expiry is not a recorded status: a seal is expired when
// the time is outside its validity (see Seal.EffectiveStatus).
type Status string

// The statuses. Revoked is final.
const (
	StatusActive    Status = "active"    // 启用
	StatusSuspended Status = "suspended" // 暂停
	StatusRevoked   Status = "revoked"   // 吊销（终止）
	// The effective statuses that are not recorded.
	StatusExpired     Status = "expired"       // 已过有效期
	StatusNotYetValid Status = "not_yet_valid" // 尚未生效
	StatusUnknown     Status = "unknown"       // 当时尚未登记，或不是本系统登记的印章
)

// Label returns the status's Chinese name.
func (s Status) Label() string {
	switch s {
	case StatusActive:
		return "启用"
	case StatusSuspended:
		return "暂停使用"
	case StatusRevoked:
		return "已吊销"
	case StatusExpired:
		return "已过有效期"
	case StatusNotYetValid:
		return "尚未生效"
	case StatusUnknown:
		return "未知"
	}
	return string(s)
}

// AuthDoc is the document by which the city authorised the seal (授权赋权文件).
type AuthDoc struct {
	Number string `json:"number"` // 文号, e.g. 广府函〔2021〕12号
	Date   string `json:"date"`   // YYYY-MM-DD
}

// StatusChange is one entry of a seal's status history.
type StatusChange struct {
	Status Status    `json:"status"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by"` // username
}

// Seal is a registered seal. Its private key is kept apart (sealed by the Keyring) and is never
// part of this record.
type Seal struct {
	ID           string    `json:"id"` // esID: "ES", the area code, a 6-digit sequence
	Name         string    `json:"name"`
	OrgID        string    `json:"org_id"`
	OrgName      string    `json:"org_name"` // the organisation's name when the seal was made: the upper arc
	Type         SealType  `json:"type"`
	Code         string    `json:"code"` // 13 digits, opaque
	DiameterMM   float64   `json:"diameter_mm"`
	Auth         AuthDoc   `json:"authorisation"`
	LicenceTypes []string  `json:"licence_types"`
	ValidFrom    time.Time `json:"valid_from"`
	ValidTo      time.Time `json:"valid_to"`
	Status       Status    `json:"status"`
	StatusReason string    `json:"status_reason,omitempty"`
	StatusSince  time.Time `json:"status_since"`
	// History lists every status change, the first being the creation (active).
	History     []StatusChange `json:"history"`
	Algorithm   string         `json:"algorithm"`   // the signature algorithm: ecdsa-p256 or sm2 (SigningAlgorithm)
	CertSerial  string         `json:"cert_serial"` // hexadecimal
	Certificate []byte         `json:"certificate"` // DER
	HasScan     bool           `json:"has_scan"`
	// Earlier lists the certificates the seal had before its renewals, oldest first: documents
	// sealed with them still verify, and revoking the seal revokes them too.
	Earlier   []EarlierCert `json:"earlier,omitempty"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// EarlierCert is a certificate a seal had before a renewal (Renew) replaced it.
type EarlierCert struct {
	Serial      string    `json:"serial"`      // hexadecimal
	Certificate []byte    `json:"certificate"` // DER
	ValidFrom   time.Time `json:"valid_from"`
	ValidTo     time.Time `json:"valid_to"`
	ReplacedAt  time.Time `json:"replaced_at"`
}

// hasSerial reports whether serial (hexadecimal) is the serial of the seal's certificate or of
// one of its earlier certificates.
func (s *Seal) hasSerial(serial string) bool {
	if strings.EqualFold(s.CertSerial, serial) {
		return true
	}
	for _, e := range s.Earlier {
		if strings.EqualFold(e.Serial, serial) {
			return true
		}
	}
	return false
}

// hasCert reports whether der is the seal's certificate or one of its earlier certificates.
func (s *Seal) hasCert(der []byte) bool {
	if bytes.Equal(s.Certificate, der) {
		return true
	}
	for _, e := range s.Earlier {
		if bytes.Equal(e.Certificate, der) {
			return true
		}
	}
	return false
}

// serials returns the serials of every certificate the seal has had, the current one first.
func (s *Seal) serials() []string {
	out := []string{s.CertSerial}
	for _, e := range s.Earlier {
		out = append(out, e.Serial)
	}
	return out
}

// Inscription returns the text under the star: the seal's name without the organisation's name
// in front, or the type's name when nothing is left.
func (s *Seal) Inscription() string {
	rest := strings.TrimSpace(strings.TrimPrefix(s.Name, s.OrgName))
	if rest == "" || rest == s.Name {
		if s.Type == TypeDedicatedApproval {
			return TypeDedicatedApproval.Label()
		}
		return ""
	}
	return rest
}

// Appearance returns what the seal's drawing shows.
func (s *Seal) Appearance() Appearance {
	return Appearance{OrgName: s.OrgName, SealName: s.Inscription(), Code: s.Code, DiameterMM: s.DiameterMM}
}

// Authorises reports whether the seal may seal certificates of the licence type.
func (s *Seal) Authorises(typeCode string) bool { return slices.Contains(s.LicenceTypes, typeCode) }

// StatusAt returns the recorded status at t from the history: StatusUnknown before the seal was
// registered.
func (s *Seal) StatusAt(t time.Time) Status {
	st := StatusUnknown
	for i, h := range s.History {
		at := h.At
		if i == 0 {
			// Signing times are recorded to the second: a seal used in the second it was
			// registered was registered then.
			at = at.Truncate(time.Second)
		}
		if at.After(t) {
			break
		}
		st = h.Status
	}
	return st
}

// EffectiveStatus returns the status at t with expiry folded in: a seal that is active or
// suspended but outside its validity at t is StatusExpired (or StatusNotYetValid); revoked stays
// revoked.
func (s *Seal) EffectiveStatus(t time.Time) Status {
	st := s.StatusAt(t)
	if st == StatusActive || st == StatusSuspended {
		if t.Before(s.ValidFrom) {
			return StatusNotYetValid
		}
		if !t.Before(s.ValidTo) {
			return StatusExpired
		}
	}
	return st
}

// cert returns the parsed seal certificate.
func (s *Seal) cert() (*x509.Certificate, error) {
	c, err := parseSealCert(s.Algorithm, s.Certificate)
	if err != nil {
		return nil, fmt.Errorf("seals: seal %s: stored certificate: %w", s.ID, err)
	}
	return c, nil
}

// NewSeal is what the administrator gives to register a seal.
type NewSeal struct {
	Name         string    `json:"name"`
	OrgID        string    `json:"org_id"`
	Type         SealType  `json:"type"`
	Code         string    `json:"code"`
	DiameterMM   float64   `json:"diameter_mm"`         // 42 when zero
	Auth         AuthDoc   `json:"authorisation"`       // required
	LicenceTypes []string  `json:"licence_types"`       // at least one
	ValidFrom    time.Time `json:"valid_from"`          // now when zero
	ValidTo      time.Time `json:"valid_to"`            // required
	Algorithm    string    `json:"algorithm,omitempty"` // ecdsa-p256 when empty, or sm2 (AlgorithmByName)
}

// Limits on a seal's fields.
const (
	MaxSealNameLen   = 40
	MaxAuthNumberLen = 60
	MaxLicenceTypes  = 200
	MaxReasonLen     = 200
)

// validate normalises and checks n's own fields (not the organisation or the licence types, which
// need the store), with now the registration time.
func (n *NewSeal) validate(now time.Time) error {
	n.Name = strings.TrimSpace(n.Name)
	if n.Name == "" {
		return certseal.Errorf(certseal.EInvalid, "印章名称不能为空")
	}
	if utf8.RuneCountInString(n.Name) > MaxSealNameLen {
		return certseal.Errorf(certseal.EInvalid, "印章名称不能超过 %d 个字", MaxSealNameLen)
	}
	if strings.TrimSpace(n.OrgID) == "" {
		return certseal.Errorf(certseal.EInvalid, "请指定印章所属机构（org_id）")
	}
	if n.Type == "" {
		n.Type = TypeDedicatedApproval
	}
	alg, err := AlgorithmByName(n.Algorithm)
	if err != nil {
		return err
	}
	n.Algorithm = alg.Name()
	if !n.Type.Valid() {
		return certseal.Errorf(certseal.EInvalid, "未知的印章类型 %q（应为 dedicated_approval 或 official）", n.Type)
	}
	if !ValidSealCode(n.Code) {
		return certseal.Errorf(certseal.EInvalid, "印章编码应为 13 位数字").WithDetail("field", "code")
	}
	if n.DiameterMM == 0 {
		n.DiameterMM = DefaultDiameterMM
	}
	if n.DiameterMM < 20 || n.DiameterMM > 80 {
		return certseal.Errorf(certseal.EInvalid, "印章直径必须在 20 至 80 毫米之间")
	}
	n.Auth.Number = strings.TrimSpace(n.Auth.Number)
	if n.Auth.Number == "" {
		return certseal.Errorf(certseal.EInvalid, "请填写授权赋权文件的文号").WithDetail("field", "authorisation.number")
	}
	if utf8.RuneCountInString(n.Auth.Number) > MaxAuthNumberLen {
		return certseal.Errorf(certseal.EInvalid, "授权文件文号不能超过 %d 个字", MaxAuthNumberLen)
	}
	d, err := time.ParseInLocation("2006-01-02", n.Auth.Date, certseal.China)
	if err != nil {
		return certseal.Errorf(certseal.EInvalid, "授权文件日期应为 YYYY-MM-DD 格式").WithDetail("field", "authorisation.date")
	}
	if d.After(now) {
		return certseal.Errorf(certseal.EInvalid, "授权文件日期不能晚于今天")
	}
	if len(n.LicenceTypes) == 0 {
		return certseal.Errorf(certseal.EInvalid, "请至少指定一种该印章可以签章的证照类型").WithDetail("field", "licence_types")
	}
	if len(n.LicenceTypes) > MaxLicenceTypes {
		return certseal.Errorf(certseal.EInvalid, "证照类型不能超过 %d 种", MaxLicenceTypes)
	}
	var types []string
	for _, c := range n.LicenceTypes {
		c = strings.TrimSpace(c)
		if c != "" && !slices.Contains(types, c) {
			types = append(types, c)
		}
	}
	n.LicenceTypes = types
	if n.ValidFrom.IsZero() {
		n.ValidFrom = now
	}
	if n.ValidFrom.Before(now.Add(-24 * time.Hour)) {
		return certseal.Errorf(certseal.EInvalid, "印章有效期的起始时间不能早于当前时间")
	}
	if n.ValidTo.IsZero() {
		return certseal.Errorf(certseal.EInvalid, "请填写印章有效期的截止时间（valid_to）").WithDetail("field", "valid_to")
	}
	if !n.ValidTo.After(n.ValidFrom) {
		return certseal.Errorf(certseal.EInvalid, "印章有效期的截止时间必须晚于起始时间")
	}
	return nil
}

// ValidSealCode reports whether s is a 13-digit seal code (公章编码).
func ValidSealCode(s string) bool {
	if len(s) != 13 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// orgMayOwn checks that an organisation of kind k may own a seal of type t: a dedicated approval
// seal belongs to a county approval bureau; an official seal to the city center, a city
// department, a county bureau or a county department.
func orgMayOwn(o certseal.Org, t SealType) error {
	switch t {
	case TypeDedicatedApproval:
		if o.Kind != certseal.KindCountyBureau {
			return certseal.Errorf(certseal.EInvalid, "行政审批专用章只能属于县区行政审批局，%s 是%s", o.Name, o.Kind.Label())
		}
	case TypeOfficial:
		switch o.Kind {
		case certseal.KindCityCenter, certseal.KindCityDepartment, certseal.KindCountyBureau, certseal.KindCountyDept:
		default:
			return certseal.Errorf(certseal.EInvalid, "%s（%s）不能在本系统登记印章", o.Name, o.Kind.Label())
		}
	}
	return nil
}

// checkTx checks n against the store: the organisation exists and may own the seal, every
// licence type exists, and the code is new. It returns the organisation.
func checkTx(tx *store.Tx, n *NewSeal) (certseal.Org, error) {
	o, err := orgs.Get(tx, n.OrgID)
	if err != nil {
		return o, err
	}
	if err := orgMayOwn(o, n.Type); err != nil {
		return o, err
	}
	for _, c := range n.LicenceTypes {
		if _, err := catalogue.GetType(tx, c); err != nil {
			return o, err
		}
	}
	if id := tx.Get(BucketCodes, codeKey(n.Algorithm, n.Code)); id != nil {
		return o, certseal.Errorf(certseal.EConflict, "印章编码 %s 已被印章 %s 使用（%s）", n.Code, id, n.Algorithm).WithDetail("seal_id", string(id))
	}
	return o, nil
}

// codeKey is the key of BucketCodes: the code for an ECDSA seal (as it always was), "sm2:" and
// the code for an SM2 seal, so that one physical seal may have a seal of each algorithm.
func codeKey(alg, code string) []byte {
	if alg == AlgSM2 {
		return []byte("sm2:" + code)
	}
	return []byte(code)
}

func sealID(o certseal.Org, seq uint64) string {
	area := o.AreaCode
	if area == "" {
		area = "510800"
	}
	return fmt.Sprintf("ES%s%06d", area, seq)
}

// prepared is a seal's key and certificate, made outside a transaction.
type prepared struct {
	id     string
	seq    uint64
	key    crypto.Signer
	sealed []byte
	cert   *x509.Certificate
	eseal  []byte // an SM2 seal's SESeal
}

// issuers are the CAs a seal's certificate may come from: the ECDSA CA for ECDSA seals, the
// SM2 CA (which also makes the SESeal) for SM2 seals. Only the one the seal needs is set.
type issuers struct {
	ca    *CA
	sm2ca *SM2CA
}

// issuersFor returns the CA that the algorithm's seals need, loading or creating it.
func (r *Registry) issuersFor(ctx context.Context, alg string) (issuers, error) {
	if alg == AlgSM2 {
		ca, err := r.SM2CA(ctx)
		return issuers{sm2ca: ca}, err
	}
	ca, err := r.CA(ctx)
	return issuers{ca: ca}, err
}

// prepare makes the seal's key pair and certificate with the seal's algorithm, seals the key
// and, for an SM2 seal, makes its SESeal (the maker's signature, created at now).
func (r *Registry) prepare(cas issuers, n *NewSeal, o certseal.Org, seq uint64, now time.Time) (*prepared, error) {
	p := &prepared{id: sealID(o, seq), seq: seq}
	// The drawing must be possible (name lengths, characters in the font).
	s := Seal{Name: n.Name, OrgName: o.Name, Type: n.Type, Code: n.Code, DiameterMM: n.DiameterMM}
	pic, err := Draw(s.Appearance())
	if err != nil {
		return nil, err
	}
	alg, err := AlgorithmByName(n.Algorithm)
	if err != nil {
		return nil, err
	}
	key, err := alg.NewKey()
	if err != nil {
		return nil, err
	}
	p.key = key
	subj := SealSubject{ID: p.id, Name: n.Name, Org: o.Name, Code: n.Code}
	if alg.Name() == AlgSM2 {
		if cas.sm2ca == nil {
			return nil, fmt.Errorf("seals: no SM2 CA for an SM2 seal")
		}
		c, err := cas.sm2ca.IssueSeal(subj, key.Public(), n.ValidFrom, n.ValidTo)
		if err != nil {
			return nil, err
		}
		p.cert = (*x509.Certificate)(c)
		s.ID, s.Certificate, s.ValidFrom, s.ValidTo = p.id, c.Raw, c.NotBefore, c.NotAfter
		if p.eseal, err = newESeal(cas.sm2ca, &s, pic, now); err != nil {
			return nil, err
		}
	} else {
		if cas.ca == nil {
			return nil, fmt.Errorf("seals: no CA for an %s seal", alg.Name())
		}
		if p.cert, err = cas.ca.IssueSeal(subj, key.Public(), n.ValidFrom, n.ValidTo); err != nil {
			return nil, err
		}
	}
	if p.sealed, err = r.keys.Seal(key); err != nil {
		return nil, err
	}
	return p, nil
}

// errRetry says the seal's sequence number or its organisation changed between preparing the
// seal and storing it; Create then prepares it again. It never reaches a caller.
var errRetry = fmt.Errorf("seals: sequence moved, retry")

// maxCreateAttempts bounds the attempts of Create. Creates in this process run one at a time, so
// only a change made meanwhile by another path (CreateTx, an organisation renamed) moves the
// sequence or the name; each such change costs at most one attempt.
const maxCreateAttempts = 8

// insertTx stores the prepared seal. When want is set, the bucket's next sequence number must be
// p.seq (else errRetry).
func (r *Registry) insertTx(tx *store.Tx, now time.Time, actor certseal.Actor, n *NewSeal, o certseal.Org, p *prepared) (Seal, error) {
	seq, err := tx.NextID(BucketSeals)
	if err != nil {
		return Seal{}, err
	}
	if seq != p.seq {
		return Seal{}, errRetry
	}
	s := Seal{
		ID: p.id, Name: n.Name, OrgID: o.ID, OrgName: o.Name, Type: n.Type, Code: n.Code, DiameterMM: n.DiameterMM,
		Auth: n.Auth, LicenceTypes: n.LicenceTypes, ValidFrom: p.cert.NotBefore.UTC(), ValidTo: p.cert.NotAfter.UTC(),
		Status: StatusActive, StatusSince: now.UTC(),
		History:    []StatusChange{{Status: StatusActive, At: now.UTC(), By: actor.Username}},
		Algorithm:  n.Algorithm,
		CertSerial: p.cert.SerialNumber.Text(16), Certificate: p.cert.Raw,
		CreatedAt: now.UTC(), UpdatedAt: now.UTC(),
	}
	if err := tx.PutJSON(BucketSeals, []byte(s.ID), s); err != nil {
		return s, err
	}
	if err := tx.Put(BucketKeys, []byte(s.ID), p.sealed); err != nil {
		return s, err
	}
	if err := tx.Put(BucketCodes, codeKey(s.Algorithm, s.Code), []byte(s.ID)); err != nil {
		return s, err
	}
	detail := map[string]any{
		"name": s.Name, "org_id": s.OrgID, "type": s.Type, "code": s.Code, "licence_types": s.LicenceTypes,
		"valid_from": s.ValidFrom, "valid_to": s.ValidTo, "cert_serial": s.CertSerial, "authorisation": s.Auth,
		"algorithm": s.Algorithm,
	}
	if p.eseal != nil {
		if err := tx.Put(BucketESeals, []byte(s.ID), p.eseal); err != nil {
			return s, err
		}
		detail["eseal_sm3"] = sm3Hex(p.eseal)
	}
	err = audit.Append(tx, now, actor, "seal.create", s.ID, detail)
	return s, err
}

func requireAdmin(actor certseal.Actor, what string) error {
	if actor.Role != certseal.RoleAdmin || (actor.OrgKind != "" && actor.OrgKind != certseal.KindCityCenter) {
		return certseal.Errorf(certseal.EForbidden, "只有市政务服务中心管理员可以%s", what)
	}
	return nil
}

// Create registers a seal: it checks n, makes the seal's key pair and its certificate from the
// CA (outside any transaction), and stores the seal with its sealed key in one transaction. It
// returns a *certseal.Error: EForbidden for an actor who is not the city center's administrator,
// EInvalid for bad fields or an organisation that may not own such a seal, ENotFound for an
// unknown organisation or licence type, EConflict for a seal code already in use; and the errors
// of CA and the store otherwise.
func (r *Registry) Create(ctx context.Context, actor certseal.Actor, n NewSeal) (Seal, error) {
	if err := requireAdmin(actor, "登记印章"); err != nil {
		return Seal{}, err
	}
	now := r.clock.Now()
	if err := n.validate(now); err != nil {
		return Seal{}, err
	}
	cas, err := r.issuersFor(ctx, n.Algorithm)
	if err != nil {
		return Seal{}, err
	}
	// The seal's id (from the next sequence number) is inside its certificate, which is made
	// outside the transaction; so two Creates running together would both prepare the same
	// number and all but one would have to start again (without bound as more arrive). One at a
	// time, the outcome is that of a serial run: a key pair and a certificate take milliseconds
	// and registering seals is rare.
	r.createMu.Lock()
	defer r.createMu.Unlock()
	for attempt := 1; ; attempt++ {
		var o certseal.Org
		var seq uint64
		err := r.db.View(func(tx *store.Tx) error {
			var err error
			o, err = checkTx(tx, &n)
			seq = tx.Sequence(BucketSeals) + 1
			return err
		})
		if err != nil {
			return Seal{}, err
		}
		p, err := r.prepare(cas, &n, o, seq, now)
		if err != nil {
			return Seal{}, err
		}
		var s Seal
		err = r.db.Update(func(tx *store.Tx) error {
			o2, err := checkTx(tx, &n)
			if err != nil {
				return err
			}
			if o2.Name != o.Name || o2.AreaCode != o.AreaCode {
				return errRetry
			}
			s, err = r.insertTx(tx, now, actor, &n, o2, p)
			return err
		})
		if err == errRetry {
			if attempt < maxCreateAttempts {
				continue
			}
			return Seal{}, certseal.Errorf(certseal.EUnavailable, "印章登记时机构信息或印章编号一直在变动，请稍后重试")
		}
		if err == nil {
			r.cacheSigner(s.ID, p.key)
		}
		return s, err
	}
}

// CreateTx registers a seal inside the caller's transaction, making its key, its certificate
// and, when needed, the CA inside it. It is for demo data only: services use Create, which keeps
// crypto out of transactions. It returns the errors of Create.
func (r *Registry) CreateTx(tx *store.Tx, now time.Time, actor certseal.Actor, n NewSeal) (Seal, error) {
	if err := requireAdmin(actor, "登记印章"); err != nil {
		return Seal{}, err
	}
	if err := n.validate(now); err != nil {
		return Seal{}, err
	}
	var cas issuers
	var err error
	if n.Algorithm == AlgSM2 {
		cas.sm2ca, err = r.sm2CATx(tx, now)
	} else {
		cas.ca, err = r.caTx(tx, now)
	}
	if err != nil {
		return Seal{}, err
	}
	o, err := checkTx(tx, &n)
	if err != nil {
		return Seal{}, err
	}
	p, err := r.prepare(cas, &n, o, tx.Sequence(BucketSeals)+1, now)
	if err != nil {
		return Seal{}, err
	}
	return r.insertTx(tx, now, actor, &n, o, p)
}

// getTx returns the seal with the given id, or a *certseal.Error (ENotFound).
func getTx(tx *store.Tx, id string) (Seal, error) {
	var s Seal
	ok := false
	if id != "" && len(id) <= 64 {
		var err error
		ok, err = tx.GetJSON(BucketSeals, []byte(id), &s)
		if err != nil {
			return s, err
		}
	}
	if !ok {
		return s, certseal.Errorf(certseal.ENotFound, "印章 %q 不存在", id)
	}
	return s, nil
}

// GetTx returns the seal with the given id inside the caller's transaction, or a
// *certseal.Error (ENotFound).
func GetTx(tx *store.Tx, id string) (Seal, error) { return getTx(tx, id) }

// Get returns the seal with the given id, or a *certseal.Error (ENotFound).
func (r *Registry) Get(ctx context.Context, id string) (Seal, error) {
	var s Seal
	err := r.db.View(func(tx *store.Tx) error {
		var err error
		s, err = getTx(tx, id)
		return err
	})
	return s, err
}

// SealFilter selects seals in List; zero fields match everything.
type SealFilter struct {
	OrgID  string
	Status Status
	Type   SealType
}

// List returns up to limit seals matching f in id order, after the cursor `after` ("" for the
// first page), and the cursor of the next page ("" when there is none). It returns a
// *certseal.Error (EInvalid) for a bad filter.
func (r *Registry) List(ctx context.Context, f SealFilter, after string, limit int) ([]Seal, string, error) {
	switch f.Status {
	case "", StatusActive, StatusSuspended, StatusRevoked:
	default:
		return nil, "", certseal.Errorf(certseal.EInvalid, "未知的印章状态 %q", f.Status)
	}
	if f.Type != "" && !f.Type.Valid() {
		return nil, "", certseal.Errorf(certseal.EInvalid, "未知的印章类型 %q", f.Type)
	}
	if limit <= 0 {
		limit = 50
	}
	var start []byte
	if after != "" {
		start = []byte(after)
	}
	var out []Seal
	var next []byte
	err := r.db.View(func(tx *store.Tx) error {
		var err error
		out, next, err = store.Page(tx, BucketSeals, nil, start, limit, func(s *Seal) bool {
			return (f.OrgID == "" || s.OrgID == f.OrgID) && (f.Status == "" || s.Status == f.Status) && (f.Type == "" || s.Type == f.Type)
		})
		return err
	})
	return out, string(next), err
}

// checkReason trims and checks the reason of a change (what names it).
func checkReason(reason, what string) (string, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", certseal.Errorf(certseal.EInvalid, "请填写%s的原因（reason）", what).WithDetail("field", "reason")
	}
	if utf8.RuneCountInString(reason) > MaxReasonLen {
		return "", certseal.Errorf(certseal.EInvalid, "原因不能超过 %d 个字", MaxReasonLen)
	}
	return reason, nil
}

// changeStatus moves a seal from one of from to to, recording the change.
func (r *Registry) changeStatus(actor certseal.Actor, id string, to Status, reason, action, what string, from ...Status) (Seal, error) {
	if err := requireAdmin(actor, what); err != nil {
		return Seal{}, err
	}
	reason, err := checkReason(reason, what)
	if err != nil {
		return Seal{}, err
	}
	now := r.clock.Now()
	var s Seal
	err = r.db.Update(func(tx *store.Tx) error {
		var err error
		s, err = getTx(tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, s.Status) {
			return certseal.Errorf(certseal.EConflict, "印章 %s 当前状态为“%s”，不能%s", s.ID, s.Status.Label(), what).WithDetail("status", string(s.Status))
		}
		prev := s.Status
		s.Status, s.StatusReason, s.StatusSince, s.UpdatedAt = to, reason, now.UTC(), now.UTC()
		s.History = append(s.History, StatusChange{Status: to, At: now.UTC(), Reason: reason, By: actor.Username})
		if err := tx.PutJSON(BucketSeals, []byte(s.ID), s); err != nil {
			return err
		}
		if to == StatusRevoked {
			if err := tx.PutJSON(BucketRevoked, []byte(s.ID), revocation{Serial: s.CertSerial, Earlier: s.serials()[1:], At: now.UTC()}); err != nil {
				return err
			}
			tx.OnCommit(func() {
				r.mu.Lock()
				r.crlGen++
				delete(r.signers, s.ID)
				r.mu.Unlock()
			})
		}
		return audit.Append(tx, now, actor, action, s.ID, map[string]any{"from": prev, "to": to, "reason": reason})
	})
	return s, err
}

// Suspend suspends an active seal (暂停使用): it cannot sign until reinstated. It returns a
// *certseal.Error: EForbidden for an actor who is not the administrator, EInvalid when the reason
// is missing, ENotFound for an unknown seal, EConflict when the seal is not active.
func (r *Registry) Suspend(ctx context.Context, actor certseal.Actor, id, reason string) (Seal, error) {
	return r.changeStatus(actor, id, StatusSuspended, reason, "seal.suspend", "暂停使用", StatusActive)
}

// Reinstate makes a suspended seal active again. It returns the errors of Suspend, with
// EConflict when the seal is not suspended.
func (r *Registry) Reinstate(ctx context.Context, actor certseal.Actor, id, reason string) (Seal, error) {
	return r.changeStatus(actor, id, StatusActive, reason, "seal.reinstate", "恢复使用", StatusSuspended)
}

// Revoke revokes an active or suspended seal for good; its certificate goes into the CRL. It
// returns the errors of Suspend, with EConflict when the seal is already revoked.
func (r *Registry) Revoke(ctx context.Context, actor certseal.Actor, id, reason string) (Seal, error) {
	return r.changeStatus(actor, id, StatusRevoked, reason, "seal.revoke", "吊销", StatusActive, StatusSuspended)
}

// SetScan replaces the seal's drawing by an uploaded scan: a PNG with a transparent background
// (see PictureFromPNG). It returns a *certseal.Error: EForbidden for an actor who is not the
// administrator, EInvalid for a bad image, ENotFound for an unknown seal, EConflict for a
// revoked seal.
func (r *Registry) SetScan(ctx context.Context, actor certseal.Actor, id string, png []byte) (Seal, error) {
	if err := requireAdmin(actor, "上传印章图片"); err != nil {
		return Seal{}, err
	}
	if _, err := PictureFromPNG(png); err != nil {
		return Seal{}, err
	}
	return r.updateScan(ctx, actor, id, png)
}

// ClearScan removes an uploaded scan, so that the seal is drawn again. It returns the errors of
// SetScan.
func (r *Registry) ClearScan(ctx context.Context, actor certseal.Actor, id string) (Seal, error) {
	if err := requireAdmin(actor, "删除印章图片"); err != nil {
		return Seal{}, err
	}
	return r.updateScan(ctx, actor, id, nil)
}

// remadeESeal returns, for an SM2 seal, its SESeal made again with the picture the scan png
// gives (the drawing when png is nil), and the seal's UpdatedAt it was made from; nil for an
// ECDSA seal. The maker signs outside any transaction.
func (r *Registry) remadeESeal(ctx context.Context, id string, png []byte, now time.Time) ([]byte, time.Time, error) {
	cur, err := r.Get(ctx, id)
	if err != nil || cur.Algorithm != AlgSM2 || cur.Status == StatusRevoked {
		return nil, time.Time{}, nil // the transaction reports what is wrong
	}
	ca, err := r.SM2CA(ctx)
	if err != nil {
		return nil, time.Time{}, err
	}
	var pic *Picture
	if png != nil {
		pic, err = PictureFromPNG(png)
	} else {
		pic, err = Draw(cur.Appearance())
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	eseal, err := newESeal(ca, &cur, pic, now)
	return eseal, cur.UpdatedAt, err
}

func (r *Registry) updateScan(ctx context.Context, actor certseal.Actor, id string, png []byte) (Seal, error) {
	now := r.clock.Now()
	eseal, basis, err := r.remadeESeal(ctx, id, png, now)
	if err != nil {
		return Seal{}, err
	}
	var s Seal
	err = r.db.Update(func(tx *store.Tx) error {
		var err error
		s, err = getTx(tx, id)
		if err != nil {
			return err
		}
		if s.Status == StatusRevoked {
			return certseal.Errorf(certseal.EConflict, "印章 %s 已吊销，不能更改其图片", s.ID)
		}
		detail := map[string]any{"bytes": len(png)}
		if s.Algorithm == AlgSM2 {
			// The SESeal shows the seal's picture: made again from the record as it still is.
			if eseal == nil || !s.UpdatedAt.Equal(basis) {
				return certseal.Errorf(certseal.EConflict, "印章 %s 刚被修改，请重试", s.ID)
			}
			if err := tx.Put(BucketESeals, []byte(s.ID), eseal); err != nil {
				return err
			}
			detail["eseal_sm3"] = sm3Hex(eseal)
		}
		action := "seal.scan.set"
		if png == nil {
			if !s.HasScan {
				return certseal.Errorf(certseal.ENotFound, "印章 %s 没有上传的图片", s.ID)
			}
			action = "seal.scan.clear"
			err = tx.Delete(BucketScans, []byte(s.ID))
		} else {
			err = tx.Put(BucketScans, []byte(s.ID), png)
		}
		if err != nil {
			return err
		}
		s.HasScan = png != nil
		s.UpdatedAt = now.UTC()
		if err := tx.PutJSON(BucketSeals, []byte(s.ID), s); err != nil {
			return err
		}
		return audit.Append(tx, now, actor, action, s.ID, detail)
	})
	return s, err
}

// Picture returns the seal's picture, the uploaded scan when there is one and the drawing from
// the registry's data otherwise, with the seal. Pictures are cached until the seal changes. It
// returns a *certseal.Error (ENotFound) for an unknown seal and the errors of Draw and
// PictureFromPNG.
func (r *Registry) Picture(ctx context.Context, id string) (*Picture, Seal, error) {
	s, err := r.Get(ctx, id)
	if err != nil {
		return nil, s, err
	}
	if p := r.cachedPic(s); p != nil {
		return p, s, nil
	}
	var p *Picture
	if s.HasScan {
		var scan []byte
		if err := r.db.View(func(tx *store.Tx) error {
			scan = tx.Get(BucketScans, []byte(s.ID))
			return nil
		}); err != nil {
			return nil, s, err
		}
		p, err = PictureFromPNG(scan)
	} else {
		p, err = Draw(s.Appearance())
	}
	if err != nil {
		return nil, s, err
	}
	r.mu.Lock()
	r.pics[s.ID] = cachedPicture{updated: s.UpdatedAt, pic: p}
	r.mu.Unlock()
	return p, s, nil
}

func (r *Registry) cachedPic(s Seal) *Picture {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.pics[s.ID]; ok && c.updated.Equal(s.UpdatedAt) {
		return c.pic
	}
	return nil
}

// Renew renews an active or suspended seal until validTo: a new key pair and a new certificate
// from the seal's CA (valid from now), for an SM2 seal a new SESeal with the seal's current
// picture, all made outside the transaction; the transaction stores them if the seal did not
// change meanwhile and keeps the previous certificate in Earlier, so that documents sealed
// before still verify. It returns a *certseal.Error: EForbidden for an actor who is not the
// administrator, EInvalid when the reason is missing or validTo is not after the seal's current
// end and now, ENotFound for an unknown seal, EConflict for a revoked seal or one changed while
// it was being renewed; and the errors of the CA and the store otherwise.
func (r *Registry) Renew(ctx context.Context, actor certseal.Actor, id string, validTo time.Time, reason string) (Seal, error) {
	if err := requireAdmin(actor, "续期印章"); err != nil {
		return Seal{}, err
	}
	reason, err := checkReason(reason, "续期")
	if err != nil {
		return Seal{}, err
	}
	now := r.clock.Now()
	pic, cur, err := r.Picture(ctx, id) // the seal and its current picture (scan or drawing)
	if err != nil {
		return Seal{}, err
	}
	if cur.Status == StatusRevoked {
		return Seal{}, certseal.Errorf(certseal.EConflict, "印章 %s 已吊销，不能续期", cur.ID).WithDetail("status", string(cur.Status))
	}
	if !validTo.After(cur.ValidTo) || !validTo.After(now) {
		return Seal{}, certseal.Errorf(certseal.EInvalid, "续期后的有效期截止时间必须晚于当前截止时间（%s）和现在",
			cur.ValidTo.In(certseal.China).Format("2006-01-02")).WithDetail("field", "valid_to")
	}
	alg, err := cur.SigningAlgorithm()
	if err != nil {
		return Seal{}, err
	}
	cas, err := r.issuersFor(ctx, alg.Name())
	if err != nil {
		return Seal{}, err
	}
	key, err := alg.NewKey()
	if err != nil {
		return Seal{}, err
	}
	subj := SealSubject{ID: cur.ID, Name: cur.Name, Org: cur.OrgName, Code: cur.Code}
	var cert *x509.Certificate
	var eseal []byte
	if alg.Name() == AlgSM2 {
		c, err := cas.sm2ca.IssueSeal(subj, key.Public(), now, validTo)
		if err != nil {
			return Seal{}, err
		}
		cert = (*x509.Certificate)(c)
		next := cur
		next.Certificate, next.ValidFrom, next.ValidTo = c.Raw, c.NotBefore, c.NotAfter
		if eseal, err = newESeal(cas.sm2ca, &next, pic, now); err != nil {
			return Seal{}, err
		}
	} else if cert, err = cas.ca.IssueSeal(subj, key.Public(), now, validTo); err != nil {
		return Seal{}, err
	}
	sealed, err := r.keys.Seal(key)
	if err != nil {
		return Seal{}, err
	}
	if r.renewHook != nil {
		r.renewHook()
	}
	var s Seal
	err = r.db.Update(func(tx *store.Tx) error {
		var err error
		if s, err = getTx(tx, id); err != nil {
			return err
		}
		if s.Status == StatusRevoked {
			return certseal.Errorf(certseal.EConflict, "印章 %s 已吊销，不能续期", s.ID).WithDetail("status", string(s.Status))
		}
		if !s.UpdatedAt.Equal(cur.UpdatedAt) {
			return certseal.Errorf(certseal.EConflict, "印章 %s 刚被修改，请重试", s.ID)
		}
		old, err := s.cert()
		if err != nil {
			return err
		}
		detail := map[string]any{
			"reason": reason, "old_serial": s.CertSerial, "new_serial": cert.SerialNumber.Text(16),
			"old_valid_to": s.ValidTo, "valid_from": cert.NotBefore.UTC(), "valid_to": cert.NotAfter.UTC(),
		}
		s.Earlier = append(s.Earlier, EarlierCert{Serial: s.CertSerial, Certificate: s.Certificate,
			ValidFrom: old.NotBefore.UTC(), ValidTo: old.NotAfter.UTC(), ReplacedAt: now.UTC()})
		// ValidFrom stays the seal's first day: documents sealed since then are the seal's.
		s.CertSerial, s.Certificate, s.ValidTo = cert.SerialNumber.Text(16), cert.Raw, cert.NotAfter.UTC()
		s.UpdatedAt = now.UTC()
		if err := tx.PutJSON(BucketSeals, []byte(s.ID), s); err != nil {
			return err
		}
		if err := tx.Put(BucketKeys, []byte(s.ID), sealed); err != nil {
			return err
		}
		if eseal != nil {
			if err := tx.Put(BucketESeals, []byte(s.ID), eseal); err != nil {
				return err
			}
			detail["eseal_sm3"] = sm3Hex(eseal)
		}
		tx.OnCommit(func() { r.cacheSigner(s.ID, key) })
		return audit.Append(tx, now, actor, "seal.renew", s.ID, detail)
	})
	return s, err
}
