package host

import (
	"bytes"
	"context"
	"encoding/json"
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
	var (
		out    recordRow
		number int64
	)
	put := func(ctx context.Context, tx *sqlx.Tx) error {
		// The counter first, then the record, in every numbered put: two
		// of them never wait for each other's lock in the other order.
		res, err := tx.ExecContext(ctx, "INSERT INTO plugin_counters (plugin, counter, value) VALUES (?, ?, LAST_INSERT_ID(1)) ON DUPLICATE KEY UPDATE value = LAST_INSERT_ID(value + 1)",
			s.plugin, counter)
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
		all := fields
		if numberIndexed {
			all = append(slices.Clone(fields), fieldValue{field, strconv.FormatInt(number, 10)})
		}
		out, err = s.write(ctx, tx, recordWrite{collection: req.GetCollection(), id: req.GetId(), version: req.GetVersion(), now: now, document: document, fields: all})
		return err
	}
	err = store.AgainIfDeadlocked(func() error { return s.router.InTenantTx(ctx, county, put) })
	if err != nil {
		return nil, s.grpcError(ctx, err)
	}
	return &pluginv1.NumberedRecord{Record: out.proto(), Number: number}, nil
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
// the field first.
func numberTemplate(document []byte, field string) (numbered, error) {
	if len(document) > MaxDocumentBytes {
		return numbered{}, status.Errorf(codes.InvalidArgument, "document is %d bytes; the limit is %d", len(document), MaxDocumentBytes)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(document, &top); err != nil || top == nil {
		return numbered{}, status.Error(codes.InvalidArgument, "document is not a JSON object")
	}
	delete(top, field)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	// The document's strings as they came: no \u003c for a < in a title.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(top); err != nil {
		return numbered{}, status.Errorf(codes.InvalidArgument, "document: %v", err)
	}
	rest := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	// The field's name matches numberFieldPattern: nothing to escape.
	head := []byte(`{"` + field + `":`)
	tail := []byte("}")
	if len(rest) > 2 {
		tail = append([]byte(","), rest[1:]...)
	}
	return numbered{rest: rest, head: head, tail: tail}, nil
}
