// Package sdkfake is the host's services in memory, for a module's
// handler tests: records, batches and numbered records, files and public
// uploads, receipts, the county's units, measures and the audit trail,
// for one county and one module, with the semantics plugins/host gives
// them. A handler written against a narrow interface of sdk.Host's
// methods takes a *Host in its tests where it takes the *sdk.Host of a
// request in production:
//
//	type services interface {
//		Put(ctx context.Context, collection, id string, version int64, doc any) (sdk.Record, error)
//		Query(ctx context.Context, collection string, q sdk.Query) (sdk.Page, error)
//		Audit(ctx context.Context, e sdk.AuditEntry) error
//	}
//
//	func TestFiling(t *testing.T) {
//		now := time.Date(2026, 6, 5, 9, 0, 0, 0, time.UTC)
//		h := sdkfake.New(Manifest(), func() time.Time { return now }, sdk.Unit{ID: 10, Name: "县信息中心"})
//		// … serve a request with h as its host …
//		if h.Count("suggestions") != 1 || len(h.Audits()) != 1 {
//			t.Fatalf("records %v, audit %v", h.Records("suggestions"), h.Audits())
//		}
//	}
//
// What the fake keeps as the host does:
//   - Records: Put with version 0 creates a record at version 1
//     (ErrConflict if it exists); another version replaces it only at that
//     version (ErrConflict if it moved on, ErrNotFound if it is gone), as
//     Delete removes it. Collections and ids are checked as the host checks
//     them, and documents too: a JSON object of at most 1 MiB whose indexed
//     fields (the manifest's) are strings, numbers or booleans of at most
//     255 bytes. Query filters on indexed fields only (a string's text, a
//     number's or a boolean's JSON), in the order of ids, 50 to a page
//     unless Limit says up to 200. PutRecords writes all of a batch or
//     none and is one entry of the audit trail ("records.batch");
//     PutNumbered takes a counter's next number only if the record is
//     written.
//   - Files: CreateUpload and CreatePublicUpload declare a file, which
//     stays sdk.FilePending until the test calls Arrive for its bytes;
//     DownloadURL gives sdk.ErrNotReady until then.
//   - Receipts: one a record, numbered YYYY-NNNNNN by the year in China
//     and the county's sequence of it, with a random secret code that
//     LookupReceipt takes in any case, with or without its dashes; a wrong
//     code is answered as an unknown number, sdk.ErrNotFound.
//   - Submissions: Submit creates the record with the receipt's number and
//     the instance's id set in its members and issues its receipt, writes
//     its further records (Also) as PutRecords would and appends its
//     audit entry (its After, if nil, the record as written), all or
//     nothing, refused with sdk.ErrStale if one of its Unchanged records
//     is not at its version (the fake ChecksUnchanged); the workflow is started by the test's own fake of the
//     engine, which SetStarter names (ErrNoStarter without one).
//   - Units: the county's, as New is given them (AddUnits and RemoveUnits
//     change them during a test); Units leaves out ids the county lacks.
//   - Measures: only those the manifest declares, for a unit of the
//     county or county-wide as declared; a key counts once (the same key
//     again with the same figures reports false, with other figures
//     sdk.ErrConflict); Delta 0 counts one and an empty Day is today in
//     China.
//   - Audit: entries checked as the host checks them, kept in order.
//
// What it leaves out: the caller. The host refuses some calls to some
// callers (an anonymous caller's CreateUpload, an account's
// CreatePublicUpload, the directory to an anonymous caller), and limits
// how often an address hands in public uploads; the fake serves every
// call. A test that needs such a refusal makes it with SetFail, as it
// makes a host that goes away at a given moment. The workflow engine,
// seals and notices are not here either: a module that uses them fakes
// them beside the *Host, embedding it, and may ask the same hook
// (Failure) about its own calls.
//
// The fake is safe for concurrent use. What it answers is what the host
// would answer to a module whose capability is good: the end-to-end tests
// through a real host (package sdktest) check the rest.
package sdkfake

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Host is one county's host services for one module, in memory.
type Host struct {
	manifest sdk.Manifest
	now      func() time.Time

	mu       sync.Mutex
	fail     func(Call) error
	records  map[string]map[string]*record
	files    map[string]sdk.File
	nextFile int
	receipts map[string]receipt
	// years counts each year's receipts.
	years    map[int]int
	units    map[int64]sdk.Unit
	measures map[measureKey]sdk.Measure
	// order is the measures' keys in the order recorded.
	order    []measureKey
	counters map[string]int64
	audits   []sdk.AuditEntry
	// starter starts a submission's workflow (SetStarter).
	starter Starter
}

