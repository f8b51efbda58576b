package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// definitions puts the engine's examples of subject units, routing and
// distribution into both counties.
func (f *fixture) definitions(t *testing.T) {
	t.Helper()
	for code, c := range f.counties {
		for wf, file := range map[string]string{"office.sending": "sending_document.json", "office.receiving": "receiving_document.json",
			"hotline.message": "citizen_message.json"} {
			b, err := os.ReadFile("../../core/workflow/testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.PutDefinition(c.as("operator"), code, wf, b); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// unit adds a unit to a county with a clerk and a leader (none with
// staffed false), the tests' people under login prefix+"_clerk" and
// prefix+"_leader".
func (f *fixture) unit(t *testing.T, code, name, prefix string, staffed bool) int64 {
	t.Helper()
	ctx := context.Background()
	u, err := f.org.CreateUnit(ctx, code, org.UnitInput{Name: name, Code: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if !staffed {
		return u.ID
	}
	login := strings.ToLower(prefix)
	for _, a := range []struct{ login, role string }{{login + "_clerk", "clerk"}, {login + "_leader", "leader"}} {
		acc, err := f.org.CreateAccount(ctx, code, org.AccountInput{Login: a.login, Name: a.login, UnitID: u.ID, Roles: []string{a.role}})
		if err != nil {
			t.Fatal(err)
		}
		f.counties[code].people[a.login] = auth.Principal{Kind: auth.KindAccount, ID: acc.ID, Login: a.login, Tenant: code, Unit: u.ID, Roles: []string{a.role}}
	}
	return u.ID
}

// foreignUnit is a unit of lechang whose id no unit of wengyuan has.
func (f *fixture) foreignUnit(t *testing.T) int64 {
	t.Helper()
	for i := 0; ; i++ {
		id := f.unit(t, lechang, fmt.Sprintf("乐昌单位%d", i), fmt.Sprintf("LC%d", i), true)
		if f.count(t, wengyuan, "units", "id = ?", id) == 0 {
			return id
		}
	}
}

// snapshot counts what a refused call must leave as it was.
func (f *fixture) snapshot(t *testing.T, code string) string {
	t.Helper()
	return fmt.Sprint(f.count(t, code, "workflow_instances", "1"), f.count(t, code, "workflow_tasks", "status = 'open'"),
		f.count(t, code, "workflow_history", "1"), f.count(t, code, "audit_log", "1"), f.count(t, code, "notifications", "1"))
}

// TestAnInstanceRunsForItsSubjectUnit: started for a unit, its steps
// relative to the subject unit wait for that unit's clerk and leader; a
// subject unit that is not the county's, or has nobody to act, is refused
// with nothing started.
func TestAnInstanceRunsForItsSubjectUnit(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	c := f.counties[wengyuan]
	mzj := c.people["clerk1"].Unit
	started, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "office.receiving", Title: "关于报送低保数据的通知", SubjectUnitID: mzj})
	if err != nil {
		t.Fatal(err)
	}
	signIn := open(t, started, "sign_in")
	if started.Instance.SubjectUnitID != mzj || started.Instance.InitiatorUnitID != c.people["office"].Unit || signIn.UnitID != mzj || *signIn.Role != "clerk" {
		t.Fatalf("started %+v with %+v", started.Instance, signIn)
	}
	if _, err := f.svc.Act(c.as("outsider"), wengyuan, signIn.ID, workflow.ActInput{Action: "sign_in"}); err == nil {
		t.Fatal("a clerk of the initiator's unit signed in for the subject unit")
	} else {
		wantCode(t, "the initiator's unit's clerk", err, workflow.CodeNotYourTask)
	}
	instruct := open(t, f.act(t, wengyuan, "clerk1", signIn, "sign_in"), "instruct")
	if instruct.UnitID != mzj || *instruct.Role != "leader" {
		t.Fatalf("the subject unit's leader's task: %+v", instruct)
	}
	open(t, f.act(t, wengyuan, "chief", instruct, "instruct"), "handle")
	read, err := f.svc.Instance(c.as("office"), wengyuan, started.Instance.ID)
	if err != nil || read.SubjectUnitID != mzj {
		t.Fatalf("read back %+v: %v", read.Instance, err)
	}

	own := f.start(t, wengyuan, "clerk1", "本单位来文")
	if own.Instance.SubjectUnitID != mzj {
		t.Errorf("without a subject unit the instance runs for %d, not its initiator's %d", own.Instance.SubjectUnitID, mzj)
	}

	empty := f.unit(t, wengyuan, "无人单位", "EMPTY", false)
	foreign := f.foreignUnit(t)
	before := f.snapshot(t, wengyuan)
	for _, bad := range []struct {
		name string
		unit int64
		code string
	}{
		{"another county's unit", foreign, workflow.CodeUnknownUnit},
		{"a unit without accounts", empty, workflow.CodeInactiveUnit},
		{"a negative id", -1, workflow.CodeUnknownUnit},
	} {
		_, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "office.receiving", Title: "来文", SubjectUnitID: bad.unit})
		wantCode(t, bad.name, err, bad.code)
	}
	if after := f.snapshot(t, wengyuan); after != before {
		t.Errorf("refused starts changed the county: %s, was %s", after, before)
	}
	if n := f.count(t, lechang, "workflow_instances", "1"); n != 0 {
		t.Errorf("lechang has %d instances", n)
	}
}

// TestAnActionRoutesTheNextStepToAUnit: the office routes a citizen's
// message to the bureau, whose clerk answers and whose leader reviews;
// routing where the definition allows none, to another county's unit or
// to an unstaffed one is refused with nothing changed.
func TestAnActionRoutesTheNextStepToAUnit(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	c := f.counties[wengyuan]
	mzj := c.people["clerk1"].Unit
	started, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "小区路灯不亮"})
	if err != nil {
		t.Fatal(err)
	}
	dispatch := open(t, started, "dispatch")
	if _, err := f.svc.Act(c.as("outsider"), wengyuan, dispatch.ID, workflow.ActInput{Action: "assign", RouteUnitID: mzj}); err == nil {
		t.Fatal("a clerk routed the office's task")
	} else {
		wantCode(t, "a clerk routes", err, workflow.CodeNotYourTask)
	}
	empty := f.unit(t, wengyuan, "无人单位", "EMPTY", false)
	foreign := f.foreignUnit(t)
	before := f.snapshot(t, wengyuan)
	for _, bad := range []struct {
		name string
		in   workflow.ActInput
		code string
	}{
		{"another county's unit", workflow.ActInput{Action: "assign", RouteUnitID: foreign}, workflow.CodeUnknownUnit},
		{"an unstaffed unit", workflow.ActInput{Action: "assign", RouteUnitID: empty}, workflow.CodeInactiveUnit},
		{"a negative unit", workflow.ActInput{Action: "assign", RouteUnitID: -5}, workflow.CodeUnknownUnit},
		{"recipients where nothing is distributed", workflow.ActInput{Action: "assign", RecipientUnitIDs: []int64{mzj}}, workflow.CodeDistributionNotAllowed},
	} {
		_, err := f.svc.Act(c.as("office"), wengyuan, dispatch.ID, bad.in)
		wantCode(t, bad.name, err, bad.code)
	}
	if after := f.snapshot(t, wengyuan); after != before {
		t.Errorf("refused actions changed the county: %s, was %s", after, before)
	}
	routed, err := f.svc.Act(c.as("office"), wengyuan, dispatch.ID, workflow.ActInput{Action: "assign", RouteUnitID: mzj})
	if err != nil {
		t.Fatal(err)
	}
	answer := open(t, routed, "answer")
	if routed.Instance.SubjectUnitID != mzj || answer.UnitID != mzj || *answer.Role != "clerk" {
		t.Fatalf("routed to %d: %+v", routed.Instance.SubjectUnitID, answer)
	}
	if n := f.count(t, wengyuan, "audit_log", "action = 'workflow.route'"); n != 1 {
		t.Errorf("%d routes in the audit trail", n)
	}
	before = f.snapshot(t, wengyuan)
	_, err = f.svc.Act(c.as("clerk1"), wengyuan, answer.ID, workflow.ActInput{Action: "answer", RouteUnitID: c.people["office"].Unit})
	wantCode(t, "routing to a step that is not routed", err, workflow.CodeRoutingNotAllowed)
	if after := f.snapshot(t, wengyuan); after != before {
		t.Errorf("a refused route changed the county: %s, was %s", after, before)
	}
	review := open(t, f.act(t, wengyuan, "clerk1", answer, "answer"), "review")
	if review.UnitID != mzj || *review.Role != "leader" {
		t.Fatalf("the review waits for %+v", review)
	}
	done := f.act(t, wengyuan, "chief", review, "publish")
	if done.Instance.Status != workflow.InstanceDone {
		t.Fatalf("after publishing: %+v", done.Instance)
	}

	// Without a route the routed step stays in the subject unit, here
	// the initiator's.
	plain, err := f.svc.Start(c.as("office"), wengyuan, workflow.StartInput{Workflow: "hotline.message", Title: "噪音扰民"})
	if err != nil {
		t.Fatal(err)
	}
	if a := open(t, f.act(t, wengyuan, "office", open(t, plain, "dispatch"), "assign"), "answer"); a.UnitID != c.people["office"].Unit {
		t.Errorf("an unrouted answer is for unit %d", a.UnitID)
	}
}

