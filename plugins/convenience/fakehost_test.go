package convenience

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// fakeHost is the host's services in memory (sdkfake: records, receipts,
// submissions, units, measures, audit, and the one failure hook) with
// what the module uses beyond them: the workflow engine, with the
// semantics the engine gives it (only a task's assignee acting, an
// anonymous caller refused workflows but a public start), run as the
// request's caller, and a count of the records the module read and
// wrote. The tests through the real host check that the two agree.
type fakeHost struct {
	*sdkfake.Host
	now func() time.Time

	mu     sync.Mutex
	caller sdk.Caller
	// tasks of the instances, by id; instances' initiator and subject.
	tasks     []*sdk.Task
	instances []*sdk.Instance
	// unstaffed are units of the county where no one could act.
	unstaffed map[int64]bool
	// puts counts the records Put, by collection; reads those read (got,
	// or found by a query).
	puts  map[string]int
	reads map[string]int
}

// newFakeHost gives the fake county units 1 (县信息中心), 2 (县信访局), 3
// (民政局), 4 (住建局) and 5 (县监察局); a submission starts its workflow
// in the fake engine as the caller, a citizen too.
func newFakeHost(now func() time.Time) *fakeHost {
	units := []sdk.Unit{{ID: 1, Name: "县信息中心"}, {ID: 2, Name: "县信访局"}, {ID: 3, Name: "民政局"}, {ID: 4, Name: "住建局"}, {ID: 5, Name: "县监察局"}}
	h := &fakeHost{Host: sdkfake.New(Manifest(), now, units...), now: now, puts: map[string]int{}, reads: map[string]int{}, unstaffed: map[int64]bool{}}
	h.SetStarter(h.submissionStart)
	return h
}

// Put writes as the host does, and counts the record written.
func (h *fakeHost) Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error) {
	r, err := h.Host.Put(ctx, collection, id, version, doc)
	if err == nil {
		h.mu.Lock()
		h.puts[collection]++
		h.mu.Unlock()
	}
	return r, err
}

// Get reads as the host does, and counts the record read.
func (h *fakeHost) Get(ctx context.Context, collection, id string) (sdk.Record, error) {
	r, err := h.Host.Get(ctx, collection, id)
	if err == nil {
		h.mu.Lock()
		h.reads[collection]++
		h.mu.Unlock()
	}
	return r, err
}

// Query reads as the host does, and counts the records found.
func (h *fakeHost) Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error) {
	page, err := h.Host.Query(ctx, collection, q)
	if err == nil {
		h.mu.Lock()
		h.reads[collection] += len(page.Records)
		h.mu.Unlock()
	}
	return page, err
}

// failNextPut makes the Put of record id of collection fail as a host
// gone at that moment, after skip more succeed.
func (h *fakeHost) failNextPut(collection, id string, skip int) {
	h.SetFail(sdkfake.Nth(skip+1, sdkfake.ErrGone, sdkfake.Match("Put", collection, id)))
}

// failNext makes the next call of method answer err.
func (h *fakeHost) failNext(method string, err error) {
	h.SetFail(sdkfake.Nth(1, err, sdkfake.Match(method, "", "")))
}

// ids are the ids of collection's records, in order.
func (h *fakeHost) ids(collection string) []string {
	var out []string
	for _, r := range h.Records(collection) {
		out = append(out, r.ID)
	}
	return out
}

// open opens step of instance in unit for its clerks, due in five days.
func (h *fakeHost) open(in *sdk.Instance, step, name string, unit int64) sdk.Task {
	role := "clerk"
	due := h.now().Add(5 * 24 * time.Hour)
	t := &sdk.Task{ID: int64(len(h.tasks) + 1), InstanceID: in.ID, Step: step, StepName: name, Role: &role, UnitID: unit, Status: "open",
		CreatedAt: h.now(), DueAt: &due, Workflow: in.Workflow, Title: in.Title}
	h.tasks = append(h.tasks, t)
	return *t
}

func (h *fakeHost) StartWorkflowFor(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.Failure(sdkfake.Call{Method: "StartWorkflowFor", Collection: workflow}); err != nil {
		return sdk.Outcome{}, err
	}
	if h.caller.Kind == sdk.CallerAnonymous {
		return sdk.Outcome{}, fmt.Errorf("%w: the caller of this public route is anonymous", sdk.ErrDenied)
	}
	return h.start(ctx, workflow, o)
}

// submissionStart starts a submission's workflow as the caller.
func (h *fakeHost) submissionStart(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.start(ctx, workflow, o)
}

