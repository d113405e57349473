package inventory_test

import (
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/store"
	"certseal/inventory"
)

// cell is where the model thinks one serial is.
type cell struct {
	holder string
	state  inventory.State
	source string
}

// model is an independent, one-record-per-serial account of the ledger.
type model struct {
	e     *env
	cells map[string]map[uint64]cell // type code -> serial -> cell
	uses  map[string]map[uint64]string
}

func (m *model) all(typ string, a, b uint64, ok func(c cell, known bool) bool) bool {
	if a == 0 || a > b {
		return false
	}
	for n := a; n <= b; n++ {
		c, known := m.cells[typ][n]
		if !ok(c, known) {
			return false
		}
	}
	return true
}

func (m *model) set(typ string, a, b uint64, f func(c cell) cell) {
	for n := a; n <= b; n++ {
		m.cells[typ][n] = f(m.cells[typ][n])
	}
}

// pick returns a run of up to maxLen consecutive serials the holder has in the state, starting at
// a random one of them, to keep enough of the random movements valid.
func (m *model) pick(r *rand.Rand, typ, holder string, st inventory.State, maxLen int) (uint64, uint64, bool) {
	var ns []uint64
	for n, c := range m.cells[typ] {
		if c.holder == holder && c.state == st {
			ns = append(ns, n)
		}
	}
	if len(ns) == 0 {
		return 0, 0, false
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	a := ns[r.Intn(len(ns))]
	b := a
	want := m.cells[typ][a]
	for i := 1; i < maxLen; i++ {
		c, ok := m.cells[typ][b+1]
		if !ok || c != want {
			break
		}
		b++
	}
	return a, b, true
}

func isCity(k certseal.OrgKind) bool {
	return k == certseal.KindCityDepartment || k == certseal.KindCityCenter
}

func isCounty(k certseal.OrgKind) bool {
	return k == certseal.KindCountyBureau || k == certseal.KindCountyDept
}

// TestPropertyConservation runs random sequences of valid and invalid movements across several
// organisations and types, and checks after every step that the service agreed with the model on
// whether the movement was valid, that a refused movement wrote nothing, that every serial is
// where the model says (so the serials over all holders and states are exactly those received
// and none is in two places), and that the aggregates equal the sums of the ranges (VerifyTx).
func TestPropertyConservation(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4, 5} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runProperty(t, seed, 300) })
	}
}

