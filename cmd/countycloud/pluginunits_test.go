package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// TestAModuleRunsItsWorkflowsForUnitsThroughTheTypedSDK: a module starts
// an instance for a unit, distributes a document to two units and routes
// a message, through the SDK's typed calls and the real engine, and lists
// its own instances and tasks page by page. A unit of the other county is
// refused with nothing started; a clerk of another unit cannot act;
// another module neither lists nor acts on them; the other county's
// module sees none of them.
func TestAModuleRunsItsWorkflowsForUnitsThroughTheTypedSDK(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join("testdata", "unitsplugin")
	sums := map[string]string{"dispatch": buildPlugin(t, src, dir, "dispatch-1.0.0"), "other": buildPlugin(t, src, dir, "other-1.0.0", "-ldflags", "-X main.id=other")}
	db, _, url, env := twoCounties(t, map[string]string{"wyclerk": auth.RoleClerk}, func(c *config.Server) { c.PluginDir, c.PublicRate = dir, 100 })
	operator := env["COUNTYCLOUD_TOKEN"]
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	for county, units := range map[string]int{wy: 2, lc: 4} {
		e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}
		for i := range units {
			mustCLI(t, e, "org", "units", "create", "--name", "单位"+itoa(int64(i+2)))
			if county == wy {
				mustCLI(t, e, "org", "accounts", "create", "--login", "rc"+itoa(int64(i+2)), "--name", "收文员", "--unit", itoa(int64(i+2)), "--role", auth.RoleClerk)
			}
		}
	}
	for _, p := range []string{"dispatch", "other"} {
		mustCLI(t, env, "plugin", "register", p+"-1.0.0", "--sha256", sums[p])
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": wy}, "plugin", "enable", p)
	}
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": lc}, "plugin", "enable", "dispatch")
	people := loginAs(t, db, url, operator, wy)
	lechang := loginAs(t, db, url, operator, lc)["lcadmin"]
	base := url + "/v1/tenants/" + wy + "/modules/dispatch"
	other := url + "/v1/tenants/" + wy + "/modules/other"
	count := func(where string) int {
		t.Helper()
		var n int
		if err := db.Server.Get(&n, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_instances WHERE "+where); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// A subject unit: unit 5 is Lechang's, unknown in Wengyuan.
	if r := call(t, "POST", base+"/start/receive", people["wyclerk"], map[string]any{"title": "来文", "subject_unit_id": 5}); r.status != 400 || count("1") != 0 {
		t.Fatalf("a subject unit of the other county: %d %s, %d instances", r.status, r.body, count("1"))
	}
	r := call(t, "POST", base+"/start/receive", people["wyclerk"], map[string]any{"title": "来文", "subject_unit_id": 3})
	want(t, "start for unit 3", r, 200, "")
	received := decode[sdk.Outcome](t, r)
	if received.Instance.Workflow != "dispatch.receive" || received.Instance.SubjectUnitID != 3 || received.Opened[0].UnitID != 3 {
		t.Fatalf("started for unit 3: %+v", received)
	}

	// An item's promised limit given at the start: the receiving
	// definition has none of its own.
	promised := decode[sdk.Outcome](t, call(t, "POST", base+"/start/receive", people["wyclerk"], map[string]any{"title": "承诺件", "subject_unit_id": 3, "time_limit_days": 20}))
	if received.Instance.DueAt != nil || promised.Instance.DueAt == nil || !promised.Instance.DueAt.After(*promised.Opened[0].DueAt) {
		t.Fatalf("a start with its own limit: due %v (its first step %v)", promised.Instance.DueAt, promised.Opened[0].DueAt)
	}

	// Another module names only its own workflows: dispatch's is no
	// local code of its manifest.
	if r := call(t, "POST", other+"/start/dispatch.receive", people["wyclerk"], map[string]any{"title": "冒名", "subject_unit_id": 3}); r.status != 404 || count("1") != 2 {
		t.Fatalf("another module starts dispatch's workflow: %d %s, %d instances", r.status, r.body, count("1"))
	}

	// Distribution, all or none.
	send := decode[sdk.Outcome](t, call(t, "POST", base+"/start/send", people["wyclerk"], map[string]any{"title": "关于安全检查的通知"}))
	act := fmt.Sprintf("%s/tasks/%d/distribute", base, send.Opened[0].ID)
	if r := call(t, "POST", act, people["wyclerk"], map[string]any{"recipient_unit_ids": []int64{2, 5}}); r.status != 400 || count("parent_id IS NOT NULL") != 0 {
		t.Fatalf("a recipient of the other county: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", act, people["rc2"], map[string]any{"recipient_unit_ids": []int64{2, 3}}); r.status != 403 || count("parent_id IS NOT NULL") != 0 {
		t.Fatalf("a clerk of another unit distributes: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", fmt.Sprintf("%s/tasks/%d/distribute", other, send.Opened[0].ID), people["wyclerk"], map[string]any{"recipient_unit_ids": []int64{2}}); r.status != 404 {
		t.Fatalf("another module acts on the task: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", act, people["wyclerk"], map[string]any{"recipient_unit_ids": []int64{2, 3}, "recipient_time_limit_days": []int{5}}); r.status != 400 || count("parent_id IS NOT NULL") != 0 {
		t.Fatalf("one limit for two recipients: %d %s", r.status, r.body)
	}
	// Each department its own limit (联合审批).
	r = call(t, "POST", act, people["wyclerk"], map[string]any{"recipient_unit_ids": []int64{2, 3}, "recipient_time_limit_days": []int{1, 30}})
	want(t, "distribute", r, 200, "")
	sent := decode[sdk.Outcome](t, r)
	if sent.Instance.Status != "done" || len(sent.Distributed) != 2 || sent.Distributed[0].SubjectUnitID != 2 || *sent.Distributed[1].ParentID != send.Instance.ID {
		t.Fatalf("distributed %+v", sent)
	}
	if d := sent.Distributed; d[0].DueAt == nil || d[1].DueAt == nil || !d[0].DueAt.Before(*d[1].DueAt) {
		t.Fatalf("the recipients' own limits: due %v and %v", d[0].DueAt, d[1].DueAt)
	}

	// Suspension (补正): a recipient's clerk suspends the whole from the
	// sending instance; its other recipient waits too, and nobody acts;
	// the applicant resumes it on the module's public route.
	suspend := fmt.Sprintf("%s/instances/%d/suspend", base, send.Instance.ID)
	if r := call(t, "POST", suspend, people["wyclerk"], map[string]any{"reason": "缺材料"}); r.status != 403 || count("status = 'suspended'") != 0 {
		t.Fatalf("the sender, with no task left in it, suspends: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", fmt.Sprintf("%s/instances/%d/suspend", other, send.Instance.ID), people["rc2"], map[string]any{"reason": "缺材料"}); r.status != 404 {
		t.Fatalf("another module suspends dispatch's instance: %d %s", r.status, r.body)
	}
	r = call(t, "POST", suspend, people["rc2"], map[string]any{"reason": "缺少环评批复"})
	want(t, "suspend", r, 200, "")
	if got := decode[[]sdk.Instance](t, r); len(got) != 2 || got[1].Status != "suspended" || count("status = 'suspended'") != 2 {
		t.Fatalf("suspended %+v", got)
	}
	waiting := decode[[]sdk.Task](t, call(t, "GET", fmt.Sprintf("%s/tasks?status=suspended&parent_id=%d", base, send.Instance.ID), people["wyclerk"], nil))
	if len(waiting) != 2 {
		t.Fatalf("the suspended tasks: %+v", waiting)
	}
	if r := call(t, "POST", fmt.Sprintf("%s/tasks/%d/sign_in", base, waiting[1].ID), people["rc3"], nil); r.status != 409 {
		t.Fatalf("signing in a suspended task: %d %s", r.status, r.body)
	}
	resume := fmt.Sprintf("/modules/dispatch/public/resume/%d", send.Instance.ID)
	if r := call(t, "POST", url+"/v1/public/"+lc+resume, "", nil); r.status != 404 || count("status = 'suspended'") != 2 {
		t.Fatalf("the applicant resumes in the other county: %d %s", r.status, r.body)
	}
	r = call(t, "POST", url+"/v1/public/"+wy+resume, "", nil)
	want(t, "the applicant resumes", r, 200, "")
	if got := decode[[]sdk.Instance](t, r); len(got) != 2 || got[0].Status != "running" || count("status = 'suspended'") != 0 {
		t.Fatalf("resumed %+v", got)
	}

	// Routing.
	msg := decode[sdk.Outcome](t, call(t, "POST", base+"/start/message", people["wyclerk"], map[string]any{"title": "路灯不亮"}))
	assign := fmt.Sprintf("%s/tasks/%d/assign", base, msg.Opened[0].ID)
	if r := call(t, "POST", assign, people["wyclerk"], map[string]any{"route_unit_id": 5}); r.status != 400 {
		t.Fatalf("a route to the other county's unit: %d %s", r.status, r.body)
	}
	routed := decode[sdk.Outcome](t, call(t, "POST", assign, people["wyclerk"], map[string]any{"route_unit_id": 2}))
	if routed.Instance.SubjectUnitID != 2 || routed.Opened[0].UnitID != 2 || routed.Opened[0].Step != "answer" {
		t.Fatalf("routed %+v", routed)
	}

	// The module's lists: its own workflows, in its county, page by page.
	children := decode[[]sdk.Instance](t, call(t, "GET", fmt.Sprintf("%s/instances?parent_id=%d", base, send.Instance.ID), people["wyclerk"], nil))
	if len(children) != 2 || children[0].Workflow != "dispatch.receive" {
		t.Errorf("the distributed instances: %+v", children)
	}
	open := decode[[]sdk.Task](t, call(t, "GET", base+"/tasks?status=open&unit_id=2", people["wyclerk"], nil))
	if len(open) != 2 || open[0].Step != "sign_in" || open[1].Step != "answer" || open[1].Title != "路灯不亮" {
		t.Errorf("unit 2's open tasks: %+v", open)
	}
	var pages []int64
	for after := int64(0); ; {
		page := decode[[]sdk.Instance](t, call(t, "GET", fmt.Sprintf("%s/instances?limit=2&after=%d", base, after), people["wyclerk"], nil))
		if len(page) == 0 {
			break
		}
		for _, inst := range page {
			pages = append(pages, inst.ID)
		}
		after = page[len(page)-1].ID
	}
	if len(pages) != 6 {
		t.Errorf("paged through instances %v, want 6", pages)
	}
	if r := call(t, "GET", base+"/instances?workflow=nosuch", people["wyclerk"], nil); r.status != 404 {
		t.Errorf("a workflow the manifest lacks: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", base+"/tasks?status=sleeping", people["wyclerk"], nil); r.status != 400 {
		t.Errorf("a status tasks never have: %d %s", r.status, r.body)
	}
	for what, path := range map[string]string{"another module's instances": other + "/instances", "another module's tasks": other + "/tasks",
		"the other county's": url + "/v1/tenants/" + lc + "/modules/dispatch/instances"} {
		who := people["wyclerk"]
		if what == "the other county's" {
			who = lechang
		}
		r := call(t, "GET", path, who, nil)
		if r.status != 200 || string(bytes.TrimSpace(r.body)) != "[]" {
			t.Errorf("%s: %d %s", what, r.status, r.body)
		}
	}
	view := decode[sdk.InstanceView](t, call(t, "GET", fmt.Sprintf("%s/instances/%d", base, routed.Instance.ID), people["wyclerk"], nil))
	if view.SubjectUnitID != 2 || len(view.Tasks) != 2 || len(view.History) != 2 {
		t.Errorf("the routed message: %+v", view)
	}

	// A citizen's submission starts the workflow the manifest lets public
	// routes start, for the unit the module names, and nothing else.
	publicStart := func(county, workflow string, unit int64) apiResult {
		t.Helper()
		return call(t, "POST", url+"/v1/public/"+county+"/modules/dispatch/public/start/"+workflow, "", map[string]any{"title": "群众来信", "subject_unit_id": unit})
	}
	before := count("1")
	for _, bad := range []struct {
		what, county, workflow string
		unit                   int64
		status                 int
	}{
		{"a workflow public_start does not list", wy, "message", 2, 403},
		{"another module's workflow", wy, "other.receive", 2, 404},
		{"no subject unit", wy, "receive", 0, 400},
		{"the other county's unit", wy, "receive", 5, 400},
		{"a unit of the other county that nobody staffs", lc, "receive", 2, 400},
	} {
		if r := publicStart(bad.county, bad.workflow, bad.unit); r.status != bad.status {
			t.Errorf("%s: %d %s, want %d", bad.what, r.status, r.body, bad.status)
		}
	}
	if n := count("1"); n != before {
		t.Fatalf("refused public starts started %d instances", n-before)
	}
	r = publicStart(wy, "receive", 2)
	want(t, "a citizen's submission starts its workflow", r, 200, "")
	submitted := decode[sdk.Outcome](t, r)
	if i := submitted.Instance; i.InitiatorID != 0 || i.InitiatorUnitID != 2 || i.SubjectUnitID != 2 || len(submitted.Opened) != 1 || submitted.Opened[0].UnitID != 2 {
		t.Fatalf("the citizen's instance %+v", submitted)
	}
	wySchema := "`" + db.SchemaPrefix + "gd_shaoguan_wengyuan`."
	var attributed int
	if err := db.Server.Get(&attributed, "SELECT COUNT(*) FROM "+wySchema+"workflow_history h JOIN "+wySchema+"audit_log a ON a.object_id = h.instance_id "+
		"AND a.action = 'workflow.start' AND a.actor_kind = 'anonymous' AND a.actor_login = h.actor_login AND a.source = 'plugin:dispatch' "+
		"WHERE h.instance_id = ? AND h.action = 'start' AND h.actor_id IS NULL AND h.actor_login = 'anonymous@127.0.0.1'", submitted.Instance.ID); err != nil || attributed != 1 {
		t.Errorf("the start's history and audit entry name the citizen by address and the module: %d, %v", attributed, err)
	}
	var lechangInstances int
	if err := db.Server.Get(&lechangInstances, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_lechang`.workflow_instances"); err != nil || lechangInstances != 0 {
		t.Errorf("lechang has %d instances: %v", lechangInstances, err)
	}
	if r := call(t, "POST", fmt.Sprintf("%s/tasks/%d/sign_in", base, submitted.Opened[0].ID), people["rc2"], nil); r.status != 200 {
		t.Errorf("the subject unit's clerk signs the citizen's submission in: %d %s", r.status, r.body)
	}
}

// TestTheSDKsTypesHoldEverythingTheEngineAnswers: the engine's outcome,
// instance view and task list, every field set, decode into the SDK's
// types with no field unknown to them.
func TestTheSDKsTypesHoldEverythingTheEngineAnswers(t *testing.T) {
	now := time.Now().UTC()
	s, n, status := "x", int64(1), workday.Official
	task := workflow.Task{ID: 1, InstanceID: 1, Step: "s", StepName: "s", JoinStep: &s, AccountID: &n, Role: &s, UnitID: 1, Status: "open", Level: 1,
		SMSReminder: true, CreatedAt: now, WarnAt: &now, DueAt: &now, DueCalendar: &status, ActedBy: &n, ActedAt: &now, Action: &s, Comment: &s, Version: 1}
	inst := workflow.Instance{ID: 1, Workflow: "m.w", Revision: 1, Title: "t", Reference: &s, InitiatorID: 1, InitiatorUnitID: 1, SubjectUnitID: 2,
		ParentID: &n, Status: "done", StartedAt: now, DueAt: &now, DueCalendar: &status, FinishedAt: &now}
	for name, c := range map[string]struct {
		from any
		into any
	}{
		"outcome":   {workflow.Outcome{Instance: inst, Acted: &task, Opened: []workflow.Task{task}, Distributed: []workflow.Instance{inst}}, &sdk.Outcome{}},
		"view":      {workflow.InstanceView{Instance: inst, Tasks: []workflow.Task{task}, History: []workflow.HistoryEntry{{ID: 1, TaskID: &n, Step: "s", Action: "a", ActorID: &n, ActorLogin: "l", At: now, Comment: &s}}}, &sdk.InstanceView{}},
		"task list": {[]workflow.InboxItem{{Task: task, Title: "t", Workflow: "m.w"}}, &[]sdk.Task{}},
	} {
		b, err := json.Marshal(c.from)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c.into); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		back, err := json.Marshal(c.into)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back, b) {
			t.Errorf("%s loses something:\nengine %s\nsdk    %s", name, b, back)
		}
	}
}
