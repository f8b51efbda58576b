package supervision_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/tenants/supervision"
)

func ptr[T any](v T) *T { return &v }

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// fingerprint is a county's supervision state: settings, tasks, events,
// history and notifications.
func (c county) fingerprint() string {
	c.t.Helper()
	var b strings.Builder
	c.in(func(ctx context.Context, conn *sqlx.Conn) error {
		for _, q := range []string{
			"SELECT CONCAT_WS('|', name, value) FROM settings ORDER BY name",
			"SELECT CONCAT_WS('|', id, level, COALESCE(warn_at, '-'), COALESCE(due_at, '-'), COALESCE(next_check_at, '-'), COALESCE(assignee_account_id, '-'), COALESCE(assignee_role, '-'), unit_id, version, status) FROM workflow_tasks ORDER BY id",
			"SELECT CONCAT_WS('|', id, task_id, kind) FROM supervision_events ORDER BY id",
			"SELECT CONCAT_WS('|', id, task_id, action) FROM workflow_history ORDER BY id",
			"SELECT CONCAT_WS('|', id, account_id, kind, channel) FROM notifications ORDER BY id",
		} {
			var rows []string
			if err := conn.SelectContext(ctx, &rows, q); err != nil {
				return err
			}
			b.WriteString(strings.Join(rows, "\n") + "\n--\n")
		}
		return nil
	})
	return b.String()
}

func TestSettingsCheckEverythingAndMoveGreenWarnings(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	ctx := context.Background()
	wy := f.county(wengyuan)
	created, due := cst(2026, 6, 8, 9, 0), cst(2026, 6, 10, 17, 30)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, false); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{
			green(task{account: handler, created: created, warn: cst(2026, 6, 10, 10, 0), due: due}),
			yellowTask(task{account: handler, created: created, warn: cst(2026, 6, 8, 10, 0), due: due}),
			{account: handler, created: created, status: "done", warn: cst(2026, 6, 8, 10, 0), due: due, acted: created},
		})
	})

	s, err := f.svc.Settings(ctx, wengyuan)
	if err != nil || s != (supervision.Settings{WarnShare: 0.8}) {
		t.Fatalf("settings of a new county = %+v, %v", s, err)
	}
	before := wy.fingerprint()
	for what, c := range map[string]struct {
		in     supervision.SettingsInput
		fields []string
	}{
		"share above the range":       {supervision.SettingsInput{WarnShare: ptr(1.5)}, []string{"warn_share"}},
		"share below the range":       {supervision.SettingsInput{WarnShare: ptr(0.0)}, []string{"warn_share"}},
		"a unit the county lacks":     {supervision.SettingsInput{SupervisingUnit: ptr("NOPE")}, []string{"supervising_unit"}},
		"both wrong, told at once":    {supervision.SettingsInput{WarnShare: ptr(1.5), SupervisingUnit: ptr("NOPE")}, []string{"warn_share", "supervising_unit"}},
		"nothing to change":           {supervision.SettingsInput{}, []string{"warn_share"}},
		"a right share, a wrong unit": {supervision.SettingsInput{WarnShare: ptr(0.5), SupervisingUnit: ptr("NOPE")}, []string{"supervising_unit"}},
	} {
		_, err := f.svc.SetSettings(ctx, wengyuan, c.in)
		wantCode(t, what, err, supervision.CodeInvalidSettings)
		problems, _ := errs.As(err).Details.([]supervision.Problem)
		var fields []string
		for _, p := range problems {
			fields = append(fields, p.Field)
		}
		if strings.Join(fields, ",") != strings.Join(c.fields, ",") {
			t.Errorf("%s: problems %+v, want fields %v", what, problems, c.fields)
		}
	}
	if after := wy.fingerprint(); after != before {
		t.Fatalf("refused settings changed the county:\n%s\n%s", before, after)
	}

	actx := audit.WithActor(ctx, audit.Actor{Kind: "account", ID: 9, Login: "wyadmin"})
	s, err = f.svc.SetSettings(actx, wengyuan, supervision.SettingsInput{WarnShare: ptr(0.5), SupervisingUnit: ptr(" JCJ ")})
	if err != nil || s != (supervision.Settings{WarnShare: 0.5, SupervisingUnit: "JCJ", SupervisingUnitName: "县监察局"}) {
		t.Fatalf("set = %+v, %v", s, err)
	}
	if got, _ := f.svc.Settings(ctx, wengyuan); got != s {
		t.Errorf("read back %+v, want %+v", got, s)
	}
	// Half of Monday 09:00 to Wednesday 17:30 (6.5 + 7 + 7 working
	// hours) is 10 h 15 min in: Tuesday 14:15.
	var tasks []struct {
		Warn time.Time `db:"warn_at"`
		Next time.Time `db:"next_check_at"`
	}
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &tasks, "SELECT warn_at, COALESCE(next_check_at, due_at) AS next_check_at FROM workflow_tasks ORDER BY id")
	})
	if want := cst(2026, 6, 9, 14, 15); !tasks[0].Warn.Equal(want) || !tasks[0].Next.Equal(want) {
		t.Errorf("the green task warns at %v, next checked at %v; want %v", tasks[0].Warn, tasks[0].Next, want)
	}
	if want := cst(2026, 6, 8, 10, 0); !tasks[1].Warn.Equal(want) || !tasks[1].Next.Equal(due) {
		t.Errorf("the yellow task moved: warn %v, next %v", tasks[1].Warn, tasks[1].Next)
	}
	if want := cst(2026, 6, 8, 10, 0); !tasks[2].Warn.Equal(want) {
		t.Errorf("the done task moved: warn %v", tasks[2].Warn)
	}
	mustEqual(t, "audit entries", wy.count("SELECT COUNT(*) FROM audit_log WHERE action = 'supervision.settings.set' AND actor_login = 'wyadmin'"), 1)

	if s, err = f.svc.SetSettings(ctx, wengyuan, supervision.SettingsInput{SupervisingUnit: ptr("")}); err != nil || s != (supervision.Settings{WarnShare: 0.5}) {
		t.Errorf("removing the supervising unit = %+v, %v", s, err)
	}
	mustEqual(t, "the unit's setting", wy.count("SELECT COUNT(*) FROM settings WHERE name = 'supervision.unit'"), 0)
}

