package sdkfake

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Bounds of a recording, as the host's.
const (
	maxMeasureKey = 128
	maxDelta      = 1_000_000
)

var measureKeyPattern = regexp.MustCompile(`^[\x21-\x7e]+$`)

// measureKey is what a recording counts once by.
type measureKey struct{ measure, key string }

// RecordMeasure adds m to the county's figures, as sdk.Host.RecordMeasure:
// false, and nothing added, for a key recorded before with the same
// figures.
func (h *Host) RecordMeasure(_ context.Context, m sdk.Measure) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.failing(Call{Method: "RecordMeasure", Collection: m.ID, ID: m.Key}); err != nil {
		return false, err
	}
	i := slices.IndexFunc(h.manifest.Measures, func(d sdk.MeasureDef) bool { return d.ID == m.ID })
	if i < 0 {
		return false, fmt.Errorf("%w: measure %q is not one the manifest declares", sdk.ErrInvalid, m.ID)
	}
	if m.Delta == 0 {
		m.Delta = 1
	}
	if m.Day == "" {
		m.Day = h.now().In(china).Format(time.DateOnly)
	}
	if err := h.checkRecording(h.manifest.Measures[i], m); err != nil {
		return false, err
	}
	key := measureKey{m.ID, m.Key}
	if old, ok := h.measures[key]; ok {
		if old != m {
			return false, fmt.Errorf("%w: idempotency key %q of %s already recorded %d for unit %d on %s", sdk.ErrConflict, m.Key, m.ID, old.Delta, old.UnitID, old.Day)
		}
		return false, nil
	}
	h.measures[key] = m
	h.order = append(h.order, key)
	return true, nil
}

// checkRecording refuses m as the host does.
func (h *Host) checkRecording(def sdk.MeasureDef, m sdk.Measure) error {
	day, err := time.Parse(time.DateOnly, m.Day)
	switch {
	case def.CountyWide && m.UnitID != 0:
		return fmt.Errorf("%w: %s is counted for the whole county: record it with unit 0", sdk.ErrInvalid, m.ID)
	case !def.CountyWide && m.UnitID == 0:
		return fmt.Errorf("%w: %s is counted per unit: name the unit", sdk.ErrInvalid, m.ID)
	case m.UnitID < 0:
		return fmt.Errorf("%w: unit %d: a unit's id, or 0 for the whole county", sdk.ErrInvalid, m.UnitID)
	case m.Delta < 1 || m.Delta > maxDelta:
		return fmt.Errorf("%w: delta %d: a recording adds 1 to %d", sdk.ErrInvalid, m.Delta, maxDelta)
	case len(m.Key) > maxMeasureKey || !measureKeyPattern.MatchString(m.Key):
		return fmt.Errorf("%w: idempotency key %q: 1 to %d printable ASCII characters without spaces", sdk.ErrInvalid, m.Key, maxMeasureKey)
	case err != nil || day.Format(time.DateOnly) != m.Day || day.Year() < 2000 || day.Year() > 2100:
		return fmt.Errorf("%w: day %q is not a day such as 2026-06-05 between 2000 and 2100", sdk.ErrInvalid, m.Day)
	}
	if _, ok := h.units[m.UnitID]; m.UnitID != 0 && !ok {
		return fmt.Errorf("%w: the county has no unit %d (unknown_unit)", sdk.ErrInvalid, m.UnitID)
	}
	return nil
}

// Measures are the recordings that counted, in the order recorded, each
// with its Delta and Day as counted (1 for 0, today for empty).
func (h *Host) Measures() []sdk.Measure {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]sdk.Measure, len(h.order))
	for i, key := range h.order {
		out[i] = h.measures[key]
	}
	return out
}

// Measured is the sum of measure counted for unit (0 for a county-wide
// measure) on day, or on every day if day is empty.
func (h *Host) Measured(measure string, unit int64, day string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var n int64
	for _, m := range h.measures {
		if m.ID == measure && m.UnitID == unit && (day == "" || m.Day == day) {
			n += m.Delta
		}
	}
	return n
}
