package server_test

import (
	"bytes"
	"strings"
	"testing"

	"certseal/certs"
	"certseal/cmd/app/testenv"
)

// TestVerifyJunkIsUnknown: a file with /ByteRange tokens but no real signature is "unknown"
// (nothing of ours can be said about it), while a real certificate that was changed or cut
// stays "modified".
func TestVerifyJunkIsUnknown(t *testing.T) {
	e := testenv.Start(t)
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], sealOf(t, e, "lizhou-clerk"), "SC00000001"))
	real := e.Must(200, "GET", "/api/v1/certificates/"+c.ID+"/pdf", "lizhou-clerk", nil).Body
	changed := bytes.Clone(real)
	changed[len(changed)/3] ^= 0x01
	for _, tc := range []struct {
		name string
		pdf  []byte
		want string
	}{
		{"empty signature dictionary", []byte("%PDF-1.7\n1 0 obj\n<</Type/Sig/ByteRange[0 10 20 30]/Contents<00>>>\nendobj\n%%EOF\n"), certs.VerdictUnknown},
		{"no dictionary", []byte("%PDF-1.7\n/ByteRange [0 1 2 3]\n%%EOF\n"), certs.VerdictUnknown},
		{"repeated ByteRange", []byte("%PDF-1.7\n1 0 obj\n" + strings.Repeat("/ByteRange ", 5000)), certs.VerdictUnknown},
		{"hex that is no CMS", []byte("%PDF-1.7\n1 0 obj\n<</Type/Sig/ByteRange[0 21 31 0]/Contents<0123456789>>>\nendobj\n"), certs.VerdictUnknown},
		{"real certificate, one byte changed", changed, certs.VerdictModified},
		{"real certificate, cut in half", real[:len(real)/2+len(real)/4], certs.VerdictModified},
	} {
		var v certs.PDFVerdict
		e.Must(200, "POST", "/api/v1/verify", "", tc.pdf).Decode(t, &v)
		if v.Verdict != tc.want {
			t.Errorf("%s: verdict %q (%v), want %q", tc.name, v.Verdict, v.Reasons, tc.want)
		}
	}
}
