package host

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Router runs work on a county's schema (core/store's Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
	// InTenantQualified is the county's pool and quoted schema, for one
	// statement naming its tables in full.
	InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error)
	// InTenantTrip runs the statements build gives for the county's
	// schema, quoted, as one transaction sent whole in one packet; they
	// name their tables in full.
	InTenantTrip(ctx context.Context, code string, build func(schema string) []store.TripStatement) error
}

// Limits of the records store.
const (
	MaxDocumentBytes = 1 << 20
	maxIndexedValue  = 255
	defaultPageSize  = 50
	maxPageSize      = 200
)

var (
	collectionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	recordIDPattern   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// records serves the Host services of one plugin process: every call is
// checked against its capability, which must be this plugin's, and runs
// in the capability's county, in this plugin's namespace.
type records struct {
	guard
	// indexed lists, per collection, the fields the manifest declares
	// indexed.
	indexed map[string][]string
	router  Router
	now     func() time.Time
}

func checkKey(collection, id string) error {
	if !collectionPattern.MatchString(collection) {
		return status.Errorf(codes.InvalidArgument, "collection %q: use 1 to 64 lowercase letters, digits or underscores, starting with a letter", collection)
	}
	if !recordIDPattern.MatchString(id) {
		return status.Errorf(codes.InvalidArgument, "record id %q: use 1 to 128 letters, digits, dots, colons, underscores or dashes", id)
	}
	return nil
}

type recordRow struct {
	Collection string    `db:"collection"`
	ID         string    `db:"record_id"`
	Version    int64     `db:"version"`
	Document   string    `db:"document"`
	CreatedAt  time.Time `db:"created_at"`
	UpdatedAt  time.Time `db:"updated_at"`
}

func (r recordRow) proto() *pluginv1.Record {
	return &pluginv1.Record{Collection: r.Collection, Id: r.ID, Version: r.Version, Document: []byte(r.Document),
		CreatedAt: r.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: r.UpdatedAt.UTC().Format(time.RFC3339Nano)}
}

const recordColumns = "collection, record_id, version, document, created_at, updated_at"

func (s *records) PutRecord(ctx context.Context, req *pluginv1.PutRecordRequest) (*pluginv1.Record, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetId()); err != nil {
		return nil, err
	}
	fields, err := indexedValues(s.indexed[req.GetCollection()], req.GetDocument())
	if err != nil {
		return nil, err
	}
	if req.GetVersion() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "version %d is negative", req.GetVersion())
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out recordRow
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		out, err = s.write(ctx, tx, recordWrite{collection: req.GetCollection(), id: req.GetId(), version: req.GetVersion(), now: now,
			document: req.GetDocument(), fields: fields})
		return err
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return out.proto(), nil
}

// recordWrite is a put of one record: version 0 creates it, another
// replaces it at that version.
type recordWrite struct {
	collection, id string
	version        int64
	now            time.Time
	// document and its indexed values are checked already.
	document []byte
	fields   []fieldValue
	// unchanged, for a creation, are records that must be as read for
	// it to be written (a submission's): checked in its
	// INSERT, no round trip of their own.
	unchanged []recordVersion
}

// created is the record w creates.
func (w recordWrite) created() recordRow {
	return recordRow{Collection: w.collection, ID: w.id, Version: 1, Document: string(w.document), CreatedAt: w.now, UpdatedAt: w.now}
}

// isDuplicate says that err is MariaDB's ER_DUP_ENTRY: a key taken.
func isDuplicate(err error) bool {
	var dup *mysql.MySQLError
	return errors.As(err, &dup) && dup.Number == 1062
}

func errRecordExists(collection, id string) error {
	return status.Errorf(codes.AlreadyExists, "record %s/%s exists; give its version to replace it", collection, id)
}

