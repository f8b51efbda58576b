package workflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/supervision"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// at sets the engine's clock to a time in China.
func (f *fixture) at(y int, m time.Month, d, hour, minute int) {
	f.clock.mu.Lock()
	defer f.clock.mu.Unlock()
	f.clock.t = time.Date(y, m, d, hour, minute, 0, 0, time.FixedZone("CST", 8*3600)).UTC()
}

// taskRow is a task's columns that supervision reads, as stored.
type taskRow struct {
	Status    string     `db:"status"`
	Due       *time.Time `db:"due_at"`
	Warn      *time.Time `db:"warn_at"`
	NextCheck *time.Time `db:"next_check_at"`
	Suspended int64      `db:"suspended_seconds"`
}

func (f *fixture) task(t *testing.T, code string, id int64) taskRow {
	t.Helper()
	var r taskRow
	if err := f.db.Server.Get(&r, "SELECT status, due_at, warn_at, next_check_at, suspended_seconds FROM "+
		schemaOf(f, code)+".workflow_tasks WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	return r
}

func cst(y int, m time.Month, d, hour, minute int) time.Time {
	return time.Date(y, m, d, hour, minute, 0, 0, time.FixedZone("CST", 8*3600))
}

// TestASuspendedInstanceCountsNoneOfTheDaysItWaits (补正): the clerk asks
// for a missing attachment two hours into a four-hour step; for the two
// working days it waits, nobody acts on the task and supervision does not
// watch it; once resumed, the step's deadline, its warning time and the
// process's deadline have moved on by exactly those two working days, the
// assignees are told, and done then the step is on time. The history and
// the audit trail say who suspended and resumed it, and why.
func TestASuspendedInstanceCountsNoneOfTheDaysItWaits(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	started := f.start(t, wengyuan, "clerk1", "关于申请低保的报告")
	register := open(t, started, "register")
	// Monday 09:00 + 4 working hours: 15:00; warned at 80%, 14:12.
	if !register.DueAt.Equal(cst(2026, 6, 1, 15, 0)) || !register.WarnAt.Equal(cst(2026, 6, 1, 14, 12)) {
		t.Fatalf("register due %v, warned %v", register.DueAt, register.WarnAt)
	}
	processDue := *started.Instance.DueAt

	f.at(2026, 6, 1, 11, 0)
	suspended, err := f.svc.Suspend(c.as("clerk1"), wengyuan, started.Instance.ID, workflow.SuspendInput{Reason: "缺少户口簿复印件"})
	if err != nil {
		t.Fatal(err)
	}
	if len(suspended.Instances) != 1 || suspended.Instances[0].Status != workflow.InstanceSuspended || !suspended.Instances[0].SuspendedAt.Equal(cst(2026, 6, 1, 11, 0)) {
		t.Fatalf("suspended %+v", suspended.Instances)
	}
	if r := f.task(t, wengyuan, register.ID); r.Status != workflow.TaskSuspended || r.NextCheck != nil {
		t.Fatalf("the suspended task is %+v: supervision would still watch it", r)
	}
	before := f.snapshot(t, wengyuan)
	_, err = f.svc.Act(c.as("clerk1"), wengyuan, register.ID, workflow.ActInput{Action: "submit"})
	wantCode(t, "acting on a suspended task", err, workflow.CodeSuspended)
	_, err = f.svc.Suspend(c.as("clerk2"), wengyuan, started.Instance.ID, workflow.SuspendInput{Reason: "again"})
	wantCode(t, "suspending twice", err, workflow.CodeSuspended)
	_, err = f.svc.Resume(c.as("outsider"), wengyuan, started.Instance.ID, workflow.ResumeInput{})
	wantCode(t, "a clerk of another unit resuming", err, workflow.CodeNotYourTask)
	_, err = f.svc.Resume(f.counties[lechang].as("clerk1"), wengyuan, started.Instance.ID, workflow.ResumeInput{})
	wantCode(t, "another county's clerk resuming", err, workflow.CodeNotYourTask)
	_, err = f.svc.Resume(f.counties[lechang].as("clerk1"), lechang, started.Instance.ID, workflow.ResumeInput{})
	wantCode(t, "resuming in another county", err, workflow.CodeInstanceNotFound)
	_, err = f.svc.Resume(anonymous(), wengyuan, started.Instance.ID, workflow.ResumeInput{})
	wantCode(t, "an anonymous caller resuming outside a module", err, workflow.CodeNotYourTask)
	_, err = f.svc.Resume(anonymous(), wengyuan, started.Instance.ID, workflow.ResumeInput{Within: func(string) bool { return false }})
	wantCode(t, "a module resuming another's workflow", err, workflow.CodeInstanceNotFound)
	if after := f.snapshot(t, wengyuan); after != before {
		t.Fatalf("refused calls changed the county: %s, was %s", after, before)
	}

	// Wednesday 11:00: two working days later, the applicant's copy is in.
	f.at(2026, 6, 3, 11, 0)
	resumed, err := f.svc.Resume(c.as("clerk2"), wengyuan, started.Instance.ID, workflow.ResumeInput{Comment: "已补正"})
	if err != nil {
		t.Fatal(err)
	}
	inst := resumed.Instances[0]
	if inst.Status != workflow.InstanceRunning || inst.SuspendedAt != nil || inst.SuspendedSeconds != 14*3600 ||
		!inst.DueAt.Equal(processDue.AddDate(0, 0, 2)) {
		t.Fatalf("resumed %+v (due %v, was %v)", inst, inst.DueAt, processDue)
	}
	r := f.task(t, wengyuan, register.ID)
	if r.Status != workflow.TaskOpen || !r.Due.Equal(cst(2026, 6, 3, 15, 0)) || !r.Warn.Equal(cst(2026, 6, 3, 14, 12)) ||
		r.NextCheck == nil || !r.NextCheck.Equal(*r.Warn) || r.Suspended != 14*3600 {
		t.Fatalf("the resumed task is %+v", r)
	}
	if n := f.count(t, wengyuan, "notifications", "ref_type = 'workflow_task' AND ref_id = ?", register.ID); n < 2 {
		t.Errorf("%d notices of the task: its assignees were not told it resumed", n)
	}
	if n := f.count(t, wengyuan, "workflow_history", "instance_id = ? AND ((action = 'suspend' AND actor_login = 'clerk1' AND comment = '缺少户口簿复印件') OR (action = 'resume' AND actor_login = 'clerk2'))", inst.ID); n != 2 {
		t.Errorf("%d history rows of the suspension", n)
	}
	if n := f.count(t, wengyuan, "audit_log", "action IN ('workflow.suspend', 'workflow.resume') AND object_id = ?", inst.ID); n != 2 {
		t.Errorf("%d audit entries of the suspension", n)
	}
	_, err = f.svc.Resume(c.as("clerk2"), wengyuan, started.Instance.ID, workflow.ResumeInput{})
	wantCode(t, "resuming a running instance", err, workflow.CodeNotSuspended)

	// Wednesday 14:30: late by the calendar, on time by the stopped clock.
	f.at(2026, 6, 3, 14, 30)
	done := f.act(t, wengyuan, "clerk1", register, "submit")
	if done.Acted.DueAt.Before(*done.Acted.ActedAt) {
		t.Errorf("the step finished after its deadline %v", done.Acted.DueAt)
	}
	if done.Instance.WorkingDays != nil {
		t.Errorf("a running instance's handling time: %v", *done.Instance.WorkingDays)
	}

	// Finished at once: handled two working hours on Monday and one and
	// a half on Wednesday, half of a seven-hour working day, the two
	// days waiting not counted.
	f.act(t, wengyuan, "chief", open(t, done, "leader_review"), "approve")
	handle := open(t, f.act(t, wengyuan, "office", open(t, done, "office_review"), "approve"), "handle")
	finished := f.act(t, wengyuan, "clerk1", open(t, f.act(t, wengyuan, "clerk2", handle, "done"), "archive"), "archive")
	if finished.Instance.Status != workflow.InstanceDone || finished.Instance.WorkingDays == nil || *finished.Instance.WorkingDays != 0.5 {
		t.Fatalf("the finished instance's handling time: %+v", finished.Instance)
	}
	keptWorkingDays(t, f, inst.ID)
}

// fmtDays shows a handling time that may be missing.
func fmtDays(days *float64) string {
	if days == nil {
		return "none"
	}
	return fmt.Sprint(*days)
}

// keptWorkingDays checks that every read of done instance id gives the
// half working day its finishing action counted, a week later and after
// the county made that Wednesday a rest day; and that an instance
// finished before the figure was kept is given it counted at the read.
func keptWorkingDays(t *testing.T, f *fixture, id int64) {
	t.Helper()
	c := f.counties[wengyuan]
	f.at(2026, 6, 10, 9, 0)
	rest := false
	if _, err := f.calendars.SetOverride(c.as("office"), wengyuan, "2026-06-03", calendar.OverrideInput{Working: &rest, Note: "县里调休"}); err != nil {
		t.Fatal(err)
	}
	reads := func() map[string]*float64 {
		t.Helper()
		view, err := f.svc.Instance(c.as("chief"), wengyuan, id)
		if err != nil {
			t.Fatal(err)
		}
		listed, err := f.svc.ModuleInstances(context.Background(), wengyuan, workflow.ModuleFilter{Workflows: []string{"office.incoming"}, Status: workflow.InstanceDone})
		if err != nil || len(listed) != 1 {
			t.Fatalf("the done instances listed: %+v (%v)", listed, err)
		}
		return map[string]*float64{"read": view.WorkingDays, "listed": listed[0].WorkingDays}
	}
	for how, days := range reads() {
		if days == nil || *days != 0.5 {
			t.Errorf("the %s instance's handling time is %v, not the 0.5 counted when it finished", how, fmtDays(days))
		}
	}
	var stored *float64
	if err := f.db.Server.Get(&stored, "SELECT working_days FROM "+schemaOf(f, wengyuan)+".workflow_instances WHERE id = ?", id); err != nil || stored == nil || *stored != 0.5 {
		t.Errorf("stored handling time %v (%v)", stored, err)
	}

	// Finished before migration 00021: counted at the read, in the
	// calendar as it stands again.
	if err := f.calendars.DeleteOverride(c.as("office"), wengyuan, "2026-06-03"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Server.Exec("UPDATE "+schemaOf(f, wengyuan)+".workflow_instances SET working_days = NULL WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	for how, days := range reads() {
		if days == nil || *days != 0.5 {
			t.Errorf("the %s instance finished before its handling time was kept: %v, not 0.5", how, fmtDays(days))
		}
	}
	if _, err := f.svc.Instance(f.counties[lechang].as("clerk1"), lechang, id); err == nil {
		t.Error("Lechang's clerk read Wengyuan's instance in Lechang")
	}
}

// TestASuspensionStopsEveryInstanceDistributedFromIt (联合审批): one
// recipient of a distribution asks for a missing material and suspends
// the whole from its sending instance; every recipient's instance waits,
// and a clerk of another recipient may resume them all.
func TestASuspensionStopsEveryInstanceDistributedFromIt(t *testing.T) {
	f := setup(t)
	f.definitions(t)
	c := f.counties[wengyuan]
	czj := f.unit(t, wengyuan, "财政局", "CZJ", true)
	ggj := f.unit(t, wengyuan, "工信局", "GGJ", true)
	sending, distribute := f.sendUntilDistribution(t, "关于联合审批的事项")
	sent, err := f.svc.Act(c.as("clerk1"), wengyuan, distribute.ID, workflow.ActInput{Action: "distribute", RecipientUnitIDs: []int64{czj, ggj}})
	if err != nil {
		t.Fatal(err)
	}
	signIn := func(i int) int64 {
		var id int64
		if err := f.db.Server.Get(&id, "SELECT id FROM "+schemaOf(f, wengyuan)+".workflow_tasks WHERE instance_id = ? AND step = 'sign_in'", sent.Distributed[i].ID); err != nil {
			t.Fatal(err)
		}
		return id
	}
	first, second := signIn(0), signIn(1)
	dueBefore := f.task(t, wengyuan, second).Due

	_, err = f.svc.Suspend(c.as("outsider"), wengyuan, sending.Instance.ID, workflow.SuspendInput{Reason: "缺材料"})
	wantCode(t, "a clerk with no task in it suspending", err, workflow.CodeNotYourTask)
	got, err := f.svc.Suspend(c.as("czj_clerk"), wengyuan, sending.Instance.ID, workflow.SuspendInput{Reason: "缺少环评批复"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Instances) != 2 || got.Instances[0].ID != sent.Distributed[0].ID || got.Instances[1].ID != sent.Distributed[1].ID {
		t.Fatalf("suspended %+v", got.Instances)
	}
	if f.task(t, wengyuan, first).Status != workflow.TaskSuspended || f.task(t, wengyuan, second).Status != workflow.TaskSuspended {
		t.Fatal("a recipient's task still runs")
	}
	_, err = f.svc.Suspend(c.as("ggj_clerk"), wengyuan, sent.Distributed[1].ID, workflow.SuspendInput{Reason: "另一件"})
	wantCode(t, "suspending a recipient of a suspended whole", err, workflow.CodeSuspended)

	f.at(2026, 6, 2, 9, 0)
	back, err := f.svc.Resume(c.as("ggj_clerk"), wengyuan, sending.Instance.ID, workflow.ResumeInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Instances) != 2 {
		t.Fatalf("resumed %+v", back.Instances)
	}
	r := f.task(t, wengyuan, second)
	waited := 7 * time.Hour // Monday 09:00 to 17:30 less lunch, then Tuesday 08:30 to 09:00
	if r.Status != workflow.TaskOpen || r.Suspended != int64(waited/time.Second) || !r.Due.After(*dueBefore) {
		t.Fatalf("the resumed recipient's task is %+v, due %v before", r, dueBefore)
	}
}

func schemaOf(f *fixture, code string) string { return registry.SchemaName(f.db.SchemaPrefix, code) }

func anonymous() context.Context {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindAnonymous})
	return audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindAnonymous), Login: string(auth.KindAnonymous)})
}

