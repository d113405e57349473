package push

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"certseal"
)

// Where webhooks may go. A subscriber chooses the URL, so without a rule an officer could make
// the service call its own administration API or any port on the intranet, and read from the
// delivery log which ports answer. By default webhooks reach public addresses only: loopback,
// link-local, private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10) and other
// reserved ranges, the unspecified address, multicast and the addresses of this machine are
// refused. Receivers on the government intranet are private addresses, so the administrator
// allows them in a setting (CERTSEAL_PUSH_ALLOW, app.Config.PushAllow, Pusher.SetAllow): CIDR
// ranges, single addresses, and host names ("hook.gov.cn", or "*.gov.cn" for every name under
// it) that may resolve to any address. This machine's own addresses are allowed only by a single
// address (127.0.0.1, 10.0.0.5/32) or a host name: allowing 10.0.0.0/8 does not open the
// service's own ports. The unspecified address and multicast are never allowed.
//
// The rule is checked twice: when a subscription is created or its URL changed (a clear error)
// and on every connection, against the address actually dialled after DNS resolution (in the
// dialer's Control function), so a name that resolves to a public address at registration and to
// 127.0.0.1 later (DNS rebinding) still cannot pass. Webhooks do not use an HTTP proxy: a proxy
// would make the connection on our behalf, past this check.

// pushPolicy is the parsed allow setting.
type pushPolicy struct {
	cidrs []netip.Prefix
	hosts []string // lower case; "*.x" matches every name under x
}

// blockedRanges are the ranges refused by default, with the reason a user reads.
var blockedRanges = func() []struct {
	p      netip.Prefix
	reason string
} {
	var out []struct {
		p      netip.Prefix
		reason string
	}
	for _, r := range []struct{ cidr, reason string }{
		{"127.0.0.0/8", "本机回环地址"}, {"::1/128", "本机回环地址"},
		{"169.254.0.0/16", "链路本地地址"}, {"fe80::/10", "链路本地地址"},
		{"10.0.0.0/8", "内网地址"}, {"172.16.0.0/12", "内网地址"}, {"192.168.0.0/16", "内网地址"}, {"fc00::/7", "内网地址"},
		{"100.64.0.0/10", "运营商共享地址"},
		{"0.0.0.0/8", "保留地址"}, {"192.0.0.0/24", "保留地址"}, {"192.0.2.0/24", "保留地址"}, {"198.18.0.0/15", "保留地址"},
		{"198.51.100.0/24", "保留地址"}, {"203.0.113.0/24", "保留地址"}, {"240.0.0.0/4", "保留地址"},
		{"64:ff9b::/96", "保留地址"}, {"64:ff9b:1::/48", "保留地址"}, {"2001:db8::/32", "保留地址"}, {"100::/64", "保留地址"},
	} {
		out = append(out, struct {
			p      netip.Prefix
			reason string
		}{netip.MustParsePrefix(r.cidr), r.reason})
	}
	return out
}()

// ownAddrs are this machine's interface addresses, read once.
var ownAddrs = sync.OnceValue(func() []netip.Addr {
	var out []netip.Addr
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
})