func TestEscalateByHand(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{
			yellowTask(task{account: handler, warn: at9, due: at12}),
			{account: handler, status: "done", acted: at9},
		})
	})
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", ID: sup1, Login: "sup1", Unit: 2})

	ev, err := f.svc.Escalate(ctx, wengyuan, 1, supervision.EscalateInput{Note: "请县政务服务中心说明原因"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID == 0 || ev.Kind != supervision.EventEscalated || ev.Level != supervision.Yellow || ev.ActorLogin != "sup1" || ev.UnitID != 1 ||
		ev.Note == nil || !strings.Contains(*ev.Note, "县监察局") || !strings.Contains(*ev.Note, "说明原因") {
		t.Errorf("event = %+v", ev)
	}
	if got := wy.inbox(notify.KindEscalation); len(got) != 1 || got[sup1] != 1 {
		t.Errorf("escalations = %v", got)
	}
	mustEqual(t, "audit entries", wy.count("SELECT COUNT(*) FROM audit_log WHERE action = 'supervision.task.escalate' AND object_id = '1'"), 1)
	mustEqual(t, "kicks", f.kicks.of(wengyuan), 1)

	before := wy.fingerprint()
	_, err = f.svc.Escalate(ctx, wengyuan, 2, supervision.EscalateInput{})
	wantCode(t, "a done task", err, supervision.CodeTaskClosed)
	_, err = f.svc.Escalate(ctx, wengyuan, 99, supervision.EscalateInput{})
	wantCode(t, "no such task", err, supervision.CodeTaskNotFound)
	_, err = f.svc.Escalate(ctx, wengyuan, 1, supervision.EscalateInput{Note: strings.Repeat("长", 1001)})
	wantCode(t, "a note too long", err, supervision.CodeInvalidNote)
	if after := wy.fingerprint(); after != before {
		t.Errorf("refused escalations changed the county")
	}
	wy.exec("DELETE FROM settings WHERE name = 'supervision.unit'")
	_, err = f.svc.Escalate(ctx, wengyuan, 1, supervision.EscalateInput{})
	wantCode(t, "no supervising unit", err, supervision.CodeNoSupervisorUnit)
}

func TestReassign(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{
			yellowTask(task{account: handler, warn: at9, due: at12, sms: true}),
			{account: handler, status: "done", acted: at9},
			green(task{role: "clerk", warn: at15, due: at16}),
		})
	})
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", ID: sup1, Login: "sup1", Unit: 2})

	before := wy.fingerprint()
	for what, c := range map[string]struct {
		task int64
		in   supervision.ReassignInput
		code string
	}{
		"nobody":                  {1, supervision.ReassignInput{}, supervision.CodeInvalidReassign},
		"an account and a role":   {1, supervision.ReassignInput{AccountID: ptr(int64(mzclerk)), UnitID: ptr(int64(3)), Role: "clerk"}, supervision.CodeInvalidReassign},
		"a role without its unit": {1, supervision.ReassignInput{Role: "clerk"}, supervision.CodeInvalidReassign},
		"a unit without a role":   {1, supervision.ReassignInput{UnitID: ptr(int64(3))}, supervision.CodeInvalidReassign},
		"a disabled account":      {1, supervision.ReassignInput{AccountID: ptr(int64(clerk3))}, supervision.CodeInvalidReassign},
		"an unknown account":      {1, supervision.ReassignInput{AccountID: ptr(int64(99))}, supervision.CodeInvalidReassign},
		"an unknown unit":         {1, supervision.ReassignInput{UnitID: ptr(int64(99)), Role: "clerk"}, supervision.CodeInvalidReassign},
		"an unknown role":         {1, supervision.ReassignInput{UnitID: ptr(int64(3)), Role: "astronaut"}, supervision.CodeInvalidReassign},
		"a role nobody there has": {1, supervision.ReassignInput{UnitID: ptr(int64(2)), Role: "clerk"}, supervision.CodeInvalidReassign},
		"the same assignee":       {1, supervision.ReassignInput{AccountID: ptr(int64(handler))}, supervision.CodeInvalidReassign},
		"a done task":             {2, supervision.ReassignInput{AccountID: ptr(int64(mzclerk))}, supervision.CodeTaskClosed},
		"no such task":            {99, supervision.ReassignInput{AccountID: ptr(int64(mzclerk))}, supervision.CodeTaskNotFound},
	} {
		_, err := f.svc.Reassign(ctx, wengyuan, c.task, c.in)
		wantCode(t, what, err, c.code)
	}
	if after := wy.fingerprint(); after != before {
		t.Fatalf("refused reassignments changed the county:\n%s\n%s", before, after)
	}

	a, err := f.svc.Reassign(ctx, wengyuan, 1, supervision.ReassignInput{AccountID: ptr(int64(mzclerk)), Note: "民政局承办"})
	if err != nil {
		t.Fatal(err)
	}
	if a.AccountID == nil || *a.AccountID != mzclerk || a.Role != nil || a.UnitID != 3 || a.Version != 1 || a.Notified != 1 || a.Event.Kind != supervision.EventReassigned {
		t.Errorf("assignment = %+v", a)
	}
	mustEqual(t, "the task's assignee", wy.count("SELECT COUNT(*) FROM workflow_tasks WHERE id = 1 AND assignee_account_id = 7 AND assignee_role IS NULL AND unit_id = 3 AND version = 1 AND level = 1"), 1)
	mustEqual(t, "history", wy.count("SELECT COUNT(*) FROM workflow_history WHERE task_id = 1 AND action = 'reassign' AND actor_id = 5 AND actor_login = 'sup1' AND comment LIKE '%民政收发员%民政局承办'"), 1)
	mustEqual(t, "event", wy.count("SELECT COUNT(*) FROM supervision_events WHERE task_id = 1 AND kind = 'reassigned' AND unit_id = 1 AND actor_login = 'sup1'"), 1)
	mustEqual(t, "audit", wy.count("SELECT COUNT(*) FROM audit_log WHERE action = 'supervision.task.reassign' AND object_id = '1' AND before_digest IS NOT NULL"), 1)
	if got := wy.inbox(notify.KindTaskAssigned); len(got) != 1 || got[mzclerk] != 1 {
		t.Errorf("assigned notices = %v", got)
	}

	// To the clerks of a unit: every active one is told.
	a, err = f.svc.Reassign(ctx, wengyuan, 3, supervision.ReassignInput{UnitID: ptr(int64(3)), Role: "clerk"})
	if err != nil || a.Role == nil || *a.Role != "clerk" || a.AccountID != nil || a.UnitID != 3 || a.Notified != 1 {
		t.Errorf("to the clerks of 县民政局: %+v, %v", a, err)
	}
	a, err = f.svc.Reassign(ctx, wengyuan, 3, supervision.ReassignInput{UnitID: ptr(int64(1)), Role: "clerk"})
	if err != nil || a.Notified != 2 {
		t.Errorf("back to the clerks of 县政务服务中心: %+v, %v", a, err)
	}
}

