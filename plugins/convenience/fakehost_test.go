package convenience

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// fakeHost keeps one county's records, receipts, workflow and measures
// in memory, with the semantics plugins/host and the engine give them
// (versions, queries on indexed fields in the order of ids, a receipt's
// wrong code answered as an unknown number, only a task's assignee
// acting, an anonymous caller refused workflows). The tests through the
// real host check that the two agree.
type fakeHost struct {
	mu       sync.Mutex
	now      func() time.Time
	caller   sdk.Caller
	indexed  map[string][]string
	records  map[string]map[string]sdk.Record
	receipts map[string][2]string // number: record id, code
	units    map[int64]string
	// tasks of the instances, by id; instances' initiator and subject.
	tasks     []*sdk.Task
	instances []*sdk.Instance
	measures  map[string]sdk.Measure
	audits    []sdk.AuditEntry
	// failAct, if set, is what the next ActOnTaskWith answers.
	failAct error
	// failPut, if set, is the record whose Put fails after failPutSkip
	// more succeed, as a host gone at that moment; collection/* is any
	// of the collection's.
	failPut     string
	failPutSkip int
	// failMeasure, if set, is what the next RecordMeasure answers;
	// failSubmit what the next Submit does.
	failMeasure error
	failSubmit  error
	// unstaffed are units of the county where no one could act.
	unstaffed map[int64]bool
	// puts counts the records written, by collection; reads those read
	// (got, or found by a query).
	puts  map[string]int
	reads map[string]int
}

func newFakeHost(now func() time.Time) *fakeHost {
	indexed := map[string][]string{}
	for name, c := range Manifest().Collections {
		indexed[name] = c.Indexed
	}
	return &fakeHost{now: now, indexed: indexed, records: map[string]map[string]sdk.Record{}, receipts: map[string][2]string{},
		units:    map[int64]string{1: "县信息中心", 2: "县信访局", 3: "民政局", 4: "住建局", 5: "县监察局"},
		measures: map[string]sdk.Measure{}, puts: map[string]int{}, reads: map[string]int{}, unstaffed: map[int64]bool{}}
}

func (h *fakeHost) Put(_ context.Context, collection, id string, version int64, doc any) (sdk.Record, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failPut == collection+"/"+id || h.failPut == collection+"/*" {
		if h.failPutSkip == 0 {
			h.failPut = ""
			return sdk.Record{}, fmt.Errorf("put %s/%s: the host is gone", collection, id)
		}
		h.failPutSkip--
	}
	if _, ok := h.indexed[collection]; !ok {
		return sdk.Record{}, fmt.Errorf("%w: collection %s is not declared", sdk.ErrInvalid, collection)
	}
	coll := h.records[collection]
	if coll == nil {
		coll = map[string]sdk.Record{}
		h.records[collection] = coll
	}
	now := h.now().UTC()
	old, exists := coll[id]
	switch {
	case version == 0 && exists:
		return sdk.Record{}, fmt.Errorf("%w: record %s/%s exists", sdk.ErrConflict, collection, id)
	case version == 0:
		old = sdk.Record{Collection: collection, ID: id, CreatedAt: now}
	case !exists:
		return sdk.Record{}, fmt.Errorf("%w: no record %s/%s", sdk.ErrNotFound, collection, id)
	case old.Version != version:
		return sdk.Record{}, fmt.Errorf("%w: record %s/%s is at version %d, not %d", sdk.ErrConflict, collection, id, old.Version, version)
	}
	old.Version++
	old.Document, old.UpdatedAt = data, now
	h.puts[collection]++
	coll[id] = old
	return old, nil
}

func (h *fakeHost) Get(_ context.Context, collection, id string) (sdk.Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.records[collection][id]
	if !ok {
		return sdk.Record{}, fmt.Errorf("%w: no record %s/%s", sdk.ErrNotFound, collection, id)
	}
	h.reads[collection]++
	return r, nil
}

func (h *fakeHost) Delete(_ context.Context, collection, id string, version int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.records[collection][id]
	switch {
	case !ok:
		return fmt.Errorf("%w: no record %s/%s", sdk.ErrNotFound, collection, id)
	case r.Version != version:
		return fmt.Errorf("%w: record %s/%s is at version %d", sdk.ErrConflict, collection, id, r.Version)
	}
	delete(h.records[collection], id)
	return nil
}

