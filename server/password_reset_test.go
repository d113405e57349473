package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"certseal"
	"certseal/cmd/app/testenv"
	"certseal/internal/audit"
	"certseal/internal/orgs"
)

func init() {
	expect(map[string]string{"users.password_reset": "A"})
	readmeValues["$CLERK_ID"] = "9"          // the README's password reset example
	readmeValues["$NEXTFORM"] = "SC00000102" // and its change (变更)
}

func userIDOf(t *testing.T, e *testenv.Env, username string) string {
	t.Helper()
	u, err := e.App.Orgs.UserByName(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestPasswordResetAPI: an administrator resets a clerk's password with one the service makes
// (answered once), the clerk signs in with it and must change it, the reset is audited and the
// clerk's web sessions end; a password that breaks the rules changes nothing.
func TestPasswordResetAPI(t *testing.T) {
	e := testenv.Start(t)
	ctx := context.Background()
	id := userIDOf(t, e, "lizhou-clerk")
	if err := e.App.Orgs.SetPassword(ctx, certseal.System, id, "old-pass-2026"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.App.Orgs.CreateSession(ctx, id, orgs.SessionLimits{}); err != nil {
		t.Fatal(err)
	}

	r := e.Do("POST", "/api/v1/users/"+id+"/password", "admin", map[string]any{"password": "short"})
	if r.Status != http.StatusBadRequest || r.ErrorCode() != certseal.EInvalid {
		t.Fatalf("a short password: %d %s, want 400 invalid", r.Status, r.Body)
	}
	if _, err := e.App.Orgs.CheckPassword(ctx, "127.0.0.1", "lizhou-clerk", "old-pass-2026"); err != nil {
		t.Fatalf("a refused reset changed the password: %v", err)
	}

	var resp struct {
		User       certseal.User `json:"user"`
		Password   string        `json:"password"`
		MustChange bool          `json:"must_change"`
	}
	e.Must(http.StatusOK, "POST", "/api/v1/users/"+id+"/password", "admin", map[string]any{}).Decode(t, &resp)
	if resp.Password == "" || resp.User.Username != "lizhou-clerk" || !resp.MustChange {
		t.Fatalf("answer %+v: want the made password, the user and must_change", resp)
	}
	if _, err := e.App.Orgs.CheckPassword(ctx, "127.0.0.2", "lizhou-clerk", resp.Password); err != nil {
		t.Fatalf("the clerk cannot sign in with the made password: %v", err)
	}
	if _, err := e.App.Orgs.CheckPassword(ctx, "127.0.0.3", "lizhou-clerk", "old-pass-2026"); err == nil {
		t.Fatal("the old password still works")
	}
	info, err := e.App.Orgs.PasswordInfo(ctx, id)
	if err != nil || !info.MustChange {
		t.Fatalf("password info %+v, %v: the clerk must change it", info, err)
	}
	evs, _, err := e.App.Audit.List(ctx, audit.Filter{Action: "user.password_set"}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, ev := range evs {
		if ev.Object == "user/"+id && ev.Username == "admin" {
			found = true
			var d struct {
				SessionsEnded int `json:"sessions_ended"`
			}
			if err := json.Unmarshal(ev.Detail, &d); err != nil || d.SessionsEnded != 1 {
				t.Errorf("audit detail %s: want the clerk's one session ended", ev.Detail)
			}
		}
	}
	if !found {
		t.Fatalf("no user.password_set event by admin for user/%s in %+v", id, evs)
	}

	// The answer to a given password carries no password.
	r = e.Must(http.StatusOK, "POST", "/api/v1/users/"+id+"/password", "admin", map[string]any{"password": "given-pass-2027"})
	if m := r.JSON(t); m["password"] != nil {
		t.Fatalf("the answer repeats a given password: %s", r.Body)
	}
	if r := e.Do("POST", "/api/v1/users/999999/password", "admin", map[string]any{}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown user: %d %s", r.Status, r.Body)
	}
}
