package host

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

var (
	counterPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$`)
	numberFieldPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// numbers is the Numbers service: a record's put that gives the record
// the next number of one of the plugin's counters in the same
// transaction of the capability's county. It writes records as PutRecord
// does, under the same checks; anonymous callers (a public route's) use
// it as they use records.
type numbers struct {
	*records
}

func (s *numbers) PutNumbered(ctx context.Context, req *pluginv1.PutNumberedRequest) (*pluginv1.NumberedRecord, error) {
	county, err := s.county(req.GetCapability())
	if err != nil {
		return nil, err
	}
	if err := checkKey(req.GetCollection(), req.GetId()); err != nil {
		return nil, err
	}
	if req.GetVersion() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "version %d is negative", req.GetVersion())
	}
	counter, field := req.GetCounter(), req.GetField()
	if !counterPattern.MatchString(counter) {
		return nil, status.Errorf(codes.InvalidArgument, "counter %q: use 1 to 128 letters, digits, dots, underscores, colons, slashes or dashes, starting with a letter or digit", counter)
	}
	if !numberFieldPattern.MatchString(field) {
		return nil, status.Errorf(codes.InvalidArgument, "field %q: use 1 to 64 letters, digits or underscores, not starting with a digit", field)
	}
	tmpl, err := numberTemplate(req.GetDocument(), field)
	if err != nil {
		return nil, err
	}
	// Everything but the number is checked before the transaction, which
	// holds the counter for its length.
	indexedFields := s.indexed[req.GetCollection()]
	fields, err := indexedValues(slices.DeleteFunc(slices.Clone(indexedFields), func(f string) bool { return f == field }), tmpl.rest)
	if err != nil {
		return nil, err
	}
	numberIndexed := slices.Contains(indexedFields, field)
	now := s.now().UTC().Truncate(time.Microsecond)
	w := recordWrite{collection: req.GetCollection(), id: req.GetId(), version: req.GetVersion(), now: now, fields: fields}
	// A create whose document fits the limit with any number goes to the
	// database in one packet.
	if w.version == 0 && len(tmpl.head)+maxNumberDigits+len(tmpl.tail) <= MaxDocumentBytes {
		out, number, err := s.createNumbered(ctx, county, counter, field, numberIndexed, tmpl, w)
		if err != nil {
			return nil, s.grpcError(ctx, err)
		}
		return &pluginv1.NumberedRecord{Record: out.proto(), Number: number}, nil
	}
	// A replace, or a create whose document is within a number's digits
	// of the limit, which only the number taken tells whether it fits.
	var (
		out    recordRow
		number int64
	)
	put := func(ctx context.Context, tx *sqlx.Tx) error {
		// The counter first, then the record, in every numbered put: two
		// of them never wait for each other's lock in the other order.
		res, err := tx.ExecContext(ctx, takeNumber("plugin_counters"), s.plugin, counter)
		if err != nil {
			return fmt.Errorf("take a number of counter %s: %w", counter, err)
		}
		if number, err = res.LastInsertId(); err != nil || number < 1 {
			return fmt.Errorf("take a number of counter %s: got %d (%v)", counter, number, err)
		}
		document := tmpl.with(number)
		if len(document) > MaxDocumentBytes {
			return status.Errorf(codes.InvalidArgument, "document is %d bytes with its number; the limit is %d", len(document), MaxDocumentBytes)
		}
		withNumber := w
		withNumber.document = document
		if numberIndexed {
			withNumber.fields = append(slices.Clone(fields), fieldValue{field, strconv.FormatInt(number, 10)})
		}
		out, err = s.write(ctx, tx, withNumber)
		return err
	}
	err = store.AgainIfDeadlocked(func() error { return s.router.InTenantTx(ctx, county, put) })
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.NumberedRecord{Record: out.proto(), Number: number}, nil
}

// takeNumber raises a counter of counters (plugin_counters, named in
// full on a connection with no USE), created at 1, and leaves its new
// value as the connection's LAST_INSERT_ID().
func takeNumber(counters string) string {
	return "INSERT INTO " + counters + " (plugin, counter, value) VALUES (?, ?, LAST_INSERT_ID(1)) ON DUPLICATE KEY UPDATE value = LAST_INSERT_ID(value + 1)"
}

// maxNumberDigits is the most digits a number has: a counter is a
// BIGINT, and never below 1.
const maxNumberDigits = 19

// createNumbered creates the record of w with the next number of
// counter in its field, in one transaction sent whole in one packet
// (Router.InTenantTrip): the counter's row, which every numbered put of
// the counter waits for, stays locked for the packet's run on the server
// and the commit, with no round trip to the host among them. The server
// writes the number into the document (head, number, tail) and into its
// index row from LAST_INSERT_ID(), which the counter's statement sets on
// the connection; the packet reads it back. w's document must fit
// MaxDocumentBytes with a number of maxNumberDigits.
func (s *numbers) createNumbered(ctx context.Context, county, counter, field string, numberIndexed bool, tmpl numbered, w recordWrite) (recordRow, int64, error) {
	var number int64
	build := func(schema string) []store.TripStatement {
		return s.numberedStatements(schema, counter, field, numberIndexed, tmpl, w, &number)
	}
	err := store.AgainIfDeadlocked(func() error { return s.router.InTenantTrip(ctx, county, build) })
	var failed *store.TripError
	switch {
	case err == nil:
	case !errors.As(err, &failed):
		return recordRow{}, 0, err
	case failed.Reads == 0 && isDuplicate(err):
		return recordRow{}, 0, errRecordExists(w.collection, w.id)
	case failed.Reads == 0:
		return recordRow{}, 0, fmt.Errorf("take a number of counter %s and create record: %w", counter, err)
	default:
		return recordRow{}, 0, fmt.Errorf("index records: %w", err)
	}
	if number < 1 {
		return recordRow{}, 0, fmt.Errorf("create numbered record %s/%s: committed, yet read number %d", w.collection, w.id, number)
	}
	w.document = tmpl.with(number)
	return w.created(), number, nil
}

// numberedStatements are createNumbered's packet on schema, quoted, the
// number read into number. The counter first, then the record, as in
// every numbered put, each table named in full in the county's schema:
// the packet has no USE, and its connection may have another county's
// schema selected (TestANumberedPacketNamesEveryTableInItsCounty). The
// one read, of the number, places a failure (store.TripError's Reads):
// before it, the counter's statement or the record's failed, and only
// the record's can be a duplicate (the counter's updates the row it
// finds); after it, an index row's or the commit. A statement that did
// not fail wrote its row: the record's needs no ROW_COUNT() read back,
// which would cost the packet a result set.
func (s *numbers) numberedStatements(schema, counter, field string, numberIndexed bool, tmpl numbered, w recordWrite, number *int64) []store.TripStatement {
	key := []any{s.plugin, w.collection, w.id}
	statements := []store.TripStatement{
		{Statement: store.Statement{Query: takeNumber(schema + ".plugin_counters"), Args: []any{s.plugin, counter}}},
		{Statement: store.Statement{Query: "INSERT INTO " + schema + ".plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES (?, ?, ?, 1, CONCAT(?, LAST_INSERT_ID(), ?), ?, ?)",
			Args: append(slices.Clone(key), string(tmpl.head), string(tmpl.tail), w.now, w.now)}},
		{Statement: store.Statement{Query: "SELECT LAST_INSERT_ID()"}, Into: []any{number}},
	}
	for _, st := range fieldsInserts(schema+"."+fieldsTable, s.plugin, w.collection, fieldRows(w.id, w.fields)) {
		statements = append(statements, store.TripStatement{Statement: st})
	}
	if numberIndexed {
		statements = append(statements, store.TripStatement{Statement: store.Statement{
			Query: "INSERT INTO " + schema + "." + fieldsTable + " (plugin, collection, record_id, field, value) VALUES (?, ?, ?, ?, LAST_INSERT_ID())",
			Args:  append(slices.Clone(key), field)}})
	}
	return statements
}

// numbered is a document waiting for its number: rest is the document
// without the field, and the numbered document is head, the number, tail.
type numbered struct {
	rest, head, tail []byte
}

func (n numbered) with(number int64) []byte {
	out := make([]byte, 0, len(n.head)+20+len(n.tail))
	out = append(out, n.head...)
	out = strconv.AppendInt(out, number, 10)
	return append(out, n.tail...)
}

// numberTemplate checks that document is a JSON object within the size
// limit and prepares it to receive a number in its top-level field,
// replacing what the field holds. The document is written again with its
// members in the order of their names (JSON objects have no order) and
// the field first, byte for byte as encoding/json writes the object
// decoded into a map: walked rather than decoded, as a submission's is,
// for every numbered put goes through here.
func numberTemplate(document []byte, field string) (numbered, error) {
	if len(document) > MaxDocumentBytes {
		return numbered{}, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(document), MaxDocumentBytes)
	}
	members, ok := objectMembers(document)
	if !ok {
		return numbered{}, status.Error(codes.InvalidArgument, "document is not a JSON object")
	}
	written, err := writtenMembers(members, []string{field})
	if err != nil {
		return numbered{}, status.Errorf(codes.InvalidArgument, "document: %v", err)
	}
	rest := writeMembers(written, nil)
	// The field's name matches numberFieldPattern: nothing to escape.
	head := []byte(`{"` + field + `":`)
	tail := []byte("}")
	if len(rest) > 2 {
		tail = append([]byte(","), rest[1:]...)
	}
	return numbered{rest: rest, head: head, tail: tail}, nil
}
