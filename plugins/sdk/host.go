package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Errors of the host's services, to check with errors.Is.
var (
	// ErrNotFound: no such record or file in this county.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record changed since the version given.
	ErrConflict = errors.New("changed meanwhile")
	// ErrInvalid: the host refused the call's arguments.
	ErrInvalid = errors.New("invalid")
	// ErrDenied: the capability is forged, expired or not this plugin's.
	ErrDenied = errors.New("denied")
	// ErrNotReady: the file's bytes have not arrived yet.
	ErrNotReady = errors.New("not ready")
	// ErrBusy: the plugin, or the county, has as many calls to the host
	// under way as the host serves at once, or the plugin calls more
	// often than it allows; try again later.
	ErrBusy = errors.New("busy")
	// ErrTooLarge: a public upload is larger than the module or the host
	// takes.
	ErrTooLarge = errors.New("too large")
	// ErrStale: a record a submission was made against (Unchanged)
	// changed since it was read; nothing was written. It is an
	// ErrConflict too.
	ErrStale = fmt.Errorf("%w: a record the submission was made against changed", ErrConflict)
)

// Host is the host's services for one request. Everything it reaches is
// in the county of that request and in the plugin's own namespace.
type Host struct {
	client pluginv1.HostClient
	// seals is the host's Seals service, on the same connection.
	seals pluginv1.SealsClient
	// measures is the host's Measures service, on the same connection.
	measures pluginv1.MeasuresClient
	// receipts is the host's Receipts service, on the same connection.
	receipts pluginv1.ReceiptsClient
	// numbers is the host's Numbers service, on the same connection.
	numbers pluginv1.NumbersClient
	// workflows is the host's HostWorkflows service, on the same
	// connection.
	workflows pluginv1.HostWorkflowsClient
	// directory is the host's Directory service, on the same connection.
	directory pluginv1.DirectoryClient
	// batches is the host's Batches service, on the same connection.
	batches pluginv1.BatchesClient
	// suspension is the host's HostSuspension service, on the same
	// connection.
	suspension pluginv1.HostSuspensionClient
	// uploads is the host's PublicUploads service, on the same
	// connection.
	uploads pluginv1.PublicUploadsClient
	// submissions is the host's Submissions service, on the same
	// connection.
	submissions pluginv1.SubmissionsClient
	// downloads is the host's PublicDownloads service, on the same
	// connection.
	downloads  pluginv1.PublicDownloadsClient
	capability string
	// checksUnchanged: the host named FeatureSubmitUnchanged.
	checksUnchanged bool
}

// Record is a JSON document in one of the plugin's collections.
type Record struct {
	Collection string          `json:"collection"`
	ID         string          `json:"id"`
	Version    int64           `json:"version"`
	Document   json.RawMessage `json:"document"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
}

// Put writes doc as record id of collection. With version 0 it creates
// the record (ErrConflict if it exists); otherwise it replaces the record
// only if that is still its version (ErrConflict if not).
func (h *Host) Put(ctx context.Context, collection, id string, version int64, doc any) (Record, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return Record{}, fmt.Errorf("encode record %s/%s: %w", collection, id, err)
	}
	r, err := h.client.PutRecord(ctx, &pluginv1.PutRecordRequest{Capability: h.capability, Collection: collection, Id: id, Version: version, Document: data})
	if err != nil {
		return Record{}, hostError(err)
	}
	return record(r), nil
}

// Get reads record id of collection.
func (h *Host) Get(ctx context.Context, collection, id string) (Record, error) {
	r, err := h.client.GetRecord(ctx, &pluginv1.GetRecordRequest{Capability: h.capability, Collection: collection, Id: id})
	if err != nil {
		return Record{}, hostError(err)
	}
	return record(r), nil
}

// Delete removes record id of collection if version is still its version.
func (h *Host) Delete(ctx context.Context, collection, id string, version int64) error {
	_, err := h.client.DeleteRecord(ctx, &pluginv1.DeleteRecordRequest{Capability: h.capability, Collection: collection, Id: id, Version: version})
	return hostError(err)
}

// Query lists a collection, in the order of the records' ids.
type Query struct {
	// Where filters on the collection's indexed fields, each equal to its
	// value.
	Where map[string]string
	// Limit is the page size, at most 200 (50 if 0).
	Limit int
	// After continues from a previous page's Next.
	After string
}

// Page is one page of a query; Next is empty on the last one.
type Page struct {
	Records []Record
	Next    string
}

// Query reads one page of collection.
func (h *Host) Query(ctx context.Context, collection string, q Query) (Page, error) {
	resp, err := h.client.QueryRecords(ctx, &pluginv1.QueryRecordsRequest{Capability: h.capability, Collection: collection, Where: q.Where, Limit: int32(q.Limit), After: q.After})
	if err != nil {
		return Page{}, hostError(err)
	}
	page := Page{Records: make([]Record, 0, len(resp.GetRecords())), Next: resp.GetNextAfter()}
	for _, r := range resp.GetRecords() {
		page.Records = append(page.Records, record(r))
	}
	return page, nil
}

func record(r *pluginv1.Record) Record {
	return Record{Collection: r.GetCollection(), ID: r.GetId(), Version: r.GetVersion(), Document: r.GetDocument(),
		CreatedAt: parseTime(r.GetCreatedAt()), UpdatedAt: parseTime(r.GetUpdatedAt())}
}

// hostError turns the host's gRPC status into one of the errors above,
// keeping the host's message.
func hostError(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var kind error
	switch st.Code() {
	case codes.NotFound:
		kind = ErrNotFound
	case codes.Aborted, codes.AlreadyExists:
		kind = ErrConflict
	case codes.InvalidArgument:
		kind = ErrInvalid
	case codes.PermissionDenied, codes.Unauthenticated:
		kind = ErrDenied
	case codes.FailedPrecondition:
		kind = ErrNotReady
	case codes.ResourceExhausted:
		kind = ErrBusy
	case codes.OutOfRange:
		kind = ErrTooLarge
	default:
		return err
	}
	return fmt.Errorf("%w: %s", kind, st.Message())
}
