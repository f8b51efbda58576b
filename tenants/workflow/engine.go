package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/workday"
	flow "github.com/countycloud/countycloud/core/workflow"
)

// Statuses of instances and tasks.
const (
	InstanceRunning   = "running"
	InstanceDone      = "done"
	InstanceWithdrawn = "withdrawn"
	// InstanceSuspended waits on someone outside the county (补正), its
	// clock stopped: see Suspend.
	InstanceSuspended = "suspended"

	TaskOpen      = "open"
	TaskDone      = "done"
	TaskCancelled = "cancelled"
	// TaskSuspended is an open task of a suspended instance: nobody acts
	// on it and supervision does not watch it until the instance resumes.
	TaskSuspended = "suspended"
)

// Instance is one run of a workflow.
type Instance struct {
	ID              int64   `json:"id" db:"id"`
	Workflow        string  `json:"workflow" db:"definition_code"`
	Revision        int     `json:"revision" db:"definition_version"`
	Title           string  `json:"title" db:"title"`
	Reference       *string `json:"reference,omitempty" db:"reference"`
	InitiatorID     int64   `json:"initiator_id" db:"initiator_id"`
	InitiatorUnitID int64   `json:"initiator_unit_id" db:"initiator_unit_id"`
	// SubjectUnitID is the unit the instance runs for: the initiator's
	// unless the start named one or an action routed it elsewhere.
	SubjectUnitID int64 `json:"subject_unit_id" db:"subject_unit_id"`
	// ParentID is the sending instance of one started by distribution.
	ParentID  *int64     `json:"parent_id,omitempty" db:"parent_id"`
	Status    string     `json:"status" db:"status"`
	StartedAt time.Time  `json:"started_at" db:"started_at"`
	DueAt     *time.Time `json:"due_at,omitempty" db:"due_at"`
	// DueCalendar says how far the calendar DueAt was counted in can be
	// trusted over the years counted: official, provisional or missing.
	DueCalendar *workday.Status `json:"due_calendar,omitempty" db:"due_calendar"`
	// SuspendedAt is when the instance was suspended, while it is.
	SuspendedAt *time.Time `json:"suspended_at,omitempty" db:"suspended_at"`
	// SuspendedSeconds is the working time, in seconds, the instance has
	// spent suspended over all its suspensions: its handling time is its
	// working time from start to finish less this.
	SuspendedSeconds int64      `json:"suspended_working_seconds" db:"suspended_seconds"`
	FinishedAt       *time.Time `json:"finished_at,omitempty" db:"finished_at"`
	// WorkingDays is the handling time of a done instance, in working
	// days of the county's calendar and hours to the hundredth, its
	// suspended time not counted: counted by the action that finished it
	// and kept with it (the calendar changing later changes nothing), so
	// that a module needs no calendar to report its average handling
	// time. Nil while it runs and for one withdrawn.
	WorkingDays *float64 `json:"working_days,omitempty" db:"working_days"`
}

const instanceColumns = `id, definition_code, definition_version, title, reference, initiator_id, initiator_unit_id,
COALESCE(subject_unit_id, initiator_unit_id) AS subject_unit_id, parent_id, status, started_at, due_at, due_calendar, suspended_at,
suspended_seconds, finished_at, working_days`

// Task is one step of an instance waiting for, or done by, someone: a
// named account, or any holder of a role in a unit.
type Task struct {
	ID          int64      `json:"id" db:"id"`
	InstanceID  int64      `json:"instance_id" db:"instance_id"`
	Step        string     `json:"step" db:"step"`
	StepName    string     `json:"step_name" db:"step_name"`
	JoinStep    *string    `json:"join_step,omitempty" db:"join_step"`
	AccountID   *int64     `json:"assignee_account_id,omitempty" db:"assignee_account_id"`
	Role        *string    `json:"assignee_role,omitempty" db:"assignee_role"`
	UnitID      int64      `json:"unit_id" db:"unit_id"`
	Status      string     `json:"status" db:"status"`
	Level       int        `json:"level" db:"level"`
	SMSReminder bool       `json:"sms_reminder" db:"sms_reminder"`
	CreatedAt   time.Time  `json:"created_at" db:"created_at"`
	WarnAt      *time.Time `json:"warn_at,omitempty" db:"warn_at"`
	DueAt       *time.Time `json:"due_at,omitempty" db:"due_at"`
	// DueCalendar is DueAt's calendar status, as Instance.DueCalendar.
	DueCalendar *workday.Status `json:"due_calendar,omitempty" db:"due_calendar"`
	// SuspendedSeconds is the working time, in seconds, the task spent
	// suspended with its instance.
	SuspendedSeconds int64      `json:"suspended_working_seconds" db:"suspended_seconds"`
	ActedBy          *int64     `json:"acted_by,omitempty" db:"acted_by"`
	ActedAt          *time.Time `json:"acted_at,omitempty" db:"acted_at"`
	Action           *string    `json:"action,omitempty" db:"action"`
	Comment          *string    `json:"comment,omitempty" db:"comment"`
	Version          int        `json:"version" db:"version"`
}

const taskColumns = `t.id, t.instance_id, t.step, t.step_name, t.join_step, t.assignee_account_id, t.assignee_role, t.unit_id,
t.status, t.level, t.sms_reminder, t.created_at, t.warn_at, t.due_at, t.due_calendar, t.suspended_seconds, t.acted_by, t.acted_at, t.action,
t.comment, t.version`

