package server_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	"certseal"
	"certseal/server"
)

// decodeTarget has the kinds of fields request bodies have.
type decodeTarget struct {
	Name   string            `json:"name"`
	Count  int               `json:"count"`
	Ratio  float64           `json:"ratio"`
	OK     bool              `json:"ok"`
	Tags   []string          `json:"tags"`
	Values map[string]string `json:"values"`
	Inner  *struct {
		Code string `json:"code"`
	} `json:"inner"`
}

// FuzzDecode: the JSON request decoder answers any body with a value or a *certseal.Error of a
// known code (never a panic), and a value it accepts is decoded again to the same value from its
// own encoding.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"甲","count":3,"tags":["a"],"values":{"k":"v"},"inner":{"code":"x"}}`, `{}`, `{"name":1}`,
		`{"unknown":1}`, `{"name":"a"} {}`, `[]`, `null`, `{"count":1e400}`, `{"name":"\ud800"}`} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{}`), "text/plain")
	f.Add([]byte(`{}`), "application/json; charset=utf-8")
	codes := map[string]bool{certseal.EInvalid: true, certseal.ETooLarge: true, "unsupported_media": true}
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		r := httptest.NewRequest("POST", "/x", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		var v decodeTarget
		err := server.Decode(httptest.NewRecorder(), r, &v)
		if err != nil {
			var e *certseal.Error
			if !reflect.TypeOf(err).AssignableTo(reflect.TypeOf(e)) || !codes[certseal.ErrorCode(err)] {
				t.Fatalf("Decode error %T %v, want a *certseal.Error of a known code", err, err)
			}
			return
		}
		again, _ := json.Marshal(v)
		r = httptest.NewRequest("POST", "/x", bytes.NewReader(again))
		var w decodeTarget
		if err := server.Decode(httptest.NewRecorder(), r, &w); err != nil {
			t.Fatalf("Decode of its own encoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip: %+v then %+v", v, w)
		}
	})
}