// start starts workflow as the caller, with h.mu held: an anonymous
// caller only a workflow of public_start, from the initiator unit named
// (or the subject unit).
func (h *fakeHost) start(ctx context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	if workflow != wfMessage {
		return sdk.Outcome{}, fmt.Errorf("%w: no workflow %s", sdk.ErrNotFound, workflow)
	}
	if h.caller.Kind == sdk.CallerAnonymous && !slices.Contains(Manifest().PublicStart, workflow) {
		return sdk.Outcome{}, fmt.Errorf("%w: workflow %s is not one a public route starts", sdk.ErrDenied, workflow)
	}
	initiatorUnit := h.caller.UnitID
	if h.caller.Kind == sdk.CallerAnonymous {
		initiatorUnit = cmp.Or(o.InitiatorUnitID, o.SubjectUnitID)
	}
	for _, unit := range []int64{o.SubjectUnitID, initiatorUnit} {
		if units, err := h.Units(ctx, unit); err != nil || len(units) == 0 || h.unstaffed[unit] {
			return sdk.Outcome{}, fmt.Errorf("%w: unit %d is not the county's or no one there can act", sdk.ErrInvalid, unit)
		}
	}
	in := &sdk.Instance{ID: int64(len(h.instances) + 1), Workflow: "convenience." + workflow, Title: o.Title, Reference: &o.Reference,
		InitiatorID: h.caller.AccountID, InitiatorUnitID: initiatorUnit, SubjectUnitID: o.SubjectUnitID, Status: "running", StartedAt: h.now()}
	h.instances = append(h.instances, in)
	t := h.open(in, stepReply, "书面答复", o.SubjectUnitID)
	return sdk.Outcome{Instance: *in, Opened: []sdk.Task{t}}, nil
}

func (h *fakeHost) ActOnTaskWith(_ context.Context, taskID int64, action string, _ sdk.ActOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.Failure(sdkfake.Call{Method: "ActOnTaskWith", ID: strconv.FormatInt(taskID, 10)}); err != nil {
		return sdk.Outcome{}, err
	}
	if h.caller.Kind == sdk.CallerAnonymous {
		return sdk.Outcome{}, fmt.Errorf("%w: the caller of this public route is anonymous", sdk.ErrDenied)
	}
	if taskID < 1 || int(taskID) > len(h.tasks) {
		return sdk.Outcome{}, fmt.Errorf("%w: no task %d", sdk.ErrNotFound, taskID)
	}
	t := h.tasks[taskID-1]
	in := h.instances[t.InstanceID-1]
	switch {
	case t.Status != "open":
		return sdk.Outcome{}, fmt.Errorf("%w: task %d is %s", sdk.ErrConflict, taskID, t.Status)
	case h.caller.UnitID != t.UnitID || !slices.Contains(h.caller.Roles, *t.Role):
		return sdk.Outcome{}, fmt.Errorf("%w: task %d waits for the clerks of unit %d", sdk.ErrDenied, taskID, t.UnitID)
	}
	now, actor := h.now(), h.caller.AccountID
	t.Status, t.ActedAt, t.Action, t.ActedBy = "done", &now, &action, &actor
	out := sdk.Outcome{Acted: t, Opened: []sdk.Task{}}
	switch {
	case t.Step == stepReply && action == actReply:
		out.Opened = append(out.Opened, h.open(in, stepReview, "审核答复", in.InitiatorUnitID))
	case t.Step == stepReview && action == actAccept:
		in.Status = "done"
	case t.Step == stepReview && action == actReturn:
		out.Opened = append(out.Opened, h.open(in, stepReply, "书面答复", in.SubjectUnitID))
	default:
		t.Status, t.ActedAt, t.Action, t.ActedBy = "open", nil, nil, nil
		return sdk.Outcome{}, fmt.Errorf("%w: step %s has no action %s", sdk.ErrInvalid, t.Step, action)
	}
	out.Instance = *in
	return out, nil
}

func (h *fakeHost) ListWorkflowInstances(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Instance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.caller.Kind == sdk.CallerAnonymous {
		return nil, fmt.Errorf("%w: the caller of this public route is anonymous", sdk.ErrDenied)
	}
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	out := []sdk.Instance{}
	for _, in := range h.instances {
		if in.ID > q.After && (q.UnitID == 0 || in.SubjectUnitID == q.UnitID) && (q.InitiatorUnitID == 0 || in.InitiatorUnitID == q.InitiatorUnitID) && len(out) < limit {
			out = append(out, *in)
		}
	}
	return out, nil
}

func (h *fakeHost) ListWorkflowTasks(_ context.Context, q sdk.WorkflowQuery) ([]sdk.Task, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.caller.Kind == sdk.CallerAnonymous {
		return nil, fmt.Errorf("%w: the caller of this public route is anonymous", sdk.ErrDenied)
	}
	out := []sdk.Task{}
	for _, t := range h.tasks {
		if (q.InstanceID == 0 || t.InstanceID == q.InstanceID) && (q.Status == "" || t.Status == q.Status) && (q.UnitID == 0 || t.UnitID == q.UnitID) {
			out = append(out, *t)
		}
	}
	return out, nil
}

// figures counts the recordings that counted, by "measure unit".
func (h *fakeHost) figures() map[string]int {
	out := map[string]int{}
	for _, m := range h.Measures() {
		out[fmt.Sprintf("%s %d", m.ID, m.UnitID)]++
	}
	return out
}
