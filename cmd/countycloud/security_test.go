package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
)

// grantBySQL gives accounts of county roles by code straight in its
// schema, creating the roles: what the API refuses, as a county's data
// may hold it from before the refusal or from a hand in the database.
func grantBySQL(t testing.TB, db *storetest.DB, county string, codeOf map[string]string) {
	t.Helper()
	q := "`" + db.SchemaPrefix + strings.ReplaceAll(county, ".", "_") + "`."
	for login, code := range codeOf {
		if _, err := db.Server.Exec("INSERT IGNORE INTO "+q+"roles (code, name, builtin, created_at) VALUES (?, '自建角色', FALSE, NOW())", code); err != nil {
			t.Fatal(err)
		}
		res, err := db.Server.Exec("INSERT INTO "+q+"account_roles (account_id, role_id) SELECT a.id, r.id FROM "+q+"accounts a, "+q+"roles r WHERE a.login = ? AND r.code = ?", login, code)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("%s was not given %s", login, code)
		}
	}
}

// loginAgain gives account login of county a new password, lifts the
// must-change flag in the database and logs it in.
func loginAgain(t testing.TB, db *storetest.DB, url, operator, county, login string) auth.Tokens {
	t.Helper()
	base := url + "/v1/tenants/" + county
	var id int64
	for _, a := range decode[org.AccountPage](t, call(t, "GET", base+"/accounts?limit=500", operator, nil)).Accounts {
		if a.Login == login {
			id = a.ID
		}
	}
	r := call(t, "POST", base+"/accounts/"+itoa(id)+"/password-reset", operator, nil)
	want(t, "reset the password of "+login, r, 200, "")
	password := decode[auth.IssuedCredential](t, r).Password
	if _, err := db.Server.Exec("UPDATE `"+db.SchemaPrefix+strings.ReplaceAll(county, ".", "_")+"`.credentials SET must_change = FALSE WHERE account_id = ?", id); err != nil {
		t.Fatal(err)
	}
	r = call(t, "POST", base+"/auth/login", "", auth.Credentials{Login: login, Password: password})
	want(t, "log in "+login, r, 200, "")
	return decode[auth.Tokens](t, r)
}

// TestACountyRoleNamedOperatorGivesNoPlatformRights is the probe that
// made a county admin a provincial operator: create a role "operator",
// give it to oneself, log in again. Every step is refused, and an account
// given the role in the database gets no platform right from it.
func TestACountyRoleNamedOperatorGivesNoPlatformRights(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyunit": auth.RoleUnitAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	tokens := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")
	admin, unitAdmin := tokens["wyadmin"], tokens["wyunit"]
	ids := map[string]int64{}
	for _, a := range decode[org.AccountPage](t, call(t, "GET", url+wy+"/accounts", op, nil)).Accounts {
		ids[a.Login] = a.ID
	}

	for _, code := range auth.ReservedRoles() {
		want(t, "create role "+code, call(t, "POST", url+wy+"/roles", admin, org.RoleInput{Code: code, Name: "省级运维"}), 403, org.CodeReservedRole)
	}
	want(t, "give oneself operator", call(t, "PATCH", url+wy+"/accounts/"+itoa(ids["wyadmin"]), admin, map[string]any{"roles": []string{auth.RoleCountyAdmin, auth.RoleOperator}}), 403, org.CodeReservedRole)
	want(t, "a unit admin hands out operator", call(t, "PATCH", url+wy+"/accounts/"+itoa(ids["wyclerk"]), unitAdmin, map[string]any{"roles": []string{auth.RoleOperator}}), 403, org.CodeReservedRole)
	for _, r := range decode[[]org.Role](t, call(t, "GET", url+wy+"/roles", admin, nil)) {
		if auth.IsReservedRole(r.Code) {
			t.Errorf("the county has a role %s", r.Code)
		}
	}
	trail := decode[audit.Page](t, call(t, "GET", url+wy+"/audit?outcome=refused", op, nil))
	refusals := 0
	for _, e := range trail.Entries {
		if e.Code != nil && *e.Code == org.CodeReservedRole {
			refusals++
		}
	}
	if refusals != len(auth.ReservedRoles())+2 {
		t.Errorf("%d refusals of a reserved role in the trail, want %d", refusals, len(auth.ReservedRoles())+2)
	}

	// The county's data says the admin holds operator: the platform does
	// not listen.
	grantBySQL(t, db, "gd.shaoguan.wengyuan", map[string]string{"wyadmin": auth.RoleOperator})
	admin = loginAgain(t, db, url, op, "gd.shaoguan.wengyuan", "wyadmin").AccessToken
	me := decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", admin, nil))
	if me.Kind != auth.KindAccount || me.Has(auth.RoleOperator) || !me.Has(auth.RoleCountyAdmin) {
		t.Errorf("the admin is %+v", me)
	}
	for _, c := range []struct{ what, method, path string }{
		{"list every county", "GET", "/v1/tenants"},
		{"create an operator", "POST", "/v1/operators"},
		{"read the province's trail", "GET", "/v1/audit"},
		{"list the jobs", "GET", "/v1/jobs"},
		{"register a plugin", "POST", "/v1/plugins"},
	} {
		want(t, c.what, call(t, c.method, url+c.path, admin, map[string]string{"login": "mole", "name": "内鬼"}), 403, auth.CodeForbidden)
	}
	want(t, "read another county's accounts", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/accounts", admin, nil), 404, "tenant_not_found")
	want(t, "its own county still", call(t, "GET", url+wy+"/accounts", admin, nil), 200, "")
}

