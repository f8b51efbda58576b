package workflow_test

import (
	"context"
	"testing"

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