// lockedInstanceColumns are an instance's columns as lockTask reads them
// beside its task's.
const lockedInstanceColumns = `i.id AS "i.id", i.definition_code AS "i.definition_code", i.definition_version AS "i.definition_version",
i.title AS "i.title", i.reference AS "i.reference", i.initiator_id AS "i.initiator_id", i.initiator_unit_id AS "i.initiator_unit_id",
COALESCE(i.subject_unit_id, i.initiator_unit_id) AS "i.subject_unit_id", i.parent_id AS "i.parent_id",
i.status AS "i.status", i.started_at AS "i.started_at", i.due_at AS "i.due_at", i.due_calendar AS "i.due_calendar",
i.suspended_at AS "i.suspended_at", i.suspended_seconds AS "i.suspended_seconds", i.finished_at AS "i.finished_at",
i.working_days AS "i.working_days"`

// actor is the account acting: only a county's own accounts start and act
// on its workflows.
func actor(ctx context.Context, tenant string) (auth.Principal, error) {
	p := auth.PrincipalFrom(ctx)
	if p.Kind != auth.KindAccount || p.Tenant != tenant {
		return auth.Principal{}, errs.E(errs.KindForbidden, CodeNotYourTask, "only the county's own accounts start workflows and act on tasks")
	}
	return p, nil
}

// starter is who starts in: the county's account of ctx, or a public
// route's anonymous caller where the plugin host let one start in for a
// subject unit.
func starter(ctx context.Context, tenant string, in StartInput) (auth.Principal, error) {
	p := auth.PrincipalFrom(ctx)
	if in.Public && p.Kind == auth.KindAnonymous {
		if in.SubjectUnitID <= 0 {
			return auth.Principal{}, errs.Invalid(CodeUnknownUnit, "an anonymous caller has no unit: name the subject unit")
		}
		return auth.Principal{Kind: auth.KindAnonymous, Login: p.Login}, nil
	}
	return actor(ctx, tenant)
}

// StartInput starts an instance of Workflow.
type StartInput struct {
	Workflow  string `json:"workflow"`
	Title     string `json:"title"`
	Reference string `json:"reference,omitempty"`
	// SMSReminder also texts the first step's assignees (短信提醒).
	SMSReminder bool `json:"sms_reminder,omitempty"`
	// SubjectUnitID is the unit of the county the instance runs for
	// (subject-relative assignees are sought there); 0 is the
	// initiator's own unit.
	SubjectUnitID int64 `json:"subject_unit_id,omitempty"`
	// TimeLimitDays, if set, is this instance's whole limit in working
	// days in place of the definition's time_limit: an approval item's
	// promised limit (承诺时限), which differs from item to item under
	// one definition. Steps without a limit of their own fall due with
	// it.
	TimeLimitDays int `json:"time_limit_days,omitempty"`
	// Public lets a public route's anonymous caller start it, for
	// SubjectUnitID: set by the plugin host alone, for a module's own
	// workflow its manifest lists as startable from public routes, never
	// from an API body. The instance's initiator is then no account (id
	// 0) and its initiator unit the subject unit, where the citizen
	// submitted it, unless InitiatorUnitID names another.
	Public bool `json:"-"`
	// InitiatorUnitID, if set, is the unit of the county the instance is
	// started from, whose staff steps relative to the initiator's unit
	// go to: for a public start, the office that takes in citizens'
	// submissions, where the subject unit is the one that answers them.
	// An account may name only its own unit: nobody starts as another
	// unit. Set by the plugin host alone, never from an API body.
	InitiatorUnitID int64 `json:"-"`
	// Alongside, if set, runs in the start's transaction once the
	// instance and its first tasks (opened) are written, before it
	// commits: what it writes commits with the start, and its error
	// rolls the start back. The plugin host writes a submission's record
	// and receipt with it. Never from an API body.
	Alongside func(ctx context.Context, tx *sqlx.Tx, inst Instance, opened []Task) error `json:"-"`
}

// Outcome is what starting or acting did.
type Outcome struct {
	Instance Instance `json:"instance"`
	// Acted is the task acted on; nil for a start.
	Acted *Task `json:"acted,omitempty"`
	// Opened are the tasks now waiting.
	Opened []Task `json:"opened"`
	// Distributed are the instances the action started in its
	// recipient units, in the order the units were named.
	Distributed []Instance `json:"distributed,omitempty"`
}