// write puts a record in tx: every put of a record goes through it.
func (s *records) write(ctx context.Context, tx *sqlx.Tx, w recordWrite) (recordRow, error) {
	var out recordRow
	key := []any{s.plugin, w.collection, w.id}
	if w.version == 0 {
		query, args := "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
			append(key, string(w.document), w.now, w.now)
		if len(w.unchanged) > 0 {
			query, args = s.insertIfUnchanged(args, w.unchanged)
		}
		res, err := tx.ExecContext(ctx, query, args...)
		if isDuplicate(err) {
			return recordRow{}, errRecordExists(w.collection, w.id)
		}
		if err != nil {
			return recordRow{}, fmt.Errorf("create record: %w", err)
		}
		if len(w.unchanged) > 0 {
			n, err := res.RowsAffected()
			if err != nil {
				return recordRow{}, fmt.Errorf("create record: %w", err)
			}
			if n == 0 {
				return recordRow{}, errStale(w.unchanged)
			}
		}
		return w.created(), indexRecord(ctx, tx, s.plugin, w.collection, w.id, w.fields)
	}
	err := tx.GetContext(ctx, &out, "SELECT "+recordColumns+" FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ? FOR UPDATE", key...)
	if errors.Is(err, sql.ErrNoRows) {
		return recordRow{}, status.Errorf(codes.NotFound, "no record %s/%s", w.collection, w.id)
	}
	if err != nil {
		return recordRow{}, fmt.Errorf("read record: %w", err)
	}
	if out.Version != w.version {
		return recordRow{}, status.Errorf(codes.Aborted, "record %s/%s is at version %d, not %d", w.collection, w.id, out.Version, w.version)
	}
	out.Version, out.Document, out.UpdatedAt = out.Version+1, string(w.document), w.now
	if _, err := tx.ExecContext(ctx, "UPDATE plugin_records SET version = ?, document = ?, updated_at = ? WHERE plugin = ? AND collection = ? AND record_id = ?",
		append([]any{out.Version, out.Document, w.now}, key...)...); err != nil {
		return recordRow{}, fmt.Errorf("replace record: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM plugin_record_fields WHERE plugin = ? AND collection = ? AND record_id = ?", key...); err != nil {
		return recordRow{}, fmt.Errorf("replace record: %w", err)
	}
	return out, indexRecord(ctx, tx, s.plugin, w.collection, w.id, w.fields)
}

// insertIfUnchanged is the statement, and its arguments, that creates a
// record whose columns are args only if every one of unchanged is at its
// version and was last written when it says. INSERT … SELECT reads them
// as a locking read, in the statement that creates the record: no round
// trip of its own. It runs after the submission took its number, so a
// record of unchanged that another transaction holds keeps the county's
// counter waiting with it; the records a module names (an item of its
// catalogue) are rarely written.
func (s *records) insertIfUnchanged(args []any, unchanged []recordVersion) (string, []any) {
	var q strings.Builder
	q.WriteString("INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) SELECT ?, ?, ?, 1, ?, ?, ? FROM DUAL WHERE ")
	for i, u := range unchanged {
		if i > 0 {
			q.WriteString(" AND ")
		}
		q.WriteString("EXISTS (SELECT 1 FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ? AND version = ? AND updated_at = ?)")
		args = append(args, s.plugin, u.collection, u.id, u.version, u.updatedAt)
	}
	return q.String(), args
}

// fieldRows are the index rows of record id.
func fieldRows(id string, fields []fieldValue) []fieldRow {
	index := make([]fieldRow, len(fields))
	for i, f := range fields {
		index[i] = fieldRow{id, f}
	}
	return index
}

func (s *records) GetRecord(ctx context.Context, req *pluginv1.GetRecordRequest) (*pluginv1.Record, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetId()); err != nil {
		return nil, err
	}
	// A read of one statement: on the county's schema named in full,
	// without a USE before it.
	db, schema, err := s.router.InTenantQualified(ctx, county)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	var out recordRow
	// Scanned into its fields by hand, not mapped by sqlx's reflection:
	// the read module requests make most often.
	err = db.QueryRowContext(ctx, "SELECT "+recordColumns+" FROM "+schema+".plugin_records WHERE plugin = ? AND collection = ? AND record_id = ?", s.plugin, req.GetCollection(), req.GetId()).
		Scan(&out.Collection, &out.ID, &out.Version, &out.Document, &out.CreatedAt, &out.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, status.Errorf(codes.NotFound, "no record %s/%s", req.GetCollection(), req.GetId())
	}
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return out.proto(), nil
}

