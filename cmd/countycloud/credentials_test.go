package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
)

// TestASecondCredentialSheetSaysThePasswordsWereHandedOut: the CSV asked
// for after the XLSX is not an empty sheet but an answer saying why and
// how to reissue, through the API and the CLI.
func TestASecondCredentialSheetSaysThePasswordsWereHandedOut(t *testing.T) {
	t.Parallel()
	_, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	want(t, "the first sheet", call(t, "POST", url+wy+"/credentials?format=xlsx", op, nil), 200, "")
	again := call(t, "POST", url+wy+"/credentials?format=csv", op, nil)
	want(t, "the CSV after the XLSX", again, 409, auth.CodeCredentialsIssued)
	for _, says := range []string{"2 active accounts", "shows each password once", "credentials reissue", "/credentials/reissue"} {
		if !strings.Contains(string(again.body), says) {
			t.Errorf("the second sheet's answer does not say %q: %s", says, again.body)
		}
	}
	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	out := filepath.Join(t.TempDir(), "初始密码.xlsx")
	if r := cli(t, e, "org", "credentials", "issue", "--out", out); r.code != exitFailed || !strings.Contains(r.stderr, "credentials reissue") {
		t.Errorf("the CLI's second issue: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused sheet left a file behind")
	}
	mustCLI(t, e, "org", "units", "create", "--name", "县档案馆")
	want(t, "a unit without accounts", call(t, "POST", url+wy+"/credentials?format=json", op, auth.IssueRequest{UnitID: 2}), 409, auth.CodeNoActiveAccounts)
	trail := decode[audit.Page](t, call(t, "GET", url+wy+"/audit?action=auth.credentials&outcome=refused", op, nil))
	if len(trail.Entries) != 3 {
		t.Errorf("%d refused sheets in the trail, want 3: %+v", len(trail.Entries), trail.Entries)
	}
}