// Start begins an instance of the county's current revision of a workflow
// for the calling account, and opens its first tasks.
func (s *Service) Start(ctx context.Context, tenant string, in StartInput) (Outcome, error) {
	p, err := starter(ctx, tenant, in)
	if err != nil {
		return Outcome{}, err
	}
	title, err := names.Clean("title", in.Title, 200)
	if err != nil {
		return Outcome{}, errs.Invalid(CodeInvalidRequest, "%v", err)
	}
	reference, err := optional("reference", in.Reference, 128)
	if err != nil {
		return Outcome{}, err
	}
	if in.SubjectUnitID < 0 {
		return Outcome{}, errs.Invalid(CodeUnknownUnit, "subject_unit_id %d is not a unit", in.SubjectUnitID)
	}
	if err := initiatorUnit(p, in.InitiatorUnitID); err != nil {
		return Outcome{}, err
	}
	limit, err := limitOf("time_limit_days", in.TimeLimitDays)
	if err != nil {
		return Outcome{}, err
	}
	cal, err := s.calendars.Calendar(ctx, tenant)
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	pending := 0
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		subject := p.Unit
		named := startUnits{subject: in.SubjectUnitID}
		if in.SubjectUnitID != 0 {
			subject = in.SubjectUnitID
		}
		if p.Kind == auth.KindAnonymous {
			p.Unit = subject
			if in.InitiatorUnitID != 0 {
				named.initiator = in.InitiatorUnitID
				p.Unit = in.InitiatorUnitID
			}
		}
		c, revision, err := readCountyFor(ctx, tx, in.Workflow, named)
		if err != nil {
			return err
		}
		run, err := s.begin(ctx, tx, tenant, cal, c, p, launch{workflow: in.Workflow, revision: revision, title: title, reference: reference,
			subject: subject, sms: in.SMSReminder, limit: limit})
		if err != nil {
			return err
		}
		if in.Alongside != nil {
			if err := in.Alongside(ctx, tx, run.inst, run.opened); err != nil {
				return err
			}
		}
		// Last, for the rows every start raises (the notices' counts)
		// are locked from here to the commit.
		if pending, err = run.notify(ctx); err != nil {
			return err
		}
		out = Outcome{Instance: run.inst, Opened: run.opened}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	s.kick(ctx, tenant, pending)
	return out, nil
}

// initiatorUnit refuses an initiator unit p may not start from: a unit
// that is none, or, for an account, any unit but its own. An anonymous
// caller's is checked against the county's units in the start's
// transaction.
func initiatorUnit(p auth.Principal, unit int64) error {
	switch {
	case unit < 0:
		return errs.Invalid(CodeUnknownUnit, "initiator_unit_id %d is not a unit", unit)
	case unit != 0 && p.Kind == auth.KindAccount && unit != p.Unit:
		return errs.E(errs.KindForbidden, CodeNotYourTask, "%s starts from unit %d, their own, not from unit %d", p.Login, p.Unit, unit)
	}
	return nil
}

// launch is an instance to start.
type launch struct {
	workflow, title, reference string
	// revision is the workflow's current revision if already read.
	revision int
	subject  int64
	// parent is the sending instance of a distributed one.
	parent *int64
	sms    bool
	// limit, if set, is the instance's limit in place of its
	// definition's.
	limit *flow.Limit
}

// MaxLimitDays bounds a limit given at a start or a distribution, as a
// definition's limits are bounded: more than a year is no limit.
const MaxLimitDays = 366

// limitOf is a limit of days working days given at a start or a
// distribution; 0 is none given.
func limitOf(field string, days int) (*flow.Limit, error) {
	switch {
	case days == 0:
		return nil, nil
	case days < 0 || days > MaxLimitDays:
		return nil, errs.Invalid(CodeInvalidRequest, "%s: a limit is 1 to %d working days, not %d", field, MaxLimitDays, days)
	}
	return &flow.Limit{Days: days}, nil
}

// begin starts an instance of l.workflow's current revision in tx for p,
// opens its first tasks and records the start in its history and the
// audit trail; the returned run's notices are yet to be written.
func (s *Service) begin(ctx context.Context, tx *sqlx.Tx, tenant string, cal *workday.Calendar, c county, p auth.Principal, l launch) (*run, error) {
	revision := l.revision
	if revision == 0 {
		var err error
		if revision, err = currentRevision(ctx, tx, l.workflow); err != nil {
			return nil, err
		}
	}
	proc, err := s.process(ctx, tx, tenant, l.workflow, revision)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	inst := Instance{Workflow: l.workflow, Revision: revision, Title: l.title, InitiatorID: p.ID, InitiatorUnitID: p.Unit,
		SubjectUnitID: l.subject, ParentID: l.parent, Status: InstanceRunning, StartedAt: now}
	if l.reference != "" {
		inst.Reference = &l.reference
	}
	lim := proc.Definition.TimeLimit
	if l.limit != nil {
		lim = l.limit
	}
	if lim != nil {
		due, status := lim.Deadline(cal, now)
		inst.DueAt, inst.DueCalendar = &due, &status
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO workflow_instances (definition_code, definition_version, title, reference, initiator_id,
initiator_unit_id, subject_unit_id, parent_id, status, started_at, due_at, due_calendar) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inst.Workflow, inst.Revision, inst.Title, inst.Reference, inst.InitiatorID, inst.InitiatorUnitID, inst.SubjectUnitID, inst.ParentID,
		inst.Status, inst.StartedAt, inst.DueAt, inst.DueCalendar)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", l.workflow, err)
	}
	if inst.ID, err = res.LastInsertId(); err != nil {
		return nil, err
	}
	run := &run{s: s, tx: tx, tenant: tenant, cal: cal, proc: proc, inst: inst, now: now, sms: l.sms, county: c}
	if err := run.open(ctx, proc.Open(proc.Definition.Start)); err != nil {
		return nil, err
	}
	if err := run.history(ctx, nil, proc.Definition.Start, "start", p, ""); err != nil {
		return nil, err
	}
	return run, audit.Write(ctx, tx, audit.New(ctx, "workflow.start", "workflow_instance", strconv.FormatInt(inst.ID, 10), nil, inst))
}

// MaxRecipients bounds the units one distribution reaches; a county has
// a few hundred.
const MaxRecipients = 1000