// New returns the host's services for manifest's module in a county
// whose units are units, with now as the clock (time.Now if nil).
func New(manifest sdk.Manifest, now func() time.Time, units ...sdk.Unit) *Host {
	if now == nil {
		now = time.Now
	}
	h := &Host{
		manifest: manifest, now: now,
		records: map[string]map[string]*record{}, files: map[string]sdk.File{},
		receipts: map[string]receipt{}, years: map[int]int{}, units: map[int64]sdk.Unit{},
		measures: map[measureKey]sdk.Measure{}, counters: map[string]int64{},
	}
	h.AddUnits(units...)
	return h
}

// Call is a call of the module to the host, as the failure hook sees it.
type Call struct {
	// Method is the name of the sdk.Host method called: "Put",
	// "PutRecords", "RecordMeasure", "Audit" …, or of a test's own fake
	// that asks Failure.
	Method string
	// Collection is the collection of the record the call reaches (Put,
	// Get, Delete, Query, PutNumbered, PutRecords, IssueReceipt,
	// CreatePublicUpload); the measure's id for RecordMeasure; the object
	// type for Audit.
	Collection string
	// ID is the record's id; the file's for File, DownloadURL,
	// PublicDownloadURL and DeleteFile; the receipt's number for LookupReceipt; the key for
	// RecordMeasure; the object's id for Audit; empty where the call names
	// none (Query, CreateUpload, Units).
	ID string
}

// SetFail sets the hook asked before every call the fake serves: the
// error it returns, if any, is the call's answer, and the call changes
// nothing, as a host that went away or refused at that moment. A batch
// asks once for each of its records, in order, and fails whole. The hook
// runs under the fake's lock: it must not call the Host. nil removes it.
//
// Nth, FromNth and Match make the usual hooks; any function does.
func (h *Host) SetFail(fail func(Call) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fail = fail
}

// Failure asks the hook about a call that a test's own fake serves
// (a workflow engine's, a seal's), so that one hook fails every call.
func (h *Host) Failure(c Call) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing(c)
}

// failing asks the hook, under h.mu.
func (h *Host) failing(c Call) error {
	if h.fail == nil {
		return nil
	}
	return h.fail(c)
}

// Match returns whether a call is method's, and of collection and id if
// they are not empty.
func Match(method, collection, id string) func(Call) bool {
	return func(c Call) bool {
		return c.Method == method && (collection == "" || c.Collection == collection) && (id == "" || c.ID == id)
	}
}

// Nth returns a hook that fails the nth of the calls that match accepts
// from now on (1: the next one) with err, and no other.
func Nth(n int, err error, match func(Call) bool) func(Call) error {
	seen := 0
	return func(c Call) error {
		if !match(c) {
			return nil
		}
		if seen++; seen == n {
			return err
		}
		return nil
	}
}

// FromNth returns a hook that fails with err the nth of the calls that
// match accepts from now on (1: the next one) and every one after it.
func FromNth(n int, err error, match func(Call) bool) func(Call) error {
	seen := 0
	return func(c Call) error {
		if !match(c) {
			return nil
		}
		if seen++; seen >= n {
			return err
		}
		return nil
	}
}

// ErrGone is what a hook may answer for a host that went away: not one
// of the sdk's errors, as a broken connection is none.
var ErrGone = errors.New("the host went away")

// Count is how many records collection holds.
func (h *Host) Count(collection string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records[collection])
}

// Records are the records of collection, in the order of their ids.
func (h *Host) Records(collection string) []sdk.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	coll := h.records[collection]
	out := make([]sdk.Record, 0, len(coll))
	for _, id := range slices.Sorted(maps.Keys(coll)) {
		out = append(out, coll[id].Record)
	}
	return out
}

// Files are the files the module keeps, in the order of their ids (the
// order they were declared in).
func (h *Host) Files() []sdk.File {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]sdk.File, 0, len(h.files))
	for _, id := range slices.Sorted(maps.Keys(h.files)) {
		out = append(out, h.files[id])
	}
	return out
}

// Audits are the entries of the audit trail, in order.
func (h *Host) Audits() []sdk.AuditEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.audits)
}

// Counters are the module's counters (PutNumbered) and the last number
// each gave.
func (h *Host) Counters() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.counters)
}

// notFound is the host's answer for a record that is not there.
func notFound(collection, id string) error {
	return fmt.Errorf("%w: no record %s/%s", sdk.ErrNotFound, collection, id)
}
