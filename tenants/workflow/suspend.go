package workflow

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/workday"
)

// Codes of suspension's refusals.
const (
	// CodeSuspended: the instance, or one distributed from it, is
	// suspended already, or a task of a suspended instance was acted on.
	CodeSuspended = "instance_suspended"
	// CodeNotSuspended: a resume of an instance that is not suspended.
	CodeNotSuspended = "instance_not_suspended"
)

// SuspendInput suspends an instance (补正: the applicant is asked for
// missing materials).
type SuspendInput struct {
	// Reason is what the instance waits for, in its history: 缺少营业执照副本.
	Reason string `json:"reason"`
	// Within limits the call to instances of the workflows it accepts,
	// as ActInput.Within; the API never sets it.
	Within func(workflow string) bool `json:"-"`
}

// ResumeInput resumes a suspended instance.
type ResumeInput struct {
	Comment string `json:"comment,omitempty"`
	// Within is as SuspendInput.Within. A module's call (Within set) may
	// be an anonymous caller's: the applicant supplying what was asked
	// for on the module's public route, which the module has checked.
	Within func(workflow string) bool `json:"-"`
}

// Suspension is what a suspend or a resume changed: the instance named
// first, then those distributed from it, as they now are.
type Suspension struct {
	Instances []Instance `json:"instances"`
}

// maxFamily bounds the instances one suspension reaches: an instance and
// everything distributed from it, at most MaxRecipients a distribution.
const maxFamily = 10 * MaxRecipients

// Suspend stops the clock of instance id and of every running instance
// distributed from it (at any depth): the whole waits on the applicant,
// so none of its deadlines runs and supervision watches none of its
// tasks until Resume. Their open tasks become suspended: nobody acts on
// them meanwhile. The caller must be an account that may act on an
// unfinished task of one of those instances (the department asking for the missing
// material may be a recipient of the distribution and suspend the whole
// from its sender). A suspension does not nest: if any of them is
// suspended already, the call is refused and nothing changes.
func (s *Service) Suspend(ctx context.Context, tenant string, id int64, in SuspendInput) (Suspension, error) {
	p, err := actor(ctx, tenant)
	if err != nil {
		return Suspension{}, err
	}
	reason, err := optional("reason", in.Reason, 1000)
	if err != nil {
		return Suspension{}, err
	}
	if reason == "" {
		return Suspension{}, errs.Invalid(CodeInvalidRequest, "a suspension says what the instance waits for: give a reason")
	}
	var out Suspension
	err = s.familyTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		fam, err := lockFamily(ctx, tx, id, in.Within)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(fam.tasks, func(t Task) bool { return mayAct(p, t) }) {
			return errs.E(errs.KindForbidden, CodeNotYourTask, "only an assignee of an open task of instance %d or of those distributed from it suspends it", id)
		}
		for _, inst := range fam.instances {
			if inst.Status == InstanceSuspended {
				return errs.Conflict(CodeSuspended, "instance %d is suspended already, since %s", inst.ID,
					inst.SuspendedAt.In(workday.China()).Format("2006-01-02 15:04"))
			}
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		var running []int64
		for i, inst := range fam.instances {
			if inst.Status != InstanceRunning {
				continue
			}
			running = append(running, inst.ID)
			before := inst
			inst.Status, inst.SuspendedAt = InstanceSuspended, &now
			if _, err := tx.ExecContext(ctx, "UPDATE workflow_instances SET status = ?, suspended_at = ? WHERE id = ?", inst.Status, now, inst.ID); err != nil {
				return fmt.Errorf("suspend instance %d: %w", inst.ID, err)
			}
			r := &run{tx: tx, inst: inst, now: now}
			if err := r.history(ctx, nil, "", "suspend", p, reason); err != nil {
				return err
			}
			if err := audit.Write(ctx, tx, audit.New(ctx, "workflow.suspend", "workflow_instance", strconv.FormatInt(inst.ID, 10), before, inst)); err != nil {
				return err
			}
			fam.instances[i] = inst
		}
		if len(running) == 0 {
			return errs.Conflict(CodeSuspended, "instance %d has finished; nothing runs to suspend", id)
		}
		var open []int64
		for _, t := range fam.tasks {
			if t.Status == TaskOpen && slices.Contains(running, t.InstanceID) {
				open = append(open, t.ID)
			}
		}
		if len(open) > 0 {
			query, args, err := sqlx.In(`UPDATE workflow_tasks SET status = ?, next_check_at = NULL, version = version + 1 WHERE id IN (?)`, TaskSuspended, open)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, query, args...); err != nil {
				return fmt.Errorf("suspend the tasks of instance %d: %w", id, err)
			}
		}
		out.Instances = fam.changed(running)
		return nil
	})
	if err != nil {
		return Suspension{}, err
	}
	return out, nil
}