func (s *records) DeleteRecord(ctx context.Context, req *pluginv1.DeleteRecordRequest) (*pluginv1.DeleteRecordResponse, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetId()); err != nil {
		return nil, err
	}
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		key := []any{s.plugin, req.GetCollection(), req.GetId()}
		var version int64
		err := tx.GetContext(ctx, &version, "SELECT version FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ? FOR UPDATE", key...)
		if errors.Is(err, sql.ErrNoRows) {
			return status.Errorf(codes.NotFound, "no record %s/%s", req.GetCollection(), req.GetId())
		}
		if err != nil {
			return fmt.Errorf("read record: %w", err)
		}
		if version != req.GetVersion() {
			return status.Errorf(codes.Aborted, "record %s/%s is at version %d, not %d", req.GetCollection(), req.GetId(), version, req.GetVersion())
		}
		for _, table := range []string{"plugin_record_fields", "plugin_records"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE plugin = ? AND collection = ? AND record_id = ?", key...); err != nil {
				return fmt.Errorf("delete record: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.DeleteRecordResponse{}, nil
}

func (s *records) QueryRecords(ctx context.Context, req *pluginv1.QueryRecordsRequest) (*pluginv1.QueryRecordsResponse, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if !collectionPattern.MatchString(req.GetCollection()) {
		return nil, status.Errorf(codes.InvalidArgument, "collection %q is not a collection name", req.GetCollection())
	}
	limit := int(req.GetLimit())
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0 || limit > maxPageSize:
		return nil, status.Errorf(codes.InvalidArgument, "limit %d is not between 1 and %d", limit, maxPageSize)
	}
	db, schema, err := s.router.InTenantQualified(ctx, county)
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	query := "SELECT r.collection, r.record_id, r.version, r.document, r.created_at, r.updated_at FROM " + schema + ".plugin_records r"
	var args []any
	fields := slices.Sorted(maps.Keys(req.GetWhere()))
	for i, field := range fields {
		if !s.isIndexed(req.GetCollection(), field) {
			return nil, status.Errorf(codes.InvalidArgument, "field %q of collection %s is not indexed; the manifest declares which are", field, req.GetCollection())
		}
		alias := "f" + strconv.Itoa(i)
		query += " JOIN " + schema + ".plugin_record_fields " + alias + " ON " + alias + ".plugin = r.plugin AND " + alias + ".collection = r.collection AND " +
			alias + ".record_id = r.record_id AND " + alias + ".field = ? AND " + alias + ".value = ?"
		args = append(args, field, req.GetWhere()[field])
	}
	query += " WHERE r.plugin = ? AND r.collection = ? AND r.record_id > ? ORDER BY r.record_id LIMIT ?"
	args = append(args, s.plugin, req.GetCollection(), req.GetAfter(), limit+1)
	var rows []recordRow
	if err := db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, s.grpcError(ctx, err)
	}
	resp := &pluginv1.QueryRecordsResponse{}
	if len(rows) > limit {
		rows = rows[:limit]
		resp.NextAfter = rows[limit-1].ID
	}
	for _, r := range rows {
		resp.Records = append(resp.Records, r.proto())
	}
	return resp, nil
}

type fieldValue struct{ name, value string }

// fieldRow is a row of plugin_record_fields of one collection.
type fieldRow struct {
	record string
	fieldValue
}

// fieldRowsPerInsert bounds the rows of one INSERT, so that a batch of
// a reindex stays under the server's 65,535 placeholders whatever the
// manifest indexes.
const fieldRowsPerInsert = 1000

// insertFields writes rows into plugin_record_fields for plugin's
// collection.
func insertFields(ctx context.Context, tx *sqlx.Tx, plugin, collection string, rows []fieldRow) error {
	for _, st := range fieldsInserts(fieldsTable, plugin, collection, rows) {
		if _, err := tx.ExecContext(ctx, st.Query, st.Args...); err != nil {
			return fmt.Errorf("index records: %w", err)
		}
	}
	return nil
}

// fieldsTable is the table of the index rows, on the connection's
// schema; a statement on a connection with no USE names it in full.
const fieldsTable = "plugin_record_fields"

// fieldsInserts are the statements that write rows into table (the
// index rows' table, fieldsTable or named in full), fieldRowsPerInsert
// at most each.
func fieldsInserts(table, plugin, collection string, rows []fieldRow) []store.Statement {
	var out []store.Statement
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), fieldRowsPerInsert)]
		rows = rows[len(chunk):]
		query, args := fieldsInsert(table, plugin, collection, chunk)
		out = append(out, store.Statement{Query: query, Args: args})
	}
	return out
}

// fieldsInsert is the statement that writes rows, at most
// fieldRowsPerInsert, into table (fieldsTable or named in full).
func fieldsInsert(table, plugin, collection string, rows []fieldRow) (string, []any) {
	args := make([]any, 0, 5*len(rows))
	for _, r := range rows {
		args = append(args, plugin, collection, r.record, r.name, r.value)
	}
	return "INSERT INTO " + table + " (plugin, collection, record_id, field, value) VALUES (?, ?, ?, ?, ?)" +
		strings.Repeat(", (?, ?, ?, ?, ?)", len(rows)-1), args
}

// indexRecord writes the index rows of one record's fields, which are
// few (the manifest's indexed fields): nothing reads them back in the
// transaction that writes the record, so they go with its deferred
// writes (store.Later).
func indexRecord(ctx context.Context, tx *sqlx.Tx, plugin, collection, id string, fields []fieldValue) error {
	if len(fields) == 0 {
		return nil
	}
	if len(fields) > fieldRowsPerInsert {
		return insertFields(ctx, tx, plugin, collection, fieldRows(id, fields))
	}
	query, args := fieldsInsert(fieldsTable, plugin, collection, fieldRows(id, fields))
	if err := store.Later(ctx, tx, query, args...); err != nil {
		return fmt.Errorf("index records: %w", err)
	}
	return nil
}

