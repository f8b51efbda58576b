package main

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	flow "github.com/countycloud/countycloud/core/workflow"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// pluginWorkflows is the workflow engine as the plugin host reaches it:
// a plugin's call runs as its request's caller, so the engine decides
// what that person may do exactly as it does for the API.
type pluginWorkflows struct{ engine *workflow.Service }

var _ host.Workflows = pluginWorkflows{}

func (w pluginWorkflows) Install(ctx context.Context, county, code string, definition json.RawMessage) error {
	var incoming struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(definition, &incoming); err != nil {
		return errs.Invalid(workflow.CodeInvalidRequest, "the definition's version is not a number: %v", err)
	}
	current, err := w.engine.Definition(ctx, county, code)
	switch {
	case err == nil:
		var installed struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(current.Base, &installed); err != nil {
			return err
		}
		// Enabling the module again, or another version of it with the
		// same workflow, keeps the county's revision and its
		// localisation; a workflow changed under the same version would
		// be dropped unseen, so it is refused.
		if installed.Version == incoming.Version && !sameDefinition(current.Base, definition) {
			return errs.Conflict(host.CodeInvalidWorkflow, "workflow %s changed but kept version %d; raise its version to ship the change", code, incoming.Version)
		}
		if installed.Version >= incoming.Version {
			return nil
		}
	case errs.CodeOf(err) != workflow.CodeWorkflowNotFound:
		return err
	}
	_, err = w.engine.PutModuleDefinition(ctx, county, code, definition)
	return err
}

func (w pluginWorkflows) Start(ctx context.Context, c host.Capability, code, title string) (json.RawMessage, error) {
	out, err := w.engine.Start(as(ctx, c), c.County, workflow.StartInput{Workflow: code, Title: title})
	return encode(out, err)
}

func (w pluginWorkflows) Act(ctx context.Context, c host.Capability, own []string, taskID int64, action, comment string) (json.RawMessage, error) {
	within := func(code string) bool { return slices.Contains(own, code) }
	out, err := w.engine.Act(as(ctx, c), c.County, taskID, workflow.ActInput{Action: action, Comment: comment, Within: within})
	return encode(out, err)
}

// Instance shows only the plugin's own workflows' instances: a county's
// other workflows are none of its business, whoever its caller is.
func (w pluginWorkflows) Instance(ctx context.Context, c host.Capability, own []string, id int64) (json.RawMessage, error) {
	v, err := w.engine.Instance(as(ctx, c), c.County, id)
	if err == nil && !slices.Contains(own, v.Workflow) {
		return nil, errs.NotFound(workflow.CodeInstanceNotFound, "the county has no instance %d", id)
	}
	return encode(v, err)
}

func (w pluginWorkflows) StartFor(ctx context.Context, c host.Capability, code string, in host.StartFor) (json.RawMessage, error) {
	start := workflow.StartInput{Workflow: code, Title: in.Title, Reference: in.Reference, SubjectUnitID: in.SubjectUnit, SMSReminder: in.SMS,
		TimeLimitDays: in.TimeLimitDays, Public: in.Public, InitiatorUnitID: in.InitiatorUnit}
	if in.Alongside != nil {
		start.Alongside = func(ctx context.Context, tx *sqlx.Tx, inst workflow.Instance, opened []workflow.Task) error {
			started := host.Started{Instance: inst.ID, Due: map[string]time.Time{}}
			for _, t := range opened {
				if _, seen := started.Due[t.Step]; !seen && t.DueAt != nil {
					started.Due[t.Step] = *t.DueAt
				}
			}
			return in.Alongside(ctx, tx, started)
		}
	}
	out, err := w.engine.Start(as(ctx, c), c.County, start)
	return encode(out, err)
}

