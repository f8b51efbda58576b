package workflow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/core/workday"
	flow "github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// county is a provisioned county with an office (BGS) and a bureau whose
// people the tests act as.
type county struct {
	code   string
	people map[string]auth.Principal
}

// as is ctx acting as the county's person login.
func (c county) as(login string) context.Context {
	p := c.people[login]
	ctx := auth.WithPrincipal(context.Background(), p)
	return audit.WithActor(ctx, audit.Actor{Kind: string(p.Kind), ID: p.ID, Login: p.Login, Unit: p.Unit})
}

type fixture struct {
	db       *storetest.DB
	svc      *workflow.Service
	counties map[string]county
	// clock is the engine's now, moved by tests.
	clock *clock
	org   org.Service
	// router, calendars and registry are what the engine runs on, for
	// the services that read its tables (supervision).
	router    *store.Router
	calendars *calendar.Service
	registry  registry.Service
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func setup(t testing.TB) *fixture {
	t.Helper()
	db := storetest.New(t)
	reg := provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	router := provisiontest.Router(db, registry.LocatorInterval)
	ctx := context.Background()
	cals, err := calendar.NewService(router)
	if err != nil {
		t.Fatal(err)
	}
	// Monday 2026-06-01, 09:00 in China.
	clk := &clock{t: time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC)}
	f := &fixture{db: db, svc: workflow.NewService(router, cals, nil, nil, clk.now, quiet), counties: map[string]county{}, clock: clk,
		router: router, calendars: cals, registry: reg}
	people := org.NewService(router)
	f.org = people
	for _, code := range []string{wengyuan, lechang} {
		c := county{code: code, people: map[string]auth.Principal{}}
		bgs, err := people.CreateUnit(ctx, code, org.UnitInput{Name: "县政府办公室", Code: "BGS"})
		if err != nil {
			t.Fatal(err)
		}
		bureau, err := people.CreateUnit(ctx, code, org.UnitInput{Name: "民政局", Code: "MZJ"})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range []struct {
			login string
			unit  int64
			roles []string
		}{
			{"clerk1", bureau.ID, []string{"clerk"}}, {"clerk2", bureau.ID, []string{"clerk"}},
			{"chief", bureau.ID, []string{"leader"}}, {"office", bgs.ID, []string{"business_admin"}},
			{"outsider", bgs.ID, []string{"clerk"}},
		} {
			acc, err := people.CreateAccount(ctx, code, org.AccountInput{Login: a.login, Name: a.login, UnitID: a.unit, Roles: a.roles})
			if err != nil {
				t.Fatal(err)
			}
			c.people[a.login] = auth.Principal{Kind: auth.KindAccount, ID: acc.ID, Login: a.login, Tenant: code, Unit: a.unit, Roles: a.roles}
		}
		c.people["operator"] = auth.Principal{Kind: auth.KindOperator, ID: 1, Login: "operator"}
		if _, err := f.svc.PutDefinition(c.as("operator"), code, "office.incoming", incoming(t)); err != nil {
			t.Fatal(err)
		}
		f.counties[code] = c
	}
	return f
}

func incoming(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../../core/workflow/testdata/incoming_document.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v, want code %s", what, err, code)
	}
}

// open is the one open task of instance at step.
func open(t *testing.T, o workflow.Outcome, step string) workflow.Task {
	t.Helper()
	for _, task := range o.Opened {
		if task.Step == step {
			return task
		}
	}
	t.Fatalf("no %s task among %+v", step, o.Opened)
	return workflow.Task{}
}

func (f *fixture) act(t *testing.T, code, login string, task workflow.Task, action string) workflow.Outcome {
	t.Helper()
	c := f.counties[code]
	o, err := f.svc.Act(c.as(login), code, task.ID, workflow.ActInput{Action: action})
	if err != nil {
		t.Fatalf("%s does %s on %s: %v", login, action, task.Step, err)
	}
	return o
}

