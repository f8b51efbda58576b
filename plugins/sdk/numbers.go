package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Numbering asks the host to number a record as it writes it.
type Numbering struct {
	// Counter names one of the plugin's counters in the county, e.g.
	// "docno/12/2026"; created at 0 on first use. 1 to 128 letters,
	// digits and . _ : / -, starting with a letter or digit.
	Counter string
	// Field is the top-level field of the document that receives the
	// number (a JSON integer): 1 to 64 letters, digits or underscores,
	// not starting with a digit. What the document holds there is
	// replaced.
	Field string
}

// PutNumbered writes doc like Put (version 0 creates, otherwise
// compare-and-swap), after setting doc[Field] to the counter's next
// value, in one transaction: a failed or interrupted call takes no
// number, and no number is given twice. It returns the record as written
// (its document holds the number) and the number. doc must encode as a
// JSON object; the host writes it again with its members in the order of
// their names.
func (h *Host) PutNumbered(ctx context.Context, collection, id string, version int64, doc any, n Numbering) (Record, int64, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return Record{}, 0, fmt.Errorf("encode record %s/%s: %w", collection, id, err)
	}
	r, err := h.numbers.PutNumbered(ctx, &pluginv1.PutNumberedRequest{Capability: h.capability, Collection: collection, Id: id, Version: version,
		Document: data, Counter: n.Counter, Field: n.Field})
	if err != nil {
		return Record{}, 0, hostError(err)
	}
	return record(r.GetRecord()), r.GetNumber(), nil
}
