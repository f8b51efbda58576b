// Package measure keeps a county's usage figures: how many of something
// (logins, notices delivered, documents sent) happened per unit and day,
// in the county's schema. It is the one source that rollout gates, usage
// reports, targets and billing read. The platform records its own
// measures where their events happen; modules declare theirs in their
// manifests and record them through the host.
//
// Every recording carries an idempotency key and is written in the same
// transaction as the sums it adds to, so that a retried call never counts
// twice. A recording adds to its day, its half-month and its month at
// once: a report of any of the three is one range of stored values. The
// platform's own counts of its events (Add) are appended instead and
// folded into those sums before every read (Fold).
package measure

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Codes of the errors this package returns.
const (
	CodeInvalidRecording = "invalid_measure_recording"
	CodeKeyReused        = "idempotency_key_reused"
	CodeInvalidQuery     = "invalid_measure_query"
	CodeUnknownMeasure   = "unknown_measure"
	CodeUnknownUnit      = "unknown_unit"
)

// Bounds of a recording.
const (
	MaxIDLength  = 96
	MaxKeyLength = 128
	MaxDelta     = 1_000_000
)

// CountyWide is the unit of the figures counted for the whole county.
const CountyWide int64 = 0

// idPattern is a measure's id: dotted lowercase segments, the first the
// namespace of whoever records it (platform, or a module's id).
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_]*)+$`)

// keyPattern is an idempotency key: printable ASCII without spaces, so
// that it can be derived from any event's identifiers.
var keyPattern = regexp.MustCompile(`^[\x21-\x7e]+$`)

// ValidID reports why id cannot name a measure, or nil.
func ValidID(id string) error {
	if len(id) > MaxIDLength || !idPattern.MatchString(id) {
		return fmt.Errorf("measure %q: an id is dotted lowercase segments (a-z, 0-9, _) such as oa.documents.sent, at most %d characters", id, MaxIDLength)
	}
	return nil
}

// Recording is a count added to a measure.
type Recording struct {
	Measure string `json:"measure"`
	// Unit is the unit the count belongs to; CountyWide for a measure
	// counted for the whole county.
	Unit int64 `json:"unit_id"`
	// Day is the day in China the counted thing happened, 2026-06-05.
	Day   string `json:"day"`
	Delta int64  `json:"delta"`
	// Key identifies the counted thing: recording the same key of the
	// same measure again adds nothing.
	Key string `json:"idempotency_key"`
}

// china is the time zone days are counted in.
var china = time.FixedZone("CST", 8*60*60)

// Day is the day in China that t falls on, as a recording names it.
func Day(t time.Time) string { return t.In(china).Format(time.DateOnly) }

// check refuses a recording that is not well formed.
func (r Recording) check() (time.Time, error) {
	if err := ValidID(r.Measure); err != nil {
		return time.Time{}, errs.Invalid(CodeInvalidRecording, "%v", err)
	}
	if r.Unit < 0 {
		return time.Time{}, errs.Invalid(CodeInvalidRecording, "unit %d: a unit's id, or 0 for the whole county", r.Unit)
	}
	if r.Delta < 1 || r.Delta > MaxDelta {
		return time.Time{}, errs.Invalid(CodeInvalidRecording, "delta %d: a recording adds 1 to %d", r.Delta, MaxDelta)
	}
	if len(r.Key) == 0 || len(r.Key) > MaxKeyLength || !keyPattern.MatchString(r.Key) {
		return time.Time{}, errs.Invalid(CodeInvalidRecording, "idempotency key %q: 1 to %d printable ASCII characters without spaces", r.Key, MaxKeyLength)
	}
	day, err := parseDay(r.Day)
	if err != nil {
		return time.Time{}, errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	return day, nil
}

// Grains a figure is kept and read by.
const (
	ByDay       = "day"
	ByHalfMonth = "half_month"
	ByMonth     = "month"
)

// grainCode is how measure_values stores a grain.
var grainCode = map[string]string{ByDay: "d", ByHalfMonth: "h", ByMonth: "m"}

// periodStart is the first day of the period of grain that day is in.
// Half-months are the 1st to the 15th and the 16th to the month's end.
func periodStart(grain string, day time.Time) time.Time {
	switch grain {
	case ByMonth:
		return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
	case ByHalfMonth:
		if day.Day() <= 15 {
			return time.Date(day.Year(), day.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
		return time.Date(day.Year(), day.Month(), 16, 0, 0, 0, 0, time.UTC)
	}
	return day
}

// periodEnd is the last day of the period of grain that starts on start.
func periodEnd(grain string, start time.Time) time.Time {
	switch grain {
	case ByMonth:
		return start.AddDate(0, 1, -1)
	case ByHalfMonth:
		if start.Day() == 1 {
			return start.AddDate(0, 0, 14)
		}
		return time.Date(start.Year(), start.Month()+1, 0, 0, 0, 0, 0, time.UTC)
	}
	return start
}

// Record adds r in tx, a transaction in the county's schema: the caller's
// own, so that the count stands or falls with the event it counts. It
// reports whether r counted: false when its key was recorded before with
// the same figures. The same key with other figures is refused.
//
// Record trusts r.Unit to be a unit of the county and the measure to be
// the caller's own; what comes from outside the platform passes through
// Service.Record, which checks both.
func Record(ctx context.Context, tx *sqlx.Tx, r Recording) (bool, error) {
	day, err := r.check()
	if err != nil {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO measure_records (measure, idempotency_key, unit_id, day, delta, recorded_at)
VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE measure = measure`,
		r.Measure, r.Key, r.Unit, r.Day, r.Delta, time.Now().UTC().Truncate(time.Microsecond))
	if err != nil {
		return false, fmt.Errorf("record %s: %w", r.Measure, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return false, fmt.Errorf("record %s: %w", r.Measure, err)
	} else if n == 0 {
		return false, sameAsBefore(ctx, tx, r)
	}
	args := make([]any, 0, 12)
	for _, grain := range []string{ByDay, ByHalfMonth, ByMonth} {
		args = append(args, r.Measure, r.Unit, grainCode[grain], periodStart(grain, day).Format(time.DateOnly), r.Delta)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO measure_values (measure, unit_id, grain, period_start, value)
VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE value = value + VALUES(value)`, args...); err != nil {
		return false, fmt.Errorf("add to %s: %w", r.Measure, err)
	}
	return true, nil
}

// Count is one of the platform's own events to count: a task acted on,
// an instance completed.
type Count struct {
	Measure string
	// Unit is the unit the event belongs to.
	Unit int64
}

// Add counts events that happened at at, in tx, the transaction that
// commits them: one row per measure and unit appended to measure_pending
// (events of one measure and unit add up in one row), deferred to the end
// of a county's transaction (store.Later). An append locks no row others
// raise and updates no index but its own; every read of the figures
// folds what is pending into their day, half-month and month first
// (Fold), and a job does every minute. It keeps no idempotency key: Add
// is for events that their own transaction makes happen once (a task
// closed under its row's lock, a notice marked sent), so that the
// event's row is the key, and a retry of the event is refused before it
// counts. Whatever can be retried apart from its event records with a
// key (Record, CountOnce).
func Add(ctx context.Context, tx sqlx.ExecerContext, at time.Time, cs ...Count) error {
	if len(cs) == 0 {
		return nil
	}
	day := Day(at)
	if _, err := parseDay(day); err != nil {
		return errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	var counts []Count
	sums := make(map[Count]int64, len(cs))
	for _, c := range cs {
		if err := ValidID(c.Measure); err != nil {
			return errs.Invalid(CodeInvalidRecording, "%v", err)
		}
		if sums[c] == 0 {
			counts = append(counts, c)
		}
		sums[c]++
	}
	args := make([]any, 0, 4*len(counts))
	for _, c := range counts {
		args = append(args, c.Measure, c.Unit, day, sums[c])
	}
	err := store.Later(ctx, tx, `INSERT INTO measure_pending (measure, unit_id, day, delta)
VALUES (?, ?, ?, ?)`+strings.Repeat(", (?, ?, ?, ?)", len(counts)-1), args...)
	if err != nil {
		return fmt.Errorf("count %s: %w", counts[0].Measure, err)
	}
	return nil
}

// sameAsBefore refuses r when its key was recorded with other figures: a
// retry repeats its figures, so other figures are a key used twice. The
// read locks, so that it sees the recording a concurrent transaction
// committed while this one waited on its key, not this one's snapshot.
func sameAsBefore(ctx context.Context, tx *sqlx.Tx, r Recording) error {
	var before struct {
		Unit  int64  `db:"unit_id"`
		Day   string `db:"day"`
		Delta int64  `db:"delta"`
	}
	err := tx.GetContext(ctx, &before, "SELECT unit_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, delta FROM measure_records WHERE measure = ? AND idempotency_key = ? FOR UPDATE", r.Measure, r.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("record %s: key %q neither inserted nor found", r.Measure, r.Key)
	}
	if err != nil {
		return fmt.Errorf("read recording %s %q: %w", r.Measure, r.Key, err)
	}
	if before.Unit != r.Unit || before.Day != r.Day || before.Delta != r.Delta {
		return errs.Conflict(CodeKeyReused, "idempotency key %q of %s already recorded %d for unit %d on %s; a retry repeats its figures, another count needs a key of its own",
			r.Key, r.Measure, before.Delta, before.Unit, before.Day)
	}
	return nil
}
