package certs_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/inventory"
)

// lifecycle makes certificates in one status for the transition table: make returns a fresh one
// (issued on the next blank form) in that status, with the clock where the status holds.
type lifecycle struct {
	e    *env
	next int // next sample record and 利州区 blank form
	// zhaohua is the next 昭化区 blank form (for transfers in)
	zhaohua int
}

func (l *lifecycle) serial() string { l.next++; return serial(l.next) }

// fresh issues a certificate on the next blank form at the start of the test's time.
func (l *lifecycle) fresh(mod func(*certs.IssueRequest)) certs.Certificate {
	l.e.t.Helper()
	l.e.clock.Set(start)
	l.next++
	req := l.e.foodRequest(l.next%150, serial(l.next))
	if mod != nil {
		mod(&req)
	}
	c, _, err := l.e.svc.Issue(ctx, l.e.clerk, req, "")
	if err != nil {
		l.e.t.Fatalf("issue: %v", err)
	}
	return c
}

// request returns a well-formed request for op on c: the fields each operation needs.
func (l *lifecycle) request(op string, c certs.Certificate) certs.OperationRequest {
	r := certs.OperationRequest{Op: op, Reason: "依法办理" + certs.OpLabel(op)}
	end, _ := time.ParseInLocation(certs.DateLayout, c.ValidTo, certseal.China)
	switch op {
	case "transfer_out":
		r.TargetOrgID = l.e.orgs["广元市昭化区行政审批局"]
	case "transfer_in":
		l.zhaohua++
		r.SealID, r.Serial = l.e.otherSeal, serial(zhaohuaFirst+l.zhaohua)
	case "renew":
		r.ValidTo, r.Serial = end.AddDate(4, 0, 0).Format(certs.DateLayout), l.serial()
	case "change":
		r.Values, r.Serial = map[string]string{"日常监督管理人员": "王小明"}, l.serial()
	case "replace":
		r.Serial, r.ReportRef = l.serial(), "遗失声明 广元日报 2026-03-01"
	}
	return r
}

// actor is who applies op: the receiving bureau's clerk for a transfer in, else the issuer's.
func (l *lifecycle) actor(op string) certseal.Actor {
	if op == "transfer_in" {
		return l.e.other
	}
	return l.e.clerk
}