func TestAReassignmentLosesCleanlyToAnAct(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{yellowTask(task{account: handler, warn: at9, due: at12})})
	})
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", ID: sup1, Login: "sup1"})
	before := wy.count("SELECT COUNT(*) FROM supervision_events") + wy.count("SELECT COUNT(*) FROM workflow_history") + wy.count("SELECT COUNT(*) FROM notifications")

	// The assignee acts as the engine does, holding the row while the
	// supervisor's reassignment reads the task and tries to change it.
	var wg sync.WaitGroup
	acting := make(chan struct{})
	release := make(chan struct{})
	var actErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		actErr = wy.db.Cluster.InSchema(context.Background(), wy.schema, func(ctx context.Context, conn *sqlx.Conn) error {
			tx, err := conn.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "UPDATE workflow_tasks SET status = 'done', acted_at = ?, next_check_at = NULL, version = version + 1 WHERE id = 1 AND version = 0", at11.UTC()); err != nil {
				return err
			}
			close(acting)
			<-release
			return tx.Commit()
		})
	}()
	<-acting
	result := make(chan error, 1)
	go func() {
		_, err := f.svc.Reassign(ctx, wengyuan, 1, supervision.ReassignInput{AccountID: ptr(int64(mzclerk))})
		result <- err
	}()
	time.Sleep(200 * time.Millisecond)
	close(release)
	wg.Wait()
	if actErr != nil {
		t.Fatal(actErr)
	}
	err := <-result
	if code := errs.CodeOf(err); code != supervision.CodeTaskChanged && code != supervision.CodeTaskClosed {
		t.Fatalf("the reassignment that lost: %v", err)
	}
	mustEqual(t, "the task, done by its assignee", wy.count("SELECT COUNT(*) FROM workflow_tasks WHERE id = 1 AND status = 'done' AND assignee_account_id = 1 AND version = 1"), 1)
	mustEqual(t, "what the lost reassignment left", wy.count("SELECT COUNT(*) FROM supervision_events")+wy.count("SELECT COUNT(*) FROM workflow_history")+wy.count("SELECT COUNT(*) FROM notifications"), before)
}

func TestTasksAndEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	ctx := context.Background()
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{
			green(task{account: handler, warn: at9, due: at12}),                                            // red at the sweep
			green(task{role: "clerk", warn: at9, due: cst(2026, 6, 9, 15, 0)}),                             // yellow
			green(task{account: mzclerk, unit: 3, warn: at9, due: cst(2026, 6, 9, 11, 0)}),                 // yellow
			green(task{account: handler, warn: cst(2026, 6, 10, 9, 0), due: cst(2026, 6, 10, 17, 30)}),     // green
			{account: handler, status: "done", level: 2, warn: at9, due: at10, acted: at11},                // red once, done
			green(task{account: mzclerk, unit: 3, warn: at9, due: cst(2026, 6, 9, 11, 0), sms: true}),      // yellow
			green(task{account: mzclerk, unit: 3, warn: at9, due: cst(2026, 6, 9, 12, 0), status: "open"}), // yellow
		})
	})
	if _, err := f.svc.Sweep(ctx, wengyuan, at12); err != nil {
		t.Fatal(err)
	}
	now := cst(2026, 6, 9, 10, 0)

	page, err := f.svc.Tasks(ctx, wengyuan, supervision.TaskFilter{}, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, tk := range page.Tasks {
		ids = append(ids, tk.ID)
	}
	// The earliest deadline first; ties by id.
	if want := []int64{1, 3, 6, 7, 2}; !equalIDs(ids, want) || page.Next != "" {
		t.Fatalf("warned tasks %v (next %q), want %v", ids, page.Next, want)
	}
	first := page.Tasks[0]
	// Monday 12:00 to Tuesday 10:00 is 3.5 + 1.5 working hours.
	if first.Level != supervision.Red || first.LateHours != 5 || first.Title != "张三的营业执照申请" || first.StepName != "审核" || first.UnitName != "县政务服务中心" {
		t.Errorf("the red task = %+v", first)
	}
	// Tuesday 10:00 to 15:00 leaves 2 + 1 working hours.
	if last := page.Tasks[4]; last.Level != supervision.Yellow || last.LateHours != -3 || last.Role == nil || *last.Role != "clerk" {
		t.Errorf("the clerks' yellow task = %+v", last)
	}

	// Pages of two, of 县民政局's yellow tasks.
	var paged []int64
	f2 := supervision.TaskFilter{Level: supervision.Yellow, UnitID: 3, Limit: 2}
	for range 5 {
		p, err := f.svc.Tasks(ctx, wengyuan, f2, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range p.Tasks {
			paged = append(paged, tk.ID)
		}
		if p.Next == "" {
			break
		}
		f2.After = p.Next
	}
	if !equalIDs(paged, []int64{3, 6, 7}) {
		t.Errorf("paged yellow tasks of 县民政局 = %v", paged)
	}
	_, err = f.svc.Tasks(ctx, wengyuan, supervision.TaskFilter{After: "garbage"}, now)
	wantCode(t, "a bad cursor", err, supervision.CodeInvalidQuery)
	_, err = f.svc.Tasks(ctx, wengyuan, supervision.TaskFilter{Limit: 5000}, now)
	wantCode(t, "a page too large", err, supervision.CodeInvalidQuery)

	events, err := f.svc.Events(ctx, wengyuan, supervision.EventFilter{TaskID: 1})
	if err != nil || len(events.Events) != 2 || events.Events[0].Kind != "escalated" || events.Events[1].Kind != "overdue" || events.Events[1].Level != supervision.Red {
		t.Errorf("events of task 1 = %+v, %v", events, err)
	}
	all, err := f.svc.Events(ctx, wengyuan, supervision.EventFilter{Kind: "warning", Limit: 3})
	if err != nil || len(all.Events) != 3 || all.NextBefore == 0 {
		t.Fatalf("warnings = %+v, %v", all, err)
	}
	rest, err := f.svc.Events(ctx, wengyuan, supervision.EventFilter{Kind: "warning", Before: all.NextBefore})
	if err != nil || len(rest.Events) != 1 || rest.NextBefore != 0 {
		t.Errorf("the rest of the warnings = %+v, %v", rest, err)
	}
	_, err = f.svc.Events(ctx, wengyuan, supervision.EventFilter{Kind: "praise"})
	wantCode(t, "an unknown kind", err, supervision.CodeInvalidQuery)
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
