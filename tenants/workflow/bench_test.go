package workflow_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// BenchmarkActions compares acting through the engine with raw SQL doing
// the same writes in one transaction: the task closed, the next step's
// two tasks (the countersigning fork) opened, a notice to each
// assignee, the history row and the audit entry. The engine also reads
// and locks the task and its instance, finds the assignees, and counts
// deadlines in the county's calendar.
//
//	go test ./tenants/workflow -run '^$' -bench Actions -benchtime 2000x -count 3
func BenchmarkActions(b *testing.B) {
	f := setup(b)
	c := f.counties[wengyuan]
	ctx := context.Background()
	// Each run acts on register tasks of its own.
	registers := func(b *testing.B) []workflow.Task {
		tasks := make([]workflow.Task, b.N)
		for i := range tasks {
			o, err := f.svc.Start(c.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "office.incoming", Title: fmt.Sprintf("来文 %d", i)})
			if err != nil {
				b.Fatal(err)
			}
			tasks[i] = o.Opened[0]
		}
		b.ResetTimer()
		return tasks
	}
	raw := f.db.Server
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)
	clerk, chief, office := c.people["clerk1"], c.people["chief"], c.people["office"]
	b.Run("engine", func(b *testing.B) {
		started := registers(b)
		var next atomic.Int64
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				task := started[next.Add(1)-1]
				if _, err := f.svc.Act(c.as("clerk1"), wengyuan, task.ID, workflow.ActInput{Action: "submit", Comment: "请审批"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("raw-sql", func(b *testing.B) {
		started := registers(b)
		var next atomic.Int64
		now := time.Now().UTC()
		b.SetParallelism(4)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				task := started[next.Add(1)-1]
				if err := rawAct(ctx, raw, schema, task, now, clerk.ID, chief.ID, office.ID, clerk.Unit, office.Unit); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

type stmt struct {
	query string
	args  []any
}

// rawAct is the writes of acting on a register task, with nothing read,
// on a connection of the pool every county shares: like the engine, and
// like the baseline of countycloud bench tenants, it first puts the
// connection on the county's schema.
func rawAct(ctx context.Context, pool *sqlx.DB, schema string, task workflow.Task, now time.Time, actor, leader, office, unit, officeUnit int64) error {
	conn, err := pool.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+schema); err != nil {
		return err
	}
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	digest := strings.Repeat("0", 64)
	stmts := []stmt{
		{`UPDATE workflow_tasks SET status = 'done', acted_by = ?, acted_at = ?, action = 'submit', comment = '请审批', next_check_at = NULL,
version = version + 1 WHERE id = ? AND status = 'open' AND version = ?`, []any{actor, now, task.ID, task.Version}},
	}
	for _, b := range []struct {
		step, name, role string
		unit             int64
	}{{"leader_review", "领导批示", "leader", unit}, {"office_review", "办公室核稿", "business_admin", officeUnit}} {
		stmts = append(stmts, stmt{`INSERT INTO workflow_tasks (instance_id, step, step_name, join_step, assignee_role, unit_id, status,
sms_reminder, created_at, warn_at, due_at, next_check_at) VALUES (?, ?, ?, 'handle', ?, ?, 'open', FALSE, ?, ?, ?, ?)`,
			[]any{task.InstanceID, b.step, b.name, b.role, b.unit, now, now, now, now}})
	}
	stmts = append(stmts,
		stmt{`INSERT INTO notifications (account_id, channel, kind, subject, body, ref_type, ref_id, address, status, next_attempt_at, sent_at, created_at)
VALUES (?, 'inapp', ?, '待办', '待您办理', 'workflow_task', ?, NULL, 'sent', NULL, ?, ?), (?, 'inapp', ?, '待办', '待您办理', 'workflow_task', ?, NULL, 'sent', NULL, ?, ?)`,
			[]any{leader, notify.KindTaskAssigned, task.ID, now, now, office, notify.KindTaskAssigned, task.ID, now, now}},
		stmt{`INSERT INTO workflow_history (instance_id, task_id, step, action, actor_id, actor_login, at, comment)
VALUES (?, ?, 'register', 'submit', ?, 'clerk1', ?, '请审批')`, []any{task.InstanceID, task.ID, actor, now}},
		stmt{`INSERT INTO audit_log (at, actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id, before_digest, after_digest,
outcome, code, request_id, source) VALUES (?, 'account', ?, 'clerk1', ?, 'workflow.act.submit', 'workflow_task', ?, ?, ?, 'ok', NULL, '', '')`,
			[]any{now, actor, unit, fmt.Sprint(task.ID), digest, digest}},
	)
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// once is a workflow of one step, whose one action ends the instance.
const once = `{"code": "bench.once", "name": "一步办结", "version": 1, "start": "handle", "time_limit": {"working_days": 5},
"steps": [{"id": "handle", "name": "办理", "assignee": {"role": "clerk", "relative": "initiator_unit"},
  "time_limit": {"working_days": 1}, "actions": [{"name": "done", "to": "end"}]}]}`

// BenchmarkActionMeasures is what the platform's measures cost an
// action: acting on a task that completes its instance, which counts the
// task (on time) and the instance (completed), against the same action
// with nothing counted. The two alternate, one of each per iteration, so
// that both see the same load; each reports its median, and ratio is
// measured ÷ unmeasured (goal ≤ 1.05).
//
//	go test ./tenants/workflow -run '^$' -bench ActionMeasures -benchtime 400x
func BenchmarkActionMeasures(b *testing.B) {
	f := setup(b)
	c := f.counties[wengyuan]
	if _, err := f.svc.PutDefinition(c.as("operator"), wengyuan, "bench.once", []byte(once)); err != nil {
		b.Fatal(err)
	}
	tasks := make([]workflow.Task, 2*b.N)
	for i := range tasks {
		o, err := f.svc.Start(c.as("clerk1"), wengyuan, workflow.StartInput{Workflow: "bench.once", Title: fmt.Sprintf("件 %d", i)})
		if err != nil {
			b.Fatal(err)
		}
		tasks[i] = o.Opened[0]
	}
	engines := [2]*workflow.Service{f.svc, workflow.Unmeasured(f.svc)}
	var spent [2][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for k := range 2 {
			// Alternate which goes first.
			e := (k + i) % 2
			task := tasks[2*i+k]
			start := time.Now()
			o, err := engines[e].Act(c.as("clerk1"), wengyuan, task.ID, workflow.ActInput{Action: "done"})
			spent[e] = append(spent[e], time.Since(start))
			if err != nil || o.Instance.Status != workflow.InstanceDone {
				b.Fatalf("act: %+v %v", o.Instance, err)
			}
		}
	}
	b.StopTimer()
	var p50 [2]time.Duration
	for e := range spent {
		slices.Sort(spent[e])
		p50[e] = spent[e][len(spent[e])/2]
	}
	b.ReportMetric(float64(p50[0].Microseconds())/1000, "measured-p50-ms")
	b.ReportMetric(float64(p50[1].Microseconds())/1000, "unmeasured-p50-ms")
	b.ReportMetric(float64(p50[0])/float64(p50[1]), "ratio")
}