// indexedValues checks that document is a JSON object within the size
// limit and returns its values of the fields indexed: the top-level
// strings, numbers and booleans among them. A field whose value cannot
// be indexed (another JSON type, a string over the limit) gives no
// value, and the first such is the error; the values of the others are
// returned with it, for a reindex to keep them where a put refuses the
// document.
func indexedValues(indexed []string, document []byte) ([]fieldValue, error) {
	if len(document) > MaxDocumentBytes {
		return nil, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(document), MaxDocumentBytes)
	}
	values, ok := objectFields(document, indexed)
	if !ok {
		return nil, status.Error(codes.InvalidArgument, "document is not a JSON object")
	}
	var (
		out   []fieldValue
		first error
	)
	refuse := func(err error) {
		if first == nil {
			first = err
		}
	}
	for i, field := range indexed {
		raw := values[i]
		if raw == nil {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			refuse(status.Errorf(codes.InvalidArgument, "field %s: %v", field, err))
			continue
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
			refuse(status.Errorf(codes.InvalidArgument, "indexed field %s must be a string, a number or a boolean", field))
			continue
		}
		if len(text) > maxIndexedValue {
			refuse(status.Errorf(codes.InvalidArgument, "indexed field %s is over %d bytes", field, maxIndexedValue))
			continue
		}
		out = append(out, fieldValue{field, text})
	}
	return out, first
}

func (s *records) isIndexed(collection, field string) bool {
	return slices.Contains(s.indexed[collection], field)
}

// reindexBatch is how many records one transaction of a reindex
// rewrites: few round trips for a big collection, yet no transaction
// that holds its locks for long.
const reindexBatch = 500

// reindexed is what a reindex of a collection did.
type reindexed struct {
	records int
	// unindexable counts the records left without the row of a field
	// whose value cannot be indexed; examples are the first of their
	// ids.
	unindexable int
	examples    []string
}

// maxExamples bounds the ids of unindexable records a reindex reports.
const maxExamples = 10

// reindex gives every record of plugin's collection in county exactly
// the rows of plugin_record_fields that indexedValues gives it for
// fields, the fields a new version of the plugin indexes: the rows of
// fields no longer indexed go, those of fields newly indexed come. It
// goes through the records in batches in the order of their ids, each
// batch a transaction of its own.
func reindex(ctx context.Context, router Router, county, plugin, collection string, fields []string) (reindexed, error) {
	var done reindexed
	for after := ""; ; {
		batch, err := reindexAfter(ctx, router, county, plugin, collection, fields, after)
		if err != nil {
			return done, err
		}
		done.records += batch.records
		done.unindexable += batch.unindexable
		done.examples = append(done.examples, batch.examples[:min(len(batch.examples), maxExamples-len(done.examples))]...)
		if batch.records < reindexBatch {
			return done, nil
		}
		after = batch.last
	}
}

type reindexedBatch struct {
	reindexed
	last string
}

// reindexAfter reindexes the batch of records whose ids follow after.
func reindexAfter(ctx context.Context, router Router, county, plugin, collection string, fields []string, after string) (reindexedBatch, error) {
	var batch reindexedBatch
	err := router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		// Locked, so that a put of one of these records waits for the
		// batch and then writes its own rows: none written here is of a
		// document already replaced.
		rows, err := tx.QueryContext(ctx, "SELECT record_id, document FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id > ? ORDER BY record_id LIMIT ? FOR UPDATE",
			plugin, collection, after, reindexBatch)
		if err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		defer rows.Close()
		var index []fieldRow
		for rows.Next() {
			// One document in memory at a time, not the batch's.
			var (
				id       string
				document sql.RawBytes
			)
			if err := rows.Scan(&id, &document); err != nil {
				return fmt.Errorf("read records: %w", err)
			}
			values, err := indexedValues(fields, document)
			if err != nil {
				batch.unindexable++
				if len(batch.examples) < maxExamples {
					batch.examples = append(batch.examples, id)
				}
			}
			for _, v := range values {
				index = append(index, fieldRow{id, v})
			}
			batch.records++
			batch.last = id
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		// The connection is free for the statements below only once
		// the result is closed.
		if err := rows.Close(); err != nil {
			return fmt.Errorf("read records: %w", err)
		}
		if batch.records == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM plugin_record_fields WHERE plugin = ? AND collection = ? AND record_id > ? AND record_id <= ?",
			plugin, collection, after, batch.last); err != nil {
			return fmt.Errorf("drop index rows: %w", err)
		}
		return insertFields(ctx, tx, plugin, collection, index)
	})
	return batch, err
}
