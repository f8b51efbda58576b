package workflow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// citizen is a public route's anonymous caller as the plugin host passes
// them on: known by their address.
func citizen() context.Context {
	const login = "anonymous@203.0.113.7"
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindAnonymous, Login: login})
	return audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindAnonymous), Login: login})
}

// TestAPublicRouteStartsAWorkflowForItsSubjectUnit: started for an
// anonymous caller (Public, which the plugin host alone sets), the
// instance runs for the unit named, its initiator no account, and its
// history and audit entry name the caller by address; without Public, or
// without a subject unit, an anonymous caller starts nothing.
func TestAPublicRouteStartsAWorkflowForItsSubjectUnit(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	mzj := f.counties[wengyuan].people["clerk1"].Unit
	before := f.snapshot(t, wengyuan)
	_, err := f.svc.Start(citizen(), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "咨询", SubjectUnitID: mzj})
	wantCode(t, "an anonymous start the host did not allow", err, workflow.CodeNotYourTask)
	_, err = f.svc.Start(citizen(), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "咨询", Public: true})
	wantCode(t, "an anonymous start without a subject unit", err, workflow.CodeUnknownUnit)
	_, err = f.svc.Start(citizen(), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "咨询", SubjectUnitID: f.foreignUnit(t), Public: true})
	wantCode(t, "an anonymous start for another county's unit", err, workflow.CodeUnknownUnit)
	if after := f.snapshot(t, wengyuan); after != before {
		t.Fatalf("refused starts changed the county: %s, was %s", after, before)
	}

	started, err := f.svc.Start(citizen(), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "咨询低保政策", SubjectUnitID: mzj, Public: true})
	if err != nil {
		t.Fatal(err)
	}
	inst := started.Instance
	if inst.InitiatorID != 0 || inst.InitiatorUnitID != mzj || inst.SubjectUnitID != mzj || inst.DueAt == nil {
		t.Fatalf("started %+v", inst)
	}
	open(t, started, "dispatch")
	if n := f.count(t, wengyuan, "workflow_history", "instance_id = ? AND action = 'start' AND actor_id IS NULL AND actor_login = ?", inst.ID, "anonymous@203.0.113.7"); n != 1 {
		t.Errorf("%d start entries in the history name the caller by address", n)
	}
	if n := f.count(t, wengyuan, "audit_log", "action = 'workflow.start' AND object_id = ? AND actor_kind = 'anonymous' AND actor_id IS NULL AND actor_login = ?", inst.ID, "anonymous@203.0.113.7"); n != 1 {
		t.Errorf("%d audit entries of the start name the caller by address", n)
	}
	if n := f.count(t, lechang, "workflow_instances", "1"); n != 0 {
		t.Errorf("lechang has %d instances", n)
	}
}

