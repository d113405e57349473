package server_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"certseal/certs/push"
	"certseal/cmd/app/testenv"
)

// fakeResolver answers host names from a table; a name with several answers gives them one
// after another (the last one again and again), like a DNS server that rebinds.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][]string
	calls   map[string]int
}

func (f *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	list, ok := f.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := f.calls[host]
	f.calls[host]++
	return []netip.Addr{netip.MustParseAddr(list[min(n, len(list)-1)])}, nil
}

func newFakeResolver(answers map[string][]string) *fakeResolver {
	return &fakeResolver{answers: answers, calls: map[string]int{}}
}

// TestPushURLRefused: by default a subscription may not point at loopback, link-local, private,
// shared, reserved, unspecified or multicast addresses, given as literals or as names that
// resolve to them; the administrator's allow setting opens ranges and hosts.
func TestPushURLRefused(t *testing.T) {
	e := testenv.Start(t)
	e.App.Push.Resolver = newFakeResolver(map[string][]string{
		"intranet.test": {"10.20.3.4"}, "public.test": {"93.184.216.34"}, "metadata.test": {"169.254.169.254"},
	})
	ok := e.Must(201, "POST", "/api/v1/subscriptions", "scj", map[string]any{"url": "https://public.test/hook"}).JSON(t)["id"].(string)
	before := e.Snapshot()
	for _, c := range []struct{ name, url, why string }{
		{"admin API on loopback", "http://127.0.0.1:8080/api/v1/admin/backup", "本机回环地址"},
		{"loopback, other address", "http://127.0.0.2:9/x", "本机回环地址"},
		{"IPv6 loopback", "http://[::1]:8080/x", "本机回环地址"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]/x", "本机回环地址"},
		{"localhost", "http://localhost:8080/x", "本机回环地址"},
		{"cloud metadata", "http://169.254.169.254/latest/meta-data/", "链路本地地址"},
		{"IPv6 link-local", "http://[fe80::1]/x", "链路本地地址"},
		{"10/8", "http://10.1.2.3/hook", "内网地址"},
		{"172.16/12", "http://172.20.0.1/hook", "内网地址"},
		{"192.168/16", "http://192.168.1.1/hook", "内网地址"},
		{"fc00::/7", "http://[fd12::1]/hook", "内网地址"},
		{"100.64/10", "http://100.64.0.1/hook", "运营商共享地址"},
		{"unspecified", "http://0.0.0.0:8080/x", "未指定地址"},
		{"multicast", "http://224.0.0.1/x", "组播或广播地址"},
		{"name resolving to 10/8", "https://intranet.test/hook", "内网地址"},
		{"name resolving to link-local", "http://metadata.test/", "链路本地地址"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do("POST", "/api/v1/subscriptions", "scj", map[string]any{"url": c.url})
			if r.Status != 400 || r.ErrorCode() != "invalid_argument" || !strings.Contains(string(r.Body), c.why) || !strings.Contains(string(r.Body), "CERTSEAL_PUSH_ALLOW") {
				t.Fatalf("%s: %d %s", c.url, r.Status, r.Body)
			}
			if r := e.Do("PATCH", "/api/v1/subscriptions/"+ok, "scj", map[string]any{"url": c.url}); r.Status != 400 {
				t.Fatalf("PATCH to %s: %d %s", c.url, r.Status, r.Body)
			}
			if !bytes.Equal(before, e.Snapshot()) {
				t.Fatal("a refused subscription changed the database")
			}
		})
	}

	// what the administrator allows
	for _, c := range []struct {
		allow []string
		url   string
		want  int
	}{
		{[]string{"10.0.0.0/8"}, "http://10.1.2.3/hook", 201},
		{[]string{"10.0.0.0/8"}, "https://intranet.test/hook", 201},
		{[]string{"10.0.0.0/8"}, "http://192.168.1.1/hook", 400},
		{[]string{"10.20.3.4"}, "https://intranet.test/hook", 201},
		{[]string{"intranet.test"}, "https://intranet.test/hook", 201},
		{[]string{"*.test"}, "https://intranet.test/hook", 201},
		{[]string{"*.gov.cn, 192.168.0.0/16"}, "http://192.168.1.1/hook", 201},
		{[]string{"127.0.0.1"}, "http://127.0.0.1:9/hook", 201},
		{[]string{"127.0.0.0/8"}, "http://127.0.0.1:9/hook", 400}, // the service's own addresses: only one by one
		{[]string{"::1"}, "http://[::1]:9/hook", 201},
		{[]string{"0.0.0.0/0"}, "http://0.0.0.0:9/hook", 400}, // never
		{[]string{"0.0.0.0/0"}, "http://224.0.0.1/hook", 400},
	} {
		if err := e.App.Push.SetAllow(c.allow); err != nil {
			t.Fatal(err)
		}
		if r := e.Do("POST", "/api/v1/subscriptions", "scj", map[string]any{"url": c.url}); r.Status != c.want {
			t.Errorf("allowing %v, %s: %d, want %d\n%s", c.allow, c.url, r.Status, c.want, r.Body)
		}
	}

	// this machine's own address (not loopback) is opened by a single address only
	own := ownAddress(t)
	wide := netip.PrefixFrom(own, own.BitLen()-8).Masked().String()
	u := "http://" + net.JoinHostPort(own.String(), "9") + "/hook"
	for _, c := range []struct {
		allow string
		want  int
	}{{"", 400}, {wide, 400}, {own.String(), 201}} {
		if err := e.App.Push.SetAllow([]string{c.allow}); err != nil {
			t.Fatal(err)
		}
		if r := e.Do("POST", "/api/v1/subscriptions", "scj", map[string]any{"url": u}); r.Status != c.want {
			t.Errorf("allowing %q, own address %s: %d, want %d\n%s", c.allow, u, r.Status, c.want, r.Body)
		}
	}
}

