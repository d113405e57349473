package server_test

import (
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app/testenv"
)

// TestSealRenewHTTP renews a demo seal through POST /api/v1/seals/{id}/renew: a certificate
// issued before still verifies as valid through POST /api/v1/verify, one issued after is
// sealed with the new certificate, and the refusals answer 400, 403 and 409.
func TestSealRenewHTTP(t *testing.T) {
	e := testenv.Start(t)
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	before := issue(t, e, "lizhou-clerk", issueRequest(fs[0], seal, "SC00000001"))
	beforePDF := e.Must(200, "GET", "/api/v1/certificates/"+before.ID+"/pdf", "lizhou-clerk", nil).Body

	var old sealJSON
	e.Must(200, "GET", "/api/v1/seals/"+seal, "admin", nil).Decode(t, &old)
	path := "/api/v1/seals/" + seal + "/renew"
	e.Must(403, "POST", path, "lizhou-clerk", map[string]any{"valid_to": "2040-01-01", "reason": "到期续期"})
	snap := e.Snapshot()
	for _, body := range []any{
		map[string]any{"valid_to": "2040-01-01"},
		map[string]any{"valid_to": "2020-01-01", "reason": "到期续期"},
		map[string]any{"reason": "到期续期"},
		map[string]any{"valid_to": "2040-13-01", "reason": "到期续期"},
		map[string]any{"valid_to": "2040-01-01", "reason": "到期续期", "force": true},
	} {
		if r := e.Do("POST", path, "admin", body); r.Status != 400 {
			t.Errorf("renew with %v: got %d %s, want 400", body, r.Status, r.Body)
		}
	}
	if !strings.Contains(string(e.Do("POST", path, "admin", map[string]any{"valid_to": "2020-01-01", "reason": "x"}).Body), "valid_to") {
		t.Error("a past valid_to is not named in the error")
	}
	if string(e.Snapshot()) != string(snap) {
		t.Error("a refused renewal wrote to the database")
	}
	e.Clock.Set(e.Clock.Now().Add(time.Hour))
	var renewed struct {
		sealJSON
		ValidTo time.Time `json:"valid_to"`
		Earlier []struct {
			Serial string `json:"serial"`
		} `json:"earlier"`
	}
	e.Must(200, "POST", path, "admin", map[string]any{"valid_to": "2040-01-01", "reason": "到期续期"}).Decode(t, &renewed)
	if renewed.CertSerial == old.CertSerial || len(renewed.Earlier) != 1 || renewed.Earlier[0].Serial != old.CertSerial ||
		renewed.ValidTo.In(certseal.China).Format("2006-01-02 15:04:05") != "2040-01-01 23:59:59" {
		t.Errorf("renewed: %+v", renewed)
	}

	// Issued before: still valid.
	var v certs.PDFVerdict
	e.Must(200, "POST", "/api/v1/verify", "", beforePDF).Decode(t, &v)
	if v.Verdict != certs.VerdictValid {
		t.Errorf("a certificate sealed before the renewal: %+v", v)
	}
	// Issued after: sealed with the new certificate, valid.
	after := issue(t, e, "lizhou-clerk", issueRequest(fs[1], seal, "SC00000002"))
	afterPDF := e.Must(200, "GET", "/api/v1/certificates/"+after.ID+"/pdf", "lizhou-clerk", nil).Body
	var res struct {
		Signatures []struct {
			Registered bool
			Serial     string `json:"cert_serial"`
		}
	}
	sealRaw(t, e, "POST", "/api/v1/seals/validate", "admin", "application/pdf", afterPDF).Decode(t, &res)
	if len(res.Signatures) != 1 || !res.Signatures[0].Registered || res.Signatures[0].Serial != renewed.CertSerial {
		t.Errorf("a certificate issued after the renewal is signed by %+v, want %s", res.Signatures, renewed.CertSerial)
	}
	e.Must(200, "POST", "/api/v1/verify", "", afterPDF).Decode(t, &v)
	if v.Verdict != certs.VerdictValid {
		t.Errorf("a certificate sealed after the renewal: %+v", v)
	}

	// A revoked seal cannot be renewed.
	e.Must(200, "POST", "/api/v1/seals/"+seal+"/revoke", "admin", map[string]any{"reason": "印章遗失"})
	e.Must(409, "POST", path, "admin", map[string]any{"valid_to": "2041-01-01", "reason": "到期续期"})
	e.Must(404, "POST", "/api/v1/seals/ES510802999999/renew", "admin", map[string]any{"valid_to": "2041-01-01", "reason": "x"})
}
