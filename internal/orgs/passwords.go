package orgs

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
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

var errBadLogin = certseal.Errorf(certseal.EUnauthorized, "用户名或密码错误")

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
	k, ok := idKey(userID)
	if !ok {
		return rec, false, nil
	}
	found, err := tx.GetJSON(bucketPasswords, k, &rec)
	return rec, found, err
}

func putPassword(tx *store.Tx, userID string, rec passwordRecord) error {
	k, ok := idKey(userID)
	if !ok {
		return certseal.Errorf(certseal.ENotFound, "用户 %q 不存在", userID)
	}
	return tx.PutJSON(bucketPasswords, k, rec)
}

// SetPassword sets a user's password; only an administrator may (or the system actor, for the
// demo data). The user is unlocked, and must change the password at the next sign-in unless it
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
		return audit.Append(tx, now, actor, "user.password_set", "user/"+u.ID, map[string]any{"username": u.Username, "must_change": rec.MustChange})
	})
}

// ChangePassword changes the actor's own password after checking the old one. A wrong old
// password counts as a failed sign-in. It returns an *Error: EUnauthorized for a wrong old
// password, ERateLimited while the user is locked out, EInvalid when the new password breaks the
// rules or equals the old one.
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
	if _, err := s.checkUser(ctx, u, oldPassword); err != nil {
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
		return audit.Append(tx, now, actor, "user.password_change", "user/"+u.ID, nil)
	})
}

// CheckPassword signs a user in by username and password and returns the user. After
// MaxFailures wrong passwords in a row the user is locked out for LockoutDuration (audited as
// user.lockout). It returns an *Error: EUnauthorized ("用户名或密码错误") for an unknown user, a
// user without a password, a wrong password or a disabled user; ERateLimited, with the time the
// lock ends, while the user is locked out.
func (s *Service) CheckPassword(ctx context.Context, username, password string) (certseal.User, error) {
	var u certseal.User
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		u, err = UserByName(tx, strings.TrimSpace(username))
		return err
	})
	if err != nil {
		if certseal.ErrorCode(err) == certseal.ENotFound {
			matchPassword(dummyHash, password)
			return u, errBadLogin
		}
		return u, err
	}
	return s.checkUser(ctx, u, password)
}

func lockedError(until time.Time) error {
	return certseal.Errorf(certseal.ERateLimited, "密码连续错误%d次，账号已锁定%d分钟，请于 %s 后再试", MaxFailures,
		int(LockoutDuration/time.Minute), until.In(certseal.China).Format("15:04")).WithDetail("locked_until", until.UTC())
}

func (s *Service) checkUser(ctx context.Context, u certseal.User, password string) (certseal.User, error) {
	var rec passwordRecord
	var found bool
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		rec, found, err = getPassword(tx, u.ID)
		return err
	})
	if err != nil {
		return u, err
	}
	now := s.Clock.Now()
	if found && rec.LockedUntil != nil && now.Before(*rec.LockedUntil) {
		return u, lockedError(*rec.LockedUntil)
	}
	if !found || rec.Hash == "" {
		matchPassword(dummyHash, password)
		return u, errBadLogin
	}
	if matchPassword(rec.Hash, password) {
		if rec.Failures > 0 || rec.LockedUntil != nil {
			err := s.DB.Update(func(tx *store.Tx) error {
				cur, found, err := getPassword(tx, u.ID)
				if err != nil || !found || cur.Hash != rec.Hash {
					return err
				}
				cur.Failures, cur.LockedUntil = 0, nil
				return putPassword(tx, u.ID, cur)
			})
			if err != nil {
				return u, err
			}
		}
		if u.Disabled {
			return u, certseal.Errorf(certseal.EUnauthorized, "账号已停用，请联系管理员")
		}
		return u, nil
	}
	var lockedUntil *time.Time
	err = s.DB.Update(func(tx *store.Tx) error {
		cur, found, err := getPassword(tx, u.ID)
		if err != nil || !found || cur.Hash != rec.Hash {
			return err // the password changed meanwhile: this failure is against an old one
		}
		now := s.Clock.Now()
		if cur.LockedUntil != nil && now.Before(*cur.LockedUntil) {
			lockedUntil = cur.LockedUntil
			return nil
		}
		cur.LockedUntil = nil
		cur.Failures++
		if cur.Failures >= MaxFailures {
			until := now.Add(LockoutDuration).UTC()
			cur.Failures, cur.LockedUntil, lockedUntil = 0, &until, &until
			if err := audit.Append(tx, now, certseal.System, "user.lockout", "user/"+u.ID,
				map[string]any{"username": u.Username, "failures": MaxFailures, "until": until}); err != nil {
				return err
			}
		}
		return putPassword(tx, u.ID, cur)
	})
	if err != nil {
		return u, err
	}
	if lockedUntil != nil {
		return u, lockedError(*lockedUntil)
	}
	return u, errBadLogin
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
