package certs_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/certs"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/docstore"
	"certseal/internal/fixtures"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/seals"
	"certseal/templates"
)

// This file builds a certs.Service from the domain packages alone — the store, the demo
// organisations and licence types, the seal registry, the template store and renderer and the
// blank-form ledger — without cmd/app or server, so that the tests below show what the
// service needs and exercise it directly.

var ctx = context.Background()

// start is when every test begins: 2026-03-02 09:00 China time.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)

// env is a certificate service over a fresh database in t.TempDir() with the demo data, a seal
// for each of two county bureaus and food-licence blank forms in both bureaus' stock.
type env struct {
	t     testing.TB
	db    *store.DB
	docs  *docstore.Dir
	clock *certseal.FixedClock
	reg   *seals.Registry
	inv   *inventory.Service
	svc   *certs.Service
	orgs  map[string]string // organisation name -> id

	admin   certseal.Actor // the city center's administrator
	clerk   certseal.Actor // a window clerk of 利州区行政审批局
	officer certseal.Actor // an officer of 利州区行政审批局
	other   certseal.Actor // a window clerk of 昭化区行政审批局
	auditor certseal.Actor

	seal      string // 利州区行政审批局's approval seal
	otherSeal string // 昭化区行政审批局's approval seal
	sm2Seal   string // the SM2 registration of 利州区's seal (the food licence's OFD)
}

// food serials: SC00000001-SC00000200 are 利州区's stock, SC00000201-SC00000300 昭化区's, and
// SC00000301-SC00001000 stay with the city department.
const (
	lizhouFirst, lizhouLast = 1, 200
	zhaohuaFirst            = 201
)

