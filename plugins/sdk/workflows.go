package sdk

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// StartWorkflow starts the module's workflow of local code workflow (a
// key of the manifest's Workflows) in the county, as the request's
// caller, and returns the same JSON outcome the platform's REST API
// returns for a start: {"instance": ..., "opened": [tasks]}. The engine
// refuses a caller it would refuse through the API (ErrDenied).
func (h *Host) StartWorkflow(ctx context.Context, workflow, title string) (json.RawMessage, error) {
	resp, err := h.client.StartWorkflow(ctx, &pluginv1.StartWorkflowRequest{Capability: h.capability, Workflow: workflow, Title: title})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}

// ActOnTask does action on task taskID of the county as the request's
// caller, and returns the same JSON outcome the platform's REST API
// returns for an action: {"instance": ..., "acted": task, "opened":
// [tasks]}. A task that waits for someone else is ErrDenied; one already
// acted on is ErrConflict.
func (h *Host) ActOnTask(ctx context.Context, taskID int64, action, comment string) (json.RawMessage, error) {
	resp, err := h.client.ActOnTask(ctx, &pluginv1.ActOnTaskRequest{Capability: h.capability, TaskId: taskID, Action: action, Comment: comment})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}

// WorkflowInstance reads instance id of the county, as the request's
// caller sees it, and returns the same JSON view of it the platform's
// REST API returns.
func (h *Host) WorkflowInstance(ctx context.Context, id int64) (json.RawMessage, error) {
	resp, err := h.client.GetWorkflowInstance(ctx, &pluginv1.GetWorkflowInstanceRequest{Capability: h.capability, InstanceId: id})
	if err != nil {
		return nil, hostError(err)
	}
	return resp.GetJson(), nil
}

// Instance is one run of a workflow, as the engine answers it.
type Instance struct {
	ID int64 `json:"id"`
	// Workflow is the county's code of the workflow: "<module id>.<local
	// code>" for the module's own.
	Workflow        string  `json:"workflow"`
	Revision        int     `json:"revision"`
	Title           string  `json:"title"`
	Reference       *string `json:"reference,omitempty"`
	InitiatorID     int64   `json:"initiator_id"`
	InitiatorUnitID int64   `json:"initiator_unit_id"`
	// SubjectUnitID is the unit the instance runs for: its initiator's
	// unless the start named one or an action routed it elsewhere.
	SubjectUnitID int64 `json:"subject_unit_id"`
	// ParentID is the sending instance of one started by distribution.
	ParentID *int64 `json:"parent_id,omitempty"`
	// Status is running, done, withdrawn or suspended (waiting on the
	// applicant, 补正: see SuspendWorkflow).
	Status    string     `json:"status"`
	StartedAt time.Time  `json:"started_at"`
	DueAt     *time.Time `json:"due_at,omitempty"`
	// DueCalendar is official, provisional or missing: how far the
	// holidays DueAt was counted over are known.
	DueCalendar *string `json:"due_calendar,omitempty"`
	// SuspendedAt is when it was suspended, while it is.
	SuspendedAt *time.Time `json:"suspended_at,omitempty"`
	// SuspendedWorkingSeconds is the working time it has spent suspended
	// over all its suspensions: its handling time is its working time
	// from start to finish less this.
	SuspendedWorkingSeconds int64      `json:"suspended_working_seconds"`
	FinishedAt              *time.Time `json:"finished_at,omitempty"`
	// WorkingDays is its handling time in working days of the county's
	// calendar, to the hundredth, its suspended time not counted: counted
	// by the action that finished it and kept, so that every read of a
	// done instance gives it (nil while it runs and once withdrawn).
	WorkingDays *float64 `json:"working_days,omitempty"`
}

