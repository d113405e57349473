package orgs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/store"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// GetUser returns the user with the given id inside tx, or an *Error with code ENotFound.
func GetUser(tx *store.Tx, id string) (certseal.User, error) {
	return store.GetByID[certseal.User](tx, bucketUsers, id, "用户")
}

// UserByName returns the user with the given username inside tx, or an *Error with code
// ENotFound.
func UserByName(tx *store.Tx, username string) (certseal.User, error) {
	id := tx.Get(bucketUserNames, []byte(strings.ToLower(username)))
	if id == nil {
		return certseal.User{}, certseal.Errorf(certseal.ENotFound, "用户 %q 不存在", username)
	}
	return GetUser(tx, string(id))
}

// CreateUser stores a new user after checking the username, the organisation and that the role
// fits the organisation's kind. It returns an *Error: EInvalid, ENotFound (organisation) or
// EConflict (username taken).
func (s *Service) CreateUser(ctx context.Context, actor certseal.Actor, u certseal.User) (certseal.User, error) {
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		u, err = CreateUserTx(tx, s.Clock.Now(), actor, u)
		return err
	})
	return u, err
}

// CreateUserTx is CreateUser inside the caller's transaction.
func CreateUserTx(tx *store.Tx, now time.Time, actor certseal.Actor, u certseal.User) (certseal.User, error) {
	u.Username = strings.TrimSpace(u.Username)
	u.Name = strings.TrimSpace(u.Name)
	if !ValidUsername(u.Username) {
		return u, certseal.Errorf(certseal.EInvalid, "用户名应为3至32位字母、数字、点、下划线或连字符")
	}
	if u.Name == "" || utf8.RuneCountInString(u.Name) > 50 {
		return u, certseal.Errorf(certseal.EInvalid, "姓名不能为空且不能超过50个字符")
	}
	if !u.Role.Valid() {
		return u, certseal.Errorf(certseal.EInvalid, "未知的角色 %q", u.Role)
	}
	org, err := Get(tx, u.OrgID)
	if err != nil {
		return u, err
	}
	if !certseal.RoleFits(u.Role, org.Kind) {
		return u, certseal.Errorf(certseal.EInvalid, "角色“%s”不能属于%s“%s”", u.Role.Label(), org.Kind.Label(), org.Name)
	}
	lname := []byte(strings.ToLower(u.Username))
	if tx.Has(bucketUserNames, lname) {
		return u, certseal.Errorf(certseal.EConflict, "用户名 %q 已被使用", u.Username)
	}
	n, err := tx.NextID(bucketUsers)
	if err != nil {
		return u, err
	}
	u.ID = strconv.FormatUint(n, 10)
	u.CreatedAt = now.UTC()
	if err := tx.PutJSON(bucketUsers, store.U64(n), u); err != nil {
		return u, err
	}
	if err := tx.Put(bucketUserNames, lname, []byte(u.ID)); err != nil {
		return u, err
	}
	return u, audit.Append(tx, now, actor, "user.create", "user/"+u.ID, u)
}

// ListUsers returns up to limit users (of one organisation when orgID is set) after the cursor,
// and the next cursor ("" at the end).
func (s *Service) ListUsers(ctx context.Context, orgID, after string, limit int) ([]certseal.User, string, error) {
	start, err := cursorKey(after)
	if err != nil {
		return nil, "", err
	}
	var out []certseal.User
	var next []byte
	err = s.DB.View(func(tx *store.Tx) error {
		out, next, err = store.Page(tx, bucketUsers, nil, start, limit, func(u *certseal.User) bool { return orgID == "" || u.OrgID == orgID })
		return err
	})
	return out, cursorOf(next), err
}

// GetUser returns the user with the given id, or an *Error with code ENotFound.
func (s *Service) GetUser(ctx context.Context, id string) (certseal.User, error) {
	var u certseal.User
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		u, err = GetUser(tx, id)
		return err
	})
	return u, err
}

