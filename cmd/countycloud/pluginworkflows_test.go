package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

func TestAPluginsWorkflowRunsThroughTheEngineAsItsCaller(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "review-1.0.0"
	sum := buildPlugin(t, filepath.Join("testdata", "reviewplugin"), dir, file)
	db, _, url, env := twoCounties(t, map[string]string{"clerk1": auth.RoleClerk, "plain": ""}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, env, "plugin", "register", file, "--sha256", sum)
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "review")
	}
	// Enabling it again keeps the installed workflow.
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}, "plugin", "enable", "review")
	people := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	lechang := loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/review"

	// Enabling installed the workflow as the county's review.doc.
	want(t, "the installed workflow", call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/workflows/review.doc", people["clerk1"], nil), 200, "")

	r := call(t, "POST", base+"/start", people["clerk1"], "送审文件")
	want(t, "start", r, 200, "")
	started := decode[workflow.Outcome](t, r)
	if started.Instance.Workflow != "review.doc" || started.Instance.Title != "送审文件" || len(started.Opened) != 1 {
		t.Fatalf("started %+v", started)
	}
	task := started.Opened[0].ID
	act := fmt.Sprintf("/tasks/%d/approve", task)

	// Lechang's capability reaches Lechang's tasks only, and Lechang's
	// admin cannot go through Wengyuan's module.
	r = call(t, "POST", url+"/v1/tenants/gd.shaoguan.lechang/modules/review"+act, lechang, "同意")
	if r.status != 404 || !strings.Contains(string(r.body), "not found") {
		t.Errorf("Lechang acts on Wengyuan's task through its own module: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", base+act, lechang, "同意"); r.status == 200 {
		t.Errorf("Lechang's admin acts through Wengyuan's module: %d %s", r.status, r.body)
	}
	// The module acts on its own workflows' tasks only, not on the
	// county's other work its caller holds.
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"},
		"workflow", "put", filepath.Join("..", "..", "core", "workflow", "testdata", "incoming_document.json"))
	r = call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/instances", people["clerk1"], workflow.StartInput{Workflow: "office.incoming", Title: "来文"})
	want(t, "start an incoming document", r, 201, "")
	incoming := decode[workflow.Outcome](t, r)
	if r := call(t, "POST", base+fmt.Sprintf("/tasks/%d/submit", incoming.Opened[0].ID), people["clerk1"], "代办"); r.status != 404 {
		t.Errorf("the module acts on the clerk's incoming document: %d %s", r.status, r.body)
	}
	// The engine refuses a caller without the step's role, as it would
	// through the API.
	if r := call(t, "POST", base+act, people["plain"], "同意"); r.status != 403 || !strings.Contains(string(r.body), "waits for") {
		t.Errorf("an account without the clerk role acts: %d %s", r.status, r.body)
	}
	r = call(t, "POST", base+act, people["clerk1"], "同意")
	want(t, "the clerk approves", r, 200, "")
	if done := decode[workflow.Outcome](t, r); done.Instance.Status != workflow.InstanceDone || done.Acted == nil || done.Acted.ID != task {
		t.Errorf("acted %+v", done)
	}
	// The engine's audit entry names the module request it was made for,
	// its caller, and the module that drove it.
	var entry struct {
		RequestID string `db:"request_id"`
		Login     string `db:"actor_login"`
		Source    string `db:"source"`
	}
	trail := "`" + registry.SchemaName(db.SchemaPrefix, "gd.shaoguan.wengyuan") + "`.audit_log"
	if err := db.Server.Get(&entry, "SELECT request_id, actor_login, source FROM "+trail+" WHERE action = 'workflow.act.approve' AND object_id = ?", fmt.Sprint(task)); err != nil {
		t.Fatal(err)
	}
	if entry.RequestID == "" || entry.RequestID != r.header.Get("X-Request-Id") || entry.Login != "clerk1" || entry.Source != "plugin:review" {
		t.Errorf("the approval's audit entry %+v; the module request was %q by clerk1 through review", entry, r.header.Get("X-Request-Id"))
	}
	var startSource string
	if err := db.Server.Get(&startSource, "SELECT source FROM "+trail+" WHERE action = 'workflow.start' AND object_id = ?", fmt.Sprint(started.Instance.ID)); err != nil || startSource != "plugin:review" {
		t.Errorf("the start's audit entry has source %q (%v), want plugin:review", startSource, err)
	}
	if r := call(t, "POST", base+act, people["clerk1"], "再次"); r.status != 400 || !strings.Contains(string(r.body), "changed meanwhile") {
		t.Errorf("acting twice: %d %s", r.status, r.body)
	}
	r = call(t, "GET", fmt.Sprintf("%s/instances/%d", base, started.Instance.ID), people["clerk1"], nil)
	want(t, "read the instance", r, 200, "")
	if v := decode[workflow.InstanceView](t, r); v.Status != workflow.InstanceDone || len(v.Tasks) != 1 || len(v.History) == 0 {
		t.Errorf("instance %+v", v)
	}
}

