package supervision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/registry"
)

// JobSweep is the job that sweeps every county, scheduled SweepEvery.
const (
	JobSweep   = "supervision.sweep"
	SweepEvery = time.Minute
)

// CountyResult is what one county's sweep did.
type CountyResult struct {
	Tenant string `json:"tenant"`
	// Warned tasks turned yellow, Overdue ones red; Escalated ones went
	// to the supervising unit.
	Warned    int `json:"warned"`
	Overdue   int `json:"overdue"`
	Escalated int `json:"escalated"`
	// Notified counts the messages handed to the outbox; one to a role
	// reaches each active holder of it in the unit.
	Notified int    `json:"notified"`
	Error    string `json:"error,omitempty"`
}

// Report is what a sweep over every county did.
type Report struct {
	Counties  int `json:"counties"`
	Failed    int `json:"failed"`
	Warned    int `json:"warned"`
	Overdue   int `json:"overdue"`
	Escalated int `json:"escalated"`
	Notified  int `json:"notified"`
	// Failures are the counties that could not be swept; the next sweep
	// tries them again.
	Failures []CountyResult `json:"failures,omitempty"`
}

// SweepJob is the handler of JobSweep. A county that fails is logged and
// left to the next sweep, a minute later, rather than failing the job:
// retrying it would sweep every other county again for nothing.
func (s *Service) SweepJob(ctx context.Context, _ jobs.Job) error {
	r, err := s.SweepAll(ctx, time.Now())
	if err != nil {
		return err
	}
	if r.Warned+r.Overdue+r.Failed > 0 {
		s.log.InfoContext(ctx, "supervision sweep", "counties", r.Counties, "failed", r.Failed,
			"warned", r.Warned, "overdue", r.Overdue, "escalated", r.Escalated, "notified", r.Notified)
	}
	return nil
}

// SweepAll sweeps every ready county at now, Options.Workers at a time.
// One county failing does not stop the others: it is logged and reported.
// The error is for the list of counties alone.
func (s *Service) SweepAll(ctx context.Context, now time.Time) (Report, error) {
	work := make(chan string)
	results := make(chan CountyResult)
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for code := range work {
				r, err := s.Sweep(ctx, code, now)
				if err != nil {
					r.Error = err.Error()
					s.log.WarnContext(ctx, "supervision sweep of a county failed; the next sweep tries again", "tenant", code, "err", err)
				}
				results <- r
			}
		}()
	}
	var listErr error
	go func() {
		defer func() {
			close(work)
			wg.Wait()
			close(results)
		}()
		req := registry.ListRequest{Level: string(registry.LevelCounty), Status: string(registry.StatusReady), Limit: registry.MaxPageSize}
		for {
			page, err := s.counties.List(ctx, req)
			if err != nil {
				listErr = fmt.Errorf("list counties: %w", err)
				return
			}
			for _, t := range page.Tenants {
				select {
				case work <- t.Code:
				case <-ctx.Done():
					listErr = ctx.Err()
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			req.Cursor = page.NextCursor
		}
	}()
	var rep Report
	for r := range results {
		rep.Counties++
		rep.Warned += r.Warned
		rep.Overdue += r.Overdue
		rep.Escalated += r.Escalated
		rep.Notified += r.Notified
		if r.Error != "" {
			rep.Failed++
			rep.Failures = append(rep.Failures, r)
		}
	}
	return rep, listErr
}

// dueTask is a task whose colour is due to change, as the sweep reads it.
type dueTask struct {
	ID       int64      `db:"id"`
	Instance int64      `db:"instance_id"`
	Unit     int64      `db:"unit_id"`
	Status   string     `db:"status"`
	Account  *int64     `db:"assignee_account_id"`
	Role     *string    `db:"assignee_role"`
	Level    Level      `db:"level"`
	WarnAt   *time.Time `db:"warn_at"`
	DueAt    *time.Time `db:"due_at"`
	SMS      bool       `db:"sms_reminder"`
	// For its messages.
	Title    string `db:"title"`
	StepName string `db:"step_name"`
	UnitName string `db:"unit_name"`
}

// dueColumns are what the sweep and the actions read of a task. The
// title and unit come from subqueries, which a locking read does not lock
// (MariaDB and MySQL alike): the instance rows the engine locks to act
// are neither locked nor waited for.
const dueColumns = `t.id, t.instance_id, t.unit_id, t.status, t.assignee_account_id, t.assignee_role, t.level, t.warn_at, t.due_at,
t.sms_reminder, t.step_name, (SELECT i.title FROM workflow_instances i WHERE i.id = t.instance_id) AS title,
(SELECT u.name FROM units u WHERE u.id = t.unit_id) AS unit_name`

// colourAt is the level t has earned by now; it never goes back.
func (t dueTask) colourAt(now time.Time) Level {
	switch {
	case t.DueAt != nil && !t.DueAt.After(now):
		return Red
	case t.WarnAt != nil && !t.WarnAt.After(now):
		return max(t.Level, Yellow)
	}
	return t.Level
}

// Sweep moves tenant's tasks whose colour is due to change by now, in one
// transaction: each is locked, turned yellow or red, recorded, and its
// assignee told; a red one is escalated to the supervising unit. A task
// that skipped yellow (its warning and deadline both passed since the
// last sweep) turns red with one event. A task's next check moves past
// now, so a second sweep at the same now changes nothing, and a sweep
// killed halfway changes nothing of the county it was in.
//
// The sweep never waits for the engine: a task someone is acting on right
// now is skipped (it is most likely done a moment later; if not, the next
// sweep takes it), and the transaction reads committed rows, so it takes
// no gap locks that would hold up the engine opening new tasks. Neither
// can then wait for the other in a cycle.
func (s *Service) Sweep(ctx context.Context, tenant string, now time.Time) (CountyResult, error) {
	res := CountyResult{Tenant: tenant}
	now = now.UTC()
	pending := 0
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		// Most minutes most counties have nothing due: one indexed read
		// of one table, without a transaction, says so. (Over a thousand
		// counties the server cannot keep every county's tables open, so
		// each table a sweep touches may have to be opened again.)
		var due []int
		if err := conn.SelectContext(ctx, &due, "SELECT 1 FROM workflow_tasks WHERE next_check_at <= ? LIMIT 1", now); err != nil {
			return fmt.Errorf("look for due tasks: %w", err)
		}
		if len(due) == 0 {
			return nil
		}
		return store.InTx(ctx, conn, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *sqlx.Tx) error {
			var err error
			pending, err = sweep(ctx, tx, now, &res)
			return err
		})
	})
	if err != nil {
		return CountyResult{Tenant: tenant}, err
	}
	s.kick(ctx, tenant, pending)
	return res, nil
}

