package demand_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
	"unicode"

	"certseal"
	"certseal/internal/catalogue"
	"certseal/internal/demo"
	"certseal/internal/orgs"
	"certseal/internal/store"
	"certseal/inventory"
	"certseal/inventory/demand"
)

var ctx = context.Background()

// t0 is the tests' start: early January 2026, when the yearly round runs.
var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, certseal.China)

// deadline is the yearly round's deadline in the tests.
var deadline = time.Date(2026, 1, 31, 18, 0, 0, 0, certseal.China)

// env is a database with the Guangyuan demo data and the services.
type env struct {
	db    *store.DB
	clock *certseal.FixedClock
	inv   *inventory.Service
	svc   *demand.Service
	ids   map[string]string // organisation name -> id
	admin certseal.Actor
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "t.db"), &store.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	clock := &certseal.FixedClock{T: t0, Step: time.Second}
	res, err := demo.Load(db, t0)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{db: db, clock: clock, ids: res.Orgs}
	e.inv = &inventory.Service{DB: db, Clock: clock}
	e.svc = &demand.Service{DB: db, Clock: clock, Ledger: demand.NewLedger(e.inv), Catalogue: &catalogue.Service{DB: db, Clock: clock}}
	e.admin = certseal.Actor{UserID: "u-admin", Username: "admin", OrgID: e.ids[demo.CityCenterName], OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin}
	return e
}

// actor returns an actor of the named organisation with the role.
func (e *env) actor(tb testing.TB, org string, role certseal.Role) certseal.Actor {
	tb.Helper()
	id, ok := e.ids[org]
	if !ok {
		tb.Fatalf("no organisation %q", org)
	}
	var o certseal.Org
	if err := e.db.View(func(tx *store.Tx) error { var err error; o, err = orgs.Get(tx, id); return err }); err != nil {
		tb.Fatal(err)
	}
	return certseal.Actor{UserID: "u-" + id, Username: "user-" + id, OrgID: id, OrgKind: o.Kind, Role: role}
}

func (e *env) bureau(tb testing.TB, i int) certseal.Actor {
	return e.actor(tb, demo.Bureaus[i].Name, certseal.RoleBureauOfficer)
}

// yearly opens the 2026 yearly round over the three demo paper types, food capped at 500.
func (e *env) yearly(tb testing.TB) demand.Round {
	tb.Helper()
	r, err := e.svc.OpenRound(ctx, e.admin, demand.RoundRequest{Kind: demand.Yearly, Year: 2026, Deadline: deadline,
		Types: []demand.RoundTypeRequest{{Code: demo.TypeFood, Cap: 500}, {Code: demo.TypeConstruction}, {Code: demo.TypeRoadTransport}}})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func filing(lines ...demand.LineRequest) demand.FilingRequest {
	return demand.FilingRequest{Contact: "张三", Phone: "0839-3260000", Lines: lines}
}

func line(code string, q int64) demand.LineRequest {
	return demand.LineRequest{TypeCode: code, Quantity: q, Reason: "业务量增长"}
}

func (e *env) snapshot(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	if _, err := e.db.Backup(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// wantCode checks that err is a *certseal.Error with the code and a Chinese message.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	var ce *certseal.Error
	if !errors.As(err, &ce) {
		tb.Fatalf("got error %v, want a *certseal.Error with code %s", err, code)
	}
	if ce.Code != code {
		tb.Fatalf("got code %s (%s), want %s", ce.Code, ce.Message, code)
	}
	han := false
	for _, r := range ce.Message {
		if unicode.Is(unicode.Han, r) {
			han = true
			break
		}
	}
	if !han {
		tb.Fatalf("message %q is not Chinese", ce.Message)
	}
}

// must returns v, and panics (failing the test with a stack trace) when err is set.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
