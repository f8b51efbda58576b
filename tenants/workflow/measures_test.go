package workflow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// figure is the value of measure for unit on day (0 for none), read
// from the stored figures once the counts pending are folded into them,
// as every reader of measures does.
func (f *fixture) figure(t *testing.T, code, id string, unit int64, day string) int64 {
	t.Helper()
	if err := f.db.Cluster.InSchema(context.Background(), registry.SchemaName(f.db.SchemaPrefix, code), measure.Fold); err != nil {
		t.Fatal(err)
	}
	var v []int64
	if err := f.db.Server.Select(&v, fmt.Sprintf("SELECT value FROM %s.measure_values WHERE measure = ? AND unit_id = ? AND grain = 'd' AND period_start = ?",
		registry.SchemaName(f.db.SchemaPrefix, code)), id, unit, day); err != nil {
		t.Fatal(err)
	}
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// TestActionsCountTasksOnTimeAndLateAndCompletedInstances: every action
// counts its task on time or late, per the task's unit; the one that
// ends the instance counts it completed, per workflow and subject unit.
// An action refused, rolled back or repeated counts nothing, and the
// other county has no figure.
func TestActionsCountTasksOnTimeAndLateAndCompletedInstances(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	bureau, bgs := c.people["clerk1"].Unit, c.people["office"].Unit
	completed := measure.WorkflowCompleted("office.incoming")
	if completed != "platform.workflow.completed.office.incoming" {
		t.Fatalf("office.incoming's measure is %s", completed)
	}
	defs, err := f.svc.Measures(c.as("office"), wengyuan)
	if err != nil || len(defs) != 1 || defs[0].ID != completed || defs[0].Label.ZH != "办结数：收文办理" {
		t.Fatalf("the county's workflow measures: %+v %v", defs, err)
	}

	// Monday 09:00: register (due 15:00) is done at once.
	started := f.start(t, wengyuan, "clerk1", "关于做好防汛工作的通知")
	forked := f.act(t, wengyuan, "clerk1", open(t, started, "register"), "submit")
	// The reviews are due in two working days; acted on the Friday after.
	f.clock.mu.Lock()
	f.clock.t = time.Date(2026, 6, 5, 2, 0, 0, 0, time.UTC)
	f.clock.mu.Unlock()
	f.act(t, wengyuan, "chief", open(t, forked, "leader_review"), "approve")
	handle := open(t, f.act(t, wengyuan, "office", open(t, forked, "office_review"), "approve"), "handle")
	archive := open(t, f.act(t, wengyuan, "clerk2", handle, "done"), "archive")

	// Archiving fails after its counts are written: the database refuses
	// its history row, and the action rolls back with them.
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)
	if _, err := f.db.Server.Exec(fmt.Sprintf("CREATE TRIGGER %s.refuse_history BEFORE INSERT ON %s.workflow_history FOR EACH ROW "+
		"BEGIN IF NEW.step = 'archive' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused for the test'; END IF; END", schema, schema)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Act(c.as("clerk1"), wengyuan, archive.ID, workflow.ActInput{Action: "archive"}); err == nil {
		t.Fatal("archiving went through without its history")
	}
	if n := f.figure(t, wengyuan, completed, bureau, "2026-06-05"); n != 0 {
		t.Fatalf("a rolled-back completion counted %d", n)
	}
	if _, err := f.db.Server.Exec(fmt.Sprintf("DROP TRIGGER %s.refuse_history", schema)); err != nil {
		t.Fatal(err)
	}
	f.act(t, wengyuan, "clerk1", archive, "archive")
	// Archiving again is refused, and counts nothing.
	if _, err := f.svc.Act(c.as("clerk2"), wengyuan, archive.ID, workflow.ActInput{Action: "archive"}); err == nil {
		t.Fatal("a task was archived twice")
	} else {
		wantCode(t, "archiving again", err, workflow.CodeTaskClosed)
	}

	for _, want := range []struct {
		measure string
		unit    int64
		day     string
		value   int64
	}{
		{measure.TasksOnTime, bureau, "2026-06-01", 1}, // register
		{measure.TasksLate, bureau, "2026-06-05", 1},   // the leader's review
		{measure.TasksLate, bgs, "2026-06-05", 1},      // the office's review
		{measure.TasksOnTime, bureau, "2026-06-05", 2}, // handle and archive
		{measure.TasksOnTime, bgs, "2026-06-05", 0},    //
		{completed, bureau, "2026-06-05", 1},           // the instance, once
		{completed, bgs, "2026-06-05", 0},
	} {
		if got := f.figure(t, wengyuan, want.measure, want.unit, want.day); got != want.value {
			t.Errorf("%s of unit %d on %s = %d, want %d", want.measure, want.unit, want.day, got, want.value)
		}
	}
	if n := f.count(t, lechang, "measure_values", "1") + f.count(t, lechang, "measure_pending", "1"); n != 0 {
		t.Errorf("the other county has %d figures", n)
	}
}
