package orgs

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

// Password rules and the lockout. A user who gives a wrong password MaxFailures times in a row
// is locked out for LockoutDuration; a password set by an administrator unlocks the user.
const (
	MinPasswordLen  = 8
	MaxPasswordLen  = 128
	MaxFailures     = 5
	LockoutDuration = 15 * time.Minute
)

// argon2id parameters (OWASP's minimum: 19 MiB, 2 passes, 1 lane); they are stored in every
// hash, so raising them later leaves existing hashes valid.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// passwordRecord is what bucketPasswords holds per user id. Hash is a PHC string; the password
// itself is never stored or logged.
type passwordRecord struct {
	Hash        string     `json:"hash"`
	SetAt       time.Time  `json:"set_at"`
	SetBy       string     `json:"set_by"`
	MustChange  bool       `json:"must_change,omitempty"`
	Failures    int        `json:"failures,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
	// FailedFrom are the client addresses that gave a wrong password since the last successful
	// sign-in (or the end of the last lock); the lock holds against them.
	FailedFrom []string `json:"failed_from,omitempty"`
	// Pending are the checks reserved and not finished; they count toward MaxFailures.
	Pending []pendingCheck `json:"pending,omitempty"`
}

// PasswordInfo is what an administrator sees of a user's password: never the password or its
// hash.
type PasswordInfo struct {
	Set         bool       `json:"set"`
	SetAt       time.Time  `json:"set_at,omitzero"`
	SetBy       string     `json:"set_by,omitempty"`
	MustChange  bool       `json:"must_change,omitempty"`
	Failures    int        `json:"failures,omitempty"`
	LockedUntil *time.Time `json:"locked_until,omitempty"`
}

// errBadLogin is the one answer to every refused sign-in for an account (see CheckPassword).
var errBadLogin = certseal.Errorf(certseal.EUnauthorized, "用户名或密码错误。连续输错%d次后账号将锁定%d分钟，锁定期间或账号停用时无法登录；如有疑问请联系管理员。",
	MaxFailures, int(LockoutDuration/time.Minute))

// CheckPasswordRule returns an *Error (EInvalid) with a Chinese message when pw breaks the
// password rules: 8 to 128 characters, with at least one letter and one digit, and no control
// characters.
func CheckPasswordRule(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || len(pw) > MaxPasswordLen {
		return certseal.Errorf(certseal.EInvalid, "密码长度应为%d至%d个字符", MinPasswordLen, MaxPasswordLen)
	}
	if !utf8.ValidString(pw) {
		return certseal.Errorf(certseal.EInvalid, "密码包含无效字符")
	}
	var letter, digit bool
	for _, r := range pw {
		switch {
		case unicode.IsControl(r):
			return certseal.Errorf(certseal.EInvalid, "密码不能包含控制字符")
		case r >= '0' && r <= '9':
			digit = true
		case unicode.IsLetter(r):
			letter = true
		}
	}
	if !letter || !digit {
		return certseal.Errorf(certseal.EInvalid, "密码应同时包含字母和数字")
	}
	return nil
}

// hashPassword returns the argon2id PHC string of pw with a fresh random salt.
func hashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// dummyHash is compared against when there is no user or no password, so that an unknown
// username takes as long to refuse as a wrong password.
var dummyHash, _ = hashPassword("certseal-dummy-password-0")

// matchPassword reports whether pw matches the PHC string h, in constant time. A malformed hash
// never matches.
func matchPassword(h, pw string) bool {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<22 || t == 0 || t > 100 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

func getPassword(tx *store.Tx, userID string) (passwordRecord, bool, error) {
	var rec passwordRecord
	k, ok := store.IDKey(userID)
	if !ok {
		return rec, false, nil
	}
	found, err := tx.GetJSON(bucketPasswords, k, &rec)
	return rec, found, err
}

func putPassword(tx *store.Tx, userID string, rec passwordRecord) error {
	k, ok := store.IDKey(userID)
	if !ok {
		return certseal.Errorf(certseal.ENotFound, "用户 %q 不存在", userID)
	}
	return tx.PutJSON(bucketPasswords, k, rec)
}

// SetPassword sets a user's password; only an administrator may (or the system actor, for the
// demo data). The user is unlocked, their web sessions end, and they must change the password at the next sign-in unless it
// is their own. It returns an *Error: EForbidden for another role, ENotFound for an unknown
// user, EInvalid for a password that breaks the rules (CheckPasswordRule).
func (s *Service) SetPassword(ctx context.Context, actor certseal.Actor, userID, password string) error {
	if actor.Role != certseal.RoleAdmin {
		return certseal.Errorf(certseal.EForbidden, "只有管理员可以设置其他用户的密码")
	}
	if err := CheckPasswordRule(password); err != nil {
		return err
	}
	h, err := hashPassword(password) // outside the transaction: no crypto inside one
	if err != nil {
		return err
	}
	return s.DB.Update(func(tx *store.Tx) error {
		u, err := GetUser(tx, userID)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		rec := passwordRecord{Hash: h, SetAt: now.UTC(), SetBy: actor.Username, MustChange: actor.UserID != u.ID && actor.UserID != certseal.System.UserID}
		if err := putPassword(tx, u.ID, rec); err != nil {
			return err
		}
		ended, err := endUserSessionsTx(tx, u.ID) // signed in with the old password
		if err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "user.password_set", "user/"+u.ID, map[string]any{"username": u.Username, "must_change": rec.MustChange, "sessions_ended": ended})
	})
}

// ChangePassword changes the actor's own password after checking the old one, and ends every
// web session of the user (the web page signs the browser that changed it in again). A wrong old
// password counts as a failed sign-in (from the address "account:<user id>"). It returns an
// *Error: EUnauthorized for a wrong old password or while the user is locked out, ERateLimited
// when the server is too busy to check, EInvalid when the new password breaks the rules or
// equals the old one.
func (s *Service) ChangePassword(ctx context.Context, actor certseal.Actor, oldPassword, newPassword string) error {
	u, err := s.GetUser(ctx, actor.UserID)
	if err != nil {
		return err
	}
	if err := CheckPasswordRule(newPassword); err != nil {
		return err
	}
	if oldPassword == newPassword {
		return certseal.Errorf(certseal.EInvalid, "新密码不能与原密码相同")
	}
	if _, err := s.checkUser(ctx, "account:"+u.ID, u, oldPassword); err != nil {
		if certseal.ErrorCode(err) == certseal.EUnauthorized {
			return certseal.Errorf(certseal.EUnauthorized, "原密码错误")
		}
		return err
	}
	h, err := hashPassword(newPassword)
	if err != nil {
		return err
	}
	return s.DB.Update(func(tx *store.Tx) error {
		now := s.Clock.Now()
		rec := passwordRecord{Hash: h, SetAt: now.UTC(), SetBy: u.Username}
		if err := putPassword(tx, u.ID, rec); err != nil {
			return err
		}
		ended, err := endUserSessionsTx(tx, u.ID) // every browser signed in with the old password
		if err != nil {
			return err
		}
		return audit.Append(tx, now, actor, "user.password_change", "user/"+u.ID, map[string]any{"sessions_ended": ended})
	})
}

// CheckPassword signs a user in by username and password, from the client address addr, and
// returns the user. Every refusal for the account gets the same answer, errBadLogin
// (EUnauthorized, "用户名或密码错误……"), and costs one argon2id check, whether the user is
// unknown, has no password, gave a wrong password, is locked out or is disabled, so that
// neither the answer nor its timing tells which names exist.
//
// Two throttles apply. Per address: an address that failed PasswordLimits.AddrMaxFailures
// times within AddrWindow, against any names, is refused with ERateLimited (and the seconds to
// wait in Detail["retry_after_seconds"]) before any check; this answer is about the caller,
// not the account, so it tells nothing about names. Per account: MaxFailures wrong passwords
// in a row (from any addresses, since the last successful sign-in) lock the account for
// LockoutDuration, audited once per lock as user.lockout. The check and the count are one
// step: each attempt first reserves a place in the account's record in one transaction (a
// reservation counts toward MaxFailures until its result is recorded), so a burst of parallel
// guesses runs at most MaxFailures checks and locks once.
//
// The lock holds against the addresses that gave a wrong password for the account since its
// last successful sign-in (FailedFrom): from them even the right password is refused until the
// lock ends. An address that has not failed for the account may still sign in with the right
// password while it is locked, one attempt at a time; if it guesses wrong it joins the lock. So
// a stranger can lock an account only for themselves and cannot keep its owner out. When
// maxFailedFrom addresses have failed, the lock holds against every address. A correct
// password from an unlocked address resets the count; it leaves a running lock in place for the
// addresses that caused it. An administrator's new password (SetPassword) ends the lock.
//
// It returns ERateLimited as well when no check slot came free within PasswordLimits.CheckWait
// (or ctx ended); such an attempt is not counted.
func (s *Service) CheckPassword(ctx context.Context, addr, username, password string) (certseal.User, error) {
	if err := s.addrAllowed(addr); err != nil {
		return certseal.User{}, err
	}
	var u certseal.User
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		u, err = UserByName(tx, strings.TrimSpace(username))
		return err
	})
	if err != nil {
		if certseal.ErrorCode(err) == certseal.ENotFound {
			return certseal.User{}, s.refuse(ctx, addr, password)
		}
		return u, err
	}
	return s.checkUser(ctx, addr, u, password)
}

// maxFailedFrom bounds the addresses remembered per account; past it the lock holds for all.
const maxFailedFrom = 64

// pendingTTL is the age past which a reservation was lost (the process stopped during the check)
// and is dropped: longer than any check may wait for its slot and run.
func (s *Service) pendingTTL() time.Duration { return s.throttle().limits.CheckWait + time.Minute }

// pendingCheck is a password check reserved in the account's record and not yet finished.
type pendingCheck struct {
	ID   string    `json:"id"`
	Addr string    `json:"addr"`
	At   time.Time `json:"at"`
}

func (r *passwordRecord) locked(now time.Time) bool {
	return r.LockedUntil != nil && now.Before(*r.LockedUntil)
}

// mayTry reports whether addr may make an attempt now, after dropping reservations older than
// ttl and clearing a lock that ran out. At most MaxFailures attempts for an unlocked account are
// checked at once; more are refused like a wrong password (without counting for the account).
func (r *passwordRecord) mayTry(addr string, now time.Time, ttl time.Duration) bool {
	r.Pending = slices.DeleteFunc(r.Pending, func(p pendingCheck) bool { return now.Sub(p.At) > ttl })
	if r.locked(now) {
		busy := slices.ContainsFunc(r.Pending, func(p pendingCheck) bool { return p.Addr == addr })
		return !busy && !slices.Contains(r.FailedFrom, addr) && len(r.FailedFrom)+len(r.Pending) < maxFailedFrom
	}
	if r.LockedUntil != nil {
		r.LockedUntil, r.Failures, r.FailedFrom = nil, 0, nil
	}
	return r.Failures+len(r.Pending) < MaxFailures
}

// refuse is the answer for an attempt that gets no real check: it runs the dummy check, so that
// it takes as long as a real one, and counts a failure for the address.
func (s *Service) refuse(ctx context.Context, addr, password string) error {
	if _, err := s.match(ctx, dummyHash, password, true); err != nil {
		return err
	}
	s.addrFailed(addr)
	return errBadLogin
}

func newPendingID() string {
	var b [9]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// reserve records an attempt from addr in the user's password record, in one transaction with
// the check that addr may try. It returns the reservation and the record, or ok false when
// there is no password or the attempt is refused.
func (s *Service) reserve(addr, userID string) (p pendingCheck, rec passwordRecord, ok bool, err error) {
	ttl := s.pendingTTL()
	err = s.DB.Update(func(tx *store.Tx) error {
		cur, found, err := getPassword(tx, userID)
		if err != nil || !found || cur.Hash == "" {
			return err
		}
		now := s.Clock.Now()
		if !cur.mayTry(addr, now, ttl) {
			return nil
		}
		p = pendingCheck{ID: newPendingID(), Addr: addr, At: now.UTC()}
		cur.Pending = append(cur.Pending, p)
		rec, ok = cur, true
		return putPassword(tx, userID, cur)
	})
	return p, rec, ok && err == nil, err
}

// finish ends the reservation p and records its result (nil: no result, the check did not run).
// It reports stale when the password was replaced meanwhile, so the result does not count.
func (s *Service) finish(u certseal.User, p pendingCheck, hash string, result *bool) (stale bool, err error) {
	err = s.DB.Update(func(tx *store.Tx) error {
		cur, found, err := getPassword(tx, u.ID)
		if err != nil {
			return err
		}
		if !found || cur.Hash != hash {
			stale = true
			return nil
		}
		cur.Pending = slices.DeleteFunc(cur.Pending, func(q pendingCheck) bool { return q.ID == p.ID })
		now := s.Clock.Now()
		switch {
		case result == nil:
		case *result:
			if !cur.locked(now) {
				cur.Failures, cur.LockedUntil, cur.FailedFrom = 0, nil, nil
			}
		default:
			cur.Failures++
			if !slices.Contains(cur.FailedFrom, p.Addr) && len(cur.FailedFrom) < maxFailedFrom {
				cur.FailedFrom = append(cur.FailedFrom, p.Addr)
			}
			if !cur.locked(now) && cur.Failures >= MaxFailures {
				until := now.Add(LockoutDuration).UTC()
				cur.LockedUntil = &until
				if err := audit.Append(tx, now, certseal.System, "user.lockout", "user/"+u.ID,
					map[string]any{"username": u.Username, "failures": cur.Failures, "until": until, "from": cur.FailedFrom}); err != nil {
					return err
				}
			}
		}
		return putPassword(tx, u.ID, cur)
	})
	return stale, err
}

// checkUser checks the password of a known user from addr (see CheckPassword).
func (s *Service) checkUser(ctx context.Context, addr string, u certseal.User, password string) (certseal.User, error) {
	p, rec, ok, err := s.reserve(addr, u.ID)
	if err != nil {
		return u, err
	}
	if !ok { // no password, or locked for this address, or the limit's worth of checks in flight
		return u, s.refuse(ctx, addr, password)
	}
	match, err := s.match(ctx, rec.Hash, password, false)
	if err != nil {
		if _, ferr := s.finish(u, p, rec.Hash, nil); ferr != nil {
			return u, ferr
		}
		return u, err
	}
	stale, err := s.finish(u, p, rec.Hash, &match)
	if err != nil {
		return u, err
	}
	if !match || stale || u.Disabled {
		s.addrFailed(addr)
		return u, errBadLogin
	}
	return u, nil
}

// PasswordInfo returns what an administrator may know of a user's password. It returns an
// *Error with code ENotFound for an unknown user.
func (s *Service) PasswordInfo(ctx context.Context, userID string) (PasswordInfo, error) {
	var info PasswordInfo
	err := s.DB.View(func(tx *store.Tx) error {
		if _, err := GetUser(tx, userID); err != nil {
			return err
		}
		rec, found, err := getPassword(tx, userID)
		if err != nil || !found {
			return err
		}
		info = PasswordInfo{Set: rec.Hash != "", SetAt: rec.SetAt, SetBy: rec.SetBy, MustChange: rec.MustChange, Failures: rec.Failures}
		if rec.LockedUntil != nil && s.Clock.Now().Before(*rec.LockedUntil) {
			info.LockedUntil = rec.LockedUntil
		}
		return nil
	})
	return info, err
}

// passwordAlphabet leaves out characters that are easy to misread (0/o, 1/l/i).
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// GeneratePassword returns a fresh random password of four groups of four characters, e.g.
// "k7pm-3xqa-9fdn-t2wh", that passes CheckPasswordRule. It returns the random source's error.
func GeneratePassword() (string, error) {
	for {
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return "", err
		}
		var b strings.Builder
		n := 0
		for _, c := range raw {
			if int(c) >= 256/len(passwordAlphabet)*len(passwordAlphabet) {
				continue // no modulo bias
			}
			if n > 0 && n%4 == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(passwordAlphabet[int(c)%len(passwordAlphabet)])
			if n++; n == 16 {
				break
			}
		}
		if n < 16 {
			continue
		}
		if pw := b.String(); CheckPasswordRule(pw) == nil {
			return pw, nil
		}
	}
}