// Task is one step of an instance, open for a named account or for the
// holders of a role in a unit, or done or cancelled.
type Task struct {
	ID         int64   `json:"id"`
	InstanceID int64   `json:"instance_id"`
	Step       string  `json:"step"`
	StepName   string  `json:"step_name"`
	JoinStep   *string `json:"join_step,omitempty"`
	AccountID  *int64  `json:"assignee_account_id,omitempty"`
	Role       *string `json:"assignee_role,omitempty"`
	UnitID     int64   `json:"unit_id"`
	// Status is open, done, cancelled or suspended (its instance waits
	// on the applicant).
	Status string `json:"status"`
	// Level is supervision's colour: 0 green, 1 yellow, 2 red.
	Level       int        `json:"level"`
	SMSReminder bool       `json:"sms_reminder"`
	CreatedAt   time.Time  `json:"created_at"`
	WarnAt      *time.Time `json:"warn_at,omitempty"`
	DueAt       *time.Time `json:"due_at,omitempty"`
	DueCalendar *string    `json:"due_calendar,omitempty"`
	// SuspendedWorkingSeconds is the working time the task spent
	// suspended with its instance.
	SuspendedWorkingSeconds int64      `json:"suspended_working_seconds"`
	ActedBy                 *int64     `json:"acted_by,omitempty"`
	ActedAt                 *time.Time `json:"acted_at,omitempty"`
	Action                  *string    `json:"action,omitempty"`
	Comment                 *string    `json:"comment,omitempty"`
	Version                 int        `json:"version"`
	// Title and Workflow are its instance's, in lists of tasks.
	Title    string `json:"title,omitempty"`
	Workflow string `json:"workflow,omitempty"`
}

// Outcome is what a start or an action did.
type Outcome struct {
	Instance Instance `json:"instance"`
	// Acted is the task acted on; nil for a start.
	Acted *Task `json:"acted,omitempty"`
	// Opened are the tasks now waiting.
	Opened []Task `json:"opened"`
	// Distributed are the instances a distributing action started, one
	// per recipient unit, in the order they were named.
	Distributed []Instance `json:"distributed,omitempty"`
}

// HistoryEntry is one thing done to an instance.
type HistoryEntry struct {
	ID         int64     `json:"id"`
	TaskID     *int64    `json:"task_id,omitempty"`
	Step       string    `json:"step"`
	Action     string    `json:"action"`
	ActorID    *int64    `json:"actor_id,omitempty"`
	ActorLogin string    `json:"actor_login"`
	At         time.Time `json:"at"`
	Comment    *string   `json:"comment,omitempty"`
}

// InstanceView is an instance with all its tasks and its history.
type InstanceView struct {
	Instance
	Tasks   []Task         `json:"tasks"`
	History []HistoryEntry `json:"history"`
}

// MayAct reports whether c is the task's assignee as the engine decides
// it: the account the task names, or else a holder of its role in its
// unit. The engine still decides when the action is taken; a module asks
// first so that it changes nothing of its own (a draft, a published
// text) for an action the engine would refuse.
func (t Task) MayAct(c Caller) bool {
	if c.Kind != CallerAccount || c.AccountID <= 0 {
		return false
	}
	if t.AccountID != nil {
		return *t.AccountID == c.AccountID
	}
	return t.Role != nil && c.UnitID == t.UnitID && slices.Contains(c.Roles, *t.Role)
}

// StartOptions are a start's: Title is required; SubjectUnitID is a unit
// of the county the instance runs for (0: the caller's own unit);
// TimeLimitDays, if set (1 to 366), is the instance's whole limit in
// working days in place of the definition's time_limit (an approval
// item's promised limit), its steps without a limit of their own falling
// due with it. InitiatorUnitID, if set, is the unit of the county the
// instance is started from, whose staff the steps relative to the
// initiator's unit wait for: for a public route's anonymous caller, the
// office that takes in citizens' submissions, while the subject unit
// answers them (0: the subject unit is the initiator unit too). An
// account's start may name only its own unit (ErrDenied otherwise).
type StartOptions struct {
	Title           string
	Reference       string
	SubjectUnitID   int64
	SMSReminder     bool
	TimeLimitDays   int
	InitiatorUnitID int64
}

// StartWorkflowFor starts the module's workflow of local code workflow
// as the request's caller, for a subject unit, in whose unit assignees
// relative to the subject unit are sought. A unit that is not the
// county's, or where no active account could act, is ErrInvalid and
// nothing starts.
func (h *Host) StartWorkflowFor(ctx context.Context, workflow string, o StartOptions) (Outcome, error) {
	resp, err := h.workflows.StartWorkflowFor(ctx, &pluginv1.StartWorkflowForRequest{Capability: h.capability, Workflow: workflow,
		Title: o.Title, Reference: o.Reference, SubjectUnitId: o.SubjectUnitID, SmsReminder: o.SMSReminder,
		TimeLimitDays: days32([]int{o.TimeLimitDays})[0], InitiatorUnitId: o.InitiatorUnitID})
	return decodeWorkflow[Outcome](resp, err)
}

