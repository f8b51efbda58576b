package approval

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// fakeHost keeps one county's records, units, measures and audit trail
// in memory, with the semantics plugins/host gives them: creation with
// version 0, replacement and deletion only at the current version,
// queries on the manifest's indexed fields in the order of ids, measures
// counted once per key. The tests through the real host check that the
// two agree.
type fakeHost struct {
	mu       sync.Mutex
	now      func() time.Time
	indexed  map[string][]string
	records  map[string]map[string]sdk.Record
	units    []sdk.Unit
	measures map[string]sdk.Measure
	audits   []sdk.AuditEntry
	// submissions are the submissions handed to Submit, in order.
	submissions []sdk.Submission
	// batches counts the batches written; failBatch, if set, is the
	// record whose batch is refused as changed meanwhile.
	batches   int
	failBatch string
	// failPut, if set, makes the failPut-th Put from now fail as a host
	// gone away would (busy), and is then spent.
	failPut int
	// flow is the receipts and the workflow engine the applications
	// reach (fakeflow_test.go).
	flow fakeFlow
	// files are the public uploads asked for, each ready as soon as
	// asked unless pendingFiles, then until arrive: the bytes and their
	// checks are the host's, tested there.
	files        map[string]sdk.File
	pendingFiles bool
	// downloadsBusy: the host has given the caller's address too many
	// public downloads of late.
	downloadsBusy bool
	// caller is the request's, who acts in the engine.
	caller sdk.Caller
}

func newFakeHost(now func() time.Time) *fakeHost {
	indexed := map[string][]string{}
	for name, c := range Manifest().Collections {
		indexed[name] = c.Indexed
	}
	return &fakeHost{now: now, indexed: indexed, records: map[string]map[string]sdk.Record{}, measures: map[string]sdk.Measure{}, files: map[string]sdk.File{},
		units: []sdk.Unit{{ID: 10, Name: "县政府办"}, {ID: 20, Name: "发改局"}, {ID: 30, Name: "住建局"}, {ID: 40, Name: "市场监管局"}}}
}

func (h *fakeHost) Put(_ context.Context, collection, id string, version int64, doc any) (sdk.Record, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failPut > 0 {
		if h.failPut--; h.failPut == 0 {
			return sdk.Record{}, fmt.Errorf("%w: the host went away", sdk.ErrBusy)
		}
	}
	return h.putLocked(collection, id, version, data)
}

func (h *fakeHost) putLocked(collection, id string, version int64, data []byte) (sdk.Record, error) {
	if _, ok := h.indexed[collection]; !ok {
		return sdk.Record{}, fmt.Errorf("%w: collection %s is not declared", sdk.ErrInvalid, collection)
	}
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "/ ") {
		return sdk.Record{}, fmt.Errorf("%w: record id %q", sdk.ErrInvalid, id)
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
		return fmt.Errorf("%w: record %s/%s is at version %d, not %d", sdk.ErrConflict, collection, id, r.Version, version)
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

func (h *fakeHost) Units(_ context.Context, ids ...int64) ([]sdk.Unit, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sdk.Unit
	for _, u := range h.units {
		if len(ids) == 0 || slices.Contains(ids, u.ID) {
			out = append(out, u)
		}
	}
	return out, nil
}

func (h *fakeHost) RecordMeasure(_ context.Context, m sdk.Measure) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.Delta == 0 {
		m.Delta = 1
	}
	if old, ok := h.measures[m.Key]; ok {
		if old != m {
			return false, fmt.Errorf("%w: key %s was recorded with other figures", sdk.ErrConflict, m.Key)
		}
		return false, nil
	}
	h.measures[m.Key] = m
	return true, nil
}

// counted sums the measure's counts by unit and day.
func (h *fakeHost) counted(measure string) map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int64{}
	for _, m := range h.measures {
		if m.ID == measure {
			out[fmt.Sprintf("%d/%s", m.UnitID, m.Day)] += m.Delta
		}
	}
	return out
}

func (h *fakeHost) Audit(_ context.Context, e sdk.AuditEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.audits = append(h.audits, e)
	return nil
}

func (h *fakeHost) count(collection string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.records[collection])
}

