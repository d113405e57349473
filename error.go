package certseal

import (
	"errors"
	"fmt"
)

// Error codes are stable: API clients match on them, and the server maps each to one HTTP status.
const (
	EInvalid      = "invalid_argument"  // the input is malformed or breaks a rule (400)
	ENotFound     = "not_found"         // the object does not exist (404)
	EConflict     = "conflict"          // the request clashes with the current state (409)
	EUnauthorized = "unauthenticated"   // no or a bad credential (401)
	EForbidden    = "permission_denied" // the caller may not do this (403)
	ETooLarge     = "payload_too_large" // the request body is over the limit (413)
	ERateLimited  = "rate_limited"      // too many requests from this client (429)
	EUnavailable  = "unavailable"       // the service cannot do this now, e.g. it is shutting down (503)
	EInternal     = "internal"          // anything else; logged with the request id (500)
)

// Error is an error meant for the caller: a stable machine-readable Code and a Message a clerk
// understands (Chinese where a person reads it). Detail carries optional structured data, such as
// the conflicting serials of an inventory movement or the field of a template that failed.
type Error struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Detail  map[string]any `json:"detail,omitempty"`
}

// Error returns the message prefixed with the code.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetail returns a copy of e with key set to value in its Detail.
func (e *Error) WithDetail(key string, value any) *Error {
	c := *e
	c.Detail = make(map[string]any, len(e.Detail)+1)
	for k, v := range e.Detail {
		c.Detail[k] = v
	}
	c.Detail[key] = value
	return &c
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil, and EInternal for
// any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the message of the first *Error in err's chain, or a generic Chinese
// message ("内部错误") for any other error, so that internals never reach the caller.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "内部错误，请联系管理员"
}
