package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// TestAPluginBuiltAgainstTheFirstSDKKeepsWorking builds a module written
// against the SDK of protocol 1 as it was before issue 16
// (testdata/sdk-v1, a frozen copy that is never edited; testdata/compatv1
// replaces the SDK with it), registers it with today's host and uses
// every host service that SDK had: records, audit, notices and
// workflows. What the platform adds to the SDK must leave this working.
func TestAPluginBuiltAgainstTheFirstSDKKeepsWorking(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const file = "compat-1.0.0"
	// Outside the repository's workspace, which would put today's SDK in
	// place of the frozen one.
	build := exec.Command("go", "build", "-o", filepath.Join(dir, file), ".")
	build.Dir, build.Env = filepath.Join("testdata", "compatv1"), append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the plugin against the frozen SDK: %v\n%s", err, out)
	}
	digest, err := host.FileSHA256(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	sum := hex.EncodeToString(digest)
	db, _, url, env := twoCounties(t, map[string]string{"clerk1": auth.RoleClerk}, func(c *config.Server) { c.PluginDir = dir })
	operator := env["COUNTYCLOUD_TOKEN"]
	mustCLI(t, env, "plugin", "register", file, "--sha256", sum)
	mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": "gd.shaoguan.wengyuan"}, "plugin", "enable", "compat")
	clerk := loginAs(t, db, url, operator, "gd.shaoguan.wengyuan")["clerk1"]
	lechang := loginAs(t, db, url, operator, "gd.shaoguan.lechang")["lcadmin"]
	base := url + "/v1/tenants/gd.shaoguan.wengyuan/modules/compat"

	r := call(t, "GET", base+"/whoami", clerk, nil)
	want(t, "who am I", r, 200, "")
	var caller struct {
		Kind      string
		Login     string
		AccountID int64
		UnitID    int64
		Roles     []string
	}
	if err := json.Unmarshal(r.body, &caller); err != nil || caller.Kind != "account" || caller.Login != "clerk1" || caller.AccountID == 0 || caller.UnitID != 1 {
		t.Fatalf("the caller the module sees: %s (%v)", r.body, err)
	}

	// Records.
	r = call(t, "PUT", base+"/items/a1", clerk, map[string]string{"status": "open", "text": "旧插件的记录"})
	want(t, "create a record", r, 200, "")
	if !strings.Contains(string(r.body), `"version":1`) {
		t.Errorf("created %s", r.body)
	}
	want(t, "create it again", call(t, "PUT", base+"/items/a1", clerk, map[string]string{"status": "open"}), 409, "")
	want(t, "replace it", call(t, "PUT", base+"/items/a1?version=1", clerk, map[string]string{"status": "done", "text": "改过"}), 200, "")
	if r := call(t, "GET", base+"/items/a1", clerk, nil); r.status != 200 || !strings.Contains(string(r.body), "改过") || !strings.Contains(string(r.body), `"version":2`) {
		t.Errorf("read it: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", base+"/items?status=done", clerk, nil); r.status != 200 || !strings.Contains(string(r.body), `"id":"a1"`) {
		t.Errorf("query it: %d %s", r.status, r.body)
	}
	want(t, "Lechang, where the module is not enabled", call(t, "GET", url+"/v1/tenants/gd.shaoguan.lechang/modules/compat/items/a1", lechang, nil), 404, "")
	want(t, "delete it", call(t, "DELETE", base+"/items/a1?version=2", clerk, nil), 200, "")
	want(t, "read it deleted", call(t, "GET", base+"/items/a1", clerk, nil), 404, "")

	// Audit: the module's entries are recorded against its caller.
	var audited int
	trail := "`" + registry.SchemaName(db.SchemaPrefix, "gd.shaoguan.wengyuan") + "`.audit_log"
	if err := db.Server.Get(&audited, "SELECT COUNT(*) FROM "+trail+" WHERE action = 'compat.item.put' AND actor_login = 'clerk1' AND source = 'plugin:compat'"); err != nil || audited != 2 {
		t.Errorf("audit entries of the module: %d (%v), want 2", audited, err)
	}

	// Notices, to an account by id and to the clerks of a unit.
	byID := map[string]any{"AccountIDs": []int64{caller.AccountID}, "Subject": "兼容通知", "Body": "旧插件发出的通知"}
	want(t, "notify an account", call(t, "POST", base+"/notify", clerk, byID), 200, "")
	toUnit := map[string]any{"Audiences": []map[string]any{{"UnitID": 1, "Role": auth.RoleClerk}}, "Kind": "task_assigned", "Subject": "兼容待办"}
	want(t, "notify a unit's clerks", call(t, "POST", base+"/notify", clerk, toUnit), 200, "")
	inbox := decode[notify.InboxPage](t, call(t, "GET", url+"/v1/tenants/gd.shaoguan.wengyuan/notifications?unread=true", clerk, nil))
	if len(inbox.Notifications) != 2 || inbox.Notifications[0].Subject != "兼容待办" || inbox.Notifications[0].Kind != "task_assigned" || inbox.Notifications[1].Subject != "兼容通知" {
		t.Errorf("the clerk's inbox: %+v", inbox)
	}

	// Workflows: the manifest's workflow installed, started, acted on, read.
	r = call(t, "POST", base+"/start", clerk, "核对清单")
	want(t, "start", r, 200, "")
	started := decode[workflow.Outcome](t, r)
	if started.Instance.Workflow != "compat.check" || len(started.Opened) != 1 {
		t.Fatalf("started %+v", started)
	}
	r = call(t, "POST", base+fmt.Sprintf("/tasks/%d/approve", started.Opened[0].ID), clerk, "同意")
	want(t, "approve", r, 200, "")
	if done := decode[workflow.Outcome](t, r); done.Instance.Status != workflow.InstanceDone {
		t.Errorf("approved %+v", done)
	}
	r = call(t, "GET", base+fmt.Sprintf("/instances/%d", started.Instance.ID), clerk, nil)
	want(t, "read the instance", r, 200, "")
	if v := decode[workflow.InstanceView](t, r); v.Status != workflow.InstanceDone || len(v.Tasks) != 1 {
		t.Errorf("instance %+v", v)
	}
}
