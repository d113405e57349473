package web

import (
	"log/slog"
	"path/filepath"
	"testing"

	"certseal"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/server"
)

// SafeNext exposes safeNext to the external tests.
var SafeNext = safeNext

// SessionTable exposes the web session table to the external tests.
type SessionTable struct{ s *webSessions }

// NewSessionTable returns a session table with the given limits (0: the defaults) over a new
// store in t's temporary directory.
func NewSessionTable(t testing.TB, clock certseal.Clock, perUser, max int) *SessionTable {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), store.FileName), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := &orgs.Service{DB: db, Clock: clock}
	return &SessionTable{s: newWebSessions(o, server.AuthLimits{SessionsPerUser: perUser, MaxSessions: max}, slog.Default())}
}

// Login starts a session for the user and returns its cookie value.
func (t *SessionTable) Login(userID string) (string, error) { return t.s.create(userID) }

// Valid reports whether the cookie value is a live session.
func (t *SessionTable) Valid(id string) bool { return t.s.get(id) != nil }