// sendUntilDistribution starts a sending document as clerk1 of the
// bureau and carries it to its distribution step.
func (f *fixture) sendUntilDistribution(t *testing.T, title string) (workflow.Outcome, workflow.Task) {
	t.Helper()
	c := f.counties[wengyuan]
	started, err := f.svc.Start(c.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "office.sending", Title: title})
	if err != nil {
		t.Fatal(err)
	}
	sign := open(t, f.act(t, wengyuan, "clerk1", open(t, started, "draft"), "submit"), "sign")
	return started, open(t, f.act(t, wengyuan, "chief", sign, "sign"), "distribute")
}

// TestDistributionStartsOneInstancePerRecipientOrNone: distributing a
// document starts a receiving instance in each recipient unit, whose
// clerk signs it in, and the sender lists them; a bad recipient, one that
// fails half-way, or a caller without the role starts none.
func TestDistributionStartsOneInstancePerRecipientOrNone(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	c := f.counties[wengyuan]
	bgs := c.people["office"].Unit
	czj := f.unit(t, wengyuan, "财政局", "CZJ", true)
	ggj := f.unit(t, wengyuan, "工信局", "GGJ", true)
	empty := f.unit(t, wengyuan, "无人单位", "EMPTY", false)
	foreign := f.foreignUnit(t)
	sending, distribute := f.sendUntilDistribution(t, "关于开展安全生产检查的通知")

	before := f.snapshot(t, wengyuan)
	for _, bad := range []struct {
		name string
		as   string
		in   workflow.ActInput
		code string
	}{
		{"no recipients", "clerk1", workflow.ActInput{Action: "distribute"}, workflow.CodeNoRecipients},
		{"another county's unit among them", "clerk1", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, foreign}}, workflow.CodeUnknownUnit},
		{"an unstaffed unit among them", "clerk1", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, empty}}, workflow.CodeInactiveUnit},
		{"a unit twice", "clerk1", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, czj}}, workflow.CodeInvalidRequest},
		{"a route where no step is routed", "clerk1", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj}, RouteUnitID: czj}, workflow.CodeRoutingNotAllowed},
		{"a clerk of another unit", "outsider", workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj}}, workflow.CodeNotYourTask},
	} {
		_, err := f.svc.Act(c.as(bad.as), wengyuan, distribute.ID, bad.in)
		wantCode(t, bad.name, err, bad.code)
	}
	// A recipient that fails after the others have started: the database
	// refuses the second recipient's instance.
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)
	if _, err := f.db.Server.Exec(fmt.Sprintf("CREATE TRIGGER %s.refuse_ggj BEFORE INSERT ON %s.workflow_instances FOR EACH ROW "+
		"BEGIN IF NEW.subject_unit_id = %d THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused for the test'; END IF; END", schema, schema, ggj)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Act(c.as("clerk1"), wengyuan, distribute.ID, workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj, bgs}}); err == nil {
		t.Fatal("a distribution whose second recipient fails went through")
	}
	if after := f.snapshot(t, wengyuan); after != before {
		t.Errorf("refused distributions changed the county: %s, was %s", after, before)
	}
	if _, err := f.db.Server.Exec(fmt.Sprintf("DROP TRIGGER %s.refuse_ggj", schema)); err != nil {
		t.Fatal(err)
	}

	sent, err := f.svc.Act(c.as("clerk1"), wengyuan, distribute.ID, workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj, bgs}})
	if err != nil {
		t.Fatal(err)
	}
	if sent.Instance.Status != workflow.InstanceDone || len(sent.Distributed) != 3 {
		t.Fatalf("sent %+v, distributed %d", sent.Instance, len(sent.Distributed))
	}
	for i, unit := range []int64{czj, ggj, bgs} {
		d := sent.Distributed[i]
		if d.Workflow != "office.receiving" || d.SubjectUnitID != unit || d.ParentID == nil || *d.ParentID != sending.Instance.ID || d.Title != sending.Instance.Title {
			t.Errorf("recipient %d: %+v", unit, d)
		}
	}
	if n := f.count(t, wengyuan, "workflow_tasks", "step = 'sign_in' AND status = 'open' AND assignee_role = 'clerk' AND unit_id IN (?, ?, ?)", czj, ggj, bgs); n != 3 {
		t.Errorf("%d sign-in tasks in the recipient units", n)
	}
	list, err := f.svc.Distributed(c.as("clerk1"), wengyuan, sending.Instance.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("the sender lists %d: %v", len(list), err)
	}
	var items []workflow.InboxItem
	if items, err = f.svc.Inbox(c.as("czj_clerk"), wengyuan, workflow.InboxFilter{}); err != nil || len(items) != 1 {
		t.Fatalf("the recipient's clerk has %d tasks: %v", len(items), err)
	}
	f.act(t, wengyuan, "czj_clerk", items[0].Task, "sign_in")
	if list, _ = f.svc.Distributed(c.as("clerk1"), wengyuan, sending.Instance.ID); list[0].Status != workflow.InstanceRunning {
		t.Errorf("the signed-in recipient: %+v", list[0])
	}
	// A module reads the recipients' sign-ins by the sending instance:
	// those of its distribution, not another's.
	_, second := f.sendUntilDistribution(t, "关于报送统计数据的通知")
	if _, err := f.svc.Act(c.as("clerk1"), wengyuan, second.ID, workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj}}); err != nil {
		t.Fatal(err)
	}
	if items, err = f.svc.Inbox(c.as("czj_clerk"), wengyuan, workflow.InboxFilter{}); err != nil || len(items) != 1 {
		t.Fatalf("the recipient's clerk has %d tasks: %v", len(items), err)
	}
	f.act(t, wengyuan, "czj_clerk", items[0].Task, "sign_in")
	signIns := func(parent int64) int {
		t.Helper()
		done, err := f.svc.ModuleTasks(c.as("clerk1"), wengyuan, workflow.ModuleFilter{Workflows: []string{"office.receiving"}, Status: workflow.TaskDone, Parent: parent})
		if err != nil {
			t.Fatal(err)
		}
		return len(done)
	}
	if first, all := signIns(sending.Instance.ID), signIns(0); first != 1 || all != 2 {
		t.Errorf("sign-ins of the first distribution %d, of both %d; want 1 and 2", first, all)
	}
	if _, err := f.svc.Distributed(c.as("ggj_clerk"), wengyuan, sending.Instance.ID); err == nil {
		t.Error("a recipient's clerk listed the sender's distribution")
	} else {
		wantCode(t, "a recipient lists the distribution", err, workflow.CodeInstanceNotFound)
	}
	lc := f.counties[lechang]
	if _, err := f.svc.Distributed(lc.as("clerk1"), lechang, sending.Instance.ID); err == nil {
		t.Error("another county listed the distribution")
	}
}

