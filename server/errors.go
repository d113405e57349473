package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"certseal"
)

// statusOf maps error codes to HTTP statuses: the one table of design.md rule 3.
var statusOf = map[string]int{
	certseal.EInvalid:      http.StatusBadRequest,
	certseal.ENotFound:     http.StatusNotFound,
	certseal.EConflict:     http.StatusConflict,
	certseal.EUnauthorized: http.StatusUnauthorized,
	certseal.EForbidden:    http.StatusForbidden,
	certseal.ETooLarge:     http.StatusRequestEntityTooLarge,
	certseal.ERateLimited:  http.StatusTooManyRequests,
	certseal.EUnavailable:  http.StatusServiceUnavailable,
	certseal.EInternal:     http.StatusInternalServerError,
	"method_not_allowed":   http.StatusMethodNotAllowed,
	"not_acceptable":       http.StatusNotAcceptable,
	"unsupported_media":    http.StatusUnsupportedMediaType,
}

// logKey is the context key of the server's logger, set for every request by withRequestLog.
type logKey struct{}

// logOf returns the logger of the server handling the request (its JSON logger), or the
// default logger outside a request.
func logOf(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error struct {
		Code      string         `json:"code"`
		Message   string         `json:"message"`
		Detail    map[string]any `json:"detail,omitempty"`
		RequestID string         `json:"request_id,omitempty"`
	} `json:"error"`
}

// writeError writes err as {"error": {...}}. An error that is not a *certseal.Error is logged
// with the request id and answered as a generic 500, never with its text.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var body ErrorBody
	var e *certseal.Error
	id := RequestID(r.Context())
	if errors.As(err, &e) {
		body.Error.Code, body.Error.Message, body.Error.Detail = e.Code, e.Message, e.Detail
	} else if errors.Is(err, context.DeadlineExceeded) {
		// work stopped at the request's deadline (RequestTimeout, LongRequestTimeout)
		logOf(r.Context()).Warn("request deadline passed", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Code = certseal.EUnavailable
		body.Error.Message = fmt.Sprintf("请求处理超时（超过 %s），请稍后重试；批量文件请分成较小的几批", chineseDuration(requestTimeout(r)))
		body.Error.Detail = map[string]any{"reason": "deadline"}
	} else {
		logOf(r.Context()).Error("internal error", "request_id", id, "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Code, body.Error.Message = certseal.EInternal, "内部错误，请联系管理员并提供请求编号 "+id
	}
	body.Error.RequestID = id
	noteCode(r, body.Error.Code)
	status, ok := statusOf[body.Error.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="certseal"`)
	}
	writeJSON(w, status, body)
}

// WriteError is writeError for modules outside this package.
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// chineseDuration says d in whole minutes or seconds: "2 分钟", "30 秒".
func chineseDuration(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return fmt.Sprintf("%d 分钟", d/time.Minute)
	}
	return fmt.Sprintf("%d 秒", (d+time.Second-1)/time.Second)
}
