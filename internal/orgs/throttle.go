package orgs

import (
	"context"
	"math"
	"sync"
	"time"

	"certseal"
)

// PasswordLimits bound what password checks may cost the server and how fast anyone may guess.
// A zero field takes its default. The account lockout itself is MaxFailures and LockoutDuration.
type PasswordLimits struct {
	// MaxChecks is how many argon2id password checks run at once; each holds about 19 MiB of
	// memory and a core for tens of milliseconds. Default DefaultMaxChecks.
	MaxChecks int
	// CheckWait is how long a check waits for a free slot (or until its request is cancelled)
	// before it is refused with ERateLimited. Default DefaultCheckWait.
	CheckWait time.Duration
	// AddrMaxFailures is how many failed sign-ins one client address may make, against any
	// user names, within AddrWindow; beyond it the address is refused with ERateLimited, without
	// a password check, until enough of the window has passed. Default DefaultAddrMaxFailures.
	AddrMaxFailures int
	// AddrWindow is the window of AddrMaxFailures. Default DefaultAddrWindow.
	AddrWindow time.Duration
}

// Defaults of PasswordLimits.
const (
	DefaultMaxChecks       = 4
	DefaultCheckWait       = 3 * time.Second
	DefaultAddrMaxFailures = 20
	DefaultAddrWindow      = 15 * time.Minute
)

// maxTrackedAddrs bounds the per-address failure table; past it, the entries that decayed to
// nothing are dropped first, then the table is cleared (failing open for the address throttle
// only: the account lock still holds).
const maxTrackedAddrs = 100000

func (l PasswordLimits) withDefaults() PasswordLimits {
	if l.MaxChecks <= 0 {
		l.MaxChecks = DefaultMaxChecks
	}
	if l.CheckWait <= 0 {
		l.CheckWait = DefaultCheckWait
	}
	if l.AddrMaxFailures <= 0 {
		l.AddrMaxFailures = DefaultAddrMaxFailures
	}
	if l.AddrWindow <= 0 {
		l.AddrWindow = DefaultAddrWindow
	}
	return l
}

// throttle is the in-memory state of the password checks: the semaphore and the failures per
// client address. It is made at the first check from Service.Limits.
type throttle struct {
	limits PasswordLimits
	slots  chan struct{}

	mu    sync.Mutex
	addrs map[string]*addrFailures
}

// addrFailures is a leaky bucket of failures: it drains at AddrMaxFailures per AddrWindow.
type addrFailures struct {
	level float64
	last  time.Time
}

func (s *Service) throttle() *throttle {
	s.throttleOnce.Do(func() {
		l := s.Limits.withDefaults()
		s.thr = &throttle{limits: l, slots: make(chan struct{}, l.MaxChecks), addrs: map[string]*addrFailures{}}
	})
	return s.thr
}

func retryAfter(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// busyError is the answer when no check slot came free in time.
func busyError(wait time.Duration) error {
	n := retryAfter(wait)
	return certseal.Errorf(certseal.ERateLimited, "登录的人较多，服务器正忙，请%d秒后再试", n).WithDetail("retry_after_seconds", n)
}

// match checks pw against the PHC string h in one of the bounded slots, waiting up to
// CheckWait or until ctx ends; dummy says it is the stand-in check for an unknown user or a
// refused attempt. It returns busyError when no slot came free.
func (s *Service) match(ctx context.Context, h, pw string, dummy bool) (bool, error) {
	th := s.throttle()
	select {
	case th.slots <- struct{}{}:
	default:
		t := time.NewTimer(th.limits.CheckWait)
		defer t.Stop()
		select {
		case th.slots <- struct{}{}:
		case <-t.C:
			return false, busyError(th.limits.CheckWait)
		case <-ctx.Done():
			return false, busyError(th.limits.CheckWait)
		}
	}
	defer func() { <-th.slots }()
	if s.hashHook != nil {
		s.hashHook(dummy, true)
		defer s.hashHook(dummy, false)
	}
	return matchPassword(h, pw), nil
}

// addrLevel returns the bucket of addr drained to now (nil when there is none); th.mu is held.
func (th *throttle) addrLevel(addr string, now time.Time) *addrFailures {
	b := th.addrs[addr]
	if b == nil {
		return nil
	}
	rate := float64(th.limits.AddrMaxFailures) / th.limits.AddrWindow.Seconds()
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.level = math.Max(0, b.level-d*rate)
		b.last = now
	}
	return b
}

// addrAllowed returns an ERateLimited error when addr has failed too often lately: on this
// node (the leaky bucket), or, on a cluster, on all nodes together (the failures of the last
// AddrWindow kept in etcd; when etcd cannot be asked, this node's count alone decides).
func (s *Service) addrAllowed(addr string) error {
	th := s.throttle()
	now := s.Clock.Now()
	th.mu.Lock()
	b := th.addrLevel(addr, now)
	th.mu.Unlock()
	limit := float64(th.limits.AddrMaxFailures)
	var wait time.Duration
	if b != nil && b.level > limit-1 {
		rate := limit / th.limits.AddrWindow.Seconds()
		wait = time.Duration((b.level - (limit - 1)) / rate * float64(time.Second))
	} else if s.DB.Clustered() {
		recent, err := s.DB.RecentEvents(context.Background(), clusterFailures, addr, now, th.limits.AddrWindow)
		if n := len(recent); err == nil && n >= th.limits.AddrMaxFailures {
			wait = recent[n-th.limits.AddrMaxFailures].Add(th.limits.AddrWindow).Sub(now)
		}
	}
	if wait <= 0 {
		return nil
	}
	n := retryAfter(wait)
	return certseal.Errorf(certseal.ERateLimited, "此地址登录失败次数过多，请%d分钟后再试", max(1, (n+59)/60)).WithDetail("retry_after_seconds", n)
}

// clusterFailures names the failed sign-ins among a cluster's events (store.DB.AddEvent).
const clusterFailures = "signin-failed"

// addrFailed counts a failed sign-in from addr (on a cluster, also in etcd for every node).
func (s *Service) addrFailed(addr string) {
	th := s.throttle()
	now := s.Clock.Now()
	if s.DB.Clustered() {
		_ = s.DB.AddEvent(context.Background(), clusterFailures, addr, now, th.limits.AddrWindow) // lost: this node's count still holds
	}
	th.mu.Lock()
	defer th.mu.Unlock()
	b := th.addrLevel(addr, now)
	if b == nil {
		if len(th.addrs) >= maxTrackedAddrs {
			for k := range th.addrs {
				if th.addrLevel(k, now).level == 0 {
					delete(th.addrs, k)
				}
			}
			if len(th.addrs) >= maxTrackedAddrs {
				clear(th.addrs)
			}
		}
		b = &addrFailures{last: now}
		th.addrs[addr] = b
	}
	b.level++
}
