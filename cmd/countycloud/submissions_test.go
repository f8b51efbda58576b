package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestACitizensLetterIsHandedInWithItsWorkflowInOneTransaction: through
// the real engine, a citizen's letter is written with its receipt's
// number and its instance's id, the instance started from the county's
// IT office (unit 1), whose clerk takes it in, for the unit that answers
// it. An unlisted workflow, a unit of the other county as subject or as
// initiator, a bad title leave no record, no receipt, no number taken
// and no instance; an account names no unit but its own to start from.
func TestACitizensLetterIsHandedInWithItsWorkflowInOneTransaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sum := buildPlugin(t, filepath.Join("testdata", "unitsplugin"), dir, "dispatch-1.0.0")
	db, _, url, env := twoCounties(t, map[string]string{"wyclerk": auth.RoleClerk}, func(c *config.Server) { c.PluginDir, c.PublicRate = dir, 100 })
	operator := env["COUNTYCLOUD_TOKEN"]
	const wy, lc = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang"
	for county, units := range map[string]int{wy: 1, lc: 4} {
		prefix := map[string]string{wy: "wyc", lc: "lcc"}[county]
		e := map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}
		for i := range units {
			mustCLI(t, e, "org", "units", "create", "--name", "单位"+itoa(int64(i+2)))
			mustCLI(t, e, "org", "accounts", "create", "--login", prefix+itoa(int64(i+2)), "--name", "办理员", "--unit", itoa(int64(i+2)), "--role", auth.RoleClerk)
		}
	}
	mustCLI(t, env, "plugin", "register", "dispatch-1.0.0", "--sha256", sum)
	for _, county := range []string{wy, lc} {
		mustCLI(t, map[string]string{"COUNTYCLOUD_ADDR": url, "COUNTYCLOUD_TOKEN": operator, "COUNTYCLOUD_TENANT": county}, "plugin", "enable", "dispatch")
	}
	people := loginAs(t, db, url, operator, wy)
	state := func(county string) string {
		t.Helper()
		schema := "`" + registry.SchemaName(db.SchemaPrefix, county) + "`."
		var n [4]int
		for i, q := range []string{"SELECT COUNT(*) FROM " + schema + "plugin_records", "SELECT COUNT(*) FROM " + schema + "receipts",
			"SELECT COALESCE(SUM(last_seq), 0) FROM " + schema + "receipt_counters", "SELECT COUNT(*) FROM " + schema + "workflow_instances"} {
			if err := db.Server.Get(&n[i], q); err != nil {
				t.Fatal(err)
			}
		}
		return fmt.Sprintf("%d records, %d receipts, %d numbers, %d instances", n[0], n[1], n[2], n[3])
	}
	submit := func(token, workflow string, in map[string]any) apiResult {
		t.Helper()
		if token == "" {
			return call(t, "POST", url+"/v1/public/"+wy+"/modules/dispatch/public/submit/"+workflow, "", in)
		}
		return call(t, "POST", url+"/v1/tenants/"+wy+"/modules/dispatch/submit/"+workflow, token, in)
	}
	letter := func(id string, subject, initiator int64) map[string]any {
		return map[string]any{"letter_id": id, "title": "路灯不亮", "subject_unit_id": subject, "initiator_unit_id": initiator}
	}

	before, lechang := state(wy), state(lc)
	for _, bad := range []struct {
		what, token, workflow string
		in                    map[string]any
		status                int
	}{
		{"a workflow public_start does not list", "", "message", letter("x", 2, 1), 403},
		{"a subject unit of the other county", "", "intake", letter("x", 5, 1), 400},
		{"an initiator unit of the other county", "", "intake", letter("x", 2, 5), 400},
		{"no title", "", "intake", map[string]any{"letter_id": "x", "subject_unit_id": 2, "initiator_unit_id": 1}, 400},
		{"an account starting from another unit", people["wyc2"], "intake", letter("x", 2, 1), 403},
	} {
		if r := submit(bad.token, bad.workflow, bad.in); r.status != bad.status {
			t.Errorf("%s: %d %s, want %d", bad.what, r.status, r.body, bad.status)
		}
		if after := state(wy); after != before {
			t.Fatalf("%s left %s, was %s", bad.what, after, before)
		}
	}
	if r := call(t, "POST", url+"/v1/tenants/"+wy+"/modules/dispatch/start/intake", people["wyc2"], letter("", 2, 1)); r.status != 403 || state(wy) != before {
		t.Errorf("an account's start from another unit: %d %s, %s", r.status, r.body, state(wy))
	}
	// The platform's API takes no initiator unit from a body: the plugin
	// host alone sets it.
	if r := call(t, "POST", url+"/v1/tenants/"+wy+"/instances", people["wyc2"], map[string]any{"workflow": "dispatch.intake", "title": "冒名", "initiator_unit_id": 1}); r.status != 400 || state(wy) != before {
		t.Errorf("an initiator unit in an API body: %d %s, %s", r.status, r.body, state(wy))
	}

	r := submit("", "intake", letter("L1", 2, 1))
	want(t, "a citizen's letter", r, 200, "")
	got := decode[sdk.Submitted](t, r)
	var doc struct {
		Number     string `json:"number"`
		InstanceID int64  `json:"instance_id"`
	}
	if err := json.Unmarshal(got.Record.Document, &doc); err != nil || got.Outcome == nil || doc.Number != got.Receipt.Number || doc.InstanceID != got.Outcome.Instance.ID {
		t.Fatalf("handed in %+v: %s", got, got.Record.Document)
	}
	inst := got.Outcome.Instance
	if inst.InitiatorID != 0 || inst.InitiatorUnitID != 1 || inst.SubjectUnitID != 2 || len(got.Outcome.Opened) != 1 || got.Outcome.Opened[0].UnitID != 1 {
		t.Fatalf("the letter's instance %+v, opened %+v", inst, got.Outcome.Opened)
	}
	base := url + "/v1/tenants/" + wy + "/modules/dispatch"
	if r := call(t, "POST", fmt.Sprintf("%s/tasks/%d/accept", base, got.Outcome.Opened[0].ID), people["wyc2"], nil); r.status != 403 {
		t.Errorf("the answering unit's clerk takes the letter in: %d %s", r.status, r.body)
	}
	accepted := decode[sdk.Outcome](t, call(t, "POST", fmt.Sprintf("%s/tasks/%d/accept", base, got.Outcome.Opened[0].ID), people["wyclerk"], nil))
	if len(accepted.Opened) != 1 || accepted.Opened[0].UnitID != 2 || accepted.Opened[0].Step != "answer" {
		t.Errorf("taken in, the letter waits for %+v, want unit 2's answer", accepted.Opened)
	}
	if after := state(wy); after != "1 records, 1 receipts, 1 numbers, 1 instances" {
		t.Errorf("after one letter: %s", after)
	}
	if r := submit("", "intake", letter("L1", 2, 1)); r.status != 409 || state(wy) != "1 records, 1 receipts, 1 numbers, 1 instances" {
		t.Errorf("a letter id taken: %d %s, %s", r.status, r.body, state(wy))
	}

	// Without a workflow, and an account's start from its own unit.
	plain := decode[sdk.Submitted](t, submit("", "none", map[string]any{"letter_id": "L2", "title": "咨询"}))
	if plain.Outcome != nil || plain.Receipt.Number == got.Receipt.Number {
		t.Errorf("a letter without a workflow: %+v", plain)
	}
	own := decode[sdk.Submitted](t, submit(people["wyc2"], "intake", letter("L3", 2, 2)))
	if own.Outcome == nil || own.Outcome.Instance.InitiatorUnitID != 2 || own.Outcome.Instance.InitiatorID == 0 {
		t.Errorf("an account's letter from its own unit: %+v", own.Outcome)
	}
	if state(lc) != lechang {
		t.Errorf("Lechang changed: %s, was %s", state(lc), lechang)
	}
}