// checkUnits refuses ids unless each is a unit of the county with an
// active account, someone to act there: a unit of another county is not
// one of this county's, whatever its id.
func checkUnits(ctx context.Context, q sqlx.QueryerContext, field string, ids []int64) error {
	seen := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if id <= 0 {
			return errs.Invalid(CodeUnknownUnit, "%s: %d is not a unit", field, id)
		}
		if seen[id] {
			return errs.Invalid(CodeInvalidRequest, "%s: unit %d is named twice", field, id)
		}
		seen[id] = true
	}
	query, args, err := sqlx.In(`SELECT u.id, `+staffed+` AS staffed FROM units u WHERE u.id IN (?)`, ids)
	if err != nil {
		return err
	}
	var rows []struct {
		ID      int64 `db:"id"`
		Staffed bool  `db:"staffed"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, query, args...); err != nil {
		return fmt.Errorf("read units: %w", err)
	}
	for _, r := range rows {
		if !r.Staffed {
			return unstaffedUnit(field, r.ID)
		}
		delete(seen, r.ID)
	}
	for _, id := range ids {
		if seen[id] {
			return unknownUnit(field, id)
		}
	}
	return nil
}

// staffed is whether unit u has an active account, someone to act there.
const staffed = "EXISTS (SELECT 1 FROM accounts a WHERE a.unit_id = u.id AND a.status = 'active')"

// unknownUnit refuses unit id, named in field, which is not the county's.
func unknownUnit(field string, id int64) error {
	return errs.Invalid(CodeUnknownUnit, "%s: the county has no unit %d", field, id)
}

// unstaffedUnit refuses unit id, named in field, where nobody can act.
func unstaffedUnit(field string, id int64) error {
	return errs.Invalid(CodeInactiveUnit, "%s: unit %d has no active account to act there", field, id)
}

// ActInput is an action on a task.
type ActInput struct {
	Action  string `json:"action"`
	Comment string `json:"comment,omitempty"`
	// SMSReminder also texts the next steps' assignees (短信提醒).
	SMSReminder bool `json:"sms_reminder,omitempty"`
	// RouteUnitID sends the step the action opens to a unit of the
	// county, which becomes the instance's subject unit; the step must
	// be routed. 0 leaves the subject unit as it is.
	RouteUnitID int64 `json:"route_unit_id,omitempty"`
	// RecipientUnitIDs are the units an action that distributes starts
	// an instance for, one each; required by such an action and refused
	// by any other.
	RecipientUnitIDs []int64 `json:"recipient_unit_ids,omitempty"`
	// RecipientTimeLimitDays, if given, are the recipients' instances'
	// limits in working days, one per recipient unit in the same order,
	// in place of the distributed definition's time_limit: each
	// department of a joint approval (联合审批) has its own.
	RecipientTimeLimitDays []int `json:"recipient_time_limit_days,omitempty"`
	// Within, if set, limits the action to tasks of the workflows it
	// accepts (by code): a module acts on its own workflows' tasks only,
	// whatever else its caller may act on. The API never sets it.
	Within func(workflow string) bool `json:"-"`
}

// Act does an action on a task for the calling account. Of two people
// acting on one task at once, exactly one succeeds; the other is told who
// did it first.
func (s *Service) Act(ctx context.Context, tenant string, taskID int64, in ActInput) (Outcome, error) {
	p, err := actor(ctx, tenant)
	if err != nil {
		return Outcome{}, err
	}
	comment, err := optional("comment", in.Comment, 1000)
	if err != nil {
		return Outcome{}, err
	}
	if in.RouteUnitID < 0 {
		return Outcome{}, errs.Invalid(CodeUnknownUnit, "route_unit_id %d is not a unit", in.RouteUnitID)
	}
	if len(in.RecipientUnitIDs) > MaxRecipients {
		return Outcome{}, errs.Invalid(CodeInvalidRequest, "%d recipient units; at most %d", len(in.RecipientUnitIDs), MaxRecipients)
	}
	if n := len(in.RecipientTimeLimitDays); n > 0 && n != len(in.RecipientUnitIDs) {
		return Outcome{}, errs.Invalid(CodeInvalidRequest, "%d recipient limits for %d recipient units: give one per unit, or none", n, len(in.RecipientUnitIDs))
	}
	for _, days := range in.RecipientTimeLimitDays {
		if _, err := limitOf("recipient_time_limit_days", days); err != nil || days == 0 {
			return Outcome{}, errs.Invalid(CodeInvalidRequest, "recipient_time_limit_days: a limit is 1 to %d working days, not %d", MaxLimitDays, days)
		}
	}
	cal, err := s.calendars.Calendar(ctx, tenant)
	if err != nil {
		return Outcome{}, err
	}
	var out Outcome
	pending := 0
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		locked, err := lockTask(ctx, tx, taskID)
		if err != nil {
			return err
		}
		task, inst := locked.Task, locked.Instance
		if in.Within != nil && !in.Within(inst.Workflow) {
			return errs.NotFound(CodeTaskNotFound, "the county has no task %d", taskID)
		}
		if task.Status == TaskSuspended {
			return errs.Conflict(CodeSuspended, "instance %d is suspended, waiting since %s; it must resume before task %d is acted on",
				inst.ID, inst.SuspendedAt.In(workday.China()).Format("2006-01-02 15:04"), task.ID)
		}
		if task.Status != TaskOpen {
			return closedError(ctx, tx, task)
		}
		if !mayAct(p, task) {
			return errs.E(errs.KindForbidden, CodeNotYourTask, "task %d waits for %s, not for %s", task.ID, assigneeText(task), p.Login)
		}
		proc, err := s.process(ctx, tx, tenant, inst.Workflow, inst.Revision)
		if err != nil {
			return err
		}
		if err := s.moduleStep(ctx, in, inst, task, proc); err != nil {
			return err
		}
		move, err := proc.Act(task.Step, in.Action)
		if err != nil {
			return err
		}
		if err := checkMove(ctx, tx, move, in); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		before := task
		task.Status, task.ActedBy, task.ActedAt, task.Action = TaskDone, &p.ID, &now, &move.Action.Name
		if comment != "" {
			task.Comment = &comment
		}
		res, err := tx.ExecContext(ctx, `UPDATE workflow_tasks SET status = ?, acted_by = ?, acted_at = ?, action = ?, comment = ?,
next_check_at = NULL, version = version + 1 WHERE id = ? AND status = ? AND version = ?`,
			TaskDone, p.ID, now, move.Action.Name, task.Comment, task.ID, TaskOpen, task.Version)
		if err != nil {
			return fmt.Errorf("act on task %d: %w", task.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return errs.Conflict(CodeTaskClosed, "task %d changed while you acted; reload it", task.ID)
		}
		task.Version++
		run := &run{s: s, tx: tx, tenant: tenant, cal: cal, proc: proc, inst: inst, now: now, sms: in.SMSReminder, county: locked.county}
		if in.RouteUnitID != 0 {
			if err := run.route(ctx, in.RouteUnitID); err != nil {
				return err
			}
		}
		if err := run.apply(ctx, task, move); err != nil {
			return err
		}
		if err := run.count(ctx, task); err != nil {
			return err
		}
		if err := run.history(ctx, &task.ID, task.Step, move.Action.Name, p, comment); err != nil {
			return err
		}
		if pending, err = run.notify(ctx); err != nil {
			return err
		}
		out = Outcome{Instance: run.inst, Acted: &task, Opened: run.opened}
		if err := audit.Write(ctx, tx, audit.New(ctx, "workflow.act."+move.Action.Name, "workflow_task", strconv.FormatInt(task.ID, 10), before, task)); err != nil {
			return err
		}
		if move.Action.Distribute == "" {
			return nil
		}
		// The recipients' instances start in this transaction: all of
		// them with the action, or none and no action.
		target := flow.Distributed(inst.Workflow, move.Action.Distribute)
		for i, unit := range in.RecipientUnitIDs {
			l := launch{workflow: target, title: inst.Title, reference: deref(inst.Reference), subject: unit, parent: &inst.ID, sms: in.SMSReminder}
			if len(in.RecipientTimeLimitDays) > 0 {
				l.limit = &flow.Limit{Days: in.RecipientTimeLimitDays[i]}
			}
			child, err := s.begin(ctx, tx, tenant, cal, locked.county, p, l)
			if err != nil {
				return fmt.Errorf("distribute to unit %d: %w", unit, err)
			}
			n, err := child.notify(ctx)
			if err != nil {
				return err
			}
			pending += n
			out.Distributed = append(out.Distributed, child.inst)
		}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	s.kick(ctx, tenant, pending)
	return out, nil
}

// checkMove refuses what in asks of move beyond the action itself: a
// route unless the action opens a routed step, recipients unless it
// distributes (and none if it does), and units that are not the
// county's.
func checkMove(ctx context.Context, q sqlx.QueryerContext, move flow.Move, in ActInput) error {
	if in.RouteUnitID != 0 {
		if !slices.ContainsFunc(move.Open, func(s flow.Step) bool { return s.Routed }) {
			return errs.Invalid(CodeRoutingNotAllowed, "action %s opens no routed step, so it names no unit", move.Action.Name)
		}
		if err := checkUnits(ctx, q, "route_unit_id", []int64{in.RouteUnitID}); err != nil {
			return err
		}
	}
	switch {
	case move.Action.Distribute == "" && len(in.RecipientUnitIDs) > 0:
		return errs.Invalid(CodeDistributionNotAllowed, "action %s distributes nothing, so it has no recipient units", move.Action.Name)
	case move.Action.Distribute != "" && len(in.RecipientUnitIDs) == 0:
		return errs.Invalid(CodeNoRecipients, "action %s distributes to units: give recipient_unit_ids", move.Action.Name)
	case move.Action.Distribute != "":
		return checkUnits(ctx, q, "recipient_unit_ids", in.RecipientUnitIDs)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// optional cleans a text field that may be left empty.
func optional(field, s string, max int) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	clean, err := names.Clean(field, s, max)
	if err != nil {
		return "", errs.Invalid(CodeInvalidRequest, "%v", err)
	}
	return clean, nil
}

// lockedTask is a task and its instance as lockTask read them, with what
// acting reads of the county.
type lockedTask struct {
	Task
	Instance Instance `db:"i"`
	county
}

// lockTask reads task id and its instance, with the county's, locked in
// one statement that takes the task's row and then the instance's, the
// order every change to a task takes: two actions on one instance wait
// for each other, and the second sees what the first did.
func lockTask(ctx context.Context, tx *sqlx.Tx, id int64) (lockedTask, error) {
	var row lockedTask
	err := tx.GetContext(ctx, &row, "SELECT "+taskColumns+", "+lockedInstanceColumns+", "+countyColumns+
		" FROM workflow_tasks t JOIN workflow_instances i ON i.id = t.instance_id WHERE t.id = ? FOR UPDATE", id)
	if errors.Is(err, sql.ErrNoRows) {
		return lockedTask{}, errs.NotFound(CodeTaskNotFound, "the county has no task %d", id)
	}
	if err != nil {
		return lockedTask{}, fmt.Errorf("read task %d: %w", id, err)
	}
	return row, nil
}

// closedError says who closed task first.
func closedError(ctx context.Context, q sqlx.QueryerContext, task Task) error {
	if task.Status == TaskCancelled || task.ActedBy == nil {
		return errs.Conflict(CodeTaskClosed, "task %d (%s) was cancelled", task.ID, task.StepName)
	}
	var who string
	if err := sqlx.GetContext(ctx, q, &who, "SELECT name FROM accounts WHERE id = ?", *task.ActedBy); err != nil {
		who = "account " + strconv.FormatInt(*task.ActedBy, 10)
	}
	return errs.Conflict(CodeTaskClosed, "task %d (%s) was already done by %s at %s (%s)", task.ID, task.StepName, who,
		task.ActedAt.In(workday.China()).Format("2006-01-02 15:04:05"), *task.Action)
}

// moduleStep refuses an action through the platform's task API (no
// in.Within: not a module's own) at a mandatory step of a module's
// workflow: the module does its work at those steps (numbers, seals,
// replies, decisions), and an action done past it would leave the work
// undone and the module's records behind the engine's. A county's added
// steps and a module's other steps stay open to the task API.
func (s *Service) moduleStep(ctx context.Context, in ActInput, inst Instance, task Task, proc *flow.Process) error {
	if in.Within != nil || s.namespaces == nil {
		return nil
	}
	step, ok := proc.Step(task.Step)
	if !ok || !step.Mandatory {
		return nil
	}
	module, err := s.namespaces.PluginWorkflow(ctx, inst.Workflow)
	if err != nil || !module {
		return err
	}
	return errs.Conflict(CodeModuleStep, "task %d is at step %s (%s) of %s, a module's workflow whose mandatory steps only the module acts on: act through the module's routes",
		task.ID, task.Step, task.StepName, inst.Workflow)
}

// mayAct says whether p is the task's assignee: the named account, or a
// holder of its role in its unit.
func mayAct(p auth.Principal, t Task) bool {
	if t.AccountID != nil {
		return *t.AccountID == p.ID
	}
	return t.Role != nil && p.Unit == t.UnitID && p.Has(*t.Role)
}

func assigneeText(t Task) string {
	if t.AccountID != nil {
		return "account " + strconv.FormatInt(*t.AccountID, 10)
	}
	return fmt.Sprintf("a %s of unit %d", *t.Role, t.UnitID)
}

// Withdraw takes back an instance its initiator started, while nobody
// else has acted on it.
func (s *Service) Withdraw(ctx context.Context, tenant string, id int64, comment string) (Instance, error) {
	p, err := actor(ctx, tenant)
	if err != nil {
		return Instance{}, err
	}
	comment, err = optional("comment", comment, 1000)
	if err != nil {
		return Instance{}, err
	}
	var inst Instance
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		// The open tasks first, then the instance: the order acting takes.
		var open []int64
		if err := tx.SelectContext(ctx, &open, "SELECT id FROM workflow_tasks WHERE instance_id = ? AND status = ? FOR UPDATE", id, TaskOpen); err != nil {
			return fmt.Errorf("read tasks of instance %d: %w", id, err)
		}
		err := tx.GetContext(ctx, &inst, "SELECT "+instanceColumns+" FROM workflow_instances WHERE id = ? FOR UPDATE", id)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && inst.InitiatorID != p.ID) {
			return errs.NotFound(CodeInstanceNotFound, "you started no instance %d", id)
		}
		if err != nil {
			return fmt.Errorf("read instance %d: %w", id, err)
		}
		proc, err := s.process(ctx, tx, tenant, inst.Workflow, inst.Revision)
		if err != nil {
			return err
		}
		if !proc.Definition.Withdrawable {
			return errs.Conflict(CodeNotWithdrawable, "%s instances cannot be withdrawn", proc.Definition.Name)
		}
		if inst.Status != InstanceRunning {
			return errs.Conflict(CodeNotWithdrawable, "instance %d is %s already", id, inst.Status)
		}
		var others int
		if err := tx.GetContext(ctx, &others, "SELECT COUNT(*) FROM workflow_tasks WHERE instance_id = ? AND status = ? AND acted_by <> ?", id, TaskDone, p.ID); err != nil {
			return fmt.Errorf("read tasks of instance %d: %w", id, err)
		}
		if others > 0 {
			return errs.Conflict(CodeNotWithdrawable, "others have acted on instance %d; it can no longer be withdrawn", id)
		}
		before := inst
		now := s.now().UTC().Truncate(time.Microsecond)
		inst.Status, inst.FinishedAt = InstanceWithdrawn, &now
		run := &run{s: s, tx: tx, tenant: tenant, proc: proc, inst: inst, now: now}
		if err := run.cancelOpen(ctx, 0); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE workflow_instances SET status = ?, finished_at = ? WHERE id = ?",
			inst.Status, inst.FinishedAt, inst.ID); err != nil {
			return fmt.Errorf("withdraw instance %d: %w", id, err)
		}
		if err := run.history(ctx, nil, "", "withdraw", p, comment); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "workflow.withdraw", "workflow_instance", strconv.FormatInt(id, 10), before, inst))
	})
	return inst, err
}

// kick starts delivery of what a committed change left waiting. A kick
// that fails is only logged: the change is committed, its notifications
// are in the outbox, and notify's own sweep delivers them a little later.
func (s *Service) kick(ctx context.Context, tenant string, pending int) {
	if pending == 0 || s.kicker == nil {
		return
	}
	if err := s.kicker.Kick(ctx, tenant); err != nil {
		s.log.Warn("notifications wait for the sweep", "tenant", tenant, "err", err)
	}
}

// run is one change to an instance inside its transaction.
type run struct {
	s      *Service
	tx     *sqlx.Tx
	tenant string
	cal    *workday.Calendar
	proc   *flow.Process
	inst   Instance
	now    time.Time
	sms    bool
	// county is what the transaction read of the county.
	county county
	opened []Task
	notes  []notify.Message
}

// route makes unit the instance's subject unit, in which the routed step
// about to open is assigned.
func (r *run) route(ctx context.Context, unit int64) error {
	before := r.inst
	r.inst.SubjectUnitID = unit
	if _, err := r.tx.ExecContext(ctx, "UPDATE workflow_instances SET subject_unit_id = ? WHERE id = ?", unit, r.inst.ID); err != nil {
		return fmt.Errorf("route instance %d: %w", r.inst.ID, err)
	}
	return audit.Write(ctx, r.tx, audit.New(ctx, "workflow.route", "workflow_instance", strconv.FormatInt(r.inst.ID, 10), before, r.inst))
}

// apply carries out move, made by acting on task.
func (r *run) apply(ctx context.Context, task Task, move flow.Move) error {
	if move.CancelOthers {
		if err := r.cancelOpen(ctx, task.ID); err != nil {
			return err
		}
	}
	open := move.Open
	if move.Join != "" {
		var waiting int
		if err := r.tx.GetContext(ctx, &waiting, "SELECT COUNT(*) FROM workflow_tasks WHERE instance_id = ? AND join_step = ? AND status = ?",
			r.inst.ID, move.Join, TaskOpen); err != nil {
			return fmt.Errorf("read branches of instance %d: %w", r.inst.ID, err)
		}
		if waiting == 0 {
			open = r.proc.Open(move.Join)
		}
	}
	if err := r.open(ctx, open); err != nil {
		return err
	}
	if move.End {
		r.inst.Status, r.inst.FinishedAt = InstanceDone, &r.now
		days := workingDays(r.cal, r.inst.StartedAt, r.now, r.inst.SuspendedSeconds)
		r.inst.WorkingDays = &days
		if _, err := r.tx.ExecContext(ctx, "UPDATE workflow_instances SET status = ?, finished_at = ?, working_days = ? WHERE id = ?",
			r.inst.Status, r.inst.FinishedAt, days, r.inst.ID); err != nil {
			return fmt.Errorf("finish instance %d: %w", r.inst.ID, err)
		}
	}
	return nil
}

// workingDays is the working time from start to end less suspended
// seconds, in working days of cal to the hundredth.
func workingDays(cal *workday.Calendar, start, end time.Time, suspended int64) float64 {
	worked := cal.WorkingDuration(start, end) - time.Duration(suspended)*time.Second
	day := cal.Hours().Total()
	if worked <= 0 || day <= 0 {
		return 0
	}
	return math.Round(float64(worked)/float64(day)*100) / 100
}

// count records the platform's measures of acting on task, in the
// action's transaction, so that neither stands without the other: the
// task finished on time or late (against its due time, per its unit)
// and, if the action ended the instance, the instance completed (per
// workflow and its subject unit). A task is closed once, under its row's
// lock: a second action on it is refused before it counts.
func (r *run) count(ctx context.Context, task Task) error {
	finished := measure.TasksOnTime
	if task.DueAt != nil && r.now.After(*task.DueAt) {
		finished = measure.TasksLate
	}
	cs := []measure.Count{{Measure: finished, Unit: task.UnitID}}
	if r.inst.Status == InstanceDone {
		cs = append(cs, measure.Count{Measure: measure.WorkflowCompleted(r.inst.Workflow), Unit: r.inst.SubjectUnitID})
	}
	return r.s.count(ctx, r.tx, r.now, cs...)
}

// cancelOpen closes the instance's open tasks but except.
func (r *run) cancelOpen(ctx context.Context, except int64) error {
	if _, err := r.tx.ExecContext(ctx, `UPDATE workflow_tasks SET status = ?, next_check_at = NULL, version = version + 1
WHERE instance_id = ? AND status = ? AND id <> ?`, TaskCancelled, r.inst.ID, TaskOpen, except); err != nil {
		return fmt.Errorf("cancel tasks of instance %d: %w", r.inst.ID, err)
	}
	return nil
}

// open opens a task for each of steps, with its deadline and warning
// time in the county's calendar.
func (r *run) open(ctx context.Context, steps []flow.Step) error {
	if len(steps) == 0 {
		return nil
	}
	for _, step := range steps {
		t := Task{InstanceID: r.inst.ID, Step: step.ID, StepName: step.Name, Status: TaskOpen, SMSReminder: r.sms, CreatedAt: r.now}
		if join := r.proc.JoinOf(step.ID); join != "" {
			t.JoinStep = &join
		}
		if err := r.assign(ctx, &t, *step.Assignee); err != nil {
			return err
		}
		due, status := r.inst.DueAt, r.inst.DueCalendar
		if step.TimeLimit != nil {
			d, s := step.TimeLimit.Deadline(r.cal, r.now)
			due, status = &d, &s
		}
		var next *time.Time
		if due != nil {
			warn := flow.WarnAt(r.cal, r.now, *due, r.county.share())
			t.DueAt, t.DueCalendar, t.WarnAt, next = due, status, &warn, &warn
		}
		res, err := r.tx.ExecContext(ctx, `INSERT INTO workflow_tasks (instance_id, step, step_name, join_step, assignee_account_id,
assignee_role, unit_id, status, sms_reminder, created_at, warn_at, due_at, due_calendar, next_check_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.InstanceID, t.Step, t.StepName, t.JoinStep, t.AccountID, t.Role, t.UnitID, t.Status, t.SMSReminder, t.CreatedAt, t.WarnAt, t.DueAt, t.DueCalendar, next)
		if err != nil {
			return fmt.Errorf("open step %s of instance %d: %w", step.ID, r.inst.ID, err)
		}
		if t.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		r.opened = append(r.opened, t)
	}
	return nil
}