// TestARightsChangeReachesTheAccountsTokensAtOnce: a change of an
// account's roles, status, password or unit, through the API or an
// import, reaches its very next request: its access token is refused (it
// logs in again and gets the new rights), its refresh token is refused,
// and its API token carries the rights as they are now.
func TestARightsChangeReachesTheAccountsTokensAtOnce(t *testing.T) {
	t.Parallel()
	changes := []struct {
		login  string
		change func(t *testing.T, url, op string, id int64) apiResult
		// rights says what a new login may do after the change (a unit
		// created by a county admin), or that it cannot log in.
		createsUnits, logsIn bool
	}{
		{"demoted", func(t *testing.T, url, op string, id int64) apiResult {
			return call(t, "PATCH", url+"/v1/tenants/gd.shaoguan.wengyuan/accounts/"+itoa(id), op, map[string]any{"roles": []string{auth.RoleClerk}})
		}, false, true},
		{"disabled", func(t *testing.T, url, op string, id int64) apiResult {
			return call(t, "PATCH", url+"/v1/tenants/gd.shaoguan.wengyuan/accounts/"+itoa(id), op, map[string]any{"status": org.StatusDisabled})
		}, false, false},
		{"reset", func(t *testing.T, url, op string, id int64) apiResult {
			return call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/accounts/"+itoa(id)+"/password-reset", op, nil)
		}, false, false},
		{"moved", func(t *testing.T, url, op string, id int64) apiResult {
			return call(t, "PATCH", url+"/v1/tenants/gd.shaoguan.wengyuan/accounts/"+itoa(id), op, map[string]any{"unit_id": 2})
		}, true, true},
		{"imported", func(t *testing.T, url, op string, id int64) apiResult {
			file := "\ufeff单位名称*,姓名,登录名,角色\n县信息中心,人员imported,imported,clerk\n"
			req, _ := http.NewRequest("POST", url+"/v1/tenants/gd.shaoguan.wengyuan/org/import", strings.NewReader(file))
			req.Header.Set("Authorization", "Bearer "+op)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			return apiResult{status: resp.StatusCode, header: resp.Header, body: body.Bytes()}
		}, false, true},
	}
	roles := map[string]string{"untouched": auth.RoleCountyAdmin}
	for _, c := range changes {
		roles[c.login] = auth.RoleCountyAdmin
	}
	db, _, url, env := twoCounties(t, roles)
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(t, e, "org", "units", "create", "--name", "县民政局")

	want(t, "issue credentials", call(t, "POST", url+wy+"/credentials?format=json", op, auth.IssueRequest{}), 200, "")
	ids := map[string]int64{}
	for _, a := range decode[org.AccountPage](t, call(t, "GET", url+wy+"/accounts", op, nil)).Accounts {
		ids[a.Login] = a.ID
	}
	passwords := map[string]string{}
	login := func(name string) apiResult {
		return call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: name, Password: passwords[name]})
	}
	sessions := map[string]auth.Tokens{}
	apiTokens := map[string]string{}
	for name := range roles {
		r := call(t, "POST", url+wy+"/accounts/"+itoa(ids[name])+"/password-reset", op, nil)
		passwords[name] = decode[auth.IssuedCredential](t, r).Password
		if _, err := db.Server.Exec("UPDATE `" + db.SchemaPrefix + "gd_shaoguan_wengyuan`.credentials SET must_change = FALSE"); err != nil {
			t.Fatal(err)
		}
		r = login(name)
		want(t, "login "+name, r, 200, "")
		sessions[name] = decode[auth.Tokens](t, r)
		r = call(t, "POST", url+"/v1/auth/tokens", sessions[name].AccessToken, auth.TokenRequest{Name: "nightly", Scopes: []string{auth.ScopeRead, auth.ScopeWrite}})
		want(t, "API token of "+name, r, 201, "")
		apiTokens[name] = decode[auth.NewAPIToken](t, r).Token
	}
	unit := 0
	createUnit := func(token string) apiResult {
		unit++
		return call(t, "POST", url+wy+"/units", token, map[string]any{"name": "新单位" + itoa(int64(unit))})
	}
	for name := range roles {
		want(t, name+" before the change", createUnit(sessions[name].AccessToken), 201, "")
		want(t, name+"'s API token before the change", createUnit(apiTokens[name]), 201, "")
	}

	for _, c := range changes {
		want(t, "change "+c.login, c.change(t, url, op, ids[c.login]), 200, "")
		old := sessions[c.login]
		want(t, c.login+"'s access token after the change", call(t, "GET", url+wy+"/units", old.AccessToken, nil), 401, auth.CodeTokenRevoked)
		want(t, c.login+"'s refresh token after the change", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": old.RefreshToken}), 401, auth.CodeTokenRevoked)
		switch {
		case c.login == "disabled" || c.login == "reset":
			want(t, c.login+"'s API token after the change", call(t, "GET", url+wy+"/units", apiTokens[c.login], nil), 401, auth.CodeTokenRevoked)
		case c.createsUnits:
			want(t, c.login+"'s API token after the change", createUnit(apiTokens[c.login]), 201, "")
		default:
			want(t, c.login+"'s API token after the change", createUnit(apiTokens[c.login]), 403, auth.CodeForbidden)
		}
		r := login(c.login)
		if !c.logsIn {
			want(t, c.login+" logs in after the change", r, 401, auth.CodeLoginFailed)
			continue
		}
		want(t, c.login+" logs in after the change", r, 200, "")
		fresh := decode[auth.Tokens](t, r)
		if c.createsUnits {
			want(t, c.login+" after logging in again", createUnit(fresh.AccessToken), 201, "")
		} else {
			want(t, c.login+" after logging in again", createUnit(fresh.AccessToken), 403, auth.CodeForbidden)
		}
		if c.login == "moved" && fresh.Principal.Unit != 2 {
			t.Errorf("the moved account logs in to unit %d", fresh.Principal.Unit)
		}
	}

	// A change that leaves an account's rights alone leaves its session.
	want(t, "a new mobile number", call(t, "PATCH", url+wy+"/accounts/"+itoa(ids["untouched"]), op, map[string]any{"mobile": "13800000000"}), 200, "")
	want(t, "the untouched account", createUnit(sessions["untouched"].AccessToken), 201, "")
	want(t, "the untouched account's refresh", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": sessions["untouched"].RefreshToken}), 200, "")
}

// TestAnotherReplicaSeesARightsChangeWithinASecond: a county admin is
// demoted through one replica. Its new login works on the other replica
// at once (a token newer than what that replica remembers makes it look
// again), and its old token stops working there within a second.
func TestAnotherReplicaSeesARightsChangeWithinASecond(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	other, otherURL, _ := startPlatform(t, db, db.Config, quiet)
	if err := other.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	old := loginAgain(t, db, url, op, "gd.shaoguan.wengyuan", "wyadmin")
	want(t, "the other replica before the change", call(t, "GET", otherURL+wy+"/units", old.AccessToken, nil), 200, "")

	want(t, "demote", call(t, "PATCH", url+wy+"/accounts/"+itoa(old.Principal.ID), op, map[string]any{"roles": []string{auth.RoleClerk}}), 200, "")
	fresh := loginAgain(t, db, url, op, "gd.shaoguan.wengyuan", "wyadmin")
	want(t, "the new login on the other replica", call(t, "POST", otherURL+wy+"/units", fresh.AccessToken, map[string]any{"name": "新单位"}), 403, auth.CodeForbidden)

	deadline := time.Now().Add(1500 * time.Millisecond)
	for {
		r := call(t, "GET", otherURL+wy+"/units", old.AccessToken, nil)
		if r.status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old token still works on the other replica: %d %s", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestARefusalNamesTheCallersHomeCounty: accounts 1 of Wengyuan and of
// Lechang share an id. Wengyuan's admin refused on Lechang's routes (and
// on the province's) is named by its login at its county, never by an id
// that would be Lechang's own account.
func TestARefusalNamesTheCallersHomeCounty(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	op := env["COUNTYCLOUD_TOKEN"]
	wyadmin := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")["wyadmin"]
	const lc = "/v1/tenants/gd.shaoguan.lechang"
	lcadmin := decode[org.AccountPage](t, call(t, "GET", url+lc+"/accounts", op, nil)).Accounts[0]
	me := decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", wyadmin, nil))
	if me.ID != lcadmin.ID {
		t.Fatalf("the ids do not collide: Wengyuan's admin %d, Lechang's %d", me.ID, lcadmin.ID)
	}

	want(t, "Lechang's accounts", call(t, "GET", url+lc+"/accounts", wyadmin, nil), 404, "tenant_not_found")
	want(t, "the list of counties", call(t, "GET", url+"/v1/tenants", wyadmin, nil), 403, auth.CodeForbidden)

	const foreigner = "wyadmin@gd.shaoguan.wengyuan"
	for trail, path := range map[string]string{"Lechang's": lc + "/audit", "the province's": "/v1/audit"} {
		page := decode[audit.Page](t, call(t, "GET", url+path+"?outcome=refused&limit=500", op, nil))
		found := false
		for _, e := range page.Entries {
			if e.ActorLogin == "wyadmin" || (e.ActorID != nil && *e.ActorID == me.ID && e.ActorKind == string(auth.KindAccount)) {
				t.Errorf("%s trail names Wengyuan's admin as one of its own: %+v", trail, e)
			}
			if e.ActorLogin == foreigner {
				found = true
				if e.ActorID != nil || e.UnitID != nil {
					t.Errorf("%s trail keeps Wengyuan's ids: %+v", trail, e)
				}
			}
		}
		if !found {
			t.Errorf("%s trail does not name %s: %+v", trail, foreigner, page.Entries)
		}
	}
	byID := decode[audit.Page](t, call(t, "GET", url+lc+"/audit?actor_id="+itoa(lcadmin.ID), op, nil))
	for _, e := range byID.Entries {
		if e.ActorKind == string(auth.KindAccount) && e.ActorLogin != lcadmin.Login {
			t.Errorf("Lechang's account %d is credited with %+v", lcadmin.ID, e)
		}
	}
}

// secretKeys are the JSON keys of the answers that carry a secret.
var secretKeys = []string{`"access_token"`, `"refresh_token"`, `"password"`, `"token"`}

// carriesSecret reports whether an answer looks like one carrying a
// secret: a token or password in JSON, or a credential sheet.
func carriesSecret(r apiResult) bool {
	if r.status >= 300 {
		return false
	}
	if strings.Contains(r.header.Get("Content-Disposition"), "credentials") {
		return true
	}
	for _, k := range secretKeys {
		if bytes.Contains(r.body, []byte(k)) {
			return true
		}
	}
	return false
}

// checkSafetyHeaders fails t unless r forbids sniffing and framing, and,
// carrying a secret, caching.
func checkSafetyHeaders(t *testing.T, what string, r apiResult) {
	t.Helper()
	if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: %d X-Content-Type-Options %q", what, r.status, got)
	}
	if got := r.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: %d X-Frame-Options %q", what, r.status, got)
	}
	if got := r.header.Get("Content-Security-Policy"); !strings.Contains(got, "frame-ancestors 'none'") {
		t.Errorf("%s: %d Content-Security-Policy %q", what, r.status, got)
	}
	if carriesSecret(r) && r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: %d carries a secret with Cache-Control %q: %.200s", what, r.status, r.header.Get("Cache-Control"), r.body)
	}
}

