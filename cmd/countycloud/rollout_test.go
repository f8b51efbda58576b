package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// basicTemplate is a province's own template whose checks read measures
// every county has: its key units' logins in preparation, inbox notices
// delivered in testing.
const basicTemplate = `{"id":"gd.basic","name":{"zh-CN":"广东省基本推广计划","en":"Guangdong basic rollout"},"phases":[
 {"phase":"preparation","days":30,"tasks":[
  {"id":"modules.enable","name":{"zh-CN":"开通模块","en":"Enable the modules"},"owner":"province","due_days":0,"kind":"automatic","action":"enable_modules"},
  {"id":"groups.formed","name":{"zh-CN":"成立工作小组","en":"Form the working groups"},"owner":"county","due_days":5,"kind":"manual"},
  {"id":"logins.first","name":{"zh-CN":"重点单位人员登录","en":"The key units' staff sign in"},"owner":"unit","due_days":20,"kind":"evidence","modules":["oa"],
   "check":{"measure":"platform.logins","scope":"key_units","at_least":1}}],
  "gate":["groups.formed","logins.first"]},
 {"phase":"testing","days":14,"tasks":[
  {"id":"notices.test_sent","name":{"zh-CN":"发送测试通知","en":"Send the test notices"},"owner":"province","due_days":0,"kind":"automatic","action":"send_test_notices"},
  {"id":"notices.delivered","name":{"zh-CN":"通知送达","en":"Notices delivered"},"owner":"county","due_days":10,"kind":"evidence",
   "check":{"measure":"platform.notices.delivered.inbox","scope":"county","at_least":2}}],"gate":["notices.delivered"]},
 {"phase":"trial","days":30,"tasks":[]},{"phase":"formal","tasks":[]},{"phase":"expansion","tasks":[]}]}`

