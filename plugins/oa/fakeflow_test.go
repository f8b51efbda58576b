package oa

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// The fake host's engine and seals: enough of plugins/host and
// tenants/workflow to run the module's flows as the real ones do (the
// tests against the real host check that they agree). It runs each call
// as fakeEngine.caller, the request's, and asks sdkfake's failure hook
// about each start, action and seal.

type fakeDef struct {
	Start string     `json:"start"`
	Steps []fakeStep `json:"steps"`
}

type fakeStep struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Assignee struct {
		Role     string `json:"role"`
		Relative string `json:"relative"`
	} `json:"assignee"`
	Actions []struct {
		Name       string `json:"name"`
		To         string `json:"to"`
		Distribute string `json:"distribute"`
	} `json:"actions"`
}

func (d fakeDef) step(id string) fakeStep {
	i := slices.IndexFunc(d.Steps, func(s fakeStep) bool { return s.ID == id })
	return d.Steps[i]
}

// fakeEngine is the fake host's state beyond sdkfake's.
type fakeEngine struct {
	caller    sdk.Caller
	defs      map[string]fakeDef
	instances []*sdk.Instance
	tasks     []*sdk.Task
	// seals is each unit's seal: "active" or "revoked"; none if absent.
	seals map[int64]string
	// lastAct is the options of the last action done.
	lastAct sdk.ActOptions
	// afterAct, if set, runs once after the next action, as another
	// request would.
	afterAct func()
}

func newFakeEngine() *fakeEngine {
	e := &fakeEngine{defs: map[string]fakeDef{}, seals: map[int64]string{}}
	for code, def := range workflows() {
		var d fakeDef
		if err := json.Unmarshal(def, &d); err != nil {
			panic(err)
		}
		e.defs[code] = d
	}
	return e
}

// unitName is the name of the county's unit id, empty if the county has
// none.
func (h *fakeHost) unitName(ctx context.Context, id int64) string {
	units, err := h.Units(ctx, id)
	if err != nil || len(units) == 0 {
		return ""
	}
	return units[0].Name
}

func (h *fakeHost) StartWorkflowFor(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.Failure(sdkfake.Call{Method: "StartWorkflowFor", Collection: workflow}); err != nil {
		return sdk.Outcome{}, err
	}
	if h.unitName(ctx, o.SubjectUnitID) == "" {
		return sdk.Outcome{}, fmt.Errorf("%w: unknown_unit %d", sdk.ErrInvalid, o.SubjectUnitID)
	}
	in := h.startLocked(workflow, o.Title, o.Reference, o.SubjectUnitID, nil)
	return sdk.Outcome{Instance: *in, Opened: h.openedLocked(in.ID)}, nil
}

func (h *fakeHost) startLocked(workflow, title, reference string, unit int64, parent *int64) *sdk.Instance {
	e := h.engine
	ref := reference
	in := &sdk.Instance{ID: int64(len(e.instances) + 1), Workflow: "oa." + workflow, Title: title, Reference: &ref, InitiatorID: e.caller.AccountID,
		InitiatorUnitID: e.caller.UnitID, SubjectUnitID: unit, ParentID: parent, Status: "running", StartedAt: h.now().UTC()}
	e.instances = append(e.instances, in)
	h.openLocked(in, e.defs[workflow].Start)
	return in
}

func (h *fakeHost) openLocked(in *sdk.Instance, step string) {
	e := h.engine
	s := e.defs[strings.TrimPrefix(in.Workflow, "oa.")].step(step)
	role := s.Assignee.Role
	if strings.HasSuffix(s.Assignee.Relative, "_leader") {
		role = "leader"
	}
	e.tasks = append(e.tasks, &sdk.Task{ID: int64(len(e.tasks) + 1), InstanceID: in.ID, Step: s.ID, StepName: s.Name, Role: &role, UnitID: in.SubjectUnitID,
		Status: "open", CreatedAt: h.now().UTC(), Title: in.Title, Workflow: in.Workflow, Version: 1})
}

func (h *fakeHost) openedLocked(instance int64) []sdk.Task {
	var out []sdk.Task
	for _, t := range h.engine.tasks {
		if t.InstanceID == instance && t.Status == "open" {
			out = append(out, *t)
		}
	}
	return out
}

