package supervision_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// inbox counts the in-app notifications of kind each account has.
func (c county) inbox(kind string) map[int64]int {
	c.t.Helper()
	var rows []struct {
		Account int64 `db:"account_id"`
		N       int   `db:"n"`
	}
	c.in(func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, "SELECT account_id, COUNT(*) AS n FROM notifications WHERE channel = 'inapp' AND kind = ? GROUP BY account_id", kind)
	})
	out := map[int64]int{}
	for _, r := range rows {
		out[r.Account] = r.N
	}
	return out
}

// state is a task's colour and next check.
func (c county) state(id int64) (int, *time.Time) {
	c.t.Helper()
	var s struct {
		Level int        `db:"level"`
		Next  *time.Time `db:"next_check_at"`
	}
	c.in(func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.GetContext(ctx, &s, "SELECT level, next_check_at FROM workflow_tasks WHERE id = ?", id)
	})
	return s.Level, s.Next
}

func (c county) events(id int64) []string {
	c.t.Helper()
	var kinds []string
	c.in(func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &kinds, "SELECT kind FROM supervision_events WHERE task_id = ? ORDER BY id", id)
	})
	return kinds
}

func sameKinds(a, b []string) bool {
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

func mustEqual[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The day of the sweeps: Monday 2026-06-08.
var (
	at9  = cst(2026, 6, 8, 9, 0)
	at10 = cst(2026, 6, 8, 10, 0)
	at11 = cst(2026, 6, 8, 11, 0)
	at12 = cst(2026, 6, 8, 12, 0)
	at15 = cst(2026, 6, 8, 15, 0)
	at16 = cst(2026, 6, 8, 16, 0)
)

// seedSweep gives a county the tasks the sweep test follows:
//
//	1 handler's, yellow at 10:00, red at 12:00
//	2 the clerks' of 县政务服务中心, yellow at 10:30, red at 15:00, with the SMS reminder
//	3 green until tomorrow
//	4 done already
//	5 done, but with a next check left behind
//	6 handler's, warned at 10:00 and due at 10:30: red at the first sweep
//	7 without a time limit
func seedSweep(ctx context.Context, conn *sqlx.Conn) error {
	if err := seedOrg(ctx, conn, true); err != nil {
		return err
	}
	return addTasks(ctx, conn, []task{
		green(task{account: handler, warn: at10, due: at12}),
		green(task{role: "clerk", warn: cst(2026, 6, 8, 10, 30), due: at15, sms: true}),
		green(task{account: handler, warn: cst(2026, 6, 9, 10, 0), due: cst(2026, 6, 9, 17, 30)}),
		{account: handler, status: "done", warn: at9, due: at10, acted: at9},
		{account: handler, status: "done", warn: at9, due: at10, acted: at9, next: at9},
		green(task{account: handler, warn: at10, due: cst(2026, 6, 8, 10, 30)}),
		{account: handler},
	})
}

func TestASweepWarnsThenEscalatesOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan, lechang)
	ctx := context.Background()
	wy, lc := f.county(wengyuan), f.county(lechang)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error { return seedSweep(ctx, conn) })
	lc.in(func(ctx context.Context, conn *sqlx.Conn) error { return seedSweep(ctx, conn) })

	r, err := f.svc.Sweep(ctx, wengyuan, at11)
	if err != nil {
		t.Fatal(err)
	}
	// 1 and 2 turn yellow; 6 skips to red and is escalated to 监察局.
	want := supervision.CountyResult{Tenant: wengyuan, Warned: 2, Overdue: 1, Escalated: 1,
		// the handler ×2 (1 and 6), the clerks (2), the supervisors (6)
		Notified: 4}
	if r != want {
		t.Errorf("first sweep = %+v, want %+v", r, want)
	}
	for id, kinds := range map[int64][]string{1: {"warning"}, 2: {"warning"}, 3: nil, 4: nil, 5: nil, 6: {"overdue", "escalated"}, 7: nil} {
		if got := wy.events(id); !sameKinds(got, kinds) {
			t.Errorf("events of task %d = %v, want %v", id, got, kinds)
		}
	}
	for id, wantLevel := range map[int64]int{1: 1, 2: 1, 3: 0, 6: 2} {
		level, next := wy.state(id)
		mustEqual(t, "level of task "+itoa(id), level, wantLevel)
		switch {
		case wantLevel == 2 && next != nil:
			t.Errorf("red task %d is still checked at %v", id, next)
		case wantLevel < 2 && (next == nil || !next.After(at11)):
			t.Errorf("task %d is next checked at %v, not after the sweep", id, next)
		}
	}
	if _, next := wy.state(5); next != nil {
		t.Errorf("the done task's stale next check %v was left", next)
	}
	if got := wy.inbox(notify.KindTaskWarning); len(got) != 3 || got[handler] != 1 || got[clerk1] != 1 || got[clerk2] != 1 {
		t.Errorf("warnings = %v", got)
	}
	if got := wy.inbox(notify.KindTaskOverdue); len(got) != 1 || got[handler] != 1 {
		t.Errorf("overdue notices = %v", got)
	}
	if got := wy.inbox(notify.KindEscalation); len(got) != 1 || got[sup1] != 1 {
		t.Errorf("escalations = %v", got)
	}
	// The clerks asked for SMS but have no mobile; handler and sup1 have
	// e-mail, so the outbox was kicked once.
	mustEqual(t, "pending e-mails", wy.count("SELECT COUNT(*) FROM notifications WHERE channel = 'email' AND status = 'pending'"), 3)
	mustEqual(t, "kicks", f.kicks.of(wengyuan), 1)

	// The same sweep again changes nothing.
	before := wy.count("SELECT COUNT(*) FROM notifications") + 1000*wy.count("SELECT COUNT(*) FROM supervision_events")
	again, err := f.svc.Sweep(ctx, wengyuan, at11)
	if err != nil {
		t.Fatal(err)
	}
	if again != (supervision.CountyResult{Tenant: wengyuan}) {
		t.Errorf("a second sweep at the same time did %+v", again)
	}
	mustEqual(t, "notifications and events after a second sweep", wy.count("SELECT COUNT(*) FROM notifications")+1000*wy.count("SELECT COUNT(*) FROM supervision_events"), before)

	// At noon task 1 turns red; at 16:00 task 2.
	if r, err = f.svc.Sweep(ctx, wengyuan, at12); err != nil || r.Overdue != 1 || r.Escalated != 1 || r.Warned != 0 {
		t.Errorf("noon sweep = %+v, %v", r, err)
	}
	if r, err = f.svc.Sweep(ctx, wengyuan, at16); err != nil || r.Overdue != 1 || r.Escalated != 1 {
		t.Errorf("16:00 sweep = %+v, %v", r, err)
	}
	for id, kinds := range map[int64][]string{1: {"warning", "overdue", "escalated"}, 2: {"warning", "overdue", "escalated"}, 6: {"overdue", "escalated"}} {
		if got := wy.events(id); !sameKinds(got, kinds) {
			t.Errorf("events of task %d = %v, want %v", id, got, kinds)
		}
	}
	if got := wy.inbox(notify.KindEscalation); got[sup1] != 3 || len(got) != 1 {
		t.Errorf("escalations = %v", got)
	}
	if got := wy.inbox(notify.KindTaskOverdue); got[handler] != 2 || got[clerk1] != 1 || got[clerk2] != 1 || got[clerk3] != 0 {
		t.Errorf("overdue notices = %v", got)
	}
	mustEqual(t, "events recorded as the sweeper's", wy.count("SELECT COUNT(*) FROM supervision_events WHERE actor_login <> 'supervision'"), 0)
	mustEqual(t, "nothing left to check by the end of the day", wy.count("SELECT COUNT(*) FROM workflow_tasks WHERE next_check_at <= ?", at16.UTC()), 0)

	// Lechang, with the very same tasks, was never touched.
	mustEqual(t, "Lechang's events", lc.count("SELECT COUNT(*) FROM supervision_events"), 0)
	mustEqual(t, "Lechang's notifications", lc.count("SELECT COUNT(*) FROM notifications"), 0)
	mustEqual(t, "Lechang's warned tasks", lc.count("SELECT COUNT(*) FROM workflow_tasks WHERE level > 0"), 0)
	mustEqual(t, "Lechang's kicks", f.kicks.of(lechang), 0)
}

