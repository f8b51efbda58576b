package config

import (
	"net/netip"
	"strings"

	"github.com/countycloud/countycloud/core/egress"
)

// networkList is the repeatable --outbound-allow flag.
type networkList struct{ list *[]netip.Prefix }

// Set adds one or more networks, separated by spaces or commas.
func (n networkList) Set(s string) error {
	networks, err := egress.ParseNetworks(s)
	if err != nil {
		return err
	}
	*n.list = append(*n.list, networks...)
	return nil
}

func (n networkList) String() string {
	if n.list == nil {
		return ""
	}
	out := make([]string, len(*n.list))
	for i, p := range *n.list {
		out[i] = p.String()
	}
	return strings.Join(out, ",")
}

func (n networkList) Type() string { return "CIDR" }
