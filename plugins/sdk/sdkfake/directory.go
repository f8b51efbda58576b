package sdkfake

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// maxDirectoryIDs bounds the ids of one look-up, as the host's.
const maxDirectoryIDs = 1000

// AddUnits gives the county units, replacing those of the same ids: a
// unit created or renamed during the test.
func (h *Host) AddUnits(units ...sdk.Unit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, u := range units {
		h.units[u.ID] = u
	}
}

// RemoveUnits takes units ids from the county: a unit dissolved during
// the test.
func (h *Host) RemoveUnits(ids ...int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		delete(h.units, id)
	}
}

// Units returns the county's units with ids, or all with none, in order
// of id, as sdk.Host.Units.
func (h *Host) Units(_ context.Context, ids ...int64) ([]sdk.Unit, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "Units"}); err != nil {
		return nil, err
	}
	if len(ids) > maxDirectoryIDs {
		return nil, fmt.Errorf("%w: %d ids listed; at most %d", sdk.ErrInvalid, len(ids), maxDirectoryIDs)
	}
	for _, id := range ids {
		if id <= 0 {
			return nil, fmt.Errorf("%w: ids: %d is not an id", sdk.ErrInvalid, id)
		}
	}
	out := make([]sdk.Unit, 0, len(h.units))
	for _, id := range slices.Sorted(maps.Keys(h.units)) {
		if len(ids) == 0 || slices.Contains(ids, id) {
			out = append(out, h.units[id])
		}
	}
	return out, nil
}
