package demand_test

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/inventory/demand"
)

// TestAggregateEqualsApprovedFilings files at random (several seeds) and checks that the
// aggregate equals the sum of the filings in every dimension: type, organisation, supply channel
// and responsible department, for approved and requested quantities, and that the plan carries
// the approved quantities.
func TestAggregateEqualsApprovedFilings(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			e := newEnv(t)
			r := e.yearly(t)
			for _, p := range r.Participants {
				a := e.actor(t, p.OrgName, certseal.RoleBureauOfficer)
				path := rng.Intn(5) // 0 none, 1 draft, 2 submitted, 3 approved, 4 withdrawn
				if path == 0 {
					continue
				}
				var lines []demand.LineRequest
				for _, ty := range r.Types {
					if (len(p.Types) == 0 || p.Types[0] == ty.Code) && rng.Intn(4) > 0 {
						limit := int64(2000)
						if ty.Cap > 0 {
							limit = ty.Cap + 1
						}
						lines = append(lines, line(ty.Code, rng.Int63n(limit)))
					}
				}
				if len(lines) == 0 {
					lines = append(lines, line(r.Types[2].Code, 0))
				}
				f := must(e.svc.SaveFiling(ctx, a, r.ID, filing(lines...)))
				if path >= 2 {
					f = must(e.svc.SubmitFiling(ctx, a, f.ID))
				}
				switch path {
				case 3:
					var req demand.ApproveRequest
					for _, l := range f.Lines {
						if rng.Intn(2) == 0 {
							q := rng.Int63n(l.Quantity + 1)
							req.Lines = append(req.Lines, demand.ApprovedLine{TypeCode: l.TypeCode, Quantity: q})
						}
					}
					must(e.svc.ApproveFiling(ctx, e.admin, f.ID, req))
				case 4:
					must(e.svc.WithdrawFiling(ctx, a, f.ID, demand.WithdrawRequest{}))
				}
			}

			// The expectation, from the filings and the catalogue alone.
			type pair struct{ req, appr int64 }
			byType, byOrg, byChannel, byDept := map[string]pair{}, map[string]pair{}, map[string]pair{}, map[string]pair{}
			var total pair
			types := map[string]catalogue.LicenceType{}
			err := e.db.View(func(tx *store.Tx) error {
				for _, ty := range r.Types {
					lt, err := catalogue.GetType(tx, ty.Code)
					types[ty.Code] = lt
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			add := func(m map[string]pair, k string, req, appr int64) {
				p := m[k]
				p.req += req
				p.appr += appr
				m[k] = p
			}
			fs := must(e.svc.Filings(ctx, e.admin, r.ID, demand.FilingFilter{}))
			for _, f := range fs {
				if f.Status != demand.Submitted && f.Status != demand.Approved {
					continue
				}
				for _, l := range f.Lines {
					appr := int64(0)
					if f.Status == demand.Approved {
						appr = l.Approved
					}
					lt := types[l.TypeCode]
					add(byType, l.TypeCode, l.Quantity, appr)
					add(byOrg, f.OrgID, l.Quantity, appr)
					add(byChannel, string(lt.Channel), l.Quantity, appr)
					add(byDept, lt.ResponsibleOrgID, l.Quantity, appr)
					total.req += l.Quantity
					total.appr += appr
				}
			}

			sum := must(e.svc.Summary(ctx, e.admin, r.ID))
			if sum.Requested != total.req || sum.Approved != total.appr {
				t.Fatalf("got totals %d/%d, want %d/%d", sum.Requested, sum.Approved, total.req, total.appr)
			}
			for _, ts := range sum.Types {
				var rowReq, rowAppr int64
				for _, row := range ts.Rows {
					rowReq += row.Requested
					rowAppr += row.Approved
				}
				if w := byType[ts.Code]; ts.Requested != w.req || ts.Approved != w.appr || rowReq != w.req || rowAppr != w.appr {
					t.Fatalf("type %s: got %d/%d (rows %d/%d), want %d/%d", ts.Name, ts.Requested, ts.Approved, rowReq, rowAppr, w.req, w.appr)
				}
			}
			check := func(what string, got []demand.Total, want map[string]pair) {
				t.Helper()
				var sr, sa int64
				for _, g := range got {
					w := want[g.Key]
					if g.Requested != w.req || g.Approved != w.appr {
						t.Fatalf("%s %s: got %d/%d, want %d/%d", what, g.Label, g.Requested, g.Approved, w.req, w.appr)
					}
					sr += g.Requested
					sa += g.Approved
				}
				if sr != total.req || sa != total.appr {
					t.Fatalf("%s: the groups add up to %d/%d, want %d/%d", what, sr, sa, total.req, total.appr)
				}
			}
			check("channel", sum.Channels, byChannel)
			check("department", sum.Departments, byDept)
			check("organisation", sum.Orgs, byOrg)

			if sum.Filings.Approved == 0 {
				return
			}
			plan := must(e.svc.MakePlan(ctx, e.admin, r.ID, demand.PlanRequest{}))
			var planned int64
			for _, d := range plan.Departments {
				for _, pt := range d.Types {
					var sent int64
					for _, s := range pt.Sends {
						sent += s.Quantity
					}
					if pt.Approved != byType[pt.Code].appr || sent != pt.Approved || d.OrgID != types[pt.Code].ResponsibleOrgID {
						t.Fatalf("plan %s: approved %d, sent %d, want %d", pt.Name, pt.Approved, sent, byType[pt.Code].appr)
					}
					planned += sent
				}
			}
			if planned != total.appr || plan.Version != 1 {
				t.Fatalf("got plan v%d of %d, want v1 of %d", plan.Version, planned, total.appr)
			}
		})
	}
}

