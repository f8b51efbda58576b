package egress_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/egress"
)

func TestEveryNonPublicAddressIsRefusedByDefault(t *testing.T) {
	policy := egress.NewPolicy()
	for _, a := range []string{
		"127.0.0.1", "127.1.2.3", "0.0.0.0", "0.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.255.255.250", "255.255.255.255", "240.0.0.1",
		"198.18.0.1", "192.0.0.8",
		"::", "::1", "::127.0.0.1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
		"fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "febf::1", "fec0::1", "ff02::1", "ff05::2",
		"64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::1", "2002:7f00:1::1", "2002:a00:1::", "2001:0:1::1", "100::1",
	} {
		err := policy.Check(netip.MustParseAddr(a))
		if !errors.Is(err, egress.ErrRefused) {
			t.Errorf("%s: %v, want refused", a, err)
		} else if !strings.Contains(err.Error(), egress.AllowFlag) {
			t.Errorf("%s: %q does not say how to allow it", a, err)
		}
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "100.63.255.255", "100.128.0.1", "172.32.0.1", "223.5.5.5", "2400:3200::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"} {
		if err := policy.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s is public: %v", a, err)
		}
	}
}

func TestAnOperatorAllowsNamedNetworksAndNothingElse(t *testing.T) {
	allowed, err := egress.ParseNetworks("10.20.0.0/16, 127.0.0.1 fd00:20::/32")
	if err != nil {
		t.Fatal(err)
	}
	policy := egress.NewPolicy(allowed...)
	for _, a := range []string{"10.20.3.4", "::ffff:10.20.3.4", "127.0.0.1", "fd00:20::5", "64:ff9b::a14:304"} {
		if err := policy.Check(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s is allowed: %v", a, err)
		}
	}
	for _, a := range []string{"10.21.0.1", "127.0.0.2", "fd00:21::1", "169.254.169.254"} {
		if err := policy.Check(netip.MustParseAddr(a)); !errors.Is(err, egress.ErrRefused) {
			t.Errorf("%s: %v, want refused", a, err)
		}
	}
}

func TestAURLHostThatIsARefusedAddressIsRefusedWhenSet(t *testing.T) {
	policy := egress.NewPolicy()
	for _, host := range []string{"127.0.0.1", "[::1]", "::ffff:127.0.0.1", "169.254.169.254", "0.0.0.0", "[fe80::1%25eth0]"} {
		if err := policy.CheckHost(host); !errors.Is(err, egress.ErrRefused) {
			t.Errorf("%s: %v, want refused", host, err)
		}
	}
	for _, host := range []string{"sms.example.gov.cn", "localhost", "8.8.8.8", "[2400:3200::1]"} {
		if err := policy.CheckHost(host); err != nil {
			t.Errorf("%s: %v (a name is checked when it is dialled)", host, err)
		}
	}
}

// TestTheDialRefusesWhatANameResolvesTo connects for real: a loopback
// server is out of reach by address and by a name resolving to it, and
// within reach once its network is allowed.
func TestTheDialRefusesWhatANameResolvesTo(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "internal secret") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	get := func(policy egress.Policy, url string) error {
		client := &http.Client{Transport: policy.Transport(5 * time.Second), Timeout: 10 * time.Second}
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	for _, url := range []string{srv.URL, "http://localhost:" + port + "/internal"} {
		if err := get(egress.NewPolicy(), url); !errors.Is(err, egress.ErrRefused) {
			t.Errorf("%s: %v, want refused", url, err)
		}
	}
	loopback, _ := egress.ParseNetworks("127.0.0.0/8")
	if err := get(egress.NewPolicy(loopback...), srv.URL); err != nil {
		t.Errorf("loopback allowed: %v", err)
	}
	dialer := egress.NewPolicy().Dialer(time.Second)
	if _, err := dialer.DialContext(context.Background(), "tcp", srv.Listener.Addr().String()); !errors.Is(err, egress.ErrRefused) {
		t.Errorf("dialer: %v, want refused", err)
	}
}

func TestNetworksAreParsedStrictly(t *testing.T) {
	got, err := egress.ParseNetworks(" 10.0.0.0/8,192.168.1.7 ::ffff:172.16.0.0/108\tfd00::/8 ")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "172.16.0.0/12", "fd00::/8"}
	if len(got) != len(want) {
		t.Fatalf("%v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %s, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.0.0.1/8", "10.0.0.0/33", "example.com", "fe80::1%eth0", "10.0.0.0/", "/8", "10.0.0"} {
		if _, err := egress.ParseNetworks(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, err := egress.ParseNetworks("10.0.0.1/8"); err == nil || !strings.Contains(err.Error(), "10.0.0.0/8") {
		t.Errorf("a prefix with host bits: %v, want a suggestion", err)
	}
}

func FuzzParseNetworks(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "127.0.0.1", "::ffff:10.0.0.0/104", "fd00::/8, 192.168.0.0/16", "10.0.0.1/8", "fe80::1%eth0", "", " , ", "0.0.0.0/0", "::/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		networks, err := egress.ParseNetworks(s)
		if err != nil {
			return
		}
		for _, p := range networks {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" || p.Addr().Is4In6() {
				t.Fatalf("%q gave %v", s, p)
			}
			again, err := egress.ParseNetworks(p.String())
			if err != nil || len(again) != 1 || again[0] != p {
				t.Fatalf("%s does not read back: %v %v", p, again, err)
			}
		}
	})
}

func FuzzControlAddress(f *testing.F) {
	for _, s := range []string{"127.0.0.1:80", "[::1]:443", "[::ffff:127.0.0.1]:80", "[fe80::1%eth0]:80", "8.8.8.8:53", "localhost:80", ":80", "[64:ff9b::7f00:1]:80"} {
		f.Add(s)
	}
	policy := egress.NewPolicy()
	f.Fuzz(func(t *testing.T, address string) {
		err := policy.Control("tcp", address, nil)
		if err != nil {
			if !errors.Is(err, egress.ErrRefused) {
				t.Fatalf("%q: %v is not a refusal", address, err)
			}
			return
		}
		ap, perr := netip.ParseAddrPort(address)
		if perr != nil {
			t.Fatalf("%q passed without being an address", address)
		}
		a := ap.Addr().WithZone("").Unmap()
		if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
			t.Fatalf("%q passed", address)
		}
	})
}