// ParseAllow parses the allow setting of the result push: entries separated by commas or
// white space, each a CIDR range (10.20.0.0/16), a single address (10.20.3.4, fd00::5) or a
// host name (hook.example.gov.cn, or *.example.gov.cn for every name under it). It returns an
// *certseal.Error (EInvalid) naming the first bad entry.
func ParseAllow(entries []string) (cidrs []netip.Prefix, hosts []string, err error) {
	for _, raw := range entries {
		for _, e := range strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
			if p, err := netip.ParsePrefix(e); err == nil {
				cidrs = append(cidrs, netip.PrefixFrom(p.Addr().Unmap(), unmappedBits(p)).Masked())
				continue
			}
			if a, err := netip.ParseAddr(e); err == nil {
				a = a.Unmap()
				cidrs = append(cidrs, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			h := strings.ToLower(strings.TrimSuffix(e, "."))
			if !validHostPattern(h) {
				return nil, nil, certseal.Errorf(certseal.EInvalid, "推送放行设置中的 %q 既不是网段（如 10.20.0.0/16）、地址，也不是主机名（如 hook.example.gov.cn 或 *.example.gov.cn）", e)
			}
			hosts = append(hosts, h)
		}
	}
	return cidrs, hosts, nil
}

// unmappedBits is the prefix length of p once an IPv4-mapped IPv6 prefix is read as IPv4.
func unmappedBits(p netip.Prefix) int {
	if p.Addr().Is4In6() {
		return max(p.Bits()-96, 0)
	}
	return p.Bits()
}

func validHostPattern(h string) bool {
	h = strings.TrimPrefix(h, "*.")
	if h == "" || len(h) > 253 || strings.Contains(h, "*") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// SetAllow replaces the allow setting of the result push (see ParseAllow; nil allows public
// addresses only). Safe while Run runs. It returns an *certseal.Error (EInvalid) for a bad entry
// and then keeps the setting it had.
func (p *Pusher) SetAllow(entries []string) error {
	cidrs, hosts, err := ParseAllow(entries)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.policy = &pushPolicy{cidrs: cidrs, hosts: hosts}
	p.mu.Unlock()
	return nil
}

func (p *Pusher) pushPolicy() *pushPolicy {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.policy == nil {
		return &pushPolicy{}
	}
	return p.policy
}

// hostAllowed reports whether the administrator allowed the host name.
func (pol *pushPolicy) hostAllowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, h := range pol.hosts {
		if h == host || (strings.HasPrefix(h, "*.") && strings.HasSuffix(host, h[1:])) {
			return true
		}
	}
	return false
}

// refusal says why ip may not be reached ("" when it may). hostAllowed is whether the name the
// address was resolved from is allowed.
func (pol *pushPolicy) refusal(ip netip.Addr, hostAllowed bool) string {
	ip = ip.Unmap().WithZone("")
	switch {
	case !ip.IsValid() || ip.IsUnspecified():
		return "未指定地址"
	case ip.IsMulticast() || ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "组播或广播地址"
	}
	if hostAllowed {
		return ""
	}
	reason := ""
	for _, b := range blockedRanges {
		if b.p.Contains(ip) {
			reason = b.reason
			break
		}
	}
	own := ip.IsLoopback()
	for _, a := range ownAddrs() {
		if a.WithZone("") == ip {
			own = true
			if reason == "" {
				reason = "本服务自身的地址"
			}
		}
	}
	for _, c := range pol.cidrs {
		if c.Contains(ip) && (!own || c.IsSingleIP()) {
			return ""
		}
	}
	return reason
}

// Resolver looks up the addresses of a host name; *net.Resolver is one. Tests give the Pusher
// their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

func (p *Pusher) resolver() Resolver {
	if p.Resolver != nil {
		return p.Resolver
	}
	return net.DefaultResolver
}

// errPushRefused is a connection refused by the address rule.
var errPushRefused = errors.New("push: address not allowed")

// checkPushTarget refuses a webhook URL whose host is, or resolves to, an address the rule
// refuses. A name that does not resolve now is accepted: the check on every connection still
// holds.
func (p *Pusher) checkPushTarget(ctx context.Context, u *url.URL) error {
	pol := p.pushPolicy()
	host := u.Hostname()
	refuse := func(reason string) error {
		return certseal.Errorf(certseal.EInvalid, "推送地址 %s 指向%s，不允许推送；推送到政务内网的接收地址，需由系统管理员在推送放行设置（CERTSEAL_PUSH_ALLOW）中放行该网段或主机", host, reason).
			WithDetail("field", "url")
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if r := pol.refusal(ip, false); r != "" {
			return refuse(r)
		}
		return nil
	}
	allowed := pol.hostAllowed(host)
	if lh := strings.ToLower(strings.TrimSuffix(host, ".")); !allowed && (lh == "localhost" || strings.HasSuffix(lh, ".localhost")) {
		return refuse("本机回环地址")
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ips, err := p.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, ip := range ips {
		if r := pol.refusal(ip, allowed); r != "" {
			return refuse(r)
		}
	}
	return nil
}

// dialContext connects to a webhook receiver: it resolves the name itself (with the Pusher's
// Resolver) and dials the addresses one after another; the dialer's Control function checks each
// address as the connection is made, and refuses it before any packet is sent.
func (p *Pusher) dialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	pol := p.pushPolicy()
	allowed := pol.hostAllowed(host)
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips, allowed = []netip.Addr{ip}, false
	} else if ips, err = p.resolver().LookupNetIP(ctx, "ip", host); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || pol.refusal(ap.Addr(), allowed) != "" {
				return errPushRefused
			}
			return nil
		}}
	last := error(errPushRefused) // when the name has no address
	for _, ip := range ips {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return c, nil
		}
		if last = err; ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

// guardedTransport is the webhook transport: no proxy, every connection through dialContext.
func (p *Pusher) guardedTransport() *http.Transport {
	return &http.Transport{
		DialContext:           p.dialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
}

// attemptError is the text the delivery log shows for a failed request: generic, so the log
// never tells which internal ports answer; the full error goes to the service's own log.
func attemptError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, errPushRefused):
		return "目标地址不允许（本机、内网或保留地址，未经管理员放行）"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "超时"
	}
	return "连接失败"
}
