package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/cmd/app/testenv"
	"certseal/internal/demo"
)

// lc helps the lifecycle tests: operations, the public view and PDF verification.
type lc struct {
	t *testing.T
	e *testenv.Env
}

func (l lc) op(user, id string, body map[string]any, want int) certs.Certificate {
	l.t.Helper()
	var c certs.Certificate
	l.e.Must(want, "POST", "/api/v1/certificates/"+id+"/operations", user, body).Decode(l.t, &c)
	return c
}

func (l lc) get(user, id string) certs.Certificate {
	l.t.Helper()
	var c certs.Certificate
	l.e.Must(200, "GET", "/api/v1/certificates/"+id, user, nil).Decode(l.t, &c)
	return c
}

func (l lc) lookup(ref string) certs.PublicView {
	l.t.Helper()
	var v certs.PublicView
	l.e.Must(200, "GET", "/verify/"+ref, "", nil).Decode(l.t, &v)
	return v
}

func (l lc) pdf(user, id string) []byte {
	l.t.Helper()
	return l.e.Must(200, "GET", "/api/v1/certificates/"+id+"/pdf", user, nil).Body
}

func (l lc) verify(pdf []byte) certs.PDFVerdict {
	l.t.Helper()
	var v certs.PDFVerdict
	l.e.Must(200, "POST", "/api/v1/verify", "", pdf).Decode(l.t, &v)
	return v
}

func (l lc) history(user, id string) []certs.Operation {
	l.t.Helper()
	var h struct{ Items []certs.Operation }
	l.e.Must(200, "GET", "/api/v1/certificates/"+id+"/history", user, nil).Decode(l.t, &h)
	return h.Items
}

func (l lc) list(user, query string) []certs.Certificate {
	l.t.Helper()
	var r struct{ Items []certs.Certificate }
	l.e.Must(200, "GET", "/api/v1/certificates?limit=500"+query, user, nil).Decode(l.t, &r)
	return r.Items
}

func find(cs []certs.Certificate, id string) *certs.Certificate {
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i]
		}
	}
	return nil
}