// ledgerEnv records blank-form history in the ledger: 市场监管局 receives food licence forms in
// 2024, distributes 300 to 利州区行政审批局, which uses 20 in 2024, and uses 40 and voids 5 in
// 2025.
func ledgerEnv(t *testing.T) *env {
	e := newEnv(t)
	scj := e.actor(t, "广元市市场监督管理局", certseal.RoleDeptOfficer)
	lz := e.bureau(t, 0)
	sn := func(n int) string { return fmt.Sprintf("SC%08d", n) }
	e.clock.Set(time.Date(2024, 3, 1, 9, 0, 0, 0, certseal.China))
	must(e.inv.Receive(ctx, scj, inventory.Receipt{TypeCode: demo.TypeFood, First: sn(1), Last: sn(2000), Channel: catalogue.ChannelPrinter,
		Supplier: "成都川印证件印务有限公司", Contract: "HT-2024-01", UnitCostFen: 150}))
	must(e.inv.Transfer(ctx, scj, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: demo.TypeFood, ToOrgID: lz.OrgID,
		Ranges: []inventory.SerialRange{{First: sn(1), Last: sn(300)}}}))
	for i := 1; i <= 20; i++ {
		must(e.inv.Use(ctx, lz, demo.TypeFood, sn(i), fmt.Sprint("c", i)))
	}
	e.clock.Set(time.Date(2025, 5, 1, 9, 0, 0, 0, certseal.China))
	for i := 21; i <= 60; i++ {
		must(e.inv.Use(ctx, lz, demo.TypeFood, sn(i), fmt.Sprint("c", i)))
	}
	must(e.inv.Void(ctx, lz, inventory.Void{TypeCode: demo.TypeFood, Ranges: []inventory.SerialRange{{First: sn(61), Last: sn(65)}}, Reason: "打印错位"}))
	e.clock.Set(t0)
	return e
}

