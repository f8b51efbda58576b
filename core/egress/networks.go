package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseNetworks reads the networks an operator allows: CIDR prefixes
// (10.20.0.0/16, fd00:20::/32) or single addresses, separated by commas
// or spaces. A prefix with host bits set (10.20.1.5/16) is refused
// rather than guessed at, and so is a zone: both are usually a typing
// mistake in a setting that opens a network.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, field := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		p, err := parseNetwork(field)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseNetwork(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return p, fmt.Errorf("%q is not a network such as 10.20.0.0/16 or fd00:20::/32", s)
		}
		if p != p.Masked() {
			return p, fmt.Errorf("%q has bits set past its /%d; did you mean %s?", s, p.Bits(), p.Masked())
		}
	} else {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return p, fmt.Errorf("%q is not an IP address or a network such as 10.20.0.0/16", s)
		}
		p = netip.PrefixFrom(addr, addr.BitLen())
	}
	// Addresses are checked unmapped, so an IPv4-mapped network is the
	// IPv4 network it maps.
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}
