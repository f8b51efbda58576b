package sdkfake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Limits of the records store, as the host's.
const (
	maxDocumentBytes = 1 << 20
	maxIndexedValue  = 255
	defaultPageSize  = 50
	maxPageSize      = 200
)

var (
	collectionPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	recordIDPattern    = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	counterPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	numberFieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// record is a record and the values of its indexed fields, as the host
// indexes them.
type record struct {
	sdk.Record
	fields map[string]string
}

func checkKey(collection, id string) error {
	if !collectionPattern.MatchString(collection) {
		return fmt.Errorf("%w: collection %q: use 1 to 64 lowercase letters, digits or underscores, starting with a letter", sdk.ErrInvalid, collection)
	}
	if !recordIDPattern.MatchString(id) {
		return fmt.Errorf("%w: record id %q: use 1 to 128 letters, digits, dots, colons, underscores or dashes", sdk.ErrInvalid, id)
	}
	return nil
}

// indexed is what the manifest indexes of collection.
func (h *Host) indexed(collection string) []string {
	return h.manifest.Collections[collection].Indexed
}

// indexedValues checks that document is a JSON object within the size
// limit and returns the values of its indexed fields: its top-level
// strings' text, numbers' and booleans' JSON; a null is no value.
func indexedValues(indexed []string, document []byte) (map[string]string, error) {
	if len(document) > maxDocumentBytes {
		return nil, fmt.Errorf("%w: document is %d bytes; the limit is %d", sdk.ErrInvalid, len(document), maxDocumentBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: document is not a JSON object", sdk.ErrInvalid)
	}
	out := map[string]string{}
	for _, field := range indexed {
		raw, ok := top[field]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%w: field %s: %v", sdk.ErrInvalid, field, err)
		}
		var text string
		switch v := v.(type) {
		case string:
			text = v
		case float64, bool:
			text = string(raw)
		case nil:
			continue
		default:
			return nil, fmt.Errorf("%w: indexed field %s must be a string, a number or a boolean", sdk.ErrInvalid, field)
		}
		if len(text) > maxIndexedValue {
			return nil, fmt.Errorf("%w: indexed field %s is over %d bytes", sdk.ErrInvalid, field, maxIndexedValue)
		}
		out[field] = text
	}
	return out, nil
}

// Put writes doc as record id of collection, as sdk.Host.Put.
func (h *Host) Put(_ context.Context, collection, id string, version int64, doc any) (sdk.Record, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, fmt.Errorf("encode record %s/%s: %w", collection, id, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Put", Collection: collection, ID: id}); err != nil {
		return sdk.Record{}, err
	}
	w, err := h.checkWrite(collection, id, version, data)
	if err != nil {
		return sdk.Record{}, err
	}
	if err := h.writable(w); err != nil {
		return sdk.Record{}, err
	}
	return h.write(w), nil
}

// put is a checked write of one record.
type put struct {
	collection, id string
	version        int64
	document       []byte
	fields         map[string]string
}

// checkWrite checks a write of a record as the host does before it
// reaches the county's store.
func (h *Host) checkWrite(collection, id string, version int64, document []byte) (put, error) {
	if err := checkKey(collection, id); err != nil {
		return put{}, err
	}
	fields, err := indexedValues(h.indexed(collection), document)
	if err != nil {
		return put{}, err
	}
	if version < 0 {
		return put{}, fmt.Errorf("%w: version %d is negative", sdk.ErrInvalid, version)
	}
	return put{collection: collection, id: id, version: version, document: document, fields: fields}, nil
}

// writable refuses w as the store does: a creation of a record that
// exists, a replacement of one gone or at another version.
func (h *Host) writable(w put) error {
	old, exists := h.records[w.collection][w.id]
	switch {
	case w.version == 0 && exists:
		return fmt.Errorf("%w: record %s/%s exists; give its version to replace it", sdk.ErrConflict, w.collection, w.id)
	case w.version > 0 && !exists:
		return notFound(w.collection, w.id)
	case w.version > 0 && old.Version != w.version:
		return fmt.Errorf("%w: record %s/%s is at version %d, not %d", sdk.ErrConflict, w.collection, w.id, old.Version, w.version)
	}
	return nil
}

// write stores w, which writable let through.
func (h *Host) write(w put) sdk.Record {
	now := h.now().UTC().Truncate(time.Microsecond)
	coll := h.records[w.collection]
	if coll == nil {
		coll = map[string]*record{}
		h.records[w.collection] = coll
	}
	created := now
	if old, ok := coll[w.id]; ok {
		created = old.CreatedAt
	}
	r := &record{Record: sdk.Record{Collection: w.collection, ID: w.id, Version: w.version + 1, Document: w.document, CreatedAt: created, UpdatedAt: now}, fields: w.fields}
	coll[w.id] = r
	return r.Record
}

// Get reads record id of collection, as sdk.Host.Get.
func (h *Host) Get(_ context.Context, collection, id string) (sdk.Record, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Get", Collection: collection, ID: id}); err != nil {
		return sdk.Record{}, err
	}
	if err := checkKey(collection, id); err != nil {
		return sdk.Record{}, err
	}
	r, ok := h.records[collection][id]
	if !ok {
		return sdk.Record{}, notFound(collection, id)
	}
	return r.Record, nil
}