func TestPrefillFromLedger(t *testing.T) {
	e := ledgerEnv(t)
	r := e.yearly(t)
	lz := e.bureau(t, 0)
	f := must(e.svc.Prefill(ctx, lz, r.ID))
	if f.ID != 0 || len(f.Lines) != len(r.Types) {
		t.Fatalf("got prefilled form %+v", f)
	}
	l := f.Line(demo.TypeFood)
	// use: 2025 40 used + 5 voided, 2024 20, 2023 0; stock 300 - 65 = 235;
	// suggestion ceil(65 / 3 * 1.2) - 235 < 0 -> 0.
	if l.LastYearUse != 45 || l.InStock != 235 || fmt.Sprint(l.UseHistory) != "[45 20 0]" || l.Suggested != 0 {
		t.Fatalf("got prefill %+v", *l)
	}
	saved := must(e.svc.SaveFiling(ctx, lz, r.ID, filing(line(demo.TypeFood, 100))))
	if sl := saved.Line(demo.TypeFood); sl.InStock != 235 || sl.LastYearUse != 45 || !sl.Flagged {
		t.Fatalf("got saved line %+v, want the prefill and a flag (100 filed, 0 suggested)", *sl)
	}
	if again := must(e.svc.Prefill(ctx, lz, r.ID)); again.ID != saved.ID {
		t.Fatal("Prefill does not return the saved filing")
	}
}

func TestSuggestAndFlag(t *testing.T) {
	cases := []struct {
		name      string
		history   []int64
		stock     int64
		suggested int64
		filed     int64
		flagged   bool
	}{
		{"steady use", []int64{100, 100, 100}, 0, 120, 120, false},
		{"stock covers it", []int64{100, 100, 100}, 150, 0, 0, false},
		{"rounded up", []int64{1, 0, 0}, 0, 1, 21, false},
		{"small difference is not flagged", []int64{10, 10, 10}, 0, 12, 30, false},
		{"large difference is flagged", []int64{100, 100, 100}, 0, 120, 200, true},
		{"large but under 50%", []int64{1000, 1000, 1000}, 0, 1200, 1500, false},
		{"far below", []int64{1000, 1000, 1000}, 0, 1200, 500, true},
		{"nothing suggested, 21 filed", nil, 0, 0, 21, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := demand.Suggest(c.history, c.stock); got != c.suggested {
				t.Fatalf("got suggestion %d, want %d", got, c.suggested)
			}
			if got := demand.Flag(c.filed, c.suggested); got != c.flagged {
				t.Fatalf("got flag %v, want %v", got, c.flagged)
			}
		})
	}
}