// TestAPublicStartIsStartedFromTheOfficeThatTakesSubmissionsIn: a public
// start names the unit it is started from (InitiatorUnitID, which the
// plugin host alone sets), whose clerks take the citizen's message in
// while the subject unit answers it. A unit of another county, one that
// nobody staffs or that is none is refused with nothing started; an
// account may name only its own unit.
func TestAPublicStartIsStartedFromTheOfficeThatTakesSubmissionsIn(t *testing.T) {
	f := setup(t)
	wy := f.counties[wengyuan]
	intake, err := os.ReadFile("../../core/workflow/testdata/letter_intake.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutDefinition(wy.as("operator"), wengyuan, "letters.intake", intake); err != nil {
		t.Fatal(err)
	}
	mzj := wy.people["clerk1"].Unit
	it := f.unit(t, wengyuan, "信息中心", "XXZX", true)
	empty := f.unit(t, wengyuan, "档案室", "DAS", false)
	foreign := f.foreignUnit(t)
	start := func(ctx context.Context, initiator int64) (workflow.Outcome, error) {
		return f.svc.Start(ctx, wengyuan, workflow.StartInput{Workflow: "letters.intake", Title: "路灯不亮", SubjectUnitID: mzj, Public: true, InitiatorUnitID: initiator})
	}
	before := f.snapshot(t, wengyuan)
	for _, bad := range []struct {
		what string
		ctx  context.Context
		unit int64
		code string
	}{
		{"a unit of another county", citizen(), foreign, workflow.CodeUnknownUnit},
		{"a unit nobody staffs", citizen(), empty, workflow.CodeInactiveUnit},
		{"no unit", citizen(), -1, workflow.CodeUnknownUnit},
		{"an account naming another unit", wy.as("clerk1"), it, workflow.CodeNotYourTask},
	} {
		_, err := start(bad.ctx, bad.unit)
		wantCode(t, bad.what, err, bad.code)
	}
	if after := f.snapshot(t, wengyuan); after != before {
		t.Fatalf("refused starts changed the county: %s, was %s", after, before)
	}

	started, err := start(citizen(), it)
	if err != nil {
		t.Fatal(err)
	}
	if inst := started.Instance; inst.InitiatorID != 0 || inst.InitiatorUnitID != it || inst.SubjectUnitID != mzj {
		t.Fatalf("started %+v", inst)
	}
	review := open(t, started, "review")
	if review.UnitID != it || *review.Role != "clerk" {
		t.Fatalf("the intake waits for %+v, want the IT office's clerks", review)
	}
	answered := f.act(t, wengyuan, "xxzx_clerk", review, "accept")
	if answer := open(t, answered, "answer"); answer.UnitID != mzj {
		t.Errorf("the answer waits in unit %d, want the subject unit %d", answer.UnitID, mzj)
	}

	own, err := start(wy.as("clerk1"), mzj)
	if err != nil || own.Instance.InitiatorUnitID != mzj || own.Instance.InitiatorID != wy.people["clerk1"].ID {
		t.Fatalf("an account naming its own unit: %+v, %v", own.Instance, err)
	}
	if n := f.count(t, lechang, "workflow_instances", "1"); n != 0 {
		t.Errorf("lechang has %d instances", n)
	}
}

// TestWhatAStartDoesAlongsideCommitsWithItOrUndoesIt: the plugin host's
// hook (Alongside) writes in the start's transaction, seeing the
// instance and its tasks; its failure rolls the whole start back.
func TestWhatAStartDoesAlongsideCommitsWithItOrUndoesIt(t *testing.T) {
	f := setup(t)
	wy := f.counties[wengyuan]
	keep := func(ctx context.Context, tx *sqlx.Tx, inst workflow.Instance, opened []workflow.Task) error {
		var tasks int
		if err := tx.GetContext(ctx, &tasks, "SELECT COUNT(*) FROM workflow_tasks WHERE instance_id = ?", inst.ID); err != nil || tasks != 1 {
			return fmt.Errorf("the hook sees %d tasks of instance %d: %v", tasks, inst.ID, err)
		}
		if len(opened) != 1 || opened[0].InstanceID != inst.ID {
			return fmt.Errorf("the hook is given the tasks %+v as opened by instance %d", opened, inst.ID)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES ('hotline', 'letters', ?, 1, '{}', NOW(), NOW())",
			fmt.Sprint(inst.ID))
		return err
	}
	failed := errors.New("the record could not be written")
	before := f.snapshot(t, wengyuan)
	_, err := f.svc.Start(wy.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "office.incoming", Title: "来文",
		Alongside: func(ctx context.Context, tx *sqlx.Tx, inst workflow.Instance, opened []workflow.Task) error {
			if err := keep(ctx, tx, inst, opened); err != nil {
				return err
			}
			return failed
		}})
	if !errors.Is(err, failed) {
		t.Fatalf("a start whose hook fails: %v", err)
	}
	if after := f.snapshot(t, wengyuan); after != before || f.count(t, wengyuan, "plugin_records", "1") != 0 {
		t.Fatalf("a start whose hook failed left %s (was %s) and %d records", after, before, f.count(t, wengyuan, "plugin_records", "1"))
	}
	started, err := f.svc.Start(wy.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "office.incoming", Title: "来文", Alongside: keep})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count(t, wengyuan, "plugin_records", "record_id = ?", fmt.Sprint(started.Instance.ID)); n != 1 {
		t.Errorf("the hook's record of instance %d: %d", started.Instance.ID, n)
	}
}