func TestWithoutASupervisingUnitNothingIsEscalated(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, false); err != nil {
			return err
		}
		return addTasks(ctx, conn, []task{green(task{account: handler, warn: at9, due: at10})})
	})
	r, err := f.svc.Sweep(context.Background(), wengyuan, at11)
	if err != nil || r.Overdue != 1 || r.Escalated != 0 || r.Notified != 1 {
		t.Errorf("sweep = %+v, %v", r, err)
	}
	if got := wy.events(1); !sameKinds(got, []string{"overdue"}) {
		t.Errorf("events = %v", got)
	}
}

func TestSweepAllGoesPastAFailingCounty(t *testing.T) {
	t.Parallel()
	const broken = "gd.shaoguan.broken"
	f := newFixture(t, wengyuan, lechang, broken)
	for _, code := range []string{wengyuan, lechang, broken} {
		f.county(code).in(func(ctx context.Context, conn *sqlx.Conn) error { return seedSweep(ctx, conn) })
	}
	// A county whose tasks cannot be read: its sweep fails.
	f.county(broken).exec("ALTER TABLE workflow_tasks DROP COLUMN sms_reminder")

	rep, err := f.svc.SweepAll(context.Background(), at11)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counties != 3 || rep.Failed != 1 || len(rep.Failures) != 1 || rep.Failures[0].Tenant != broken || rep.Failures[0].Error == "" {
		t.Fatalf("report = %+v", rep)
	}
	if rep.Warned != 4 || rep.Overdue != 2 || rep.Escalated != 2 || rep.Notified != 8 {
		t.Errorf("report = %+v", rep)
	}
	for _, code := range []string{wengyuan, lechang} {
		mustEqual(t, code+"'s events", f.county(code).count("SELECT COUNT(*) FROM supervision_events"), 4)
	}
	again, err := f.svc.SweepAll(context.Background(), at11)
	if err != nil || again.Warned+again.Overdue+again.Escalated+again.Notified != 0 || again.Failed != 1 {
		t.Errorf("second sweep over all = %+v, %v", again, err)
	}
}

