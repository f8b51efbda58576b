package approval

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// fakeFlow stands for the host's workflow engine as the applications
// reach it: one instance per start, whose open step the tests set,
// suspended and resumed as the calls say. The engine itself is tested in
// tenants/workflow, and the module with it in cmd/countycloud's
// end-to-end test.
type fakeFlow struct {
	// open is the step of each instance's open task; due its deadline.
	open      map[int64]string
	due       map[int64]time.Time
	suspended map[int64]bool
	// refs are the instances' references, acted the tasks done in each.
	refs  map[int64]string
	acted map[int64][]sdk.Task
	calls []string
	// denied makes every action sdk.ErrDenied: the caller lacks the role.
	denied bool
}

func (f *fakeFlow) init() {
	if f.open == nil {
		f.open, f.due, f.suspended = map[int64]string{}, map[int64]time.Time{}, map[int64]bool{}
		f.refs, f.acted = map[int64]string{}, map[int64][]sdk.Task{}
	}
}

func (h *fakeHost) StartWorkflowFor(_ context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	id := int64(len(h.flow.open) + 1)
	h.flow.open[id] = "accept"
	due := h.now().AddDate(0, 0, o.TimeLimitDays)
	h.flow.due[id] = due
	h.flow.refs[id] = o.Reference
	h.flow.calls = append(h.flow.calls, fmt.Sprintf("start %s for %d in %d days", workflow, o.SubjectUnitID, o.TimeLimitDays))
	return sdk.Outcome{Instance: sdk.Instance{ID: id, Status: "running", DueAt: &due}}, nil
}

// ListWorkflowInstances finds the applications' instances, by subject
// unit, and no department's review: the joint approval runs in the
// end-to-end test, on the real engine.
func (h *fakeHost) ListWorkflowInstances(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	if q.ParentID != 0 {
		return nil, nil
	}
	var out []sdk.Instance
	for id := q.After + 1; id <= int64(len(h.flow.open)) && (q.Limit == 0 || len(out) < q.Limit); id++ {
		ref := h.flow.refs[id]
		out = append(out, sdk.Instance{ID: id, Workflow: "approval." + workflowApplication, Reference: &ref, Status: "running"})
	}
	return out, nil
}

// ListWorkflowTasks answers an instance's open task at the step the test
// set (suspended with its instance), and without a status (or with done)
// also its done tasks.
func (h *fakeHost) ListWorkflowTasks(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Task, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	var out []sdk.Task
	if q.Status == "" || q.Status == "done" {
		out = append(out, h.flow.acted[q.InstanceID]...)
	}
	step, ok := h.flow.open[q.InstanceID]
	if !ok || step == "" {
		return out, nil
	}
	status := "open"
	if h.flow.suspended[q.InstanceID] {
		status = "suspended"
	}
	if q.Status == "" || q.Status == status {
		out = append(out, sdk.Task{ID: q.InstanceID*100 + 1, InstanceID: q.InstanceID, Step: step, Status: status})
	}
	return out, nil
}

func (h *fakeHost) ActOnTaskWith(_ context.Context, taskID int64, action string, o sdk.ActOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	if h.flow.denied {
		return sdk.Outcome{}, fmt.Errorf("%w: task waits for someone else", sdk.ErrDenied)
	}
	id := taskID / 100
	h.flow.calls = append(h.flow.calls, fmt.Sprintf("%s at %s", action, h.flow.open[id]))
	by, at, comment := h.caller.AccountID, h.now(), o.Comment
	h.flow.acted[id] = append(h.flow.acted[id], sdk.Task{ID: taskID, InstanceID: id, Step: h.flow.open[id], Status: "done", Action: &action,
		ActedBy: &by, ActedAt: &at, Comment: &comment})
	h.flow.open[id] = map[string]string{"accept": "decide"}[action]
	due := h.flow.due[id]
	out := sdk.Outcome{Instance: sdk.Instance{ID: id, DueAt: &due}}
	if h.flow.open[id] == "" {
		// Finished: the engine says how long it took.
		days := 1.25
		out.Instance.WorkingDays = &days
	}
	return out, nil
}

func (h *fakeHost) SuspendWorkflow(_ context.Context, id int64, reason string) ([]sdk.Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	h.flow.suspended[id] = true
	h.flow.calls = append(h.flow.calls, "suspend "+reason)
	return []sdk.Instance{{ID: id, Status: "suspended"}}, nil
}

func (h *fakeHost) ResumeWorkflow(_ context.Context, id int64, _ string) ([]sdk.Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	if !h.flow.suspended[id] {
		return nil, fmt.Errorf("%w: not suspended", sdk.ErrConflict)
	}
	delete(h.flow.suspended, id)
	h.flow.calls = append(h.flow.calls, "resume")
	return []sdk.Instance{{ID: id, Status: "running"}}, nil
}

// WorkflowInstanceView answers an instance with its deadline, finished
// once its tasks are.
func (h *fakeHost) WorkflowInstanceView(_ context.Context, id int64) (sdk.InstanceView, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.flow.init()
	due := h.flow.due[id]
	v := sdk.InstanceView{Instance: sdk.Instance{ID: id, Status: "running", DueAt: &due}}
	if acted := h.flow.acted[id]; h.flow.open[id] == "" && len(acted) > 0 {
		days := 1.25
		v.Status, v.FinishedAt, v.WorkingDays = "done", acted[len(acted)-1].ActedAt, &days
	}
	return v, nil
}

// flowCalls counts the calls to the engine starting with prefix.
func (h *fakeHost) flowCalls(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, c := range h.flow.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}
