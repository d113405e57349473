package web

import (
	"certseal"
	"certseal/server"
)

// SafeNext exposes safeNext to the external tests.
var SafeNext = safeNext

// SessionTable exposes the web session table to the external tests.
type SessionTable struct{ s *webSessions }

// NewSessionTable returns a session table with the given limits (0: the defaults).
func NewSessionTable(clock certseal.Clock, perUser, max int) *SessionTable {
	return &SessionTable{s: newWebSessions(clock, server.AuthLimits{SessionsPerUser: perUser, MaxSessions: max})}
}

// Login starts a session for the user and returns its cookie value.
func (t *SessionTable) Login(userID string) (string, error) { return t.s.create(userID) }

// Valid reports whether the cookie value is a live session.
func (t *SessionTable) Valid(id string) bool { return t.s.get(id) != nil }