func TestAWorkflowChangedUnderTheSameVersionIsRefused(t *testing.T) {
	t.Parallel()
	_, p, _, _ := twoCounties(t, nil)
	w := pluginWorkflows{engine: p.workflows}
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindOperator, ID: 1, Login: "operator"})
	def := func(name string) json.RawMessage {
		return json.RawMessage(`{"code": "review.doc", "name": "` + name + `", "version": 1, "start": "check",
"steps": [{"id": "check", "name": "审核", "assignee": {"role": "clerk"}, "time_limit": {"working_days": 2}, "actions": [{"name": "approve", "to": "end"}]}]}`)
	}
	if err := w.Install(ctx, "gd.shaoguan.wengyuan", "review.doc", def("送审")); err != nil {
		t.Fatal(err)
	}
	if err := w.Install(ctx, "gd.shaoguan.wengyuan", "review.doc", def("送审")); err != nil {
		t.Fatalf("installing the same again: %v", err)
	}
	if err := w.Install(ctx, "gd.shaoguan.wengyuan", "review.doc", def("改过的送审")); errs.CodeOf(err) != host.CodeInvalidWorkflow {
		t.Fatalf("a change under version 1: %v", err)
	}
}

func TestAPluginsWorkflowNamespaceIsItsAlone(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join("testdata", "reviewplugin")
	review := buildPlugin(t, src, dir, "review-1.0.0")
	permits := buildPlugin(t, src, dir, "permits-1.0.0", "-ldflags", "-X main.id=permits")
	db, p, url, env := twoCounties(t, map[string]string{"clerk1": auth.RoleClerk}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]
	in := func(county string) map[string]string {
		return map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}
	}
	definition := func(code string) string {
		file := filepath.Join(t.TempDir(), code+".json")
		def := `{"code": "` + code + `", "name": "许可", "version": 1, "start": "check",
"steps": [{"id": "check", "name": "审核", "assignee": {"role": "clerk", "relative": "initiator_unit"}, "time_limit": {"working_days": 2}, "actions": [{"name": "approve", "to": "end"}]}]}`
		if err := os.WriteFile(file, []byte(def), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	// The operator's workflow first: a plugin under its prefix is refused,
	// and the workflow stays the operator's.
	mustCLI(t, in("gd.shaoguan.wengyuan"), "workflow", "put", definition("permits.license"))
	if r := cli(t, env, "plugin", "register", "permits-1.0.0", "--sha256", permits); r.code == 0 || !strings.Contains(r.stderr, "workflow_namespace_taken") {
		t.Errorf("register permits after the operator's permits.license: exit %d %s", r.code, r.stderr)
	}
	// Another county may still name its workflows so.
	mustCLI(t, in("gd.shaoguan.lechang"), "workflow", "put", definition("permits.permit"))

	// The plugin first: neither county's workflow under its id is stored.
	mustCLI(t, env, "plugin", "register", "review-1.0.0", "--sha256", review)
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		if r := cli(t, in(county), "workflow", "put", definition("review.license")); r.code == 0 || !strings.Contains(r.stderr, "workflow_namespace_taken") {
			t.Errorf("%s's workflow review.license after plugin review: exit %d %s", county, r.code, r.stderr)
		}
		mustCLI(t, in(county), "plugin", "enable", "review")
	}

	// A workflow under the plugin's prefix that is not in its manifest (as
	// one stored before the namespace was bound would be) is not the
	// plugin's to act on, though its caller holds the task.
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindOperator, ID: 1, Login: "operator"})
	raw, err := os.ReadFile(definition("review.other"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.workflows.PutModuleDefinition(ctx, "gd.shaoguan.wengyuan", "review.other", raw); err != nil {
		t.Fatal(err)
	}
	people := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	r := call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan/instances", people["clerk1"], workflow.StartInput{Workflow: "review.other", Title: "他人的流程"})
	want(t, "start review.other", r, 201, "")
	other := decode[workflow.Outcome](t, r)
	base := "/modules/review"
	if r := call(t, "POST", url+"/v1/tenants/gd.shaoguan.wengyuan"+base+fmt.Sprintf("/tasks/%d/approve", other.Opened[0].ID), people["clerk1"], "代办"); r.status != 404 {
		t.Errorf("the module acts on review.other, not its own: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan"+base+fmt.Sprintf("/instances/%d", other.Instance.ID), people["clerk1"], nil); r.status != 404 {
		t.Errorf("the module reads review.other: %d %s", r.status, r.body)
	}
	// Nor does Lechang's module reach Wengyuan's instance.
	lechang := loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	if r := call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang"+base+fmt.Sprintf("/instances/%d", other.Instance.ID), lechang, nil); r.status != 404 {
		t.Errorf("Lechang's module reads Wengyuan's instance: %d %s", r.status, r.body)
	}
}

// A module keeps the capability of one caller's request (the county
// admin's, held open) and uses it while serving another's (a clerk's):
// what it does acts as the admin on the module's own workflows only, and
// the trail names the admin's request and the module, never the clerk.
func TestACapabilityKeptByAPluginActsOnlyAsItsOwnCallerOnItsOwnWorkflows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sum := buildPlugin(t, filepath.Join("testdata", "reviewplugin"), dir, "review-1.0.0")
	db, _, url, env := twoCounties(t, map[string]string{"clerk1": auth.RoleClerk, "boss": auth.RoleClerk}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, env, "plugin", "register", "review-1.0.0", "--sha256", sum)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}, "plugin", "enable", "review")
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"},
		"workflow", "put", filepath.Join("..", "..", "core", "workflow", "testdata", "incoming_document.json"))
	people := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")
	county := url + "/v1/tenants/gd.shaoguan.wengyuan"
	base := county + "/modules/review"
	r := call(t, "POST", base+"/start", people["boss"], "送审")
	want(t, "start", r, 200, "")
	own := decode[workflow.Outcome](t, r).Opened[0].ID
	r = call(t, "POST", county+"/instances", people["boss"], workflow.StartInput{Workflow: "office.incoming", Title: "来文"})
	want(t, "start an incoming document", r, 201, "")
	incoming := decode[workflow.Outcome](t, r).Opened[0].ID

	held := make(chan apiResult, 1)
	go func() { held <- call(t, "POST", base+"/hold", people["boss"], nil) }()
	// Until the boss's request is held open in the module.
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = call(t, "POST", base+fmt.Sprintf("/held/tasks/%d/submit", incoming), people["clerk1"], "代办")
		if r.status != 409 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r.status != 404 {
		t.Errorf("the clerk's request acts with the boss's capability on the boss's incoming document: %d %s", r.status, r.body)
	}
	r = call(t, "POST", base+fmt.Sprintf("/held/tasks/%d/approve", own), people["clerk1"], "代批")
	want(t, "the module's own task with the held capability", r, 200, "")
	var entry struct {
		RequestID string `db:"request_id"`
		Login     string `db:"actor_login"`
		Source    string `db:"source"`
	}
	trail := "`" + registry.SchemaName(db.SchemaPrefix, "gd.shaoguan.wengyuan") + "`.audit_log"
	if err := db.Server.Get(&entry, "SELECT request_id, actor_login, source FROM "+trail+" WHERE action = 'workflow.act.approve' AND object_id = ?", fmt.Sprint(own)); err != nil {
		t.Fatal(err)
	}
	if entry.Login != "boss" || entry.Source != "plugin:review" || entry.RequestID == r.header.Get("X-Request-Id") || entry.RequestID == "" {
		t.Errorf("the act with the boss's capability is recorded as %+v (the clerk's request was %s)", entry, r.header.Get("X-Request-Id"))
	}
	want(t, "release", call(t, "POST", base+"/release", people["clerk1"], nil), 204, "")
	if h := <-held; h.status != 204 || h.header.Get("X-Request-Id") != entry.RequestID {
		t.Errorf("the held request: %d %s, the entry names %s", h.status, h.header.Get("X-Request-Id"), entry.RequestID)
	}
	// Its request over, the boss's capability acts no more.
	if r := call(t, "POST", base+fmt.Sprintf("/held/tasks/%d/submit", incoming), people["clerk1"], "代办"); r.status != 403 {
		t.Errorf("the boss's capability after the boss's request: %d %s", r.status, r.body)
	}
}
