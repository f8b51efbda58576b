package kit

import (
	"net/netip"
	"testing"
)

func TestClientAddrTrustsForwardedForOnlyFromATrustedProxy(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, c := range []struct {
		remote    string
		forwarded []string
		want      string
	}{
		{"203.0.113.9:5555", nil, "203.0.113.9"},
		// An untrusted peer's header is ignored.
		{"203.0.113.9:5555", []string{"198.51.100.1"}, "203.0.113.9"},
		{"10.1.2.3:5555", []string{"198.51.100.1"}, "198.51.100.1"},
		// Behind two proxies; what the client wrote in front is not read.
		{"10.1.2.3:5555", []string{"1.2.3.4, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"10.1.2.3:5555", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		// A hop that is not an address stops at the last trusted one.
		{"10.1.2.3:5555", []string{"198.51.100.1, garbage"}, "10.1.2.3"},
		{"10.1.2.3:5555", []string{""}, "10.1.2.3"},
		{"[fd00::1]:5555", []string{"2001:db8::7"}, "2001:db8::7"},
		{"[::ffff:10.1.2.3]:5555", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
		{"10.1.2.3:5555", []string{"fe80::1%eth0"}, "10.1.2.3"},
		{"not an address", []string{"198.51.100.1"}, ""},
	} {
		if got := ClientAddr(c.remote, c.forwarded, trusted); got != c.want {
			t.Errorf("ClientAddr(%q, %q) = %q, want %q", c.remote, c.forwarded, got, c.want)
		}
	}
	if got := ClientAddr("10.1.2.3:5555", []string{"198.51.100.1"}, nil); got != "10.1.2.3" {
		t.Errorf("no trusted proxy: %q", got)
	}
}

func FuzzClientAddr(f *testing.F) {
	f.Add("10.1.2.3:5555", "1.2.3.4, 198.51.100.1")
	f.Add("[fd00::1]:1", "2001:db8::7,,x")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	f.Fuzz(func(t *testing.T, remote, forwarded string) {
		got := ClientAddr(remote, []string{forwarded}, trusted)
		if got == "" {
			return
		}
		addr, err := netip.ParseAddr(got)
		if err != nil || addr.Zone() != "" || addr.Is4In6() {
			t.Fatalf("ClientAddr(%q, %q) = %q, not a plain address", remote, forwarded, got)
		}
		// Without a trusted proxy the header never counts.
		if peer := ClientAddr(remote, nil, nil); ClientAddr(remote, []string{forwarded}, nil) != peer {
			t.Fatalf("the header counted from an untrusted peer %q", remote)
		}
	})
}