func TestARolloutRouteServesOnlyWhomItIsFor(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wyclerk": auth.RoleClerk})
	op := env["COUNTYCLOUD_TOKEN"]
	const wy = "gd.shaoguan.wengyuan"
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": wy}
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "发改局", "--code", "FGJ")
	mustCLI(t, wyEnv, "org", "accounts", "create", "--login", "fgstaff", "--name", "发改局人员", "--unit", "2")
	tokens := loginAs(t, db, url, op, "gd.shaoguan.lechang")
	lcadmin := tokens["lcadmin"]
	base := url + "/v1/tenants/" + wy + "/rollout"

	// The province's template: its operators' alone, refused whole when
	// it cannot be followed.
	dir := t.TempDir()
	file := filepath.Join(dir, "template.json")
	if err := os.WriteFile(file, []byte(basicTemplate), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(strings.Replace(basicTemplate, `"gate":["notices.delivered"]`, `"gate":["notices.sent"]`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, env, "rollout", "templates", "put", "--file", bad); r.code == 0 || !strings.Contains(r.stderr, `phases[1].gate[0]: "notices.sent" is not a task of the phase`) {
		t.Errorf("a template gating on a missing task: %d %s", r.code, r.stderr)
	}
	want(t, "a county admin puts a template", call(t, "PUT", url+"/v1/rollout/templates", lcadmin, rollout.DefaultTemplate()), 403, "")
	mustCLI(t, env, "rollout", "templates", "put", "--file", file)
	if r := mustCLI(t, env, "rollout", "templates", "list"); !strings.Contains(r, "gd.basic") || !strings.Contains(r, "default") {
		t.Errorf("templates: %s", r)
	}

	// Planning is the province's; a county admin of another county reaches
	// nothing of Wengyuan's.
	if r := call(t, "POST", base+"/plan", lcadmin, rollout.PlanInput{Template: "gd.basic", KeyUnits: map[string][]string{"oa": {"FGJ"}}}); r.status != 403 && r.status != 404 {
		t.Errorf("Lechang's admin plans Wengyuan: %d %s", r.status, r.body)
	}
	if r := cli(t, env, "rollout", "plan", "create", wy, "--template", "gd.basic", "--key-units", "oa=FGJ,SJJ"); r.code == 0 || !strings.Contains(r.stderr, `the county has no unit "SJJ"`) {
		t.Errorf("a plan with another county's unit: %d %s", r.code, r.stderr)
	}
	mustCLI(t, env, "rollout", "plan", "create", wy, "--template", "gd.basic", "--key-units", "oa=FGJ")
	// Entering preparation enables the plan's modules, once the sweep
	// runs (every half minute on a server; here, now).
	if err := p.rollout.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", url+"/v1/tenants/"+wy+"/modules/oa", op, nil); r.status != 200 || !strings.Contains(string(r.body), `"enabled":true`) {
		t.Errorf("oa after preparation started: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/plan", "/status", "/changes"} {
		if r := call(t, "GET", base+path, lcadmin, nil); r.status != 403 && r.status != 404 {
			t.Errorf("Lechang's admin reads Wengyuan's %s: %d %s", path, r.status, r.body)
		}
	}
	if r := call(t, "POST", base+"/tasks/groups.formed/done", lcadmin, rollout.DoneInput{}); r.status != 403 && r.status != 404 {
		t.Errorf("Lechang's admin marks Wengyuan's task: %d %s", r.status, r.body)
	}

	wyTokens := loginAs(t, db, url, op, wy)
	admin, clerk := wyTokens["wyadmin"], wyTokens["wyclerk"]
	want(t, "a clerk reads the status", call(t, "GET", base+"/status", clerk, nil), 403, "")
	want(t, "the county's admin reads its status", call(t, "GET", base+"/status", admin, nil), 200, "")
	want(t, "the county's admin plans", call(t, "PUT", base+"/plan", admin, rollout.EditInput{Version: 1}), 403, "")
	want(t, "the county's admin advances", call(t, "POST", base+"/advance", admin, rollout.AdvanceInput{From: "preparation"}), 403, "")
	want(t, "the county's admin waives", call(t, "POST", base+"/tasks/logins.first/waive", admin, rollout.WaiveInput{Reason: "x"}), 403, "")
	want(t, "a body with a field of its own", call(t, "POST", base+"/advance", op, map[string]string{"from": "preparation", "to": "formal"}), 400, "")
	want(t, "a waiver without a reason", call(t, "POST", base+"/tasks/groups.formed/waive", op, rollout.WaiveInput{}), 400, rollout.CodeReasonRequired)

	// fgstaff signed in (loginAs): the key unit's login is the evidence;
	// the manual task is still open.
	r := call(t, "POST", base+"/advance", op, rollout.AdvanceInput{From: "preparation"})
	want(t, "an early advance", r, 409, rollout.CodeGateClosed)
	if !strings.Contains(string(r.body), "groups.formed") || strings.Contains(string(r.body), "logins.first") {
		t.Errorf("the refusal lists what does not pass: %s", r.body)
	}
	want(t, "the county's admin marks its task", call(t, "POST", base+"/tasks/groups.formed/done", admin, rollout.DoneInput{Note: "领导小组已成立"}), 200, "")
	status := mustCLI(t, env, "rollout", "status", wy)
	if !strings.Contains(status, "2 of 2 pass") || !strings.Contains(status, "1/1 ≥ 1") {
		t.Errorf("the status:\n%s", status)
	}
	if out := mustCLI(t, env, "rollout", "advance", wy); !strings.Contains(out, "testing") {
		t.Errorf("advance: %s", out)
	}
	if r := cli(t, env, "rollout", "advance", wy, "--from", "preparation"); r.code == 0 || !strings.Contains(r.stderr, rollout.CodeStalePlan) {
		t.Errorf("advancing twice: %d %s", r.code, r.stderr)
	}
	// Testing sends the IT office's test notices to every unit: three
	// inbox notices are the county's evidence of delivered notices.
	r = call(t, "POST", base+"/advance", op, rollout.AdvanceInput{From: "testing"})
	want(t, "advancing before the test notices", r, 409, rollout.CodeGateClosed)
	if err := p.rollout.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	want(t, "advancing after them", call(t, "POST", base+"/advance", op, rollout.AdvanceInput{From: "testing"}), 200, "")
	// The province's overview, kept by its job, is its operators' alone.
	if err := p.rollout.RefreshOverview(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, env, "rollout", "status", "--city", "gd.shaoguan"); !strings.Contains(out, wy) || !strings.Contains(out, "试运行") || !strings.Contains(out, "未制定计划") {
		t.Errorf("the overview:\n%s", out)
	}
	want(t, "a county admin reads the province's overview", call(t, "GET", url+"/v1/rollout/overview", admin, nil), 403, "")
	want(t, "an overview of a phase that is none", call(t, "GET", url+"/v1/rollout/overview?phase=launch", op, nil), 400, rollout.CodeInvalidFilter)
	changes := decode[[]rollout.Change](t, call(t, "GET", base+"/changes", admin, nil))
	if len(changes) != 3 || changes[1].To != "testing" || changes[2].To != "trial" {
		t.Errorf("changes: %+v", changes)
	}
}