// Resume restarts the clock of instance id and of the instances
// distributed from it that a suspension of it stopped (it may itself be
// finished: a sender that distributed and ended). Each
// deadline (the instances' and their tasks', and the warning times) moves
// on by the working time spent suspended, counted in the county's
// calendar, so that the days waiting on the applicant are not counted:
// a task due on Friday that waited two working days is due on Tuesday.
// The tasks open again, supervision watches them from where they were
// (a task red before it waited stays red), and their assignees are told.
// The caller is an account that may act on one of the suspended tasks
// or, through a module, the applicant.
func (s *Service) Resume(ctx context.Context, tenant string, id int64, in ResumeInput) (Suspension, error) {
	p := auth.PrincipalFrom(ctx)
	anonymous := in.Within != nil && p.Kind == auth.KindAnonymous
	if !anonymous {
		var err error
		if p, err = actor(ctx, tenant); err != nil {
			return Suspension{}, err
		}
	}
	comment, err := optional("comment", in.Comment, 1000)
	if err != nil {
		return Suspension{}, err
	}
	cal, err := s.calendars.Calendar(ctx, tenant)
	if err != nil {
		return Suspension{}, err
	}
	var out Suspension
	pending := 0
	err = s.familyTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		fam, err := lockFamily(ctx, tx, id, in.Within)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(fam.instances, func(inst Instance) bool { return inst.Status == InstanceSuspended }) {
			return errs.Conflict(CodeNotSuspended, "instance %d is %s, and none distributed from it is suspended", id, fam.instances[0].Status)
		}
		if !anonymous && !slices.ContainsFunc(fam.tasks, func(t Task) bool { return t.Status == TaskSuspended && mayAct(p, t) }) {
			return errs.E(errs.KindForbidden, CodeNotYourTask, "only an assignee of a suspended task of instance %d or of those distributed from it resumes it", id)
		}
		c, err := readCounty(ctx, tx)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		var resumed []int64
		for i, inst := range fam.instances {
			if inst.Status != InstanceSuspended {
				continue
			}
			resumed = append(resumed, inst.ID)
			waited := cal.WorkingDuration(*inst.SuspendedAt, now)
			before := inst
			inst.Status, inst.SuspendedAt = InstanceRunning, nil
			inst.SuspendedSeconds += int64(waited / time.Second)
			if inst.DueAt != nil {
				due, status := cal.AddWorkingDurationStatus(*inst.DueAt, waited)
				status = workday.Least(*inst.DueCalendar, status)
				inst.DueAt, inst.DueCalendar = &due, &status
			}
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_instances SET status = ?, suspended_at = NULL, suspended_seconds = ?, due_at = ?,
due_calendar = ? WHERE id = ?`, inst.Status, inst.SuspendedSeconds, inst.DueAt, inst.DueCalendar, inst.ID); err != nil {
				return fmt.Errorf("resume instance %d: %w", inst.ID, err)
			}
			r := &run{s: s, tx: tx, tenant: tenant, cal: cal, inst: inst, now: now, county: c}
			for _, t := range fam.tasks {
				if t.InstanceID != inst.ID || t.Status != TaskSuspended {
					continue
				}
				if err := r.reopen(ctx, t, waited); err != nil {
					return err
				}
			}
			if err := r.history(ctx, nil, "", "resume", p, comment); err != nil {
				return err
			}
			if err := audit.Write(ctx, tx, audit.New(ctx, "workflow.resume", "workflow_instance", strconv.FormatInt(inst.ID, 10), before, inst)); err != nil {
				return err
			}
			n, err := r.notify(ctx)
			if err != nil {
				return err
			}
			pending += n
			fam.instances[i] = inst
		}
		out.Instances = fam.changed(resumed)
		return nil
	})
	if err != nil {
		return Suspension{}, err
	}
	s.kick(ctx, tenant, pending)
	return out, nil
}

// reopen opens suspended task t again, its deadline and warning time
// moved on by the working time waited, and its next check by
// supervision where its colour is next due to change.
func (r *run) reopen(ctx context.Context, t Task, waited time.Duration) error {
	t.Status = TaskOpen
	t.SuspendedSeconds += int64(waited / time.Second)
	var next *time.Time
	if t.DueAt != nil {
		due, status := r.cal.AddWorkingDurationStatus(*t.DueAt, waited)
		status = workday.Least(*t.DueCalendar, status)
		t.DueAt, t.DueCalendar = &due, &status
		if t.WarnAt != nil {
			warn := r.cal.AddWorkingDuration(*t.WarnAt, waited)
			t.WarnAt = &warn
		}
		switch {
		case t.Level == 0 && t.WarnAt != nil:
			next = t.WarnAt
		case t.Level <= 1:
			next = t.DueAt
		}
	}
	if _, err := r.tx.ExecContext(ctx, `UPDATE workflow_tasks SET status = ?, suspended_seconds = ?, due_at = ?, due_calendar = ?, warn_at = ?,
next_check_at = ?, version = version + 1 WHERE id = ?`, t.Status, t.SuspendedSeconds, t.DueAt, t.DueCalendar, t.WarnAt, next, t.ID); err != nil {
		return fmt.Errorf("reopen task %d: %w", t.ID, err)
	}
	t.Version++
	r.opened = append(r.opened, t)
	return nil
}

// family is an instance and those distributed from it, locked, with
// their unfinished (open or suspended) tasks.
type family struct {
	// instances are the named one first, then the others by id.
	instances []Instance
	tasks     []Task
}

// changed is the family's instances of ids, in the family's order.
func (f family) changed(ids []int64) []Instance {
	var out []Instance
	for _, inst := range f.instances {
		if slices.Contains(ids, inst.ID) {
			out = append(out, inst)
		}
	}
	return out
}

// errFamilyMoved is lockFamily's when an action changed the family's
// tasks between reading which to lock and locking them: the transaction
// is tried again.
var errFamilyMoved = errors.New("the instance's tasks changed while they were being locked")

// lockFamily locks instance id and every instance distributed from it,
// at any depth, with their unfinished tasks: a generation's tasks first,
// then its instances, the order acting takes, then its children read.
// Tasks are locked by their primary key, as an action locks its task,
// never through the index on instance and status, whose entries an
// action changes after taking the row: the two orders would deadlock.
// The transaction reads committed rows (familyTx): the tasks are read,
// locked, and read again once the instances are locked, when no action
// on them can be under way; a difference (an action committed in
// between) is errFamilyMoved. A distribution committed before a member's
// tasks were locked is seen, and none can follow while they are.
func lockFamily(ctx context.Context, tx *sqlx.Tx, id int64, within func(string) bool) (family, error) {
	var f family
	seen := map[int64]bool{}
	for members := []int64{id}; len(members) > 0; {
		for _, m := range members {
			seen[m] = true
		}
		if len(seen) > maxFamily {
			return family{}, errs.Invalid(CodeInvalidRequest, "instance %d has more than %d instances distributed from it", id, maxFamily)
		}
		unfinished, err := unfinishedTasks(ctx, tx, members)
		if err != nil {
			return family{}, err
		}
		var tasks []Task
		if len(unfinished) > 0 {
			query, args, err := sqlx.In("SELECT "+taskColumns+" FROM workflow_tasks t WHERE t.id IN (?) ORDER BY t.id FOR UPDATE", unfinished)
			if err != nil {
				return family{}, err
			}
			if err := tx.SelectContext(ctx, &tasks, query, args...); err != nil {
				return family{}, fmt.Errorf("lock the tasks of instance %d: %w", id, err)
			}
		}
		query, args, err := sqlx.In("SELECT "+instanceColumns+" FROM workflow_instances WHERE id IN (?) ORDER BY id FOR UPDATE", members)
		if err != nil {
			return family{}, err
		}
		var insts []Instance
		if err := tx.SelectContext(ctx, &insts, query, args...); err != nil {
			return family{}, fmt.Errorf("lock instance %d: %w", id, err)
		}
		f.instances = append(f.instances, insts...)
		again, err := unfinishedTasks(ctx, tx, members)
		if err != nil {
			return family{}, err
		}
		tasks = slices.DeleteFunc(tasks, func(t Task) bool { return t.Status != TaskOpen && t.Status != TaskSuspended })
		if !slices.Equal(again, taskIDs(tasks)) {
			return family{}, errFamilyMoved
		}
		f.tasks = append(f.tasks, tasks...)
		if query, args, err = sqlx.In("SELECT id FROM workflow_instances WHERE parent_id IN (?) ORDER BY id", members); err != nil {
			return family{}, err
		}
		var children []int64
		if err := tx.SelectContext(ctx, &children, query, args...); err != nil {
			return family{}, fmt.Errorf("read the instances distributed from %d: %w", id, err)
		}
		members = slices.DeleteFunc(children, func(c int64) bool { return seen[c] })
	}
	i := slices.IndexFunc(f.instances, func(inst Instance) bool { return inst.ID == id })
	if i < 0 || (within != nil && !within(f.instances[i].Workflow)) {
		return family{}, errs.NotFound(CodeInstanceNotFound, "the county has no instance %d", id)
	}
	f.instances[0], f.instances[i] = f.instances[i], f.instances[0]
	slices.SortFunc(f.instances[1:], func(a, b Instance) int { return cmp.Compare(a.ID, b.ID) })
	return f, nil
}

// unfinishedTasks reads the ids of the open and suspended tasks of
// instances, in order, without locking them.
func unfinishedTasks(ctx context.Context, tx *sqlx.Tx, instances []int64) ([]int64, error) {
	query, args, err := sqlx.In("SELECT id FROM workflow_tasks WHERE instance_id IN (?) AND status IN (?, ?) ORDER BY id", instances, TaskOpen, TaskSuspended)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := tx.SelectContext(ctx, &ids, query, args...); err != nil {
		return nil, fmt.Errorf("read the tasks of instances %v: %w", instances, err)
	}
	return ids, nil
}

func taskIDs(tasks []Task) []int64 {
	ids := make([]int64, len(tasks))
	for i, t := range tasks {
		ids[i] = t.ID
	}
	return ids
}

// familyAttempts bounds the tries of a suspension or a resumption whose
// family's tasks an action changes each time it locks them.
const familyAttempts = 5

// familyTx runs fn in a transaction of tenant's that reads committed
// rows, as lockFamily needs, and again while lockFamily finds the
// family's tasks moving under it.
func (s *Service) familyTx(ctx context.Context, tenant string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	for range familyAttempts - 1 {
		err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
			return store.InTx(ctx, conn, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *sqlx.Tx) error { return fn(ctx, tx) })
		})
		if !errors.Is(err, errFamilyMoved) {
			return err
		}
	}
	return errs.Conflict(CodeTaskClosed, "the instance's tasks kept changing while being suspended or resumed; try again")
}