// sweep is Sweep's transaction; it returns the notifications pending
// delivery.
func sweep(ctx context.Context, tx *sqlx.Tx, now time.Time, res *CountyResult) (int, error) {
	var tasks []dueTask
	err := tx.SelectContext(ctx, &tasks, "SELECT "+dueColumns+" FROM workflow_tasks t WHERE t.next_check_at <= ? FOR UPDATE SKIP LOCKED", now)
	if err != nil {
		return 0, fmt.Errorf("lock due tasks: %w", err)
	}
	var yellow, red []*dueTask
	var resync []int64
	for i := range tasks {
		t := &tasks[i]
		switch to := t.colourAt(now); {
		case t.Status != "open" || to == t.Level:
			// Its next check was stale: a closed task, or a deadline the
			// engine moved.
			resync = append(resync, t.ID)
		case to == Yellow:
			yellow = append(yellow, t)
		default:
			red = append(red, t)
		}
	}
	if err := exec(ctx, tx, "UPDATE workflow_tasks SET level = 1, next_check_at = due_at WHERE id IN", ids(yellow)); err != nil {
		return 0, fmt.Errorf("turn tasks yellow: %w", err)
	}
	if err := exec(ctx, tx, "UPDATE workflow_tasks SET level = 2, next_check_at = NULL WHERE id IN", ids(red)); err != nil {
		return 0, fmt.Errorf("turn tasks red: %w", err)
	}
	if err := exec(ctx, tx, `UPDATE workflow_tasks SET next_check_at = CASE WHEN status <> 'open' THEN NULL
WHEN level = 0 THEN COALESCE(warn_at, due_at) WHEN level = 1 THEN due_at END WHERE id IN`, resync); err != nil {
		return 0, fmt.Errorf("correct next checks: %w", err)
	}
	changed := append(append([]*dueTask{}, yellow...), red...)
	if len(changed) == 0 {
		return 0, nil
	}
	var sup *supervisingUnit
	if len(red) > 0 {
		if sup, err = readSupervisingUnit(ctx, tx); err != nil {
			return 0, err
		}
	}
	var events []event
	var msgs []notify.Message
	tell := func(t *dueTask, kind, subject, body string) {
		m := notify.Message{Kind: kind, Subject: subject, Body: body, RefType: refTask, RefID: t.ID, SMS: t.SMS}
		switch {
		case t.Account != nil:
			m.Account = *t.Account
		case t.Role != nil:
			// notify.Write finds the role's active holders in the unit.
			m.Unit, m.Role = t.Unit, *t.Role
		default:
			return
		}
		msgs = append(msgs, m)
	}
	for _, t := range yellow {
		due := clock(t.DueAt)
		events = append(events, event{t, EventWarning, Yellow, "黄牌预警：办理时限 " + due})
		tell(t, notify.KindTaskWarning, fmt.Sprintf("【黄牌预警】%s：%s", t.Title, t.StepName),
			fmt.Sprintf("「%s」的「%s」将于 %s 到期，请尽快办理。", t.Title, t.StepName, due))
	}
	for _, t := range red {
		due := clock(t.DueAt)
		events = append(events, event{t, EventOverdue, Red, "红牌警告：已超过办理时限 " + due})
		body := fmt.Sprintf("「%s」的「%s」已于 %s 超过办理时限，请立即办理。", t.Title, t.StepName, due)
		if sup != nil {
			body += "已移送" + sup.Name + "。"
		}
		tell(t, notify.KindTaskOverdue, fmt.Sprintf("【红牌警告】%s：%s", t.Title, t.StepName), body)
		if sup == nil {
			continue
		}
		events = append(events, event{t, EventEscalated, Red, "超时移送" + sup.Name})
		res.Escalated++
		msgs = append(msgs, sup.message(t, fmt.Sprintf("【超时移送】%s：%s", t.UnitName, t.Title),
			fmt.Sprintf("%s办理的「%s」的「%s」已于 %s 超过办理时限。", t.UnitName, t.Title, t.StepName, due)))
	}
	if err := record(ctx, tx, now, sweeper, events); err != nil {
		return 0, err
	}
	pending, err := write(ctx, tx, now, msgs)
	if err != nil {
		return 0, err
	}
	res.Warned, res.Overdue, res.Notified = len(yellow), len(red), len(msgs)
	return pending, nil
}

