package config

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func TestOutboundAllowTakesNetworksFromFlagsAndEnvironment(t *testing.T) {
	c, err := parse(t, []string{"--dev", "--outbound-allow", "10.20.0.0/16", "--outbound-allow", "127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")}
	if len(c.OutboundAllow) != 2 || c.OutboundAllow[0] != want[0] || c.OutboundAllow[1] != want[1] {
		t.Errorf("from flags: %v", c.OutboundAllow)
	}
	c, err = parse(t, []string{"--dev"}, map[string]string{"COUNTYCLOUD_OUTBOUND_ALLOW": "10.20.0.0/16, fd00:20::/32"})
	if err != nil || len(c.OutboundAllow) != 2 || c.OutboundAllow[1] != netip.MustParsePrefix("fd00:20::/32") {
		t.Errorf("from the environment: %v %v", c.OutboundAllow, err)
	}
	if c, err := parse(t, []string{"--dev"}, nil); err != nil || len(c.OutboundAllow) != 0 {
		t.Errorf("by default: %v %v", c.OutboundAllow, err)
	}
	_, err = parse(t, []string{"--dev"}, map[string]string{"COUNTYCLOUD_OUTBOUND_ALLOW": "10.20.1.0/16"})
	if err == nil || !strings.Contains(err.Error(), "COUNTYCLOUD_OUTBOUND_ALLOW") || !strings.Contains(err.Error(), "10.20.0.0/16") {
		t.Errorf("a network with host bits from the environment: %v", err)
	}
	var s Server
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	s.RegisterFlags(fs)
	if err := fs.Parse([]string{"--outbound-allow", "intranet"}); err == nil || !strings.Contains(err.Error(), "outbound-allow") {
		t.Errorf("a name as a network: %v", err)
	}
}