// TestEveryAnswerForbidsSniffingAndFraming calls every route of the route
// table, as the operator and as no one, and paths and methods that have
// no route: every answer, errors included, says nosniff and denies
// frames, and every route marked secret keeps even its refusals out of
// caches.
func TestEveryAnswerForbidsSniffingAndFraming(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	op := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"},
		"plugin", "enable", "vod", "--settings", `{"categories":["meetings"]}`)
	admin := loginAs(t, db, url, op, "gd.shaoguan.wengyuan")["wyadmin"]
	called := 0
	for _, rt := range p.routes() {
		path := strings.NewReplacer("{code}", "gd.shaoguan.wengyuan", "{id}", "999", "{year}", "2026", "{date}", "2026-06-05",
			"{workflow}", "office.incoming", "{plugin}", "nomodule", "{path...}", "videos", "{token}", "x", "{$}", "").Replace(rt.Pattern)
		for who, token := range map[string]string{"the operator": op, "no one": ""} {
			r := call(t, rt.Method, url+path, token, nil)
			what := rt.Method + " " + path + " (" + rt.Name + ") by " + who
			checkSafetyHeaders(t, what, r)
			if rt.Secret && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("%s: a secret route answers %d with Cache-Control %q", what, r.status, r.header.Get("Cache-Control"))
			}
			called++
		}
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/nowhere"},
		{"DELETE", "/v1/tenants"},
		{"GET", "/v1/tenants/gd.shaoguan.wengyuan/modules/vod/api/videos"},
		{"GET", "/metrics"},
	} {
		checkSafetyHeaders(t, c.method+" "+c.path, call(t, c.method, url+c.path, op, nil))
	}
	if called < 100 {
		t.Fatalf("only %d calls; is the route table empty?", called)
	}

	// A module's own answers, and a file it serves with a policy of its
	// own, which gains the frame denial.
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/vod"
	r := call(t, "POST", base+"/videos", admin, map[string]any{"title": "全县安全生产工作会议", "category": "meetings", "duration_seconds": 60,
		"file": map[string]any{"name": "meeting.mp4", "content_type": "video/mp4", "size": 4}})
	want(t, "create a video", r, 201, "")
	checkSafetyHeaders(t, "a module's answer", r)
	created := decode[struct {
		Video  struct{ ID string }
		Upload struct{ Method, URL string }
	}](t, r)
	if status, body := rawCall(t, created.Upload.Method, created.Upload.URL, []byte("film"), map[string]string{"Content-Type": "video/mp4"}); status/100 != 2 {
		t.Fatalf("upload: %d %s", status, body)
	}
	want(t, "complete", call(t, "POST", base+"/videos/"+created.Video.ID+"/complete", admin, nil), 200, "")
	checkSafetyHeaders(t, "a module's refusal", call(t, "POST", base+"/videos/"+created.Video.ID+"/complete", "", nil))
	playback := decode[struct{ URL string }](t, call(t, "GET", base+"/videos/"+created.Video.ID+"/playback", admin, nil))
	file := call(t, "GET", playback.URL, "", nil)
	want(t, "the file", file, 200, "")
	checkSafetyHeaders(t, "a module's file", file)
	if csp := file.header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
		t.Errorf("the file lost its own policy: %q", csp)
	}
}

