package supervision_test

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/tenants/supervision"
)

// go test ./tenants/supervision -run '^$' -bench Sweep -benchtime 1x -timeout 2h -counties 1000 -tasks 1000 -changing 0.01
var (
	benchCounties = flag.Int("counties", 20, "counties BenchmarkSweep sweeps")
	benchTasks    = flag.Int("tasks", 1000, "open tasks in each county of BenchmarkSweep")
	benchWorkers  = flag.Int("workers", 8, "counties BenchmarkSweep and its baseline sweep at once")
	benchChanging = flag.Float64("changing", 0.1, "share of BenchmarkSweep's tasks that change colour, half of them to yellow, half to red")
)

// benchTasksOf is a county's open tasks for the benchmark: at the sweep,
// one in every 2/changing turns yellow and one (yellow already) red; the
// rest stay green. Half wait for the handler, half for the clerks.
func benchTasksOf(n int, changing float64) []task {
	every := max(2, int(math.Round(2/changing)))
	tasks := make([]task, n)
	for i := range tasks {
		t := task{account: handler}
		if i%2 == 1 {
			t = task{role: "clerk"}
		}
		switch i % every {
		case 0:
			t.warn, t.due = at10, cst(2026, 6, 10, 17, 30)
			tasks[i] = green(t)
		case 1:
			t.warn, t.due = at9, at10
			tasks[i] = yellowTask(t)
		default:
			t.warn, t.due = cst(2026, 6, 9, 9, 0), cst(2026, 6, 10, 17, 30)
			tasks[i] = green(t)
		}
	}
	return tasks
}

// BenchmarkSweep measures one sweep over -counties counties of -tasks
// open tasks each, -changing of which change colour (ns/op), then the
// steady sweep that follows, with nothing to change (steady-ms), and a
// raw-SQL baseline making the same writes with set-based statements over
// the same connections and workers (raw-s, raw/sweep).
func BenchmarkSweep(b *testing.B) {
	codes := make([]string, *benchCounties)
	for i := range codes {
		codes[i] = fmt.Sprintf("gd.shaoguan.c%c%c%c", 'a'+i/676%26, 'a'+i/26%26, 'a'+i%26)
	}
	start := time.Now()
	f := newFixture(b, codes...)
	schemas := make([]string, len(codes))
	for i, c := range codes {
		schemas[i] = f.county(c).schema
	}
	tasks := benchTasksOf(*benchTasks, *benchChanging)
	eachCounty(b, f, schemas, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := seedOrg(ctx, conn, true); err != nil {
			return err
		}
		return addTasks(ctx, conn, tasks)
	})
	b.Logf("%d counties × %d tasks provisioned and seeded in %s", len(codes), len(tasks), time.Since(start).Round(time.Millisecond))
	svc := supervision.New(f.router, f.calendars, f.registry, nil, supervision.Options{Workers: *benchWorkers}, quiet)
	ctx := context.Background()
	changing := 0
	for _, t := range tasks {
		if !t.warn.After(at11) {
			changing += len(codes)
		}
	}

	// One sweep untimed first, so that neither the sweep nor the baseline
	// pays for opening each county's tables the first time.
	reset(b, f, schemas)
	if _, err := svc.SweepAll(ctx, at11); err != nil {
		b.Fatal(err)
	}
	var steady, raw, sweep time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		reset(b, f, schemas)
		b.StartTimer()
		t0 := time.Now()
		rep, err := svc.SweepAll(ctx, at11)
		sweep += time.Since(t0)
		b.StopTimer()
		if err != nil || rep.Failed > 0 || rep.Warned+rep.Overdue != changing {
			b.Fatalf("sweep: %+v, %v; want %d changes", rep, err, changing)
		}
		events := countAll(b, f, schemas, "SELECT COUNT(*) FROM supervision_events")
		notes := countAll(b, f, schemas, "SELECT COUNT(*) FROM notifications")

		t0 = time.Now()
		rep, err = svc.SweepAll(ctx, at11)
		steady += time.Since(t0)
		if err != nil || rep.Warned+rep.Overdue+rep.Failed != 0 {
			b.Fatalf("steady sweep: %+v, %v", rep, err)
		}

		reset(b, f, schemas)
		t0 = time.Now()
		eachCounty(b, f, schemas, func(ctx context.Context, conn *sqlx.Conn) error { return rawSweep(ctx, conn, at11) })
		raw += time.Since(t0)
		if e, n := countAll(b, f, schemas, "SELECT COUNT(*) FROM supervision_events"), countAll(b, f, schemas, "SELECT COUNT(*) FROM notifications"); e != events || n != notes {
			b.Fatalf("the baseline wrote %d events and %d notifications, the sweep %d and %d", e, n, events, notes)
		}
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(steady.Seconds()*1000/n, "steady-ms")
	b.ReportMetric(raw.Seconds()/n, "raw-s")
	b.ReportMetric(raw.Seconds()/sweep.Seconds(), "raw/sweep")
}

// eachCounty runs fn in every schema, -workers at a time, as SweepAll
// does.
func eachCounty(b *testing.B, f *fixture, schemas []string, fn func(ctx context.Context, conn *sqlx.Conn) error) {
	b.Helper()
	parallel(b, len(schemas), *benchWorkers, func(i int) error {
		return f.db.Cluster.InSchema(context.Background(), schemas[i], fn)
	})
}