// PutRecords writes every record or none, as the host's batches do.
func (h *fakeHost) PutRecords(_ context.Context, puts []sdk.RecordPut) ([]sdk.Record, error) {
	if len(puts) == 0 || len(puts) > sdk.MaxBatchRecords {
		return nil, fmt.Errorf("%w: a batch of %d records", sdk.ErrInvalid, len(puts))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches++
	saved := map[string]map[string]sdk.Record{}
	for name, coll := range h.records {
		saved[name] = maps.Clone(coll)
	}
	out := make([]sdk.Record, 0, len(puts))
	size := 0
	for i, p := range puts {
		data, err := json.Marshal(p.Document)
		if err == nil && h.failBatch == p.ID {
			err = fmt.Errorf("%w: record %s changed meanwhile", sdk.ErrConflict, p.ID)
		}
		if size += len(data); err == nil && size > sdk.MaxBatchBytes {
			err = fmt.Errorf("%w: over %d bytes", sdk.ErrInvalid, sdk.MaxBatchBytes)
		}
		var r sdk.Record
		if err == nil {
			r, err = h.putLocked(p.Collection, p.ID, p.Version, data)
		}
		if err != nil {
			h.records = saved
			return nil, fmt.Errorf("record %d (%s/%s): %w", i, p.Collection, p.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (h *fakeHost) CreatePublicUpload(_ context.Context, u sdk.PublicUpload) (sdk.Upload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.records[u.Collection][u.RecordID]; !ok {
		return sdk.Upload{}, fmt.Errorf("%w: no record %s/%s", sdk.ErrNotFound, u.Collection, u.RecordID)
	}
	id := fmt.Sprintf("%032x", len(h.files)+1)
	status := sdk.FileReady
	if h.pendingFiles {
		status = sdk.FilePending
	}
	h.files[id] = sdk.File{ID: id, Name: u.Name, ContentType: u.ContentType, Size: u.Size, Status: status, Collection: u.Collection, RecordID: u.RecordID}
	return sdk.Upload{FileID: id, URL: "https://files.example/up/" + id}, nil
}

func (h *fakeHost) File(_ context.Context, id string) (sdk.File, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.files[id]
	if !ok {
		return sdk.File{}, fmt.Errorf("%w: no file %s", sdk.ErrNotFound, id)
	}
	return f, nil
}

func (h *fakeHost) DownloadURL(ctx context.Context, id string, _ time.Duration) (sdk.SignedURL, error) {
	if _, err := h.File(ctx, id); err != nil {
		return sdk.SignedURL{}, err
	}
	return sdk.SignedURL{URL: "https://files.example/down/" + id}, nil
}

// PublicDownloadURL gives an anonymous caller a URL to a ready file, as
// the host does; its audit entry and its count per address are tested
// there. downloadsBusy makes it answer as to an address given too many
// of late.
func (h *fakeHost) PublicDownloadURL(ctx context.Context, id string, ttl time.Duration) (sdk.SignedURL, error) {
	f, err := h.File(ctx, id)
	switch {
	case h.caller.Kind != sdk.CallerAnonymous:
		return sdk.SignedURL{}, fmt.Errorf("%w: public downloads are an anonymous caller's", sdk.ErrDenied)
	case err != nil:
		return sdk.SignedURL{}, err
	case f.Status != sdk.FileReady:
		return sdk.SignedURL{}, fmt.Errorf("%w: file %s is pending", sdk.ErrNotReady, id)
	case h.downloadsBusy:
		return sdk.SignedURL{}, fmt.Errorf("%w: too many downloads", sdk.ErrBusy)
	case ttl > 15*time.Minute:
		return sdk.SignedURL{}, fmt.Errorf("%w: ttl %s", sdk.ErrInvalid, ttl)
	}
	return sdk.SignedURL{URL: "https://files.example/public/" + id, ExpiresAt: h.now().Add(ttl)}, nil
}

// arrive makes file id's bytes arrive.
func (h *fakeHost) arrive(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.files[id]
	f.Status = sdk.FileReady
	h.files[id] = f
}

// failPutIn makes the n-th Put from now fail (none if 0).
func (h *fakeHost) failPutIn(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failPut = n
}