// TestRenewBeforeExpiry: renewing a certificate still in force leaves it 有效 (its PDF verifies
// valid) until the new version takes effect; the new version reads 未生效 until then in the
// certificate JSON, the list and every verdict; from its valid_from the old version is superseded
// (已由第2版取代, with the new identifier), never revoked, and the sweep records it once.
func TestRenewBeforeExpiry(t *testing.T) {
	e := testenv.Start(t)
	l := lc{t, e}
	seal := sealOf(t, e, "lizhou-clerk")
	old := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[1], seal, "SC00000002"))
	oldPDF := l.pdf("lizhou-clerk", old.ID)
	oldEnd, _ := time.ParseInLocation("2006-01-02", old.ValidTo, certseal.China)
	newEnd := oldEnd.AddDate(4, 0, 0).Format("2006-01-02")
	nv := l.op("lizhou-clerk", old.ID, map[string]any{"op": "renew", "reason": "有效期届满前申请延续", "valid_to": newEnd, "blank_serial": "SC00000003"}, 200)
	starts := oldEnd.AddDate(0, 0, 1).Format("2006-01-02")
	if nv.Version != 2 || nv.PreviousID != old.ID || nv.ValidFrom != starts {
		t.Fatalf("renewed: %+v", nv)
	}
	newPDF := l.pdf("lizhou-clerk", nv.ID)

	// before the new version takes effect
	if v := l.verify(oldPDF); v.Verdict != certs.VerdictValid || v.Certificate.Status != certs.StatusValid {
		t.Fatalf("the holder's old PDF after an early renewal: %s %s %v", v.Verdict, v.Label, v.Reasons)
	}
	if v := l.lookup(old.Identifier); v.Status != certs.StatusValid || v.StatusLabel != "有效" {
		t.Fatalf("old version's public view: %+v", v)
	}
	if c := l.get("lizhou-clerk", old.ID); c.Status != certs.StatusValid || c.SupersededBy != nv.ID || c.SupersededFrom != starts {
		t.Fatalf("old version's record: %s %s %q %q", c.Status, c.StatusLabel, c.SupersededBy, c.SupersededFrom)
	}
	v := l.verify(newPDF)
	if v.Verdict != certs.VerdictNotYetValid || v.Label != "未生效" || v.Certificate.Status != certs.StatusPending || v.Certificate.StatusLabel != "未生效" {
		t.Fatalf("the new PDF before its valid_from: %s %s %+v", v.Verdict, v.Label, v.Certificate)
	}
	if c := l.get("lizhou-clerk", nv.ID); c.Status != certs.StatusPending || c.StatusLabel != "未生效" {
		t.Fatalf("new version's record: %s %s", c.Status, c.StatusLabel)
	}
	if c := find(l.list("lizhou-clerk", ""), nv.ID); c == nil || c.Status != certs.StatusPending || c.StatusLabel != "未生效" {
		t.Fatalf("new version in the list: %+v", c)
	}
	if c := find(l.list("lizhou-clerk", "&status=00"), nv.ID); c == nil {
		t.Fatal("the list filtered by status 00 lacks the new version")
	}
	if pv := l.lookup(old.LicenceNumber); pv.Identifier != old.Identifier || pv.Status != certs.StatusValid {
		t.Fatalf("the licence number finds %s (%s), want the version in force", pv.Identifier, pv.Status)
	}
	if pv := l.lookup(nv.Identifier); pv.Status != certs.StatusPending || pv.StatusLabel != "未生效" {
		t.Fatalf("the new identifier's public view: %+v", pv)
	}
	if res, err := e.App.Certs.Sweep(context.Background()); err != nil || res.Superseded != 0 || res.Expired != 0 {
		t.Fatalf("a sweep before the new version takes effect: %+v %v", res, err)
	}

	// the day the new version takes effect
	e.Clock.Set(oldEnd.AddDate(0, 0, 1).Add(9 * time.Hour))
	v = l.verify(oldPDF)
	if v.Verdict != certs.VerdictSuperseded || v.Label != "已由第2版取代" || v.Certificate.SupersededBy != nv.Identifier {
		t.Fatalf("the old PDF after the new version took effect: %s %s %+v", v.Verdict, v.Label, v.Certificate)
	}
	for _, r := range v.Reasons {
		if strings.Contains(r, "撤销") {
			t.Errorf("a superseded version is called revoked: %v", v.Reasons)
		}
	}
	if pv := l.lookup(old.Identifier); pv.StatusLabel != "已由第2版取代" || pv.SupersededBy != nv.Identifier {
		t.Fatalf("old version's public view after: %+v", pv)
	}
	if v := l.verify(newPDF); v.Verdict != certs.VerdictValid {
		t.Fatalf("the new PDF from its valid_from: %s %v", v.Verdict, v.Reasons)
	}
	if pv := l.lookup(old.LicenceNumber); pv.Identifier != nv.Identifier || pv.Status != certs.StatusValid {
		t.Fatalf("from the day, the licence number finds %s (%s)", pv.Identifier, pv.Status)
	}
	res, err := e.App.Certs.Sweep(context.Background())
	if err != nil || res.Superseded != 1 || res.Expired != 0 {
		t.Fatalf("the sweep on the day: %+v %v", res, err)
	}
	if res, _ := e.App.Certs.Sweep(context.Background()); res.Superseded != 0 {
		t.Fatalf("a second sweep: %+v", res)
	}
	h := l.history("lizhou-clerk", old.ID)
	last := h[len(h)-1]
	if last.Op != "superseded" || last.NewID != nv.ID || last.By != "system" || last.Code == "" || last.To != certs.StatusOther {
		t.Fatalf("old version's history: %+v", h)
	}
	if v := l.verify(oldPDF); v.Verdict != certs.VerdictSuperseded {
		t.Fatalf("the old PDF after the sweep: %s", v.Verdict)
	}
	l.op("lizhou-clerk", old.ID, map[string]any{"op": "suspend", "reason": "对旧版本操作"}, 409)
}

