package supervision

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/notify"
)

// Event is what supervision did to a task.
type Event struct {
	ID         int64     `json:"id" db:"id"`
	TaskID     int64     `json:"task_id" db:"task_id"`
	InstanceID int64     `json:"instance_id" db:"instance_id"`
	UnitID     int64     `json:"unit_id" db:"unit_id"`
	Kind       string    `json:"kind" db:"kind"`
	Level      Level     `json:"level" db:"level"`
	At         time.Time `json:"at" db:"at"`
	ActorLogin string    `json:"actor_login" db:"actor_login"`
	Note       *string   `json:"note,omitempty" db:"note"`
}

// EscalateInput escalates a task by hand, with a note for the
// supervisors.
type EscalateInput struct {
	Note string `json:"note"`
}

// ReassignInput names a task's new assignee: an account, or the holders
// of a role in a unit.
type ReassignInput struct {
	AccountID *int64 `json:"account_id,omitempty"`
	UnitID    *int64 `json:"unit_id,omitempty"`
	Role      string `json:"role,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Assignment is a task's assignee after a reassignment.
type Assignment struct {
	TaskID    int64   `json:"task_id"`
	AccountID *int64  `json:"assignee_account_id,omitempty"`
	Role      *string `json:"assignee_role,omitempty"`
	UnitID    int64   `json:"unit_id"`
	// Version is the task's version after the change.
	Version int `json:"version"`
	// Notified counts the notifications to the new assignee.
	Notified int   `json:"notified"`
	Event    Event `json:"event"`
}

// openTask is a task as the actions read it.
type openTask struct {
	dueTask
	Step    string `db:"step"`
	Version int    `db:"version"`
}

// readTask reads task id for an action, refusing one that is closed.
func readTask(ctx context.Context, tx *sqlx.Tx, id int64) (*openTask, error) {
	var t openTask
	err := tx.GetContext(ctx, &t, "SELECT "+dueColumns+", t.step, t.version FROM workflow_tasks t WHERE t.id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.NotFound(CodeTaskNotFound, "the county has no task %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read task %d: %w", id, err)
	}
	if t.Status != "open" {
		return nil, errs.Conflict(CodeTaskClosed, "task %d is %s; only an open task can be escalated or reassigned", id, t.Status)
	}
	return &t, nil
}

// note checks a note, which may be empty.
func note(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	n, err := names.Clean("note", s, 1000)
	if err != nil {
		return "", errs.Invalid(CodeInvalidNote, "%v", err)
	}
	return n, nil
}

// insertEvent records one event and returns it with its id.
func insertEvent(ctx context.Context, tx *sqlx.Tx, e Event) (Event, error) {
	res, err := tx.ExecContext(ctx, "INSERT INTO supervision_events (task_id, instance_id, unit_id, kind, level, at, actor_login, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		e.TaskID, e.InstanceID, e.UnitID, e.Kind, e.Level, e.At, e.ActorLogin, e.Note)
	if err != nil {
		return Event{}, fmt.Errorf("record supervision event: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return Event{}, fmt.Errorf("record supervision event: %w", err)
	}
	return e, nil
}

// Escalate sends an open task to the county's supervising unit: its
// supervisors are told, with the note, and the escalation is recorded.
func (s *Service) Escalate(ctx context.Context, tenant string, taskID int64, in EscalateInput) (Event, error) {
	text, err := note(in.Note)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	pending := 0
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		t, err := readTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		sup, err := readSupervisingUnit(ctx, tx)
		if err != nil {
			return err
		}
		if sup == nil {
			return errs.Conflict(CodeNoSupervisorUnit, "the county has no supervising unit; name one with PUT …/supervision/settings {\"supervising_unit\": \"…\"}")
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		actor := audit.ActorFrom(ctx)
		recorded := "移送" + sup.Name
		if text != "" {
			recorded += "：" + text
		}
		ev, err = insertEvent(ctx, tx, Event{TaskID: t.ID, InstanceID: t.Instance, UnitID: t.Unit, Kind: EventEscalated, Level: t.Level,
			At: now, ActorLogin: actor.Login, Note: &recorded})
		if err != nil {
			return err
		}
		body := fmt.Sprintf("%s办理的「%s」的「%s」（办理时限 %s）由 %s 移送督办。", t.UnitName, t.Title, t.StepName, clock(t.DueAt), actor.Login)
		if text != "" {
			body += "说明：" + text
		}
		if pending, err = write(ctx, tx, now, []notify.Message{sup.message(&t.dueTask, fmt.Sprintf("【督办移送】%s：%s", t.UnitName, t.Title), body)}); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "supervision.task.escalate", "workflow_task", fmt.Sprint(t.ID), nil, ev))
	})
	if err != nil {
		return Event{}, err
	}
	s.kick(ctx, tenant, pending)
	return ev, nil
}

// target is whom a task is reassigned to.
type target struct {
	account  *int64
	role     *string
	unit     int64
	holders  []int64
	describe string
}

// resolve checks in's assignee against the county and returns it.
func resolve(ctx context.Context, tx *sqlx.Tx, in ReassignInput) (target, error) {
	bad := func(field, format string, args ...any) (target, error) {
		return target{}, invalid(CodeInvalidReassign, []Problem{{field, fmt.Sprintf(format, args...)}})
	}
	if in.AccountID != nil {
		var a struct {
			ID     int64  `db:"id"`
			Login  string `db:"login"`
			Name   string `db:"name"`
			Unit   int64  `db:"unit_id"`
			Status string `db:"status"`
		}
		err := tx.GetContext(ctx, &a, "SELECT id, login, name, unit_id, status FROM accounts WHERE id = ?", *in.AccountID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return bad("account_id", "the county has no account %d", *in.AccountID)
		case err != nil:
			return target{}, fmt.Errorf("read account %d: %w", *in.AccountID, err)
		case a.Status != "active":
			return bad("account_id", "account %s is %s; only an active account can take a task", a.Login, a.Status)
		}
		return target{account: &a.ID, unit: a.Unit, holders: []int64{a.ID}, describe: fmt.Sprintf("%s（%s）", a.Name, a.Login)}, nil
	}
	var unitName string
	err := tx.GetContext(ctx, &unitName, "SELECT name FROM units WHERE id = ?", *in.UnitID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return bad("unit_id", "the county has no unit %d", *in.UnitID)
	case err != nil:
		return target{}, fmt.Errorf("read unit %d: %w", *in.UnitID, err)
	}
	var roleName string
	err = tx.GetContext(ctx, &roleName, "SELECT name FROM roles WHERE code = ?", in.Role)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return bad("role", "the county has no role %q", in.Role)
	case err != nil:
		return target{}, fmt.Errorf("read role %s: %w", in.Role, err)
	}
	role := in.Role
	var people []int64
	err = tx.SelectContext(ctx, &people, `SELECT a.id FROM accounts a JOIN account_roles ar ON ar.account_id = a.id JOIN roles r ON r.id = ar.role_id
WHERE a.status = 'active' AND a.unit_id = ? AND r.code = ? ORDER BY a.id`, *in.UnitID, role)
	if err != nil {
		return target{}, fmt.Errorf("read the holders of %s: %w", role, err)
	}
	if len(people) == 0 {
		return bad("role", "no active account of %s holds %s (%s); the task would wait for no one", unitName, roleName, role)
	}
	return target{role: &role, unit: *in.UnitID, holders: people, describe: unitName + roleName}, nil
}

// Reassign gives an open task to another assignee, as the engine's
// reassign action: the change is made only from the version read, so an
// assignee acting at the same moment wins cleanly and this one is refused
// with CodeTaskChanged. The step's history, supervision's events and the
// audit trail record it, and the new assignee is told.
func (s *Service) Reassign(ctx context.Context, tenant string, taskID int64, in ReassignInput) (Assignment, error) {
	var problems []Problem
	byRole := in.UnitID != nil || in.Role != ""
	switch {
	case in.AccountID != nil && byRole:
		problems = append(problems, Problem{"account_id", "give account_id, or unit_id with role, not both"})
	case in.AccountID == nil && !byRole:
		problems = append(problems, Problem{"account_id", "give account_id, or unit_id with role"})
	case byRole && in.UnitID == nil:
		problems = append(problems, Problem{"unit_id", "a role is held in a unit: give unit_id"})
	case byRole && strings.TrimSpace(in.Role) == "":
		problems = append(problems, Problem{"role", "give the role whose holders in the unit take the task"})
	}
	text, err := note(in.Note)
	if err != nil {
		problems = append(problems, Problem{"note", errs.As(err).Message})
	}
	if len(problems) > 0 {
		return Assignment{}, invalid(CodeInvalidReassign, problems)
	}
	var out Assignment
	pending := 0
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		t, err := readTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		to, err := resolve(ctx, tx, in)
		if err != nil {
			return err
		}
		if same(t.Account, to.account) && same(t.Role, to.role) && t.Unit == to.unit {
			return invalid(CodeInvalidReassign, []Problem{{"account_id", "the task is assigned to " + to.describe + " already"}})
		}
		res, err := tx.ExecContext(ctx, `UPDATE workflow_tasks SET assignee_account_id = ?, assignee_role = ?, unit_id = ?, version = version + 1
WHERE id = ? AND status = 'open' AND version = ?`, to.account, to.role, to.unit, t.ID, t.Version)
		if err != nil {
			return fmt.Errorf("reassign task %d: %w", t.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errs.Conflict(CodeTaskChanged, "task %d changed while it was being reassigned (acted on, or reassigned by someone else); look at it again", t.ID)
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		actor := audit.ActorFrom(ctx)
		comment := "改派给" + to.describe
		if text != "" {
			comment += "：" + text
		}
		var actorID *int64
		if actor.Kind == "account" {
			actorID = &actor.ID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_history (instance_id, task_id, step, action, actor_id, actor_login, at, comment)
VALUES (?, ?, ?, 'reassign', ?, ?, ?, ?)`, t.Instance, t.ID, t.Step, actorID, actor.Login, now, comment); err != nil {
			return fmt.Errorf("record the reassignment in the history: %w", err)
		}
		ev, err := insertEvent(ctx, tx, Event{TaskID: t.ID, InstanceID: t.Instance, UnitID: t.Unit, Kind: EventReassigned, Level: t.Level,
			At: now, ActorLogin: actor.Login, Note: &comment})
		if err != nil {
			return err
		}
		msgs := make([]notify.Message, 0, len(to.holders))
		for _, a := range to.holders {
			msgs = append(msgs, notify.Message{Account: a, Kind: notify.KindTaskAssigned, RefType: refTask, RefID: t.ID, SMS: t.SMS,
				Subject: fmt.Sprintf("【待办】%s：%s", t.Title, t.StepName),
				Body:    fmt.Sprintf("「%s」的「%s」已改派给您办理，办理时限 %s。", t.Title, t.StepName, clock(t.DueAt))})
		}
		if pending, err = write(ctx, tx, now, msgs); err != nil {
			return err
		}
		out = Assignment{TaskID: t.ID, AccountID: to.account, Role: to.role, UnitID: to.unit, Version: t.Version + 1, Notified: len(msgs), Event: ev}
		before := Assignment{TaskID: t.ID, AccountID: t.Account, Role: t.Role, UnitID: t.Unit, Version: t.Version}
		return audit.Write(ctx, tx, audit.New(ctx, "supervision.task.reassign", "workflow_task", fmt.Sprint(t.ID), before, out))
	})
	if err != nil {
		return Assignment{}, err
	}
	s.kick(ctx, tenant, pending)
	return out, nil
}

func same[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
