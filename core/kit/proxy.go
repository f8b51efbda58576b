package kit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// maxForwardedHops bounds how many X-Forwarded-For entries are read.
const maxForwardedHops = 16

// TrustProxies has next see, as the address a request came from, the
// client's that a trusted proxy (one in trusted) names in
// X-Forwarded-For, instead of the proxy's own. With no trusted proxy,
// X-Forwarded-For counts for nothing: anyone may send one, and it would
// choose what the rate limits and the audit trail see.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if client := ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted); client != "" {
			r2 := *r
			r2.RemoteAddr = net.JoinHostPort(client, "0")
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddr is the address of the client of a request that came from
// remote (host:port) with the X-Forwarded-For values forwarded: walking
// from the connection's peer back along the header, the first address
// that is not a trusted proxy's. A hop that is not an address stops the
// walk at the last trusted one, which then counts as the client. "" if
// remote is not an address.
func ClientAddr(remote string, forwarded []string, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	addr = addr.Unmap().WithZone("")
	hops := strings.Split(strings.Join(forwarded, ","), ",")
	for i := len(hops) - 1; i >= 0 && i >= len(hops)-maxForwardedHops; i-- {
		if !isTrusted(addr, trusted) {
			break
		}
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil || hop.Zone() != "" {
			break
		}
		addr = hop.Unmap()
	}
	return addr.String()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
