package orgs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

func newOrgsService(t *testing.T) (*orgs.Service, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &orgs.Service{DB: db, Clock: &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)}}, db
}

var (
	centerOrg = certseal.Org{Name: "广元市政务服务和公共资源交易中心", Kind: certseal.KindCityCenter, USCC: certseal.MakeUSCC("12510800MB1500001"), AreaCode: "510800"}
	otherOrg  = certseal.Org{Name: "利州区行政审批局", Kind: certseal.KindCountyBureau, USCC: certseal.MakeUSCC("11510802MB1500020"), AreaCode: "510802"}
	adminUser = certseal.User{Username: "admin", Name: "系统管理员", Role: certseal.RoleAdmin}
)

func TestCityCenter(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		orgs     []certseal.Org
		want     string
		wantCode string
	}{
		"none":              {wantCode: certseal.ENotFound},
		"only another kind": {orgs: []certseal.Org{otherOrg}, wantCode: certseal.ENotFound},
		"after another org": {orgs: []certseal.Org{otherOrg, centerOrg}, want: centerOrg.Name},
		"alone":             {orgs: []certseal.Org{centerOrg}, want: centerOrg.Name},
	} {
		t.Run(name, func(t *testing.T) {
			svc, _ := newOrgsService(t)
			for _, o := range tc.orgs {
				if _, err := svc.CreateOrg(ctx, certseal.System, o); err != nil {
					t.Fatal(err)
				}
			}
			got, err := svc.CityCenter(ctx)
			if code := certseal.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("CityCenter: error %v, want code %q", err, tc.wantCode)
			}
			if got.Name != tc.want {
				t.Errorf("CityCenter = %q, want %q", got.Name, tc.want)
			}
		})
	}
}

func TestInitAdmin(t *testing.T) {
	ctx := context.Background()
	renamed := centerOrg
	renamed.Name, renamed.USCC = "市政务中心", certseal.MakeUSCC("12510800MB1500099")
	for name, tc := range map[string]struct {
		before      []certseal.Org // organisations already there
		adminBefore bool           // the admin user already exists
		wantCreated bool
		wantCenter  string
	}{
		"empty database":                {wantCreated: true, wantCenter: centerOrg.Name},
		"center already there":          {before: []certseal.Org{centerOrg}, wantCreated: true, wantCenter: centerOrg.Name},
		"another city center is reused": {before: []certseal.Org{otherOrg, renamed}, wantCreated: true, wantCenter: renamed.Name},
		"already initialised":           {before: []certseal.Org{centerOrg}, adminBefore: true, wantCenter: centerOrg.Name},
	} {
		t.Run(name, func(t *testing.T) {
			svc, db := newOrgsService(t)
			for _, o := range tc.before {
				if _, err := svc.CreateOrg(ctx, certseal.System, o); err != nil {
					t.Fatal(err)
				}
			}
			if tc.adminBefore {
				c, err := svc.CityCenter(ctx)
				if err != nil {
					t.Fatal(err)
				}
				u := adminUser
				u.OrgID = c.ID
				if _, err := svc.CreateUser(ctx, certseal.System, u); err != nil {
					t.Fatal(err)
				}
			}
			res, err := svc.InitAdmin(ctx, centerOrg, adminUser, "init")
			if err != nil {
				t.Fatal(err)
			}
			if res.Created != tc.wantCreated {
				t.Errorf("Created = %v, want %v", res.Created, tc.wantCreated)
			}
			if res.Center.Name != tc.wantCenter || res.Admin.OrgID != res.Center.ID || res.Admin.Role != certseal.RoleAdmin {
				t.Errorf("center %+v admin %+v", res.Center, res.Admin)
			}
			all, _, err := svc.List(ctx, orgs.OrgFilter{Kind: certseal.KindCityCenter}, "", 10)
			if err != nil || len(all) != 1 {
				t.Fatalf("city centers after InitAdmin: %v, %v", all, err)
			}
			p, err := svc.Authenticate(ctx, res.Token)
			if err != nil {
				t.Fatalf("the token InitAdmin returned does not authenticate: %v", err)
			}
			if p.User.ID != res.Admin.ID {
				t.Errorf("token of %q, want admin", p.User.Username)
			}
			var events []audit.Event
			if err := db.View(func(tx *store.Tx) error {
				var err error
				events, _, err = audit.List(tx, audit.Filter{}, 0, 100)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(events) == 0 || events[0].Action != "token.create" {
				t.Errorf("newest audit event %v, want token.create", events)
			}
		})
	}
}

func TestUserByNameService(t *testing.T) {
	ctx := context.Background()
	svc, _ := newOrgsService(t)
	c, err := svc.CreateOrg(ctx, certseal.System, centerOrg)
	if err != nil {
		t.Fatal(err)
	}
	u := adminUser
	u.OrgID = c.ID
	if _, err := svc.CreateUser(ctx, certseal.System, u); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		username, want, code string
	}{
		"found":    {username: "admin", want: adminUser.Name},
		"any case": {username: "ADMIN", want: adminUser.Name},
		"unknown":  {username: "nobody", code: certseal.ENotFound},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := svc.UserByName(ctx, tc.username)
			if certseal.ErrorCode(err) != tc.code || got.Name != tc.want {
				t.Errorf("UserByName(%q) = %q, %v; want %q, code %q", tc.username, got.Name, err, tc.want, tc.code)
			}
		})
	}
}
