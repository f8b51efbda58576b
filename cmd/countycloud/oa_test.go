package main

import (
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
)

// oaCounties starts a platform with Wengyuan and Lechang, both running
// the oa module. Wengyuan's units are 1 县信息中心 (its admin), 2 县政府办
// (the sender: clerk gbclerk, business admin gbcheck, leader gblead,
// unit admin gbadmin), 3 民政局 and 4 财政局 (receivers: a clerk, a
// business admin and a leader each). It returns the tokens of
// Wengyuan's accounts and Lechang's admin (lcadmin), and the module's
// base URL in each county.
func oaCounties(t *testing.T) (tokens map[string]string, wy, lc string) {
	t.Helper()
	db, _, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	operator := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	for _, name := range []string{"县政府办", "民政局", "财政局"} {
		mustCLI(t, wyEnv, "org", "units", "create", "--name", name)
	}
	for _, a := range []struct {
		login, unit string
		roles       []string
	}{
		{"gbclerk", "2", []string{"clerk"}}, {"gbcheck", "2", []string{"business_admin"}}, {"gblead", "2", []string{"leader"}},
		{"gbadmin", "2", []string{"unit_admin"}},
		{"mzclerk", "3", []string{"clerk"}}, {"mzcheck", "3", []string{"business_admin"}}, {"mzlead", "3", []string{"leader"}},
		{"czclerk", "4", []string{"clerk"}}, {"czcheck", "4", []string{"business_admin"}}, {"czlead", "4", []string{"leader"}},
	} {
		args := []string{"org", "accounts", "create", "--login", a.login, "--name", "人员" + a.login, "--unit", a.unit}
		for _, r := range a.roles {
			args = append(args, "--role", r)
		}
		mustCLI(t, wyEnv, args...)
	}
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "oa")
	}
	tokens = loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	tokens["lcadmin"] = loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	return tokens, url + "/v1/tenants/gd.shaoguan.wengyuan/modules/oa", url + "/v1/tenants/gd.shaoguan.lechang/modules/oa"
}

// TestOfficialDocumentsTemplatesThroughTheHost: a unit's template is set
// by its admin, read by the county's accounts, and out of another
// county's reach.
func TestOfficialDocumentsTemplatesThroughTheHost(t *testing.T) {
	t.Parallel()
	tokens, wy, lc := oaCounties(t)
	wengfu := map[string]any{"header": "翁源县人民政府文件", "prefix": "翁府", "signature": "翁源县人民政府"}
	want(t, "a clerk sets a template", call(t, "PUT", wy+"/templates/2", tokens["gbclerk"], wengfu), 403, "forbidden")
	want(t, "another unit's admin sets it", call(t, "PUT", wy+"/templates/3", tokens["gbadmin"], wengfu), 403, "forbidden")
	want(t, "the unit's admin sets it", call(t, "PUT", wy+"/templates/2", tokens["gbadmin"], wengfu), 201, "")
	r := call(t, "GET", wy+"/templates/2", tokens["mzclerk"], nil)
	if want(t, "another unit reads it", r, 200, ""); !strings.Contains(string(r.body), `"prefix":"翁府"`) {
		t.Fatalf("template: %s", r.body)
	}
	want(t, "Lechang reads Wengyuan's template", call(t, "GET", lc+"/templates/2", tokens["lcadmin"], nil), 404, "template_not_found")
	r = call(t, "GET", lc+"/templates", tokens["lcadmin"], nil)
	if want(t, "Lechang's templates", r, 200, ""); strings.Contains(string(r.body), "翁府") {
		t.Fatalf("Lechang lists Wengyuan's template: %s", r.body)
	}
}
