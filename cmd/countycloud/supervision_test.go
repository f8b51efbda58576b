package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// TestElectronicSupervision follows a county's supervision through the
// API and the CLI: settings, the sweep's warnings and escalations, the
// supervisor's escalation and reassignment, statistics, events, and
// another county's staff refused all of it.
func TestElectronicSupervision(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin, "wysup": auth.RoleSupervisor, "wyclerk": auth.RoleClerk})
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	op := env["COUNTYCLOUD_TOKEN"]
	wyEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": wy}
	lcEnv := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": op, "COUNTYCLOUD_TENANT": lc}
	mustCLI(t, wyEnv, "org", "units", "create", "--name", "县监察局", "--code", "JCJ")
	mustCLI(t, wyEnv, "org", "accounts", "create", "--login", "wyjcj", "--name", "监察局监察员", "--unit", "2", "--role", auth.RoleSupervisor)
	mustCLI(t, lcEnv, "org", "accounts", "create", "--login", "lcsup", "--name", "乐昌监察员", "--unit", "1", "--role", auth.RoleSupervisor)
	tokens := loginAs(t, db, url, op, wy)
	lcTokens := loginAs(t, db, url, op, lc)
	schema := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	id := func(login string) int64 {
		var n int64
		if err := db.Server.Get(&n, "SELECT id FROM `"+schema+"`.accounts WHERE login = ?", login); err != nil {
			t.Fatal(err)
		}
		return n
	}
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.Server.Exec(strings.ReplaceAll(query, "§", "`"+schema+"`"), args...); err != nil {
			t.Fatal(err)
		}
	}
	// A document in 县信息中心: the clerk's task is past its warning, the
	// clerks' task a month past its deadline.
	now := time.Now().UTC()
	exec("INSERT INTO §.workflow_definitions (code, version, name, base, effective, created_at, updated_at, updated_by) VALUES ('receive', 1, '收文', '{}', '{}', ?, ?, 'test')", now, now)
	exec("INSERT INTO §.workflow_instances (id, definition_code, definition_version, title, initiator_id, initiator_unit_id, status, started_at) VALUES (1, 'receive', 1, '关于防汛工作的通知', ?, 1, 'running', ?)", id("wyadmin"), now)
	exec(`INSERT INTO §.workflow_tasks (id, instance_id, step, step_name, assignee_account_id, assignee_role, unit_id, status, created_at, warn_at, due_at, next_check_at) VALUES
(1, 1, 'handle', '办理', ?, NULL, 1, 'open', ?, ?, ?, ?), (2, 1, 'sign', '签收', NULL, 'clerk', 1, 'open', ?, ?, ?, ?)`,
		id("wyclerk"), now.Add(-48*time.Hour), now.Add(-time.Minute), now.Add(72*time.Hour), now.Add(-time.Minute),
		now.AddDate(0, 0, -40), now.AddDate(0, 0, -35), now.AddDate(0, 0, -30), now.AddDate(0, 0, -35))
	base := url + "/v1/tenants/" + wy + "/supervision"

	// Settings: the county admin's to change, checked whole.
	want(t, "settings by the supervisor", call(t, "GET", base+"/settings", tokens["wysup"], nil), 200, "")
	want(t, "settings by a clerk", call(t, "GET", base+"/settings", tokens["wyclerk"], nil), 403, auth.CodeForbidden)
	want(t, "settings changed by the supervisor", call(t, "PUT", base+"/settings", tokens["wysup"], map[string]any{"supervising_unit": "JCJ"}), 403, auth.CodeForbidden)
	bad := call(t, "PUT", base+"/settings", tokens["wyadmin"], map[string]any{"warn_share": 1.5, "supervising_unit": "NOPE"})
	want(t, "bad settings", bad, 400, supervision.CodeInvalidSettings)
	if !strings.Contains(string(bad.body), `"field":"warn_share"`) || !strings.Contains(string(bad.body), `"field":"supervising_unit"`) {
		t.Errorf("bad settings are not told field by field: %s", bad.body)
	}
	set := call(t, "PUT", base+"/settings", tokens["wyadmin"], map[string]any{"supervising_unit": "JCJ"})
	if set.status != 200 || !strings.Contains(string(set.body), `"supervising_unit_name":"县监察局"`) {
		t.Errorf("settings = %s", set.body)
	}

	// The minutely job sweeps every county.
	if err := p.supervision.SweepJob(context.Background(), jobs.Job{Kind: supervision.JobSweep}); err != nil {
		t.Fatal(err)
	}
	tasks := call(t, "GET", base+"/tasks", tokens["wysup"], nil)
	want(t, "warned tasks", tasks, 200, "")
	page := decode[supervision.TaskPage](t, tasks)
	if len(page.Tasks) != 2 || page.Tasks[0].ID != 2 || page.Tasks[0].Level != supervision.Red || page.Tasks[0].LateHours <= 0 ||
		page.Tasks[1].ID != 1 || page.Tasks[1].Level != supervision.Yellow || page.Tasks[1].Title != "关于防汛工作的通知" {
		t.Fatalf("warned tasks = %s", tasks.body)
	}
	want(t, "tasks by a clerk", call(t, "GET", base+"/tasks", tokens["wyclerk"], nil), 403, auth.CodeForbidden)
	want(t, "a colour that is no warning", call(t, "GET", base+"/tasks?level=green", tokens["wysup"], nil), 400, supervision.CodeInvalidQuery)
	var inbox int
	if err := db.Server.Get(&inbox, "SELECT COUNT(*) FROM `"+schema+"`.notifications WHERE channel = 'inapp' AND kind = 'escalation' AND account_id = ?", id("wyjcj")); err != nil || inbox != 1 {
		t.Errorf("the supervising unit's supervisor has %d escalations, %v", inbox, err)
	}

	// Another county's admin and supervisor get what a county that does
	// not exist gets, and change nothing.
	for _, who := range []string{"lcadmin", "lcsup"} {
		want(t, who+" reads Wengyuan's tasks", call(t, "GET", base+"/tasks", lcTokens[who], nil), 404, "tenant_not_found")
		want(t, who+" reads Wengyuan's stats", call(t, "GET", base+"/stats?from=2026-01-01&to=2026-12-31", lcTokens[who], nil), 404, "tenant_not_found")
		want(t, who+" escalates in Wengyuan", call(t, "POST", base+"/tasks/1/escalate", lcTokens[who], map[string]any{"note": "x"}), 404, "tenant_not_found")
		want(t, who+" reassigns in Wengyuan", call(t, "POST", base+"/tasks/1/reassign", lcTokens[who], map[string]any{"account_id": 1}), 404, "tenant_not_found")
		want(t, who+" reads Lechang's tasks", call(t, "GET", url+"/v1/tenants/"+lc+"/supervision/tasks", lcTokens[who], nil), 200, "")
	}
	want(t, "Lechang's task 1", call(t, "POST", url+"/v1/tenants/"+lc+"/supervision/tasks/1/escalate", lcTokens["lcsup"], map[string]any{}), 404, supervision.CodeTaskNotFound)

	// The supervisor escalates and reassigns, through the API and the CLI.
	sup := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wysup"], "COUNTYCLOUD_TENANT": wy}
	want(t, "escalate", call(t, "POST", base+"/tasks/1/escalate", tokens["wysup"], map[string]any{"note": "请说明进度"}), 200, "")
	if out := mustCLI(t, sup, "supervision", "escalate", "2", "--note", "已超期"); !strings.Contains(out, "escalated") {
		t.Errorf("supervision escalate:\n%s", out)
	}
	want(t, "reassign to nobody", call(t, "POST", base+"/tasks/1/reassign", tokens["wysup"], map[string]any{}), 400, supervision.CodeInvalidReassign)
	want(t, "reassign", call(t, "POST", base+"/tasks/1/reassign", tokens["wysup"], map[string]any{"account_id": id("wyadmin"), "note": "经办人出差"}), 200, "")
	want(t, "reassign again to the same", call(t, "POST", base+"/tasks/1/reassign", tokens["wysup"], map[string]any{"account_id": id("wyadmin")}), 400, supervision.CodeInvalidReassign)
	if r := cli(t, sup, "supervision", "reassign", "1"); r.code != exitUsage {
		t.Errorf("reassign without an assignee: exit %d %s", r.code, r.stderr)
	}
	var a supervision.Assignment
	if err := json.Unmarshal([]byte(mustCLI(t, sup, "supervision", "reassign", "1", "--unit", "1", "--role", "clerk", "-o", "json")), &a); err != nil || a.Role == nil || *a.Role != "clerk" || a.Version != 2 {
		t.Errorf("reassign to the clerks: %+v, %v", a, err)
	}
	events := decode[supervision.EventPage](t, call(t, "GET", base+"/events?task_id=1", tokens["wyadmin"], nil))
	var kinds []string
	for _, e := range events.Events {
		kinds = append(kinds, e.Kind)
	}
	if strings.Join(kinds, ",") != "reassigned,reassigned,escalated,warning" {
		t.Errorf("events of task 1 = %v", kinds)
	}
	trail := call(t, "GET", url+"/v1/tenants/"+wy+"/audit?action=supervision.task.reassign&outcome=ok", tokens["wyadmin"], nil)
	if strings.Count(string(trail.body), `"actor_login":"wysup"`) != 2 {
		t.Errorf("the trail of reassignments: %s", trail.body)
	}

	// Statistics over this year, and bad periods told as such.
	year := time.Now().Format("2006")
	stats := decode[supervision.Stats](t, call(t, "GET", base+"/stats?from="+year+"-01-01&to="+year+"-12-31", tokens["wysup"], nil))
	if len(stats.Units) != 1 || stats.Units[0].UnitID != 1 || stats.Units[0].OpenOverdue != 1 || stats.Total.Finished != 0 {
		t.Errorf("stats = %+v", stats)
	}
	for _, q := range []string{"", "?from=2026-01-01", "?from=2026-13-01&to=2026-12-31", "?from=2026-12-31&to=2026-01-01", "?from=2026-01-01&to=2026-12-31&unit_id=x"} {
		want(t, "stats"+q, call(t, "GET", base+"/stats"+q, tokens["wysup"], nil), 400, supervision.CodeInvalidQuery)
	}
	if out := mustCLI(t, sup, "supervision", "stats", "--from", year+"-01-01", "--to", year+"-12-31"); !strings.Contains(out, "县信息中心 (1)") || !strings.Contains(out, "total") {
		t.Errorf("supervision stats:\n%s", out)
	}
	if r := cli(t, sup, "supervision", "stats", "--from", "2026-12-31", "--to", "2026-01-01"); r.code != exitFailed || !strings.Contains(r.stderr, supervision.CodeInvalidQuery) {
		t.Errorf("stats from after to: exit %d %s", r.code, r.stderr)
	}
	if out := mustCLI(t, sup, "supervision", "tasks", "--level", "red"); !strings.Contains(out, "关于防汛工作的通知") || !strings.Contains(out, "red") {
		t.Errorf("supervision tasks:\n%s", out)
	}
	if out := mustCLI(t, sup, "supervision", "settings"); !strings.Contains(out, "JCJ (县监察局)") || !strings.Contains(out, "0.8") {
		t.Errorf("supervision settings:\n%s", out)
	}
	admin := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"], "COUNTYCLOUD_TENANT": wy}
	if out := mustCLI(t, admin, "supervision", "settings", "--warn-share", "0.7", "-o", "json"); !strings.Contains(out, `"warn_share": 0.7`) {
		t.Errorf("supervision settings --warn-share:\n%s", out)
	}
	if out := mustCLI(t, sup, "supervision", "events", "--task", "2"); !strings.Contains(out, "overdue") || !strings.Contains(out, "已超期") {
		t.Errorf("supervision events:\n%s", out)
	}
	if out := mustCLI(t, sup, "supervision", "--help"); !strings.Contains(out, "reassign") || !strings.Contains(out, "stats") {
		t.Errorf("supervision --help:\n%s", out)
	}

	// Lechang's schema saw none of it.
	var n int
	if err := db.Server.Get(&n, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_lechang`.supervision_events"); err != nil || n != 0 {
		t.Errorf("Lechang has %d supervision events, %v", n, err)
	}
}
