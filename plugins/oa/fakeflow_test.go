package oa

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// The fake host's engine, seals, measures, directory and numbering:
// enough of plugins/host and tenants/workflow to run the module's flows
// as the real ones do (the tests against the real host check that they
// agree). It runs each call as fakeHost.caller, the request's.

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

// fakeEngine is the fake host's state beyond records and files.
type fakeEngine struct {
	caller    sdk.Caller
	defs      map[string]fakeDef
	units     map[int64]string
	instances []*sdk.Instance
	tasks     []*sdk.Task
	// seals is each unit's seal: "active" or "revoked"; none if absent.
	seals    map[int64]string
	measures map[string]sdk.Measure
	counters map[string]int64
	// failAct, if set, is what the next ActOnTaskWith answers.
	failAct error
	// lastAct is the options of the last action done.
	lastAct sdk.ActOptions
	// afterAct, if set, runs once after the next action, as another
	// request would.
	afterAct func()
}

func newFakeEngine() *fakeEngine {
	e := &fakeEngine{defs: map[string]fakeDef{}, units: map[int64]string{10: "县信息中心", 20: "县政府办", 30: "民政局", 40: "财政局"},
		seals: map[int64]string{}, measures: map[string]sdk.Measure{}, counters: map[string]int64{}}
	for code, def := range workflows() {
		var d fakeDef
		if err := json.Unmarshal(def, &d); err != nil {
			panic(err)
		}
		e.defs[code] = d
	}
	return e
}

func (h *fakeHost) Units(_ context.Context, ids ...int64) ([]sdk.Unit, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sdk.Unit
	for _, id := range slices.Sorted(mapsKeys(h.engine.units)) {
		if len(ids) == 0 || slices.Contains(ids, id) {
			out = append(out, sdk.Unit{ID: id, Name: h.engine.units[id]})
		}
	}
	return out, nil
}

func mapsKeys(m map[int64]string) func(func(int64) bool) {
	return func(yield func(int64) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (h *fakeHost) StartWorkflowFor(_ context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.engine
	if _, ok := e.units[o.SubjectUnitID]; !ok {
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

func (h *fakeHost) ActOnTaskWith(_ context.Context, taskID int64, action string, o sdk.ActOptions) (sdk.Outcome, error) {
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
	if err := e.failAct; err != nil {
		e.failAct = nil
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
		if _, ok := e.units[u]; !ok {
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

func (h *fakeHost) SealDocument(_ context.Context, unit int64, files ...string) (sdk.Seal, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.engine
	if e.caller.UnitID != unit && !slices.Contains(e.caller.Roles, "system_admin") {
		return sdk.Seal{}, fmt.Errorf("%w: not an account of unit %d", sdk.ErrDenied, unit)
	}
	if e.seals[unit] != "active" {
		return sdk.Seal{}, fmt.Errorf("%w: unit %d has no seal in use", sdk.ErrConflict, unit)
	}
	s := sdk.Seal{SealID: unit * 100, UnitID: unit, UnitName: e.units[unit], SealedAt: h.now().UTC()}
	for _, id := range files {
		f, ok := h.files[id]
		switch {
		case !ok:
			return sdk.Seal{}, fmt.Errorf("%w: no file %s", sdk.ErrNotFound, id)
		case f.Status != sdk.FileReady:
			return sdk.Seal{}, fmt.Errorf("%w: file %s is pending", sdk.ErrNotReady, id)
		}
		s.Files = append(s.Files, sdk.SealedFile{Name: f.Name, SM3: strings.Repeat("ab", 32)})
	}
	data, _ := json.Marshal(s)
	s.JSON = data
	return s, nil
}

func (h *fakeHost) RecordMeasure(_ context.Context, m sdk.Measure) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.engine.units[m.UnitID]; !ok {
		return false, fmt.Errorf("%w: unknown_unit %d", sdk.ErrInvalid, m.UnitID)
	}
	if !slices.ContainsFunc(Manifest().Measures, func(d sdk.MeasureDef) bool { return d.ID == m.ID }) {
		return false, fmt.Errorf("%w: undeclared measure %s", sdk.ErrInvalid, m.ID)
	}
	key := m.ID + " " + m.Key
	if _, ok := h.engine.measures[key]; ok {
		return false, nil
	}
	h.engine.measures[key] = m
	return true, nil
}

// counted is how many of measure were recorded for unit.
func (h *fakeHost) counted(measure string, unit int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.engine.measures {
		if m.ID == measure && m.UnitID == unit {
			n++
		}
	}
	return n
}

func (h *fakeHost) PutNumbered(_ context.Context, collection, id string, version int64, doc any, n sdk.Numbering) (sdk.Record, int64, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, 0, err
	}
	var top map[string]any
	if err := json.Unmarshal(data, &top); err != nil {
		return sdk.Record{}, 0, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	next := h.engine.counters[n.Counter] + 1
	top[n.Field] = next
	data, _ = json.Marshal(top)
	r, err := h.putLocked(collection, id, version, data)
	if err != nil {
		return sdk.Record{}, 0, err
	}
	h.engine.counters[n.Counter] = next
	return r, next, nil
}