// SetUserDisabled disables or re-enables a user; a disabled user's tokens stop working and
// their web sessions end. It
// returns an *Error with code ENotFound for an unknown user.
func (s *Service) SetUserDisabled(ctx context.Context, actor certseal.Actor, id string, disabled bool) (certseal.User, error) {
	var u certseal.User
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		if u, err = GetUser(tx, id); err != nil {
			return err
		}
		if u.ID == actor.UserID && disabled {
			return certseal.Errorf(certseal.EInvalid, "不能停用自己的账号")
		}
		u.Disabled = disabled
		k, _ := store.IDKey(id)
		if err := tx.PutJSON(bucketUsers, k, u); err != nil {
			return err
		}
		action := "user.enable"
		var detail map[string]any
		if disabled {
			action = "user.disable"
			ended, err := endUserSessionsTx(tx, u.ID)
			if err != nil {
				return err
			}
			detail = map[string]any{"sessions_ended": ended}
		}
		return audit.Append(tx, s.Clock.Now(), actor, action, "user/"+u.ID, detail)
	})
	return u, err
}

// Token is an API token's record. The secret itself is shown once, at creation; only its SHA-256
// is stored.
type Token struct {
	ID        string     `json:"id"`
	UserID    string     `json:"user_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	LastUsed  *time.Time `json:"last_used_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	Hash      string     `json:"-"`
}

type tokenRecord struct {
	Token
	Hash string `json:"hash"`
}

// TokenPrefix starts every certseal API token, so that a leaked one is easy to recognise.
const TokenPrefix = "cst_"

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new API token for the user and returns its record and the secret, which is
// never stored or shown again. It returns an *Error with code ENotFound for an unknown user, or
// EInvalid for a name over 50 characters.
func (s *Service) CreateToken(ctx context.Context, actor certseal.Actor, userID, name string) (Token, string, error) {
	var t Token
	var secret string
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		t, secret, err = CreateTokenTx(tx, s.Clock.Now(), actor, userID, name)
		return err
	})
	return t, secret, err
}

