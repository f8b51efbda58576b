package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v4"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
)

type apiResult struct {
	status int
	header http.Header
	body   []byte
}

func (r apiResult) code() string {
	var eb struct{ Error struct{ Code string } }
	_ = json.Unmarshal(r.body, &eb)
	return eb.Error.Code
}

func call(t testing.TB, method, url, token string, body any) apiResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{status: resp.StatusCode, header: resp.Header, body: b}
}

func decode[T any](t testing.TB, r apiResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%d %s: %v", r.status, r.body, err)
	}
	return v
}

func want(t testing.TB, what string, r apiResult, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.code() != code) {
		t.Errorf("%s: %d %s; want %d %s", what, r.status, r.body, status, code)
	}
}

// twoCounties starts a platform with Wengyuan and Lechang, a unit in each
// and accounts with the given roles in Wengyuan (login → role).
func twoCounties(t testing.TB, roles map[string]string, tune ...func(*config.Server)) (*storetest.DB, *platform, string, map[string]string) {
	db, p, url, env := startedPlatformWith(t, quiet, tune...)
	for _, args := range [][]string{
		{"tenant", "create", "--code", "gd", "--name", "广东省"},
		{"tenant", "create", "--code", "gd.shaoguan", "--name", "韶关市"},
		{"tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县"},
		{"tenant", "create", "--code", "gd.shaoguan.lechang", "--name", "乐昌市"},
	} {
		mustCLI(t, env, args...)
	}
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
		mustCLI(t, e, "org", "units", "create", "--name", "县信息中心")
		if county == "gd.shaoguan.lechang" {
			mustCLI(t, e, "org", "accounts", "create", "--login", "lcadmin", "--name", "乐昌管理员", "--unit", "1", "--role", auth.RoleCountyAdmin)
			continue
		}
		for login, role := range roles {
			args := []string{"org", "accounts", "create", "--login", login, "--name", "人员" + login, "--unit", "1"}
			if role != "" {
				args = append(args, "--role", role)
			}
			mustCLI(t, e, args...)
		}
	}
	return db, p, url, env
}

// loginAs issues credentials to every account of county, lifts the
// must-change flag in the database, and logs each in.
func loginAs(t testing.TB, db *storetest.DB, url, operator, county string) map[string]string {
	t.Helper()
	r := call(t, "POST", url+"/v1/tenants/"+county+"/credentials?format=json", operator, auth.IssueRequest{})
	want(t, "issue credentials", r, 200, "")
	issued := decode[[]auth.IssuedCredential](t, r)
	schema := db.SchemaPrefix + strings.ReplaceAll(county, ".", "_")
	if _, err := db.Server.Exec("UPDATE `" + schema + "`.credentials SET must_change = FALSE"); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, c := range issued {
		r := call(t, "POST", url+"/v1/tenants/"+county+"/auth/login", "", auth.Credentials{Login: c.Login, Password: c.Password})
		want(t, "login "+c.Login, r, 200, "")
		tokens[c.Login] = decode[auth.Tokens](t, r).AccessToken
	}
	return tokens
}

