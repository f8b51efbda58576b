package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// TestAnInstanceWaitsOnTheApplicantThroughTheAPIAndTheCLI (补正): a clerk
// suspends an instance from the CLI; nobody acts on it meanwhile; the
// leader, who has no task in it, neither suspends nor resumes it, nor
// does the other county; a clerk resumes it and it runs again. A start
// from the CLI gives the instance its own limit.
func TestAnInstanceWaitsOnTheApplicantThroughTheAPIAndTheCLI(t *testing.T) {
	t.Parallel()
	db, _, url, env := twoCounties(t, map[string]string{"wyclerk": auth.RoleClerk, "wyclerk2": auth.RoleClerk, "wyleader": "leader"})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.wengyuan")
	lechang := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], "gd.shaoguan.lechang")
	const wy = "/v1/tenants/gd.shaoguan.wengyuan"
	file := filepath.Join(t.TempDir(), "notice.json")
	if err := os.WriteFile(file, []byte(notice), 0o600); err != nil {
		t.Fatal(err)
	}
	operator := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": env["COUNTYCLOUD_TOKEN"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	mustCLI(t, operator, "workflow", "put", file)
	started := decode[workflow.Outcome](t, call(t, "POST", url+wy+"/instances", tokens["wyclerk"], workflow.StartInput{Workflow: "office.notice", Title: "关于补正材料的通知"}))
	id := itoa(started.Instance.ID)

	want(t, "a suspension without a reason", call(t, "POST", url+wy+"/instances/"+id+"/suspend", tokens["wyclerk"], map[string]string{}), 400, workflow.CodeInvalidRequest)
	want(t, "the leader, with no task in it, suspends", call(t, "POST", url+wy+"/instances/"+id+"/suspend", tokens["wyleader"], map[string]string{"reason": "缺材料"}), 403, workflow.CodeNotYourTask)
	clerk := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyclerk"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	out := mustCLI(t, clerk, "workflow", "suspend", id, "--reason", "缺少营业执照副本", "-o", "json")
	var got workflow.Suspension
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Instances) != 1 || got.Instances[0].Status != workflow.InstanceSuspended {
		t.Fatalf("workflow suspend -o json: %s (%v)", out, err)
	}
	want(t, "acting on a suspended task", call(t, "POST", url+wy+"/tasks/"+itoa(started.Opened[0].ID)+"/act", tokens["wyclerk2"], workflow.ActInput{Action: "submit"}),
		409, workflow.CodeSuspended)
	want(t, "the leader resumes", call(t, "POST", url+wy+"/instances/"+id+"/resume", tokens["wyleader"], nil), 403, workflow.CodeNotYourTask)
	want(t, "Lechang resumes Wengyuan's", call(t, "POST", url+wy+"/instances/"+id+"/resume", lechang["lcadmin"], nil), 404, "tenant_not_found")
	want(t, "Wengyuan's instance in Lechang", call(t, "POST", url+"/v1/tenants/gd.shaoguan.lechang/instances/"+id+"/resume", lechang["lcadmin"], nil), 404, workflow.CodeInstanceNotFound)

	clerk2 := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": tokens["wyclerk2"], "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}
	if out := mustCLI(t, clerk2, "workflow", "resume", id, "--comment", "材料已补正"); !strings.Contains(out, "running") {
		t.Errorf("workflow resume: %s", out)
	}
	submitted := decode[workflow.Outcome](t, call(t, "POST", url+wy+"/tasks/"+itoa(started.Opened[0].ID)+"/act", tokens["wyclerk2"], workflow.ActInput{Action: "submit"}))
	finished := decode[workflow.Outcome](t, call(t, "POST", url+wy+"/tasks/"+itoa(submitted.Opened[0].ID)+"/act", tokens["wyleader"], workflow.ActInput{Action: "approve"}))
	read := decode[workflow.InstanceView](t, call(t, "GET", url+wy+"/instances/"+id, tokens["wyleader"], nil))
	if finished.Instance.WorkingDays == nil || read.Status != workflow.InstanceDone || read.WorkingDays == nil || *read.WorkingDays != *finished.Instance.WorkingDays {
		t.Errorf("the done instance's handling time: read %v, counted when it finished %v", read.WorkingDays, finished.Instance.WorkingDays)
	}
	want(t, "Lechang reads Wengyuan's done instance", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/instances/"+id, lechang["lcadmin"], nil), 404, workflow.CodeInstanceNotFound)
	if help := mustCLI(t, clerk, "workflow", "suspend", "--help"); !strings.Contains(help, "补正") {
		t.Errorf("workflow suspend --help: %s", help)
	}

	// A start with its own limit (an item's 承诺时限): the notice's
	// definition has no process limit.
	var promised workflow.Outcome
	out = mustCLI(t, clerk, "workflow", "start", "office.notice", "--title", "承诺件", "--time-limit-days", "3", "-o", "json")
	if err := json.Unmarshal([]byte(out), &promised); err != nil || started.Instance.DueAt != nil || promised.Instance.DueAt == nil {
		t.Errorf("workflow start --time-limit-days: %s (%v)", out, err)
	}
	want(t, "a limit of more than a year", call(t, "POST", url+wy+"/instances", tokens["wyclerk"], workflow.StartInput{Workflow: "office.notice", Title: "x", TimeLimitDays: 400}),
		400, workflow.CodeInvalidRequest)
}