// TestOperateTransitions applies every operation to a certificate in every status. An operation
// succeeds exactly when certs.OpsFrom offers it (the sweep's expire: when the validity has
// ended), moves the certificate where the lifecycle says and records it in the history and the
// outbox; a refused one is a conflict (the receiving bureau's transfer in: forbidden when there is
// no transfer) and writes nothing.
func TestOperateTransitions(t *testing.T) {
	type state struct {
		status certs.Status
		// make returns a certificate in the status, with the clock set where it holds.
		make func(l *lifecycle) certs.Certificate
		want []string // what OpsFrom must offer: the legal table
	}
	after := func(op string) func(l *lifecycle) certs.Certificate {
		return func(l *lifecycle) certs.Certificate {
			c := l.fresh(nil)
			return l.e.operate(c.ID, l.request(op, c))
		}
	}
	states := map[string]state{
		"valid": {certs.StatusValid, func(l *lifecycle) certs.Certificate { return l.fresh(nil) },
			[]string{"suspend", "revoke", "withdraw", "cancel", "penalty_withdraw", "transfer_out", "renew", "change", "replace"}},
		"suspended":   {certs.StatusSuspended, after("suspend"), []string{"reinstate", "revoke", "withdraw", "cancel", "penalty_withdraw"}},
		"revoked":     {certs.StatusRevoked, after("revoke"), nil},
		"withdrawn":   {certs.StatusOther, after("withdraw"), nil},
		"cancelled":   {certs.StatusCancelled, after("cancel"), nil},
		"penalty":     {certs.StatusPenalty, after("penalty_withdraw"), nil},
		"transferred": {certs.StatusTransferredOut, after("transfer_out"), []string{"cancel_transfer", "transfer_in"}},
		"expired": {certs.StatusExpired, func(l *lifecycle) certs.Certificate {
			c := l.fresh(nil)
			l.e.at(dayAfter(l.e.t, c.ValidTo))
			return c
		}, []string{"cancel", "renew"}},
		"expired, recorded": {certs.StatusExpired, func(l *lifecycle) certs.Certificate {
			c := l.fresh(nil)
			l.e.at(dayAfter(l.e.t, c.ValidTo))
			if _, err := l.e.svc.Sweep(ctx); err != nil {
				l.e.t.Fatal(err)
			}
			return l.e.get(c.ID)
		}, []string{"cancel", "renew"}},
		"not yet valid": {certs.StatusPending, func(l *lifecycle) certs.Certificate {
			return l.fresh(func(r *certs.IssueRequest) { r.ValidFrom = "2026-06-01" })
		}, []string{"revoke", "withdraw", "cancel", "penalty_withdraw", "replace"}},
		"superseded": {certs.StatusOther, func(l *lifecycle) certs.Certificate {
			c := l.fresh(nil)
			l.e.operate(c.ID, l.request("change", c))
			return l.e.get(c.ID)
		}, nil},
	}
	to := map[string]certs.Status{"suspend": certs.StatusSuspended, "reinstate": certs.StatusValid, "revoke": certs.StatusRevoked,
		"withdraw": certs.StatusOther, "cancel": certs.StatusCancelled, "penalty_withdraw": certs.StatusPenalty, "expire": certs.StatusExpired,
		"transfer_out": certs.StatusTransferredOut, "cancel_transfer": certs.StatusValid}
	for name, st := range states {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			l := &lifecycle{e: e}
			c := st.make(l)
			now := e.clock.Now()
			got := e.get(c.ID)
			if got.Status != st.status {
				t.Fatalf("the certificate reads %s, want %s", got.Status, st.status)
			}
			offered := certs.OpsFrom(&got, now)
			if !slices.Equal(offered, st.want) {
				t.Errorf("OpsFrom = %v, want %v", offered, st.want)
			}
			for _, op := range certs.Ops() {
				e.clock.Set(now) // the allowed operations' fresh certificates move the clock
				allowed := slices.Contains(offered, op) || op == "expire" && got.Status == certs.StatusExpired && c.Status == certs.StatusValid
				t.Run(op, func(t *testing.T) {
					if !allowed {
						req := l.request(op, got)
						before := e.snapshot()
						_, err := e.svc.Operate(ctx, l.actor(op), c.ID, req)
						want := certseal.EConflict
						if op == "transfer_in" && got.TransferToOrgID == "" {
							want = certseal.EForbidden
						}
						wantCode(t, err, want)
						if !bytes.Equal(before, e.snapshot()) {
							t.Error("a refused operation wrote to the database")
						}
						return
					}
					c := st.make(l) // a fresh certificate for each allowed operation
					from, stored := e.get(c.ID).Status, e.raw(c.ID).Status
					events := len(e.events())
					res, err := e.svc.Operate(ctx, l.actor(op), c.ID, l.request(op, c))
					if err != nil {
						t.Fatalf("%s from %s: %v", op, from, err)
					}
					code, _ := certs.OperationCode(op)
					switch op {
					case "renew", "change", "transfer_in":
						if res.ID == c.ID || res.Version != c.Version+1 || res.PreviousID != c.ID || res.LicenceNumber != c.LicenceNumber {
							t.Errorf("new version: %+v", res)
						}
						h := e.history(res.ID)
						if len(h) != 1 || h[0].Op != op || h[0].Code != code.Code || h[0].From != from || h[0].PreviousID != c.ID {
							t.Errorf("history of the new version: %+v", h)
						}
						if old := e.get(c.ID); old.SupersededBy != res.ID || old.SupersededByIdentifier != res.Identifier {
							t.Errorf("the old version is not linked to the new: %+v", old)
						}
					default:
						want := to[op]
						if op == "replace" {
							want = from
						}
						if got := e.get(c.ID).Status; res.ID != c.ID || got != want {
							t.Errorf("%s from %s: status %s, want %s", op, from, got, want)
						}
						// the history records the stored statuses (see TestOperateAnswersStatusAsOfNow)
						h := e.history(c.ID)
						last := h[len(h)-1]
						if last.Op != op || last.Code != code.Code || last.Label != code.Label || last.From != stored || last.To != e.raw(c.ID).Status || last.Reason != "依法办理"+code.Label {
							t.Errorf("history: %+v", last)
						}
					}
					if ev := e.events(); len(ev) <= events || ev[len(ev)-1].CertificateID != c.ID && ev[len(ev)-1].CertificateID != res.ID {
						t.Errorf("no outbox event for %s: %d events before, %d after", op, events, len(ev))
					}
				})
			}
		})
	}
}

