package use

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
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

// Limits and defaults of consents and uses; the OpenAPI document states them too.
const (
	DefaultConsentTTL = 10 * time.Minute // how long a consent code is valid
	MaxConsentTTL     = time.Hour
	DefaultCodeUses   = 1  // a code may be redeemed this many times
	MaxCodeFailures   = 5  // wrong codes against a certificate before its live codes are locked
	MaxAddrFailures   = 10 // failed proofs or codes per client address (or user) per FailureWindow
	FailureWindow     = 15 * time.Minute
	DefaultCopyDays   = 30  // a copy's validity when the request names none
	MaxCopyDays       = 366 // the longest validity of a copy
	MaxPurposeLen     = 40
	MaxSerialLen      = 64
	MaxNoteLen        = 200
)

// Service runs consents, authorisations, uses and copies.
type Service struct {
	DB    *store.DB
	Clock certseal.Clock
	Certs *certs.Service
	Seals *seals.Registry
	// Rand is the randomness of codes and salts (nil: crypto/rand).
	Rand io.Reader
	// ConsentTTL is how long a consent code is valid (0: DefaultConsentTTL); CodeUses how many
	// times it may be redeemed (0: DefaultCodeUses).
	ConsentTTL time.Duration
	CodeUses   int
	// BaseURL starts the copy's download link in a use record (may be empty: a relative link).
	BaseURL string

	mu    sync.Mutex
	fails map[string][]time.Time // client address or user -> recent failures
}

func (s *Service) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

func (s *Service) ttl() time.Duration {
	if s.ConsentTTL > 0 && s.ConsentTTL <= MaxConsentTTL {
		return s.ConsentTTL
	}
	return DefaultConsentTTL
}

func (s *Service) uses() int {
	if s.CodeUses > 0 {
		return s.CodeUses
	}
	return DefaultCodeUses
}

// holderActor is who asks for a consent code on the public page: the holder, not signed in.
func holderActor(addr string) certseal.Actor {
	return certseal.Actor{UserID: "holder", Username: "持证人（" + addr + "）"}
}

// blocked reports whether key has MaxAddrFailures failures within FailureWindow.
func (s *Service) blocked(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recent(key, now)) >= MaxAddrFailures
}

func (s *Service) recent(key string, now time.Time) []time.Time {
	if s.fails == nil {
		s.fails = map[string][]time.Time{}
	}
	ts := s.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) > FailureWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(s.fails, key)
	} else {
		s.fails[key] = ts
	}
	return ts
}

// failed records a failure of key at now.
func (s *Service) failed(key string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fails) > 100000 { // bounded memory under a flood of addresses: forget the oldest state
		clear(s.fails)
	}
	s.fails[key] = append(s.recent(key, now), now)
}

func tooMany() error {
	return certseal.Errorf(certseal.ERateLimited, "尝试次数过多，请 %d 分钟后再试", int(FailureWindow/time.Minute))
}

// codeHash is the stored form of a code: SHA-256 over the salt, the certificate id and the code.
func codeHash(salt, certID, code string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + certID + "\x00" + code))
	return hex.EncodeToString(sum[:])
}

// newCode returns a uniformly random 6-digit code and a random salt.
func (s *Service) newCode() (code, salt string, err error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(s.rand(), b[:4]); err != nil {
			return "", "", err
		}
		n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		if n < 4294000000 { // 4294 × 10^6: no modulo bias
			code = fmt.Sprintf("%06d", n%1000000)
			break
		}
	}
	var sb [16]byte
	if _, err := io.ReadFull(s.rand(), sb[:]); err != nil {
		return "", "", err
	}
	return code, hex.EncodeToString(sb[:]), nil
}