func (f *fixture) start(t *testing.T, code, login, title string) workflow.Outcome {
	t.Helper()
	o, err := f.svc.Start(f.counties[code].as(login), code, workflow.StartInput{Workflow: "office.incoming", Title: title})
	if err != nil {
		t.Fatalf("%s starts %s: %v", login, title, err)
	}
	return o
}

// count is a COUNT(*) in a county's schema.
func (f *fixture) count(t *testing.T, code, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Server.Get(&n, fmt.Sprintf("SELECT COUNT(*) FROM %s.%s WHERE %s", registry.SchemaName(f.db.SchemaPrefix, code), table, where), args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAnIncomingDocumentGoesFromRegisterToArchive: the whole receiving
// flow with its countersigning fork, deadlines in working time, history
// and audit, and nothing of it in the other county.
func TestAnIncomingDocumentGoesFromRegisterToArchive(t *testing.T) {
	f := setup(t)
	started := f.start(t, wengyuan, "clerk1", "关于做好防汛工作的通知")
	register := open(t, started, "register")
	if register.Role == nil || *register.Role != "clerk" || register.UnitID != f.counties[wengyuan].people["clerk1"].Unit {
		t.Fatalf("register is for %+v", register)
	}
	// Four working hours from Monday 09:00 are three before noon and one
	// after 14:00: 15:00.
	if want := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC); !register.DueAt.Equal(want) {
		t.Errorf("register due %v, want %v", register.DueAt, want)
	}
	// 15 working days after Monday 1 June, the Dragon Boat Festival on
	// Friday 19 June off: Tuesday 23 June at the close of business.
	if want := time.Date(2026, 6, 23, 9, 30, 0, 0, time.UTC); !started.Instance.DueAt.Equal(want) {
		t.Errorf("the instance is due %v, want %v", started.Instance.DueAt, want)
	}
	if !register.WarnAt.Before(*register.DueAt) || !register.WarnAt.After(register.CreatedAt) {
		t.Errorf("warn at %v for a task from %v due %v", register.WarnAt, register.CreatedAt, register.DueAt)
	}
	forked := f.act(t, wengyuan, "clerk1", register, "submit")
	leader, office := open(t, forked, "leader_review"), open(t, forked, "office_review")
	if *leader.Role != "leader" || *leader.JoinStep != "handle" {
		t.Errorf("leader review: %+v", leader)
	}
	if _, err := f.svc.Act(f.counties[wengyuan].as("clerk2"), wengyuan, leader.ID, workflow.ActInput{Action: "approve"}); err == nil {
		t.Fatal("a clerk approved the leader's review")
	} else {
		wantCode(t, "a clerk on the leader's task", err, workflow.CodeNotYourTask)
	}
	if o := f.act(t, wengyuan, "chief", leader, "approve"); len(o.Opened) != 0 {
		t.Fatalf("one branch of two opened %+v", o.Opened)
	}
	handle := open(t, f.act(t, wengyuan, "office", office, "approve"), "handle")
	if _, err := f.svc.Act(f.counties[wengyuan].as("clerk1"), wengyuan, handle.ID, workflow.ActInput{Action: "approve"}); err == nil {
		t.Fatal("an action handle does not offer was taken")
	} else {
		wantCode(t, "an action the step lacks", err, flow.CodeActionNotAllowed)
	}
	archive := open(t, f.act(t, wengyuan, "clerk2", handle, "done"), "archive")
	done := f.act(t, wengyuan, "clerk1", archive, "archive")
	if done.Instance.Status != workflow.InstanceDone || done.Instance.FinishedAt == nil || len(done.Opened) != 0 {
		t.Fatalf("after archiving: %+v", done.Instance)
	}
	view, err := f.svc.Instance(f.counties[wengyuan].as("office"), wengyuan, started.Instance.ID)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, h := range view.History {
		actions = append(actions, h.Step+"/"+h.Action+"/"+h.ActorLogin)
	}
	if fmt.Sprint(actions) != "[register/start/clerk1 register/submit/clerk1 leader_review/approve/chief office_review/approve/office handle/done/clerk2 archive/archive/clerk1]" {
		t.Errorf("history %v", actions)
	}
	if n := f.count(t, wengyuan, "audit_log", "action LIKE 'workflow.%'"); n != 7 {
		t.Errorf("%d workflow entries in the audit trail, want 7 (put, start and 5 actions)", n)
	}
	if _, err := f.svc.Instance(f.counties[wengyuan].as("outsider"), wengyuan, started.Instance.ID); err == nil {
		t.Error("an account it does not concern read the instance")
	} else {
		wantCode(t, "an outsider reads the instance", err, workflow.CodeInstanceNotFound)
	}
	if n := f.count(t, lechang, "workflow_tasks", "1"); n != 0 {
		t.Errorf("the other county has %d tasks", n)
	}
}

// TestTwoPeopleActingOnOneTaskExactlyOneWins: both clerks of the unit
// press "done" at once, many times over; each time exactly one succeeds,
// the other is told who did it, and the next step opens once.
func TestTwoPeopleActingOnOneTaskExactlyOneWins(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	for round := range 10 {
		started := f.start(t, wengyuan, "clerk1", fmt.Sprintf("来文 %d", round))
		forked := f.act(t, wengyuan, "clerk1", open(t, started, "register"), "submit")
		f.act(t, wengyuan, "chief", open(t, forked, "leader_review"), "approve")
		handle := open(t, f.act(t, wengyuan, "office", open(t, forked, "office_review"), "approve"), "handle")
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, login := range []string{"clerk1", "clerk2"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = f.svc.Act(c.as(login), wengyuan, handle.ID, workflow.ActInput{Action: "done"})
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range results {
			switch {
			case err == nil:
				won++
			case errs.CodeOf(err) != workflow.CodeTaskClosed:
				t.Fatalf("round %d: the loser got %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of two won (%v)", round, won, results)
		}
		if n := f.count(t, wengyuan, "workflow_tasks", "instance_id = ? AND step = 'archive'", started.Instance.ID); n != 1 {
			t.Fatalf("round %d: %d archive tasks", round, n)
		}
		if n := f.count(t, wengyuan, "workflow_history", "instance_id = ? AND step = 'handle'", started.Instance.ID); n != 1 {
			t.Fatalf("round %d: %d history rows for handle", round, n)
		}
	}
}

func TestAnInitiatorWithdrawsUntilSomeoneElseActs(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	first := f.start(t, wengyuan, "clerk1", "撤回的来文")
	f.act(t, wengyuan, "clerk1", open(t, first, "register"), "submit")
	if _, err := f.svc.Withdraw(c.as("clerk2"), wengyuan, first.Instance.ID, ""); err == nil {
		t.Fatal("someone else withdrew it")
	} else {
		wantCode(t, "another withdraws", err, workflow.CodeInstanceNotFound)
	}
	inst, err := f.svc.Withdraw(c.as("clerk1"), wengyuan, first.Instance.ID, "发错了")
	if err != nil || inst.Status != workflow.InstanceWithdrawn {
		t.Fatalf("withdraw: %+v %v", inst, err)
	}
	if n := f.count(t, wengyuan, "workflow_tasks", "instance_id = ? AND status = 'open'", first.Instance.ID); n != 0 {
		t.Errorf("%d tasks still open", n)
	}
	second := f.start(t, wengyuan, "clerk1", "已批示的来文")
	forked := f.act(t, wengyuan, "clerk1", open(t, second, "register"), "submit")
	f.act(t, wengyuan, "chief", open(t, forked, "leader_review"), "approve")
	_, err = f.svc.Withdraw(c.as("clerk1"), wengyuan, second.Instance.ID, "")
	wantCode(t, "withdraw after the leader acted", err, workflow.CodeNotWithdrawable)
}

// TestBadInputChangesNothing: a broken definition is refused with every
// problem, a localisation may not drop a mandatory step, an operator
// cannot act, and a county's task ids mean nothing in another county.
func TestBadInputChangesNothing(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	_, err := f.svc.PutDefinition(c.as("operator"), wengyuan, "office.incoming", []byte(`{"code":"office.incoming","name":"收文","version":2,"start":"nowhere",
"steps":[{"id":"a","name":"A","assignee":{"role":"astronaut"},"actions":[{"name":"go","to":"b"}]}]}`))
	wantCode(t, "a broken definition", err, flow.CodeInvalidDefinition)
	if len(flow.ProblemsOf(err)) < 3 {
		t.Errorf("problems: %v", flow.ProblemsOf(err))
	}
	_, err = f.svc.Localize(c.as("operator"), wengyuan, "office.incoming", flow.Local{Remove: []string{"handle"}})
	wantCode(t, "removing a mandatory step", err, flow.CodeInvalidDefinition)
	if n := f.count(t, wengyuan, "workflow_definitions", "1"); n != 1 {
		t.Errorf("%d revisions after refused changes", n)
	}
	_, err = f.svc.Start(c.as("operator"), wengyuan, workflow.StartInput{Workflow: "office.incoming", Title: "x"})
	wantCode(t, "an operator starts", err, workflow.CodeNotYourTask)
	_, err = f.svc.Start(c.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "oa.unknown", Title: "x"})
	wantCode(t, "an unknown workflow", err, workflow.CodeWorkflowNotFound)
	_, err = f.svc.Start(c.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "office.incoming", Title: " "})
	wantCode(t, "no title", err, workflow.CodeInvalidRequest)

	mine := f.start(t, wengyuan, "clerk1", "翁源的来文")
	theirs := f.start(t, lechang, "clerk1", "乐昌的来文")
	other := f.counties[lechang]
	// Lechang's clerk acting in Lechang on Wengyuan's task id reaches
	// Lechang's own task of that id, never Wengyuan's.
	if open(t, mine, "register").ID != open(t, theirs, "register").ID {
		t.Fatal("the two counties' first tasks should share an id, each county counting its own")
	}
	_, err = f.svc.Act(other.as("chief"), lechang, open(t, mine, "register").ID, workflow.ActInput{Action: "submit"})
	wantCode(t, "Lechang's leader on the clerk's task", err, workflow.CodeNotYourTask)
	_, err = f.svc.Act(other.as("clerk1"), wengyuan, open(t, mine, "register").ID, workflow.ActInput{Action: "submit"})
	wantCode(t, "Lechang's clerk in Wengyuan", err, workflow.CodeNotYourTask)
	if n := f.count(t, wengyuan, "workflow_tasks", "status = 'done'"); n != 0 {
		t.Errorf("%d tasks done in Wengyuan", n)
	}
}

// TestInboxes: a clerk sees the tasks of their role in their unit, a
// leader theirs, a unit's inbox everything open in it, and nobody sees
// another unit's unless they run the county.
func TestInboxes(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	started := f.start(t, wengyuan, "clerk1", "收件箱")
	f.act(t, wengyuan, "clerk1", open(t, started, "register"), "submit")
	for _, w := range []struct {
		login string
		steps []string
	}{{"clerk2", nil}, {"chief", []string{"leader_review"}}, {"office", []string{"office_review"}}, {"outsider", nil}} {
		items, err := f.svc.Inbox(c.as(w.login), wengyuan, workflow.InboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, it := range items {
			steps = append(steps, it.Step)
			if it.Title != "收件箱" {
				t.Errorf("item title %q", it.Title)
			}
		}
		if fmt.Sprint(steps) != fmt.Sprint(w.steps) {
			t.Errorf("%s's inbox: %v, want %v", w.login, steps, w.steps)
		}
	}
	bureau := c.people["clerk1"].Unit
	items, err := f.svc.Inbox(c.as("clerk2"), wengyuan, workflow.InboxFilter{Unit: bureau})
	if err != nil || len(items) != 1 || items[0].Step != "leader_review" {
		t.Errorf("the bureau's inbox: %+v %v", items, err)
	}
	_, err = f.svc.Inbox(c.as("office"), wengyuan, workflow.InboxFilter{Unit: bureau})
	wantCode(t, "another unit's inbox", err, workflow.CodeNotYourTask)
}

// TestNoticesFollowTheDirectoryAtOnce: the engine remembers whom a
// unit's role reaches, yet a change to the county's accounts counts from
// the next action on: the leader who gave up the role hears nothing, the
// new one does, and an address just added gets its e-mail.
func TestNoticesFollowTheDirectoryAtOnce(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	first := open(t, f.start(t, wengyuan, "clerk1", "第一份来文"), "register")
	second := open(t, f.start(t, wengyuan, "clerk1", "第二份来文"), "register")
	notices := func(login, channel string, task workflow.Task) int {
		return f.count(t, wengyuan, "notifications", "account_id = ? AND ref_id = ? AND channel = ?", c.people[login].ID, task.ID, channel)
	}
	before := f.act(t, wengyuan, "clerk1", first, "submit")
	leader, office := open(t, before, "leader_review"), open(t, before, "office_review")
	if notices("chief", "inapp", leader) != 1 || notices("clerk2", "inapp", leader) != 0 || notices("office", "email", office) != 0 {
		t.Fatal("the first notices went astray")
	}
	people := org.NewService(provisiontest.Router(f.db, registry.LocatorInterval))
	ctx := context.Background()
	none, lead, address := []string{}, []string{"leader"}, "office@wengyuan.gov.cn"
	for login, patch := range map[string]org.AccountPatch{"chief": {Roles: &none}, "clerk2": {Roles: &lead}, "office": {Email: &address}} {
		if _, err := people.UpdateAccount(ctx, wengyuan, c.people[login].ID, patch); err != nil {
			t.Fatal(err)
		}
	}
	after := f.act(t, wengyuan, "clerk1", second, "submit")
	leader, office = open(t, after, "leader_review"), open(t, after, "office_review")
	if n := notices("chief", "inapp", leader); n != 0 {
		t.Errorf("the former leader got %d notices", n)
	}
	if n := notices("clerk2", "inapp", leader); n != 1 {
		t.Errorf("the new leader got %d notices, want 1", n)
	}
	if n := notices("office", "email", office); n != 1 {
		t.Errorf("the new address got %d e-mails, want 1", n)
	}
}

// TestATasksDeadlineCarriesTheStatusOfTheCalendarItWasCountedIn: a
// deadline counted over 2026 is official, one over 2027 provisional, one
// over 2028 (no data: National Day counted as working days) missing; the
// tasks and instances keep it, and the inbox and the instance show it.
func TestATasksDeadlineCarriesTheStatusOfTheCalendarItWasCountedIn(t *testing.T) {
	f := setup(t)
	c := f.counties[wengyuan]
	for _, tc := range []struct {
		china                    string
		instance, register       workday.Status
		instanceDue, registerDue string
	}{
		{"2026-06-01 09:00", workday.Official, workday.Official, "2026-06-23 17:30", "2026-06-01 15:00"},
		{"2027-03-01 09:00", workday.Provisional, workday.Provisional, "2027-03-22 17:30", "2027-03-01 15:00"},
		// 15 working days from 25 September 2028 run straight through
		// National Day; four working hours stay in the day.
		{"2028-09-25 09:00", workday.Missing, workday.Missing, "2028-10-16 17:30", "2028-09-25 15:00"},
		// The instance's 15 days reach into 2028; the first step's four
		// hours do not.
		{"2027-12-20 09:00", workday.Missing, workday.Provisional, "2028-01-10 17:30", "2027-12-20 15:00"},
	} {
		at, err := time.ParseInLocation("2006-01-02 15:04", tc.china, workday.China())
		if err != nil {
			t.Fatal(err)
		}
		f.clock.mu.Lock()
		f.clock.t = at
		f.clock.mu.Unlock()
		started := f.start(t, wengyuan, "clerk1", "时限 "+tc.china)
		register := open(t, started, "register")
		china := func(t *time.Time) string { return t.In(workday.China()).Format("2006-01-02 15:04") }
		if i := started.Instance; china(i.DueAt) != tc.instanceDue || i.DueCalendar == nil || *i.DueCalendar != tc.instance {
			t.Errorf("started %s: the instance is due %s (%v), want %s (%s)", tc.china, china(i.DueAt), i.DueCalendar, tc.instanceDue, tc.instance)
		}
		if china(register.DueAt) != tc.registerDue || register.DueCalendar == nil || *register.DueCalendar != tc.register {
			t.Errorf("started %s: register is due %s (%v), want %s (%s)", tc.china, china(register.DueAt), register.DueCalendar, tc.registerDue, tc.register)
		}
		if n := f.count(t, wengyuan, "workflow_tasks", "id = ? AND due_calendar = ?", register.ID, tc.register); n != 1 {
			t.Errorf("started %s: task %d is not stored as %s", tc.china, register.ID, tc.register)
		}
		if n := f.count(t, wengyuan, "workflow_instances", "id = ? AND due_calendar = ?", started.Instance.ID, tc.instance); n != 1 {
			t.Errorf("started %s: instance %d is not stored as %s", tc.china, started.Instance.ID, tc.instance)
		}
		// The notice of the task says the deadline may be wrong.
		caveat := map[workday.Status]string{workday.Official: "", workday.Provisional: "推定的节假日安排", workday.Missing: "尚无节假日数据"}[tc.register]
		notices := f.count(t, wengyuan, "notifications", "ref_id = ? AND channel = 'inapp'", register.ID)
		warned := f.count(t, wengyuan, "notifications", "ref_id = ? AND channel = 'inapp' AND body LIKE '%节假日%'", register.ID)
		if caveat != "" && (notices == 0 || f.count(t, wengyuan, "notifications", "ref_id = ? AND channel = 'inapp' AND body LIKE ?", register.ID, "%"+caveat+"%") != notices) ||
			caveat == "" && warned != 0 {
			t.Errorf("started %s: %d of %d notices of a %s deadline warn of its calendar", tc.china, warned, notices, tc.register)
		}
		// The next steps opened by acting keep their own status.
		leader := open(t, f.act(t, wengyuan, "clerk1", register, "submit"), "leader_review")
		if leader.DueCalendar == nil {
			t.Fatalf("started %s: the leader's task has no calendar status", tc.china)
		}
		items, err := f.svc.Inbox(c.as("chief"), wengyuan, workflow.InboxFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if last := items[len(items)-1]; last.ID != leader.ID || last.DueCalendar == nil || *last.DueCalendar != *leader.DueCalendar {
			t.Errorf("started %s: the inbox shows %+v, the task was opened %s", tc.china, last, *leader.DueCalendar)
		}
		view, err := f.svc.Instance(c.as("clerk1"), wengyuan, started.Instance.ID)
		if err != nil {
			t.Fatal(err)
		}
		if view.DueCalendar == nil || *view.DueCalendar != tc.instance || view.Tasks[0].DueCalendar == nil || *view.Tasks[0].DueCalendar != tc.register {
			t.Errorf("started %s: the instance reads %v, its first task %v", tc.china, view.DueCalendar, view.Tasks[0].DueCalendar)
		}
	}
	if n := f.count(t, lechang, "workflow_tasks", "due_calendar IS NOT NULL"); n != 0 {
		t.Errorf("the other county has %d tasks with a calendar status", n)
	}
}
