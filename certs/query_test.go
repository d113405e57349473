package certs_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/audit"
	"certseal/internal/store"
	"certseal/seals"
)

// TestReadAccess: who may read a certificate's full record, PDF, print overlay and history: the
// administrator and auditor all, the issuing bureau its own, the city department responsible
// for the type; another bureau and another department see nothing (not found).
func TestReadAccess(t *testing.T) {
	e := newEnv(t)
	c := e.issue(80, 80)
	dept := func(name string) certseal.Actor {
		return certseal.Actor{UserID: "u-" + name, Username: name, OrgID: e.orgs[name], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
	}
	for name, tc := range map[string]struct {
		actor certseal.Actor
		ok    bool
	}{
		"administrator":          {e.admin, true},
		"auditor":                {e.auditor, true},
		"issuing clerk":          {e.clerk, true},
		"issuing officer":        {e.officer, true},
		"responsible department": {dept("广元市市场监督管理局"), true},
		"another department":     {dept("广元市交通运输局"), false},
		"another bureau":         {e.other, false},
	} {
		t.Run(name, func(t *testing.T) {
			want := ""
			if !tc.ok {
				want = certseal.ENotFound
			}
			_, err := e.svc.Get(ctx, tc.actor, c.ID)
			wantCode(t, err, want)
			_, _, err = e.svc.PDF(ctx, tc.actor, c.ID)
			wantCode(t, err, want)
			_, err = e.svc.History(ctx, tc.actor, c.ID)
			wantCode(t, err, want)
			_, _, err = e.svc.PrintPDF(ctx, tc.actor, c.ID)
			wantCode(t, err, want)
			l, _, err := e.svc.List(ctx, tc.actor, certs.Filter{}, "", 10)
			if err != nil || (len(l) == 1) != tc.ok {
				t.Errorf("list: %d certificates, %v", len(l), err)
			}
		})
	}
	for _, id := range []string{"999", "0", "x", ""} {
		_, err := e.svc.Get(ctx, e.admin, id)
		wantCode(t, err, certseal.ENotFound)
	}
}

// TestList: the filters, newest first, and the cursor.
func TestList(t *testing.T) {
	e := newEnv(t)
	var cs []certs.Certificate
	for i := range 5 {
		e.clock.Set(start.Add(time.Duration(i) * time.Hour))
		cs = append(cs, e.issue(90+i, 90+i))
	}
	e.operate(cs[1].ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣待查"})
	ids := func(l []certs.Certificate) []string {
		var out []string
		for _, c := range l {
			out = append(out, c.ID)
		}
		return out
	}
	all := []string{cs[4].ID, cs[3].ID, cs[2].ID, cs[1].ID, cs[0].ID}
	for name, tc := range map[string]struct {
		f    certs.Filter
		want []string
	}{
		"all, newest first": {certs.Filter{}, all},
		"by status":         {certs.Filter{Status: certs.StatusSuspended}, []string{cs[1].ID}},
		"by holder code":    {certs.Filter{HolderCode: cs[2].Holder.Code}, []string{cs[2].ID}},
		"by issuer":         {certs.Filter{IssuerID: e.clerk.OrgID}, all},
		"by another issuer": {certs.Filter{IssuerID: e.other.OrgID}, nil},
		"by type":           {certs.Filter{TypeCode: cs[0].TypeCode}, all},
		"by another type":   {certs.Filter{TypeCode: "11100000000019526C001"}, nil},
		"by holder name":    {certs.Filter{Query: cs[3].Holder.Name}, []string{cs[3].ID}},
		"by licence number": {certs.Filter{Query: cs[0].LicenceNumber}, []string{cs[0].ID}},
		"by time":           {certs.Filter{From: start.Add(time.Hour), To: start.Add(3 * time.Hour)}, []string{cs[2].ID, cs[1].ID}},
	} {
		t.Run(name, func(t *testing.T) {
			for _, actor := range []certseal.Actor{e.admin, e.clerk} {
				l, next, err := e.svc.List(ctx, actor, tc.f, "", 10)
				if err != nil || next != "" || !slices.Equal(ids(l), tc.want) {
					t.Errorf("as %s: %v next %q %v, want %v", actor.Username, ids(l), next, err, tc.want)
				}
			}
		})
	}
	var got []string
	cursor := ""
	for range 4 {
		l, next, err := e.svc.List(ctx, e.clerk, certs.Filter{}, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(l)...)
		if cursor = next; cursor == "" {
			break
		}
	}
	if !slices.Equal(got, all) {
		t.Errorf("pages of 2: %v, want %v", got, all)
	}
	_, _, err := e.svc.List(ctx, e.clerk, certs.Filter{}, "abc", 2)
	wantCode(t, err, certseal.EInvalid)
}

// TestPrintPDF: the overlay for printing onto the blank form is a PDF of its own, not the signed
// certificate, and shifts with the organisation's printer calibration.
func TestPrintPDF(t *testing.T) {
	e := newEnv(t)
	c := e.issue(81, 81)
	overlay, got, err := e.svc.PrintPDF(ctx, e.clerk, c.ID)
	if err != nil || got.ID != c.ID {
		t.Fatalf("print: %v", err)
	}
	if !bytes.HasPrefix(overlay, []byte("%PDF-")) || bytes.Equal(overlay, e.pdf(c.ID)) || bytes.Contains(overlay, []byte("/ByteRange")) {
		t.Errorf("the overlay is not an unsigned PDF of its own (%d bytes)", len(overlay))
	}
	again, _, _ := e.svc.PrintPDF(ctx, e.clerk, c.ID)
	if !bytes.Equal(again, overlay) {
		t.Error("the overlay of the same certificate differs from one print to the next")
	}
}

// TestQRPayload: the QR text (a short URL signed with the seal's key) verifies with the seal's
// public key and gives the record id; a changed text, another seal's key and malformed ones are
// refused.
func TestQRPayload(t *testing.T) {
	e := newEnv(t)
	g, err := e.reg.SignerFor(ctx, e.clerk, e.seal, "11100000000013338W032", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	p, err := certs.QRText(g.Signer, "http://127.0.0.1:8080", "417")
	if err != nil {
		t.Fatal(err)
	}
	pub := g.Cert.PublicKey.(*ecdsa.PublicKey)
	if got, err := certs.VerifyQR(p, pub); err != nil || got != "417" {
		t.Fatalf("verify: %q %v", got, err)
	}
	og, err := e.reg.SignerFor(ctx, e.other, e.otherSeal, "11100000000013338W032", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := certs.QRText(og.Signer, "http://127.0.0.1:8080", "417")
	dot := strings.LastIndexByte(p, '.')
	other, _ := certs.QRText(g.Signer, "http://127.0.0.1:8080", "418")
	for name, bad := range map[string]string{
		"another seal's key":   forged,
		"another record":       other[:strings.LastIndexByte(other, '.')] + p[dot:],
		"no signature":         p[:dot],
		"signature cut":        p[:len(p)-2],
		"empty":                "",
		"signature not base32": p[:dot] + ".!!",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := certs.VerifyQR(bad, pub)
			wantCode(t, err, certseal.EInvalid)
		})
	}
}

// failingUses is the seal registry with a seal-use log that refuses to record: the last write of
// an issue fails after the number was reserved and the PDF signed.
type failingUses struct{ *seals.Registry }

func (failingUses) RecordUseTx(*store.Tx, time.Time, certseal.Actor, string, string, string, string) error {
	return errors.New("seal-use log unavailable")
}

// TestIssueFailsAfterReservation: when the final write fails, nothing of the certificate is kept
// (record, PDF, blank form, event), and the unused licence number is explained in the audit log.
func TestIssueFailsAfterReservation(t *testing.T) {
	e := newEnv(t)
	first := e.issue(82, 82)
	e.svc.Seals = failingUses{e.reg}
	_, _, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(83, serial(83)), "key-83")
	if err == nil {
		t.Fatal("issue succeeded with a failing seal-use log")
	}
	if l, _, _ := e.svc.List(ctx, e.admin, certs.Filter{}, "", 10); len(l) != 1 {
		t.Errorf("%d certificates after the failure, want 1", len(l))
	}
	if _, st := e.blank(83); st != "in_stock" {
		t.Errorf("the blank form is %s after the failure", st)
	}
	if ev := e.events(); len(ev) != 1 {
		t.Errorf("%d outbox events, want 1", len(ev))
	}
	var unused []audit.Event
	if err := e.db.View(func(tx *store.Tx) error {
		var err error
		unused, _, err = audit.List(tx, audit.Filter{Action: "certificate.number_unused"}, 0, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var detail struct {
		LicenceNumber string `json:"licence_number"`
		Identifier    string `json:"identifier"`
		Reason        string `json:"reason"`
	}
	if len(unused) != 1 || json.Unmarshal(unused[0].Detail, &detail) != nil || detail.LicenceNumber == "" || detail.Identifier == "" || detail.Reason == "" {
		t.Fatalf("audit of the unused number: %+v", unused)
	}
	e.svc.Seals = e.reg
	c, replayed, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(83, serial(83)), "key-83")
	if err != nil || replayed {
		t.Fatalf("the retry after the failure: %v (replayed %v)", err, replayed)
	}
	if c.LicenceNumber == first.LicenceNumber || c.LicenceNumber == detail.LicenceNumber || c.Identifier == detail.Identifier {
		t.Errorf("the retry reused the unused number %s (unused: %+v)", c.LicenceNumber, detail)
	}
}
