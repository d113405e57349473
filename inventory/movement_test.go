package inventory_test

import (
	"strings"
	"testing"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/store"
	"certseal/inventory"
)

func TestReceiveSplitMerge(t *testing.T) {
	e := newEnv(t)
	m := e.mustReceive(t, "city", "SP", 1, 1_000_000)
	if m.Count != 1_000_000 || m.TotalCostFen != 150_000_000 || m.Ranges[0].First != "SP00000001" {
		t.Fatalf("receipt = %+v", m)
	}
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 101, 200)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 201, 300) // merges with 101-200
	var rs []inventory.RangeForTest
	e.db.View(func(tx *store.Tx) error { rs = inventory.RangesForTest(tx, e.code("SP")); return nil })
	if len(rs) != 3 || rs[1].First != 101 || rs[1].Last != 300 || rs[1].Source != e.org["city"].ID {
		t.Fatalf("ranges after two distributions = %+v", rs)
	}
	e.mustTransfer(t, inventory.KindReturn, "bureauA", "city", "SP", 101, 300) // back: one range again
	e.db.View(func(tx *store.Tx) error { rs = inventory.RangesForTest(tx, e.code("SP")); return nil })
	if len(rs) != 1 || rs[0].Last != 1_000_000 || rs[0].Holder != e.org["city"].ID {
		t.Fatalf("ranges after return = %+v", rs)
	}
	e.verify(t)
}