// TestTransferIn: a certificate transferred out (06) to another county bureau is taken over by
// that bureau (08 转入) as version 2 under its issuer code and seal; the old version stays 06 with
// a link to it; both bureaus see both histories; 10 取消转出 works until the transfer in, and not
// after; only the named bureau may transfer in.
func TestTransferIn(t *testing.T) {
	e := testenv.Start(t)
	l := lc{t, e}
	seal := sealOf(t, e, "lizhou-clerk")
	zhSeal := sealOf(t, e, "zhaohua-clerk")
	zhaohua := e.Orgs[demo.Bureaus[1].Name]
	a := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[4], seal, "SC00000005"))
	aPDF := l.pdf("lizhou-clerk", a.ID)

	l.op("lizhou-clerk", a.ID, map[string]any{"op": "transfer_out", "reason": "经营者迁至昭化区"}, 400)
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "transfer_out", "reason": "经营者迁至昭化区", "target_org_id": e.Orgs[demo.Bureaus[0].Name]}, 400)
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "transfer_out", "reason": "经营者迁至昭化区", "target_org_id": "999999"}, 404)
	out := l.op("lizhou-clerk", a.ID, map[string]any{"op": "transfer_out", "reason": "经营者迁至昭化区", "target_org_id": zhaohua}, 200)
	if out.Status != certs.StatusTransferredOut || out.TransferToOrgID != zhaohua || out.TransferToName != demo.Bureaus[1].Name {
		t.Fatalf("transferred out: %+v", out)
	}
	if v := l.verify(aPDF); v.Verdict != certs.VerdictTransferred {
		t.Fatalf("verify a transferred-out PDF: %s %s", v.Verdict, v.Label)
	}
	if c := l.get("zhaohua-clerk", a.ID); c.Status != certs.StatusTransferredOut {
		t.Fatalf("the receiving bureau sees %s", c.Status)
	}
	if find(l.list("zhaohua-clerk", ""), a.ID) == nil {
		t.Fatal("the receiving bureau's list lacks the certificate transferred to it")
	}
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "cancel_transfer", "reason": "经营者放弃迁移"}, 200)
	if c := l.get("lizhou-clerk", a.ID); c.Status != certs.StatusValid || c.TransferToOrgID != "" || c.StatusReason != "" {
		t.Fatalf("after cancelling the transfer: %+v", c)
	}
	e.Must(404, "GET", "/api/v1/certificates/"+a.ID, "zhaohua-clerk", nil)
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "transfer_out", "reason": "经营者再次申请迁至昭化区", "target_org_id": zhaohua}, 200)

	in := map[string]any{"op": "transfer_in", "reason": "经营者迁入本区", "seal_id": zhSeal, "blank_serial": "SC00001251"}
	for _, user := range []string{"lizhou-clerk", "chaotian-clerk", "admin", "auditor"} {
		if r := e.Do("POST", "/api/v1/certificates/"+a.ID+"/operations", user, in); r.Status != 403 {
			t.Errorf("transfer in by %s: %d %s", user, r.Status, r.Body)
		}
	}
	l.op("zhaohua-clerk", a.ID, map[string]any{"op": "transfer_in", "reason": "经营者迁入本区", "blank_serial": "SC00001251"}, 400)
	nv := l.op("zhaohua-officer", a.ID, in, 200)
	ident, err := certs.ParseIdentifier(nv.Identifier)
	if err != nil || nv.Version != 2 || nv.PreviousID != a.ID || nv.IssuerOrgID != zhaohua || ident.IssuerCode != nv.IssuerCode ||
		nv.IssuerCode == a.IssuerCode || nv.SealID != zhSeal || nv.Status != certs.StatusValid || nv.Serial != "SC00001251" ||
		nv.Values["发证机关"] != demo.Bureaus[1].Name || nv.LicenceNumber != a.LicenceNumber || nv.TransferFromOrgID != a.IssuerOrgID {
		t.Fatalf("transferred in: %v %+v", err, nv)
	}
	newPDF := l.pdf("zhaohua-clerk", nv.ID)
	if out := pdfsig(t, newPDF); out != "" && !strings.Contains(out, "Signature is Valid.") {
		t.Fatalf("pdfsig on the transferred-in version:\n%s", out)
	}
	if v := l.verify(newPDF); v.Verdict != certs.VerdictValid || v.Certificate.IssuerName != demo.Bureaus[1].Name || v.Certificate.SealID != zhSeal {
		t.Fatalf("verify the new PDF: %s %+v", v.Verdict, v.Certificate)
	}
	oldNow := l.get("lizhou-clerk", a.ID)
	if oldNow.Status != certs.StatusTransferredOut || oldNow.SupersededBy != nv.ID || oldNow.SupersededByIdentifier != nv.Identifier {
		t.Fatalf("the old issuer's version after the transfer in: %+v", oldNow)
	}
	if v := l.verify(aPDF); v.Verdict != certs.VerdictSuperseded || v.Certificate.SupersededBy != nv.Identifier {
		t.Fatalf("verify the old PDF after the transfer in: %s %s", v.Verdict, v.Label)
	}
	if pv := l.lookup(a.LicenceNumber); pv.Identifier != nv.Identifier {
		t.Fatalf("the licence number finds %s", pv.Identifier)
	}
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "cancel_transfer", "reason": "转入后取消"}, 409)
	l.op("zhaohua-clerk", a.ID, in, 409)
	for _, user := range []string{"lizhou-clerk", "zhaohua-clerk"} {
		oh, nh := l.history(user, a.ID), l.history(user, nv.ID)
		if oh[len(oh)-1].Op != "transfer_in" || oh[len(oh)-1].NewID != nv.ID || nh[0].Op != "transfer_in" || nh[0].Code != "08" {
			t.Fatalf("%s sees the histories: old %+v new %+v", user, oh, nh)
		}
	}
	if c := find(l.list("lizhou-clerk", ""), a.ID); c == nil {
		t.Fatal("the old issuer's list lost its version")
	}
}