// roleLeader is the role of a unit's leader, whom "the initiator's
// leader" names.
const roleLeader = "leader"

// assign fills in who may act on t. A role without a unit is sought in
// the initiator's unit.
func (r *run) assign(ctx context.Context, t *Task, a flow.Assignee) error {
	t.UnitID = r.inst.InitiatorUnitID
	if a.OfSubject() {
		t.UnitID = r.inst.SubjectUnitID
	}
	switch {
	case a.Account != "":
		var acc struct {
			ID   int64 `db:"id"`
			Unit int64 `db:"unit_id"`
		}
		err := r.tx.GetContext(ctx, &acc, "SELECT id, unit_id FROM accounts WHERE login = ? AND status = 'active'", a.Account)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.Invalid(CodeUnassignable, "step %s is for account %s, which the county does not have active", t.Step, a.Account)
		}
		if err != nil {
			return fmt.Errorf("read account %s: %w", a.Account, err)
		}
		t.AccountID, t.UnitID = &acc.ID, acc.Unit
		return nil
	case a.Relative == flow.RelativeInitiatorLeader || a.Relative == flow.RelativeSubjectLeader:
		role := roleLeader
		t.Role = &role
		return nil
	case a.Unit != "":
		id, err := r.s.unitID(ctx, r.tx, r.tenant, a.Unit)
		if err != nil {
			return fmt.Errorf("step %s: %w", t.Step, err)
		}
		t.UnitID = id
	}
	role := a.Role
	t.Role = &role
	return nil
}