func TestUseVoidDestroyLoss(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 50)
	clerk := e.actor["clerkA"]
	if _, err := e.svc.Use(ctx, clerk, e.code("SP"), e.serial("SP", 10), "CERT-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, clerk, inventory.Void{TypeCode: e.code("SP"), Ranges: e.rng("SP", 11, 12), Reason: "打印错位"}); err != nil {
		t.Fatal(err)
	}
	m, err := e.svc.Destroy(ctx, e.actor["bureauA"], inventory.Destruction{TypeCode: e.code("SP"), Ranges: e.rng("SP", 11, 12), Witnesses: []string{"张三", "李四"}})
	if err != nil || m.Kind != inventory.KindDestruction || len(m.Witnesses) != 2 {
		t.Fatalf("destroy = %+v, %v", m, err)
	}
	if _, err := e.svc.Lose(ctx, e.actor["bureauA"], inventory.Loss{TypeCode: e.code("SP"), Ranges: e.rng("SP", 20, 24), ReportRef: "遗失报告-1"}); err != nil {
		t.Fatal(err)
	}
	// 补证: the copy printed on 10 was lost; 30 replaces it.
	err = e.db.Update(func(tx *store.Tx) error {
		return inventory.ReplaceTx(tx, t0, clerk, e.code("SP"), e.serial("SP", 10), e.serial("SP", 30), "CERT-1", "挂失声明-1")
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		st   inventory.State
		want uint64
	}{{inventory.InStock, 50 - 1 - 2 - 5 - 1}, {inventory.Used, 1}, {inventory.Destroyed, 2}, {inventory.Lost, 5 + 1}, {inventory.Voided, 0}} {
		if got := e.count(t, "bureauA", "SP", c.st); got != c.want {
			t.Errorf("bureauA %s = %d, want %d", c.st, got, c.want)
		}
	}
	err = e.db.View(func(tx *store.Tx) error {
		h, st, err := inventory.StateTx(tx, e.code("SP"), e.serial("SP", 10))
		if err != nil || h != e.org["bureauA"].ID || st != inventory.Lost {
			t.Errorf("state of 10 = %s %s %v", h, st, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.verify(t)
}

// TestRefusals checks every refusal: its error code, and that nothing was written (for the Tx
// functions, even when the caller commits its transaction after the error).
func TestRefusals(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustReceive(t, "bureauB", "SP", 1001, 1100)
	e.mustReceive(t, "deptA", "LP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 50)
	sp, lp := e.code("SP"), e.code("LP")
	a := e.actor
	if _, err := e.svc.Use(ctx, a["bureauA"], sp, e.serial("SP", 5), "CERT-5"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, a["bureauA"], inventory.Void{TypeCode: sp, Ranges: e.rng("SP", 6, 6), Reason: "污损"}); err != nil {
		t.Fatal(err)
	}
	pending, err := e.svc.CreateStocktake(ctx, a["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: sp, Counted: 40}}})
	if err != nil {
		t.Fatal(err)
	}
	printer := func(first, last string) inventory.Receipt {
		return inventory.Receipt{TypeCode: sp, First: first, Last: last, Channel: catalogue.ChannelPrinter, Supplier: "印制厂", Contract: "HT-1", UnitCostFen: 100}
	}
	recv := func(who string, r inventory.Receipt) func() error {
		return func() error { _, err := e.svc.Receive(ctx, a[who], r); return err }
	}
	transfer := func(who string, kind inventory.Kind, to, short string, x, y uint64) func() error {
		return func() error {
			_, err := e.svc.Transfer(ctx, a[who], inventory.Transfer{Kind: kind, TypeCode: e.code(short), ToOrgID: e.org[to].ID, Ranges: e.rng(short, x, y)})
			return err
		}
	}
	inTx := func(fn func(tx *store.Tx) error) func() error {
		return func() error {
			var err error
			e.db.Update(func(tx *store.Tx) error { err = fn(tx); return nil }) // commit whatever was written
			return err
		}
	}
	use := func(who string, serial, cert string) func() error {
		return inTx(func(tx *store.Tx) error { return inventory.UseTx(tx, t0, a[who], sp, serial, cert) })
	}
	cases := []struct {
		name     string
		fn       func() error
		code     string
		conflict string // a substring of the message naming the serials
	}{
		{"receipt reversed range", recv("city", printer("SP00000300", "SP00000200")), certseal.EInvalid, ""},
		{"receipt zero serial", recv("city", printer("SP00000000", "SP00000010")), certseal.EInvalid, ""},
		{"receipt wrong prefix", recv("city", printer("XX00000200", "XX00000300")), certseal.EInvalid, ""},
		{"receipt beyond the digit width", recv("city", printer("SP00000200", "SP100000000")), certseal.EInvalid, ""},
		{"receipt empty range", recv("city", printer("", "")), certseal.EInvalid, ""},
		{"receipt overlapping own serials", recv("city", printer("SP00000090", "SP00000110")), certseal.EConflict, "SP00000090-SP00000100（本机构，在库）"},
		{"receipt overlapping another holder", recv("city", printer("SP00001050", "SP00001200")), certseal.EConflict, "SP00001050-SP00001100（其他机构，在库）"},
		{"receipt with the wrong channel", recv("city", inventory.Receipt{TypeCode: sp, First: "SP00000200", Last: "SP00000300", Channel: catalogue.ChannelLocalPrint, Batch: "1"}), certseal.EInvalid, ""},
		{"receipt from printer by county department", recv("deptA", printer("SP00000200", "SP00000300")), certseal.EForbidden, ""},
		{"provincial collection by county bureau", recv("bureauA", inventory.Receipt{TypeCode: e.code("PV"), First: "PV000001", Last: "PV000002", Channel: catalogue.ChannelProvincial, ProvincialDept: "省局", Document: "1"}), certseal.EForbidden, ""},
		{"receipt by a department not responsible", recv("city2", printer("SP00000200", "SP00000300")), certseal.EForbidden, ""},
		{"receipt of an electronic type", recv("city", inventory.Receipt{TypeCode: e.code("EL"), First: "1", Last: "2", Channel: catalogue.ChannelPrinter, Supplier: "x", Contract: "y"}), certseal.EInvalid, ""},
		{"receipt without contract", recv("city", inventory.Receipt{TypeCode: sp, First: "SP00000200", Last: "SP00000300", Channel: catalogue.ChannelPrinter, Supplier: "印制厂"}), certseal.EInvalid, ""},
		{"receipt with negative cost", recv("city", inventory.Receipt{TypeCode: sp, First: "SP00000200", Last: "SP00000300", Channel: catalogue.ChannelPrinter, Supplier: "印制厂", Contract: "1", UnitCostFen: -1}), certseal.EInvalid, ""},
		{"receipt by an auditor", recv("auditor", printer("SP00000200", "SP00000300")), certseal.EForbidden, ""},
		{"receipt by a clerk", recv("clerkA", printer("SP00000200", "SP00000300")), certseal.EForbidden, ""},
		{"receipt of an unknown type", recv("city", inventory.Receipt{TypeCode: "nope", First: "SP00000200", Last: "SP00000300", Channel: catalogue.ChannelPrinter, Supplier: "x", Contract: "y"}), certseal.ENotFound, ""},
		{"distribution of serials held by another", transfer("city", inventory.KindDistribution, "bureauB", "SP", 40, 60), certseal.EConflict, "SP00000040-SP00000050（其他机构，在库）"},
		{"distribution of serials never received", transfer("city", inventory.KindDistribution, "bureauB", "SP", 95, 120), certseal.EConflict, "SP00000101-SP00000120（未入库）"},
		{"distribution from a county", transfer("bureauA", inventory.KindDistribution, "bureauB", "SP", 10, 20), certseal.EInvalid, ""},
		{"handover to another county", transfer("deptA", inventory.KindHandover, "bureauB", "LP", 1, 10), certseal.EInvalid, ""},
		{"handover to a department", transfer("deptA", inventory.KindHandover, "deptB", "LP", 1, 10), certseal.EInvalid, ""},
		{"return to a department that did not distribute", transfer("bureauA", inventory.KindReturn, "city2", "SP", 10, 20), certseal.EConflict, "不是由“市交通运输局”下发的"},
		{"return of forms bought by the county", transfer("bureauB", inventory.KindReturn, "city", "SP", 1001, 1010), certseal.EConflict, "SP00001001-SP00001010"},
		{"return of used and voided forms", transfer("bureauA", inventory.KindReturn, "city", "SP", 4, 8), certseal.EConflict, "SP00000005（本机构，已使用）、SP00000006（本机构，已作废）"},
		{"transfer to itself", transfer("city", inventory.KindDistribution, "city", "SP", 60, 70), certseal.EInvalid, ""},
		{"transfer to an unknown organisation", func() error {
			_, err := e.svc.Transfer(ctx, a["city"], inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: sp, ToOrgID: "999", Ranges: e.rng("SP", 60, 70)})
			return err
		}, certseal.ENotFound, ""},
		{"transfer with overlapping ranges", func() error {
			_, err := e.svc.Transfer(ctx, a["city"], inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: sp, ToOrgID: e.org["bureauB"].ID,
				Ranges: append(e.rng("SP", 60, 70), e.rng("SP", 70, 80)...)})
			return err
		}, certseal.EInvalid, ""},
		{"transfer of an unknown kind", func() error {
			_, err := e.svc.Transfer(ctx, a["city"], inventory.Transfer{Kind: "gift", TypeCode: sp, ToOrgID: e.org["bureauB"].ID, Ranges: e.rng("SP", 60, 70)})
			return err
		}, certseal.EInvalid, ""},
		{"void of another organisation's stock", func() error {
			_, err := e.svc.Void(ctx, a["city"], inventory.Void{TypeCode: sp, Ranges: e.rng("SP", 1, 3), Reason: "x"})
			return err
		}, certseal.EConflict, "SP00000001-SP00000003（其他机构，在库）"},
		{"use of a used serial", use("bureauA", "SP00000005", "CERT-X"), certseal.EConflict, "SP00000005（本机构，已使用）"},
		{"use of a voided serial", use("clerkA", "SP00000006", "CERT-X"), certseal.EConflict, "SP00000006（本机构，已作废）"},
		{"use of another organisation's serial", use("bureauA", "SP00000060", "CERT-X"), certseal.EConflict, "SP00000060（其他机构，在库）"},
		{"use of a serial never received", use("bureauA", "SP00000500", "CERT-X"), certseal.EConflict, "SP00000500（未入库）"},
		{"use of a serial of the wrong width", use("bureauA", "SP0000007", "CERT-X"), certseal.EInvalid, ""},
		{"use by an auditor", use("auditor", "SP00000007", "CERT-X"), certseal.EForbidden, ""},
		{"use without a certificate", use("bureauA", "SP00000007", ""), certseal.EInvalid, ""},
		{"void of a used serial", func() error {
			_, err := e.svc.Void(ctx, a["bureauA"], inventory.Void{TypeCode: sp, Ranges: e.rng("SP", 5, 5), Reason: "x"})
			return err
		}, certseal.EConflict, "SP00000005"},
		{"void without a reason", func() error {
			_, err := e.svc.Void(ctx, a["bureauA"], inventory.Void{TypeCode: sp, Ranges: e.rng("SP", 7, 7)})
			return err
		}, certseal.EInvalid, ""},
		{"destruction of forms not voided", func() error {
			_, err := e.svc.Destroy(ctx, a["bureauA"], inventory.Destruction{TypeCode: sp, Ranges: e.rng("SP", 6, 7), Witnesses: []string{"张三"}})
			return err
		}, certseal.EConflict, "SP00000007（本机构，在库）"},
		{"destruction without witnesses", func() error {
			_, err := e.svc.Destroy(ctx, a["bureauA"], inventory.Destruction{TypeCode: sp, Ranges: e.rng("SP", 6, 6)})
			return err
		}, certseal.EInvalid, ""},
		{"destruction by a clerk", func() error {
			_, err := e.svc.Destroy(ctx, a["clerkA"], inventory.Destruction{TypeCode: sp, Ranges: e.rng("SP", 6, 6), Witnesses: []string{"张三"}})
			return err
		}, certseal.EForbidden, ""},
		{"loss of a voided form", func() error {
			_, err := e.svc.Lose(ctx, a["bureauA"], inventory.Loss{TypeCode: sp, Ranges: e.rng("SP", 6, 6), ReportRef: "R1"})
			return err
		}, certseal.EConflict, "SP00000006"},
		{"loss without a report", func() error {
			_, err := e.svc.Lose(ctx, a["bureauA"], inventory.Loss{TypeCode: sp, Ranges: e.rng("SP", 7, 7)})
			return err
		}, certseal.EInvalid, ""},
		{"lost copy of an unused serial", inTx(func(tx *store.Tx) error {
			return inventory.LoseTx(tx, t0, a["clerkA"], sp, "SP00000007", "CERT-7", "R")
		}), certseal.EConflict, "SP00000007（本机构，在库）"},
		{"lost copy of another certificate", inTx(func(tx *store.Tx) error {
			return inventory.LoseTx(tx, t0, a["clerkA"], sp, "SP00000005", "CERT-OTHER", "R")
		}), certseal.EConflict, "SP00000005"},
		{"replacement onto a used serial", inTx(func(tx *store.Tx) error {
			return inventory.ReplaceTx(tx, t0, a["clerkA"], sp, "SP00000005", "SP00000005", "CERT-5", "R")
		}), certseal.EConflict, "SP00000005"},
		{"stocktake of a type never held", func() error {
			_, err := e.svc.CreateStocktake(ctx, a["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: lp, Counted: 3}}})
			return err
		}, certseal.EInvalid, ""},
		{"stocktake naming too few missing serials", func() error {
			_, err := e.svc.CreateStocktake(ctx, a["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: sp, Counted: 40, Missing: e.rng("SP", 7, 8)}}})
			return err
		}, certseal.EInvalid, ""},
		{"stocktake naming missing serials not in stock", func() error {
			_, err := e.svc.CreateStocktake(ctx, a["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: sp, Counted: 46, Missing: e.rng("SP", 5, 6)}}})
			return err
		}, certseal.EConflict, "SP00000005"},
		{"stocktake surplus naming known serials", func() error {
			_, err := e.svc.CreateStocktake(ctx, a["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: sp, Counted: 50, Surplus: e.rng("SP", 60, 61)}}})
			return err
		}, certseal.EConflict, "SP00000060-SP00000061"},
		{"stocktake approved by a non-administrator", func() error {
			_, err := e.svc.ApproveStocktake(ctx, a["city"], pending.ID, "")
			return err
		}, certseal.EForbidden, ""},
		{"stocktake by an auditor", func() error {
			_, err := e.svc.CreateStocktake(ctx, a["auditor"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: sp, Counted: 3}}})
			return err
		}, certseal.EForbidden, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.dump(t)
			err := c.fn()
			if got := codeOf(err); got != c.code {
				t.Fatalf("code = %q (%v), want %q", got, err, c.code)
			}
			if c.conflict != "" && !strings.Contains(certseal.ErrorMessage(err), c.conflict) {
				t.Errorf("message = %q, want it to name %q", certseal.ErrorMessage(err), c.conflict)
			}
			if c.code == certseal.EConflict && strings.Contains(c.name, "serial") && len(conflicts(err)) == 0 && !strings.Contains(c.name, "certificate") {
				t.Errorf("no conflicts in the error detail: %#v", err)
			}
			if !sameDump(before, e.dump(t)) {
				t.Error("a refused movement wrote something")
			}
		})
	}
	e.verify(t)
}

func TestSeedFragmentedIsConsistent(t *testing.T) {
	e := newEnv(t)
	if err := inventory.SeedFragmented(e.db, e.code("SP"), e.org["bureauA"].ID, 4500, 10); err != nil {
		t.Fatal(err)
	}
	e.verify(t)
	if got := e.count(t, "bureauA", "SP", inventory.InStock); got != 45_000 {
		t.Fatalf("in stock = %d", got)
	}
}