// Delete removes record id of collection at version, as sdk.Host.Delete.
func (h *Host) Delete(_ context.Context, collection, id string, version int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Delete", Collection: collection, ID: id}); err != nil {
		return err
	}
	if err := checkKey(collection, id); err != nil {
		return err
	}
	r, ok := h.records[collection][id]
	switch {
	case !ok:
		return notFound(collection, id)
	case r.Version != version:
		return fmt.Errorf("%w: record %s/%s is at version %d, not %d", sdk.ErrConflict, collection, id, r.Version, version)
	}
	delete(h.records[collection], id)
	return nil
}

// Query reads one page of collection, as sdk.Host.Query.
func (h *Host) Query(_ context.Context, collection string, q sdk.Query) (sdk.Page, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Query", Collection: collection}); err != nil {
		return sdk.Page{}, err
	}
	if !collectionPattern.MatchString(collection) {
		return sdk.Page{}, fmt.Errorf("%w: collection %q is not a collection name", sdk.ErrInvalid, collection)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0 || limit > maxPageSize:
		return sdk.Page{}, fmt.Errorf("%w: limit %d is not between 1 and %d", sdk.ErrInvalid, limit, maxPageSize)
	}
	for _, field := range slices.Sorted(maps.Keys(q.Where)) {
		if !slices.Contains(h.indexed(collection), field) {
			return sdk.Page{}, fmt.Errorf("%w: field %q of collection %s is not indexed; the manifest declares which are", sdk.ErrInvalid, field, collection)
		}
	}
	page := sdk.Page{Records: []sdk.Record{}}
	coll := h.records[collection]
	for _, id := range slices.Sorted(maps.Keys(coll)) {
		r := coll[id]
		if id <= q.After || !matches(r.fields, q.Where) {
			continue
		}
		if len(page.Records) == limit {
			page.Next = page.Records[limit-1].ID
			break
		}
		page.Records = append(page.Records, r.Record)
	}
	return page, nil
}

func matches(fields, where map[string]string) bool {
	for field, want := range where {
		if got, ok := fields[field]; !ok || got != want {
			return false
		}
	}
	return true
}

