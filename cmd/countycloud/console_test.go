package main

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/web"
)

// consolePage is one answer of the console.
type consolePage struct {
	status   int
	location string
	body     string
	csp      string
	session  string
}

// consoleGet asks the platform at base for path with the session cookie
// session ("" for none), not following redirects.
func consoleGet(t testing.TB, base, path, session string, header ...string) consolePage {
	t.Helper()
	req, err := http.NewRequest("GET", base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "cc_session", Value: session})
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return consoleDo(t, req)
}

func consoleDo(t testing.TB, req *http.Request) consolePage {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	p := consolePage{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(b), csp: resp.Header.Get("Content-Security-Policy")}
	for _, c := range resp.Cookies() {
		if c.Name == "cc_session" {
			p.session = c.Value
		}
	}
	return p
}

var consoleCSRF = regexp.MustCompile(`name="csrf" value="([A-Z2-7]{26})"`)

// consoleLogin logs in through the console's form as an operator would.
func consoleLogin(t testing.TB, base, login, password string) consolePage {
	t.Helper()
	form := consoleGet(t, base, "/console/login", "")
	m := consoleCSRF.FindStringSubmatch(form.body)
	if m == nil {
		t.Fatalf("the login page has no check code: %d\n%s", form.status, form.body)
	}
	body := url.Values{"csrf": {m[1]}, "login": {login}, "password": {password}}.Encode()
	req, err := http.NewRequest("POST", base+"/console/login", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: "cc_csrf", Value: m[1]})
	return consoleDo(t, req)
}

// TestTheConsoleIsTheProvincesOperatorsOnly: the platform serves the
// console behind the API's guard, and a county's accounts, whatever their
// roles, and anyone without a session are kept out of the provincial
// overview.
func TestTheConsoleIsTheProvincesOperatorsOnly(t *testing.T) {
	t.Parallel()
	db, _, base, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	county := loginAs(t, db, base, op, "gd.shaoguan.wengyuan")
	r := call(t, "POST", base+"/v1/operators", op, auth.OperatorInput{Login: "zhang.wei", Name: "张伟"})
	want(t, "add an operator", r, 201, "")
	handedOut := decode[auth.IssuedCredential](t, r).Password

	// A handed-out password logs in, but opens nothing until it is changed.
	p := consoleLogin(t, base, "zhang.wei", handedOut)
	if p.status != http.StatusSeeOther || p.session == "" {
		t.Fatalf("login with a handed-out password: %d %s", p.status, p.body)
	}
	if p := consoleGet(t, base, "/console/rollout", p.session); p.status != 403 || !strings.Contains(p.body, "countycloud login") {
		t.Errorf("a password to change first: %d\n%s", p.status, p.body)
	}
	first := decode[auth.Tokens](t, call(t, "POST", base+"/v1/auth/login", "", auth.Credentials{Login: "zhang.wei", Password: handedOut}))
	want(t, "change the password", call(t, "POST", base+"/v1/auth/password", first.AccessToken, auth.PasswordChange{Current: handedOut, New: "Shaoguan-2026#ops"}), 200, "")

	p = consoleLogin(t, base, "zhang.wei", "Shaoguan-2026#ops")
	if p.status != http.StatusSeeOther || p.location != "/console/rollout" || p.session == "" {
		t.Fatalf("the operator's login: %d to %q\n%s", p.status, p.location, p.body)
	}
	operator := p.session
	p = consoleGet(t, base, "/console/rollout", operator)
	if p.status != 200 || !strings.Contains(p.body, "全省推广概览") || !strings.Contains(p.body, `data-county="gd.shaoguan.wengyuan"`) || p.csp != web.ContentSecurityPolicy {
		t.Errorf("the operator's overview: %d %q\n%s", p.status, p.csp, p.body)
	}

	for login, token := range county {
		p := consoleGet(t, base, "/console/rollout", token+"|")
		if p.status != 403 || !strings.Contains(p.body, "此页面仅供省级运维人员使用。") || strings.Contains(p.body, "<table") {
			t.Errorf("%s's session on the overview: %d\n%s", login, p.status, p.body)
		}
		if p := consoleGet(t, base, "/console/rollout", "", "Authorization", "Bearer "+token); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/login") {
			t.Errorf("%s's API token on the overview: %d to %q", login, p.status, p.location)
		}
	}
	// A county's login is not an operator's.
	if p := consoleLogin(t, base, "wyadmin", "Wengyuan#2026"); p.status != 401 || p.session != "" {
		t.Errorf("a county admin through the console's login: %d", p.status)
	}
	// Citizens (anyone without a session) are sent to log in.
	if p := consoleGet(t, base, "/console/rollout", ""); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/login?why=required") || p.csp != web.ContentSecurityPolicy {
		t.Errorf("no session: %d to %q, CSP %q", p.status, p.location, p.csp)
	}
	// The refusals are in the province's trail, as the API's are.
	r = call(t, "GET", base+"/v1/audit?action=console.rollout", op, nil)
	if r.status != 200 || strings.Count(string(r.body), `"outcome":"refused"`) < len(county) {
		t.Errorf("the refusals audited: %d %s", r.status, r.body)
	}
}

func TestTheConsoleCookiesAreSecureExceptOnPlainHTTPLoopback(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr, publicURL string
		dev, secure     bool
	}{
		{addr: "127.0.0.1:8080", secure: false},
		{addr: "http://localhost:8080", secure: false},
		{addr: "[::1]:8080", secure: false},
		{addr: ":8080", secure: true},
		{addr: "0.0.0.0:8080", secure: true},
		{addr: "127.0.0.1:8080", publicURL: "https://cc.example.gov.cn", secure: true},
		{addr: ":8080", publicURL: "http://10.1.2.3:8080", secure: true},
		{addr: ":8080", publicURL: "http://127.0.0.1:8080", secure: false},
		{addr: "0.0.0.0:8080", dev: true, secure: false},
		{addr: "0.0.0.0:8080", publicURL: "https://demo.example", dev: true, secure: true},
	} {
		cfg := config.Server{Addr: c.addr, PublicURL: c.publicURL, Dev: c.dev}
		if got := consoleCookiesSecure(cfg, quiet); got != c.secure {
			t.Errorf("--addr %s --public-url %q -dev=%v: Secure %v, want %v", c.addr, c.publicURL, c.dev, got, c.secure)
		}
	}
}