// TestAServerKilledWhileDistributingLeavesNoRecipientMissingOrDoubled:
// a server distributing documents to ten units each is killed mid-way;
// every document is distributed to all ten or to none, and a second
// server finishes the rest without doubling any.
func TestAServerKilledWhileDistributingLeavesNoRecipientMissingOrDoubled(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	const documents, recipients = 30, 10
	var units []int64
	for i := range recipients {
		units = append(units, f.unit(t, wengyuan, fmt.Sprintf("单位%d", i), fmt.Sprintf("U%d", i), true))
	}
	for i := range documents {
		f.sendUntilDistribution(t, fmt.Sprintf("发文 %d", i))
	}
	actor, err := json.Marshal(f.counties[wengyuan].people["clerk1"])
	if err != nil {
		t.Fatal(err)
	}
	act, err := json.Marshal(workflow.ActInput{Action: "distribute", RecipientUnitIDs: units})
	if err != nil {
		t.Fatal(err)
	}
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)
	consistent := func() int {
		t.Helper()
		done := f.count(t, wengyuan, "workflow_tasks", "step = 'distribute' AND status = 'done'")
		for what, n := range map[string]int{
			"receiving instances":  f.count(t, wengyuan, "workflow_instances", "parent_id IS NOT NULL"),
			"sign-in tasks":        f.count(t, wengyuan, "workflow_tasks", "step = 'sign_in'"),
			"senders with 10":      recipients * f.count(t, wengyuan, "workflow_instances p", "(SELECT COUNT(*) FROM "+schema+".workflow_instances c WHERE c.parent_id = p.id) = ?", recipients),
			"finished senders":     recipients * f.count(t, wengyuan, "workflow_instances", "definition_code = 'office.sending' AND status = 'done'"),
			"recipients' starts":   f.count(t, wengyuan, "audit_log", "action = 'workflow.start'") - documents,
			"recipient units told": f.count(t, wengyuan, "notifications", "kind = 'task_assigned' AND channel = 'inapp' AND account_id = ?", f.counties[wengyuan].people["u0_clerk"].ID) * recipients,
		} {
			if n != recipients*done {
				t.Errorf("%d documents distributed but %d %s (want %d each)", done, n, what, recipients)
			}
		}
		return done
	}
	f.runActing(t, string(actor), string(act), documents/3)
	if done := consistent(); done == 0 || done == documents {
		t.Logf("the kill landed outside the run (%d of %d distributed)", done, documents)
	}
	f.runActing(t, string(actor), string(act), 0)
	if done := consistent(); done != documents {
		t.Fatalf("%d of %d distributed after the second server", done, documents)
	}
}
