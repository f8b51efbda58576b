package sdk

import (
	"context"

	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Measure is a count of one of the measures the manifest declares.
type Measure struct {
	// ID is the declared id, such as oa.documents.sent.
	ID string
	// UnitID is the unit counted, one of the county's; 0 for a measure
	// declared county-wide.
	UnitID int64
	// Day is the day in China the counted thing happened, 2026-06-05;
	// empty for today.
	Day string
	// Delta is how many, 1 to 1,000,000; 0 counts one.
	Delta int64
	// Key names the counted thing (up to 128 printable ASCII characters
	// without spaces, such as "sent:" and the document's id): recording
	// the same key again, as a retry does, adds nothing. Required.
	Key string
}

// RecordMeasure adds m to the county's figures. It reports false when
// m.Key was recorded before, which is not an error: the count is there
// once. The same key with other figures is ErrConflict; an undeclared
// measure, a unit that is not the county's or a bad key is ErrInvalid.
func (h *Host) RecordMeasure(ctx context.Context, m Measure) (bool, error) {
	delta := m.Delta
	if delta == 0 {
		delta = 1
	}
	resp, err := h.measures.Record(ctx, &pluginv1.RecordMeasureRequest{
		Capability: h.capability, Measure: m.ID, UnitId: m.UnitID, Day: m.Day, Delta: delta, IdempotencyKey: m.Key,
	})
	if err != nil {
		return false, hostError(err)
	}
	return resp.GetCounted(), nil
}