func serial(n int) string { return fmt.Sprintf("SC%08d", n) }

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, store.FileName), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	docs, err := docstore.OpenDir(filepath.Join(dir, docstore.DirName), true)
	if err != nil {
		t.Fatal(err)
	}
	clock := &certseal.FixedClock{T: start, Step: time.Millisecond}
	res, err := demo.Load(db, start)
	if err != nil {
		t.Fatal(err)
	}
	master := make([]byte, seals.MasterKeySize)
	rand.Read(master)
	keys, err := seals.NewKeyring(master)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := seals.NewRegistry(db, keys, clock)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, docs: docs, clock: clock, reg: reg, orgs: res.Orgs,
		admin:   certseal.Actor{UserID: "u-admin", Username: "admin", OrgID: res.Orgs[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin},
		auditor: certseal.Actor{UserID: "u-auditor", Username: "auditor", OrgID: res.Orgs[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAuditor},
		clerk:   certseal.Actor{UserID: "u-lz-clerk", Username: "lizhou-clerk", OrgID: res.Orgs["广元市利州区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk},
		officer: certseal.Actor{UserID: "u-lz-officer", Username: "lizhou-officer", OrgID: res.Orgs["广元市利州区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleBureauOfficer},
		other:   certseal.Actor{UserID: "u-zh-clerk", Username: "zhaohua-clerk", OrgID: res.Orgs["广元市昭化区行政审批局"], OrgKind: certseal.KindCountyBureau, Role: certseal.RoleClerk},
	}
	types := []string{demo.TypeFood, demo.TypeConstruction, demo.TypeRoadTransport, demo.TypeBusiness}
	for i, b := range []struct {
		name, code string
		id         *string
	}{{"广元市利州区行政审批局", "5108020000001", &e.seal}, {"广元市昭化区行政审批局", "5108110000002", &e.otherSeal}} {
		s, err := reg.Create(ctx, e.admin, seals.NewSeal{Name: b.name + "行政审批专用章", OrgID: res.Orgs[b.name], Type: seals.TypeDedicatedApproval,
			Code: b.code, Auth: seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"}, LicenceTypes: types,
			ValidFrom: start, ValidTo: start.AddDate(10, 0, 0)})
		if err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
		*b.id = s.ID
	}
	// The SM2 registrations of the same two seals (same code): the demo food licence is pdf+ofd,
	// its OFD sealed by them.
	for i, b := range []struct {
		name, code string
		id         *string
	}{{"广元市利州区行政审批局", "5108020000001", &e.sm2Seal}, {"广元市昭化区行政审批局", "5108110000002", new(string)}} {
		s, err := reg.Create(ctx, e.admin, seals.NewSeal{Name: b.name + "行政审批专用章", OrgID: res.Orgs[b.name], Type: seals.TypeDedicatedApproval,
			Code: b.code, Auth: seals.AuthDoc{Number: "广府函〔2021〕58号", Date: "2021-06-18"}, LicenceTypes: types,
			ValidFrom: start, ValidTo: start.AddDate(10, 0, 0), Algorithm: seals.AlgSM2})
		if err != nil {
			t.Fatalf("SM2 seal %d: %v", i, err)
		}
		*b.id = s.ID
	}
	e.inv = &inventory.Service{DB: db, Clock: clock, LicenceNumber: func(tx *store.Tx, id string) string {
		c, err := certs.GetTx(tx, id)
		if err != nil {
			return ""
		}
		return c.LicenceNumber
	}}
	dept := certseal.Actor{UserID: "u-scj", Username: "scj", OrgID: res.Orgs["广元市市场监督管理局"], OrgKind: certseal.KindCityDepartment, Role: certseal.RoleDeptOfficer}
	if _, err := e.inv.Receive(ctx, dept, inventory.Receipt{TypeCode: demo.TypeFood, First: serial(1), Last: serial(1000),
		Channel: catalogue.ChannelPrinter, Supplier: "成都川印证件印务有限公司", Contract: "GYSJ-2026-001", UnitCostFen: 120}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []struct {
		to          string
		first, last int
	}{{"广元市利州区行政审批局", lizhouFirst, lizhouLast}, {"广元市昭化区行政审批局", zhaohuaFirst, 300}} {
		if _, err := e.inv.Transfer(ctx, dept, inventory.Transfer{Kind: inventory.KindDistribution, TypeCode: demo.TypeFood, ToOrgID: res.Orgs[d.to],
			Ranges: []inventory.SerialRange{{First: serial(d.first), Last: serial(d.last)}}, Document: "2026年度空白证照下发"}); err != nil {
			t.Fatal(err)
		}
	}
	e.svc = &certs.Service{DB: db, Clock: clock, Seals: reg, Templates: templates.NewStore(db, clock),
		Validator: reg, Renderer: renderer, Docs: docs, BaseURL: "https://zwfw.example.gov.cn"}
	return e
}

// renderer is shared by all tests: the font is parsed once per process.
var renderer = templates.NewRenderer()

// foodRequest turns sample record i into an issue request for a food licence on the blank form
// with the given serial: the holder from its name and credit code, the validity from 有效期至,
// and the fields the service fills in itself left out.
func (e *env) foodRequest(i int, serialNo string) certs.IssueRequest {
	e.t.Helper()
	f := fixtures.FoodRecords(e.t)[i]
	values := map[string]string{}
	for k, v := range f.Fields {
		switch k {
		case "发证机关", "发证日期", "有效期至", "许可证编号":
			continue
		}
		values[k] = v
	}
	to, err := time.Parse("2006年1月2日", f.Fields["有效期至"])
	if err != nil {
		e.t.Fatalf("sample %d: 有效期至 %q: %v", i, f.Fields["有效期至"], err)
	}
	return certs.IssueRequest{TypeCode: demo.TypeFood, ItemCode: "000117001001", SealID: e.seal, Serial: serialNo,
		Holder: certs.Holder{Name: f.Fields["经营者名称"], Code: f.Fields["统一社会信用代码"], CodeType: certs.CodeUSCC},
		Values: values, ValidTo: to.Format(certs.DateLayout)}
}

// issue issues sample record i on the given serial as the 利州区 clerk, failing the test on error.
func (e *env) issue(i, serialNo int) certs.Certificate {
	e.t.Helper()
	c, replayed, err := e.svc.Issue(ctx, e.clerk, e.foodRequest(i, serial(serialNo)), "")
	if err != nil || replayed {
		e.t.Fatalf("issue sample %d on %s: %v (replayed %v)", i, serial(serialNo), err, replayed)
	}
	return c
}

// operate applies a lifecycle operation as the 利州区 clerk, failing the test on error.
func (e *env) operate(id string, req certs.OperationRequest) certs.Certificate {
	e.t.Helper()
	c, err := e.svc.Operate(ctx, e.clerk, id, req)
	if err != nil {
		e.t.Fatalf("%s on %s: %v", req.Op, id, err)
	}
	return c
}

// get reads a certificate as the administrator, with its status as of now.
func (e *env) get(id string) certs.Certificate {
	e.t.Helper()
	c, err := e.svc.Get(ctx, e.admin, id)
	if err != nil {
		e.t.Fatalf("get %s: %v", id, err)
	}
	return c
}

// raw reads a certificate as stored, without the status as of now.
func (e *env) raw(id string) certs.Certificate {
	e.t.Helper()
	var c certs.Certificate
	if err := e.db.View(func(tx *store.Tx) error {
		var err error
		c, err = certs.GetTx(tx, id)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// pdf returns the stored PDF of a certificate.
func (e *env) pdf(id string) []byte {
	e.t.Helper()
	b, _, err := e.svc.PDF(ctx, e.admin, id)
	if err != nil {
		e.t.Fatalf("pdf of %s: %v", id, err)
	}
	return b
}

// snapshot returns a copy of the whole database, to tell that a refused call wrote nothing.
func (e *env) snapshot() []byte {
	e.t.Helper()
	var b bytes.Buffer
	if _, err := e.db.Backup(&b); err != nil {
		e.t.Fatal(err)
	}
	return b.Bytes()
}

// history returns the operations on a certificate, oldest first.
func (e *env) history(id string) []certs.Operation {
	e.t.Helper()
	ops, err := e.svc.History(ctx, e.admin, id)
	if err != nil {
		e.t.Fatalf("history of %s: %v", id, err)
	}
	return ops
}

// events returns every outbox event.
func (e *env) events() []certs.Event {
	e.t.Helper()
	var out []certs.Event
	if err := e.db.View(func(tx *store.Tx) error {
		var err error
		out, err = certs.EventsAfterTx(tx, 0, 10000)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// blank returns the holder and state of a food blank form in the ledger.
func (e *env) blank(n int) (string, inventory.State) {
	e.t.Helper()
	var holder string
	var st inventory.State
	if err := e.db.View(func(tx *store.Tx) error {
		var err error
		holder, st, err = inventory.StateTx(tx, demo.TypeFood, serial(n))
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return holder, st
}

// at moves the clock to 09:00 China time on the given day (2006-01-02).
func (e *env) at(date string) {
	e.t.Helper()
	d, err := time.ParseInLocation(certs.DateLayout, date, certseal.China)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(d.Add(9 * time.Hour))
}

// dayAfter returns the date after d (2006-01-02).
func dayAfter(t testing.TB, d string) string {
	t.Helper()
	x, err := time.ParseInLocation(certs.DateLayout, d, certseal.China)
	if err != nil {
		t.Fatal(err)
	}
	return x.AddDate(0, 0, 1).Format(certs.DateLayout)
}

// wantCode fails the test unless err has the code (and, for an error, a Chinese message).
func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := certseal.ErrorCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
	if code != "" && !strings.ContainsFunc(certseal.ErrorMessage(err), func(r rune) bool { return r >= 0x4e00 && r <= 0x9fff }) {
		t.Errorf("error message %q is not in Chinese", certseal.ErrorMessage(err))
	}
}
