package orgs_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

type pwEnv struct {
	svc   *orgs.Service
	clock *certseal.FixedClock
	admin certseal.Actor
	user  certseal.User
	db    *store.DB
}

func newPwEnv(t *testing.T) *pwEnv {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), &store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &certseal.FixedClock{T: time.Date(2026, 3, 2, 9, 0, 0, 0, certseal.China)}
	svc := &orgs.Service{DB: db, Clock: clock}
	ctx := context.Background()
	center, err := svc.CreateOrg(ctx, certseal.System, certseal.Org{Name: "市政务服务中心", Kind: certseal.KindCityCenter, USCC: certseal.MakeUSCC("12510800MB1500001"), AreaCode: "510800"})
	if err != nil {
		t.Fatal(err)
	}
	bureau, err := svc.CreateOrg(ctx, certseal.System, certseal.Org{Name: "利州区行政审批局", Kind: certseal.KindCountyBureau, USCC: certseal.MakeUSCC("11510802MB1500020"), AreaCode: "510802"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := svc.CreateUser(ctx, certseal.System, certseal.User{Username: "admin", Name: "管理员", OrgID: center.ID, Role: certseal.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, certseal.System, certseal.User{Username: "clerk", Name: "窗口", OrgID: bureau.ID, Role: certseal.RoleClerk})
	if err != nil {
		t.Fatal(err)
	}
	return &pwEnv{svc: svc, clock: clock, db: db, user: u,
		admin: certseal.Actor{UserID: a.ID, Username: a.Username, OrgID: center.ID, OrgKind: certseal.KindCityCenter, Role: certseal.RoleAdmin}}
}

func (e *pwEnv) actor() certseal.Actor {
	return certseal.Actor{UserID: e.user.ID, Username: e.user.Username, OrgID: e.user.OrgID, OrgKind: certseal.KindCountyBureau, Role: e.user.Role}
}

func TestPasswordRules(t *testing.T) {
	for name, tc := range map[string]struct {
		pw string
		ok bool
	}{
		"short":        {"ab12", false},
		"letters only": {"abcdefghij", false},
		"digits only":  {"1234567890", false},
		"control":      {"abcd1234\x00", false},
		"fine":         {"窗口abc12345", true},
		"too long":     {strings.Repeat("a1", 65), false},
	} {
		t.Run(name, func(t *testing.T) {
			err := orgs.CheckPasswordRule(tc.pw)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckPasswordRule(%q) = %v, want ok %v", tc.pw, err, tc.ok)
			}
		})
	}
	for i := 0; i < 20; i++ {
		pw, err := orgs.GeneratePassword()
		if err != nil || orgs.CheckPasswordRule(pw) != nil || len(pw) != 19 {
			t.Fatalf("GeneratePassword() = %q, %v", pw, err)
		}
	}
}

func TestSetCheckChangePassword(t *testing.T) {
	e := newPwEnv(t)
	ctx := context.Background()
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "whatever1"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("no password set: got %v, want unauthenticated", err)
	}
	if err := e.svc.SetPassword(ctx, e.actor(), e.user.ID, "clerkpass1"); certseal.ErrorCode(err) != certseal.EForbidden {
		t.Fatalf("clerk sets a password: got %v, want permission_denied", err)
	}
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "short"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("short password: got %v, want invalid_argument", err)
	}
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "first-pass1"); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); !info.Set || !info.MustChange || info.SetBy != "admin" {
		t.Fatalf("info after admin set: %+v", info)
	}
	if u, err := e.svc.CheckPassword(ctx, "10.0.0.1", "CLERK", "first-pass1"); err != nil || u.ID != e.user.ID {
		t.Fatalf("check: %v, %+v", err, u)
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "first-pass2"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("wrong password: got %v", err)
	}
	if err := e.svc.ChangePassword(ctx, e.actor(), "nope-pass1", "second-pass2"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("change with a wrong old password: got %v", err)
	}
	if err := e.svc.ChangePassword(ctx, e.actor(), "first-pass1", "first-pass1"); certseal.ErrorCode(err) != certseal.EInvalid {
		t.Fatalf("change to the same password: got %v", err)
	}
	if err := e.svc.ChangePassword(ctx, e.actor(), "first-pass1", "second-pass2"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "first-pass1"); err == nil {
		t.Fatal("the old password still works")
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "second-pass2"); err != nil {
		t.Fatal(err)
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); info.MustChange || info.Failures != 0 {
		t.Fatalf("info after change: %+v", info)
	}
	// The audit log names the changes and never holds the password.
	var actions []string
	e.db.View(func(tx *store.Tx) error {
		evs, _, err := audit.List(tx, audit.Filter{Action: "user."}, 0, 100)
		for _, ev := range evs {
			actions = append(actions, ev.Action)
			if strings.Contains(string(ev.Detail), "pass") && strings.Contains(string(ev.Detail), "first-pass1") {
				t.Errorf("audit event %d holds the password: %s", ev.Seq, ev.Detail)
			}
		}
		return err
	})
	got := strings.Join(actions, ",")
	if !strings.Contains(got, "user.password_change") || !strings.Contains(got, "user.password_set") {
		t.Fatalf("audit actions %s", got)
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "nobody", "x"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestLockout(t *testing.T) {
	e := newPwEnv(t)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= orgs.MaxFailures; i++ {
		// The answer is the same before and after the lock (see TestSameAnswerForEveryRefusal).
		_, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "wrong-pass1")
		if certseal.ErrorCode(err) != certseal.EUnauthorized || !strings.Contains(certseal.ErrorMessage(err), "锁定") {
			t.Fatalf("failure %d: got %v, want unauthenticated", i, err)
		}
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); info.LockedUntil == nil {
		t.Fatalf("not locked after %d failures: %+v", orgs.MaxFailures, info)
	}
	_, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "right-pass1")
	if certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("right password while locked: got %v", err)
	}
	e.clock.Set(e.clock.Now().Add(orgs.LockoutDuration + time.Second))
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "right-pass1"); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// Four failures, a success, four more: no lockout (failures must be in a row).
	for round := 0; round < 2; round++ {
		for i := 0; i < orgs.MaxFailures-1; i++ {
			e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "wrong-pass1")
		}
		if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "right-pass1"); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// An administrator's new password unlocks at once.
	for i := 0; i < orgs.MaxFailures; i++ {
		e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "wrong-pass1")
	}
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "fresh-pass1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "fresh-pass1"); err != nil {
		t.Fatalf("after an admin reset: %v", err)
	}
	// A disabled user is refused even with the right password.
	if _, err := e.svc.SetUserDisabled(ctx, e.admin, e.user.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "fresh-pass1"); certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("disabled user: %v", err)
	}
}