func TestLoginRefreshLogoutAndPasswords(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"

	csv := call(t, "POST", url+wy+"/credentials?format=csv", op, auth.IssueRequest{})
	if csv.status != 200 || !strings.Contains(string(csv.body), "初始密码") || !strings.Contains(string(csv.body), "wyadmin") {
		t.Fatalf("credential sheet: %d %s", csv.status, csv.body)
	}
	xlsx := call(t, "POST", url+wy+"/credentials/reissue?format=xlsx", op, auth.ReissueRequest{UnitID: 1})
	if xlsx.status != 200 || !bytes.HasPrefix(xlsx.body, []byte("PK")) {
		t.Fatalf("xlsx sheet: %d", xlsx.status)
	}
	reset := call(t, "POST", url+wy+"/accounts/1/password-reset", op, nil)
	want(t, "reset", reset, 200, "")
	first := decode[auth.IssuedCredential](t, reset)

	login := func(login, password string) apiResult {
		return call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: login, Password: password})
	}
	r := login(first.Login, first.Password)
	want(t, "first login", r, 200, "")
	tok := decode[auth.Tokens](t, r)
	if !tok.Principal.MustChange {
		t.Errorf("a handed-out password does not have to be changed: %+v", tok.Principal)
	}
	want(t, "before changing the password", call(t, "GET", url+wy+"/units", tok.AccessToken, nil), 403, auth.CodePasswordChange)
	want(t, "weak password", call(t, "POST", url+"/v1/auth/password", tok.AccessToken, auth.PasswordChange{Current: first.Password, New: "short"}), 400, auth.CodeWeakPassword)
	want(t, "wrong current password", call(t, "POST", url+"/v1/auth/password", tok.AccessToken, auth.PasswordChange{Current: "nope", New: "Gd-wengyuan-2026"}), 403, auth.CodeLoginFailed)
	r = call(t, "POST", url+"/v1/auth/password", tok.AccessToken, auth.PasswordChange{Current: first.Password, New: "Gd-wengyuan-2026"})
	want(t, "change password", r, 200, "")
	changed := decode[auth.Tokens](t, r)
	want(t, "old session after the change", call(t, "GET", url+wy+"/units", tok.AccessToken, nil), 401, auth.CodeTokenRevoked)
	want(t, "new session", call(t, "GET", url+wy+"/units", changed.AccessToken, nil), 200, "")
	want(t, "another county", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/units", changed.AccessToken, nil), 404, "tenant_not_found")
	want(t, "a county that does not exist", call(t, "GET", url+"/v1/tenants/gd.shaoguan.nowhere/units", changed.AccessToken, nil), 404, "tenant_not_found")
	want(t, "operator route", call(t, "GET", url+"/v1/tenants", changed.AccessToken, nil), 403, auth.CodeForbidden)

	// Refresh tokens are good once; the second use ends the session.
	r = call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": changed.RefreshToken})
	want(t, "refresh", r, 200, "")
	refreshed := decode[auth.Tokens](t, r)
	want(t, "replayed refresh token", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": changed.RefreshToken}), 401, auth.CodeRefreshTokenReused)
	want(t, "refresh after the replay", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": refreshed.RefreshToken}), 401, auth.CodeTokenRevoked)
	want(t, "access after the replay", call(t, "GET", url+wy+"/units", refreshed.AccessToken, nil), 401, auth.CodeTokenRevoked)

	r = login(first.Login, "Gd-wengyuan-2026")
	want(t, "login with the new password", r, 200, "")
	session := decode[auth.Tokens](t, r)
	want(t, "logout", call(t, "POST", url+"/v1/auth/logout", session.AccessToken, nil), 200, "")
	want(t, "after logout", call(t, "GET", url+wy+"/units", session.AccessToken, nil), 401, auth.CodeTokenRevoked)

	// Forged, wrong-key and expired tokens.
	parts := strings.Split(session.AccessToken, ".")
	want(t, "forged signature", call(t, "GET", url+wy+"/units", parts[0]+"."+parts[1]+".AAAA", nil), 401, auth.CodeTokenInvalid)
	var kid string
	var secret []byte
	if err := db.Server.QueryRow("SELECT kid, secret FROM `"+db.ControlSchema+"`.signing_keys WHERE retired_at IS NULL").Scan(&kid, &secret); err != nil {
		t.Fatal(err)
	}
	sign := func(key []byte, kid string, exp time.Time, tenant string) string {
		tk := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": "countycloud", "sub": "1", "exp": exp.Unix(), "knd": "account",
			"ten": tenant, "lgn": first.Login, "rol": []string{auth.RoleCountyAdmin}, "sid": "forged-session-000000"})
		tk.Header["kid"] = kid
		s, _ := tk.SignedString(key)
		return s
	}
	want(t, "wrong key", call(t, "GET", url+wy+"/units", sign([]byte("not the key"), kid, time.Now().Add(time.Minute), "gd.shaoguan.wengyuan"), nil), 401, auth.CodeTokenInvalid)
	want(t, "unknown kid", call(t, "GET", url+wy+"/units", sign(secret, "nokid", time.Now().Add(time.Minute), "gd.shaoguan.wengyuan"), nil), 401, auth.CodeTokenInvalid)
	want(t, "expired", call(t, "GET", url+wy+"/units", sign(secret, kid, time.Now().Add(-time.Minute), "gd.shaoguan.wengyuan"), nil), 401, auth.CodeTokenExpired)
	want(t, "none algorithm", call(t, "GET", url+wy+"/units", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."+parts[1]+".", nil), 401, auth.CodeTokenInvalid)

	// Guessing: after two wrong passwords the account waits, doubling.
	want(t, "sql in the login", login("x' OR '1'='1", "x' OR '1'='1"), 401, auth.CodeLoginFailed)
	for i := range 3 {
		want(t, "wrong password", login(first.Login, "wrong-password-"+string(rune('a'+i))), 401, auth.CodeLoginFailed)
	}
	locked := login(first.Login, "Gd-wengyuan-2026")
	want(t, "locked", locked, 429, auth.CodeAccountLocked)
	if locked.header.Get("Retry-After") == "" {
		t.Error("a locked account is not told when to retry")
	}

	// The trail holds the logins, refused ones too, and cannot be changed.
	trail := call(t, "GET", url+wy+"/audit?action=auth.login&outcome=refused", op, nil)
	want(t, "audit", trail, 200, "")
	if !strings.Contains(string(trail.body), auth.CodeAccountLocked) || !strings.Contains(string(trail.body), auth.CodeLoginFailed) {
		t.Errorf("refused logins are not in the trail: %s", trail.body)
	}
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	for _, stmt := range []string{"UPDATE `" + schema + "`.audit_log SET actor_login = 'nobody'", "DELETE FROM `" + schema + "`.audit_log"} {
		if _, err := db.Server.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

func TestAPITokensAreScopedAndRevocable(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	access := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")["wyadmin"]
	r := call(t, "POST", url+"/v1/auth/tokens", access, auth.TokenRequest{Name: "nightly export", Scopes: []string{"read"}, ExpiresInDays: 30})
	want(t, "create token", r, 201, "")
	tok := decode[auth.NewAPIToken](t, r)
	want(t, "read with a read token", call(t, "GET", url+wy+"/units", tok.Token, nil), 200, "")
	want(t, "write with a read token", call(t, "POST", url+wy+"/units", tok.Token, map[string]any{"name": "新单位"}), 403, auth.CodeForbidden)
	want(t, "another county", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/units", tok.Token, nil), 404, "tenant_not_found")
	want(t, "classified", call(t, "POST", url+wy+"/units", access, map[string]any{"name": "保密办", "classification": "机密"}), 403, "classified_content_refused")
	units := decode[[]map[string]any](t, call(t, "GET", url+wy+"/units", access, nil))
	if len(units) != 1 {
		t.Errorf("%d units after a refused classified body, want 1", len(units))
	}
	trail := call(t, "GET", url+wy+"/audit?outcome=refused&actor_login=wyadmin", access, nil)
	if !strings.Contains(string(trail.body), `"code":"classified_content_refused"`) {
		t.Errorf("the refused classified body is not in the trail: %s", trail.body)
	}
	want(t, "bad scope", call(t, "POST", url+"/v1/auth/tokens", access, auth.TokenRequest{Name: "x", Scopes: []string{"admin"}}), 400, auth.CodeInvalidTokenRequest)
	want(t, "revoke", call(t, "DELETE", url+"/v1/auth/tokens/"+itoa(tok.ID), access, nil), 200, "")
	want(t, "revoked token", call(t, "GET", url+wy+"/units", tok.Token, nil), 401, auth.CodeTokenRevoked)
	want(t, "someone else's token", call(t, "DELETE", url+"/v1/auth/tokens/"+itoa(tok.ID), env["COUNTYCLOUD_TOKEN"], nil), 404, auth.CodeTokenNotFound)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPolicyMatrix is generated from auth.Policy and the route table:
// every route is called by every kind of principal, and the answer is a
// refusal exactly when the policy says so. Accounts holding a role by
// each code the platform reserves (given in the county's schema, as the
// API refuses them) are among the principals, and get what any account
// of the county gets: county rights at most.
func TestPolicyMatrix(t *testing.T) {
	t.Parallel()
	roles := map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyunit": auth.RoleUnitAdmin, "wyclerk": auth.RoleClerk, "wystaff": ""}
	reserved := map[string]string{}
	for _, code := range auth.ReservedRoles() {
		reserved["holds."+code] = code
		roles["holds."+code] = ""
	}
	db, p, url, env := twoCounties(t, roles)
	grantBySQL(t, db, "gd.shaoguan.wengyuan", reserved)
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	principals := map[string]struct {
		token string
		roles []string
	}{
		"operator":  {env["COUNTYCLOUD_TOKEN"], []string{auth.RoleOperator}},
		"anonymous": {"", nil},
	}
	for login, role := range roles {
		held := []string{auth.RoleStaff}
		if role != "" {
			held = append(held, role)
		}
		principals[login] = struct {
			token string
			roles []string
		}{tokens[login], held}
	}
	policy := auth.Policy()
	checked := 0
	for _, rt := range p.routes() {
		rule, ok := policy[rt.Name]
		if !ok {
			if strings.HasPrefix(rt.Pattern, "/v1/") {
				t.Errorf("route %s has no rule", rt.Name)
			}
			continue
		}
		if rt.Name == "auth.logout" || rt.Name == "auth.password.change" {
			continue // they end the very sessions the matrix runs on
		}
		if strings.HasPrefix(rt.Name, "files.") {
			continue // signed URLs, refused without a good signature whoever calls (plugins/host tests them)
		}
		if strings.HasPrefix(rt.Name, "console.") {
			continue // the console's session is a cookie, not a token (console_test.go holds it to these rules)
		}
		path := strings.NewReplacer("{code}", "gd.shaoguan.wengyuan", "{id}", "999", "{year}", "2026", "{date}", "2026-06-05", "{workflow}", "office.incoming").Replace(rt.Pattern)
		for who, pr := range principals {
			allowed := rule.Public || (rule.Self && pr.token != "")
			for _, r := range rule.Roles {
				for _, h := range pr.roles {
					allowed = allowed || r == h
				}
			}
			r := call(t, rt.Method, url+path, pr.token, nil)
			refused := r.status == 401 || r.status == 403
			if refused == allowed {
				t.Errorf("%s %s (%s) by %s: %d %s; policy allows: %v", rt.Method, path, rt.Name, who, r.status, r.body, allowed)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Fatalf("only %d checks; is the route table empty?", checked)
	}
}

func TestAuditThroughTheCLI(t *testing.T) {
	t.Parallel()
	_, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	out := mustCLI(t, e, "audit", "--action", "org.accounts.create", "-o", "json")
	var page struct{ Entries []map[string]any }
	if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Entries) != 1 || page.Entries[0]["actor_login"] != "admin" || page.Entries[0]["after_digest"] == nil {
		t.Errorf("audit of the account creation: %v %s", err, out)
	}
	if r := cli(t, e, "audit", "--from", "yesterday"); r.code != exitUsage {
		t.Errorf("a bad time: exit %d %s", r.code, r.stderr)
	}
	if out := mustCLI(t, e, "audit"); !strings.Contains(out, "org.units.create") {
		t.Errorf("table: %s", out)
	}
}

// TestRateLimitsAnswer429WithRetryAfter runs a second replica with tight
// limits (one request per ten seconds per caller; one a second per county,
// two in a burst) on the counties the first set up.
func TestRateLimitsAnswer429WithRetryAfter(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wya": auth.RoleClerk, "wyb": auth.RoleClerk, "wyc": auth.RoleClerk})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	lcadmin := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")["lcadmin"]
	tight, limited, _ := startPlatform(t, db, db.Config, quiet, func(c *config.Server) {
		c.RateLimitCounty, c.RateLimitAccount = 1, 0.1
	})
	if err := tight.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	wy, lc := limited+"/v1/tenants/gd.shaoguan.wengyuan", limited+"/v1/tenants/gd.shaoguan.lechang"
	refused := func(what string, r apiResult, who string) {
		t.Helper()
		want(t, what, r, http.StatusTooManyRequests, auth.CodeRateLimited)
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("%s: Retry-After %q", what, r.header.Get("Retry-After"))
		}
		if !strings.Contains(string(r.body), who) {
			t.Errorf("%s: %s does not say the limit is %s's", what, r.body, who)
		}
	}
	want(t, "first request", call(t, "GET", wy+"/units", tokens["wya"], nil), 200, "")
	refused("the same account again", call(t, "GET", wy+"/units", tokens["wya"], nil), "your account")
	want(t, "another account of the county", call(t, "GET", wy+"/units", tokens["wyb"], nil), 200, "")
	refused("a third account once the county is spent", call(t, "GET", wy+"/units", tokens["wyc"], nil), "county gd.shaoguan.wengyuan")
	want(t, "another county", call(t, "GET", lc+"/units", lcadmin, nil), 200, "")

	// Callers without a token share their address's limit.
	directory := call(t, "GET", lc+"/public/units", "", nil)
	want(t, "a citizen", directory, 200, "")
	if units := decode[[]org.PublicUnit](t, directory); len(units) != 1 || units[0].Name != "县信息中心" || strings.Contains(string(directory.body), "accounts") {
		t.Errorf("a county's public directory: %s", directory.body)
	}
	refused("the same address again", call(t, "GET", lc+"/public/units", "", nil), "your address")
}

// reachRequest is a call of a route a unit admin may write: the {id} of
// its path, if it has one, and its body.
type reachRequest struct {
	what string
	id   int64
	body any
}

// TestUnitAdminsKeepToTheirUnit is generated from the route table and the
// policy: every write route a unit admin may call is called with requests
// outside their unit and the units below it, which are refused and change
// nothing, and with one within it, which succeeds. A route a unit admin
// may call that has no case here fails the test, so a new one cannot ship
// without its reach check.
func TestUnitAdminsKeepToTheirUnit(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, nil)
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	op := env["COUNTYCLOUD_TOKEN"]
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(t, e, "org", "units", "update", "1", "--quota", "10")
	mustCLI(t, e, "org", "units", "create", "--name", "县民政局")                                   // 2
	mustCLI(t, e, "org", "units", "create", "--name", "社会救助股", "--parent", "2", "--quota", "5") // 3
	mustCLI(t, e, "org", "accounts", "create", "--login", "mzadmin", "--name", "民政管理员", "--unit", "2", "--role", auth.RoleUnitAdmin)
	mustCLI(t, e, "org", "accounts", "create", "--login", "xxclerk", "--name", "信息中心职员", "--unit", "1")
	mustCLI(t, e, "org", "accounts", "create", "--login", "mzboss", "--name", "民政系统管理员", "--unit", "2", "--role", auth.RoleCountyAdmin)
	mustCLI(t, e, "org", "accounts", "create", "--login", "jzworker", "--name", "救助股职员", "--unit", "3")
	unitAdmin := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")["mzadmin"]
	ids := map[string]int64{}
	for _, a := range decode[struct{ Accounts []org.Account }](t, call(t, "GET", url+wy+"/accounts", op, nil)).Accounts {
		ids[a.Login] = a.ID
	}
	cases := map[string]struct {
		outside []reachRequest
		inside  reachRequest
	}{
		"org.accounts.create": {
			outside: []reachRequest{
				{"an account in another unit", 0, map[string]any{"login": "intruder", "name": "外人", "unit_id": 1}},
				{"the county admin's role", 0, map[string]any{"login": "climber", "name": "攀登者", "unit_id": 2, "roles": []string{auth.RoleCountyAdmin}}},
			},
			inside: reachRequest{"an account in a unit below", 0, map[string]any{"login": "jzclerk", "name": "救助股职员", "unit_id": 3, "roles": []string{"clerk"}}},
		},
		"org.accounts.update": {
			outside: []reachRequest{
				{"another unit's account", ids["xxclerk"], map[string]any{"status": "disabled"}},
				{"moving an account out", ids["mzadmin"], map[string]any{"unit_id": 1}},
				{"promoting oneself", ids["mzadmin"], map[string]any{"roles": []string{auth.RoleCountyAdmin}}},
				{"a county admin in the unit", ids["mzboss"], map[string]any{"status": "disabled"}},
			},
			inside: reachRequest{"an account of the unit", ids["mzadmin"], map[string]any{"mobile": "13800000000"}},
		},
		"org.quota.request": {
			outside: []reachRequest{{"another unit's quota", 0, map[string]any{"unit_id": 1, "quota": 20, "reason": "多要一些"}}},
			inside:  reachRequest{"a quota of a unit below", 0, map[string]any{"unit_id": 3, "quota": 8, "reason": "新增窗口人员，领导小组已批复"}},
		},
		"auth.credentials.reissue": {
			outside: []reachRequest{
				{"another unit's account's password", 0, auth.ReissueRequest{Logins: []string{"xxclerk"}}},
				{"another unit's passwords", 0, auth.ReissueRequest{UnitID: 1}},
				{"a county admin's password in the unit", 0, auth.ReissueRequest{Logins: []string{"mzboss"}}},
				{"the unit's passwords, a county admin's among them", 0, auth.ReissueRequest{UnitID: 2}},
			},
			inside: reachRequest{"a password in a unit below", 0, auth.ReissueRequest{Logins: []string{"jzworker"}}},
		},
	}
	policy := auth.Policy()
	path := func(pattern string, id int64) string {
		return url + strings.NewReplacer("{code}", "gd.shaoguan.wengyuan", "{id}", itoa(id)).Replace(pattern)
	}
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	before := countyFingerprint(t, db, schema)
	var covered []kit.Route
	refusals := 0
	for _, rt := range p.routes() {
		rule := policy[rt.Name]
		if !rule.Write || !slices.Contains(rule.Roles, auth.RoleUnitAdmin) {
			continue
		}
		c, ok := cases[rt.Name]
		if !ok {
			t.Errorf("unit admins may call %s %s (%s), which has no reach case here: check the caller's reach in its service (auth.CheckReach) and add a case", rt.Method, rt.Pattern, rt.Name)
			continue
		}
		covered = append(covered, rt)
		for _, req := range c.outside {
			want(t, rt.Name+": "+req.what, call(t, rt.Method, path(rt.Pattern, req.id), unitAdmin, req.body), 403, auth.CodeOutsideReach)
			refusals++
		}
	}
	for name := range cases {
		if !slices.ContainsFunc(covered, func(rt kit.Route) bool { return rt.Name == name }) {
			t.Errorf("a reach case for %s, which is not a write route unit admins may call", name)
		}
	}
	if after := countyFingerprint(t, db, schema); after != before {
		t.Errorf("refused changes changed the county:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	trail := decode[audit.Page](t, call(t, "GET", url+wy+"/audit?outcome=refused&actor_login=mzadmin", op, nil))
	if len(trail.Entries) != refusals {
		t.Errorf("%d refusals in the trail, want %d", len(trail.Entries), refusals)
	}
	for _, rt := range covered {
		in := cases[rt.Name].inside
		r := call(t, rt.Method, path(rt.Pattern, in.id), unitAdmin, in.body)
		if r.status >= 300 {
			t.Errorf("%s: %s: %d %s", rt.Name, in.what, r.status, r.body)
		}
	}
}

// TestTheProvinceKeepsATrailOfOperators: what operators do to the registry
// and to their own accounts is in the province's trail, which only grows.
func TestTheProvinceKeepsATrailOfOperators(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	op := env["COUNTYCLOUD_TOKEN"]
	wyadmin := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")["wyadmin"]

	r := call(t, "POST", url+"/v1/operators", op, auth.OperatorInput{Login: "zhang.wei", Name: "张伟"})
	want(t, "add an operator", r, 201, "")
	want(t, "add an operator named with a right-to-left override", call(t, "POST", url+"/v1/operators", op, auth.OperatorInput{Login: "li.si", Name: "李\u202e四"}), 400, auth.CodeInvalidOperator)
	first := decode[auth.IssuedCredential](t, r)
	want(t, "a wrong password", call(t, "POST", url+"/v1/auth/login", "", auth.Credentials{Login: "zhang.wei", Password: "not-the-password-1"}), 401, auth.CodeLoginFailed)
	r = call(t, "POST", url+"/v1/auth/login", "", auth.Credentials{Login: "zhang.wei", Password: first.Password})
	want(t, "first login", r, 200, "")
	zhang := decode[auth.Tokens](t, r).AccessToken
	want(t, "change the handed-out password", call(t, "POST", url+"/v1/auth/password", zhang, auth.PasswordChange{Current: first.Password, New: "Shaoguan-2026-ops"}), 200, "")
	want(t, "rename a county", call(t, "PATCH", url+"/v1/tenants/gd.shaoguan.lechang", op, map[string]string{"name": "乐昌市（县级）"}), 200, "")
	want(t, "no token", call(t, "GET", url+"/v1/tenants", "", nil), 401, errs.CodeUnauthenticated)
	want(t, "a county admin", call(t, "GET", url+"/v1/audit", wyadmin, nil), 403, auth.CodeForbidden)

	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op}
	var page audit.Page
	if err := json.Unmarshal([]byte(mustCLI(t, e, "audit", "--province", "--limit", "500", "-o", "json")), &page); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, en := range page.Entries {
		key := en.Action + " " + en.Outcome + " " + en.ActorLogin
		if en.Action == "tenant.update" && (en.BeforeDigest == nil || en.AfterDigest == nil || *en.BeforeDigest == *en.AfterDigest) {
			t.Errorf("a rename without both digests: %+v", en)
		}
		seen[key]++
	}
	for key, n := range map[string]int{
		"tenant.create ok admin":                                   4,
		"tenant.provisioned ok admin":                              2,
		"tenant.update ok admin":                                   1,
		"auth.operators.add ok admin":                              1,
		"auth.login refused zhang.wei":                             1,
		"auth.login ok zhang.wei":                                  1,
		"auth.password.change ok zhang.wei":                        1,
		"tenant.list refused anonymous":                            1,
		"audit.province.list refused wyadmin@gd.shaoguan.wengyuan": 1,
	} {
		if seen[key] != n {
			t.Errorf("%q: %d entries, want %d; the trail: %v", key, seen[key], n, seen)
		}
	}
	for _, stmt := range []string{"UPDATE `" + db.ControlSchema + "`.audit_log SET actor_login = 'nobody'", "DELETE FROM `" + db.ControlSchema + "`.audit_log"} {
		if _, err := db.Server.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", stmt, err)
		}
	}
}

// TestACountysCalendar: a county admin gives a local festival as a day
// off; the county's deadlines move past it, another county's do not, and
// bad input changes nothing.
func TestACountysCalendar(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	const wy = "/v1/tenants/gd.shaoguan.wengyuan/calendar"
	festival := map[string]any{"working": false, "note": "翁源县兰花节"}

	for what, r := range map[string]apiResult{
		"not a date":  call(t, "PUT", url+wy+"/overrides/2026-02-30", tokens["wyadmin"], festival),
		"no working":  call(t, "PUT", url+wy+"/overrides/2026-06-05", tokens["wyadmin"], map[string]any{"note": "兰花节"}),
		"no note":     call(t, "PUT", url+wy+"/overrides/2026-06-05", tokens["wyadmin"], map[string]any{"working": false}),
		"not a year":  call(t, "GET", url+wy+"/twenty", tokens["wyadmin"], nil),
		"unset twice": call(t, "DELETE", url+wy+"/overrides/2026-06-05", tokens["wyadmin"], nil),
	} {
		if r.status != 400 && r.status != 404 {
			t.Errorf("%s: %d %s", what, r.status, r.body)
		}
	}
	want(t, "a clerk", call(t, "PUT", url+wy+"/overrides/2026-06-05", tokens["wyclerk"], festival), 403, auth.CodeForbidden)

	friday := time.Date(2026, 6, 4, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	before, err := p.calendars.Calendar(context.Background(), "gd.shaoguan.wengyuan")
	if err != nil {
		t.Fatal(err)
	}
	want(t, "a festival", call(t, "PUT", url+wy+"/overrides/2026-06-05", tokens["wyadmin"], festival), 200, "")
	after, err := p.calendars.Calendar(context.Background(), "gd.shaoguan.wengyuan")
	if err != nil {
		t.Fatal(err)
	}
	lechang, err := p.calendars.Calendar(context.Background(), "gd.shaoguan.lechang")
	if err != nil {
		t.Fatal(err)
	}
	if !after.AddWorkingDays(friday, 1).After(before.AddWorkingDays(friday, 1)) || !lechang.AddWorkingDays(friday, 1).Equal(before.AddWorkingDays(friday, 1)) {
		t.Errorf("a day off in Wengyuan: deadline %v, before %v, in Lechang %v", after.AddWorkingDays(friday, 1), before.AddWorkingDays(friday, 1), lechang.AddWorkingDays(friday, 1))
	}
	year := call(t, "GET", url+wy+"/2026", tokens["wyclerk"], nil)
	want(t, "the year", year, 200, "")
	for _, day := range []string{`"date":"2026-06-05","working":false,"reason":"翁源县兰花节","county":true`, `"date":"2026-02-14","working":true`, `"date":"2026-10-01","working":false`} {
		if !strings.Contains(string(year.body), day) {
			t.Errorf("2026 does not show %s: %s", day, year.body)
		}
	}
	trail := call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/audit?action=calendar.override.set", tokens["wyadmin"], nil)
	if !strings.Contains(string(trail.body), `"object_id":"2026-06-05"`) {
		t.Errorf("the change is not in the trail: %s", trail.body)
	}
	want(t, "back to the national calendar", call(t, "DELETE", url+wy+"/overrides/2026-06-05", tokens["wyadmin"], nil), 200, "")

	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.lechang"}
	mustCLI(t, e, "calendar", "set", "2026-06-13", "--working", "--note", "调休上班")
	if out := mustCLI(t, e, "calendar", "show", "--year", "2026"); !strings.Contains(out, "2026-06-13") || !strings.Contains(out, "county") {
		t.Errorf("calendar show: %s", out)
	}
	mustCLI(t, e, "calendar", "unset", "2026-06-13")
	if r := cli(t, e, "calendar", "unset", "2026-06-13"); r.code != exitNotFound || !strings.Contains(r.stderr, "calendar_override_not_found") {
		t.Errorf("unset twice: exit %d %s", r.code, r.stderr)
	}
}
