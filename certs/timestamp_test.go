package certs_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/demo"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/internal/tsa"
	"certseal/internal/tsa/tsahttp"
	"certseal/inventory"
	"certseal/seals"
)

// builtinLT configures the registry to sign at level with its built-in TSA, served over HTTP
// as the binary serves it (POST /tsa).
func (e *env) builtinLT(level seals.Level) *tsa.Authority {
	e.t.Helper()
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	srv := httptest.NewServer(tsahttp.Handler(a))
	e.t.Cleanup(srv.Close)
	e.reg.SetLongTerm(level, &tsahttp.Client{URL: srv.URL, Timeout: 5 * time.Second}, nil)
	return a
}

// TestIssueLongTerm: with a TSA configured, an issued certificate is B-LT; it verifies as
// valid, proven by the timestamp; after the seal is revoked it stays valid for the proven time;
// years later, past the seal certificate's expiry, too. Without a timestamp the same clock
// moves give indeterminate verdicts.
func TestIssueLongTerm(t *testing.T) {
	for _, withTSA := range []bool{true, false} {
		name := "no TSA"
		if withTSA {
			name = "built-in TSA"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			if withTSA {
				e.builtinLT(seals.LevelBLT)
			}
			// A seal valid for a year only: its certificate expires while the licence is in force.
			s, err := e.reg.Create(ctx, e.admin, seals.NewSeal{Name: "广元市利州区行政审批局行政审批专用章（二）", OrgID: e.orgs["广元市利州区行政审批局"], Type: seals.TypeDedicatedApproval,
				Code: "5108020000003", Auth: seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"}, LicenceTypes: []string{demo.TypeFood},
				ValidFrom: start, ValidTo: start.AddDate(1, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			// its SM2 registration, for the food licence's OFD
			if _, err := e.reg.Create(ctx, e.admin, seals.NewSeal{Name: s.Name, OrgID: s.OrgID, Type: s.Type, Code: s.Code, Auth: s.Auth,
				LicenceTypes: s.LicenceTypes, ValidFrom: start, ValidTo: start.AddDate(1, 0, 0), Algorithm: seals.AlgSM2}); err != nil {
				t.Fatal(err)
			}
			req := e.foodRequest(0, serial(1))
			req.SealID = s.ID
			req.ValidTo = start.AddDate(4, 0, 0).Format(certs.DateLayout)
			c, _, err := e.svc.Issue(ctx, e.clerk, req, "")
			if err != nil {
				t.Fatal(err)
			}
			pdf := e.pdf(c.ID)
			verify := func(when string) certs.PDFVerdict {
				v, err := e.svc.VerifyPDF(ctx, pdf)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("%s: %s %v level %q proven %v tsa %q", when, v.Verdict, v.Reasons, v.PAdESLevel, v.ProvenTime, v.TSA)
				return v
			}
			v := verify("now")
			if withTSA {
				if v.Verdict != certs.VerdictValid || v.PAdESLevel != "B-LT" || v.ProvenTime == nil || v.TSA != seals.TSAName || !hasReason(v, certs.ReasonProvenValid) {
					t.Errorf("now: %+v", v)
				}
			} else if v.Verdict != certs.VerdictValid || v.PAdESLevel != "" && v.PAdESLevel != "B-B" || v.ProvenTime != nil {
				t.Errorf("now without TSA: %+v", v)
			}
			// The seal is revoked a month later.
			e.clock.Set(start.AddDate(0, 1, 0))
			if _, err := e.reg.Revoke(ctx, e.admin, s.ID, "印章遗失"); err != nil {
				t.Fatal(err)
			}
			v = verify("after the revocation")
			if withTSA && (v.Verdict != certs.VerdictValid || !hasReason(v, certs.ReasonProvenValid)) {
				t.Errorf("after the revocation with a timestamp: %s %v, want valid, proven", v.Verdict, v.Reasons)
			}
			if !withTSA && v.Verdict != certs.VerdictIndeterminate {
				t.Errorf("after the revocation without a timestamp: %s, want indeterminate", v.Verdict)
			}
			// Two years on: the seal certificate has expired, the licence is in force.
			e.clock.Set(start.AddDate(2, 0, 0))
			v = verify("two years on")
			if withTSA && (v.Verdict != certs.VerdictValid || !hasReason(v, certs.ReasonProvenValid)) {
				t.Errorf("past the seal's expiry with a timestamp: %s %v, want valid, proven", v.Verdict, v.Reasons)
			}
			if !withTSA && (v.Verdict != certs.VerdictIndeterminate || !strings.Contains(strings.Join(v.Reasons, ";"), "印章证书现已过期")) {
				t.Errorf("past the seal's expiry without a timestamp: %s %v, want indeterminate, expired", v.Verdict, v.Reasons)
			}
		})
	}
}

func hasReason(v certs.PDFVerdict, r string) bool {
	for _, x := range v.Reasons {
		if x == r {
			return true
		}
	}
	return false
}

// TestIssueFailsLoudlyWithoutTimestamp: with a TSA configured that is down, slow, answers
// garbage or the wrong imprint, an issue fails with 503 unavailable 时间戳服务不可用, makes one
// TSA request, and consumes nothing: the blank form stays in stock, no certificate, no seal
// use; the same request succeeds once the TSA answers.
func TestIssueFailsLoudlyWithoutTimestamp(t *testing.T) {
	e := newEnv(t)
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	good := tsahttp.Handler(a)
	var calls int
	mode := "down"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		switch mode {
		case "slow":
			time.Sleep(600 * time.Millisecond)
		case "garbage":
			w.Write([]byte("<html>503</html>"))
		case "wrong imprint":
			resp, _ := a.Respond(mustRequest(t))
			w.Write(resp)
		case "down":
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			good.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	e.reg.SetLongTerm(seals.LevelBLT, &tsahttp.Client{URL: srv.URL, Timeout: 300 * time.Millisecond}, nil)
	count := func() (certsN, uses int, st inventory.State) {
		e.db.View(func(tx *store.Tx) error {
			certsN = tx.Count("cert_records")
			uses = tx.Count(seals.BucketUses)
			_, st, _ = inventory.StateTx(tx, demo.TypeFood, serial(5))
			return nil
		})
		return
	}
	c0, u0, s0 := count()
	for _, m := range []string{"down", "slow", "garbage", "wrong imprint"} {
		mode, calls = m, 0
		_, _, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(1, serial(5)), "")
		if certseal.ErrorCode(err) != certseal.EUnavailable || !strings.HasPrefix(certseal.ErrorMessage(err), "时间戳服务不可用") {
			t.Errorf("%s: got %v, want unavailable 时间戳服务不可用", m, err)
		}
		if calls != 1 {
			t.Errorf("%s: %d TSA requests, want 1", m, calls)
		}
		if c, u, s := count(); c != c0 || u != u0 || s != s0 || s != inventory.InStock {
			t.Errorf("%s: certificates %d→%d, seal uses %d→%d, blank form %v→%v; want nothing consumed", m, c0, c, u0, u, s0, s)
		}
	}
	mode = "good"
	c, _, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(1, serial(5)), "")
	if err != nil {
		t.Fatalf("with the TSA back: %v", err)
	}
	if _, _, s := count(); s == inventory.InStock || c.Serial != serial(5) {
		t.Errorf("after the good issue the blank form is %v", s)
	}
}

func mustRequest(t *testing.T) []byte {
	q, err := tsa.NewRequest(tsa.SHA256, make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestRetimestamp: a B-LTA certificate whose timestamp certificate expires within the window
// gets a new DSS and document timestamp; the new file and the copy handed out before both
// verify as valid, the seal's signature stays B-LTA and whole, poppler still says the seal's
// signature is valid; outside the window nothing is renewed.
func TestRetimestamp(t *testing.T) {
	e := newEnv(t)
	e.builtinLT(seals.LevelBLTA)
	c := e.issue(0, 1)
	before := e.pdf(c.ID)
	res, err := e.svc.Retimestamp(ctx, e.reg, time.Hour, 0)
	if err != nil || res.Renewed != 0 || res.Checked != 1 {
		t.Fatalf("outside the window: %+v %v", res, err)
	}
	res, err = e.svc.Retimestamp(ctx, e.reg, 10*365*24*time.Hour, 0)
	if err != nil || res.Renewed != 1 {
		t.Fatalf("inside the window: %+v %v", res, err)
	}
	after := e.pdf(c.ID)
	if len(after) <= len(before) || !bytes.HasPrefix(after, before) {
		t.Fatalf("the renewed PDF (%d bytes) does not extend the old one (%d bytes)", len(after), len(before))
	}
	for name, pdf := range map[string][]byte{"renewed": after, "handed out before": before} {
		v, err := e.svc.VerifyPDF(ctx, pdf)
		if err != nil || v.Verdict != certs.VerdictValid || v.PAdESLevel != "B-LTA" || !hasReason(v, certs.ReasonProvenValid) {
			t.Errorf("%s: %s %v level %q (%v)", name, v.Verdict, v.Reasons, v.PAdESLevel, err)
		}
	}
	reps, err := e.reg.ValidateWithStatus(ctx, after)
	if err != nil || len(reps) != 3 || reps[0].Modified || !reps[0].Extended || !reps[1].DocTimestamp || !reps[2].DocTimestamp || !reps[2].Valid || reps[1].Modified {
		t.Errorf("renewed reports: %+v %v", reps, err)
	}
	if bad, _, err := certs.CheckConsistency(ctx, e.db, e.docs, e.inv); err != nil || len(bad) != 0 {
		t.Errorf("consistency after renewal: %v %v", bad, err)
	}
	fixtures.NeedTool(t, "pdfsig", "poppler-utils")
	f := filepath.Join(t.TempDir(), "r.pdf")
	os.WriteFile(f, after, 0o600)
	out, _ := exec.Command("pdfsig", f).CombinedOutput()
	if strings.Count(string(out), "Signature is Valid.") != 1 || strings.Count(string(out), "Signature #") != 3 {
		t.Errorf("pdfsig on the renewed file:\n%s", out)
	}
}

// TestSealedWhileSuspended: a certificate whose trusted timestamp proves it was sealed while
// the seal was suspended is refused (seal_invalid_at_signing), although the seal's own claim of
// time (/M) falls before the suspension.
func TestSealedWhileSuspended(t *testing.T) {
	e := newEnv(t)
	a, err := e.reg.BuiltinTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Set(start.AddDate(0, 0, 10))
	if _, err := e.reg.Suspend(ctx, e.admin, e.seal, "印章送检"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(start.AddDate(0, 0, 20))
	if _, err := e.reg.Reinstate(ctx, e.admin, e.seal, "送检完毕"); err != nil {
		t.Fatal(err)
	}
	// The issuing clock reads a day after start; the TSA's, day 15 (the seal suspended).
	stamped := *a
	stamped.Now = func() time.Time { return start.AddDate(0, 0, 15) }
	e.reg.SetLongTerm(seals.LevelBT, &stamped, nil)
	e.clock.Set(start.AddDate(0, 0, 1))
	c := e.issue(0, 1)
	e.clock.Set(start.AddDate(0, 0, 30))
	v, err := e.svc.VerifyPDF(ctx, e.pdf(c.ID))
	t.Logf("%s %v", v.Verdict, v.Reasons)
	if err != nil || v.Verdict != certs.VerdictSealInvalid || certs.VerdictLabel(v.Verdict) == "" || v.ProvenTime == nil || !strings.Contains(strings.Join(v.Reasons, ";"), "可信时间戳证明签章时") {
		t.Errorf("sealed while suspended: %s %v (%v)", v.Verdict, v.Reasons, err)
	}
}
