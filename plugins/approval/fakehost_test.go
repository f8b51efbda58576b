package approval

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/sdkfake"
)

// fakeHost is the host's services in memory (sdkfake: records, batches,
// files, receipts, submissions, units, measures, audit, and the one
// failure hook) with what the module uses beyond them: the workflow
// engine (fakeflow_test.go), run as the request's caller, and a record
// of what the module handed the host in batches and submissions.
type fakeHost struct {
	*sdkfake.Host
	now func() time.Time

	mu sync.Mutex
	// caller is the request's, who acts in the engine.
	caller sdk.Caller
	// flow is the workflow engine the applications reach.
	flow fakeFlow
	// submissions are the submissions handed to Submit, in order;
	// batches counts the batches handed to PutRecordsBrief, written or not.
	submissions []sdk.Submission
	batches     int
	// old makes the fake a host that checks no submission's unchanged
	// records, as one built before them.
	old bool
	// gate, if set, is called as a batch arrives, and what it returns
	// as it is answered.
	gate func() func()
}

// ChecksUnchanged is the host's, but for an old one.
func (h *fakeHost) ChecksUnchanged() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.old
}

// newFakeHost gives the fake county units 10 (县政府办), 20 (发改局), 30
// (住建局) and 40 (市场监管局); a submission starts its workflow in the
// fake engine.
func newFakeHost(now func() time.Time) *fakeHost {
	units := []sdk.Unit{{ID: 10, Name: "县政府办"}, {ID: 20, Name: "发改局"}, {ID: 30, Name: "住建局"}, {ID: 40, Name: "市场监管局"}}
	h := &fakeHost{Host: sdkfake.New(Manifest(), now, units...), now: now}
	h.SetStarter(h.StartWorkflowFor)
	return h
}

// Submit keeps s, then hands it in as the host does.
func (h *fakeHost) Submit(ctx context.Context, s sdk.Submission) (sdk.Submitted, error) {
	h.mu.Lock()
	h.submissions = append(h.submissions, s)
	h.mu.Unlock()
	return h.Host.Submit(ctx, s)
}

// PutRecordsBrief counts the batch, then writes it as the host does.
func (h *fakeHost) PutRecordsBrief(ctx context.Context, puts []sdk.RecordPut) ([]sdk.Record, error) {
	h.mu.Lock()
	h.batches++
	gate := h.gate
	h.mu.Unlock()
	if gate != nil {
		defer gate()()
	}
	return h.Host.PutRecordsBrief(ctx, puts)
}

// setCaller makes who the caller of the next requests.
func (h *fakeHost) setCaller(who sdk.Caller) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.caller = who
}

// batchesHandedIn is how many batches the module handed PutRecordsBrief.
func (h *fakeHost) batchesHandedIn() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.batches
}

// submitted are the submissions handed to Submit, in order.
func (h *fakeHost) submitted() []sdk.Submission {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.submissions)
}

// measure is the recording of key that counted, if any.
func (h *fakeHost) measure(key string) (sdk.Measure, bool) {
	ms := h.Measures()
	i := slices.IndexFunc(ms, func(m sdk.Measure) bool { return m.Key == key })
	if i < 0 {
		return sdk.Measure{}, false
	}
	return ms[i], true
}

// counted sums the measure's counts by unit and day.
func (h *fakeHost) counted(measure string) map[string]int64 {
	out := map[string]int64{}
	for _, m := range h.Measures() {
		if m.ID == measure {
			out[fmt.Sprintf("%d/%s", m.UnitID, m.Day)] += m.Delta
		}
	}
	return out
}

// collections are the names of the manifest's collections, in order.
func collectionNames() []string {
	return slices.Sorted(maps.Keys(Manifest().Collections))
}

// failPutIn makes the nth Put from now fail as a host gone away would
// (busy), and no other call; none if n is 0.
func (h *fakeHost) failPutIn(n int) {
	if n == 0 {
		h.SetFail(nil)
		return
	}
	h.SetFail(sdkfake.Nth(n, fmt.Errorf("%w: the host went away", sdk.ErrBusy), sdkfake.Match("Put", "", "")))
}
