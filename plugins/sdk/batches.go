package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Limits of a batch the host takes (PutRecords).
const (
	// MaxBatchRecords is the most records of one batch.
	MaxBatchRecords = 1000
	// MaxBatchBytes is the most bytes of a batch's documents together,
	// as JSON.
	MaxBatchBytes = 2 << 20
)

// RecordPut is one record of a batch: Document written as record ID of
// Collection, created with Version 0, otherwise replaced at Version.
type RecordPut struct {
	Collection string
	ID         string
	Version    int64
	Document   any
}

// PutRecords writes every record of puts as Put would, in one call and
// one transaction of the county: all of them, or none. The first record
// the host refuses fails the batch with Put's errors (ErrConflict for a
// record that exists or is at another version, ErrNotFound for one gone,
// ErrInvalid for a bad one), its message naming the record. At most
// MaxBatchRecords records, each once, of MaxBatchBytes together; the
// batch is one entry of the county's audit trail. It returns the records
// as written, in the order of puts.
func (h *Host) PutRecords(ctx context.Context, puts []RecordPut) ([]Record, error) {
	return h.putRecords(ctx, puts, false)
}

// PutRecordsBrief writes puts as PutRecords does and returns the records
// written without their documents (Document nil): each one's version and
// times, which is what a module importing thousands needs back, not the
// megabytes it has just sent.
func (h *Host) PutRecordsBrief(ctx context.Context, puts []RecordPut) ([]Record, error) {
	return h.putRecords(ctx, puts, true)
}

func (h *Host) putRecords(ctx context.Context, puts []RecordPut, brief bool) ([]Record, error) {
	if len(puts) > MaxBatchRecords {
		return nil, fmt.Errorf("%w: a batch holds at most %d records, not %d", ErrInvalid, MaxBatchRecords, len(puts))
	}
	records, err := recordPuts(puts)
	if err != nil {
		return nil, err
	}
	resp, err := h.batches.PutRecords(ctx, &pluginv1.PutRecordsRequest{Capability: h.capability, Records: records, Brief: brief})
	if err != nil {
		return nil, hostError(err)
	}
	out := make([]Record, 0, len(resp.GetRecords()))
	for _, r := range resp.GetRecords() {
		rec := record(r)
		if brief {
			// A host older than brief answers in full.
			rec.Document = nil
		}
		out = append(out, rec)
	}
	return out, nil
}

// recordPuts encodes puts for the host, refusing them here if their
// documents are over MaxBatchBytes together.
func recordPuts(puts []RecordPut) ([]*pluginv1.RecordPut, error) {
	out := make([]*pluginv1.RecordPut, len(puts))
	size := 0
	for i, p := range puts {
		data, err := json.Marshal(p.Document)
		if err != nil {
			return nil, fmt.Errorf("encode record %s/%s: %w", p.Collection, p.ID, err)
		}
		// Refused here, a batch too large never reaches the host's bound
		// on a message, which would answer it as a transport's failure.
		if size += len(data); size > MaxBatchBytes {
			return nil, fmt.Errorf("%w: the batch's documents are over %d bytes together", ErrInvalid, MaxBatchBytes)
		}
		out[i] = &pluginv1.RecordPut{Collection: p.Collection, Id: p.ID, Version: p.Version, Document: data}
	}
	return out, nil
}