// ValidCode reports whether s has the shape of a consent code: six ASCII digits.
func ValidCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IssueConsent gives the holder who proves possession of a certificate a consent code valid for
// ConsentTTL, for CodeUses uses. addr is the client address (failed proofs are limited per
// address). It returns a *certseal.Error: EInvalid for a missing or malformed proof, EForbidden
// when the proof does not match (the same answer for an unknown number and a wrong holder code),
// EConflict for a certificate not in force, ERateLimited after too many failures.
func (s *Service) IssueConsent(ctx context.Context, addr string, p Proof) (Grant, error) {
	now := s.Clock.Now()
	key := "addr:" + addr
	if s.blocked(key, now) {
		return Grant{}, tooMany()
	}
	p.Ref, p.HolderCode = strings.TrimSpace(p.Ref), strings.ToUpper(strings.TrimSpace(p.HolderCode))
	var proof string
	switch {
	case len(p.File) > 0:
		proof = "file"
		verify := s.Certs.VerifyPDF
		if certs.IsZIP(p.File) {
			verify = s.Certs.VerifyOFD
		}
		v, err := verify(ctx, p.File)
		if err != nil {
			return Grant{}, err
		}
		if v.Certificate == nil || v.Verdict != certs.VerdictValid {
			s.failed(key, now)
			return Grant{}, certseal.Errorf(certseal.EForbidden, "上传的文件不是本系统签发的有效证照（核验结果：%s），不能生成用证授权码", v.Label)
		}
		p.Ref = v.Certificate.Identifier
	case p.Ref != "" && p.HolderCode != "":
		proof = "holder_code"
		if len(p.Ref) > 120 || len(p.HolderCode) > 40 {
			return Grant{}, certseal.Errorf(certseal.EInvalid, "证照编号或持证主体代码过长")
		}
	default:
		return Grant{}, certseal.Errorf(certseal.EInvalid, "请上传电子证照文件，或填写证照编号和持证主体代码（统一社会信用代码或身份证号）")
	}
	code, salt, err := s.newCode()
	if err != nil {
		return Grant{}, err
	}
	var g Grant
	mismatch := false
	err = s.DB.Update(func(tx *store.Tx) error {
		c, err := certs.LookupTx(tx, p.Ref)
		if proof == "holder_code" && err == nil && c.Holder.CodeType == certs.CodeUSCC {
			// A legal entity's 统一社会信用代码 is public (the verification page and the national
			// credit system show it): knowing it proves nothing. Only a person's ID number, which
			// the public page masks, is a proof together with the licence number.
			return certseal.Errorf(certseal.EForbidden, "持证主体是法人或其他组织，其统一社会信用代码是公开信息，不能证明持有证照：请上传电子证照文件（PDF 或 OFD）").
				WithDetail("reason", ReasonFileRequired)
		}
		if proof == "holder_code" && (err != nil || subtle.ConstantTimeCompare([]byte(strings.ToUpper(c.Holder.Code)), []byte(p.HolderCode)) != 1) {
			mismatch = true
			return certseal.Errorf(certseal.EForbidden, "证照编号与持证主体代码不匹配")
		}
		if err != nil {
			return err
		}
		if c.StatusText(now) != certs.StatusValid.Label() {
			return certseal.Errorf(certseal.EConflict, "证照当前状态为「%s」，不能出示给用证部门", c.StatusText(now))
		}
		id, err := tx.NextID(bucketConsents)
		if err != nil {
			return err
		}
		cs := Consent{ID: strconv.FormatUint(id, 10), CertificateID: c.ID, Identifier: c.Identifier, Proof: proof,
			Salt: salt, Hash: codeHash(salt, c.ID, code), CreatedAt: now, ExpiresAt: now.Add(s.ttl()), MaxUses: s.uses()}
		if err := tx.PutJSON(bucketConsents, store.U64(id), cs); err != nil {
			return err
		}
		if err := tx.Put(bucketConsentsBy, append(store.Prefix(c.ID), store.U64(id)...), nil); err != nil {
			return err
		}
		detail := fmt.Sprintf("持证人凭%s生成用证授权码（编号 %s），%s前有效", proofLabel(proof), cs.ID, cs.ExpiresAt.In(certseal.China).Format("15:04"))
		if err := logTx(tx, now, c.ID, "consent.issued", "", "持证人", detail, ""); err != nil {
			return err
		}
		if err := audit.Append(tx, now, holderActor(addr), "use.consent.issue", "certificate/"+c.ID,
			map[string]any{"consent_id": cs.ID, "proof": proof, "expires_at": cs.ExpiresAt}); err != nil {
			return err
		}
		name := maskedHolder(c)
		g = Grant{Code: code, ConsentID: cs.ID, ExpiresAt: cs.ExpiresAt, MaxUses: cs.MaxUses, Identifier: c.Identifier,
			LicenceNumber: c.LicenceNumber, Name: c.Name, HolderName: name, QRText: "CERTSEAL-CONSENT:" + c.Identifier + ":" + code}
		return nil
	})
	if mismatch {
		s.failed(key, now)
	}
	return g, err
}