// ActOptions are an action's: RouteUnitID sends the routed step the
// action opens to a unit (which becomes the subject unit);
// RecipientUnitIDs are the units a distributing action starts an
// instance for, one each; RecipientTimeLimitDays, if given, are their
// instances' limits in working days, one per unit in the same order
// (each department of a joint approval its own).
type ActOptions struct {
	Comment                string
	RouteUnitID            int64
	RecipientUnitIDs       []int64
	RecipientTimeLimitDays []int
	SMSReminder            bool
}

// ActOnTaskWith does action on task taskID as the request's caller, as
// ActOnTask, with a route or recipients as the definition allows (see
// docs/workflows.md). A distribution starts every recipient's instance
// or, on any refusal (ErrInvalid), none, and the action is not done.
func (h *Host) ActOnTaskWith(ctx context.Context, taskID int64, action string, o ActOptions) (Outcome, error) {
	resp, err := h.workflows.ActOnTaskWith(ctx, &pluginv1.ActOnTaskWithRequest{Capability: h.capability, TaskId: taskID, Action: action,
		Comment: o.Comment, RouteUnitId: o.RouteUnitID, RecipientUnitIds: o.RecipientUnitIDs, SmsReminder: o.SMSReminder,
		RecipientTimeLimitDays: days32(o.RecipientTimeLimitDays)})
	return decodeWorkflow[Outcome](resp, err)
}

// days32 is limits in days as the protocol carries them: one beyond
// int32 is no limit the engine takes, and is sent as one it refuses.
func days32(days []int) []int32 {
	var out []int32
	for _, d := range days {
		out = append(out, int32(min(max(d, -1), math.MaxInt32)))
	}
	return out
}

// WorkflowInstanceView is WorkflowInstance, typed.
func (h *Host) WorkflowInstanceView(ctx context.Context, id int64) (InstanceView, error) {
	resp, err := h.client.GetWorkflowInstance(ctx, &pluginv1.GetWorkflowInstanceRequest{Capability: h.capability, InstanceId: id})
	return decodeWorkflow[InstanceView](resp, err)
}

// WorkflowQuery narrows a list of the module's own workflows' instances
// or tasks in the county: Workflow is one local code (all of the
// module's if empty); Status is running, done, withdrawn or suspended
// for instances, open, done, cancelled or suspended for tasks; UnitID is the subject
// unit of instances, the unit of tasks; ParentID gives the instances a
// distribution from it started; InstanceID an instance's tasks. Lists
// come oldest first, Limit (1 to 500, 100 if 0) after the id After: pass
// the last id of a page for the next.
type WorkflowQuery struct {
	Workflow        string
	Status          string
	UnitID          int64
	InitiatorUnitID int64
	ParentID        int64
	InstanceID      int64
	After           int64
	Limit           int
}

// ListWorkflowInstances lists the county's instances of the module's own
// workflows (InitiatorUnitID and ParentID narrow it; InstanceID is not
// used). The module decides what its callers may see of them.
func (h *Host) ListWorkflowInstances(ctx context.Context, q WorkflowQuery) ([]Instance, error) {
	resp, err := h.workflows.ListWorkflowInstances(ctx, &pluginv1.ListWorkflowInstancesRequest{Capability: h.capability, Workflow: q.Workflow,
		Status: q.Status, SubjectUnitId: q.UnitID, InitiatorUnitId: q.InitiatorUnitID, ParentId: q.ParentID, After: q.After, Limit: int32(q.Limit)})
	return decodeWorkflow[[]Instance](resp, err)
}

// ListWorkflowTasks lists the county's tasks of the module's own
// workflows (InstanceID narrows it to one instance's, ParentID to those
// of the instances a distribution from it started; InitiatorUnitID is
// not used), each with its instance's title and workflow.
func (h *Host) ListWorkflowTasks(ctx context.Context, q WorkflowQuery) ([]Task, error) {
	resp, err := h.workflows.ListWorkflowTasks(ctx, &pluginv1.ListWorkflowTasksRequest{Capability: h.capability, Workflow: q.Workflow,
		Status: q.Status, UnitId: q.UnitID, InstanceId: q.InstanceID, ParentId: q.ParentID, After: q.After, Limit: int32(q.Limit)})
	return decodeWorkflow[[]Task](resp, err)
}

// decodeWorkflow reads the engine's JSON answer as T.
func decodeWorkflow[T any](resp *pluginv1.WorkflowResponse, err error) (T, error) {
	var v T
	if err != nil {
		return v, hostError(err)
	}
	if err := json.Unmarshal(resp.GetJson(), &v); err != nil {
		return v, fmt.Errorf("sdk: read the workflow engine's answer: %w", err)
	}
	return v, nil
}
