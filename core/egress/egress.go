// Package egress decides where the platform may connect on behalf of a
// county or a module: a county admin sets its SMS gateway's URL, and
// without this a URL naming 127.0.0.1, the database's network or a
// cloud's metadata service would make the platform a proxy into its own
// network (SSRF). The check runs when the connection is made, on the
// address a name resolved to, so a name that resolves to a public
// address when set and to an internal one later (DNS rebinding) gains
// nothing. Connections the operator configures (MySQL, SMTP, S3) do not
// pass through here.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is the error of a destination the policy refuses.
var ErrRefused = errors.New("destination refused")

// AllowFlag is the server flag that allows networks; messages name it so
// that whoever reads a refusal knows who can lift it.
const AllowFlag = "--outbound-allow"

// refusedRange is a range of addresses no county's or module's
// destination is in unless an operator allows it, and why.
type refusedRange struct {
	prefix netip.Prefix
	kind   string
}

// refused are the ranges that are not the public internet: this host,
// the private networks the platform itself lives on, link-local (a
// cloud's metadata service at 169.254.169.254), multicast and the
// reserved blocks. IPv4-mapped IPv6 addresses are checked as the IPv4
// address they are.
var refused = func() []refusedRange {
	table := []struct{ cidr, kind string }{
		{"0.0.0.0/8", "an unspecified (this-network) address"},
		{"10.0.0.0/8", "a private address"},
		{"100.64.0.0/10", "a shared (carrier-grade NAT) address"},
		{"127.0.0.0/8", "a loopback address"},
		{"169.254.0.0/16", "a link-local address"},
		{"172.16.0.0/12", "a private address"},
		{"192.0.0.0/24", "a reserved (IETF protocol) address"},
		{"192.0.2.0/24", "a documentation address"},
		{"192.168.0.0/16", "a private address"},
		{"198.18.0.0/15", "a benchmarking address"},
		{"198.51.100.0/24", "a documentation address"},
		{"203.0.113.0/24", "a documentation address"},
		{"224.0.0.0/4", "a multicast address"},
		{"240.0.0.0/4", "a reserved or broadcast address"},
		// ::/96 holds :: and ::1 and the deprecated IPv4-compatible
		// addresses (::127.0.0.1), which some stacks still route.
		{"::/96", "an unspecified, loopback or IPv4-compatible address"},
		{"64:ff9b:1::/48", "a local-use NAT64 address"},
		{"100::/64", "a discard-only address"},
		{"2001::/32", "a Teredo tunnel address"},
		{"2001:db8::/32", "a documentation address"},
		{"fc00::/7", "a private (unique local) address"},
		{"fe80::/10", "a link-local address"},
		{"fec0::/10", "a site-local address"},
		{"ff00::/8", "a multicast address"},
	}
	out := make([]refusedRange, len(table))
	for i, r := range table {
		out[i] = refusedRange{prefix: netip.MustParsePrefix(r.cidr), kind: r.kind}
	}
	return out
}()

// Translated IPv6 ranges that carry an IPv4 address inside: the policy
// judges the address inside, or NAT64 (and 6to4) would reach 127.0.0.1
// through a gateway.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Policy is which destinations may be reached: the public internet, and
// the networks an operator allowed.
type Policy struct {
	allowed []netip.Prefix
}

// NewPolicy returns the policy that refuses every non-public address
// except those in allowed.
func NewPolicy(allowed ...netip.Prefix) Policy {
	return Policy{allowed: append([]netip.Prefix(nil), allowed...)}
}

// Allowed are the networks the operator allowed.
func (p Policy) Allowed() []netip.Prefix { return append([]netip.Prefix(nil), p.allowed...) }

// Check says why addr may not be reached, or nil if it may.
func (p Policy) Check(addr netip.Addr) error {
	addr = addr.WithZone("").Unmap()
	if !addr.IsValid() {
		return fmt.Errorf("%w: no address", ErrRefused)
	}
	for _, a := range p.allowed {
		if a.Contains(addr) {
			return nil
		}
	}
	if inner, ok := embeddedIPv4(addr); ok {
		if err := p.Check(inner); err != nil {
			return fmt.Errorf("%s carries %s inside: %w", addr, inner, err)
		}
		return nil
	}
	for _, r := range refused {
		if r.prefix.Contains(addr) {
			return fmt.Errorf("%w: %s is %s; the operator can allow its network with %s", ErrRefused, addr, r.kind, AllowFlag)
		}
	}
	return nil
}

// embeddedIPv4 is the IPv4 address a NAT64 or 6to4 address stands for.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case !addr.Is6():
		return netip.Addr{}, false
	case nat64.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// CheckHost refuses a URL's host when it is an address literal the
// policy refuses, so that an admin hears at once that such a URL cannot
// work. A name passes: only the connection knows what it resolves to.
func (p Policy) CheckHost(host string) error {
	addr, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if err != nil {
		return nil
	}
	return p.Check(addr)
}

// Control is a net.Dialer's Control: it sees the address the dialer is
// about to connect to, after name resolution, and refuses it unless the
// policy allows it.
func (p Policy) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s address %q is not an IP address and port", ErrRefused, network, address)
	}
	return p.Check(ap.Addr())
}

// Dialer is a dialer that connects only where the policy allows.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, Control: p.Control}
}

// Transport is an HTTP transport that connects only where the policy
// allows. It uses no proxy: a proxy would make the connection in our
// stead, to wherever the URL says, beyond this check.
func (p Policy) Transport(dialTimeout time.Duration) *http.Transport {
	dialer := p.Dialer(dialTimeout)
	return &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
}