// reset puts every county back as seeded: tasks due before the sweep
// were yellow, the others green, nothing recorded or sent.
func reset(b *testing.B, f *fixture, schemas []string) {
	b.Helper()
	eachCounty(b, f, schemas, func(ctx context.Context, conn *sqlx.Conn) error {
		for _, q := range []string{"DELETE FROM supervision_events", "DELETE FROM notifications"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		_, err := conn.ExecContext(ctx, "UPDATE workflow_tasks SET level = IF(due_at <= ?, 1, 0), next_check_at = IF(due_at <= ?, due_at, warn_at)", at11.UTC(), at11.UTC())
		return err
	})
}

func countAll(b *testing.B, f *fixture, schemas []string, query string) int {
	b.Helper()
	var mu sync.Mutex
	total := 0
	eachCounty(b, f, schemas, func(ctx context.Context, conn *sqlx.Conn) error {
		var n int
		if err := conn.GetContext(ctx, &n, query); err != nil {
			return err
		}
		mu.Lock()
		total += n
		mu.Unlock()
		return nil
	})
	return total
}

// rawSweep makes the sweep's writes to a county with the fewest
// statements, knowing the seed (who holds which role, who has e-mail,
// that no one changed a preference) where the sweep reads them: lock the
// due tasks and read the role's holders, one UPDATE per colour, one
// multi-row INSERT of events and one of notifications.
func rawSweep(ctx context.Context, conn *sqlx.Conn, now time.Time) error {
	now = now.UTC()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var due []struct {
		ID       int64      `db:"id"`
		Instance int64      `db:"instance_id"`
		Unit     int64      `db:"unit_id"`
		Account  *int64     `db:"assignee_account_id"`
		Due      *time.Time `db:"due_at"`
	}
	if err := tx.SelectContext(ctx, &due, "SELECT id, instance_id, unit_id, assignee_account_id, due_at FROM workflow_tasks WHERE next_check_at <= ? FOR UPDATE", now); err != nil {
		return err
	}
	var clerks []int64
	if err := tx.SelectContext(ctx, &clerks, `SELECT a.id FROM accounts a JOIN account_roles ar ON ar.account_id = a.id JOIN roles r ON r.id = ar.role_id
WHERE a.status = 'active' AND a.unit_id = 1 AND r.code = 'clerk'`); err != nil {
		return err
	}
	var yellow, red []int64
	var events, notes strings.Builder
	var eventArgs, noteArgs []any
	event := func(id, instance, unit int64, kind string, level int) {
		if len(eventArgs) > 0 {
			events.WriteString(", ")
		}
		events.WriteString("(?, ?, ?, ?, ?, ?, 'supervision', ?)")
		eventArgs = append(eventArgs, id, instance, unit, kind, level, now, kind)
	}
	note := func(account, task int64, kind string, email *string) {
		for _, channel := range []string{"inapp", "email"} {
			if channel == "email" && email == nil {
				continue
			}
			if len(noteArgs) > 0 {
				notes.WriteString(", ")
			}
			notes.WriteString("(?, ?, ?, ?, ?, 'workflow_task', ?, ?, ?, ?, ?, ?)")
			status, next, sent := "sent", any(nil), any(now)
			if channel == "email" {
				status, next, sent = "pending", now, nil
			}
			noteArgs = append(noteArgs, account, channel, kind, kind, kind, task, email, status, next, sent, now)
		}
	}
	handlerEmail, supEmail := "handler@wy.gov.cn", "sup1@wy.gov.cn"
	tell := func(t int, kind string) {
		if a := due[t].Account; a != nil {
			note(*a, due[t].ID, kind, &handlerEmail)
			return
		}
		for _, c := range clerks {
			note(c, due[t].ID, kind, nil)
		}
	}
	for i, t := range due {
		if t.Due.After(now) {
			yellow = append(yellow, t.ID)
			event(t.ID, t.Instance, t.Unit, "warning", 1)
			tell(i, "task_warning")
			continue
		}
		red = append(red, t.ID)
		event(t.ID, t.Instance, t.Unit, "overdue", 2)
		event(t.ID, t.Instance, t.Unit, "escalated", 2)
		tell(i, "task_overdue")
		note(sup1, t.ID, "escalation", &supEmail)
	}
	for _, q := range []struct {
		query string
		args  []any
	}{
		{"UPDATE workflow_tasks SET level = 1, next_check_at = due_at WHERE id IN (?)", []any{yellow}},
		{"UPDATE workflow_tasks SET level = 2, next_check_at = NULL WHERE id IN (?)", []any{red}},
		{"INSERT INTO supervision_events (task_id, instance_id, unit_id, kind, level, at, actor_login, note) VALUES " + events.String(), eventArgs},
		{"INSERT INTO notifications (account_id, channel, kind, subject, body, ref_type, ref_id, address, status, next_attempt_at, sent_at, created_at) VALUES " + notes.String(), noteArgs},
	} {
		query, args, err := sqlx.In(q.query, q.args...)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("%s: %w", q.query[:40], err)
		}
	}
	return tx.Commit()
}