func ids(tasks []*dueTask) []int64 {
	out := make([]int64, len(tasks))
	for i, t := range tasks {
		out[i] = t.ID
	}
	return out
}

// exec runs prefix followed by an id list, batch ids at a time. The ids
// are the database's own integers, written into the statement.
func exec(ctx context.Context, tx *sqlx.Tx, prefix string, ids []int64) error {
	for start := 0; start < len(ids); start += batch {
		if _, err := tx.ExecContext(ctx, prefix+" ("+idList(ids[start:min(start+batch, len(ids))])+")"); err != nil {
			return err
		}
	}
	return nil
}

func idList(ids []int64) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

// clock writes a deadline as people in China read it, in China
// Standard Time.
func clock(t *time.Time) string {
	if t == nil {
		return "（无）"
	}
	return t.In(workday.China()).Format("2006-01-02 15:04")
}

// supervisingUnit is the unit red tasks go to; its active supervisors
// (the holders of auth.RoleSupervisor in it) are told.
type supervisingUnit struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// readSupervisingUnit reads the county's supervising unit; nil if the
// county names none, or names a unit it no longer has.
func readSupervisingUnit(ctx context.Context, q sqlx.QueryerContext) (*supervisingUnit, error) {
	var u supervisingUnit
	err := sqlx.GetContext(ctx, q, &u, "SELECT u.id, u.name FROM settings s JOIN units u ON u.code = s.value WHERE s.name = ?", SettingUnit)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the supervising unit: %w", err)
	}
	return &u, nil
}

// message is an escalation of t to the unit's supervisors.
func (u *supervisingUnit) message(t *dueTask, subject, body string) notify.Message {
	return notify.Message{Unit: u.ID, Role: auth.RoleSupervisor, Kind: notify.KindEscalation, RefType: refTask, RefID: t.ID, Subject: subject, Body: body}
}

// event is a supervision event about to be recorded.
type event struct {
	task  *dueTask
	kind  string
	level Level
	note  string
}

// record inserts events, batch rows a statement.
func record(ctx context.Context, tx *sqlx.Tx, now time.Time, actor string, events []event) error {
	for start := 0; start < len(events); start += batch {
		chunk := events[start:min(start+batch, len(events))]
		args := make([]any, 0, 8*len(chunk))
		for _, e := range chunk {
			args = append(args, e.task.ID, e.task.Instance, e.task.Unit, e.kind, e.level, now, actor, e.note)
		}
		query := "INSERT INTO supervision_events (task_id, instance_id, unit_id, kind, level, at, actor_login, note) VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("record supervision events: %w", err)
		}
	}
	return nil
}

// write hands msgs to the outbox a batch at a time and returns how many
// deliveries wait.
func write(ctx context.Context, tx *sqlx.Tx, now time.Time, msgs []notify.Message) (int, error) {
	pending := 0
	for start := 0; start < len(msgs); start += batch {
		n, err := notify.Write(ctx, tx, now, msgs[start:min(start+batch, len(msgs))]...)
		if err != nil {
			return 0, err
		}
		pending += n
	}
	return pending, nil
}
