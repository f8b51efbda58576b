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

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Router runs work on a county's schema (core/store's Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
	// InTenantQualified is the county's pool and quoted schema, for one
	// statement naming its tables in full.
	InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error)
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
	fields, err := s.indexedValues(req.GetCollection(), req.GetDocument())
	if err != nil {
		return nil, err
	}
	if req.GetVersion() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "version %d is negative", req.GetVersion())
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out recordRow
	err = s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		key := []any{s.plugin, req.GetCollection(), req.GetId()}
		if req.GetVersion() == 0 {
			_, err := tx.ExecContext(ctx, "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
				append(key, string(req.GetDocument()), now, now)...)
			var dup *mysql.MySQLError
			if errors.As(err, &dup) && dup.Number == 1062 {
				return status.Errorf(codes.AlreadyExists, "record %s/%s exists; give its version to replace it", req.GetCollection(), req.GetId())
			}
			if err != nil {
				return fmt.Errorf("create record: %w", err)
			}
			out = recordRow{Collection: req.GetCollection(), ID: req.GetId(), Version: 1, Document: string(req.GetDocument()), CreatedAt: now, UpdatedAt: now}
		} else {
			err := tx.GetContext(ctx, &out, "SELECT "+recordColumns+" FROM plugin_records WHERE plugin = ? AND collection = ? AND record_id = ? FOR UPDATE", key...)
			if errors.Is(err, sql.ErrNoRows) {
				return status.Errorf(codes.NotFound, "no record %s/%s", req.GetCollection(), req.GetId())
			}
			if err != nil {
				return fmt.Errorf("read record: %w", err)
			}
			if out.Version != req.GetVersion() {
				return status.Errorf(codes.Aborted, "record %s/%s is at version %d, not %d", req.GetCollection(), req.GetId(), out.Version, req.GetVersion())
			}
			out.Version, out.Document, out.UpdatedAt = out.Version+1, string(req.GetDocument()), now
			if _, err := tx.ExecContext(ctx, "UPDATE plugin_records SET version = ?, document = ?, updated_at = ? WHERE plugin = ? AND collection = ? AND record_id = ?",
				append([]any{out.Version, out.Document, now}, key...)...); err != nil {
				return fmt.Errorf("replace record: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM plugin_record_fields WHERE plugin = ? AND collection = ? AND record_id = ?", key...); err != nil {
				return fmt.Errorf("replace record: %w", err)
			}
		}
		if len(fields) == 0 {
			return nil
		}
		args := make([]any, 0, 5*len(fields))
		for _, f := range fields {
			args = append(args, s.plugin, req.GetCollection(), req.GetId(), f.name, f.value)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO plugin_record_fields (plugin, collection, record_id, field, value) VALUES (?, ?, ?, ?, ?)"+
			strings.Repeat(", (?, ?, ?, ?, ?)", len(fields)-1), args...)
		if err != nil {
			return fmt.Errorf("index record: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return out.proto(), nil
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
	err = db.GetContext(ctx, &out, "SELECT "+recordColumns+" FROM "+schema+".plugin_records WHERE plugin = ? AND collection = ? AND record_id = ?", s.plugin, req.GetCollection(), req.GetId())
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

// indexedValues checks that document is a JSON object within the size
// limit and returns the values of its collection's indexed fields: the
// top-level strings, numbers and booleans among them.
func (s *records) indexedValues(collection string, document []byte) ([]fieldValue, error) {
	if len(document) > MaxDocumentBytes {
		return nil, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(document), MaxDocumentBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return nil, status.Error(codes.InvalidArgument, "document is not a JSON object")
	}
	var out []fieldValue
	for _, field := range s.indexed[collection] {
		raw, ok := top[field]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "field %s: %v", field, err)
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
			return nil, status.Errorf(codes.InvalidArgument, "indexed field %s must be a string, a number or a boolean", field)
		}
		if len(text) > maxIndexedValue {
			return nil, status.Errorf(codes.InvalidArgument, "indexed field %s is over %d bytes", field, maxIndexedValue)
		}
		out = append(out, fieldValue{field, text})
	}
	return out, nil
}

func (s *records) isIndexed(collection, field string) bool {
	return slices.Contains(s.indexed[collection], field)
}
