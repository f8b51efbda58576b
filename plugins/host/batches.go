package host

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Limits of a batch of records (batches.proto).
const (
	// MaxBatchRecords bounds the records of one batch: a transaction
	// that holds their locks for a fraction of a second.
	MaxBatchRecords = 1000
	// MaxBatchBytes bounds the documents of one batch together, within
	// a message to the host (maxHostMessage).
	MaxBatchBytes = 2 << 20
	// batchRowsPerInsert bounds the rows of one statement of records:
	// a whole batch's, so that its records of a collection are locked
	// in one round trip and written in another. The documents of a batch
	// are MaxBatchBytes at most, far below a statement's bound on the
	// server (max_allowed_packet, 16 MiB by default).
	batchRowsPerInsert = MaxBatchRecords
)

// batches is the Batches service: many records of the plugin written in
// one transaction of the capability's county, all or none, under the
// checks of PutRecord, and one entry of the county's audit trail.
type batches struct {
	*records
	callers Callers
}

// batchWrite is a record of a batch, checked, and where it stands.
type batchWrite struct {
	recordWrite
	// exists and out are what the transaction found and wrote.
	exists bool
	out    recordRow
}

func (s *batches) PutRecords(ctx context.Context, req *pluginv1.PutRecordsRequest) (*pluginv1.PutRecordsResponse, error) {
	if s.callers == nil {
		return nil, status.Error(codes.Unavailable, "this host writes no batches: it does not know their requests' callers to audit them")
	}
	c, err := s.capability(req.GetCapability())
	if err != nil {
		return nil, err
	}
	puts := req.GetRecords()
	switch {
	case len(puts) == 0:
		return nil, status.Error(codes.InvalidArgument, "a batch holds at least one record")
	case len(puts) > MaxBatchRecords:
		return nil, status.Errorf(codes.InvalidArgument, "a batch holds at most %d records, not %d", MaxBatchRecords, len(puts))
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	writes, err := s.checkedWrites(puts, now, nil)
	if err != nil {
		return nil, err
	}
	actor, ok := s.callers.Caller(c)
	if !ok {
		return nil, status.Error(codes.PermissionDenied, "the host knows no caller of this request to record the batch against")
	}
	entry := s.entry(c, actor, writes, now)
	put := func(ctx context.Context, tx *sqlx.Tx) error {
		if err := s.writeBatch(ctx, tx, writes); err != nil {
			return err
		}
		return audit.Write(ctx, tx, entry)
	}
	// Two batches that lock records in another order may deadlock; the
	// victim is rolled back whole and runs again from its checks.
	if err := store.AgainIfDeadlocked(func() error { return s.router.InTenantTx(ctx, c.County, put) }); err != nil {
		return nil, s.grpcError(ctx, err)
	}
	resp := &pluginv1.PutRecordsResponse{Records: make([]*pluginv1.Record, len(writes))}
	for i, w := range writes {
		if req.GetBrief() {
			w.out.Document = ""
		}
		resp.Records[i] = w.out.proto()
	}
	return resp, nil
}

// checkedWrites are puts checked as PutRecord checks a record, each
// once and none of taken's keys, their documents within MaxBatchBytes
// together.
func (s *records) checkedWrites(puts []*pluginv1.RecordPut, now time.Time, taken map[[2]string]bool) ([]*batchWrite, error) {
	writes := make([]*batchWrite, len(puts))
	seen := make(map[[2]string]bool, len(puts)+len(taken))
	for key := range taken {
		seen[key] = true
	}
	size := 0
	for i, p := range puts {
		key := [2]string{p.GetCollection(), p.GetId()}
		if err := checkKey(key[0], key[1]); err != nil {
			return nil, batchRefusal(i, key, err)
		}
		if seen[key] {
			return nil, status.Errorf(codes.InvalidArgument, "record %d (%s/%s): the batch holds the record twice", i, key[0], key[1])
		}
		seen[key] = true
		if p.GetVersion() < 0 {
			return nil, status.Errorf(codes.InvalidArgument, "record %d (%s/%s): version %d is negative", i, key[0], key[1], p.GetVersion())
		}
		if size += len(p.GetDocument()); size > MaxBatchBytes {
			return nil, status.Errorf(codes.InvalidArgument, "the batch's documents are over %d bytes together", MaxBatchBytes)
		}
		fields, err := indexedValues(s.indexed[key[0]], p.GetDocument())
		if err != nil {
			return nil, batchRefusal(i, key, err)
		}
		writes[i] = &batchWrite{recordWrite: recordWrite{collection: key[0], id: key[1], version: p.GetVersion(), now: now, document: p.GetDocument(), fields: fields}}
	}
	return writes, nil
}

// batchRefusal names the record of the batch a check refused.
func batchRefusal(i int, key [2]string, err error) error {
	st, _ := status.FromError(err)
	return status.Errorf(st.Code(), "record %d (%s/%s): %s", i, key[0], key[1], st.Message())
}

// entry is the batch's entry of the audit trail: who wrote which
// records, at which versions.
func (s *batches) entry(c Capability, actor audit.Actor, writes []*batchWrite, now time.Time) audit.Entry {
	type written struct {
		Collection string `json:"collection"`
		ID         string `json:"id"`
		Version    int64  `json:"version"`
	}
	list := make([]written, len(writes))
	object := writes[0].collection
	for i, w := range writes {
		list[i] = written{w.collection, w.id, w.version}
		if w.collection != object {
			object = "collections"
		}
	}
	e := audit.Entry{
		At: now, ActorKind: actor.Kind, ActorLogin: actor.Login,
		Action:     s.plugin + ".records.batch",
		ObjectType: "records",
		ObjectID:   object,
		// The versions written over: the digest tells this batch from
		// another of the same records.
		AfterDigest: audit.Digest(list),
		Outcome:     audit.OK,
		RequestID:   clip(c.Request, maxRequestID),
		Source:      AuditSource(s.plugin),
	}
	if actor.ID != 0 {
		e.ActorID = &actor.ID
	}
	if actor.Unit != 0 {
		e.UnitID = &actor.Unit
	}
	return e
}

// writeBatch writes every record of writes in tx, or refuses one that
// cannot be written: the records replaced are locked and checked first,
// then all are written a few statements for all.
func (s *records) writeBatch(ctx context.Context, tx *sqlx.Tx, writes []*batchWrite) error {
	byCollection := map[string][]*batchWrite{}
	var order []string
	for _, w := range writes {
		w.exists, w.out = false, recordRow{}
		if _, ok := byCollection[w.collection]; !ok {
			order = append(order, w.collection)
		}
		byCollection[w.collection] = append(byCollection[w.collection], w)
	}
	slices.Sort(order)
	for _, collection := range order {
		if err := s.lockBatch(ctx, tx, collection, replacing(byCollection[collection])); err != nil {
			return err
		}
	}
	for _, w := range writes {
		switch {
		case w.version > 0 && !w.exists:
			return status.Errorf(codes.NotFound, "no record %s/%s", w.collection, w.id)
		case w.version > 0 && w.out.Version != w.version:
			return status.Errorf(codes.Aborted, "record %s/%s is at version %d, not %d", w.collection, w.id, w.out.Version, w.version)
		}
		created := w.now
		if w.exists {
			created = w.out.CreatedAt
		}
		w.out = recordRow{Collection: w.collection, ID: w.id, Version: w.version + 1, Document: string(w.document), CreatedAt: created, UpdatedAt: w.now}
	}
	var creates, updates []*batchWrite
	for _, w := range writes {
		if w.exists {
			updates = append(updates, w)
		} else {
			creates = append(creates, w)
		}
	}
	if err := s.insertBatch(ctx, tx, creates, ""); err != nil {
		return s.existing(ctx, tx, creates, err)
	}
	// The records replaced are locked and there: each row of the upsert
	// replaces one.
	if err := s.insertBatch(ctx, tx, updates, " ON DUPLICATE KEY UPDATE version = VALUES(version), document = VALUES(document), updated_at = VALUES(updated_at)"); err != nil {
		return err
	}
	for _, collection := range order {
		var replaced []any
		var index []fieldRow
		for _, w := range byCollection[collection] {
			if w.exists {
				replaced = append(replaced, w.id)
			}
			index = append(index, fieldRows(w.id, w.fields)...)
		}
		for len(replaced) > 0 {
			chunk := replaced[:min(len(replaced), batchRowsPerInsert)]
			replaced = replaced[len(chunk):]
			if _, err := tx.ExecContext(ctx, "DELETE FROM plugin_record_fields WHERE plugin = ? AND collection = ? AND record_id IN (?"+strings.Repeat(", ?", len(chunk)-1)+")",
				append([]any{s.plugin, collection}, chunk...)...); err != nil {
				return fmt.Errorf("replace records' index: %w", err)
			}
		}
		if err := insertFields(ctx, tx, s.plugin, collection, index); err != nil {
			return err
		}
	}
	return nil
}

// lockBatch locks the records of ws, all of collection, that exist, and
// notes their versions and creation.
func (s *records) lockBatch(ctx context.Context, tx *sqlx.Tx, collection string, ws []*batchWrite) error {
	byID := make(map[string]*batchWrite, len(ws))
	for _, w := range ws {
		byID[w.id] = w
	}
	for len(ws) > 0 {
		chunk := ws[:min(len(ws), batchRowsPerInsert)]
		ws = ws[len(chunk):]
		args := make([]any, 0, 2+len(chunk))
		args = append(args, s.plugin, collection)
		for _, w := range chunk {
			args = append(args, w.id)
		}
		var found []recordRow
		err := tx.SelectContext(ctx, &found, "SELECT collection, record_id, version, '' AS document, created_at, updated_at FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id IN (?"+
			strings.Repeat(", ?", len(chunk)-1)+") FOR UPDATE", args...)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		for _, r := range found {
			if w, ok := byID[r.ID]; ok {
				w.exists, w.out = true, r
			}
		}
	}
	return nil
}

// replacing are the writes of ws that replace a record (a version
// given). Only they are locked before writing: a record created is
// refused by its insert if it exists, and reading it first would lock
// the gap where it goes, so that two batches creating records beside
// each other deadlock.
func replacing(ws []*batchWrite) []*batchWrite {
	var out []*batchWrite
	for _, w := range ws {
		if w.version > 0 {
			out = append(out, w)
		}
	}
	return out
}

// existing turns the failure err of creating creates into the refusal
// naming the first of them that exists, if one does.
func (s *records) existing(ctx context.Context, tx *sqlx.Tx, creates []*batchWrite, err error) error {
	var dup *mysql.MySQLError
	if !errors.As(err, &dup) || dup.Number != 1062 {
		return err
	}
	byCollection := map[string][]*batchWrite{}
	for _, w := range creates {
		byCollection[w.collection] = append(byCollection[w.collection], w)
	}
	for collection, ws := range byCollection {
		if err := s.lockBatch(ctx, tx, collection, ws); err != nil {
			return err
		}
	}
	for _, w := range creates {
		if w.exists {
			return status.Errorf(codes.AlreadyExists, "record %s/%s exists; give its version to replace it", w.collection, w.id)
		}
	}
	return status.Errorf(codes.AlreadyExists, "a record of the batch was created meanwhile: %s", dup.Message)
}

// insertBatch inserts ws's rows of plugin_records, suffix closing each
// statement.
func (s *records) insertBatch(ctx context.Context, tx *sqlx.Tx, ws []*batchWrite, suffix string) error {
	for len(ws) > 0 {
		chunk := ws[:min(len(ws), batchRowsPerInsert)]
		ws = ws[len(chunk):]
		args := make([]any, 0, 7*len(chunk))
		for _, w := range chunk {
			args = append(args, s.plugin, w.collection, w.id, w.out.Version, w.out.Document, w.out.CreatedAt, w.out.UpdatedAt)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"+
			strings.Repeat(", (?, ?, ?, ?, ?, ?, ?)", len(chunk)-1)+suffix, args...)
		if err != nil {
			return fmt.Errorf("write records: %w", err)
		}
	}
	return nil
}
