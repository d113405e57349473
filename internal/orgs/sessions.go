package orgs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"certseal"
	"certseal/internal/store"
)

// Web sessions live in the store, so that a restart signs no one out. The browser's cookie
// holds 32 random bytes; the store keeps only their SHA-256 (the key), the user, a per-session
// CSRF token and the times. A session ends when it has been idle for SessionLimits.Idle or is
// older than MaxAge, when its user signs out, and for every session of a user in the same
// transaction that changes or sets the user's password or disables the user.
const (
	bucketSessions       store.Bucket = "web_sessions"         // SHA-256(cookie) -> sessionRecord
	bucketSessionsByUser store.Bucket = "web_sessions_by_user" // Prefix(user id) + U64(created) + key -> nil
)

// SessionLimits bound the web sessions; a zero field takes its default.
type SessionLimits struct {
	PerUser int           // sessions per user; a further sign-in ends the user's oldest (default 10)
	Max     int           // live sessions in all; past it a sign-in is refused (default 10,000)
	Idle    time.Duration // a session unused this long ends (default 2 h)
	MaxAge  time.Duration // a session this old ends (default 12 h)
}

func (l SessionLimits) withDefaults() SessionLimits {
	if l.PerUser <= 0 {
		l.PerUser = 10
	}
	if l.Max <= 0 {
		l.Max = 10000
	}
	if l.Idle <= 0 {
		l.Idle = 2 * time.Hour
	}
	if l.MaxAge <= 0 {
		l.MaxAge = 12 * time.Hour
	}
	return l
}

// sessionTouchEvery is how stale a session's last-seen time may get before a request writes
// it again: one write a minute per active session instead of one per request.
const sessionTouchEvery = time.Minute

// Session is a live web session as the store keeps it.
type Session struct {
	Key     [32]byte  `json:"-"` // SHA-256 of the cookie value
	UserID  string    `json:"user_id"`
	CSRF    string    `json:"csrf"`
	Created time.Time `json:"created"`
	Seen    time.Time `json:"seen"`
}

func (v Session) expired(now time.Time, l SessionLimits) bool {
	return now.Sub(v.Seen) > l.Idle || now.Sub(v.Created) > l.MaxAge
}

func sessionIndexKey(v Session) []byte {
	k := append(store.Prefix(v.UserID), store.U64(uint64(v.Created.UnixNano()))...)
	return append(k, v.Key[:]...)
}

// SessionKey returns the store key of a cookie value: its SHA-256.
func SessionKey(cookie string) [32]byte { return sha256.Sum256([]byte(cookie)) }

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// CreateSession starts a web session for the user and returns the cookie value and the
// session. A user at PerUser loses their own oldest sessions. It returns an *Error:
// EUnavailable when Max live sessions are held (no other user's session is ended for it). The
// caller has checked the user's password; a session of a user that is gone or disabled is
// refused where it is used (PrincipalOf).
func (s *Service) CreateSession(ctx context.Context, userID string, l SessionLimits) (string, Session, error) {
	l = l.withDefaults()
	id := randomToken()
	now := s.Clock.Now()
	v := Session{Key: SessionKey(id), UserID: userID, CSRF: randomToken(), Created: now.UTC(), Seen: now.UTC()}
	err := s.DB.Update(func(tx *store.Tx) error {
		mine, err := userSessionsTx(tx, userID)
		if err != nil {
			return err
		}
		live := mine[:0]
		for _, o := range mine {
			if o.expired(now, l) {
				if err := deleteSessionTx(tx, o); err != nil {
					return err
				}
				continue
			}
			live = append(live, o)
		}
		for len(live) >= l.PerUser { // oldest first
			if err := deleteSessionTx(tx, live[0]); err != nil {
				return err
			}
			live = live[1:]
		}
		if countSessionsTx(tx) >= l.Max {
			if err := sweepSessionsTx(tx, now, l); err != nil {
				return err
			}
			if countSessionsTx(tx) >= l.Max {
				return certseal.Errorf(certseal.EUnavailable, "同时登录的会话已达上限（%d个），暂时无法登录，请稍后再试或联系管理员", l.Max)
			}
		}
		return putSessionTx(tx, v)
	})
	if err != nil {
		return "", Session{}, err
	}
	return id, v, nil
}

