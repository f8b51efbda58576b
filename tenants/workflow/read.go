package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/workday"
)

// InboxItem is an open task with what its instance is about.
type InboxItem struct {
	Task
	Title    string `json:"title" db:"title"`
	Workflow string `json:"workflow" db:"definition_code"`
}

// InboxFilter selects an inbox: the caller's own (Unit 0), or a unit's.
// Items come oldest first, Limit at a time, after the task id After.
type InboxFilter struct {
	Unit  int64
	Limit int
	After int64
}

// MaxInboxLimit bounds a page of an inbox.
const MaxInboxLimit = 500

// Inbox is what waits for the caller: tasks for their account or for a
// role they hold in their unit. With f.Unit it is everything open in that
// unit, which its members, its unit admins and the county's admins see.
func (s *Service) Inbox(ctx context.Context, tenant string, f InboxFilter) ([]InboxItem, error) {
	p := auth.PrincipalFrom(ctx)
	if f.Limit <= 0 || f.Limit > MaxInboxLimit {
		f.Limit = 100
	}
	const base = `SELECT t.id, t.instance_id, t.step, t.step_name, t.join_step, t.assignee_account_id, t.assignee_role, t.unit_id,
t.status, t.level, t.sms_reminder, t.created_at, t.warn_at, t.due_at, t.due_calendar, t.acted_by, t.acted_at, t.action, t.comment, t.version,
i.title, i.definition_code FROM workflow_tasks t JOIN workflow_instances i ON i.id = t.instance_id WHERE t.status = 'open' AND t.id > ? AND `
	var query string
	var args []any
	switch {
	case f.Unit != 0:
		if !seesUnit(p, tenant, f.Unit) {
			return nil, errs.E(errs.KindForbidden, CodeNotYourTask, "the inbox of unit %d is for its members and admins", f.Unit)
		}
		query, args = base+"t.unit_id = ?", []any{f.After, f.Unit}
	case p.Kind == auth.KindAccount && p.Tenant == tenant:
		// No task has the empty role; it keeps IN () valid for an account
		// without roles.
		roles := append([]string{""}, p.Roles...)
		in, inArgs, err := sqlx.In("(t.assignee_account_id = ? OR (t.unit_id = ? AND t.assignee_role IN (?)))", p.ID, p.Unit, roles)
		if err != nil {
			return nil, err
		}
		query, args = base+in, append([]any{f.After}, inArgs...)
	default:
		return nil, errs.Invalid(CodeInvalidRequest, "an operator has no inbox; give a unit_id")
	}
	items := []InboxItem{}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &items, query+" ORDER BY t.id LIMIT ?", append(args, f.Limit)...)
	})
	return items, err
}

// seesUnit says whether p may read unit's inbox.
func seesUnit(p auth.Principal, tenant string, unit int64) bool {
	if p.Kind == auth.KindOperator {
		return true
	}
	if p.Kind != auth.KindAccount || p.Tenant != tenant {
		return false
	}
	return p.Unit == unit || p.Has(auth.RoleCountyAdmin)
}

// HistoryEntry is one thing done to an instance.
type HistoryEntry struct {
	ID         int64     `json:"id" db:"id"`
	TaskID     *int64    `json:"task_id,omitempty" db:"task_id"`
	Step       string    `json:"step" db:"step"`
	Action     string    `json:"action" db:"action"`
	ActorID    *int64    `json:"actor_id,omitempty" db:"actor_id"`
	ActorLogin string    `json:"actor_login" db:"actor_login"`
	At         time.Time `json:"at" db:"at"`
	Comment    *string   `json:"comment,omitempty" db:"comment"`
}

// InstanceView is an instance with all its tasks and its history.
type InstanceView struct {
	Instance
	Tasks   []Task         `json:"tasks"`
	History []HistoryEntry `json:"history"`
}