// ActWith distributes, too, only into the plugin's own workflows: the
// engine starts the workflow of the sending one's namespace, which is the
// plugin's id.
func (w pluginWorkflows) ActWith(ctx context.Context, c host.Capability, own []string, taskID int64, in host.ActWith) (json.RawMessage, error) {
	within := func(code string) bool { return slices.Contains(own, code) }
	out, err := w.engine.Act(as(ctx, c), c.County, taskID, workflow.ActInput{Action: in.Action, Comment: in.Comment, SMSReminder: in.SMS,
		RouteUnitID: in.RouteUnit, RecipientUnitIDs: in.Recipients, RecipientTimeLimitDays: in.RecipientTimeLimitDays, Within: within})
	return encode(out, err)
}

func (w pluginWorkflows) Instances(ctx context.Context, c host.Capability, own []string, q host.ListQuery) (json.RawMessage, error) {
	list, err := w.engine.ModuleInstances(as(ctx, c), c.County, workflow.ModuleFilter{Workflows: own, Status: q.Status, Unit: q.Unit,
		InitiatorUnit: q.InitiatorUnit, Parent: q.Parent, After: q.After, Limit: q.Limit})
	return encode(list, err)
}

func (w pluginWorkflows) Tasks(ctx context.Context, c host.Capability, own []string, q host.ListQuery) (json.RawMessage, error) {
	list, err := w.engine.ModuleTasks(as(ctx, c), c.County, workflow.ModuleFilter{Workflows: own, Status: q.Status, Unit: q.Unit,
		Instance: q.Instance, Parent: q.Parent, After: q.After, Limit: q.Limit})
	return encode(list, err)
}

func (w pluginWorkflows) Suspend(ctx context.Context, c host.Capability, own []string, id int64, reason string) (json.RawMessage, error) {
	within := func(code string) bool { return slices.Contains(own, code) }
	out, err := w.engine.Suspend(as(ctx, c), c.County, id, workflow.SuspendInput{Reason: reason, Within: within})
	return encode(out, err)
}

// Resume may be a public route's anonymous caller's (the applicant): the
// engine takes one only from a module, within its own workflows.
func (w pluginWorkflows) Resume(ctx context.Context, c host.Capability, own []string, id int64, comment string) (json.RawMessage, error) {
	within := func(code string) bool { return slices.Contains(own, code) }
	out, err := w.engine.Resume(as(ctx, c), c.County, id, workflow.ResumeInput{Comment: comment, Within: within})
	return encode(out, err)
}

// as is ctx of c's caller: the principal the engine authorises, bound to
// c's county as the API's guard binds a county's account, and the actor
// and request its audit entries name, with the plugin that drove it as
// their source.
//
// A public route's anonymous caller is known by their address alone, so
// the history and audit entries of what they start or resume name them
// "anonymous@<address>".
func as(ctx context.Context, c host.Capability) context.Context {
	caller := c.Caller
	if caller.Kind == host.CallerAnonymous && c.Address != "" {
		caller.Login = host.CallerAnonymous + "@" + c.Address
		// The history's actor_login is 64 wide; a host address fits.
		if len(caller.Login) > 64 {
			caller.Login = caller.Login[:64]
		}
	}
	p := auth.Principal{Kind: auth.Kind(caller.Kind), ID: caller.ID, Login: caller.Login, Unit: caller.Unit, Roles: c.Roles}
	if p.Kind == auth.KindAccount {
		p.Tenant = c.County
	}
	ctx = kit.WithSource(kit.WithRequestID(ctx, c.Request), host.AuditSource(c.Plugin))
	return audit.WithActor(auth.WithPrincipal(ctx, p), caller)
}

func encode(v any, err error) (json.RawMessage, error) {
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// sameDefinition says whether the definition the county keeps (as the
// engine stores it, parsed and encoded again) is the one in raw.
func sameDefinition(kept, raw []byte) bool {
	var d flow.Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		return false
	}
	encoded, err := json.Marshal(d)
	if err != nil {
		return false
	}
	var x, y any
	return json.Unmarshal(kept, &x) == nil && json.Unmarshal(encoded, &y) == nil && reflect.DeepEqual(x, y)
}