// Session returns the live session of a cookie value, and whether there is one; it records the
// use (at most once a minute) and ends an expired session. It returns an error only when the
// store fails.
func (s *Service) Session(ctx context.Context, cookie string, l SessionLimits) (Session, bool, error) {
	if cookie == "" || len(cookie) > 100 {
		return Session{}, false, nil
	}
	l = l.withDefaults()
	key := SessionKey(cookie)
	now := s.Clock.Now()
	var v Session
	var found bool
	err := s.DB.View(func(tx *store.Tx) error {
		var err error
		v, found, err = getSessionTx(tx, key)
		return err
	})
	if err != nil || !found {
		return Session{}, false, err
	}
	if v.expired(now, l) {
		return Session{}, false, s.DB.Update(func(tx *store.Tx) error {
			if cur, ok, err := getSessionTx(tx, key); err != nil || !ok {
				return err
			} else {
				return deleteSessionTx(tx, cur)
			}
		})
	}
	if now.Sub(v.Seen) >= sessionTouchEvery {
		err := s.DB.Batch(func(tx *store.Tx) error {
			cur, ok, err := getSessionTx(tx, key)
			if err != nil || !ok {
				return err
			}
			if now.After(cur.Seen) {
				cur.Seen = now.UTC()
			}
			return putSessionTx(tx, cur)
		})
		if err != nil {
			return Session{}, false, err
		}
		v.Seen = now.UTC()
	}
	return v, true, nil
}

// EndSession ends the session with the store key key (signing out); an unknown key is no error.
func (s *Service) EndSession(ctx context.Context, key [32]byte) error {
	return s.DB.Update(func(tx *store.Tx) error {
		v, ok, err := getSessionTx(tx, key)
		if err != nil || !ok {
			return err
		}
		return deleteSessionTx(tx, v)
	})
}

// EndUserSessions ends every session of the user and returns how many it ended.
func (s *Service) EndUserSessions(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.DB.Update(func(tx *store.Tx) error {
		var err error
		n, err = endUserSessionsTx(tx, userID)
		return err
	})
	return n, err
}

// endUserSessionsTx ends every session of the user inside tx and returns how many.
func endUserSessionsTx(tx *store.Tx, userID string) (int, error) {
	vs, err := userSessionsTx(tx, userID)
	if err != nil {
		return 0, err
	}
	for _, v := range vs {
		if err := deleteSessionTx(tx, v); err != nil {
			return 0, err
		}
	}
	return len(vs), nil
}

// userSessionsTx returns the user's sessions, oldest first.
func userSessionsTx(tx *store.Tx, userID string) ([]Session, error) {
	var keys [][32]byte
	err := tx.Scan(bucketSessionsByUser, store.Prefix(userID), nil, func(k, _ []byte) error {
		var key [32]byte
		copy(key[:], k[len(k)-32:])
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Session, 0, len(keys))
	for _, key := range keys {
		v, ok, err := getSessionTx(tx, key)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, nil
}

// sweepSessionsTx deletes every expired session.
func sweepSessionsTx(tx *store.Tx, now time.Time, l SessionLimits) error {
	var old []Session
	err := tx.Scan(bucketSessions, nil, nil, func(k, raw []byte) error {
		var v Session
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		copy(v.Key[:], k)
		if v.expired(now, l) {
			old = append(old, v)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, v := range old {
		if err := deleteSessionTx(tx, v); err != nil {
			return err
		}
	}
	return nil
}

// countSessionsTx counts the stored sessions by walking them (bucket statistics miss the
// changes of a running write transaction).
func countSessionsTx(tx *store.Tx) int {
	n := 0
	tx.Scan(bucketSessions, nil, nil, func(_, _ []byte) error { n++; return nil })
	return n
}

func getSessionTx(tx *store.Tx, key [32]byte) (Session, bool, error) {
	var v Session
	ok, err := tx.GetJSON(bucketSessions, key[:], &v)
	v.Key = key
	return v, ok, err
}

func putSessionTx(tx *store.Tx, v Session) error {
	if err := tx.PutJSON(bucketSessions, v.Key[:], v); err != nil {
		return err
	}
	return tx.Put(bucketSessionsByUser, sessionIndexKey(v), []byte{})
}

func deleteSessionTx(tx *store.Tx, v Session) error {
	if err := tx.Delete(bucketSessions, v.Key[:]); err != nil {
		return err
	}
	return tx.Delete(bucketSessionsByUser, sessionIndexKey(v))
}