// TestReissuedPasswordsReplaceTheOldOnes: a county admin reissues a
// clerk's password through the CLI; the old password, session and API
// token stop working, the new password must be changed, the trail has it,
// and another county's admin reaches none of it.
func TestReissuedPasswordsReplaceTheOldOnes(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy, lc = "/v1/tenants/gd.shaoguan.wengyuan", "/v1/tenants/gd.shaoguan.lechang"
	r := call(t, "POST", url+wy+"/credentials?format=json", op, nil)
	want(t, "first passwords", r, 200, "")
	first := map[string]string{}
	for _, c := range decode[[]auth.IssuedCredential](t, r) {
		first[c.Login] = c.Password
	}
	login := func(who, password string) apiResult {
		return call(t, "POST", url+wy+"/auth/login", "", auth.Credentials{Login: who, Password: password})
	}
	admin := decode[auth.Tokens](t, login("wyadmin", first["wyadmin"]))
	admin = decode[auth.Tokens](t, call(t, "POST", url+"/v1/auth/password", admin.AccessToken, auth.PasswordChange{Current: first["wyadmin"], New: "Wengyuan-admin-2026"}))
	clerk := decode[auth.Tokens](t, login("wyclerk", first["wyclerk"]))
	clerk = decode[auth.Tokens](t, call(t, "POST", url+"/v1/auth/password", clerk.AccessToken, auth.PasswordChange{Current: first["wyclerk"], New: "Wengyuan-clerk-2026"}))
	r = call(t, "POST", url+"/v1/auth/tokens", clerk.AccessToken, auth.TokenRequest{Name: "export", Scopes: []string{"read"}, ExpiresInDays: 30})
	want(t, "the clerk's API token", r, 201, "")
	apiToken := decode[auth.NewAPIToken](t, r).Token
	lcadmin := loginAs(t, db, url, op, "gd.shaoguan.lechang")["lcadmin"]
	want(t, "a second unit", call(t, "POST", url+wy+"/units", op, map[string]string{"name": "县档案馆"}), 201, "")

	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	before := countyFingerprint(t, db, schema)
	want(t, "another county's admin on its path", call(t, "POST", url+wy+"/credentials/reissue?format=json", lcadmin, auth.ReissueRequest{Logins: []string{"wyclerk"}}), 404, "tenant_not_found")
	want(t, "another county's admin naming its login", call(t, "POST", url+lc+"/credentials/reissue?format=json", lcadmin, auth.ReissueRequest{Logins: []string{"wyclerk"}}), 404, auth.CodeAccountNotFound)
	want(t, "another county's admin naming its unit", call(t, "POST", url+lc+"/credentials/reissue?format=json", lcadmin, auth.ReissueRequest{UnitID: 2}), 404, "unit_not_found")
	want(t, "neither logins nor a unit", call(t, "POST", url+wy+"/credentials/reissue?format=json", admin.AccessToken, auth.ReissueRequest{}), 400, auth.CodeInvalidReissue)
	want(t, "a login the county lacks", call(t, "POST", url+wy+"/credentials/reissue?format=json", admin.AccessToken, auth.ReissueRequest{Logins: []string{"wyclerk", "nobody"}}), 404, auth.CodeAccountNotFound)
	if after := countyFingerprint(t, db, schema); after != before {
		t.Errorf("refused reissues changed the county:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": admin.AccessToken, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if r := cli(t, e, "org", "credentials", "reissue"); r.code != exitUsage {
		t.Errorf("reissue naming nobody: exit %d %s", r.code, r.stderr)
	}
	var reissued []auth.IssuedCredential
	if err := json.Unmarshal([]byte(mustCLI(t, e, "org", "credentials", "reissue", "--login", "wyclerk", "-o", "json")), &reissued); err != nil ||
		len(reissued) != 1 || reissued[0].Login != "wyclerk" || reissued[0].Password == "" {
		t.Fatalf("reissue: %v %+v", err, reissued)
	}
	want(t, "the old password", login("wyclerk", "Wengyuan-clerk-2026"), 401, auth.CodeLoginFailed)
	want(t, "the old session", call(t, "GET", url+wy+"/units", clerk.AccessToken, nil), 401, auth.CodeTokenRevoked)
	want(t, "the old refresh token", call(t, "POST", url+"/v1/auth/refresh", "", map[string]string{"refresh_token": clerk.RefreshToken}), 401, "")
	want(t, "the old API token", call(t, "GET", url+wy+"/units", apiToken, nil), 401, auth.CodeTokenRevoked)
	r = login("wyclerk", reissued[0].Password)
	want(t, "the new password", r, 200, "")
	if !decode[auth.Tokens](t, r).Principal.MustChange {
		t.Error("a reissued password does not have to be changed")
	}
	want(t, "the county admin is untouched", call(t, "GET", url+wy+"/units", admin.AccessToken, nil), 200, "")

	out := filepath.Join(t.TempDir(), "新密码.csv")
	if got := mustCLI(t, e, "org", "credentials", "reissue", "--unit", "1", "--format", "csv", "--out", out); !strings.Contains(got, "Wrote") {
		t.Errorf("reissue a unit: %s", got)
	}
	if sheet, err := os.ReadFile(out); err != nil || !strings.Contains(string(sheet), "wyclerk") || !strings.Contains(string(sheet), "wyadmin") {
		t.Errorf("the unit's sheet: %v %s", err, sheet)
	}
	if r := cli(t, e, "org", "credentials", "reissue", "--unit", "1", "--format", "csv", "--out", out); r.code != exitUsage || !strings.Contains(r.stderr, "exists") {
		t.Errorf("a sheet written over another: exit %d %s", r.code, r.stderr)
	}
	trail := decode[audit.Page](t, call(t, "GET", url+wy+"/audit?action=auth.credentials.reissue&outcome=ok", op, nil))
	if len(trail.Entries) != 3 || trail.Entries[0].ActorLogin != "wyadmin" {
		t.Errorf("the trail of the reissues (one account, then a unit of two): %+v", trail.Entries)
	}
}
