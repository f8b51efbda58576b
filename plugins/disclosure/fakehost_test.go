package disclosure

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

// fakeHost keeps one county's records and files in memory, with the
// semantics plugins/host gives them: creation with version 0, replacement
// and deletion only at the current version, queries on the manifest's
// indexed fields in the order of ids, files pending until their bytes
// arrive. The tests against a real host check that the two agree.
type fakeHost struct {
	mu      sync.Mutex
	now     func() time.Time
	indexed map[string][]string
	records map[string]map[string]sdk.Record
	files   map[string]sdk.File
	audits  []sdk.AuditEntry
	nextID  int
	units   map[int64]string
	// measures are the recordings, by measure and key.
	measures map[string]sdk.Measure
}

func newFakeHost(now func() time.Time) *fakeHost {
	indexed := map[string][]string{}
	for name, c := range Manifest().Collections {
		indexed[name] = c.Indexed
	}
	return &fakeHost{now: now, indexed: indexed, records: map[string]map[string]sdk.Record{}, files: map[string]sdk.File{},
		units:    map[int64]string{10: "县信息中心", 20: "县政府办", 30: "民政局", 40: "财政局"},
		measures: map[string]sdk.Measure{}}
}

func (h *fakeHost) Put(_ context.Context, collection, id string, version int64, doc any) (sdk.Record, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
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

func (h *fakeHost) CreateUpload(_ context.Context, name, contentType string, size int64) (sdk.Upload, error) {
	if name == "" || size <= 0 || size > 8<<30 {
		return sdk.Upload{}, fmt.Errorf("%w: upload %q of %d bytes", sdk.ErrInvalid, name, size)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	id := fmt.Sprintf("%032x", h.nextID)
	h.files[id] = sdk.File{ID: id, Name: name, ContentType: contentType, Size: size, Status: sdk.FilePending, CreatedAt: h.now()}
	return sdk.Upload{FileID: id, URL: "https://files.example/upload/" + id, ExpiresAt: h.now().Add(time.Hour)}, nil
}

// arrive is the client's PUT of file id's bytes.
func (h *fakeHost) arrive(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.files[id]
	f.Status, f.ReadyAt, f.SHA256 = sdk.FileReady, h.now(), fmt.Sprintf("%064x", len(h.files))
	h.files[id] = f
}

func (h *fakeHost) DeleteFile(_ context.Context, id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.files[id]; !ok {
		return fmt.Errorf("%w: no file %s", sdk.ErrNotFound, id)
	}
	delete(h.files, id)
	return nil
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

func (h *fakeHost) DownloadURL(_ context.Context, id string, ttl time.Duration) (sdk.SignedURL, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f, ok := h.files[id]
	switch {
	case !ok:
		return sdk.SignedURL{}, fmt.Errorf("%w: no file %s", sdk.ErrNotFound, id)
	case f.Status != sdk.FileReady:
		return sdk.SignedURL{}, fmt.Errorf("%w: file %s is pending", sdk.ErrNotReady, id)
	}
	return sdk.SignedURL{URL: "https://files.example/download/" + id, ExpiresAt: h.now().Add(ttl)}, nil
}

func (h *fakeHost) Audit(_ context.Context, e sdk.AuditEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.audits = append(h.audits, e)
	return nil
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

// RecordMeasure records as the host does: declared measures only, for a
// unit of the county (0 for a county-wide one), once per key; the same
// key with other figures conflicts.
func (h *fakeHost) RecordMeasure(_ context.Context, m sdk.Measure) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(Manifest().Measures, func(d sdk.MeasureDef) bool { return d.ID == m.ID })
	switch {
	case i < 0:
		return false, fmt.Errorf("%w: undeclared measure %s", sdk.ErrInvalid, m.ID)
	case Manifest().Measures[i].CountyWide != (m.UnitID == 0):
		return false, fmt.Errorf("%w: unit %d for measure %s", sdk.ErrInvalid, m.UnitID, m.ID)
	case m.UnitID != 0 && h.units[m.UnitID] == "":
		return false, fmt.Errorf("%w: unknown_unit %d", sdk.ErrInvalid, m.UnitID)
	case m.Key == "" || len(m.Key) > 128 || strings.ContainsAny(m.Key, " \t\n"):
		return false, fmt.Errorf("%w: key %q", sdk.ErrInvalid, m.Key)
	}
	if m.Delta == 0 {
		m.Delta = 1
	}
	key := m.ID + " " + m.Key
	if old, ok := h.measures[key]; ok {
		if old != m {
			return false, fmt.Errorf("%w: key %s reused with other figures", sdk.ErrConflict, m.Key)
		}
		return false, nil
	}
	h.measures[key] = m
	return true, nil
}

// figure is the sum of measure for unit on day.
func (h *fakeHost) figure(measure string, unit int64, day string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int64
	for _, m := range h.measures {
		if m.ID == measure && m.UnitID == unit && m.Day == day {
			n += m.Delta
		}
	}
	return n
}