// TestAnswersCarryingSecretsAreNeverStored goes through every answer that
// hands out a token or a password, each for real, and finds each marked
// no-store.
func TestAnswersCarryingSecretsAreNeverStored(t *testing.T) {
	t.Parallel()
	_, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	answers := map[string]apiResult{}
	answers["credentials (csv)"] = call(t, "POST", url+wy+"/credentials?format=csv", op, auth.IssueRequest{})
	answers["reissue (xlsx)"] = call(t, "POST", url+wy+"/credentials/reissue?format=xlsx", op, auth.ReissueRequest{UnitID: 1})
	answers["reissue (json)"] = call(t, "POST", url+wy+"/credentials/reissue?format=json", op, auth.ReissueRequest{UnitID: 1})
	answers["password reset"] = call(t, "POST", url+wy+"/accounts/1/password-reset", op, nil)
	first := decode[auth.IssuedCredential](t, answers["password reset"])
	answers["account login"] = call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: first.Login, Password: first.Password})
	session := decode[auth.Tokens](t, answers["account login"])
	answers["password change"] = call(t, "POST", url+"/v1/auth/password", session.AccessToken, auth.PasswordChange{Current: first.Password, New: "Gd-wengyuan-2026"})
	session = decode[auth.Tokens](t, answers["password change"])
	answers["refresh"] = call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": session.RefreshToken})
	answers["API token"] = call(t, "POST", url+"/v1/auth/tokens", session.AccessToken, auth.TokenRequest{Name: "nightly"})
	answers["operator added"] = call(t, "POST", url+"/v1/operators", op, auth.OperatorInput{Login: "zhang.wei", Name: "张伟"})
	added := decode[auth.IssuedCredential](t, answers["operator added"])
	answers["operator login"] = call(t, "POST", url+"/v1/auth/login", "", auth.Credentials{Login: "zhang.wei", Password: added.Password})
	answers["operator reset"] = call(t, "POST", url+"/v1/operators/"+itoa(added.AccountID)+"/password-reset", op, nil)
	for what, r := range answers {
		if r.status >= 300 || !carriesSecret(r) {
			t.Errorf("%s: %d %.200s; want a secret", what, r.status, r.body)
		}
		checkSafetyHeaders(t, what, r)
	}
}
