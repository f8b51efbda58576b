package workflow_test

import (
	"testing"
	"time"

	"github.com/countycloud/countycloud/tenants/workflow"
)

// TestAStartAndADistributionGiveTheirOwnLimits: an approval item's
// promised limit (承诺时限) given at the start, and each department's own
// limit given at the distribution (联合审批), replace the definition's
// process limit; a step without a limit of its own falls due with it.
// Limits out of bounds, not one per recipient, or on an action that
// distributes nothing are refused with nothing changed.
func TestAStartAndADistributionGiveTheirOwnLimits(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	c := f.counties[wengyuan]
	czj := f.unit(t, wengyuan, "财政局", "CZJ", true)
	ggj := f.unit(t, wengyuan, "工信局", "GGJ", true)

	// Monday 1 June 09:00; 3 working days end on Thursday at 17:30.
	started, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "office.receiving", Title: "承诺件", SubjectUnitID: czj, TimeLimitDays: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !started.Instance.DueAt.Equal(cst(2026, 6, 4, 17, 30)) {
		t.Fatalf("the promised limit: due %v", started.Instance.DueAt)
	}
	for _, days := range []int{-1, workflow.MaxLimitDays + 1} {
		_, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "office.receiving", Title: "x", SubjectUnitID: czj, TimeLimitDays: days})
		wantCode(t, "a limit out of bounds", err, workflow.CodeInvalidRequest)
	}
	signIn := open(t, started, "sign_in")
	_, err = f.svc.Act(c.as("czj_clerk"), wengyuan, signIn.ID, workflow.ActInput{Action: "sign_in", RecipientTimeLimitDays: []int{3}})
	wantCode(t, "limits on an action that distributes nothing", err, workflow.CodeInvalidRequest)
	// The receiving flow's last step has no limit of its own: it falls
	// due with the promised limit.
	instruct := open(t, f.act(t, wengyuan, "czj_clerk", signIn, "sign_in"), "instruct")
	if handle := open(t, f.act(t, wengyuan, "czj_leader", instruct, "instruct"), "handle"); !handle.DueAt.Equal(*started.Instance.DueAt) {
		t.Errorf("a step without a limit is due %v, the instance %v", handle.DueAt, started.Instance.DueAt)
	}

	sending, distribute := f.sendUntilDistribution(t, "联合审批件")
	before := f.snapshot(t, wengyuan)
	for _, bad := range []struct {
		name string
		in   workflow.ActInput
	}{
		{"one limit for two units", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj}, RecipientTimeLimitDays: []int{3}}},
		{"a limit of no days", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj}, RecipientTimeLimitDays: []int{3, 0}}},
		{"a limit of more than a year", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj}, RecipientTimeLimitDays: []int{3, 400}}},
	} {
		_, err := f.svc.Act(c.as("clerk1"), wengyuan, distribute.ID, bad.in)
		wantCode(t, bad.name, err, workflow.CodeInvalidRequest)
	}
	if after := f.snapshot(t, wengyuan); after != before {
		t.Fatalf("refused distributions changed the county: %s, was %s", after, before)
	}
	sent, err := f.svc.Act(c.as("clerk1"), wengyuan, distribute.ID, workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj},
		RecipientTimeLimitDays: []int{3, 7}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []time.Time{cst(2026, 6, 4, 17, 30), cst(2026, 6, 10, 17, 30)} {
		if d := sent.Distributed[i]; !d.DueAt.Equal(want) || *d.ParentID != sending.Instance.ID {
			t.Errorf("recipient %d: due %v, want %v", i, d.DueAt, want)
		}
	}
}
