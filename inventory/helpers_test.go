package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
)

var ctx = context.Background()

// env is a database with the organisations and licence types of the tests.
type env struct {
	db    *store.DB
	svc   *inventory.Service
	clock *certseal.FixedClock
	// organisations by short name: center, city, city2, bureauA, deptA, bureauB, deptB, prov
	org   map[string]certseal.Org
	actor map[string]certseal.Actor
	// licence types: SP (designated printer, responsible: city), LP (local print), PV (provincial
	// collection, responsible: city), EL (electronic)
	typ map[string]catalogue.LicenceType
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, certseal.China)

func newEnv(tb testing.TB) *env {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "t.db"), &store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &env{db: db, clock: &certseal.FixedClock{T: t0, Step: time.Second},
		org: map[string]certseal.Org{}, actor: map[string]certseal.Actor{}, typ: map[string]catalogue.LicenceType{}}
	e.svc = &inventory.Service{DB: db, Clock: e.clock}
	type o struct {
		name, short string
		kind        certseal.OrgKind
		area        string
		role        certseal.Role
	}
	list := []o{
		{"市政务服务中心", "center", certseal.KindCityCenter, "510800", certseal.RoleAdmin},
		{"市市场监督管理局", "city", certseal.KindCityDepartment, "510800", certseal.RoleDeptOfficer},
		{"市交通运输局", "city2", certseal.KindCityDepartment, "510800", certseal.RoleDeptOfficer},
		{"利州区行政审批局", "bureauA", certseal.KindCountyBureau, "510802", certseal.RoleBureauOfficer},
		{"利州区市场监督管理局", "deptA", certseal.KindCountyDept, "510802", certseal.RoleBureauOfficer},
		{"昭化区行政审批局", "bureauB", certseal.KindCountyBureau, "510811", certseal.RoleBureauOfficer},
		{"昭化区市场监督管理局", "deptB", certseal.KindCountyDept, "510811", certseal.RoleBureauOfficer},
		{"四川省市场监督管理局", "prov", certseal.KindProvincialDept, "510000", certseal.RoleAuditor},
	}
	err = db.Update(func(tx *store.Tx) error {
		for i, x := range list {
			org := certseal.Org{Name: x.name, Kind: x.kind, AreaCode: x.area, USCC: certseal.MakeUSCC(fmt.Sprintf("11%sMB%07d", x.area, i+1))}
			if err := org.Validate(); err != nil {
				return err
			}
			org, err := orgs.Create(tx, t0, certseal.System, org)
			if err != nil {
				return err
			}
			e.org[x.short] = org
			e.actor[x.short] = certseal.Actor{UserID: "u-" + x.short, Username: x.short, OrgID: org.ID, OrgKind: org.Kind, Role: x.role}
		}
		definer := certseal.MakeUSCC("12510800MB0000099")
		for i, x := range []struct {
			short, name string
			ch          catalogue.Channel
			prefix      string
			width       int
			resp        string
		}{
			{"SP", "食品经营许可证", catalogue.ChannelPrinter, "SP", 8, "city"},
			{"LP", "个体工商户营业执照", catalogue.ChannelLocalPrint, "LP", 6, ""},
			{"PV", "药品经营许可证", catalogue.ChannelProvincial, "PV", 6, "city"},
			{"EL", "电子证明", catalogue.ChannelElectronic, "", 0, ""},
		} {
			lt := catalogue.LicenceType{Code: fmt.Sprintf("%s%03d", definer, i+1), Name: x.name, DefinerName: "国家市场监督管理总局",
				HolderKind: catalogue.HolderAny, Channel: x.ch, SerialPrefix: x.prefix, SerialWidth: x.width}
			if x.resp != "" {
				lt.ResponsibleOrgID = e.org[x.resp].ID
			}
			if err := lt.Validate(); err != nil {
				return err
			}
			lt, err := catalogue.CreateTypeTx(tx, t0, certseal.System, lt)
			if err != nil {
				return err
			}
			e.typ[x.short] = lt
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	e.actor["clerkA"] = certseal.Actor{UserID: "u-clerkA", Username: "clerkA", OrgID: e.org["bureauA"].ID, OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk}
	e.actor["auditor"] = certseal.Actor{UserID: "u-aud", Username: "auditor", OrgID: e.org["center"].ID, OrgKind: certseal.KindCityCenter, Role: certseal.RoleAuditor}
	return e
}

func (e *env) code(short string) string { return e.typ[short].Code }

func (e *env) serial(short string, n uint64) string {
	t := e.typ[short]
	return t.FormatSerial(n)
}

func (e *env) rng(short string, a, b uint64) []inventory.SerialRange {
	return []inventory.SerialRange{{First: e.serial(short, a), Last: e.serial(short, b)}}
}

// receive receives [a, b] of SP into the city department, failing the test on error.
func (e *env) mustReceive(tb testing.TB, who, short string, a, b uint64) inventory.Movement {
	tb.Helper()
	r := inventory.Receipt{TypeCode: e.code(short), First: e.serial(short, a), Last: e.serial(short, b), Channel: e.typ[short].Channel}
	switch r.Channel {
	case catalogue.ChannelPrinter:
		r.Supplier, r.Contract, r.UnitCostFen = "某定点印制企业", "HT-2026-001", 150
	case catalogue.ChannelLocalPrint:
		r.Batch = "2026-01"
	case catalogue.ChannelProvincial:
		r.ProvincialDept, r.Document = "四川省药品监督管理局", "川药监领〔2026〕1号"
	}
	m, err := e.svc.Receive(ctx, e.actor[who], r)
	if err != nil {
		tb.Fatalf("receive %s %d-%d by %s: %v", short, a, b, who, err)
	}
	return m
}

func (e *env) mustTransfer(tb testing.TB, kind inventory.Kind, from, to, short string, a, b uint64) inventory.Movement {
	tb.Helper()
	m, err := e.svc.Transfer(ctx, e.actor[from], inventory.Transfer{Kind: kind, TypeCode: e.code(short), ToOrgID: e.org[to].ID, Ranges: e.rng(short, a, b)})
	if err != nil {
		tb.Fatalf("%s %s %d-%d %s -> %s: %v", kind, short, a, b, from, to, err)
	}
	return m
}

func (e *env) dump(tb testing.TB) map[string]string {
	tb.Helper()
	var d map[string]string
	if err := e.db.View(func(tx *store.Tx) error { d = inventory.Dump(tx); return nil }); err != nil {
		tb.Fatal(err)
	}
	return d
}

func (e *env) verify(tb testing.TB) {
	tb.Helper()
	if err := e.svc.Verify(ctx); err != nil {
		tb.Fatal(err)
	}
}

func (e *env) count(tb testing.TB, who, short string, st inventory.State) uint64 {
	tb.Helper()
	lines, err := e.svc.Stock(ctx, e.actor["center"], inventory.StockQuery{HolderID: e.org[who].ID, TypeCode: e.code(short), State: st, RangeLimit: -1})
	if err != nil {
		tb.Fatal(err)
	}
	var n uint64
	for _, l := range lines {
		n += l.Count
	}
	return n
}

func sameDump(a, b map[string]string) bool { return reflect.DeepEqual(a, b) }

func codeOf(err error) string { return certseal.ErrorCode(err) }

func conflicts(err error) []inventory.Conflict {
	var ce *certseal.Error
	if !errors.As(err, &ce) {
		return nil
	}
	cs, _ := ce.Detail["conflicts"].([]inventory.Conflict)
	return cs
}
