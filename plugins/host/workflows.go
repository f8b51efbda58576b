package host

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// CodeInvalidWorkflow is the error code of an Enable refused because the
// workflow engine refused one of the module's workflows.
const CodeInvalidWorkflow = "invalid_plugin_workflow"

// Workflows is the county's workflow engine (tenants/workflow), as far
// as plugins reach it. Start, Act and Instance run as c's caller in c's
// county and return the JSON the platform's workflow API answers; their
// errors are the engine's errs. Act and Instance reach only instances of
// own, the codes of the plugin's own workflows: an instance of any other
// workflow is not found, whatever the caller may do through the API.
type Workflows interface {
	// Install makes definition the county's workflow code, unless the
	// county already runs that version of it or a later one.
	Install(ctx context.Context, county, code string, definition json.RawMessage) error
	Start(ctx context.Context, c Capability, code, title string) (json.RawMessage, error)
	Act(ctx context.Context, c Capability, own []string, taskID int64, action, comment string) (json.RawMessage, error)
	Instance(ctx context.Context, c Capability, own []string, id int64) (json.RawMessage, error)
	// StartFor and ActWith are Start and Act with a subject unit, a
	// route and recipients (the HostWorkflows service); Instances and
	// Tasks list the county's instances and tasks of own.
	StartFor(ctx context.Context, c Capability, code string, in StartFor) (json.RawMessage, error)
	ActWith(ctx context.Context, c Capability, own []string, taskID int64, in ActWith) (json.RawMessage, error)
	Instances(ctx context.Context, c Capability, own []string, q ListQuery) (json.RawMessage, error)
	Tasks(ctx context.Context, c Capability, own []string, q ListQuery) (json.RawMessage, error)
	// Suspend and Resume stop and restart the clock of an instance of
	// own and those distributed from it (the HostSuspension service);
	// c's caller may be anonymous for Resume.
	Suspend(ctx context.Context, c Capability, own []string, id int64, reason string) (json.RawMessage, error)
	Resume(ctx context.Context, c Capability, own []string, id int64, comment string) (json.RawMessage, error)
}

// StartFor is a start of the HostWorkflows service.
type StartFor struct {
	Title, Reference string
	SubjectUnit      int64
	SMS              bool
	// TimeLimitDays replaces the definition's limit if set.
	TimeLimitDays int
	// Public says the caller is a public route's anonymous one, whom the
	// host let start the workflow since its module's manifest lists it
	// in PublicStart; SubjectUnit is then set.
	Public bool
	// InitiatorUnit, if set, is the unit the instance is started from,
	// whose staff its steps relative to the initiator's unit wait for: a
	// public start's office that takes submissions in. An account may
	// name only its own unit.
	InitiatorUnit int64
	// Alongside, if set, runs in the start's transaction once the
	// instance and its first tasks are written, given what was started;
	// its error rolls the start back. Submit writes the record and its
	// receipt with it.
	Alongside func(ctx context.Context, tx *sqlx.Tx, started Started) error
}

// Started is what a start has written when its Alongside runs.
type Started struct {
	Instance int64
	// Due are the deadlines of the tasks it opened, by step (the first
	// task of a step); a task without a deadline is not in it.
	Due map[string]time.Time
}

// ActWith is an action of the HostWorkflows service.
type ActWith struct {
	Action, Comment string
	RouteUnit       int64
	Recipients      []int64
	SMS             bool
	// RecipientTimeLimitDays are the recipients' limits, one each, if
	// given.
	RecipientTimeLimitDays []int
}

// ListQuery narrows a list of the HostWorkflows service; Unit is the
// subject unit of instances, the unit of tasks.
type ListQuery struct {
	Status                                string
	Unit, InitiatorUnit, Parent, Instance int64
	After                                 int64
	Limit                                 int
}

// workflowCode is the county's code of plugin's workflow local: plugins
// own the codes under their id, so two cannot collide.
func workflowCode(plugin, local string) string { return plugin + "." + local }