// TestOperationCodes: every operation records an operation code (the national one where the
// national list has it), and reinstating clears the suspension reason from the current status.
func TestOperationCodes(t *testing.T) {
	e := testenv.Start(t)
	l := lc{t, e}
	seal := sealOf(t, e, "lizhou-clerk")
	fs := foodFixtures(t)
	n := 0
	fresh := func() certs.Certificate {
		n++
		return issue(t, e, "lizhou-clerk", issueRequest(fs[n], seal, fmt.Sprintf("SC%08d", n)))
	}
	want := map[string]string{"issue": "01", "suspend": "03", "reinstate": "06", "cancel": "05", "change": "09", "transfer_in": "08", "cancel_transfer": "10"}
	check := func(id string) {
		t.Helper()
		for _, op := range l.history("lizhou-clerk", id) {
			if op.Code == "" || op.Label == "" {
				t.Errorf("operation %s recorded without a code: %+v", op.Op, op)
			}
			if w, ok := want[op.Op]; ok && op.Code != w {
				t.Errorf("operation %s has code %s, want %s", op.Op, op.Code, w)
			}
			if label, ok := certs.OperationCode(op.Op); !ok || label.Code != op.Code {
				t.Errorf("operation %s: the table says %+v", op.Op, label)
			}
		}
	}
	a := fresh()
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "suspend", "reason": "经营场所不符合要求，责令整改"}, 200)
	if c := l.get("lizhou-clerk", a.ID); c.StatusReason != "经营场所不符合要求，责令整改" {
		t.Fatalf("suspended with reason %q", c.StatusReason)
	}
	r := l.op("lizhou-officer", a.ID, map[string]any{"op": "reinstate", "reason": "整改完成"}, 200)
	if r.Status != certs.StatusValid || r.StatusReason != "" {
		t.Fatalf("after reinstate: %s reason %q", r.Status, r.StatusReason)
	}
	if c := l.get("lizhou-clerk", a.ID); c.StatusReason != "" {
		t.Fatalf("the record after reinstate: reason %q", c.StatusReason)
	}
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "replace", "reason": "持证人遗失纸质证照", "blank_serial": "SC00000400", "report_ref": "遗失声明"}, 200)
	l.op("lizhou-clerk", a.ID, map[string]any{"op": "revoke", "reason": "以欺骗手段取得许可"}, 200)
	check(a.ID)
	for _, op := range []string{"withdraw", "penalty_withdraw", "cancel"} {
		c := fresh()
		l.op("lizhou-clerk", c.ID, map[string]any{"op": op, "reason": "依法办理" + op}, 200)
		check(c.ID)
	}
	c := fresh()
	l.op("lizhou-clerk", c.ID, map[string]any{"op": "transfer_out", "reason": "迁出", "target_org_id": e.Orgs[demo.Bureaus[1].Name]}, 200)
	l.op("lizhou-clerk", c.ID, map[string]any{"op": "cancel_transfer", "reason": "放弃迁出"}, 200)
	nc := l.op("lizhou-clerk", c.ID, map[string]any{"op": "change", "reason": "法定代表人变更", "values": map[string]string{"法定代表人（负责人）": "王五"}, "blank_serial": "SC00000401"}, 200)
	check(c.ID)
	check(nc.ID)
}

// TestExpirySweepOnClock: the sweep runs on the injected clock; a certificate driven past its
// valid_to by the test clock is recorded 05 失效 by a 04 过期失效 operation, and its PDF verifies as
// expired.
func TestExpirySweepOnClock(t *testing.T) {
	e := testenv.Start(t)
	l := lc{t, e}
	seal := sealOf(t, e, "lizhou-clerk")
	c := issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[9], seal, "SC00000009"))
	pdf := l.pdf("lizhou-clerk", c.ID)
	end, _ := time.ParseInLocation("2006-01-02", c.ValidTo, certseal.China)
	e.Clock.Set(end.Add(23 * time.Hour))
	if res, err := e.App.Certs.Sweep(context.Background()); err != nil || res.Expired != 0 {
		t.Fatalf("a sweep on the last day: %+v %v", res, err)
	}
	if v := l.verify(pdf); v.Verdict != certs.VerdictValid {
		t.Fatalf("the PDF on its last day: %s", v.Verdict)
	}
	e.Clock.Set(end.AddDate(0, 0, 1).Add(time.Minute))
	if res, err := e.App.Certs.Sweep(context.Background()); err != nil || res.Expired != 1 {
		t.Fatalf("the sweep after the end: %+v %v", res, err)
	}
	h := l.history("lizhou-clerk", c.ID)
	if last := h[len(h)-1]; last.Op != "expire" || last.Code != "04" || last.To != certs.StatusExpired || last.By != "system" {
		t.Fatalf("history: %+v", h)
	}
	if v := l.verify(pdf); v.Verdict != certs.VerdictExpired || v.Certificate.Status != certs.StatusExpired {
		t.Fatalf("the PDF after expiry: %s %+v", v.Verdict, v.Certificate)
	}
}