// ReasonFileRequired is the detail "reason" of IssueConsent's EForbidden for a proof by licence
// number and holder code of a licence whose holder is a legal entity: only the file proves
// possession of it.
const ReasonFileRequired = "file_required"

func proofLabel(p string) string {
	if p == "file" {
		return "电子证照文件"
	}
	return "证照编号和持证主体代码"
}

// maskedHolder returns the holder's name as the public page shows it (a person's masked).
func maskedHolder(c certs.Certificate) string {
	if c.Holder.CodeType != certs.CodeUSCC {
		return certs.MaskPersonName(c.Holder.Name)
	}
	return c.Holder.Name
}

// logTx appends an entry to the certificate's use log.
func logTx(tx *store.Tx, now time.Time, certID, action, org, user, detail, useID string) error {
	seq, err := tx.NextID(bucketLog)
	if err != nil {
		return err
	}
	e := Entry{Seq: seq, Time: now, Action: action, Label: actionLabels[action], CertificateID: certID, OrgName: org, Username: user, Detail: detail, UseID: useID}
	return tx.PutJSON(bucketLog, append(store.Prefix(certID), store.U64(seq)...), e)
}

var actionLabels = map[string]string{
	"consent.issued":   "生成用证授权码",
	"consent.redeemed": "使用用证授权码",
	"consent.failed":   "授权码错误",
	"consent.viewed":   "持证人查看用证记录",
	"use":              "用证",
}

