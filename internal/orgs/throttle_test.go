package orgs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"certseal"
	"certseal/internal/audit"
	"certseal/internal/orgs"
	"certseal/internal/store"
)

// hashCounter counts the argon2id checks the service runs, through the test hook.
type hashCounter struct {
	mu          sync.Mutex
	now, max    int           // checks running at once, and the most seen
	real, dummy int           // checks started against a stored hash, and against the dummy one
	realEntered chan struct{} // receives when a real check starts, if set
	gate        chan struct{} // real checks wait for it to close, if set
}

func (c *hashCounter) install(svc *orgs.Service) {
	orgs.SetHashHook(svc, func(dummy, enter bool) {
		c.mu.Lock()
		if enter {
			c.now++
			c.max = max(c.max, c.now)
			if dummy {
				c.dummy++
			} else {
				c.real++
			}
		} else {
			c.now--
		}
		entered, gate := c.realEntered, c.gate
		c.mu.Unlock()
		if enter && !dummy {
			if entered != nil {
				entered <- struct{}{}
			}
			if gate != nil {
				<-gate
			}
		}
	})
}

func (c *hashCounter) counts() (maxAtOnce, real, dummy int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.max, c.real, c.dummy
}

func lockoutEvents(t *testing.T, db *store.DB) int {
	t.Helper()
	n := 0
	err := db.View(func(tx *store.Tx) error {
		evs, _, err := audit.List(tx, audit.Filter{Action: "user.lockout"}, 0, 1000)
		n = len(evs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// isBadLogin reports whether err is the one answer every refused sign-in gets.
func isBadLogin(t *testing.T, err error, what string) {
	t.Helper()
	if certseal.ErrorCode(err) != certseal.EUnauthorized {
		t.Fatalf("%s: got %v, want the uniform %s", what, err, certseal.EUnauthorized)
	}
}

// TestPasswordChecksBounded: many parallel sign-ins never run more argon2id checks at once than
// MaxChecks, and every one of them is still answered (they wait for a slot).
func TestPasswordChecksBounded(t *testing.T) {
	e := newPwEnv(t)
	e.svc.Limits = orgs.PasswordLimits{MaxChecks: 3, CheckWait: time.Minute}
	var c hashCounter
	c.install(e.svc)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range n {
		wg.Go(func() {
			user, pw := "clerk", "right-pass1" // fewer than MaxFailures at once for one account
			if i%4 != 0 {
				user = fmt.Sprintf("nobody%d", i)
			}
			if _, err := e.svc.CheckPassword(ctx, fmt.Sprintf("10.0.1.%d", i), user, pw); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	most, real, dummy := c.counts()
	if most > 3 {
		t.Errorf("%d password checks ran at once, the bound is 3", most)
	}
	if real+dummy != n || ok.Load() != n/4 {
		t.Errorf("%d real and %d dummy checks, %d signed in; want %d checks and %d sign-ins", real, dummy, ok.Load(), n, n/4)
	}
}

// TestPasswordCheckBusy: a check that finds no free slot within CheckWait is refused as
// rate_limited with a retry time, and is not counted as a failed sign-in.
func TestPasswordCheckBusy(t *testing.T) {
	e := newPwEnv(t)
	e.svc.Limits = orgs.PasswordLimits{MaxChecks: 1, CheckWait: 10 * time.Millisecond}
	entered, gate := make(chan struct{}), make(chan struct{})
	var taken atomic.Bool
	orgs.SetHashHook(e.svc, func(dummy, enter bool) {
		if enter && taken.CompareAndSwap(false, true) { // the first check holds its slot
			entered <- struct{}{}
			<-gate
		}
	})
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := e.svc.CheckPassword(ctx, "10.0.0.1", "clerk", "right-pass1")
		done <- err
	}()
	<-entered // the only slot is taken
	for name, try := range map[string]func() error{
		"wait runs out": func() error {
			_, err := e.svc.CheckPassword(ctx, "10.0.0.2", "clerk", "wrong-pass1")
			return err
		},
		"client gone": func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := e.svc.CheckPassword(cctx, "10.0.0.3", "clerk", "wrong-pass1")
			return err
		},
	} {
		err := try()
		var ce *certseal.Error
		if certseal.ErrorCode(err) != certseal.ERateLimited || !hasHan(certseal.ErrorMessage(err)) {
			t.Fatalf("%s: got %v, want rate_limited with a Chinese message", name, err)
		}
		if ok := asError(err, &ce); !ok || ce.Detail["retry_after_seconds"] == nil {
			t.Fatalf("%s: no retry_after_seconds in %v", name, err)
		}
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("the check holding the slot: %v", err)
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); info.Failures != 0 {
		t.Fatalf("refused-while-busy checks counted as %d failures", info.Failures)
	}
}

// TestParallelGuessesLockOnce: 39 wrong guesses at once and the right password in the same burst
// run at most MaxFailures real checks, lock the account once, and the right password is refused
// (in the burst, and afterwards while locked).
func TestParallelGuessesLockOnce(t *testing.T) {
	e := newPwEnv(t)
	e.svc.Limits = orgs.PasswordLimits{MaxChecks: 8, CheckWait: time.Minute, AddrMaxFailures: 1000}
	const wrong = 39
	c := hashCounter{realEntered: make(chan struct{}, wrong+1), gate: make(chan struct{})}
	c.install(e.svc)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	const addr = "10.0.0.66"
	results := make(chan error, wrong)
	for range wrong {
		go func() {
			_, err := e.svc.CheckPassword(ctx, addr, "clerk", "wrong-pass1")
			results <- err
		}()
	}
	// Every guess either runs a real check (held at the gate) or is refused.
	entered, refused := 0, 0
	var errs []error
	for entered+refused < wrong {
		select {
		case <-c.realEntered:
			entered++
		case err := <-results:
			errs = append(errs, err)
			refused++
		}
	}
	if entered > orgs.MaxFailures {
		t.Errorf("%d real password checks ran for one account, the limit is %d", entered, orgs.MaxFailures)
	}
	right := make(chan error)
	go func() {
		_, err := e.svc.CheckPassword(ctx, addr, "clerk", "right-pass1")
		right <- err
	}()
	// The right password, sent while the wrong guesses are being checked, is refused without a
	// check of its own.
	select {
	case err := <-right:
		if err == nil {
			t.Error("the right password was accepted in a burst of wrong guesses")
		}
		close(c.gate)
	case <-c.realEntered:
		t.Error("the right password was checked while the limit's worth of guesses were in flight")
		close(c.gate)
		<-right
	}
	for len(errs) < wrong {
		errs = append(errs, <-results)
	}
	for _, err := range errs {
		isBadLogin(t, err, "a wrong guess")
	}
	if n := lockoutEvents(t, e.db); n != 1 {
		t.Errorf("%d lockout events from one burst, want 1", n)
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); info.LockedUntil == nil {
		t.Error("the account is not locked after the burst")
	}
	_, err := e.svc.CheckPassword(ctx, addr, "clerk", "right-pass1")
	isBadLogin(t, err, "the right password while locked")
	if _, real, _ := c.counts(); real > orgs.MaxFailures {
		t.Errorf("%d real checks in all, want at most %d", real, orgs.MaxFailures)
	}
}

// TestLockoutByStranger: wrong guesses from one address lock the account for that address (and
// any other that guesses wrong while it is locked) but not for an address that never failed.
func TestLockoutByStranger(t *testing.T) {
	e := newPwEnv(t)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	const stranger, owner, other = "192.0.2.7", "10.1.2.3", "10.9.9.9"
	for range orgs.MaxFailures {
		_, err := e.svc.CheckPassword(ctx, stranger, "clerk", "wrong-pass1")
		isBadLogin(t, err, "a stranger's guess")
	}
	if info, _ := e.svc.PasswordInfo(ctx, e.user.ID); info.LockedUntil == nil {
		t.Fatal("not locked after MaxFailures wrong guesses")
	}
	_, err := e.svc.CheckPassword(ctx, stranger, "clerk", "right-pass1")
	isBadLogin(t, err, "the right password from the address that caused the lock")
	if _, err := e.svc.CheckPassword(ctx, owner, "clerk", "right-pass1"); err != nil {
		t.Fatalf("the owner, from an address that never failed, is kept out: %v", err)
	}
	_, err = e.svc.CheckPassword(ctx, other, "clerk", "wrong-pass1")
	isBadLogin(t, err, "a wrong guess from a new address while locked")
	_, err = e.svc.CheckPassword(ctx, other, "clerk", "right-pass1")
	isBadLogin(t, err, "the right password from an address that failed while locked")
	if n := lockoutEvents(t, e.db); n != 1 {
		t.Fatalf("%d lockout events, want 1", n)
	}
	// After the lock, everyone may try again.
	e.clock.Set(e.clock.Now().Add(orgs.LockoutDuration + time.Second))
	if _, err := e.svc.CheckPassword(ctx, stranger, "clerk", "right-pass1"); err != nil {
		t.Fatalf("after the lock ended: %v", err)
	}
}

// TestAddressThrottle: one address that fails AddrMaxFailures times (against any names) is
// refused for a while with rate_limited, without a password check; other addresses are not.
func TestAddressThrottle(t *testing.T) {
	e := newPwEnv(t)
	e.svc.Limits = orgs.PasswordLimits{AddrMaxFailures: 6, AddrWindow: 10 * time.Minute}
	var c hashCounter
	c.install(e.svc)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	const bad = "198.51.100.1"
	for i := range 6 {
		_, err := e.svc.CheckPassword(ctx, bad, fmt.Sprintf("guess%d", i), "wrong-pass1")
		isBadLogin(t, err, "a guess")
	}
	_, before, dummyBefore := c.counts()
	_, err := e.svc.CheckPassword(ctx, bad, "clerk", "right-pass1")
	var ce *certseal.Error
	if certseal.ErrorCode(err) != certseal.ERateLimited || !asError(err, &ce) || ce.Detail["retry_after_seconds"] == nil {
		t.Fatalf("an address over its limit: got %v, want rate_limited with a retry time", err)
	}
	if _, after, dummyAfter := c.counts(); after != before || dummyAfter != dummyBefore {
		t.Fatal("a throttled address still costs a password check")
	}
	if _, err := e.svc.CheckPassword(ctx, "10.1.1.1", "clerk", "right-pass1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	e.clock.Set(e.clock.Now().Add(10 * time.Minute))
	if _, err := e.svc.CheckPassword(ctx, bad, "clerk", "right-pass1"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestSameAnswerForEveryRefusal: an unknown user, a user without a password, a wrong password,
// a locked account and a disabled account (with the right password) get the same code and
// message, and each costs exactly one argon2id check.
func TestSameAnswerForEveryRefusal(t *testing.T) {
	e := newPwEnv(t)
	e.svc.Limits = orgs.PasswordLimits{AddrMaxFailures: 1000}
	var c hashCounter
	c.install(e.svc)
	ctx := context.Background()
	if err := e.svc.SetPassword(ctx, e.admin, e.user.ID, "right-pass1"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SetPassword(ctx, e.admin, e.admin.UserID, "admin-pass1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateUser(ctx, e.admin, certseal.User{Username: "nopass", Name: "无密码", OrgID: e.user.OrgID, Role: certseal.RoleClerk}); err != nil {
		t.Fatal(err)
	}
	const addr = "10.2.2.2"
	for range orgs.MaxFailures {
		e.svc.CheckPassword(ctx, addr, "admin", "wrong-pass1")
	}
	if _, err := e.svc.SetUserDisabled(ctx, e.admin, e.user.ID, true); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, user, pw string }{
		{"unknown user", "nobody", "right-pass1"},
		{"no password", "nopass", "right-pass1"},
		{"wrong password", "admin", "wrong-pass2"},
		{"locked, right password", "admin", "admin-pass1"},
		{"disabled, right password", "clerk", "right-pass1"},
		{"disabled, wrong password", "clerk", "wrong-pass1"},
	}
	var first string
	for _, tc := range cases {
		_, r0, d0 := c.counts()
		_, err := e.svc.CheckPassword(ctx, addr, tc.user, tc.pw)
		_, r1, d1 := c.counts()
		got := certseal.ErrorCode(err) + " " + certseal.ErrorMessage(err)
		if first == "" {
			first = got
		}
		var ce *certseal.Error
		if got != first || (asError(err, &ce) && len(ce.Detail) > 0) {
			t.Errorf("%s: answer %v, want the same as the others: %q", tc.name, err, first)
		}
		if r1-r0+d1-d0 != 1 {
			t.Errorf("%s: %d argon2id checks, want exactly 1 (same timing)", tc.name, r1-r0+d1-d0)
		}
	}
	if !strings.HasPrefix(first, certseal.EUnauthorized+" ") {
		t.Fatalf("the uniform answer %q is not unauthenticated", first)
	}
}

func asError(err error, e **certseal.Error) bool { return errors.As(err, e) }

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}