// CreateTokenTx is CreateToken inside the caller's transaction.
func CreateTokenTx(tx *store.Tx, now time.Time, actor certseal.Actor, userID, name string) (Token, string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 50 {
		return Token{}, "", certseal.Errorf(certseal.EInvalid, "令牌名称不能超过50个字符")
	}
	if _, err := GetUser(tx, userID); err != nil {
		return Token{}, "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return Token{}, "", err
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	n, err := tx.NextID(bucketTokens)
	if err != nil {
		return Token{}, "", err
	}
	t := Token{ID: strconv.FormatUint(n, 10), UserID: userID, Name: name, CreatedAt: now.UTC()}
	h := hashToken(secret)
	if err := tx.PutJSON(bucketTokens, store.U64(n), tokenRecord{Token: t, Hash: h}); err != nil {
		return Token{}, "", err
	}
	if err := tx.Put(bucketTokenHash, []byte(h), []byte(t.ID)); err != nil {
		return Token{}, "", err
	}
	return t, secret, audit.Append(tx, now, actor, "token.create", "token/"+t.ID, map[string]string{"user_id": userID, "name": name})
}

func getToken(tx *store.Tx, id string) (tokenRecord, error) {
	return store.GetByID[tokenRecord](tx, bucketTokens, id, "令牌")
}

// ListTokens returns the tokens of one user (every user's when userID is ""), oldest first.
func (s *Service) ListTokens(ctx context.Context, userID string) ([]Token, error) {
	var out []Token
	err := s.DB.View(func(tx *store.Tx) error {
		return tx.Scan(bucketTokens, nil, nil, func(_, v []byte) error {
			var r tokenRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if userID == "" || r.UserID == userID {
				out = append(out, r.Token)
			}
			return nil
		})
	})
	return out, err
}

// GetToken returns a token's record, or an *Error with code ENotFound.
func (s *Service) GetToken(ctx context.Context, id string) (Token, error) {
	var t Token
	err := s.DB.View(func(tx *store.Tx) error {
		r, err := getToken(tx, id)
		t = r.Token
		return err
	})
	return t, err
}

// RevokeToken revokes a token; it stops working at once. It returns an *Error: ENotFound, or
// EConflict when it is already revoked.
func (s *Service) RevokeToken(ctx context.Context, actor certseal.Actor, id string) (Token, error) {
	var t Token
	err := s.DB.Update(func(tx *store.Tx) error {
		r, err := getToken(tx, id)
		if err != nil {
			return err
		}
		if r.RevokedAt != nil {
			return certseal.Errorf(certseal.EConflict, "令牌 %s 已经吊销", id)
		}
		now := s.Clock.Now().UTC()
		r.RevokedAt = &now
		k, _ := store.IDKey(id)
		if err := tx.PutJSON(bucketTokens, k, r); err != nil {
			return err
		}
		t = r.Token
		return audit.Append(tx, now, actor, "token.revoke", "token/"+id, nil)
	})
	return t, err
}

// Principal is an authenticated caller: the user, their organisation and the token used.
type Principal struct {
	User    certseal.User
	Org     certseal.Org
	TokenID string
	// Stale is set when the token's last-used time is over a minute old and should be touched.
	Stale bool
}

// Actor returns the principal as the actor of a change.
func (p Principal) Actor() certseal.Actor {
	return certseal.Actor{UserID: p.User.ID, Username: p.User.Username, OrgID: p.Org.ID, OrgKind: p.Org.Kind, Role: p.User.Role}
}

var errBadToken = certseal.Errorf(certseal.EUnauthorized, "令牌无效、已吊销或用户已停用")

// Authenticate resolves an API token secret to its principal in a read transaction. It returns
// an *Error with code EUnauthorized for an unknown or revoked token or a disabled user.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	var p Principal
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 100 {
		return p, errBadToken
	}
	err := s.DB.View(func(tx *store.Tx) error {
		id := tx.Get(bucketTokenHash, []byte(hashToken(secret)))
		if id == nil {
			return errBadToken
		}
		r, err := getToken(tx, string(id))
		if err != nil || r.RevokedAt != nil {
			return errBadToken
		}
		return s.principal(tx, r.UserID, r.ID, r.LastUsed, &p)
	})
	return p, err
}

func (s *Service) principal(tx *store.Tx, userID, tokenID string, lastUsed *time.Time, p *Principal) error {
	u, err := GetUser(tx, userID)
	if err != nil || u.Disabled {
		return errBadToken
	}
	o, err := Get(tx, u.OrgID)
	if err != nil {
		return errBadToken
	}
	*p = Principal{User: u, Org: o, TokenID: tokenID}
	p.Stale = tokenID != "" && (lastUsed == nil || s.Clock.Now().Sub(*lastUsed) > time.Minute)
	return nil
}

// PrincipalOf returns the principal for a user id (for session logins). It returns an *Error with
// code EUnauthorized when the user is unknown or disabled.
func (s *Service) PrincipalOf(ctx context.Context, userID string) (Principal, error) {
	var p Principal
	err := s.DB.View(func(tx *store.Tx) error { return s.principal(tx, userID, "", nil, &p) })
	return p, err
}

// TouchToken records that a token was used now. It uses group commit and is meant to run off the
// request path; an unknown token is ignored.
func (s *Service) TouchToken(id string) error {
	now := s.Clock.Now().UTC()
	return s.DB.Batch(func(tx *store.Tx) error {
		r, err := getToken(tx, id)
		if err != nil {
			return nil
		}
		r.LastUsed = &now
		k, _ := store.IDKey(id)
		return tx.PutJSON(bucketTokens, k, r)
	})
}
