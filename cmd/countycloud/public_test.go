package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/classified"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/registry"
)

// publicClient calls the platform from local, a loopback address of the
// test's choice, so that the platform sees one caller as its trusted
// proxy and another as a client of its own.
func publicClient(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

func publicCall(t *testing.T, c *http.Client, method, url, forwardedFor string, body []byte) apiResult {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestAModulesPublicRoutesServeAnyoneWithinTheirBounds calls a module's
// public routes without a token, through a trusted proxy that names each
// caller's address: what the manifest opens is served to an anonymous
// caller with its address, at each address's own rate, with a small body
// and nothing classified, audited; nothing else is reachable under the
// prefix, in a county without the module or one suspended.
func TestAModulesPublicRoutesServeAnyoneWithinTheirBounds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "desk-1.0.0"
	sum := buildPlugin(t, filepath.Join("testdata", "publicplugin"), dir, file)
	db, _, url, env := twoCounties(t, map[string]string{"clerk1": auth.RoleClerk}, func(c *config.Server) {
		c.PluginDir, c.PublicRate, c.PublicBodyLimit = dir, 1, 1024
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
	})
	operator := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, env, "plugin", "register", file, "--sha256", sum)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}, "plugin", "enable", "desk")
	clerk := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")["clerk1"]
	proxy, direct := publicClient("127.0.0.2"), publicClient("127.0.0.1")
	pub := url + "/v1/public/gd.shaoguan.wengyuan/modules/desk"
	letter := []byte(`{"text":"路灯坏了"}`)

	// A letter left through the proxy: the module sees an anonymous
	// caller at the client's address.
	r := publicCall(t, proxy, "POST", pub+"/letters", "198.51.100.1", letter)
	want(t, "leave a letter", r, 200, "")
	var left struct {
		ID     string
		Caller struct{ Kind, Login, Address string }
	}
	if err := json.Unmarshal(r.body, &left); err != nil || left.Caller.Kind != "anonymous" || left.Caller.Login != "anonymous" || left.Caller.Address != "198.51.100.1" {
		t.Fatalf("left %s (%v)", r.body, err)
	}
	if r := publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, "198.51.100.2", nil); r.status != 200 || !strings.Contains(string(r.body), "路灯坏了") {
		t.Errorf("read it back: %d %s", r.status, r.body)
	}
	// Staff read the list through the module's own prefix, with a token.
	if r := call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/modules/desk/letters", clerk, nil); r.status != 200 || !strings.Contains(string(r.body), left.ID) {
		t.Errorf("the clerk lists the letters: %d %s", r.status, r.body)
	}

	// Nothing but the manifest's public routes, in a county that enabled
	// the module, is reachable, and all alike.
	for i, c := range []struct{ what, path string }{
		{"a route the manifest does not open", pub + "/letters"},
		{"one more segment", pub + "/letters/" + left.ID + "/x"},
		{"an empty segment for {id}", pub + "/letters/"},
		{"a county without the module", url + "/v1/public/gd.shaoguan.lechang/modules/desk/letters/" + left.ID},
		{"a county that does not exist", url + "/v1/public/gd.shaoguan.nowhere/modules/desk/letters/" + left.ID},
		{"a module that is not registered", url + "/v1/public/gd.shaoguan.wengyuan/modules/nothing/letters/" + left.ID},
		{"an encoded slash, which makes another path", pub + "/letters/a%2Fb"},
	} {
		want(t, c.what, publicCall(t, proxy, "GET", c.path, fmt.Sprintf("198.51.101.%d", i), nil), 404, host.CodePublicRouteNotFound)
	}
	want(t, "a method the manifest does not open", publicCall(t, proxy, "PUT", pub+"/letters/"+left.ID, "198.51.100.31", letter), 404, host.CodePublicRouteNotFound)
	want(t, "a platform route under the prefix", publicCall(t, proxy, "GET", url+"/v1/public/gd.shaoguan.wengyuan/org/units", "198.51.100.32", nil), 404, errs.CodeNotFound)

	// Each address has its rate: 1 a second in bursts of 2.
	for i := range 2 {
		want(t, fmt.Sprintf("request %d of an address", i+1), publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, "198.51.100.4", nil), 200, "")
	}
	r = publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, "198.51.100.4", nil)
	want(t, "the third at once", r, 429, auth.CodeRateLimited)
	if r.header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After on %v", r.header)
	}
	want(t, "another address meanwhile", publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, "198.51.100.5", nil), 200, "")

	// Bodies: small, JSON, nothing classified.
	big := []byte(`{"text":"` + strings.Repeat("长", 400) + `"}`)
	want(t, "a body over the public limit", publicCall(t, proxy, "POST", pub+"/letters", "198.51.100.6", big), 413, errs.CodeBodyTooLarge)
	want(t, "a classified letter", publicCall(t, proxy, "POST", pub+"/letters", "198.51.100.7", []byte(`{"text":"【机密】名单"}`)), 403, classified.CodeRefused)
	want(t, "a body that is not JSON", publicCall(t, proxy, "POST", pub+"/letters", "198.51.100.71", []byte(`{"text":`)), 400, errs.CodeInvalidJSON)
	// The module's answer is held to the rules of any module's answer.
	if r := publicCall(t, proxy, "GET", pub+"/answer-cookie", "198.51.100.72", nil); r.status != 200 || r.header.Get("Set-Cookie") != "" {
		t.Errorf("a module's cookie: %d %v", r.status, r.header)
	}

	// X-Forwarded-For from a peer the platform does not trust counts for
	// nothing: the caller is the peer.
	r = publicCall(t, direct, "POST", pub+"/letters", "198.51.100.8", letter)
	want(t, "a letter sent directly", r, 200, "")
	if err := json.Unmarshal(r.body, &left); err != nil || left.Caller.Address != "127.0.0.1" {
		t.Errorf("the address of a direct caller naming another: %s", r.body)
	}

	// An anonymous caller's requests keep records and audit entries, and
	// act as no account.
	want(t, "audit", publicCall(t, proxy, "POST", pub+"/try/audit", "198.51.100.9", nil), 200, "")
	for _, service := range []string{"notify", "workflow", "file"} {
		r := publicCall(t, proxy, "POST", pub+"/try/"+service, "198.51.100.9"+fmt.Sprint(len(service)), nil)
		if r.status != 403 || !strings.Contains(string(r.body), "denied") || !strings.Contains(string(r.body), "anonymous") {
			t.Errorf("an anonymous request tries %s: %d %s", service, r.status, r.body)
		}
	}

	// The trail: each request that reached the county, by an anonymous
	// actor at its address.
	trail := "`" + registry.SchemaName(db.SchemaPrefix, "gd.shaoguan.wengyuan") + "`.audit_log"
	var entries []struct {
		Source  string  `db:"source"`
		Outcome string  `db:"outcome"`
		Code    *string `db:"code"`
		Kind    string  `db:"actor_kind"`
	}
	if err := db.Server.Select(&entries, "SELECT source, outcome, code, actor_kind FROM "+trail+" WHERE action = ? AND object_id = 'desk' ORDER BY id", host.PublicAuditAction); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		if e.Kind != "anonymous" {
			t.Errorf("entry %+v", e)
		}
		outcome := e.Outcome
		if e.Code != nil {
			outcome += " " + *e.Code
		}
		seen[e.Source] = outcome
	}
	for address, outcome := range map[string]string{
		"198.51.100.1": "ok", "198.51.101.0": "refused " + host.CodePublicRouteNotFound, "198.51.100.6": "refused " + errs.CodeBodyTooLarge,
		"198.51.100.7": "refused " + classified.CodeRefused, "127.0.0.1": "ok",
	} {
		if seen[address] != outcome {
			t.Errorf("the trail of %s: %q, want %q (all: %v)", address, seen[address], outcome, seen)
		}
	}
	var anonymousAudit int
	if err := db.Server.Get(&anonymousAudit, "SELECT COUNT(*) FROM "+trail+" WHERE action = 'desk.letter.read' AND actor_kind = 'anonymous'"); err != nil || anonymousAudit != 1 {
		t.Errorf("the module's own entry for an anonymous caller: %d (%v)", anonymousAudit, err)
	}

	// A suspended county serves nobody once the registry's change reaches
	// the data plane, within the locator's interval. A request under way
	// as it does may be refused halfway (its module's call to the host
	// refused), which is not yet the answer a suspended county gives.
	mustCLI(t, env, "tenant", "update", "gd.shaoguan.wengyuan", "--status", "suspended")
	refused := publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, "198.51.102.0", nil)
	for try, deadline := 1, time.Now().Add(10*registry.LocatorInterval); refused.status != 404 && time.Now().Before(deadline); try++ {
		time.Sleep(registry.LocatorInterval / 10)
		// Each try from an address of its own, which its rate does not refuse.
		refused = publicCall(t, proxy, "GET", pub+"/letters/"+left.ID, fmt.Sprintf("198.51.102.%d", try), nil)
	}
	want(t, "a suspended county", refused, 404, host.CodePublicRouteNotFound)
}
