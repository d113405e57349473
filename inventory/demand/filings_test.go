package demand_test

import (
	"bytes"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/inventory/demand"
)

func TestDefaultParticipants(t *testing.T) {
	e := newEnv(t)
	r := e.yearly(t)
	if len(r.Participants) != len(demo.Bureaus)+1 {
		t.Fatalf("got %d participants, want the %d bureaus and 苍溪县交通运输局", len(r.Participants), len(demo.Bureaus))
	}
	p := r.Participant(e.ids["苍溪县交通运输局"])
	if p == nil || len(p.Types) != 1 || p.Types[0] != demo.TypeRoadTransport {
		t.Fatalf("got county department participant %+v, want it for the road transport licence only", p)
	}
	if r.Participant(e.ids["广元市利州区市场监督管理局"]) != nil {
		t.Fatal("a county department without untransferred items is asked to file")
	}
	if r.Type(demo.TypeFood).ResponsibleName != "广元市市场监督管理局" || r.Type(demo.TypeFood).Cap != 500 {
		t.Fatalf("got type %+v", r.Type(demo.TypeFood))
	}
}

// TestRefusals checks every refusal: its code, a Chinese message, and nothing written.
func TestRefusals(t *testing.T) {
	type setup struct {
		e         *env
		round     demand.Round
		approved  demand.Filing // a bureau 1 filing, approved
		draft     demand.Filing // a bureau 2 draft
		submitted demand.Filing // a bureau 4 filing of 400 food licences, submitted
		closed    demand.Round  // a closed top-up round
	}
	prepare := func(t *testing.T) *setup {
		e := newEnv(t)
		s := &setup{e: e, round: e.yearly(t)}
		b1 := e.bureau(t, 1)
		f := must(e.svc.SaveFiling(ctx, b1, s.round.ID, filing(line(demo.TypeFood, 100))))
		must(e.svc.SubmitFiling(ctx, b1, f.ID))
		s.approved = must(e.svc.ApproveFiling(ctx, e.admin, f.ID, demand.ApproveRequest{}))
		s.draft = must(e.svc.SaveFiling(ctx, e.bureau(t, 2), s.round.ID, filing(line(demo.TypeFood, 10))))
		b4 := e.bureau(t, 4)
		s.submitted = must(e.svc.SaveFiling(ctx, b4, s.round.ID, filing(line(demo.TypeFood, 400))))
		s.submitted = must(e.svc.SubmitFiling(ctx, b4, s.submitted.ID))
		s.closed = must(e.svc.OpenRound(ctx, e.admin, demand.RoundRequest{Kind: demand.TopUp, ParentID: s.round.ID,
			Deadline: deadline, Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}}}))
		must(e.svc.CloseRound(ctx, e.admin, s.closed.ID, demand.CloseRequest{}))
		return s
	}
	cases := []struct {
		name string
		code string
		do   func(t *testing.T, s *setup) error
	}{
		{"negative quantity", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, filing(line(demo.TypeFood, -1)))
			return err
		}},
		{"over the cap", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, filing(line(demo.TypeFood, 501)))
			return err
		}},
		{"amend over the cap", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.AmendFiling(ctx, s.e.bureau(t, 2), s.draft.ID, filing(line(demo.TypeFood, 501)))
			return err
		}},
		{"type outside the round", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, filing(line(demo.TypeBusiness, 5)))
			return err
		}},
		{"type the county department does not issue", certseal.EInvalid, func(t *testing.T, s *setup) error {
			a := s.e.actor(t, "苍溪县交通运输局", certseal.RoleBureauOfficer)
			_, err := s.e.svc.SaveFiling(ctx, a, s.round.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"no contact", certseal.EInvalid, func(t *testing.T, s *setup) error {
			req := filing(line(demo.TypeFood, 5))
			req.Contact = " "
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, req)
			return err
		}},
		{"bad phone", certseal.EInvalid, func(t *testing.T, s *setup) error {
			req := filing(line(demo.TypeFood, 5))
			req.Phone = "call me"
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, req)
			return err
		}},
		{"filing for another organisation", certseal.EForbidden, func(t *testing.T, s *setup) error {
			req := filing(line(demo.TypeFood, 5))
			req.OrgID = s.e.ids[demo.Bureaus[3].Name]
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, req)
			return err
		}},
		{"amending another organisation's filing", certseal.EForbidden, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.AmendFiling(ctx, s.e.bureau(t, 0), s.draft.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"submitting another organisation's filing", certseal.EForbidden, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SubmitFiling(ctx, s.e.bureau(t, 0), s.draft.ID)
			return err
		}},
		{"organisation outside the round", certseal.EForbidden, func(t *testing.T, s *setup) error {
			a := s.e.actor(t, "广元市利州区市场监督管理局", certseal.RoleBureauOfficer)
			_, err := s.e.svc.SaveFiling(ctx, a, s.round.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"city department filing", certseal.EForbidden, func(t *testing.T, s *setup) error {
			a := s.e.actor(t, "广元市市场监督管理局", certseal.RoleDeptOfficer)
			_, err := s.e.svc.SaveFiling(ctx, a, s.round.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"filing after the deadline", certseal.EConflict, func(t *testing.T, s *setup) error {
			s.e.clock.Set(deadline.Add(time.Minute))
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.round.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"submitting after the deadline", certseal.EConflict, func(t *testing.T, s *setup) error {
			s.e.clock.Set(deadline.Add(time.Second))
			_, err := s.e.svc.SubmitFiling(ctx, s.e.bureau(t, 2), s.draft.ID)
			return err
		}},
		{"filing into a closed round", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), s.closed.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"approving twice", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.admin, s.approved.ID, demand.ApproveRequest{})
			return err
		}},
		{"approving a type not in the filing", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.admin, s.submitted.ID, demand.ApproveRequest{Lines: []demand.ApprovedLine{{TypeCode: demo.TypeConstruction, Quantity: 6}}})
			return err
		}},
		{"approving a negative quantity", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.admin, s.submitted.ID, demand.ApproveRequest{Lines: []demand.ApprovedLine{{TypeCode: demo.TypeFood, Quantity: -6}}})
			return err
		}},
		{"submitting twice", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SubmitFiling(ctx, s.e.bureau(t, 4), s.submitted.ID)
			return err
		}},
		{"approving a draft", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.admin, s.draft.ID, demand.ApproveRequest{})
			return err
		}},
		{"approving by a bureau", certseal.EForbidden, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.bureau(t, 2), s.draft.ID, demand.ApproveRequest{})
			return err
		}},
		{"amending an approved filing", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.AmendFiling(ctx, s.e.bureau(t, 1), s.approved.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"saving over an approved filing", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 1), s.round.ID, filing(line(demo.TypeFood, 5)))
			return err
		}},
		{"withdrawing an approved filing", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.WithdrawFiling(ctx, s.e.bureau(t, 1), s.approved.ID, demand.WithdrawRequest{})
			return err
		}},
		{"returning without a comment", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ReturnFiling(ctx, s.e.admin, s.approved.ID, demand.ReturnRequest{Comment: "  "})
			return err
		}},
		{"returning a draft", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ReturnFiling(ctx, s.e.admin, s.draft.ID, demand.ReturnRequest{Comment: "请补充理由"})
			return err
		}},
		{"opening a round as a department", certseal.EForbidden, func(t *testing.T, s *setup) error {
			a := s.e.actor(t, "广元市市场监督管理局", certseal.RoleDeptOfficer)
			_, err := s.e.svc.OpenRound(ctx, a, demand.RoundRequest{Kind: demand.Yearly, Year: 2027, Deadline: deadline.AddDate(1, 0, 0),
				Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}}})
			return err
		}},
		{"second yearly round of a year", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.OpenRound(ctx, s.e.admin, demand.RoundRequest{Kind: demand.Yearly, Year: 2026, Deadline: deadline,
				Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}}})
			return err
		}},
		{"round of an electronic type", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.OpenRound(ctx, s.e.admin, demand.RoundRequest{Kind: demand.Yearly, Year: 2027, Deadline: deadline,
				Types: []demand.RoundTypeRequest{{Code: demo.TypeBusiness}}})
			return err
		}},
		{"round with a past deadline", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.OpenRound(ctx, s.e.admin, demand.RoundRequest{Kind: demand.Yearly, Year: 2027, Deadline: t0.Add(-time.Hour),
				Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}}})
			return err
		}},
		{"negative cap", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.OpenRound(ctx, s.e.admin, demand.RoundRequest{Kind: demand.Yearly, Year: 2027, Deadline: deadline,
				Types: []demand.RoundTypeRequest{{Code: demo.TypeFood, Cap: -1}}})
			return err
		}},
		{"top-up under a top-up", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.OpenRound(ctx, s.e.admin, demand.RoundRequest{Kind: demand.TopUp, ParentID: s.closed.ID, Deadline: deadline,
				Types: []demand.RoundTypeRequest{{Code: demo.TypeFood}}})
			return err
		}},
		{"reopening a running round", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ReopenRound(ctx, s.e.admin, s.round.ID, demand.ReopenRequest{Reason: "延期", Deadline: deadline.AddDate(0, 1, 0)})
			return err
		}},
		{"reopening without a reason", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ReopenRound(ctx, s.e.admin, s.closed.ID, demand.ReopenRequest{Deadline: deadline.AddDate(0, 1, 0)})
			return err
		}},
		{"closing a closed round", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.CloseRound(ctx, s.e.admin, s.closed.ID, demand.CloseRequest{})
			return err
		}},
		{"approving over the cap", certseal.EInvalid, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.ApproveFiling(ctx, s.e.admin, s.submitted.ID, demand.ApproveRequest{Lines: []demand.ApprovedLine{{TypeCode: demo.TypeFood, Quantity: 600}}})
			return err
		}},
		{"making a plan without approved filings", certseal.EConflict, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.MakePlan(ctx, s.e.admin, s.closed.ID, demand.PlanRequest{})
			return err
		}},
		{"summary for a bureau", certseal.EForbidden, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.Summary(ctx, s.e.bureau(t, 0), s.round.ID)
			return err
		}},
		{"reading another organisation's filing", certseal.EForbidden, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.GetFiling(ctx, s.e.bureau(t, 0), s.draft.ID)
			return err
		}},
		{"unknown round", certseal.ENotFound, func(t *testing.T, s *setup) error {
			_, err := s.e.svc.SaveFiling(ctx, s.e.bureau(t, 0), 999, filing(line(demo.TypeFood, 5)))
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := prepare(t)
			before := s.e.snapshot(t)
			err := c.do(t, s)
			wantCode(t, err, c.code)
			if !bytes.Equal(before, s.e.snapshot(t)) {
				t.Fatal("a refused request wrote to the database")
			}
		})
	}
}