// installWorkflows installs m's workflows in county, each under its code
// as the county knows it.
func installWorkflows(ctx context.Context, w Workflows, county string, m sdk.Manifest) error {
	if len(m.Workflows) == 0 {
		return nil
	}
	if w == nil {
		return errs.Unavailable(nil, CodeModuleUnavailable, "module %s runs workflows, which this host does not serve", m.ID)
	}
	for _, local := range slices.Sorted(maps.Keys(m.Workflows)) {
		code := workflowCode(m.ID, local)
		var definition map[string]json.RawMessage
		if err := json.Unmarshal(m.Workflows[local], &definition); err != nil {
			return errs.Invalid(CodeInvalidWorkflow, "workflow %s of %s %s is not a JSON object", local, m.ID, m.Version)
		}
		definition["code"], _ = json.Marshal(code)
		raw, err := json.Marshal(definition)
		if err != nil {
			return fmt.Errorf("encode workflow %s: %w", code, err)
		}
		if err := w.Install(ctx, county, code, raw); err != nil {
			if e := errs.As(err); e.Kind == errs.KindInvalid || e.Kind == errs.KindConflict {
				refused := errs.Invalid(CodeInvalidWorkflow, "workflow %s of %s %s: %s", local, m.ID, m.Version, e.Message)
				refused.Details = e.Details
				return refused
			}
			return err
		}
	}
	return nil
}

// workflows runs a plugin's workflows in the county of each call, as its
// request's caller.
type workflows struct {
	guard
	engine Workflows
	// local are the local codes of the plugin's workflows; own, the
	// same as the counties know them.
	local map[string]bool
	own   []string
	// public are the local codes a public route's anonymous caller may
	// start (the manifest's PublicStart).
	public map[string]bool
}

func (s *workflows) StartWorkflow(ctx context.Context, req *pluginv1.StartWorkflowRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	if !s.local[req.GetWorkflow()] {
		return nil, status.Errorf(codes.NotFound, "the manifest of %s has no workflow %q", s.plugin, req.GetWorkflow())
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.Start(ctx, c, workflowCode(s.plugin, req.GetWorkflow()), req.GetTitle())
	})
}

func (s *workflows) ActOnTask(ctx context.Context, req *pluginv1.ActOnTaskRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.Act(ctx, c, s.own, req.GetTaskId(), req.GetAction(), req.GetComment())
	})
}

func (s *workflows) GetWorkflowInstance(ctx context.Context, req *pluginv1.GetWorkflowInstanceRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.Instance(ctx, c, s.own, req.GetInstanceId())
	})
}

// moduleWorkflows is the HostWorkflows service of a plugin process: the
// same workflows as its Host service's, with subject units, routing,
// distribution and lists.
type moduleWorkflows struct{ *workflows }

// StartWorkflowFor is open to a public route's anonymous caller for the
// workflows the manifest lists in PublicStart, for a subject unit the
// module names, once per public request: a citizen's submission starts
// its supervised handling itself. Every other start needs an account.
func (s moduleWorkflows) StartWorkflowFor(ctx context.Context, req *pluginv1.StartWorkflowForRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.starter(req.GetCapability(), req.GetWorkflow(), req.GetSubjectUnitId())
	if err != nil {
		return nil, err
	}
	if err := s.smsReminder(c, req.GetSmsReminder()); err != nil {
		return nil, err
	}
	in := StartFor{Title: req.GetTitle(), Reference: req.GetReference(), SubjectUnit: req.GetSubjectUnitId(), SMS: req.GetSmsReminder(),
		TimeLimitDays: int(req.GetTimeLimitDays()), Public: c.Caller.Kind == CallerAnonymous, InitiatorUnit: req.GetInitiatorUnitId()}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.StartFor(ctx, c, workflowCode(s.plugin, req.GetWorkflow()), in)
	})
}

