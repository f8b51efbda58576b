package host

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/sdk"
)

var deskRoutes = []sdk.PublicRoute{{Method: "POST", Path: "/letters"}, {Method: "GET", Path: "/letters/{id}"}, {Method: "GET", Path: "/receipts/{number}/status"}}

func TestMatchPublicTakesOnlyWhatTheManifestOpens(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/letters", true},
		{"GET", "/letters/l1", true},
		{"GET", "/receipts/2026-000001/status", true},
		{"GET", "/letters", false},
		{"PUT", "/letters/l1", false},
		{"POST", "/letters/", false},
		{"GET", "/letters/", false},
		{"GET", "/letters/.", false},
		{"GET", "/letters/..", false},
		{"GET", "/letters/l1/", false},
		{"GET", "/letters/a/b", false},
		{"GET", "/receipts//status", false},
		{"GET", "letters/l1", false},
		{"GET", "", false},
		{"GET", "/", false},
		{"get", "/letters/l1", false},
	} {
		if got := matchPublic(deskRoutes, c.method, c.path); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.method, c.path, got, c.want)
		}
	}
	if matchPublic(nil, "POST", "/letters") {
		t.Error("a manifest without public routes opens one")
	}
}

func TestAManifestOpensABoundedNumberOfShortPublicRoutes(t *testing.T) {
	t.Parallel()
	m := sdk.Manifest{ID: "desk", Version: "1.0.0"}
	for range maxPublicRoutes + 1 {
		m.Public = append(m.Public, sdk.PublicRoute{Method: "GET", Path: "/" + strings.Repeat("a", maxPublicPath)})
	}
	err := checkManifestLimits(m)
	if err == nil || !strings.Contains(err.Error(), "33 public routes") || !strings.Contains(err.Error(), "path is 257 bytes") {
		t.Fatalf("checkManifestLimits = %v", err)
	}
	m.Public = m.Public[:1]
	m.Public[0].Path = m.Public[0].Path[:maxPublicPath]
	if err := checkManifestLimits(m); err != nil {
		t.Fatalf("within the limits: %v", err)
	}
}

// FuzzMatchPublic matches arbitrary requests against arbitrary valid
// routes: a match means the same method and as many segments, each
// equal or a {name} taking a plain segment.
func FuzzMatchPublic(f *testing.F) {
	f.Add("GET", "/letters/{id}", "GET", "/letters/l1")
	f.Add("POST", "/a/{b}/c", "POST", "/a/../c")
	f.Add("GET", "/a", "GET", "/a/")
	f.Fuzz(func(t *testing.T, routeMethod, routePath, method, path string) {
		m := sdk.Manifest{ID: "desk", Name: "x", Vendor: "v", Version: "1.0.0", Protocol: sdk.ProtocolVersion, Public: []sdk.PublicRoute{{Method: routeMethod, Path: routePath}}}
		if m.Validate() != nil {
			// The host matches only manifests that passed; an invalid
			// route must still never match what it does not name.
			if matchPublic(m.Public, method, path) && (method != routeMethod || !strings.HasPrefix(path, "/")) {
				t.Fatalf("invalid route %s %q matched %s %q", routeMethod, routePath, method, path)
			}
			return
		}
		if !matchPublic(m.Public, method, path) {
			return
		}
		pattern, segments := strings.Split(routePath[1:], "/"), strings.Split(strings.TrimPrefix(path, "/"), "/")
		if method != routeMethod || !strings.HasPrefix(path, "/") || len(pattern) != len(segments) {
			t.Fatalf("%s %q matched %s %q", method, path, routeMethod, routePath)
		}
		for i, p := range pattern {
			if strings.HasPrefix(p, "{") {
				if s := segments[i]; s == "" || s == "." || s == ".." {
					t.Fatalf("{name} took %q in %q", s, path)
				}
			} else if p != segments[i] {
				t.Fatalf("%q matched %q", path, routePath)
			}
		}
	})
}

// One caller has one public rate: an IPv6 network of a subscriber (/64)
// shares one however many of its addresses it calls from, an IPv4
// address one however it is written; other networks have their own.
func TestOneSubscribersAddressesShareOnePublicRate(t *testing.T) {
	t.Parallel()
	l := &addressLimits{perSecond: 0.001, burst: 2, limiters: map[string]*rate.Limiter{}}
	for _, c := range []struct {
		address string
		allowed bool
	}{
		{"2001:db8:1:2::1", true}, {"2001:db8:1:2::2", true}, {"2001:db8:1:2:ffff:ffff:ffff:ffff", false}, {"2001:db8:1:2::1%eth0", false},
		{"2001:db8:1:3::1", true},
		{"203.0.113.9", true}, {"::ffff:203.0.113.9", true}, {"203.0.113.9", false}, {"203.0.113.10", true},
	} {
		if err := l.allow(c.address); (err == nil) != c.allowed {
			t.Errorf("%s: %v, want allowed %v", c.address, err, c.allowed)
		}
	}
}

// TestAPublicRequestsEntryIsWrittenOnce: a submission that commits writes
// the request's entry, which the request then leaves alone; one that
// fails leaves it to the request; once the request is answered, a late
// submission writes none.
func TestAPublicRequestsEntryIsWrittenOnce(t *testing.T) {
	t.Parallel()
	carried := func(tr *publicTrail, fail bool) (got bool) {
		_ = tr.carry(func(e *audit.Entry) error {
			got = e != nil
			if fail {
				return errors.New("rolled back")
			}
			return nil
		})
		return got
	}
	committed := &publicTrail{}
	if !carried(committed, false) || carried(committed, false) || committed.settle() {
		t.Error("a committed submission's entry: carried again, or left to the request")
	}
	failed := &publicTrail{}
	if !carried(failed, true) || !carried(failed, false) {
		t.Error("after a failed submission, the next did not carry the entry")
	}
	answered := &publicTrail{}
	if !answered.settle() || carried(answered, false) {
		t.Error("an answered request's entry: not left to it, or carried after")
	}
	var none *publicTrail
	if carried(none, false) {
		t.Error("a request that is not public carried an entry")
	}
}