func TestFilingLifecycleAndVersions(t *testing.T) {
	e := newEnv(t)
	r := e.yearly(t)
	b := e.bureau(t, 0)
	f := must(e.svc.SaveFiling(ctx, b, r.ID, filing(line(demo.TypeFood, 100), line(demo.TypeConstruction, 20))))
	if f.Status != demand.Draft || f.Version != 1 {
		t.Fatalf("got %s v%d, want a draft v1", f.Status, f.Version)
	}
	// Saving again keeps the same filing, as a new version.
	f = must(e.svc.SaveFiling(ctx, b, r.ID, filing(line(demo.TypeFood, 120), line(demo.TypeConstruction, 20))))
	f = must(e.svc.SubmitFiling(ctx, b, f.ID))
	f = must(e.svc.AmendFiling(ctx, b, f.ID, filing(line(demo.TypeFood, 150))))
	if f.Status != demand.Submitted || f.Version != 4 || len(f.Lines) != 1 || f.Lines[0].Quantity != 150 {
		t.Fatalf("after amend got %+v", f)
	}
	f = must(e.svc.ReturnFiling(ctx, e.admin, f.ID, demand.ReturnRequest{Comment: "请说明增长原因"}))
	if f.Status != demand.Draft || f.ReturnComment != "请说明增长原因" {
		t.Fatalf("after return got %s %q", f.Status, f.ReturnComment)
	}
	miss := must(e.svc.Missing(ctx, e.admin, r.ID))
	if miss[0].OrgID != b.OrgID || miss[0].StatusLabel != "退回修改" {
		t.Fatalf("got missing %+v, want the returned filing first", miss[0])
	}
	f = must(e.svc.AmendFiling(ctx, b, f.ID, filing(line(demo.TypeFood, 140))))
	f = must(e.svc.SubmitFiling(ctx, b, f.ID))
	f = must(e.svc.ApproveFiling(ctx, e.admin, f.ID, demand.ApproveRequest{Lines: []demand.ApprovedLine{{TypeCode: demo.TypeFood, Quantity: 130}}, Comment: "同意"}))
	if f.Status != demand.Approved || f.Lines[0].Approved != 130 || f.ApprovedBy != "admin" {
		t.Fatalf("after approval got %+v", f)
	}
	vs := must(e.svc.FilingVersions(ctx, b, f.ID))
	var got []string
	for _, v := range vs {
		got = append(got, v.Action+":"+string(v.Status))
	}
	want := []string{"save:draft", "save:draft", "submit:submitted", "amend:submitted", "return:draft", "amend:draft", "submit:submitted", "approve:approved"}
	if len(got) != len(want) {
		t.Fatalf("got versions %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] || vs[i].Version != i+1 {
			t.Fatalf("got versions %v, want %v", got, want)
		}
	}
	if vs[0].Lines[0].Quantity != 100 || len(vs[0].Lines) != 2 || vs[3].Lines[0].Quantity != 150 || vs[4].Comment != "请说明增长原因" {
		t.Fatalf("the version history lost content: %+v", vs)
	}
	// Every change is audited.
	var n int
	err := e.db.View(func(tx *store.Tx) error {
		evs, _, err := audit.List(tx, audit.Filter{Action: "demand."}, 0, 100)
		n = len(evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1+len(want) {
		t.Fatalf("got %d demand audit events, want %d", n, 1+len(want))
	}

	// Withdraw and file again.
	b2 := e.bureau(t, 1)
	g := must(e.svc.SaveFiling(ctx, b2, r.ID, filing(line(demo.TypeFood, 10))))
	must(e.svc.SubmitFiling(ctx, b2, g.ID))
	g = must(e.svc.WithdrawFiling(ctx, b2, g.ID, demand.WithdrawRequest{Reason: "数量填错"}))
	if g.Status != demand.Withdrawn {
		t.Fatalf("got %s, want withdrawn", g.Status)
	}
	g = must(e.svc.SaveFiling(ctx, b2, r.ID, filing(line(demo.TypeFood, 12))))
	if g.Status != demand.Draft || g.Version != 4 {
		t.Fatalf("got %s v%d after saving a withdrawn filing", g.Status, g.Version)
	}
	// Filers list only their own filings.
	if fs := must(e.svc.Filings(ctx, b2, r.ID, demand.FilingFilter{})); len(fs) != 1 || fs[0].ID != g.ID {
		t.Fatalf("a bureau sees %d filings", len(fs))
	}
	if fs := must(e.svc.Filings(ctx, e.admin, r.ID, demand.FilingFilter{Status: demand.Approved})); len(fs) != 1 || fs[0].ID != f.ID {
		t.Fatalf("got %d approved filings, want 1", len(fs))
	}
}

func TestDeadlineReopenAndReminders(t *testing.T) {
	e := newEnv(t)
	r := e.yearly(t)
	b := e.bureau(t, 0)
	must(e.svc.SaveFiling(ctx, b, r.ID, filing(line(demo.TypeFood, 10))))

	// Ten days before the deadline nobody is reminded with a 7-day window; 5 days before, the
	// nine organisations that have not submitted are.
	e.clock.Set(deadline.AddDate(0, 0, -10))
	rem := must(e.svc.Reminders(ctx, e.admin, r.ID, 7))
	if rem.Due || len(rem.Orgs) != 0 {
		t.Fatalf("got reminders %+v, want none yet", rem)
	}
	e.clock.Set(deadline.AddDate(0, 0, -5))
	rem = must(e.svc.Reminders(ctx, e.admin, r.ID, 7))
	if !rem.Due || len(rem.Orgs) != len(r.Participants) {
		t.Fatalf("got %d organisations to remind, want %d", len(rem.Orgs), len(r.Participants))
	}

	// Exactly at the deadline a filing is on time; a second later it is late.
	e.clock.Set(deadline)
	e.clock.Step = 0
	f := must(e.svc.SaveFiling(ctx, b, r.ID, filing(line(demo.TypeFood, 11))))
	e.clock.Set(deadline.Add(time.Second))
	_, err := e.svc.SubmitFiling(ctx, b, f.ID)
	wantCode(t, err, certseal.EConflict)
	rem = must(e.svc.Reminders(ctx, e.admin, r.ID, 7))
	if rem.Due {
		t.Fatal("reminders are due after the deadline")
	}

	// Reopened with a reason and a new deadline, the round accepts the filing.
	r2 := must(e.svc.ReopenRound(ctx, e.admin, r.ID, demand.ReopenRequest{Reason: "部分县区未及时报送", Deadline: deadline.AddDate(0, 0, 7)}))
	if r2.Status != demand.RoundOpen || len(r2.Reopenings) != 1 || !r2.Reopenings[0].OldDeadline.Equal(deadline) {
		t.Fatalf("got reopened round %+v", r2)
	}
	must(e.svc.SubmitFiling(ctx, b, f.ID))
	if miss := must(e.svc.Missing(ctx, e.admin, r.ID)); len(miss) != len(r.Participants)-1 {
		t.Fatalf("got %d missing, want %d", len(miss), len(r.Participants)-1)
	}

	// Closed, it refuses again; reopened, it accepts again.
	must(e.svc.CloseRound(ctx, e.admin, r.ID, demand.CloseRequest{Note: "截止"}))
	_, err = e.svc.SaveFiling(ctx, e.bureau(t, 1), r.ID, filing(line(demo.TypeFood, 1)))
	wantCode(t, err, certseal.EConflict)
	must(e.svc.ReopenRound(ctx, e.admin, r.ID, demand.ReopenRequest{Reason: "补报", Deadline: deadline.AddDate(0, 0, 8)}))
	must(e.svc.SaveFiling(ctx, e.bureau(t, 1), r.ID, filing(line(demo.TypeFood, 1))))

	// A top-up round during the year has its own deadline and links to the yearly round.
	e.clock.Set(time.Date(2026, 6, 1, 9, 0, 0, 0, certseal.China))
	top := must(e.svc.OpenRound(ctx, e.admin, demand.RoundRequest{Kind: demand.TopUp, ParentID: r.ID,
		Deadline: time.Date(2026, 6, 15, 18, 0, 0, 0, certseal.China), Types: []demand.RoundTypeRequest{{Code: demo.TypeFood, Cap: 50}}}))
	if top.Year != 2026 || top.ParentID != r.ID || top.Title != "广元市2026年空白证照补充征订" {
		t.Fatalf("got top-up %+v", top)
	}
	_, err = e.svc.SaveFiling(ctx, b, top.ID, filing(line(demo.TypeFood, 51)))
	wantCode(t, err, certseal.EInvalid)
	must(e.svc.SaveFiling(ctx, b, top.ID, filing(line(demo.TypeFood, 50))))
	if rs := must(e.svc.Rounds(ctx, b, demand.RoundFilter{ParentID: r.ID})); len(rs) != 1 || rs[0].ID != top.ID {
		t.Fatalf("got %d top-up rounds", len(rs))
	}
}