func (h *fakeHost) Query(_ context.Context, collection string, q sdk.Query) (sdk.Page, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 200:
		return sdk.Page{}, fmt.Errorf("%w: limit %d", sdk.ErrInvalid, limit)
	}
	for field := range q.Where {
		if !slices.Contains(h.indexed[collection], field) {
			return sdk.Page{}, fmt.Errorf("%w: field %s of %s is not indexed", sdk.ErrInvalid, field, collection)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var page sdk.Page
	for _, id := range slices.Sorted(maps.Keys(h.records[collection])) {
		if id <= q.After {
			continue
		}
		r := h.records[collection][id]
		if !matches(r.Document, q.Where) {
			continue
		}
		if len(page.Records) == limit {
			page.Next = page.Records[limit-1].ID
			break
		}
		page.Records = append(page.Records, r)
	}
	h.reads[collection] += len(page.Records)
	return page, nil
}

// matches compares indexed fields as the host indexes them: a string's
// text, a number's or a boolean's JSON.
func matches(doc json.RawMessage, where map[string]string) bool {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return false
	}
	for field, want := range where {
		raw, ok := top[field]
		if !ok {
			return false
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		if s != want {
			return false
		}
	}
	return true
}

func (h *fakeHost) LookupReceipt(_ context.Context, number, code string) (sdk.ReceiptRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r, ok := h.receipts[number]
	if !ok || r[1] != code {
		return sdk.ReceiptRecord{}, fmt.Errorf("%w: no receipt has this number and code", sdk.ErrNotFound)
	}
	return sdk.ReceiptRecord{Number: number, Collection: collMessages, RecordID: r[0]}, nil
}

func (h *fakeHost) Units(_ context.Context, ids ...int64) ([]sdk.Unit, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sdk.Unit
	for _, id := range slices.Sorted(maps.Keys(h.units)) {
		if len(ids) == 0 || slices.Contains(ids, id) {
			out = append(out, sdk.Unit{ID: id, Name: h.units[id]})
		}
	}
	return out, nil
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

func (h *fakeHost) StartWorkflowFor(_ context.Context, workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.caller.Kind == sdk.CallerAnonymous {
		return sdk.Outcome{}, fmt.Errorf("%w: the caller of this public route is anonymous", sdk.ErrDenied)
	}
	return h.start(workflow, o)
}

// start starts workflow as the caller, with h.mu held: an anonymous
// caller only a workflow of public_start, from the initiator unit named
// (or the subject unit).
func (h *fakeHost) start(workflow string, o sdk.StartOptions) (sdk.Outcome, error) {
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
		if _, ok := h.units[unit]; !ok || h.unstaffed[unit] {
			return sdk.Outcome{}, fmt.Errorf("%w: unit %d is not the county's or no one there can act", sdk.ErrInvalid, unit)
		}
	}
	in := &sdk.Instance{ID: int64(len(h.instances) + 1), Workflow: "convenience." + workflow, Title: o.Title, Reference: &o.Reference,
		InitiatorID: h.caller.AccountID, InitiatorUnitID: initiatorUnit, SubjectUnitID: o.SubjectUnitID, Status: "running", StartedAt: h.now()}
	h.instances = append(h.instances, in)
	t := h.open(in, stepReply, "书面答复", o.SubjectUnitID)
	return sdk.Outcome{Instance: *in, Opened: []sdk.Task{t}}, nil
}

// Submit writes the record, its receipt and its workflow's start at
// once, or nothing.
func (h *fakeHost) Submit(_ context.Context, s sdk.Submission) (sdk.Submitted, error) {
	data, err := json.Marshal(s.Document)
	if err != nil {
		return sdk.Submitted{}, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return sdk.Submitted{}, fmt.Errorf("%w: the document is not a JSON object", sdk.ErrInvalid)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failSubmit; err != nil {
		h.failSubmit = nil
		return sdk.Submitted{}, err
	}
	if _, ok := h.records[s.Collection][s.ID]; ok {
		return sdk.Submitted{}, fmt.Errorf("%w: record %s/%s exists", sdk.ErrConflict, s.Collection, s.ID)
	}
	var out sdk.Submitted
	if s.Workflow != "" {
		started, err := h.start(s.Workflow, s.Start)
		if err != nil {
			return sdk.Submitted{}, err
		}
		out.Outcome = &started
		doc[s.InstanceField] = started.Instance.ID
	}
	number := fmt.Sprintf("2026-%06d", len(h.receipts)+1)
	code := fmt.Sprintf("CODE-%04d-SECRET", len(h.receipts)+1)
	doc[s.NumberField] = number
	if data, err = json.Marshal(doc); err != nil {
		return sdk.Submitted{}, err
	}
	if h.records[s.Collection] == nil {
		h.records[s.Collection] = map[string]sdk.Record{}
	}
	now := h.now().UTC()
	out.Record = sdk.Record{Collection: s.Collection, ID: s.ID, Version: 1, Document: data, CreatedAt: now, UpdatedAt: now}
	h.records[s.Collection][s.ID] = out.Record
	h.puts[s.Collection]++
	h.receipts[number] = [2]string{s.ID, code}
	out.Receipt = sdk.Receipt{Number: number, Code: code, IssuedAt: now}
	return out, nil
}

func (h *fakeHost) ActOnTaskWith(_ context.Context, taskID int64, action string, _ sdk.ActOptions) (sdk.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failAct; err != nil {
		h.failAct = nil
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

func (h *fakeHost) RecordMeasure(_ context.Context, m sdk.Measure) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failMeasure; err != nil {
		h.failMeasure = nil
		return false, err
	}
	if !slices.ContainsFunc(measures(), func(d sdk.MeasureDef) bool { return d.ID == m.ID }) {
		return false, fmt.Errorf("%w: measure %s is not declared", sdk.ErrInvalid, m.ID)
	}
	if _, ok := h.measures[m.Key]; ok {
		return false, nil
	}
	h.measures[m.Key] = m
	return true, nil
}

func (h *fakeHost) Audit(_ context.Context, e sdk.AuditEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.audits = append(h.audits, e)
	return nil
}

// figures sums the measures recorded, by "measure unit".
func (h *fakeHost) figures() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, m := range h.measures {
		out[fmt.Sprintf("%s %d", m.ID, m.UnitID)]++
	}
	return out
}
