package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/measure"
	flow "github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// notice is a small workflow: a clerk of the initiator's unit drafts, its
// leader approves or sends it back.
const notice = `{"code": "office.notice", "name": "通知", "version": 1, "start": "draft", "withdrawable": true,
 "steps": [
  {"id": "draft", "name": "拟稿", "assignee": {"role": "clerk", "relative": "initiator_unit"}, "time_limit": {"working_hours": 4},
   "actions": [{"name": "submit", "to": "approve"}]},
  {"id": "approve", "name": "审批", "assignee": {"relative": "initiator_unit_leader"}, "time_limit": {"working_days": 2},
   "actions": [{"name": "approve", "to": "end"}, {"name": "send_back", "to": "draft", "return": true}]}]}`

// TestAWorkflowThroughTheAPIAndTheCLI: an operator puts a definition,
// a clerk starts an instance, two clerks press "submit" at once (one
// wins, the other gets 409), the leader approves from the CLI, and the
// other county cannot reach any of it.
func TestAWorkflowThroughTheAPIAndTheCLI(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyclerk": auth.RoleClerk, "wyclerk2": auth.RoleClerk, "wyleader": "leader", "wyadmin": auth.RoleCountyAdmin})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	lechang := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"

	file := filepath.Join(t.TempDir(), "notice.json")
	if err := os.WriteFile(file, []byte(notice), 0o600); err != nil {
		t.Fatal(err)
	}
	operator := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if out := mustCLI(t, operator, "workflow", "put", file); !strings.Contains(out, "office.notice") {
		t.Errorf("workflow put: %s", out)
	}
	broken := strings.Replace(strings.Replace(notice, `"version": 1`, `"version": 2`, 1), `"to": "end"`, `"to": "nowhere"`, 1)
	r := call(t, "PUT", url+wy+"/workflows/office.notice", env["COUNTYCLOUD_TOKEN"], json.RawMessage(broken))
	want(t, "a broken definition", r, 400, flow.CodeInvalidDefinition)
	if !strings.Contains(string(r.body), "steps[1].actions[0].to") {
		t.Errorf("the problem's path is not named: %s", r.body)
	}
	want(t, "a clerk puts a definition", call(t, "PUT", url+wy+"/workflows/office.notice", tokens["wyclerk"], json.RawMessage(notice)), 403, auth.CodeForbidden)

	started := call(t, "POST", url+wy+"/instances", tokens["wyclerk"], workflow.StartInput{Workflow: "office.notice", Title: "关于元旦放假的通知"})
	want(t, "start", started, 201, "")
	out := decode[workflow.Outcome](t, started)
	draft := out.Opened[0]

	var wg sync.WaitGroup
	results := make([]apiResult, 2)
	for i, who := range []string{"wyclerk", "wyclerk2"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = call(t, "POST", url+wy+"/tasks/"+itoa(draft.ID)+"/act", tokens[who], workflow.ActInput{Action: "submit"})
		}()
	}
	wg.Wait()
	if results[0].status+results[1].status != 200+409 {
		t.Fatalf("two clerks at once: %d %s / %d %s", results[0].status, results[0].body, results[1].status, results[1].body)
	}
	for _, r := range results {
		if r.status == 409 {
			want(t, "the second clerk", r, 409, workflow.CodeTaskClosed)
		}
	}

	leader := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyleader"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if inbox := mustCLI(t, leader, "workflow", "inbox"); !strings.Contains(inbox, "关于元旦放假的通知") || !strings.Contains(inbox, "审批") {
		t.Errorf("the leader's inbox: %s", inbox)
	}
	approve := decode[[]workflow.InboxItem](t, call(t, "GET", url+wy+"/tasks", tokens["wyleader"], nil))[0]
	if out := mustCLI(t, leader, "workflow", "act", itoa(approve.ID), "approve", "--comment", "同意"); !strings.Contains(out, "is done") {
		t.Errorf("workflow act: %s", out)
	}
	view := decode[workflow.InstanceView](t, call(t, "GET", url+wy+"/instances/"+itoa(out.Instance.ID), tokens["wyclerk"], nil))
	if view.Status != workflow.InstanceDone || len(view.History) != 3 {
		t.Errorf("the instance: %s with %d history rows", view.Status, len(view.History))
	}

	// Lechang's admin reaches nothing of Wengyuan's, and Wengyuan's ids
	// mean nothing in Lechang.
	want(t, "Lechang reads Wengyuan's instance", call(t, "GET", url+wy+"/instances/"+itoa(out.Instance.ID), lechang["lcadmin"], nil), 404, "tenant_not_found")
	want(t, "Lechang acts in Wengyuan", call(t, "POST", url+wy+"/tasks/"+itoa(approve.ID)+"/act", lechang["lcadmin"], workflow.ActInput{Action: "approve"}), 404, "tenant_not_found")
	want(t, "Wengyuan's task in Lechang", call(t, "POST", url+"/v1/tenants/gd.shaoguan.lechang/tasks/"+itoa(approve.ID)+"/act", lechang["lcadmin"], workflow.ActInput{Action: "approve"}), 404, workflow.CodeTaskNotFound)
	want(t, "Wengyuan's workflow in Lechang", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/workflows/office.notice", lechang["lcadmin"], nil), 404, workflow.CodeWorkflowNotFound)

	// The platform counted both tasks on time and the instance completed
	// in unit 1, once though two clerks pressed submit; Lechang, which
	// ran nothing, has no figure, and reads none of Wengyuan's.
	today := measure.Day(time.Now())
	query := "?measure=platform.workflow.completed.office.notice,platform.tasks.on_time,platform.tasks.late&from=" + today + "&to=" + today
	report := decode[measure.Report](t, call(t, "GET", url+wy+"/measures"+query, tokens["wyadmin"], nil))
	if got := figureList(report); got != "platform.tasks.on_time/1=2 platform.workflow.completed.office.notice/1=1" {
		t.Errorf("Wengyuan's figures: %s", got)
	}
	if len(report.Measures) != 3 || report.Measures[0].Label.ZH != "办结数：通知" {
		t.Errorf("Wengyuan's measures: %+v", report.Measures)
	}
	admin := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyadmin"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if out := mustCLI(t, admin, "measures", "--measure", "platform.workflow.completed.office.notice", "--from", today, "--to", today); !strings.Contains(out, "办结数：通知") {
		t.Errorf("measures from the CLI: %s", out)
	}
	want(t, "Lechang reads Wengyuan's figures", call(t, "GET", url+wy+"/measures"+query, lechang["lcadmin"], nil), 404, "tenant_not_found")
	want(t, "Lechang reads a workflow it does not run", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/measures"+query, lechang["lcadmin"], nil), 400, measure.CodeUnknownMeasure)
	own := decode[measure.Report](t, call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/measures?measure=platform.tasks.on_time&from="+today+"&to="+today, lechang["lcadmin"], nil))
	if len(own.Figures) != 0 {
		t.Errorf("Lechang's own figures: %s", figureList(own))
	}
}

// figureList is a report's figures, measure/unit=value, in its order.
func figureList(r measure.Report) string {
	var b []string
	for _, f := range r.Figures {
		b = append(b, fmt.Sprintf("%s/%d=%d", f.Measure, f.Unit, f.Value))
	}
	return strings.Join(b, " ")
}

// TestADocumentIsDistributedThroughTheAPI: a bureau sends a document and
// distributes it to two units, each of which gets a receiving instance as
// its subject unit; the sender lists them. A unit of the other county, as
// subject or recipient, is refused with nothing started; a recipient's
// clerk neither distributes nor reads the sender's list, and the other
// county reaches none of it.
func TestADocumentIsDistributedThroughTheAPI(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyclerk": auth.RoleClerk, "wyleader": "leader"})
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	for county, units := range map[string]int{wy: 2, lc: 4} {
		e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": county}
		for i := range units {
			mustCLI(t, e, "org", "units", "create", "--name", "单位"+itoa(int64(i+2)))
			if county == wy {
				mustCLI(t, e, "org", "accounts", "create", "--login", "rc"+itoa(int64(i+2)), "--name", "收文员", "--unit", itoa(int64(i+2)), "--role", auth.RoleClerk)
			}
		}
	}
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], wy)
	lechang := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], lc)
	base := url + "/v1/tenants/" + wy
	for code, file := range map[string]string{"office.sending": "sending_document.json", "office.receiving": "receiving_document.json"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "core", "workflow", "testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		want(t, "put "+code, call(t, "PUT", base+"/workflows/"+code, env["COUNTYCLOUD_TOKEN"], json.RawMessage(b)), 200, "")
	}
	// Unit 5 is Lechang's; Wengyuan has units 1 to 3.
	want(t, "a subject unit of the other county", call(t, "POST", base+"/instances", tokens["wyclerk"],
		workflow.StartInput{Workflow: "office.receiving", Title: "来文", SubjectUnitID: 5}), 400, workflow.CodeUnknownUnit)
	started := decode[workflow.Outcome](t, call(t, "POST", base+"/instances", tokens["wyclerk"], workflow.StartInput{Workflow: "office.sending", Title: "关于开展安全检查的通知"}))
	sign := decode[workflow.Outcome](t, call(t, "POST", base+"/tasks/"+itoa(started.Opened[0].ID)+"/act", tokens["wyclerk"], workflow.ActInput{Action: "submit"})).Opened[0]
	distribute := decode[workflow.Outcome](t, call(t, "POST", base+"/tasks/"+itoa(sign.ID)+"/act", tokens["wyleader"], workflow.ActInput{Action: "sign"})).Opened[0]
	act := base + "/tasks/" + itoa(distribute.ID) + "/act"
	want(t, "a recipient of the other county", call(t, "POST", act, tokens["wyclerk"],
		workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{2, 5}}), 400, workflow.CodeUnknownUnit)
	want(t, "a recipient's clerk distributes", call(t, "POST", act, tokens["rc2"],
		workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{2, 3}}), 403, workflow.CodeNotYourTask)
	want(t, "Lechang distributes Wengyuan's", call(t, "POST", act, lechang["lcadmin"],
		workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{2, 3}}), 404, "tenant_not_found")
	var instances int
	if err := db.Server.Get(&instances, "SELECT COUNT(*) FROM `"+db.SchemaPrefix+"gd_shaoguan_wengyuan`.workflow_instances"); err != nil || instances != 1 {
		t.Fatalf("%d instances after the refusals: %v", instances, err)
	}
	sent := decode[workflow.Outcome](t, call(t, "POST", act, tokens["wyclerk"], workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{2, 3}}))
	if len(sent.Distributed) != 2 || sent.Distributed[1].SubjectUnitID != 3 {
		t.Fatalf("distributed %+v", sent.Distributed)
	}
	listed := base + "/instances/" + itoa(started.Instance.ID) + "/distributed"
	if list := decode[[]workflow.Instance](t, call(t, "GET", listed, tokens["wyclerk"], nil)); len(list) != 2 || list[0].Status != workflow.InstanceRunning {
		t.Errorf("the sender lists %+v", list)
	}
	want(t, "a recipient lists the sender's", call(t, "GET", listed, tokens["rc3"], nil), 404, workflow.CodeInstanceNotFound)
	sender := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyclerk"], "COUNTYCLOUD_TENANT": wy}
	if out := mustCLI(t, sender, "workflow", "distributed", itoa(started.Instance.ID)); !strings.Contains(out, "office.receiving") || strings.Count(out, "running") != 2 {
		t.Errorf("workflow distributed: %s", out)
	}
	receiving := mustCLI(t, sender, "workflow", "start", "office.receiving", "--title", "本单位收文", "--subject-unit", "3", "-o", "json")
	if !strings.Contains(receiving, `"subject_unit_id": 3`) && !strings.Contains(receiving, `"subject_unit_id":3`) {
		t.Errorf("workflow start --subject-unit: %s", receiving)
	}
	want(t, "Lechang lists Wengyuan's", call(t, "GET", listed, lechang["lcadmin"], nil), 404, "tenant_not_found")
	inbox := decode[[]workflow.InboxItem](t, call(t, "GET", base+"/tasks", tokens["rc3"], nil))
	if len(inbox) != 2 || inbox[0].Step != "sign_in" || inbox[1].Title != "本单位收文" {
		t.Fatalf("the recipient's inbox (the distributed document and the one started for the unit): %+v", inbox)
	}
}