func TestATaskBeingActedOnIsLeftToTheNextSweep(t *testing.T) {
	t.Parallel()
	f := newFixture(t, wengyuan)
	wy := f.county(wengyuan)
	wy.in(func(ctx context.Context, conn *sqlx.Conn) error { return seedSweep(ctx, conn) })
	ctx := context.Background()
	// Someone is acting on task 1 and holds its row: the sweep does not
	// wait for it, and leaves it be.
	acting, release := make(chan struct{}), make(chan bool)
	done := make(chan error, 1)
	go func() {
		done <- wy.db.Cluster.InSchema(ctx, wy.schema, func(ctx context.Context, conn *sqlx.Conn) error {
			tx, err := conn.BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "UPDATE workflow_tasks SET comment = 'acting' WHERE id = 1"); err != nil {
				return err
			}
			close(acting)
			if <-release {
				return tx.Commit()
			}
			return nil
		})
	}()
	<-acting
	start := time.Now()
	r, err := f.svc.Sweep(ctx, wengyuan, at11)
	if err != nil || r.Warned != 1 || r.Overdue != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("sweep beside an act = %+v, %v after %v; want task 2 warned and 6 overdue at once", r, err, time.Since(start))
	}
	if got := wy.events(1); len(got) != 0 {
		t.Errorf("the task being acted on got events %v", got)
	}
	// The act gave up; the next sweep warns the task.
	release <- false
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r, err := f.svc.Sweep(ctx, wengyuan, at11); err != nil || r.Warned != 1 || !sameKinds(wy.events(1), []string{"warning"}) {
		t.Errorf("the next sweep = %+v, %v, events of task 1 %v", r, err, wy.events(1))
	}
}

func TestAnUnknownCountyIsAnError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, err := f.svc.Sweep(context.Background(), "gd.shaoguan.nowhere", at11)
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		t.Errorf("sweep of a county that does not exist: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