// Instance returns instance id to those it concerns: its initiator,
// whoever acted on it or may act on it now, the county's admins and
// supervisors, and operators. To anyone else it does not exist.
func (s *Service) Instance(ctx context.Context, tenant string, id int64) (InstanceView, error) {
	p := auth.PrincipalFrom(ctx)
	var v InstanceView
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		err := conn.GetContext(ctx, &v.Instance, "SELECT "+instanceColumns+" FROM workflow_instances WHERE id = ?", id)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFound(CodeInstanceNotFound, "the county has no instance %d", id)
		}
		if err != nil {
			return fmt.Errorf("read instance %d: %w", id, err)
		}
		if err := conn.SelectContext(ctx, &v.Tasks, "SELECT "+taskColumns+" FROM workflow_tasks t WHERE instance_id = ? ORDER BY id", id); err != nil {
			return fmt.Errorf("read tasks of instance %d: %w", id, err)
		}
		if err := conn.SelectContext(ctx, &v.History, `SELECT id, task_id, step, action, actor_id, actor_login, at, comment
FROM workflow_history WHERE instance_id = ? ORDER BY id`, id); err != nil {
			return fmt.Errorf("read history of instance %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return InstanceView{}, err
	}
	if !concerns(p, tenant, v) {
		return InstanceView{}, errs.NotFound(CodeInstanceNotFound, "the county has no instance %d", id)
	}
	one := []Instance{v.Instance}
	if err := s.keptWorkingDays(ctx, tenant, one); err != nil {
		return InstanceView{}, err
	}
	v.Instance = one[0]
	return v, nil
}

// keptWorkingDays gives the done instances of list that finished before
// their handling time was kept (tenant migration 00021) the figure
// counted in the county's calendar as it stands, so that every read of a
// done instance has one.
func (s *Service) keptWorkingDays(ctx context.Context, tenant string, list []Instance) error {
	var cal *workday.Calendar
	for i := range list {
		in := &list[i]
		if in.Status != InstanceDone || in.WorkingDays != nil || in.FinishedAt == nil {
			continue
		}
		if cal == nil {
			c, err := s.calendars.Calendar(ctx, tenant)
			if err != nil {
				return fmt.Errorf("the county's calendar: %w", err)
			}
			cal = c
		}
		days := workingDays(cal, in.StartedAt, *in.FinishedAt, in.SuspendedSeconds)
		in.WorkingDays = &days
	}
	return nil
}

func concerns(p auth.Principal, tenant string, v InstanceView) bool {
	if p.Kind == auth.KindOperator {
		return true
	}
	if p.Kind != auth.KindAccount || p.Tenant != tenant {
		return false
	}
	if p.Has(auth.RoleCountyAdmin) || p.Has(auth.RoleSupervisor) || v.InitiatorID == p.ID {
		return true
	}
	for _, t := range v.Tasks {
		if (t.ActedBy != nil && *t.ActedBy == p.ID) || ((t.Status == TaskOpen || t.Status == TaskSuspended) && mayAct(p, t)) {
			return true
		}
	}
	return false
}