// TestFulfilmentMatchesLedger distributes through the inventory service and compares the
// fulfilment view with the ledger's own distribution movements.
func TestFulfilmentMatchesLedger(t *testing.T) {
	e := ledgerEnv(t) // includes a 2024 distribution, before the round: it must not count
	r := e.yearly(t)
	scj := e.actor(t, "广元市市场监督管理局", certseal.RoleDeptOfficer)
	jtj := e.actor(t, "广元市交通运输局", certseal.RoleDeptOfficer)
	b0, b1 := e.bureau(t, 0), e.bureau(t, 1)
	cx := e.actor(t, "苍溪县交通运输局", certseal.RoleBureauOfficer)
	approve := func(a certseal.Actor, lines ...demand.LineRequest) {
		f := must(e.svc.SaveFiling(ctx, a, r.ID, filing(lines...)))
		must(e.svc.SubmitFiling(ctx, a, f.ID))
		must(e.svc.ApproveFiling(ctx, e.admin, f.ID, demand.ApproveRequest{}))
	}
	approve(b0, line(demo.TypeFood, 100))
	approve(b1, line(demo.TypeFood, 50), line(demo.TypeRoadTransport, 10))
	approve(cx, line(demo.TypeRoadTransport, 30))
	must(e.svc.SaveFiling(ctx, e.bureau(t, 2), r.ID, filing(line(demo.TypeFood, 70)))) // a draft: not approved
	must(e.svc.MakePlan(ctx, e.admin, r.ID, demand.PlanRequest{Note: "第一版"}))

	sn := func(p string, n int) string { return fmt.Sprintf("%s%08d", p, n) }
	dist := func(a certseal.Actor, typ, to, prefix string, first, last int) {
		must(e.inv.Transfer(ctx, a, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: typ, ToOrgID: to,
			Ranges: []inventory.SerialRange{{First: sn(prefix, first), Last: sn(prefix, last)}}}))
	}
	dist(scj, demo.TypeFood, b0.OrgID, "SC", 301, 350)
	dist(scj, demo.TypeFood, b0.OrgID, "SC", 351, 380)
	dist(scj, demo.TypeFood, b1.OrgID, "SC", 401, 460) // more than approved
	dist(scj, demo.TypeFood, e.ids[demo.Bureaus[5].Name], "SC", 501, 505)
	must(e.inv.Receive(ctx, jtj, inventory.Receipt{TypeCode: demo.TypeRoadTransport, First: sn("DY", 1), Last: sn("DY", 500),
		Channel: catalogue.ChannelLocalPrint, Batch: "2026-01"}))
	dist(jtj, demo.TypeRoadTransport, cx.OrgID, "DY", 1, 12)

	fu := must(e.svc.Fulfilment(ctx, e.admin, r.ID))

	// The ledger's own account: every distribution since the round opened, by receiver and type.
	want := map[[2]string]int64{}
	ms, _ := must2(e.inv.Movements(ctx, certseal.System, inventory.MovementFilter{Kind: inventory.KindDistribution, From: r.OpenedAt}, 0, 1000))
	for _, m := range ms {
		want[[2]string{m.ToOrgID, m.TypeCode}] += int64(m.Count)
	}
	got := map[[2]string]int64{}
	for _, row := range fu.Rows {
		got[[2]string{row.OrgID, row.TypeCode}] += row.Distributed
		if row.Outstanding != max(row.Approved-row.Distributed, 0) {
			t.Fatalf("row %+v: outstanding is not approved less distributed", row)
		}
	}
	if len(got) == 0 || !sameCounts(got, want) {
		t.Fatalf("got distributed %v, want the ledger's %v", got, want)
	}
	rowOf := func(org, typ string) demand.FulfilmentRow {
		for _, row := range fu.Rows {
			if row.OrgID == org && row.TypeCode == typ {
				return row
			}
		}
		t.Fatalf("no fulfilment row for %s %s", org, typ)
		return demand.FulfilmentRow{}
	}
	if row := rowOf(b0.OrgID, demo.TypeFood); row.Requested != 100 || row.Approved != 100 || row.Planned != 100 || row.Distributed != 80 || row.Outstanding != 20 {
		t.Fatalf("got %+v", row)
	}
	if row := rowOf(b1.OrgID, demo.TypeFood); row.Distributed != 60 || row.Outstanding != 0 {
		t.Fatalf("got %+v", row)
	}
	if row := rowOf(cx.OrgID, demo.TypeRoadTransport); row.Approved != 30 || row.Distributed != 12 || row.Outstanding != 18 {
		t.Fatalf("got %+v", row)
	}
	for _, row := range fu.Rows {
		if row.OrgID == e.ids[demo.Bureaus[2].Name] {
			t.Fatalf("a draft counts: %+v", row)
		}
	}
	if fu.Approved != 190 || fu.Distributed != 80+60+5+12 || fu.Outstanding != 20+10+18 {
		t.Fatalf("got totals approved %d distributed %d outstanding %d", fu.Approved, fu.Distributed, fu.Outstanding)
	}

	// The plan: what 市场监管局 must buy (approved 150 less its stock) and send to whom.
	p := must(e.svc.Plan(ctx, e.admin, r.ID, 0))
	for _, d := range p.Departments {
		for _, pt := range d.Types {
			if pt.Code == demo.TypeFood && (pt.Approved != 150 || pt.DeptStock != 1700 || pt.Acquire != 0 || len(pt.Sends) != 2) {
				t.Fatalf("got food plan %+v", pt)
			}
		}
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func filterZero(m map[[2]string]int64) map[[2]string]int64 {
	out := map[[2]string]int64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func sameCounts(a, b map[[2]string]int64) bool {
	a, b = filterZero(a), filterZero(b)
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