func (h *fakeHost) ActOnTaskWith(ctx context.Context, taskID int64, action string, o sdk.ActOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	after := h.engine.afterAct
	h.engine.afterAct = nil
	defer func() {
		if after != nil {
			after()
		}
	}()
	defer h.mu.Unlock()
	e := h.engine
	if err := h.Failure(sdkfake.Call{Method: "ActOnTaskWith", ID: strconv.FormatInt(taskID, 10)}); err != nil {
		return sdk.Outcome{}, err
	}
	if taskID < 1 || int(taskID) > len(e.tasks) {
		return sdk.Outcome{}, fmt.Errorf("%w: no task %d", sdk.ErrNotFound, taskID)
	}
	t := e.tasks[taskID-1]
	in := e.instances[t.InstanceID-1]
	switch {
	case t.Status != "open":
		return sdk.Outcome{}, fmt.Errorf("%w: task already acted on", sdk.ErrConflict)
	case !slices.Contains(e.caller.Roles, *t.Role) || e.caller.UnitID != t.UnitID:
		return sdk.Outcome{}, fmt.Errorf("%w: task waits for someone else", sdk.ErrDenied)
	}
	s := e.defs[strings.TrimPrefix(in.Workflow, "oa.")].step(t.Step)
	i := slices.IndexFunc(s.Actions, func(a struct {
		Name       string `json:"name"`
		To         string `json:"to"`
		Distribute string `json:"distribute"`
	}) bool {
		return a.Name == action
	})
	if i < 0 {
		return sdk.Outcome{}, fmt.Errorf("%w: no action %s", sdk.ErrInvalid, action)
	}
	a := s.Actions[i]
	switch {
	case a.Distribute != "" && len(o.RecipientUnitIDs) == 0:
		return sdk.Outcome{}, fmt.Errorf("%w: no_recipient_units", sdk.ErrInvalid)
	case a.Distribute == "" && len(o.RecipientUnitIDs) > 0:
		return sdk.Outcome{}, fmt.Errorf("%w: distribution_not_allowed", sdk.ErrInvalid)
	}
	for _, u := range o.RecipientUnitIDs {
		if h.unitName(ctx, u) == "" {
			return sdk.Outcome{}, fmt.Errorf("%w: unknown_unit %d", sdk.ErrInvalid, u)
		}
	}
	e.lastAct = o
	now := h.now().UTC()
	acted, by := action, e.caller.AccountID
	t.Status, t.Action, t.ActedAt, t.ActedBy = "done", &acted, &now, &by
	out := sdk.Outcome{Acted: t}
	for _, u := range o.RecipientUnitIDs {
		parent := in.ID
		out.Distributed = append(out.Distributed, *h.startLocked(a.Distribute, in.Title, *in.Reference, u, &parent))
	}
	if a.To == "end" {
		in.Status, in.FinishedAt = "done", &now
	} else {
		h.openLocked(in, a.To)
	}
	out.Instance, out.Opened = *in, h.openedLocked(in.ID)
	return out, nil
}

func (h *fakeHost) ListWorkflowInstances(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []sdk.Instance{}
	for _, in := range h.engine.instances {
		if in.ID <= q.After || q.Workflow != "" && in.Workflow != "oa."+q.Workflow || q.Status != "" && in.Status != q.Status ||
			q.UnitID != 0 && in.SubjectUnitID != q.UnitID || q.ParentID != 0 && (in.ParentID == nil || *in.ParentID != q.ParentID) {
			continue
		}
		out = append(out, *in)
	}
	return out, nil
}

func (h *fakeHost) ListWorkflowTasks(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Task, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	out := []sdk.Task{}
	for _, t := range h.engine.tasks {
		if t.ID <= q.After || q.Workflow != "" && t.Workflow != "oa."+q.Workflow || q.Status != "" && t.Status != q.Status ||
			q.UnitID != 0 && t.UnitID != q.UnitID || q.InstanceID != 0 && t.InstanceID != q.InstanceID ||
			q.ParentID != 0 && !h.engine.startedBy(t.InstanceID, q.ParentID) {
			continue
		}
		if out = append(out, *t); len(out) == limit {
			break
		}
	}
	return out, nil
}

// startedBy reports whether instance was started by a distribution from
// parent.
func (e *fakeEngine) startedBy(instance, parent int64) bool {
	i := slices.IndexFunc(e.instances, func(in *sdk.Instance) bool { return in.ID == instance })
	return i >= 0 && e.instances[i].ParentID != nil && *e.instances[i].ParentID == parent
}

func (h *fakeHost) SealDocument(ctx context.Context, unit int64, files ...string) (sdk.Seal, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.Failure(sdkfake.Call{Method: "SealDocument", ID: strconv.FormatInt(unit, 10)}); err != nil {
		return sdk.Seal{}, err
	}
	e := h.engine
	if e.caller.UnitID != unit && !slices.Contains(e.caller.Roles, "system_admin") {
		return sdk.Seal{}, fmt.Errorf("%w: not an account of unit %d", sdk.ErrDenied, unit)
	}
	if e.seals[unit] != "active" {
		return sdk.Seal{}, fmt.Errorf("%w: unit %d has no seal in use", sdk.ErrConflict, unit)
	}
	s := sdk.Seal{SealID: unit * 100, UnitID: unit, UnitName: h.unitName(ctx, unit), SealedAt: h.now().UTC()}
	for _, id := range files {
		f, err := h.File(ctx, id)
		switch {
		case err != nil:
			return sdk.Seal{}, err
		case f.Status != sdk.FileReady:
			return sdk.Seal{}, fmt.Errorf("%w: file %s is pending", sdk.ErrNotReady, id)
		}
		s.Files = append(s.Files, sdk.SealedFile{Name: f.Name, SM3: strings.Repeat("ab", 32)})
	}
	data, _ := json.Marshal(s)
	s.JSON = data
	return s, nil
}
