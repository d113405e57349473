package push

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/seals"
)

// Result push (审批结果推送): subscribers (the original departments, the city departments, the
// city center for supervision) register a webhook; the Pusher delivers every outbox event they
// may see to it, signed with the subscription's secret, strictly in outbox order per
// subscription, at least once.
//
// What a subscriber sees (its scope), decided by its organisation's kind:
//   - the city center: every event;
//   - a city department: the licence types it is responsible for (LicenceType.ResponsibleOrgID);
//   - a county approval bureau: the certificates it issued itself;
//   - a county original department: the certificates it issued itself, and, in its own area
//     (the issuer's area code), the licence types its city department is responsible for and the
//     types bound to catalogue items it handles (Item.HandlingOrgID) — the items it handled before
//     they were transferred to the bureau.
//
// A subscription's type_codes narrows this further; empty means every type in scope.

// Buckets of the result push.
const (
	bucketPushSubs       store.Bucket = "push_subscriptions" // U64(id) -> Subscription
	bucketPushSecrets    store.Bucket = "push_secrets"       // U64(id) -> secret (raw bytes)
	bucketPushCursors    store.Bucket = "push_cursors"       // U64(sub id) -> pushCursor
	bucketPushDeliveries store.Bucket = "push_deliveries"    // U64(id) -> Delivery
	bucketPushBySub      store.Bucket = "push_deliveries_by_sub"
	// push_deliveries_by_sub: U64(sub id) + U64(delivery id) -> nil
)

// Limits on subscriptions, also in the OpenAPI document.
const (
	MaxURL         = 2048
	MaxTypeCodes   = 50
	MaxDescription = 200
	SecretBytes    = 32
)

