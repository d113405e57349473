package server_test

import (
	"slices"
	"testing"
	"time"

	"certseal/certs"
	"certseal/cmd/app/testenv"
)

// TestChangeHistoryDiff: a change (变更) of the address and the end date records, on both
// versions' history, what it changed (field, old, new), and nothing the service fills in
// itself (the issue date of the new version differs too, but the clerk did not change it).
func TestChangeHistoryDiff(t *testing.T) {
	e := testenv.Start(t)
	f := foodFixtures(t)[3]
	c := issue(t, e, "lizhou-clerk", issueRequest(f, sealOf(t, e, "lizhou-clerk"), "SC00000003"))
	oldAddr := c.Values["住所"]
	e.Clock.Set(e.Clock.Now().Add(48 * time.Hour))
	var nc certs.Certificate
	e.Must(200, "POST", "/api/v1/certificates/"+c.ID+"/operations", "lizhou-clerk", map[string]any{
		"op": "change", "reason": "住所变更", "values": map[string]string{"住所": "四川省广元市利州区新址路1号"},
		"valid_to": "2031-01-31", "blank_serial": "SC00000004"}).Decode(t, &nc)
	want := []certs.FieldChange{{Field: "住所", Old: oldAddr, New: "四川省广元市利州区新址路1号"}, {Field: "有效期至", Old: c.ValidTo, New: "2031-01-31"}}
	for _, id := range []string{nc.ID, c.ID} {
		var h struct{ Items []certs.Operation }
		e.Must(200, "GET", "/api/v1/certificates/"+id+"/history", "lizhou-clerk", nil).Decode(t, &h)
		last := h.Items[len(h.Items)-1]
		if !slices.Equal(last.Changes, want) {
			t.Errorf("certificate %s, last operation %s: changes %+v, want %+v", id, last.Op, last.Changes, want)
		}
		for _, op := range h.Items[:len(h.Items)-1] {
			if len(op.Changes) != 0 {
				t.Errorf("certificate %s, operation %s lists changes %+v", id, op.Op, op.Changes)
			}
		}
	}
}