// TestOperateRefusals: requests the lifecycle refuses before looking at the status, each with
// its code, and none writing anything.
func TestOperateRefusals(t *testing.T) {
	e := newEnv(t)
	l := &lifecycle{e: e}
	c := l.fresh(nil)
	used := e.issue(140, 150)
	other := certseal.Actor{UserID: "u-zh-officer", Username: "zhaohua-officer", OrgID: e.orgs["广元市昭化区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleBureauOfficer}
	cases := map[string]struct {
		actor certseal.Actor
		id    string
		req   certs.OperationRequest
		code  string
	}{
		"unknown operation":       {e.clerk, c.ID, certs.OperationRequest{Op: "fly", Reason: "试试看"}, certseal.EInvalid},
		"no reason":               {e.clerk, c.ID, certs.OperationRequest{Op: "suspend"}, certseal.EInvalid},
		"blank reason":            {e.clerk, c.ID, certs.OperationRequest{Op: "suspend", Reason: "   停 "}, certseal.EInvalid},
		"reason too long":         {e.clerk, c.ID, certs.OperationRequest{Op: "suspend", Reason: strings.Repeat("停", 501)}, certseal.EInvalid},
		"renew without an end":    {e.clerk, c.ID, certs.OperationRequest{Op: "renew", Reason: "申请延续", Serial: serial(190)}, certseal.EInvalid},
		"renew with a bad date":   {e.clerk, c.ID, certs.OperationRequest{Op: "renew", Reason: "申请延续", ValidTo: "2031-02-30", Serial: serial(190)}, certseal.EInvalid},
		"renew on a used form":    {e.clerk, c.ID, certs.OperationRequest{Op: "renew", Reason: "申请延续", ValidTo: "2032-01-01", Serial: used.Serial}, certseal.EConflict},
		"renew too long":          {e.clerk, c.ID, certs.OperationRequest{Op: "renew", Reason: "申请延续", ValidTo: "2040-01-01", Serial: serial(190)}, certseal.EInvalid},
		"change with nothing":     {e.clerk, c.ID, certs.OperationRequest{Op: "change", Reason: "申请变更"}, certseal.EInvalid},
		"change an unknown field": {e.clerk, c.ID, certs.OperationRequest{Op: "change", Reason: "申请变更", Values: map[string]string{"颜色": "红"}, Serial: serial(190)}, certseal.EInvalid},
		"change the issuer":       {e.clerk, c.ID, certs.OperationRequest{Op: "change", Reason: "申请变更", Values: map[string]string{"发证机关": "别的机关"}, Serial: serial(190)}, certseal.EInvalid},
		"replace without a form":  {e.clerk, c.ID, certs.OperationRequest{Op: "replace", Reason: "遗失补证"}, certseal.EInvalid},
		"replace on a used form":  {e.clerk, c.ID, certs.OperationRequest{Op: "replace", Reason: "遗失补证", Serial: used.Serial}, certseal.EConflict},
		"transfer out to nowhere": {e.clerk, c.ID, certs.OperationRequest{Op: "transfer_out", Reason: "迁出"}, certseal.EInvalid},
		"transfer out to itself":  {e.clerk, c.ID, certs.OperationRequest{Op: "transfer_out", Reason: "迁出", TargetOrgID: e.clerk.OrgID}, certseal.EInvalid},
		"transfer out to a city department": {e.clerk, c.ID, certs.OperationRequest{Op: "transfer_out", Reason: "迁出",
			TargetOrgID: e.orgs["广元市市场监督管理局"]}, certseal.EInvalid},
		"transfer out to an unknown org": {e.clerk, c.ID, certs.OperationRequest{Op: "transfer_out", Reason: "迁出", TargetOrgID: "999999"}, certseal.ENotFound},
		"target on another op":           {e.clerk, c.ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣", TargetOrgID: e.orgs["广元市昭化区行政审批局"]}, certseal.EInvalid},
		"transfer in without a seal":     {e.other, c.ID, certs.OperationRequest{Op: "transfer_in", Reason: "迁入"}, certseal.EInvalid},
		"another bureau":                 {e.other, c.ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣"}, certseal.EForbidden},
		"another bureau's officer":       {other, c.ID, certs.OperationRequest{Op: "revoke", Reason: "撤销"}, certseal.EForbidden},
		"auditor":                        {e.auditor, c.ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣"}, certseal.EForbidden},
		"unknown certificate":            {e.clerk, "999999", certs.OperationRequest{Op: "suspend", Reason: "暂扣"}, certseal.ENotFound},
		"bad id":                         {e.clerk, "abc", certs.OperationRequest{Op: "suspend", Reason: "暂扣"}, certseal.ENotFound},
		"expire before the end":          {e.clerk, c.ID, certs.OperationRequest{Op: "expire", Reason: "提前办理"}, certseal.EConflict},
		"renew with another's seal":      {e.clerk, c.ID, certs.OperationRequest{Op: "renew", Reason: "申请延续", ValidTo: "2032-01-01", Serial: serial(190), SealID: e.otherSeal}, certseal.EForbidden},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := e.snapshot()
			_, err := e.svc.Operate(ctx, tc.actor, tc.id, tc.req)
			wantCode(t, err, tc.code)
			if !bytes.Equal(before, e.snapshot()) {
				t.Error("a refused operation wrote to the database")
			}
		})
	}
	// the administrator of the city center may operate on any certificate
	if got, err := e.svc.Operate(ctx, e.admin, c.ID, certs.OperationRequest{Op: "suspend", Reason: "市中心依职权暂扣"}); err != nil || got.Status != certs.StatusSuspended {
		t.Errorf("the administrator's suspension: %v %s", err, got.Status)
	}
}

// TestSuspendReinstateReason: the reason is trimmed and kept with a suspension (record, history,
// outbox, audit), and cleared when the certificate is back in force; the officer may reinstate
// what the clerk suspended.
func TestSuspendReinstateReason(t *testing.T) {
	e := newEnv(t)
	c := e.issue(0, 1)
	s := e.operate(c.ID, certs.OperationRequest{Op: "suspend", Reason: "  经营场所不符合要求，责令整改  "})
	if s.Status != certs.StatusSuspended || s.StatusReason != "经营场所不符合要求，责令整改" || s.StatusLabel != "暂扣" {
		t.Fatalf("suspended: %s %q %s", s.Status, s.StatusReason, s.StatusLabel)
	}
	if got := e.get(c.ID); got.StatusReason != s.StatusReason {
		t.Errorf("stored reason %q", got.StatusReason)
	}
	if v, err := e.svc.Lookup(ctx, c.Identifier); err != nil || v.Status != certs.StatusSuspended || v.StatusLabel != "暂扣" {
		t.Errorf("public view of a suspended certificate: %+v %v", v, err)
	}
	r, err := e.svc.Operate(ctx, e.officer, c.ID, certs.OperationRequest{Op: "reinstate", Reason: "整改完成，发还"})
	if err != nil || r.Status != certs.StatusValid || r.StatusReason != "" {
		t.Fatalf("reinstated: %v %s %q", err, r.Status, r.StatusReason)
	}
	h := e.history(c.ID)
	if len(h) != 3 || h[1].Op != "suspend" || h[1].Code != "03" || h[1].Reason != "经营场所不符合要求，责令整改" || h[1].By != "lizhou-clerk" ||
		h[2].Op != "reinstate" || h[2].Code != "06" || h[2].Reason != "整改完成，发还" || h[2].By != "lizhou-officer" || h[2].From != certs.StatusSuspended || h[2].To != certs.StatusValid {
		t.Errorf("history: %+v", h)
	}
	ev := e.events()
	if len(ev) != 3 || ev[1].Type != "certificate.suspend" || ev[1].Reason != "经营场所不符合要求，责令整改" || ev[1].Status != certs.StatusSuspended ||
		ev[2].Type != "certificate.reinstate" || ev[2].Status != certs.StatusValid {
		t.Errorf("outbox: %+v", ev)
	}
	// a second reinstatement is a conflict; a revocation keeps its reason
	_, err = e.svc.Operate(ctx, e.clerk, c.ID, certs.OperationRequest{Op: "reinstate", Reason: "再次发还"})
	wantCode(t, err, certseal.EConflict)
	rv := e.operate(c.ID, certs.OperationRequest{Op: "revoke", Reason: "以欺骗手段取得许可"})
	if rv.StatusReason != "以欺骗手段取得许可" {
		t.Errorf("revoked with reason %q", rv.StatusReason)
	}
}

// TestRenewBeforeTheEnd: an early renewal makes version 2 with the same licence number, a new
// identifier and PDF, starting the day after the old end; the old version stays in force (and is
// what the licence number finds) until then, and reads superseded from that day, which the sweep
// records once.
func TestRenewBeforeTheEnd(t *testing.T) {
	e := newEnv(t)
	old := e.issue(1, 2)
	end, _ := time.ParseInLocation(certs.DateLayout, old.ValidTo, certseal.China)
	newEnd := end.AddDate(4, 0, 0).Format(certs.DateLayout)
	nv := e.operate(old.ID, certs.OperationRequest{Op: "renew", Reason: "有效期届满前申请延续", ValidTo: newEnd, Serial: serial(3)})
	starts := dayAfter(t, old.ValidTo)
	if nv.Version != 2 || nv.PreviousID != old.ID || nv.LicenceNumber != old.LicenceNumber || nv.ValidFrom != starts || nv.ValidTo != newEnd ||
		!strings.Contains(nv.Identifier, ".002.") || nv.Serial != serial(3) || nv.PDFSHA256 == old.PDFSHA256 {
		t.Fatalf("renewed: %+v", nv)
	}
	if _, st := e.blank(3); st != inventory.Used {
		t.Errorf("the renewal's blank form is %s", st)
	}
	check := func(when string, oldStatus, newStatus certs.Status, inForce string) {
		t.Helper()
		if got := e.get(old.ID); got.Status != oldStatus {
			t.Errorf("%s: old version %s (%s), want %s", when, got.Status, got.StatusLabel, oldStatus)
		}
		if got := e.get(nv.ID); got.Status != newStatus {
			t.Errorf("%s: new version %s (%s), want %s", when, got.Status, got.StatusLabel, newStatus)
		}
		if v, err := e.svc.Lookup(ctx, old.LicenceNumber); err != nil || v.Identifier != inForce {
			t.Errorf("%s: the licence number finds %s (%v), want %s", when, v.Identifier, err, inForce)
		}
	}
	check("at once", certs.StatusValid, certs.StatusPending, old.Identifier)
	if _, err := e.svc.Operate(ctx, e.clerk, old.ID, certs.OperationRequest{Op: "suspend", Reason: "对旧版本操作"}); certseal.ErrorCode(err) != certseal.EConflict {
		t.Errorf("suspending the renewed old version: %v", err)
	}
	if r, err := e.svc.Sweep(ctx); err != nil || r != (certs.SweepResult{}) {
		t.Errorf("sweep before the day: %+v %v", r, err)
	}
	e.at(old.ValidTo)
	check("on the last day", certs.StatusValid, certs.StatusPending, old.Identifier)
	e.at(starts)
	check("from the new start", certs.StatusOther, certs.StatusValid, nv.Identifier)
	if got := e.get(old.ID); got.StatusLabel != "已由第2版取代" || !strings.Contains(got.StatusReason, nv.Identifier) {
		t.Errorf("old version after the new start: %q %q", got.StatusLabel, got.StatusReason)
	}
	if v, err := e.svc.Lookup(ctx, old.Identifier); err != nil || v.SupersededBy != nv.Identifier || v.SupersededFrom != starts {
		t.Errorf("public view of the old version: %+v %v", v, err)
	}
	if r, err := e.svc.Sweep(ctx); err != nil || r != (certs.SweepResult{Superseded: 1}) {
		t.Errorf("sweep on the day: %+v %v", r, err)
	}
	if r, err := e.svc.Sweep(ctx); err != nil || r != (certs.SweepResult{}) {
		t.Errorf("second sweep: %+v %v", r, err)
	}
	h := e.history(old.ID)
	if len(h) != 3 || h[1].Op != "renew" || h[1].NewID != nv.ID || h[2].Op != "superseded" || h[2].To != certs.StatusOther || h[2].By != "system" {
		t.Errorf("history of the old version: %+v", h)
	}
}

// TestChangeAndRenewExpired: a change takes effect at once (the old version is superseded now,
// with the changed values and holder on the new one); renewing an expired certificate starts
// today.
func TestChangeAndRenewExpired(t *testing.T) {
	e := newEnv(t)
	c := e.issue(2, 4)
	h := certs.Holder{Name: "广元市利州区新名称餐饮有限公司", Code: c.Holder.Code, CodeType: certs.CodeUSCC}
	nv := e.operate(c.ID, certs.OperationRequest{Op: "change", Reason: "企业名称变更", Holder: &h,
		Values: map[string]string{"日常监督管理人员": "王小明"}, Serial: serial(5)})
	if nv.Version != 2 || nv.ValidFrom != "2026-03-02" || nv.ValidTo != c.ValidTo || nv.Holder.Name != h.Name ||
		nv.Values["经营者名称"] != h.Name || nv.Values["日常监督管理人员"] != "王小明" || nv.Values["住所"] != c.Values["住所"] {
		t.Fatalf("changed: %+v", nv)
	}
	old := e.get(c.ID)
	if old.Status != certs.StatusOther || old.StatusLabel != "已由第2版取代" || old.SupersededBy != nv.ID || certs.OpsFrom(&old, e.clock.Now()) != nil {
		t.Errorf("old version after a change: %s %s %q", old.Status, old.StatusLabel, old.SupersededBy)
	}
	if hs := e.history(c.ID); hs[len(hs)-1].Op != "superseded" || hs[len(hs)-1].NewID != nv.ID {
		t.Errorf("old version's history: %+v", hs)
	}
	_, err := e.svc.Operate(ctx, e.clerk, c.ID, certs.OperationRequest{Op: "change", Reason: "再次变更", Values: map[string]string{"日常监督管理人员": "李四"}, Serial: serial(6)})
	wantCode(t, err, certseal.EConflict)

	x := e.issue(3, 7)
	e.at(dayAfter(t, x.ValidTo))
	today := dayAfter(t, x.ValidTo)
	end, _ := time.ParseInLocation(certs.DateLayout, today, certseal.China)
	r := e.operate(x.ID, certs.OperationRequest{Op: "renew", Reason: "过期后申请延续", ValidTo: end.AddDate(3, 0, 0).Format(certs.DateLayout), Serial: serial(8)})
	if r.ValidFrom != today || r.Status != certs.StatusValid {
		t.Errorf("renewed after expiry: from %s status %s, want from %s, valid", r.ValidFrom, r.Status, today)
	}
	if got := e.get(x.ID); got.Status != certs.StatusOther || got.SupersededBy != r.ID {
		t.Errorf("the expired version after renewal: %s %q", got.Status, got.SupersededBy)
	}
}

// TestTransfer: a transfer out names the receiving bureau, which may read the certificate and
// transfer it in with its own seal and blank form: version 2 under its issuer code; the old
// version stays 06 with the link, and no operation is left on it.
func TestTransfer(t *testing.T) {
	e := newEnv(t)
	c := e.issue(4, 9)
	if _, err := e.svc.Get(ctx, e.other, c.ID); certseal.ErrorCode(err) != certseal.ENotFound {
		t.Errorf("another bureau reads the certificate before a transfer: %v", err)
	}
	out := e.operate(c.ID, certs.OperationRequest{Op: "transfer_out", Reason: "经营者迁往昭化区", TargetOrgID: e.orgs["广元市昭化区行政审批局"]})
	if out.Status != certs.StatusTransferredOut || out.TransferToOrgID != e.other.OrgID || out.TransferToName != "广元市昭化区行政审批局" {
		t.Fatalf("transferred out: %+v", out)
	}
	if _, err := e.svc.Get(ctx, e.other, c.ID); err != nil {
		t.Errorf("the receiving bureau cannot read the certificate: %v", err)
	}
	if l, _, _ := e.svc.List(ctx, e.other, certs.Filter{}, "", 10); len(l) != 1 || l[0].ID != c.ID {
		t.Errorf("the receiving bureau's list: %d", len(l))
	}
	// the transfer in needs the receiving bureau's own seal and stock
	_, err := e.svc.Operate(ctx, e.other, c.ID, certs.OperationRequest{Op: "transfer_in", Reason: "迁入", SealID: e.seal, Serial: serial(zhaohuaFirst)})
	wantCode(t, err, certseal.EForbidden)
	_, err = e.svc.Operate(ctx, e.other, c.ID, certs.OperationRequest{Op: "transfer_in", Reason: "迁入", SealID: e.otherSeal, Serial: serial(10)})
	wantCode(t, err, certseal.EConflict)
	in, err := e.svc.Operate(ctx, e.other, c.ID, certs.OperationRequest{Op: "transfer_in", Reason: "迁入", SealID: e.otherSeal, Serial: serial(zhaohuaFirst)})
	if err != nil {
		t.Fatal(err)
	}
	oldID, _ := certs.ParseIdentifier(c.Identifier)
	newID, _ := certs.ParseIdentifier(in.Identifier)
	if in.Version != 2 || in.IssuerOrgID != e.other.OrgID || in.IssuerName != "广元市昭化区行政审批局" || newID.IssuerCode == oldID.IssuerCode ||
		in.TransferFromOrgID != e.clerk.OrgID || in.LicenceNumber != c.LicenceNumber || in.SealID != e.otherSeal || in.Values["发证机关"] != "广元市昭化区行政审批局" {
		t.Fatalf("transferred in: %+v", in)
	}
	old := e.get(c.ID)
	if old.Status != certs.StatusTransferredOut || old.SupersededBy != in.ID || certs.OpsFrom(&old, e.clock.Now()) != nil {
		t.Errorf("old version after the transfer in: %s %q %v", old.Status, old.SupersededBy, certs.OpsFrom(&old, e.clock.Now()))
	}
	_, err = e.svc.Operate(ctx, e.clerk, c.ID, certs.OperationRequest{Op: "cancel_transfer", Reason: "撤回转出"})
	wantCode(t, err, certseal.EConflict)
	if _, err := e.svc.Get(ctx, e.clerk, in.ID); err != nil {
		t.Errorf("the bureau it came from cannot read the new version: %v", err)
	}
}

// TestSweepExpires: past its end a certificate reads expired at once; the sweep records the
// expiry (04, by the system) once, with its outbox event.
func TestSweepExpires(t *testing.T) {
	e := newEnv(t)
	c := e.issue(5, 11)
	keep := e.issue(6, 12)
	e.operate(keep.ID, certs.OperationRequest{Op: "suspend", Reason: "暂扣待查"})
	e.at(dayAfter(t, c.ValidTo))
	if got := e.get(c.ID); got.Status != certs.StatusExpired || got.StatusLabel != "失效" || got.StatusReason != "有效期已届满" {
		t.Errorf("after the end: %s %s %q", got.Status, got.StatusLabel, got.StatusReason)
	}
	n, err := e.svc.ExpireDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v, want 1 (the suspended one stays suspended)", n, err)
	}
	if n, err := e.svc.ExpireDue(ctx); err != nil || n != 0 {
		t.Errorf("second sweep: %d %v", n, err)
	}
	h := e.history(c.ID)
	if len(h) != 2 || h[1].Op != "expire" || h[1].Code != "04" || h[1].By != "system" || h[1].To != certs.StatusExpired {
		t.Errorf("history: %+v", h)
	}
	ev := e.events()
	if last := ev[len(ev)-1]; last.Type != "certificate.expire" || last.CertificateID != c.ID || last.Status != certs.StatusExpired {
		t.Errorf("outbox: %+v", last)
	}
	if got := e.get(keep.ID); got.Status != certs.StatusSuspended {
		t.Errorf("the suspended certificate after the sweep: %s", got.Status)
	}
}

// TestOperateAnswersStatusAsOfNow: what Issue and Operate return is the certificate as Get reads
// it right after, with its status as of now: a renewal issued before the old version ends is
// 00 未生效 until its valid_from, in the answer as in every read.
func TestOperateAnswersStatusAsOfNow(t *testing.T) {
	e := newEnv(t)
	old := e.issue(1, 2)
	end, _ := time.ParseInLocation(certs.DateLayout, old.ValidTo, certseal.China)
	nv := e.operate(old.ID, certs.OperationRequest{Op: "renew", Reason: "有效期届满前申请延续", ValidTo: end.AddDate(4, 0, 0).Format(certs.DateLayout), Serial: serial(3)})
	if got := e.get(nv.ID); nv.Status != got.Status || nv.StatusLabel != got.StatusLabel {
		t.Errorf("renew answers %s %s, Get reads %s %s", nv.Status, nv.StatusLabel, got.Status, got.StatusLabel)
	}
	rc := e.operate(nv.ID, certs.OperationRequest{Op: "replace", Reason: "遗失补证", Serial: serial(4), ReportRef: "遗失声明"})
	if got := e.get(nv.ID); rc.Status != got.Status || rc.StatusLabel != got.StatusLabel {
		t.Errorf("replace answers %s %s, Get reads %s %s", rc.Status, rc.StatusLabel, got.Status, got.StatusLabel)
	}
	c, _, err := e.svc.Issue(ctx, e.clerk, func() certs.IssueRequest { r := e.foodRequest(9, serial(5)); r.ValidFrom = "2026-06-01"; return r }(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(c.ID); c.Status != got.Status || c.StatusLabel != got.StatusLabel {
		t.Errorf("issue answers %s %s, Get reads %s %s", c.Status, c.StatusLabel, got.Status, got.StatusLabel)
	}
}
