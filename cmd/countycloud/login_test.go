package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
)

func TestLoginPrintsATokenAndChangesAHandedOutPassword(t *testing.T) {
	t.Parallel()
	_, _, url, env := twoCounties(t, map[string]string{"zhangsan": auth.RoleClerk})
	r := call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/credentials?format=json", env["COUNTYCLOUD_TOKEN"], auth.IssueRequest{})
	want(t, "issue credentials", r, 200, "")
	first := decode[[]auth.IssuedCredential](t, r)[0].Password

	county := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan", "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"]}
	if res := cliWithInput(t, "wrong-password\n", county, "login", "zhangsan"); res.code != exitFailed || !strings.Contains(res.stderr, auth.CodeLoginFailed) {
		t.Errorf("a wrong password: exit %d, %s", res.code, res.stderr)
	}
	if res := cliWithInput(t, first+"\n", county, "login", "zhangsan"); res.code != exitUsage || !strings.Contains(res.stderr, "new password") {
		t.Errorf("a handed-out password without a new one: exit %d, %s", res.code, res.stderr)
	}
	res := cliWithInput(t, first+"\nWengyuan#2026\n", county, "login", "zhangsan")
	if res.code != exitOK || !strings.Contains(res.stderr, "Logged in as 人员zhangsan (zhangsan)") {
		t.Fatalf("first login: exit %d, %s", res.code, res.stderr)
	}
	token := strings.TrimSpace(res.stdout)
	me := decode[auth.Principal](t, call(t, "GET", url+"/v1/auth/me", token, nil))
	if me.Login != "zhangsan" || me.Tenant != "gd.shaoguan.wengyuan" || me.MustChange {
		t.Errorf("the printed token is %+v", me)
	}

	// Later logins need the password once; -o json prints the tokens.
	res = cliWithInput(t, "Wengyuan#2026\n", county, "login", "zhangsan", "-o", "json")
	var tokens auth.Tokens
	if err := json.Unmarshal([]byte(res.stdout), &tokens); res.code != exitOK || err != nil || tokens.RefreshToken == "" {
		t.Errorf("login -o json: exit %d, %v, %s %s", res.code, err, res.stdout, res.stderr)
	}
	// Another county's login page does not know him.
	lechang := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TENANT": "gd.shaoguan.lechang"}
	if res := cliWithInput(t, "Wengyuan#2026\n", lechang, "login", "zhangsan"); res.code != exitFailed {
		t.Errorf("zhangsan logged in to Lechang: exit %d, %s", res.code, res.stderr)
	}
}