// starter checks who may start workflow, for subject unit, with the
// capability token: an account, or a public route's anonymous caller
// within the manifest's PublicStart.
func (s moduleWorkflows) starter(token, workflow string, subject int64) (Capability, error) {
	c, err := s.capability(token)
	if err != nil {
		return Capability{}, err
	}
	if !s.local[workflow] {
		return Capability{}, status.Errorf(codes.NotFound, "the manifest of %s has no workflow %q", s.plugin, workflow)
	}
	if c.Caller.Kind != CallerAnonymous {
		return c, nil
	}
	switch {
	case !s.public[workflow]:
		return Capability{}, status.Errorf(codes.PermissionDenied, "workflows act as an account, and the caller of this public route is anonymous: the manifest of %s does not list workflow %q in public_start", s.plugin, workflow)
	case subject <= 0:
		return Capability{}, status.Errorf(codes.InvalidArgument, "a public route's anonymous caller has no unit: name the subject unit the workflow %q runs for", workflow)
	case !s.caps.SpendStart(token):
		return Capability{}, status.Errorf(codes.PermissionDenied, "a public request starts one workflow at most, and this one has started one")
	}
	return c, nil
}

func (s moduleWorkflows) ActOnTaskWith(ctx context.Context, req *pluginv1.ActOnTaskWithRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	if err := s.smsReminder(c, req.GetSmsReminder()); err != nil {
		return nil, err
	}
	in := ActWith{Action: req.GetAction(), Comment: req.GetComment(), RouteUnit: req.GetRouteUnitId(), Recipients: req.GetRecipientUnitIds(), SMS: req.GetSmsReminder()}
	for _, days := range req.GetRecipientTimeLimitDays() {
		in.RecipientTimeLimitDays = append(in.RecipientTimeLimitDays, int(days))
	}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) {
		return e.ActWith(ctx, c, s.own, req.GetTaskId(), in)
	})
}

func (s moduleWorkflows) ListWorkflowInstances(ctx context.Context, req *pluginv1.ListWorkflowInstancesRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	own, err := s.narrow(req.GetWorkflow())
	if err != nil {
		return nil, err
	}
	q := ListQuery{Status: req.GetStatus(), Unit: req.GetSubjectUnitId(), InitiatorUnit: req.GetInitiatorUnitId(), Parent: req.GetParentId(),
		After: req.GetAfter(), Limit: int(req.GetLimit())}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) { return e.Instances(ctx, c, own, q) })
}

func (s moduleWorkflows) ListWorkflowTasks(ctx context.Context, req *pluginv1.ListWorkflowTasksRequest) (*pluginv1.WorkflowResponse, error) {
	c, err := s.account(req.GetCapability(), "workflows")
	if err != nil {
		return nil, err
	}
	own, err := s.narrow(req.GetWorkflow())
	if err != nil {
		return nil, err
	}
	q := ListQuery{Status: req.GetStatus(), Unit: req.GetUnitId(), Instance: req.GetInstanceId(), Parent: req.GetParentId(), After: req.GetAfter(), Limit: int(req.GetLimit())}
	return s.answer(ctx, func(e Workflows) (json.RawMessage, error) { return e.Tasks(ctx, c, own, q) })
}

// narrow is the plugin's workflows a list reaches: local alone if given,
// which must be one of the manifest's, or all of them.
func (s moduleWorkflows) narrow(local string) ([]string, error) {
	if local == "" {
		return s.own, nil
	}
	if !s.local[local] {
		return nil, status.Errorf(codes.NotFound, "the manifest of %s has no workflow %q", s.plugin, local)
	}
	return []string{workflowCode(s.plugin, local)}, nil
}

// answer calls the engine and turns its refusals into the gRPC codes the
// SDK knows, with the engine's message: they are the caller's to see, as
// through the API. Its faults stay hidden.
func (s *workflows) answer(ctx context.Context, call func(Workflows) (json.RawMessage, error)) (*pluginv1.WorkflowResponse, error) {
	if s.engine == nil {
		return nil, status.Error(codes.Unavailable, "this host runs no workflows")
	}
	out, err := call(s.engine)
	if err != nil {
		return nil, s.refusal(ctx, err)
	}
	return &pluginv1.WorkflowResponse{Json: out}, nil
}