// tell queues a notice of each opened task to its assignees: the named
// account, or the active holders of its role in its unit.
func (r *run) tell() {
	for _, t := range r.opened {
		var body strings.Builder
		fmt.Fprintf(&body, "「%s」待您办理：%s。", r.inst.Title, t.StepName)
		if t.DueAt != nil {
			fmt.Fprintf(&body, "办理时限：%s。", t.DueAt.In(workday.China()).Format("2006-01-02 15:04"))
			body.WriteString(calendarCaveat(t.DueCalendar))
		}
		m := notify.Message{Kind: notify.KindTaskAssigned, Subject: "待办：" + r.inst.Title, Body: body.String(),
			RefType: "workflow_task", RefID: t.ID, SMS: t.SMSReminder}
		if t.AccountID != nil {
			m.Account = *t.AccountID
		} else {
			m.Unit, m.Role = t.UnitID, *t.Role
		}
		r.notes = append(r.notes, m)
	}
}

// calendarCaveat tells the assignees of a deadline counted over years
// whose holidays are guessed or unknown that it may move.
func calendarCaveat(status *workday.Status) string {
	switch {
	case status == nil:
		return ""
	case *status == workday.Provisional:
		return "（该时限按推定的节假日安排计算，国务院办公厅通知发布后可能调整。）"
	case *status == workday.Missing:
		return "（该时限所跨年份尚无节假日数据，按周一至周五计算，未计法定节假日。）"
	}
	return ""
}

// notify tells the assignees of the opened tasks, through the outbox.
func (r *run) notify(ctx context.Context) (int, error) {
	r.tell()
	return r.s.recipients.Write(ctx, r.tx, r.tenant, r.county.Directory, r.now, r.notes...)
}

// history records an action on the instance.
func (r *run) history(ctx context.Context, task *int64, step, action string, p auth.Principal, comment string) error {
	var c *string
	if comment != "" {
		c = &comment
	}
	// An anonymous caller (a citizen submitting, an applicant resuming a
	// suspension, through a module) is no account; the host names them
	// by their address where it knows it.
	actorID, login := &p.ID, p.Login
	if p.Kind == auth.KindAnonymous {
		actorID = nil
		if login == "" {
			login = string(auth.KindAnonymous)
		}
	}
	// Nothing reads the history back before the commit: it goes with
	// the transaction's other deferred writes.
	if err := store.Later(ctx, r.tx, `INSERT INTO workflow_history (instance_id, task_id, step, action, actor_id, actor_login, at, comment)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.inst.ID, task, step, action, actorID, login, r.now, c); err != nil {
		return fmt.Errorf("record %s on instance %d: %w", action, r.inst.ID, err)
	}
	return nil
}