// PutRecords writes every record of puts or none, as sdk.Host.PutRecords,
// and appends the batch's entry to the audit trail.
func (h *Host) PutRecords(_ context.Context, puts []sdk.RecordPut) ([]sdk.Record, error) {
	switch {
	case len(puts) == 0:
		return nil, fmt.Errorf("%w: a batch holds at least one record", sdk.ErrInvalid)
	case len(puts) > sdk.MaxBatchRecords:
		return nil, fmt.Errorf("%w: a batch holds at most %d records, not %d", sdk.ErrInvalid, sdk.MaxBatchRecords, len(puts))
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	writes, err := h.checkedPuts(puts, nil)
	if err != nil {
		return nil, err
	}
	for i, w := range writes {
		err := h.failing(Call{Method: "PutRecords", Collection: w.collection, ID: w.id})
		if err == nil {
			err = h.writable(w)
		}
		if err != nil {
			return nil, fmt.Errorf("record %d (%s/%s): %w", i, w.collection, w.id, err)
		}
	}
	type written struct {
		Collection string `json:"collection"`
		ID         string `json:"id"`
		Version    int64  `json:"version"`
	}
	out := make([]sdk.Record, len(writes))
	list := make([]written, len(writes))
	object := writes[0].collection
	for i, w := range writes {
		out[i] = h.write(w)
		list[i] = written{w.collection, w.id, w.version}
		if w.collection != object {
			object = "collections"
		}
	}
	h.audits = append(h.audits, sdk.AuditEntry{Action: "records.batch", ObjectType: "records", ObjectID: object, After: list})
	return out, nil
}

// PutRecordsBrief writes puts as PutRecords does and returns the records
// written without their documents, as sdk.Host.PutRecordsBrief.
func (h *Host) PutRecordsBrief(ctx context.Context, puts []sdk.RecordPut) ([]sdk.Record, error) {
	out, err := h.PutRecords(ctx, puts)
	for i := range out {
		out[i].Document = nil
	}
	return out, err
}

// checkedPuts are puts checked as the host checks a batch's records,
// each once and none of taken's keys, under h.mu.
func (h *Host) checkedPuts(puts []sdk.RecordPut, taken map[[2]string]bool) ([]put, error) {
	writes := make([]put, len(puts))
	seen := maps.Clone(taken)
	if seen == nil {
		seen = make(map[[2]string]bool, len(puts))
	}
	size := 0
	for i, p := range puts {
		data, err := json.Marshal(p.Document)
		if err != nil {
			return nil, fmt.Errorf("encode record %s/%s: %w", p.Collection, p.ID, err)
		}
		if size += len(data); size > sdk.MaxBatchBytes {
			return nil, fmt.Errorf("%w: the batch's documents are over %d bytes together", sdk.ErrInvalid, sdk.MaxBatchBytes)
		}
		key := [2]string{p.Collection, p.ID}
		if seen[key] {
			return nil, fmt.Errorf("%w: record %d (%s/%s): the batch holds the record twice", sdk.ErrInvalid, i, p.Collection, p.ID)
		}
		seen[key] = true
		if writes[i], err = h.checkWrite(p.Collection, p.ID, p.Version, data); err != nil {
			return nil, fmt.Errorf("record %d (%s/%s): %w", i, p.Collection, p.ID, err)
		}
	}
	return writes, nil
}

// PutNumbered writes doc like Put after setting doc[n.Field] to the next
// number of counter n.Counter, as sdk.Host.PutNumbered: a write that
// fails takes no number.
func (h *Host) PutNumbered(_ context.Context, collection, id string, version int64, doc any, n sdk.Numbering) (sdk.Record, int64, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return sdk.Record{}, 0, fmt.Errorf("encode record %s/%s: %w", collection, id, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "PutNumbered", Collection: collection, ID: id}); err != nil {
		return sdk.Record{}, 0, err
	}
	if err := checkKey(collection, id); err != nil {
		return sdk.Record{}, 0, err
	}
	switch {
	case !counterPattern.MatchString(n.Counter):
		return sdk.Record{}, 0, fmt.Errorf("%w: counter %q: use 1 to 128 letters, digits, dots, underscores, colons, slashes or dashes, starting with a letter or digit", sdk.ErrInvalid, n.Counter)
	case !numberFieldPattern.MatchString(n.Field):
		return sdk.Record{}, 0, fmt.Errorf("%w: field %q: use 1 to 64 letters, digits or underscores, not starting with a digit", sdk.ErrInvalid, n.Field)
	}
	number := h.counters[n.Counter] + 1
	numbered, err := withNumber(data, n.Field, number)
	if err != nil {
		return sdk.Record{}, 0, err
	}
	w, err := h.checkWrite(collection, id, version, numbered)
	if err != nil {
		return sdk.Record{}, 0, err
	}
	if err := h.writable(w); err != nil {
		return sdk.Record{}, 0, err
	}
	h.counters[n.Counter] = number
	return h.write(w), number, nil
}

// withNumber is document with field set to number, written as the host
// writes it: the field first, then the other members in the order of
// their names.
func withNumber(document []byte, field string, number int64) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return nil, fmt.Errorf("%w: document is not a JSON object", sdk.ErrInvalid)
	}
	delete(top, field)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return nil, fmt.Errorf("%w: document: %v", sdk.ErrInvalid, err)
	}
	rest := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	out := []byte(`{"` + field + `":` + strconv.FormatInt(number, 10))
	if len(rest) > 2 {
		out = append(append(out, ','), rest[1:]...)
		return out, nil
	}
	return append(out, '}'), nil
}