// ownAddress returns an address of this machine's that is neither loopback nor link-local.
func ownAddress(t *testing.T) netip.Addr {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() {
				return ip.Unmap()
			}
		}
	}
	t.Skip("this machine has no address but loopback")
	return netip.Addr{}
}

// TestPushAllowSetting parses the administrator's allow setting.
func TestPushAllowSetting(t *testing.T) {
	cidrs, hosts, err := push.ParseAllow([]string{"10.20.0.0/16, 192.168.3.4 fd00::/8", "hook.example.gov.cn,*.gyzw.gov.cn", "::ffff:10.0.0.0/104"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(cidrs) != "[10.20.0.0/16 192.168.3.4/32 fd00::/8 10.0.0.0/8]" || fmt.Sprint(hosts) != "[hook.example.gov.cn *.gyzw.gov.cn]" {
		t.Errorf("parsed %v %v", cidrs, hosts)
	}
	for _, bad := range []string{"10.0.0.0/33", "hook_1.gov.cn", "a.*.gov.cn", "http://10.0.0.1", "-bad.gov.cn", "*"} {
		if _, _, err := push.ParseAllow([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestPushDNSRebinding: a name that resolved to a public address when the subscription was made
// and resolves to 127.0.0.1 when the webhook is sent is refused on connection; the receiver
// listening there never hears from us, and the log says only that the address is not allowed.
func TestPushDNSRebinding(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	rc := newReceiver(t)
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	e.App.Push.Resolver = newFakeResolver(map[string][]string{"rebind.test": {"93.184.216.34", "127.0.0.1"}})
	var sub struct{ ID string }
	e.Must(201, "POST", "/api/v1/subscriptions", "admin", map[string]any{"url": "http://rebind.test:" + port + "/hook"}).Decode(t, &sub)
	seal := sealOf(t, e, "lizhou-clerk")
	issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	var ds []push.Delivery
	waitFor(t, "two attempts", func() bool {
		ds = deliveries(t, e, "admin", sub.ID)
		return len(ds) == 1 && len(ds[0].Attempts) >= 2
	})
	for _, a := range ds[0].Attempts {
		if a.StatusCode != 0 || a.Error != "目标地址不允许（本机、内网或保留地址，未经管理员放行）" {
			t.Errorf("attempt %+v", a)
		}
	}
	rc.mu.Lock()
	calls := rc.calls
	rc.mu.Unlock()
	if calls != 0 || ds[0].Status != push.DeliveryPending {
		t.Fatalf("the receiver on 127.0.0.1 got %d requests; delivery %s", calls, ds[0].Status)
	}
}

// TestPushLogIsGeneric: the delivery log tells a subscriber what kind of failure it was, never
// the network error that would tell an open port from a closed one.
func TestPushLogIsGeneric(t *testing.T) {
	e := testenv.Start(t)
	fastRetries(e)
	allowLoopback(t, e)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens there now: the connection is refused
	var sub struct{ ID string }
	e.Must(201, "POST", "/api/v1/subscriptions", "admin", map[string]any{"url": "http://" + closed + "/hook"}).Decode(t, &sub)
	seal := sealOf(t, e, "lizhou-clerk")
	issue(t, e, "lizhou-clerk", issueRequest(foodFixtures(t)[0], seal, "SC00000001"))
	var ds []push.Delivery
	waitFor(t, "an attempt", func() bool {
		ds = deliveries(t, e, "admin", sub.ID)
		return len(ds) == 1 && len(ds[0].Attempts) >= 1
	})
	if a := ds[0].Attempts[0]; a.Error != "连接失败" {
		t.Errorf("attempt %+v, want the error 连接失败", a)
	}
	body := e.Must(200, "GET", "/api/v1/subscriptions/"+sub.ID+"/deliveries", "admin", nil).Body
	for _, leak := range []string{"refused", "dial", "tcp", closed} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("the delivery log shows %q: %s", leak, body)
		}
	}
}
