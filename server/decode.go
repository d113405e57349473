package server

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"certseal"
)

// MaxBodyBytes is the largest JSON request body accepted (1 MiB); the OpenAPI document says so.
const MaxBodyBytes = 1 << 20

// Decode reads a JSON request body into v strictly: the content type must be JSON, unknown
// fields, wrong types, trailing data and bodies over MaxBodyBytes are refused. It returns an
// *certseal.Error whose Chinese message says what is wrong.
func Decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &certseal.Error{Code: "unsupported_media", Message: "请求体应为 JSON（Content-Type: application/json）"}
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return certseal.Errorf(certseal.EInvalid, "请求体在 JSON 对象之后还有多余内容")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return certseal.Errorf(certseal.ETooLarge, "请求体超过 %d 字节上限", tooBig.Limit)
	case errors.As(err, &syn):
		return certseal.Errorf(certseal.EInvalid, "JSON 格式错误（第 %d 字节附近）", syn.Offset)
	case errors.As(err, &typ):
		return certseal.Errorf(certseal.EInvalid, "字段 %q 的类型错误：应为 %s", typ.Field, typ.Type.String()).WithDetail("field", typ.Field)
	case errors.Is(err, io.EOF):
		return certseal.Errorf(certseal.EInvalid, "请求体为空，应为 JSON 对象")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return certseal.Errorf(certseal.EInvalid, "JSON 不完整")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return certseal.Errorf(certseal.EInvalid, "未知字段 %s", f).WithDetail("field", strings.Trim(f, `"`))
	}
	return certseal.Errorf(certseal.EInvalid, "无法解析请求体：%v", err)
}

// Page is the pagination of a list request: limit (1-500, default 50) and an opaque cursor.
type Page struct {
	Limit  int
	Cursor string
}

// MaxPageLimit is the largest page a list returns.
const MaxPageLimit = 500

// PageOf reads limit and cursor from the query string. It returns an *certseal.Error for a bad
// limit.
func PageOf(r *http.Request) (Page, error) {
	p := Page{Limit: 50, Cursor: r.URL.Query().Get("cursor")}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPageLimit {
			return p, certseal.Errorf(certseal.EInvalid, "limit 应为 1 至 %d 的整数", MaxPageLimit)
		}
		p.Limit = n
	}
	if len(p.Cursor) > 200 {
		return p, certseal.Errorf(certseal.EInvalid, "分页游标过长")
	}
	return p, nil
}

// List is the JSON shape of every paginated list.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func list[T any](items []T, next string) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, NextCursor: next}
}

func badQuery(name, msg string) error {
	return certseal.Errorf(certseal.EInvalid, "查询参数 %s：%s", name, msg)
}