// Subscription is a webhook that receives the outbox events its organisation may see.
type Subscription struct {
	ID          string   `json:"id"`
	OrgID       string   `json:"org_id"`
	OrgName     string   `json:"org_name"`
	TypeCodes   []string `json:"type_codes"`
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Active      bool     `json:"active"`
	// Cursor is the sequence number of the last event handled (acknowledged, or not in scope);
	// Pending is the delivery now being retried, if any. Both are filled in when read.
	Cursor    uint64    `json:"cursor"`
	Pending   string    `json:"pending_delivery_id,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SubscriptionInput creates a subscription. OrgID is the subscriber; empty means the caller's
// own organisation (only administrators may name another one).
type SubscriptionInput struct {
	OrgID       string   `json:"org_id,omitempty"`
	URL         string   `json:"url"`
	TypeCodes   []string `json:"type_codes,omitempty"`
	Description string   `json:"description,omitempty"`
	Active      *bool    `json:"active,omitempty"`
}

// SubscriptionPatch changes a subscription; nil fields stay. RotateSecret replaces the secret;
// the new one is returned once.
type SubscriptionPatch struct {
	URL          *string   `json:"url,omitempty"`
	TypeCodes    *[]string `json:"type_codes,omitempty"`
	Description  *string   `json:"description,omitempty"`
	Active       *bool     `json:"active,omitempty"`
	RotateSecret bool      `json:"rotate_secret,omitempty"`
}

// pushCursor is a subscription's position in the outbox. Gen changes on every rewind, so that a
// delivery worker that started before the rewind does not move the cursor forward again.
type pushCursor struct {
	Seq     uint64 `json:"seq"`
	Gen     uint64 `json:"gen"`
	Pending uint64 `json:"pending,omitempty"` // delivery id of the event being retried
}

// Delivery is the log of one event sent to one subscription: every attempt and the outcome.
type Delivery struct {
	ID             string    `json:"id"`
	SubscriptionID string    `json:"subscription_id"`
	EventSeq       uint64    `json:"event_seq"`
	EventType      string    `json:"event_type"`
	CertificateID  string    `json:"certificate_id"`
	Status         string    `json:"status"` // pending, delivered, cancelled
	Attempts       []Attempt `json:"attempts"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt    time.Time `json:"delivered_at,omitzero"`
	CreatedAt      time.Time `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"   // not yet acknowledged; retried with back-off
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryCancelled = "cancelled" // the subscription was rewound or deleted before it was acknowledged
)

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
}

// Payload is the JSON body of a webhook request: the event with the delivery's ids.
type Payload struct {
	DeliveryID     string    `json:"delivery_id"`
	SubscriptionID string    `json:"subscription_id"`
	SentAt         time.Time `json:"sent_at"`
	certs.Event
}

// Sign returns the X-Certseal-Signature value of body: "sha256=" and the hex HMAC-SHA256 of
// the body with the secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature reports whether header is the signature of body with secret, in constant
// time. Receivers (and tests) use it.
func VerifySignature(secret, body []byte, header string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(header))
}

// DefaultBackoff is the retry schedule: 1s, 2s, 4s … doubling after each failed attempt,
// capped at 10 minutes.
func DefaultBackoff(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 11 {
		return 10 * time.Minute
	}
	d := time.Second << (attempt - 1)
	return min(d, 10*time.Minute)
}

// Pusher keeps the subscriptions and delivers the outbox to them. Run it in one goroutine; Wake
// (set as certs.Service.Notify) tells it new events are there.
type Pusher struct {
	DB    *store.DB
	Clock certseal.Clock
	Log   *slog.Logger
	// Client sends the webhooks; by default a client with a 10s timeout that does not follow
	// redirects, uses no proxy and connects only where the address rule allows (see
	// guard.go and SetAllow). A Client set here bypasses that rule: tests only.
	Client *http.Client
	// Resolver looks up receivers' host names, at registration and on every connection
	// (default net.DefaultResolver).
	Resolver Resolver
	// Interval is how often Run looks for work without being woken (default 30s).
	Interval time.Duration
	// MaxWorkers bounds the subscriptions delivered to at once (default 8).
	MaxWorkers int
	// Rand is the source of secrets (default crypto/rand).
	Rand interface{ Read([]byte) (int, error) }
	// Box encrypts the webhook secrets at rest (the seal registry's keyring, under the master
	// key); without it they are stored as they are.
	Box SecretBox

	mu      sync.Mutex
	backoff func(int) time.Duration
	wake    chan struct{}
	policy  *pushPolicy // the allow setting (SetAllow)

	// onPass is told after every dispatch pass (tests only: export_test.go).
	onPass func(now, next time.Time)
}

// SecretBox encrypts and decrypts small secrets.
type SecretBox interface {
	SealBytes(plain []byte) ([]byte, error)
	OpenBytes(sealed []byte) ([]byte, error)
}

// sealSecret returns the form a secret is stored in.
func (p *Pusher) sealSecret(secret []byte) ([]byte, error) {
	if p.Box == nil {
		return secret, nil
	}
	return p.Box.SealBytes(secret)
}

// openSecret returns the HMAC key from its stored form; a secret stored before encryption was
// wired is taken as it is.
func (p *Pusher) openSecret(stored []byte) ([]byte, error) {
	if p.Box == nil || !seals.IsSealedBytes(stored) {
		return stored, nil
	}
	return p.Box.OpenBytes(stored)
}

// New returns a pusher over the certificate service's store, clock and log. Set its Wake as the
// service's Notify so that it delivers the events the service appends to the outbox.
func New(svc *certs.Service) *Pusher {
	return &Pusher{DB: svc.DB, Clock: svc.Clock, Log: svc.Log}
}

// SetBackoff replaces the retry schedule (DefaultBackoff); attempt counts from 1. Safe while Run
// runs.
func (p *Pusher) SetBackoff(f func(attempt int) time.Duration) {
	p.mu.Lock()
	p.backoff = f
	p.mu.Unlock()
}

func (p *Pusher) delay(attempt int) time.Duration {
	p.mu.Lock()
	f := p.backoff
	p.mu.Unlock()
	if f == nil {
		f = DefaultBackoff
	}
	return f(attempt)
}

func (p *Pusher) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}

func (p *Pusher) wakeCh() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wake == nil {
		p.wake = make(chan struct{}, 1)
	}
	return p.wake
}

// Wake tells the pusher that new events may be in the outbox. It never blocks.
func (p *Pusher) Wake() {
	select {
	case p.wakeCh() <- struct{}{}:
	default:
	}
}

// checkPushURL validates a webhook address: http or https, a host, no credentials, no fragment.
func checkPushURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", certseal.Errorf(certseal.EInvalid, "请填写推送地址（url）")
	}
	if len(raw) > MaxURL {
		return "", certseal.Errorf(certseal.EInvalid, "推送地址不能超过%d个字符", MaxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", certseal.Errorf(certseal.EInvalid, "推送地址 %q 无效：应为 http:// 或 https:// 开头的完整网址", raw).WithDetail("field", "url")
	}
	if u.User != nil {
		return "", certseal.Errorf(certseal.EInvalid, "推送地址不能包含用户名或密码，请使用签名密钥校验请求").WithDetail("field", "url")
	}
	if u.Fragment != "" {
		return "", certseal.Errorf(certseal.EInvalid, "推送地址不能包含 # 片段").WithDetail("field", "url")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", certseal.Errorf(certseal.EInvalid, "推送地址的端口 %q 无效", port).WithDetail("field", "url")
		}
	}
	return u.String(), nil
}

// checkURL is checkPushURL and the address rule (checkPushTarget).
func (p *Pusher) checkURL(ctx context.Context, raw string) (string, error) {
	u, err := checkPushURL(raw)
	if err != nil {
		return "", err
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if err := p.checkPushTarget(ctx, parsed); err != nil {
		return "", err
	}
	return u, nil
}

func subKey(id string) ([]byte, bool) { return store.IDKey(id) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// mayManage reports whether the actor may see (write false) or change (write true) the
// organisation's subscriptions: administrators all, auditors read all, department and bureau
// officers their own organisation's.
func mayManage(actor certseal.Actor, orgID string, write bool) bool {
	switch actor.Role {
	case certseal.RoleAdmin:
		return true
	case certseal.RoleAuditor:
		return !write
	case certseal.RoleDeptOfficer, certseal.RoleBureauOfficer:
		return actor.OrgID == orgID
	}
	return false
}

// mayWatchType reports whether a subscriber organisation may receive events of a licence type.
func mayWatchType(tx *store.Tx, org certseal.Org, t catalogue.LicenceType) bool {
	switch org.Kind {
	case certseal.KindCityCenter, certseal.KindCountyBureau:
		return true
	case certseal.KindCityDepartment:
		return t.ResponsibleOrgID == org.ID
	case certseal.KindCountyDept:
		return (org.ParentID != "" && t.ResponsibleOrgID == org.ParentID) || handlesType(tx, org.ID, t.Code)
	}
	return false
}

// catalogueBindings is package catalogue's bucket of bindings, Key(type code, item code) ->
// Binding; read here (never written) because catalogue has no function that lists a type's
// bindings inside a transaction.
const catalogueBindings store.Bucket = "bindings_by_type"

// handlesType reports whether the organisation handles a catalogue item bound to the type.
func handlesType(tx *store.Tx, orgID, typeCode string) bool {
	found := false
	tx.Scan(catalogueBindings, store.Prefix(typeCode), nil, func(_, v []byte) error {
		var b catalogue.Binding
		if jsonUnmarshal(v, &b) != nil {
			return nil
		}
		if it, err := catalogue.ResolveCode(tx, b.ItemCode); err == nil && it.HandlingOrgID == orgID {
			found = true
			return store.ErrStop
		}
		return nil
	})
	return found
}

func canSubscribe(k certseal.OrgKind) bool {
	switch k {
	case certseal.KindCityCenter, certseal.KindCityDepartment, certseal.KindCountyBureau, certseal.KindCountyDept:
		return true
	}
	return false
}

// checkTypeCodes validates a type filter for the subscriber inside tx and returns it sorted and
// without duplicates.
func checkTypeCodes(tx *store.Tx, org certseal.Org, codes []string) ([]string, error) {
	if len(codes) > MaxTypeCodes {
		return nil, certseal.Errorf(certseal.EInvalid, "证照类型不能超过%d个", MaxTypeCodes)
	}
	out := make([]string, 0, len(codes))
	for _, c := range codes {
		c = strings.TrimSpace(c)
		if c == "" || len(c) > catalogue.MaxCodeLen {
			return nil, certseal.Errorf(certseal.EInvalid, "证照类型代码 %q 无效", c).WithDetail("field", "type_codes")
		}
		t, err := catalogue.GetType(tx, c)
		if err != nil {
			return nil, certseal.Errorf(certseal.EInvalid, "证照类型 %s 不存在", c).WithDetail("field", "type_codes")
		}
		if !mayWatchType(tx, org, t) {
			return nil, certseal.Errorf(certseal.EForbidden, "%s无权订阅“%s”的审批结果", org.Name, t.Name).WithDetail("type_code", c)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func (p *Pusher) newSecret() ([]byte, error) {
	b := make([]byte, SecretBytes)
	var err error
	if p.Rand != nil {
		_, err = p.Rand.Read(b)
	} else {
		_, err = rand.Read(b)
	}
	return b, err
}

// EncodeSecret is how a secret is shown to its subscriber once: "whsec_" and base64url. The
// HMAC key is the raw 32 bytes, which DecodeSecret returns.
func EncodeSecret(b []byte) string { return "whsec_" + base64.RawURLEncoding.EncodeToString(b) }

// DecodeSecret returns the raw key of a secret shown by EncodeSecret, or an error.
func DecodeSecret(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
}

func getSubTx(tx *store.Tx, id string) (Subscription, error) {
	return store.GetByID[Subscription](tx, bucketPushSubs, id, "推送订阅")
}

func getCursorTx(tx *store.Tx, id string) (pushCursor, error) {
	var c pushCursor
	k, _ := subKey(id)
	_, err := tx.GetJSON(bucketPushCursors, k, &c)
	return c, err
}

func (s *Subscription) fill(tx *store.Tx) error {
	c, err := getCursorTx(tx, s.ID)
	s.Cursor = c.Seq
	if c.Pending != 0 {
		s.Pending = itoa(c.Pending)
	}
	if s.TypeCodes == nil {
		s.TypeCodes = []string{}
	}
	return err
}

// CreateSubscription adds a webhook and returns it with its secret (shown this once). New
// subscriptions start at the end of the outbox: they receive events from now on (rewind with
// Redeliver for older ones). It returns an *certseal.Error: EInvalid for a bad URL or type,
// EForbidden for another organisation (unless the actor is an administrator) or a type outside
// the subscriber's scope, ENotFound for an unknown organisation.
func (p *Pusher) CreateSubscription(ctx context.Context, actor certseal.Actor, in SubscriptionInput) (Subscription, string, error) {
	u, err := p.checkURL(ctx, in.URL)
	if err != nil {
		return Subscription{}, "", err
	}
	if utf8.RuneCountInString(in.Description) > MaxDescription {
		return Subscription{}, "", certseal.Errorf(certseal.EInvalid, "说明不能超过%d个字符", MaxDescription)
	}
	orgID := in.OrgID
	if orgID == "" {
		orgID = actor.OrgID
	}
	if !mayManage(actor, orgID, true) {
		return Subscription{}, "", certseal.Errorf(certseal.EForbidden, "只能为本机构创建推送订阅")
	}
	secret, err := p.newSecret()
	if err != nil {
		return Subscription{}, "", err
	}
	stored, err := p.sealSecret(secret)
	if err != nil {
		return Subscription{}, "", err
	}
	now := p.Clock.Now().UTC()
	var sub Subscription
	err = p.DB.Update(func(tx *store.Tx) error {
		org, err := orgs.Get(tx, orgID)
		if err != nil {
			return err
		}
		if !canSubscribe(org.Kind) {
			return certseal.Errorf(certseal.EInvalid, "%s（%s）不能订阅审批结果推送", org.Name, org.Kind.Label())
		}
		codes, err := checkTypeCodes(tx, org, in.TypeCodes)
		if err != nil {
			return err
		}
		n, err := tx.NextID(bucketPushSubs)
		if err != nil {
			return err
		}
		sub = Subscription{ID: itoa(n), OrgID: org.ID, OrgName: org.Name, TypeCodes: codes, URL: u, Description: in.Description,
			Active: in.Active == nil || *in.Active, CreatedBy: actor.Username, CreatedAt: now, UpdatedAt: now}
		k := store.U64(n)
		if err := tx.PutJSON(bucketPushSubs, k, sub); err != nil {
			return err
		}
		if err := tx.Put(bucketPushSecrets, k, stored); err != nil {
			return err
		}
		if err := tx.PutJSON(bucketPushCursors, k, pushCursor{Seq: certs.LastEventSeqTx(tx)}); err != nil {
			return err
		}
		if err := audit.Append(tx, now, actor, "push.subscription.create", "subscription/"+sub.ID,
			map[string]any{"org_id": sub.OrgID, "url": sub.URL, "type_codes": sub.TypeCodes, "active": sub.Active}); err != nil {
			return err
		}
		return sub.fill(tx)
	})
	if err != nil {
		return Subscription{}, "", err
	}
	p.Wake()
	return sub, EncodeSecret(secret), nil
}

// ListSubscriptions returns the subscriptions the actor may see (administrators and auditors
// all, or one organisation's with orgID; officers their own organisation's), oldest first.
func (p *Pusher) ListSubscriptions(ctx context.Context, actor certseal.Actor, orgID string) ([]Subscription, error) {
	out := []Subscription{}
	err := p.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketPushSubs, nil, nil, func(_, v []byte) error {
			var s Subscription
			if err := jsonUnmarshal(v, &s); err != nil {
				return err
			}
			if !mayManage(actor, s.OrgID, false) || (orgID != "" && s.OrgID != orgID) {
				return nil
			}
			if err := s.fill(tx); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	})
	return out, err
}

// GetSubscription returns one subscription. It returns an *certseal.Error (ENotFound, also for
// another organisation's subscription).
func (p *Pusher) GetSubscription(ctx context.Context, actor certseal.Actor, id string) (Subscription, error) {
	var s Subscription
	err := p.DB.View(func(tx *store.Tx) error {
		var err error
		if s, err = visibleSubTx(tx, actor, id, false); err != nil {
			return err
		}
		return s.fill(tx)
	})
	return s, err
}

func visibleSubTx(tx *store.Tx, actor certseal.Actor, id string, write bool) (Subscription, error) {
	s, err := getSubTx(tx, id)
	if err != nil {
		return s, err
	}
	if !mayManage(actor, s.OrgID, false) {
		return Subscription{}, certseal.Errorf(certseal.ENotFound, "推送订阅 %q 不存在", id)
	}
	if write && !mayManage(actor, s.OrgID, true) {
		return Subscription{}, certseal.Errorf(certseal.EForbidden, "无权修改这个推送订阅")
	}
	return s, nil
}

// UpdateSubscription changes a subscription and returns it, with the new secret when the patch
// rotates it ("" otherwise). It returns an *certseal.Error: ENotFound, EInvalid, EForbidden.
func (p *Pusher) UpdateSubscription(ctx context.Context, actor certseal.Actor, id string, patch SubscriptionPatch) (Subscription, string, error) {
	var u string
	if patch.URL != nil {
		var err error
		if u, err = p.checkURL(ctx, *patch.URL); err != nil {
			return Subscription{}, "", err
		}
	}
	if patch.Description != nil && utf8.RuneCountInString(*patch.Description) > MaxDescription {
		return Subscription{}, "", certseal.Errorf(certseal.EInvalid, "说明不能超过%d个字符", MaxDescription)
	}
	var secret, stored []byte
	if patch.RotateSecret {
		var err error
		if secret, err = p.newSecret(); err != nil {
			return Subscription{}, "", err
		}
		if stored, err = p.sealSecret(secret); err != nil {
			return Subscription{}, "", err
		}
	}
	now := p.Clock.Now().UTC()
	var s Subscription
	err := p.DB.Update(func(tx *store.Tx) error {
		var err error
		if s, err = visibleSubTx(tx, actor, id, true); err != nil {
			return err
		}
		detail := map[string]any{}
		if patch.URL != nil {
			s.URL, detail["url"] = u, u
		}
		if patch.TypeCodes != nil {
			org, err := orgs.Get(tx, s.OrgID)
			if err != nil {
				return err
			}
			if s.TypeCodes, err = checkTypeCodes(tx, org, *patch.TypeCodes); err != nil {
				return err
			}
			detail["type_codes"] = s.TypeCodes
		}
		if patch.Description != nil {
			s.Description, detail["description"] = *patch.Description, *patch.Description
		}
		if patch.Active != nil {
			s.Active, detail["active"] = *patch.Active, *patch.Active
		}
		if len(detail) == 0 && !patch.RotateSecret {
			return certseal.Errorf(certseal.EInvalid, "没有要修改的内容")
		}
		s.UpdatedAt = now
		k, _ := subKey(s.ID)
		if err := tx.PutJSON(bucketPushSubs, k, s); err != nil {
			return err
		}
		if patch.RotateSecret {
			detail["secret_rotated"] = true
			if err := tx.Put(bucketPushSecrets, k, stored); err != nil {
				return err
			}
		}
		if err := audit.Append(tx, now, actor, "push.subscription.update", "subscription/"+s.ID, detail); err != nil {
			return err
		}
		return s.fill(tx)
	})
	if err != nil {
		return Subscription{}, "", err
	}
	p.Wake()
	if secret != nil {
		return s, EncodeSecret(secret), nil
	}
	return s, "", nil
}

// DeleteSubscription removes a subscription and its secret; its delivery log stays for the
// record, a pending delivery is cancelled. It returns an *certseal.Error (ENotFound,
// EForbidden).
func (p *Pusher) DeleteSubscription(ctx context.Context, actor certseal.Actor, id string) error {
	now := p.Clock.Now().UTC()
	return p.DB.Update(func(tx *store.Tx) error {
		s, err := visibleSubTx(tx, actor, id, true)
		if err != nil {
			return err
		}
		c, err := getCursorTx(tx, id)
		if err != nil {
			return err
		}
		if c.Pending != 0 {
			if err := cancelDeliveryTx(tx, c.Pending); err != nil {
				return err
			}
		}
		k, _ := subKey(id)
		for _, b := range []store.Bucket{bucketPushSubs, bucketPushSecrets, bucketPushCursors} {
			if err := tx.Delete(b, k); err != nil {
				return err
			}
		}
		return audit.Append(tx, now, actor, "push.subscription.delete", "subscription/"+s.ID,
			map[string]any{"org_id": s.OrgID, "url": s.URL, "cursor": c.Seq})
	})
}

func cancelDeliveryTx(tx *store.Tx, id uint64) error {
	var d Delivery
	ok, err := tx.GetJSON(bucketPushDeliveries, store.U64(id), &d)
	if err != nil || !ok {
		return err
	}
	if d.Status != DeliveryPending {
		return nil
	}
	d.Status = DeliveryCancelled
	d.NextAttemptAt = time.Time{}
	return tx.PutJSON(bucketPushDeliveries, store.U64(id), d)
}

// Deliveries returns a subscription's delivery log, newest first, up to limit, before the cursor
// (a delivery id; "" for the newest), and the next cursor. It returns an *certseal.Error
// (ENotFound).
func (p *Pusher) Deliveries(ctx context.Context, actor certseal.Actor, subID, cursor string, limit int) ([]Delivery, string, error) {
	out := []Delivery{}
	next := ""
	var before []byte
	k, ok := subKey(subID)
	if cursor != "" {
		c, ok := store.IDKey(cursor)
		if !ok {
			return nil, "", certseal.Errorf(certseal.EInvalid, "分页游标 %q 无效", cursor)
		}
		before = c
	}
	err := p.DB.View(func(tx *store.Tx) error {
		if !ok {
			return certseal.Errorf(certseal.ENotFound, "推送订阅 %q 不存在", subID)
		}
		if _, err := p.subForLog(tx, actor, subID); err != nil {
			return err
		}
		var start []byte
		if before != nil {
			start = append(append([]byte{}, k...), before...)
		}
		return tx.ScanReverse(bucketPushBySub, k, start, func(key, _ []byte) error {
			if len(out) == limit {
				next = out[len(out)-1].ID
				return store.ErrStop
			}
			var d Delivery
			if _, err := tx.GetJSON(bucketPushDeliveries, key[8:], &d); err != nil {
				return err
			}
			out = append(out, d)
			return nil
		})
	})
	return out, next, err
}

// subForLog finds a subscription for reading its log; a deleted subscription's log is still
// readable by administrators and auditors.
func (p *Pusher) subForLog(tx *store.Tx, actor certseal.Actor, id string) (Subscription, error) {
	s, err := visibleSubTx(tx, actor, id, false)
	if err == nil || certseal.ErrorCode(err) != certseal.ENotFound {
		return s, err
	}
	k, _ := subKey(id)
	if (actor.Role == certseal.RoleAdmin || actor.Role == certseal.RoleAuditor) && tx.Sequence(bucketPushSubs) >= store.ParseU64(k) {
		if n := 0; tx.Scan(bucketPushBySub, k, nil, func(_, _ []byte) error { n++; return store.ErrStop }) == nil && n > 0 {
			return Subscription{ID: id}, nil
		}
	}
	return s, err
}

// GetDelivery returns one delivery of a subscription. It returns an *certseal.Error (ENotFound).
func (p *Pusher) GetDelivery(ctx context.Context, actor certseal.Actor, subID, id string) (Delivery, error) {
	var d Delivery
	err := p.DB.View(func(tx *store.Tx) error {
		if _, err := p.subForLog(tx, actor, subID); err != nil {
			return err
		}
		var err error
		d, err = getDeliveryTx(tx, subID, id)
		return err
	})
	return d, err
}

func getDeliveryTx(tx *store.Tx, subID, id string) (Delivery, error) {
	var d Delivery
	k, ok := store.IDKey(id)
	if ok {
		found, err := tx.GetJSON(bucketPushDeliveries, k, &d)
		if err != nil {
			return d, err
		}
		ok = found && d.SubscriptionID == subID
	}
	if !ok {
		return Delivery{}, certseal.Errorf(certseal.ENotFound, "推送记录 %q 不存在", id)
	}
	return d, nil
}

// Redeliver rewinds a subscription so that every event it may see from fromSeq on is delivered
// again, in order (the receiver tells repeats by event seq); rewinding to the event now being
// retried retries it at once. It never moves the cursor forward: fromSeq must not be past the
// event after the cursor. It returns the subscription, or an *certseal.Error: ENotFound,
// EForbidden, EInvalid for a seq of 0 or one past the cursor.
func (p *Pusher) Redeliver(ctx context.Context, actor certseal.Actor, subID string, fromSeq uint64) (Subscription, error) {
	s, err := p.rewind(actor, subID, fromSeq, "")
	if err == nil {
		p.Wake()
	}
	return s, err
}

// RedeliverDelivery redelivers the event of one delivery: it rewinds the subscription to that
// event (see Redeliver), so later events follow it again in order. It returns the subscription,
// or an *certseal.Error (ENotFound, EForbidden).
func (p *Pusher) RedeliverDelivery(ctx context.Context, actor certseal.Actor, subID, deliveryID string) (Subscription, error) {
	var seq uint64
	if err := p.DB.View(func(tx *store.Tx) error {
		if _, err := visibleSubTx(tx, actor, subID, false); err != nil {
			return err
		}
		d, err := getDeliveryTx(tx, subID, deliveryID)
		seq = d.EventSeq
		return err
	}); err != nil {
		return Subscription{}, err
	}
	s, err := p.rewind(actor, subID, seq, deliveryID)
	if err == nil {
		p.Wake()
	}
	return s, err
}

func (p *Pusher) rewind(actor certseal.Actor, subID string, fromSeq uint64, deliveryID string) (Subscription, error) {
	if fromSeq == 0 {
		return Subscription{}, certseal.Errorf(certseal.EInvalid, "from_seq 应为不小于1的事件序号")
	}
	now := p.Clock.Now().UTC()
	var s Subscription
	err := p.DB.Update(func(tx *store.Tx) error {
		var err error
		if s, err = visibleSubTx(tx, actor, subID, true); err != nil {
			return err
		}
		c, err := getCursorTx(tx, subID)
		if err != nil {
			return err
		}
		if fromSeq > c.Seq+1 {
			return certseal.Errorf(certseal.EInvalid, "只能重新推送已推送过的事件：from_seq 不能大于 %d（当前推送到第 %d 个事件，不能跳过未推送的事件）", c.Seq+1, c.Seq).
				WithDetail("cursor", c.Seq)
		}
		old := c.Seq
		if c.Pending != 0 {
			if err := cancelDeliveryTx(tx, c.Pending); err != nil {
				return err
			}
		}
		c = pushCursor{Seq: fromSeq - 1, Gen: c.Gen + 1}
		k, _ := subKey(subID)
		if err := tx.PutJSON(bucketPushCursors, k, c); err != nil {
			return err
		}
		detail := map[string]any{"from_seq": fromSeq, "previous_cursor": old}
		if deliveryID != "" {
			detail["delivery_id"] = deliveryID
		}
		if err := audit.Append(tx, now, actor, "push.subscription.redeliver", "subscription/"+subID, detail); err != nil {
			return err
		}
		return s.fill(tx)
	})
	return s, err
}