func runProperty(t *testing.T, seed int64, steps int) {
	e := newEnv(t)
	r := rand.New(rand.NewSource(seed))
	m := &model{e: e, cells: map[string]map[uint64]cell{}, uses: map[string]map[uint64]string{}}
	types := []string{"SP", "LP"}
	for _, s := range types {
		m.cells[e.code(s)] = map[uint64]cell{}
		m.uses[e.code(s)] = map[uint64]string{}
	}
	who := []string{"city", "city2", "bureauA", "deptA", "bureauB", "clerkA"}
	const space = 400
	randRange := func(maxLen int) (uint64, uint64) {
		a := uint64(r.Intn(space) + 1)
		b := a + uint64(r.Intn(maxLen))
		switch x := r.Intn(40); {
		case x == 0:
			return b + 1, a // reversed
		case x == 1:
			return 0, b // serial zero
		}
		return a, b
	}
	var valid, invalid int
	for step := 0; step < steps; step++ {
		ts := types[r.Intn(len(types))]
		tc := e.code(ts)
		lt := e.typ[ts]
		w := who[r.Intn(len(who))]
		actor := e.actor[w]
		org := e.org[w]
		if w == "clerkA" {
			org = e.org["bureauA"]
		}
		officer := actor.Role != certseal.RoleClerk
		held := func(st inventory.State) func(c cell, known bool) bool {
			return func(c cell, known bool) bool { return known && c.holder == org.ID && c.state == st }
		}
		var desc string
		var predicted bool
		var apply func()
		var run func() error
		switch op := r.Intn(10); op {
		case 0, 1: // receipt
			a, b := randRange(60)
			ch := lt.Channel
			if r.Intn(10) == 0 {
				ch = catalogue.ChannelProvincial
			}
			rc := inventory.Receipt{TypeCode: tc, First: lt.FormatSerial(a), Last: lt.FormatSerial(b), Channel: ch,
				Supplier: "印制厂", Contract: "HT", UnitCostFen: 120, Batch: "B1", ProvincialDept: "省局", Document: "D1"}
			desc = fmt.Sprintf("%s receives %s %d-%d by %s", w, ts, a, b, ch)
			mayRecv := map[catalogue.Channel][]certseal.OrgKind{
				catalogue.ChannelPrinter:    {certseal.KindCityDepartment, certseal.KindCountyBureau},
				catalogue.ChannelLocalPrint: {certseal.KindCityCenter, certseal.KindCityDepartment, certseal.KindCountyBureau, certseal.KindCountyDept},
			}
			kindOK := false
			for _, k := range mayRecv[ch] {
				kindOK = kindOK || k == org.Kind
			}
			predicted = officer && ch == lt.Channel && kindOK && !(org.Kind == certseal.KindCityDepartment && lt.ResponsibleOrgID != "" && lt.ResponsibleOrgID != org.ID) &&
				m.all(tc, a, b, func(_ cell, known bool) bool { return !known })
			apply = func() { m.set(tc, a, b, func(cell) cell { return cell{holder: org.ID, state: inventory.InStock} }) }
			run = func() error { _, err := e.svc.Receive(ctx, actor, rc); return err }
		case 2, 3: // transfer
			kinds := []inventory.Kind{inventory.KindDistribution, inventory.KindHandover, inventory.KindReturn}
			k := kinds[r.Intn(3)]
			tw := who[r.Intn(len(who)-1)]
			a, b := randRange(30)
			if r.Intn(10) < 7 {
				if x, y, ok := m.pick(r, tc, org.ID, inventory.InStock, 30); ok {
					a, b = x, y
					src := m.cells[tc][a].source
					switch {
					case isCity(org.Kind):
						k, tw = inventory.KindDistribution, []string{"bureauA", "deptA", "bureauB", "deptB"}[r.Intn(4)]
					case org.Kind == certseal.KindCountyDept && r.Intn(2) == 0:
						k, tw = inventory.KindHandover, "bureauA"
					case src != "":
						k = inventory.KindReturn
						for name, o := range e.org {
							if o.ID == src {
								tw = name
							}
						}
					}
				}
			}
			to := e.org[tw]
			desc = fmt.Sprintf("%s %s %s %d-%d to %s", w, k, ts, a, b, tw)
			var rule bool
			switch k {
			case inventory.KindDistribution:
				rule = isCity(org.Kind) && isCounty(to.Kind)
			case inventory.KindHandover:
				rule = org.Kind == certseal.KindCountyDept && to.Kind == certseal.KindCountyBureau && org.AreaCode == to.AreaCode
			case inventory.KindReturn:
				rule = isCounty(org.Kind) && isCity(to.Kind)
			}
			predicted = officer && rule && to.ID != org.ID && m.all(tc, a, b, func(c cell, known bool) bool {
				return held(inventory.InStock)(c, known) && (k != inventory.KindReturn || c.source == to.ID)
			})
			apply = func() {
				m.set(tc, a, b, func(c cell) cell {
					switch k {
					case inventory.KindDistribution:
						return cell{to.ID, inventory.InStock, org.ID}
					case inventory.KindHandover:
						return cell{to.ID, inventory.InStock, c.source}
					}
					return cell{to.ID, inventory.InStock, ""}
				})
			}
			run = func() error {
				_, err := e.svc.Transfer(ctx, actor, inventory.Transfer{Kind: k, TypeCode: tc, ToOrgID: to.ID, Ranges: []inventory.SerialRange{{First: lt.FormatSerial(a), Last: lt.FormatSerial(b)}}})
				return err
			}
		case 4, 5: // use, inside a caller's transaction that commits even on error
			n := uint64(r.Intn(space + 40))
			if x, _, ok := m.pick(r, tc, org.ID, inventory.InStock, 1); ok && r.Intn(10) < 7 {
				n = x
			}
			cert := fmt.Sprintf("C%d", step)
			desc = fmt.Sprintf("%s uses %s %d", w, ts, n)
			predicted = m.all(tc, n, n, held(inventory.InStock))
			apply = func() {
				m.set(tc, n, n, func(cell) cell { return cell{holder: org.ID, state: inventory.Used} })
				m.uses[tc][n] = cert
			}
			run = func() error {
				var err error
				e.db.Update(func(tx *store.Tx) error {
					err = inventory.UseTx(tx, e.clock.Now(), actor, tc, lt.FormatSerial(n), cert)
					return nil
				})
				return err
			}
		case 6, 7: // void, loss or destruction
			a, b := randRange(4)
			var from, to inventory.State
			switch op + r.Intn(2) {
			case 6:
				from, to = inventory.InStock, inventory.Voided
				predicted = true
				run = func() error {
					_, err := e.svc.Void(ctx, actor, inventory.Void{TypeCode: tc, Ranges: []inventory.SerialRange{{First: lt.FormatSerial(a), Last: lt.FormatSerial(b)}}, Reason: "污损"})
					return err
				}
			case 7:
				from, to = inventory.InStock, inventory.Lost
				predicted = officer
				run = func() error {
					_, err := e.svc.Lose(ctx, actor, inventory.Loss{TypeCode: tc, Ranges: []inventory.SerialRange{{First: lt.FormatSerial(a), Last: lt.FormatSerial(b)}}, ReportRef: "R"})
					return err
				}
			default:
				from, to = inventory.Voided, inventory.Destroyed
				predicted = officer
				run = func() error {
					_, err := e.svc.Destroy(ctx, actor, inventory.Destruction{TypeCode: tc, Ranges: []inventory.SerialRange{{First: lt.FormatSerial(a), Last: lt.FormatSerial(b)}}, Witnesses: []string{"甲", "乙"}})
					return err
				}
			}
			if x, y, ok := m.pick(r, tc, org.ID, from, 4); ok && r.Intn(10) < 7 {
				a, b = x, y
			}
			desc = fmt.Sprintf("%s %s->%s %s %d-%d", w, from, to, ts, a, b)
			predicted = predicted && m.all(tc, a, b, held(from))
			apply = func() { m.set(tc, a, b, func(cell) cell { return cell{holder: org.ID, state: to} }) }
		default: // the paper copy of a used serial was lost
			n := uint64(r.Intn(space) + 1)
			if x, _, ok := m.pick(r, tc, org.ID, inventory.Used, 1); ok && r.Intn(10) < 7 {
				n = x
			}
			cert := m.uses[tc][n]
			if r.Intn(5) == 0 {
				cert = "WRONG"
			}
			desc = fmt.Sprintf("%s copy lost %s %d (%s)", w, ts, n, cert)
			predicted = cert != "" && m.all(tc, n, n, held(inventory.Used)) && m.uses[tc][n] == cert
			apply = func() { m.set(tc, n, n, func(cell) cell { return cell{holder: org.ID, state: inventory.Lost} }) }
			run = func() error {
				var err error
				e.db.Update(func(tx *store.Tx) error {
					err = inventory.LoseTx(tx, e.clock.Now(), actor, tc, lt.FormatSerial(n), cert, "R")
					return nil
				})
				return err
			}
		}
		var before map[string]string
		if !predicted {
			before = e.dump(t)
		}
		err := run()
		switch {
		case predicted && err != nil:
			t.Fatalf("step %d: %s: refused: %v, want it applied", step, desc, err)
		case !predicted && err == nil:
			t.Fatalf("step %d: %s: applied, want it refused", step, desc)
		case err != nil:
			if c := codeOf(err); c == certseal.EInternal {
				t.Fatalf("step %d: %s: internal error %v", step, desc, err)
			}
			if !sameDump(before, e.dump(t)) {
				t.Fatalf("step %d: %s: refused (%v) but wrote something", step, desc, err)
			}
			invalid++
		default:
			apply()
			valid++
		}
		m.check(t, step, desc)
	}
	t.Logf("%d valid, %d refused movements", valid, invalid)
	if valid < steps/5 || invalid < steps/5 {
		t.Errorf("only %d valid and %d invalid movements: the generator needs tuning", valid, invalid)
	}
}

// check compares the stored ranges, serial by serial, with the model, and runs VerifyTx.
func (m *model) check(t *testing.T, step int, desc string) {
	t.Helper()
	err := m.e.db.View(func(tx *store.Tx) error {
		if err := inventory.VerifyTx(tx); err != nil {
			return err
		}
		for tc, want := range m.cells {
			got := map[uint64]cell{}
			for _, r := range inventory.RangesForTest(tx, tc) {
				for n := r.First; n <= r.Last; n++ {
					if _, dup := got[n]; dup {
						return fmt.Errorf("serial %d of %s is in two ranges", n, tc)
					}
					got[n] = cell{r.Holder, r.State, r.Source}
				}
			}
			if !reflect.DeepEqual(got, want) {
				for n, c := range want {
					if got[n] != c {
						return fmt.Errorf("type %s serial %d: got %+v, want %+v", tc, n, got[n], c)
					}
				}
				return fmt.Errorf("type %s: %d serials stored, %d received", tc, len(got), len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("step %d (%s): %v", step, desc, err)
	}
}