// TestSupervisionWatchesNoneOfTheWait: electronic supervision, sweeping
// with the test's clock, neither warns nor marks red a task while its
// instance waits on the applicant, though its first deadline passes; once
// resumed, it turns yellow and red at the moved times, and the unit's
// figures count neither the wait as handling time nor the waiting task
// as overdue.
func TestSupervisionWatchesNoneOfTheWait(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	sup := supervision.New(f.router, f.calendars, f.registry, nil, supervision.Options{Workers: 1}, quiet)
	sweep := func(when time.Time) supervision.CountyResult {
		t.Helper()
		r, err := sup.Sweep(context.Background(), wengyuan, when)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	started := f.start(t, wengyuan, "clerk1", "关于申请低保的报告")
	register := open(t, started, "register")
	f.at(2026, 6, 1, 11, 0)
	if _, err := f.svc.Suspend(c.as("clerk1"), wengyuan, started.Instance.ID, workflow.SuspendInput{Reason: "缺少户口簿复印件"}); err != nil {
		t.Fatal(err)
	}
	if r := sweep(cst(2026, 6, 2, 16, 0)); r.Warned+r.Overdue != 0 {
		t.Fatalf("a sweep past the first deadline of a suspended task: %+v", r)
	}
	stats, err := sup.Stats(c.as("office"), wengyuan, supervision.Period{From: workday.DateOf(cst(2026, 6, 1, 12, 0)), To: workday.DateOf(cst(2026, 6, 2, 12, 0))},
		0, cst(2026, 6, 2, 16, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range stats.Units {
		if u.OpenOverdue != 0 {
			t.Errorf("a waiting task counted overdue in unit %d", u.UnitID)
		}
	}

	f.at(2026, 6, 3, 11, 0)
	if _, err := f.svc.Resume(c.as("clerk1"), wengyuan, started.Instance.ID, workflow.ResumeInput{}); err != nil {
		t.Fatal(err)
	}
	if r := sweep(cst(2026, 6, 3, 14, 0)); r.Warned+r.Overdue != 0 {
		t.Fatalf("a sweep before the moved warning time: %+v", r)
	}
	if r := sweep(cst(2026, 6, 3, 14, 20)); r.Warned != 1 || r.Overdue != 0 {
		t.Fatalf("a sweep after the moved warning time: %+v", r)
	}
	if r := sweep(cst(2026, 6, 3, 15, 10)); r.Overdue != 1 {
		t.Fatalf("a sweep after the moved deadline: %+v", r)
	}
	f.at(2026, 6, 3, 15, 30)
	f.act(t, wengyuan, "clerk1", register, "submit")
	stats, err = sup.Stats(c.as("office"), wengyuan, supervision.Period{From: workday.DateOf(cst(2026, 6, 3, 12, 0)), To: workday.DateOf(cst(2026, 6, 3, 12, 0))},
		c.people["clerk1"].Unit, cst(2026, 6, 3, 18, 0))
	if err != nil {
		t.Fatal(err)
	}
	// Monday 09:00 to 11:00 and Wednesday 11:00 to 15:30, less lunch:
	// 4.5 working hours of a 7-hour day, 0.64 of one.
	if u := stats.Units[0]; u.Finished != 1 || u.FinishedLate != 1 || u.AverageWorkingDays == nil || *u.AverageWorkingDays != 0.64 {
		t.Errorf("the unit's figures: %+v (average %v)", u, u.AverageWorkingDays)
	}
}

// TestASuspensionAndAnActionAtOnceNeitherDeadlockNorBothWin: a clerk
// acting on the task while another suspends its instance, many times
// over: either the action goes first (and the suspension, whose caller
// then has no task left in it, is refused) or the suspension does (and
// the action is refused as suspended); never both, never a deadlock.
func TestASuspensionAndAnActionAtOnceNeitherDeadlockNorBothWin(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	for i := range 10 {
		started := f.start(t, wengyuan, "clerk1", fmt.Sprintf("并发%d", i))
		register := open(t, started, "register")
		var actErr, suspendErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, actErr = f.svc.Act(c.as("clerk1"), wengyuan, register.ID, workflow.ActInput{Action: "submit"})
		}()
		go func() {
			defer wg.Done()
			_, suspendErr = f.svc.Suspend(c.as("clerk2"), wengyuan, started.Instance.ID, workflow.SuspendInput{Reason: "缺材料"})
		}()
		wg.Wait()
		switch {
		case actErr == nil && errs.CodeOf(suspendErr) == workflow.CodeNotYourTask:
		case suspendErr == nil && errs.CodeOf(actErr) == workflow.CodeSuspended:
		default:
			t.Fatalf("round %d: act %v, suspend %v", i, actErr, suspendErr)
		}
	}
}