// Distributed lists the instances that distributing from instance id
// started, one per recipient unit, with their state: to those the
// sending instance concerns (Instance), the sender seeing each unit's
// progress (送达回执).
func (s *Service) Distributed(ctx context.Context, tenant string, id int64) ([]Instance, error) {
	if _, err := s.Instance(ctx, tenant, id); err != nil {
		return nil, err
	}
	list := []Instance{}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &list, "SELECT "+instanceColumns+" FROM workflow_instances WHERE parent_id = ? ORDER BY id", id); err != nil {
			return fmt.Errorf("read the instances distributed from %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, s.keptWorkingDays(ctx, tenant, list)
}

// ModuleFilter selects a module's instances or tasks: those of its
// Workflows (codes as the county knows them; never empty), oldest first,
// Limit (at most MaxInboxLimit, 100 unless given) after the id After.
// The other fields narrow it when set.
type ModuleFilter struct {
	Workflows []string
	Status    string
	// Unit is the subject unit of instances, the unit of tasks.
	Unit int64
	// InitiatorUnit narrows instances to those started in a unit.
	InitiatorUnit int64
	// Parent narrows instances, and tasks, to those of the instances a
	// distribution from it started; Instance narrows tasks to one
	// instance's.
	Parent, Instance int64
	After            int64
	Limit            int
}

// where is the filter's condition on instances i (and tasks t).
func (f ModuleFilter) where(statuses ...string) (string, []any, error) {
	if len(f.Workflows) == 0 {
		return "", nil, errs.Invalid(CodeInvalidRequest, "no workflows to list")
	}
	if f.Status != "" && !slices.Contains(statuses, f.Status) {
		return "", nil, errs.Invalid(CodeInvalidRequest, "status %q is not one of %v", f.Status, statuses)
	}
	if f.Limit < 0 || f.Limit > MaxInboxLimit || f.After < 0 || f.Unit < 0 || f.InitiatorUnit < 0 || f.Parent < 0 || f.Instance < 0 {
		return "", nil, errs.Invalid(CodeInvalidRequest, "ids are positive and a page holds 1 to %d", MaxInboxLimit)
	}
	cond, args, err := sqlx.In("i.definition_code IN (?)", f.Workflows)
	return cond, args, err
}

func (f ModuleFilter) limit() int {
	if f.Limit == 0 {
		return 100
	}
	return f.Limit
}

// ModuleInstances lists instances of a module's workflows in the county,
// for the plugin host, which bounds f.Workflows to the module's own: a
// module reads its own workflows' instances as it reads its own records,
// and decides itself what its callers see of them.
func (s *Service) ModuleInstances(ctx context.Context, tenant string, f ModuleFilter) ([]Instance, error) {
	cond, args, err := f.where(InstanceRunning, InstanceDone, InstanceWithdrawn, InstanceSuspended)
	if err != nil {
		return nil, err
	}
	query, args := andEqual("SELECT "+instanceColumns+" FROM workflow_instances i WHERE "+cond+" AND i.id > ?", append(args, f.After),
		equal{"i.status", f.Status, f.Status != ""},
		equal{"COALESCE(i.subject_unit_id, i.initiator_unit_id)", f.Unit, f.Unit != 0},
		equal{"i.initiator_unit_id", f.InitiatorUnit, f.InitiatorUnit != 0},
		equal{"i.parent_id", f.Parent, f.Parent != 0})
	list := []Instance{}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &list, query+" ORDER BY i.id LIMIT ?", append(args, f.limit())...)
	})
	if err != nil {
		return nil, err
	}
	return list, s.keptWorkingDays(ctx, tenant, list)
}

// ModuleTasks lists tasks of a module's workflows in the county, with
// what their instances are about, for the plugin host as ModuleInstances.
func (s *Service) ModuleTasks(ctx context.Context, tenant string, f ModuleFilter) ([]InboxItem, error) {
	cond, args, err := f.where(TaskOpen, TaskDone, TaskCancelled, TaskSuspended)
	if err != nil {
		return nil, err
	}
	query, args := andEqual("SELECT "+taskColumns+", i.title, i.definition_code FROM workflow_tasks t JOIN workflow_instances i ON i.id = t.instance_id WHERE "+
		cond+" AND t.id > ?", append(args, f.After),
		equal{"t.status", f.Status, f.Status != ""},
		equal{"t.unit_id", f.Unit, f.Unit != 0},
		equal{"t.instance_id", f.Instance, f.Instance != 0},
		equal{"i.parent_id", f.Parent, f.Parent != 0})
	items := []InboxItem{}
	err = s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &items, query+" ORDER BY t.id LIMIT ?", append(args, f.limit())...)
	})
	return items, err
}

// equal is a filter of a module's list: column = value, when set.
type equal struct {
	column string
	value  any
	set    bool
}

// andEqual extends query and its args with the filters that are set.
func andEqual(query string, args []any, filters ...equal) (string, []any) {
	for _, f := range filters {
		if f.set {
			query += " AND " + f.column + " = ?"
			args = append(args, f.value)
		}
	}
	return query, args
}
