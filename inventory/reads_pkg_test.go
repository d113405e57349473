package inventory_test

import (
	"testing"

	"certseal"
	"certseal/internal/store"
	"certseal/inventory"
)

// TestGetMovement: one movement by id, with names; an organisation sees its own movements only,
// administrators and auditors all.
func TestGetMovement(t *testing.T) {
	e := newEnv(t)
	rec := e.mustReceive(t, "city", "SP", 1, 100)
	dist := e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 10)
	for name, tc := range map[string]struct {
		who  string
		id   uint64
		code string
	}{
		"the receiver":            {"city", rec.ID, ""},
		"the receiving bureau":    {"bureauA", dist.ID, ""},
		"the distributing dept":   {"city", dist.ID, ""},
		"the administrator":       {"center", dist.ID, ""},
		"the auditor":             {"auditor", rec.ID, ""},
		"a bureau, not its own":   {"bureauA", rec.ID, certseal.EForbidden},
		"another bureau":          {"bureauB", dist.ID, certseal.EForbidden},
		"unknown":                 {"center", 9999, certseal.ENotFound},
		"a clerk of the bureau":   {"clerkA", dist.ID, ""},
		"another city department": {"city2", rec.ID, certseal.EForbidden},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := e.svc.GetMovement(ctx, e.actor[tc.who], tc.id)
			if codeOf(err) != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
			if tc.code != "" {
				return
			}
			if m.ID != tc.id || m.TypeName != "食品经营许可证" || m.ToOrgName == "" {
				t.Errorf("movement %+v", m)
			}
		})
	}
	if m, _ := e.svc.GetMovement(ctx, e.actor["center"], dist.ID); m.Kind != inventory.KindDistribution || m.FromOrgID != e.org["city"].ID ||
		m.ToOrgID != e.org["bureauA"].ID || m.ToOrgName != "利州区行政审批局" || m.Count != 10 {
		t.Errorf("distribution: %+v", m)
	}
}

// TestThresholds: an organisation sets and removes its own alert levels and reads its own;
// another organisation's are forbidden except to administrators and auditors, who see all.
func TestThresholds(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.SetThreshold(ctx, e.actor["bureauA"], e.code("SP"), 50); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["bureauA"], e.code("LP"), 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["bureauB"], e.code("SP"), 7); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		who, holder string
		n           int
		code        string
	}{
		"own":                     {"bureauA", "", 2, ""},
		"own by id":               {"bureauA", "bureauA", 2, ""},
		"a clerk, own":            {"clerkA", "", 2, ""},
		"another's":               {"bureauA", "bureauB", 0, certseal.EForbidden},
		"administrator, all":      {"center", "", 3, ""},
		"administrator, one":      {"center", "bureauB", 1, ""},
		"auditor, one":            {"auditor", "bureauA", 2, ""},
		"an organisation without": {"city", "", 0, ""},
	} {
		t.Run(name, func(t *testing.T) {
			holder := ""
			if tc.holder != "" {
				holder = e.org[tc.holder].ID
			}
			ths, err := e.svc.Thresholds(ctx, e.actor[tc.who], holder)
			if codeOf(err) != tc.code || len(ths) != tc.n {
				t.Fatalf("got %d thresholds, %v; want %d, %q", len(ths), err, tc.n, tc.code)
			}
			for _, th := range ths {
				if holder != "" && th.HolderID != holder || th.Threshold == 0 {
					t.Errorf("threshold %+v", th)
				}
			}
		})
	}
	if _, err := e.svc.SetThreshold(ctx, e.actor["bureauA"], e.code("SP"), 0); err != nil {
		t.Fatal(err)
	}
	if ths, _ := e.svc.Thresholds(ctx, e.actor["bureauA"], ""); len(ths) != 1 || ths[0].TypeCode != e.code("LP") || ths[0].Threshold != 5 {
		t.Errorf("after removing SP: %+v", ths)
	}
}

// TestGetStocktake: a stocktake by id; other organisations' only for administrators and auditors.
func TestGetStocktake(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 40)
	st, err := e.svc.CreateStocktake(ctx, e.actor["bureauA"], inventory.StocktakeRequest{Lines: []inventory.StocktakeLine{{TypeCode: e.code("SP"), Counted: 40}}, Note: "季度盘点"})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		who  string
		id   uint64
		code string
	}{
		"own":            {"bureauA", st.ID, ""},
		"administrator":  {"center", st.ID, ""},
		"auditor":        {"auditor", st.ID, ""},
		"another bureau": {"bureauB", st.ID, certseal.EForbidden},
		"the city":       {"city", st.ID, certseal.EForbidden},
		"unknown":        {"center", st.ID + 100, certseal.ENotFound},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := e.svc.GetStocktake(ctx, e.actor[tc.who], tc.id)
			if codeOf(err) != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
			if tc.code == "" && (got.ID != st.ID || got.OrgID != e.org["bureauA"].ID || got.Note != "季度盘点" || len(got.Lines) != 1 || got.Lines[0].Books != 40) {
				t.Errorf("stocktake %+v", got)
			}
		})
	}
}

// TestReplaceTx: 补证 on paper moves the certificate to a new form (the old copy lost, the new
// form used) and refuses, writing nothing, a new form not in stock, an old form that is not the
// certificate's, and an old form that was never used.
func TestReplaceTx(t *testing.T) {
	e := newEnv(t)
	e.mustReceive(t, "city", "SP", 1, 100)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauA", "SP", 1, 40)
	e.mustTransfer(t, inventory.KindDistribution, "city", "bureauB", "SP", 41, 60)
	clerk := e.actor["clerkA"]
	sp := e.code("SP")
	for n, cert := range map[uint64]string{1: "c1", 2: "c2"} {
		if _, err := e.svc.Use(ctx, clerk, sp, e.serial("SP", n), cert); err != nil {
			t.Fatal(err)
		}
	}
	replace := func(old, new uint64, cert string) error {
		return e.db.Update(func(tx *store.Tx) error {
			return inventory.ReplaceTx(tx, e.clock.Now(), clerk, sp, e.serial("SP", old), e.serial("SP", new), cert, "遗失声明 广元日报")
		})
	}
	for name, tc := range map[string]struct {
		old, new uint64
		cert     string
		code     string
	}{
		"new form used":              {1, 2, "c1", certseal.EConflict},
		"new form of another bureau": {1, 45, "c1", certseal.EConflict},
		"new form at the city":       {1, 80, "c1", certseal.EConflict},
		"old form of another cert":   {2, 3, "c1", certseal.EConflict},
		"old form never used":        {5, 3, "c1", certseal.EConflict},
		"same form":                  {1, 1, "c1", certseal.EConflict},
	} {
		t.Run(name, func(t *testing.T) {
			before := e.dump(t)
			err := replace(tc.old, tc.new, tc.cert)
			if codeOf(err) != tc.code {
				t.Fatalf("got %v, want %q", err, tc.code)
			}
			if !sameDump(before, e.dump(t)) {
				t.Error("a refused replacement wrote to the ledger")
			}
		})
	}
	if err := replace(1, 3, "c1"); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, "bureauA", "SP", inventory.Lost); got != 1 {
		t.Errorf("%d lost copies, want 1", got)
	}
	if got := e.count(t, "bureauA", "SP", inventory.Used); got != 2 {
		t.Errorf("%d used forms, want 2 (c2's and c1's new one)", got)
	}
	e.verify(t)
}