// redeemTx finds the live consent of certificate certID whose code is code. A wrong code
// counts a failure on every live consent of the certificate (so that each code stands at most
// MaxCodeFailures guesses) and returns nil.
func redeemTx(tx *store.Tx, now time.Time, certID, code string) (*Consent, error) {
	var live []Consent
	if err := tx.Scan(bucketConsentsBy, store.Prefix(certID), nil, func(k, _ []byte) error {
		var c Consent
		ok, err := tx.GetJSON(bucketConsents, k[len(k)-8:], &c)
		if err != nil || !ok {
			return err
		}
		if c.live(now) {
			live = append(live, c)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for i := range live {
		if subtle.ConstantTimeCompare([]byte(codeHash(live[i].Salt, certID, code)), []byte(live[i].Hash)) == 1 {
			return &live[i], nil
		}
	}
	for _, c := range live {
		c.Failures++
		k, _ := store.IDKey(c.ID)
		if err := tx.PutJSON(bucketConsents, k, c); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// checkConsent checks code against certificate certID for the actor (key limits failures per
// user or address); on success it does not consume the code. A wrong code is recorded (the
// failure counts, the use log and the audit say so) in its own transaction.
func (s *Service) checkConsent(actor certseal.Actor, orgName, key string, certID, code string, consume bool, useTx func(tx *store.Tx, c *Consent) error) error {
	now := s.Clock.Now()
	if s.blocked(key, now) {
		return tooMany()
	}
	if !ValidCode(code) {
		s.failed(key, now)
		return certseal.Errorf(EConsentInvalid, "用证授权码应为 6 位数字")
	}
	wrong := false
	err := s.DB.Update(func(tx *store.Tx) error {
		c, err := redeemTx(tx, now, certID, code)
		if err != nil {
			return err
		}
		if c == nil {
			wrong = true
			if err := logTx(tx, now, certID, "consent.failed", orgName, actor.Username, "输入的用证授权码错误、已过期或已用完", ""); err != nil {
				return err
			}
			return audit.Append(tx, now, actor, "use.consent.fail", "certificate/"+certID, nil)
		}
		if consume {
			c.Uses++
			k, _ := store.IDKey(c.ID)
			if err := tx.PutJSON(bucketConsents, k, c); err != nil {
				return err
			}
		}
		return useTx(tx, c)
	})
	if err != nil {
		return err
	}
	if wrong {
		s.failed(key, now)
		return certseal.Errorf(EConsentInvalid, "用证授权码错误、已过期或已用完；请持证人重新生成").WithDetail("max_failures", MaxCodeFailures)
	}
	return nil
}

// Log returns the use log of a certificate the actor may read (its issuer, the responsible city
// department, administrators and auditors), oldest first. It returns an *certseal.Error
// (ENotFound) for a certificate the actor may not see.
func (s *Service) Log(ctx context.Context, actor certseal.Actor, certID string) ([]Entry, error) {
	if _, err := s.Certs.Get(ctx, actor, certID); err != nil {
		return nil, err
	}
	var out []Entry
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		out, err = logOf(tx, certID)
		return err
	})
	return out, err
}

func logOf(tx *store.Tx, certID string) ([]Entry, error) {
	out := []Entry{}
	err := tx.Scan(bucketLog, store.Prefix(certID), nil, func(_, v []byte) error {
		var e Entry
		if err := jsonUnmarshal(v, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// HolderLog returns the use log of the certificate ref (identifier or licence number) to its
// holder, who shows a live consent code for it (the code is not consumed; a wrong one counts as
// a failure). addr limits failures per client address.
func (s *Service) HolderLog(ctx context.Context, addr, ref, code string) ([]Entry, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" || len(ref) > 120 {
		return nil, certseal.Errorf(certseal.EInvalid, "请输入证照编号或证照标识")
	}
	var c certs.Certificate
	if err := s.DB.View(func(tx *store.Tx) error {
		var err error
		c, err = certs.LookupTx(tx, ref)
		return err
	}); err != nil {
		return nil, err
	}
	var out []Entry
	actor := holderActor(addr)
	err := s.checkConsent(actor, "", "addr:"+addr, c.ID, strings.TrimSpace(code), false, func(tx *store.Tx, cs *Consent) error {
		var err error
		if out, err = logOf(tx, c.ID); err != nil {
			return err
		}
		if err := logTx(tx, s.Clock.Now(), c.ID, "consent.viewed", "", "持证人", "凭用证授权码 "+cs.ID+" 查看", ""); err != nil {
			return err
		}
		return audit.Append(tx, s.Clock.Now(), actor, "use.log.view", "certificate/"+c.ID, map[string]any{"consent_id": cs.ID})
	})
	return out, err
}

// trimmed checks a free-text field: trimmed, not empty (unless optional), at most max
// characters, no control characters.
func trimmed(v, what string, max int, optional bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" && !optional {
		return "", certseal.Errorf(certseal.EInvalid, "请填写%s", what).WithDetail("field", what)
	}
	if utf8.RuneCountInString(v) > max || !utf8.ValidString(v) {
		return "", certseal.Errorf(certseal.EInvalid, "%s不能超过 %d 个字", what, max).WithDetail("field", what)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", certseal.Errorf(certseal.EInvalid, "%s含有控制字符", what).WithDetail("field", what)
		}
	}
	return v, nil
}

// validSerial reports whether s is a business serial: letters, digits, - _ / . only.
func validSerial(s string) bool {
	if s == "" || len(s) > MaxSerialLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || strings.IndexByte("-_/.", c) >= 0) {
			return false
		}
	}
	return true
}

// orgOf returns the actor's organisation inside tx.
func orgOf(tx *store.Tx, actor certseal.Actor) (certseal.Org, error) {
	return orgs.Get(tx, actor.OrgID)
}

// itemOf returns a catalogue item (or sub-item) by code.
func itemOf(tx *store.Tx, code string) (catalogue.Item, error) {
	return catalogue.ResolveCode(tx, code)
}
