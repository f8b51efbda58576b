package measure

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
)

// levelSQL is the one statement that reads the level measures ids of q:
// their days in q's range and, per unit, the last day before it, from
// which a figure is carried into the range. Rows come by measure, unit
// and day.
func levelSQL(q Query, ids []string) (string, []any) {
	in := "measure IN (?" + strings.Repeat(", ?", len(ids)-1) + ") AND grain = ?"
	unit := ""
	if q.Unit != nil {
		unit = " AND unit_id = ?"
	}
	query := `SELECT measure, unit_id, period_start, value FROM measure_values WHERE ` + in + ` AND period_start BETWEEN ? AND ?` + unit + `
UNION ALL
` + lastDaySQL(in+" AND period_start < ?"+unit) + `
ORDER BY measure, unit_id, period_start`
	args := make([]any, 0, 2*len(ids)+8)
	of := func(bounds ...any) {
		for _, id := range ids {
			args = append(args, id)
		}
		args = append(append(args, grainCode[ByDay]), bounds...)
		if q.Unit != nil {
			args = append(args, *q.Unit)
		}
	}
	of(q.From, q.To)
	of(q.From)
	return query, append(args, grainCode[ByDay])
}

// lastDaySQL selects, per measure and unit, the last day of the stored
// values that match where, with its value: a GROUP BY of
// MAX(period_start) joined back on the primary key, whose grain is the
// statement's last argument.
func lastDaySQL(where string) string {
	return `SELECT m.measure, m.unit_id, m.period_start, m.value FROM measure_values m
JOIN (SELECT measure, unit_id, MAX(period_start) AS last_day FROM measure_values WHERE ` + where + ` GROUP BY measure, unit_id) last_days
ON m.measure = last_days.measure AND m.unit_id = last_days.unit_id AND m.grain = ? AND m.period_start = last_days.last_day`
}

// levelDay is a level's figure of a unit on a day, as stored.
type levelDay struct {
	Measure string    `db:"measure"`
	Unit    int64     `db:"unit_id"`
	Day     time.Time `db:"period_start"`
	Value   int64     `db:"value"`
}

// readLevels answers the level measures ids of q up to today: a unit's
// figure of a period is the last one recorded on or before the period's
// last day (today, for the period under way), carried forward over days
// without one. A unit has no figure before its first.
func readLevels(ctx context.Context, conn *sqlx.Conn, q Query, ids []string, today time.Time) ([]Figure, error) {
	query, args := levelSQL(q, ids)
	var days []levelDay
	if err := conn.SelectContext(ctx, &days, query, args...); err != nil {
		return nil, fmt.Errorf("read levels: %w", err)
	}
	from, errFrom := parseDay(q.From)
	to, errTo := parseDay(q.To)
	if errFrom != nil || errTo != nil {
		return nil, fmt.Errorf("read levels from %s to %s: the query was not parsed", q.From, q.To)
	}
	if today.Before(to) {
		to = today
	}
	var figures []Figure
	for len(days) > 0 {
		n := 1
		for n < len(days) && days[n].Measure == days[0].Measure && days[n].Unit == days[0].Unit {
			n++
		}
		figures = carryForward(figures, days[:n], q.By, from, to)
		days = days[n:]
	}
	return figures, nil
}

// carryForward appends a figure per period of grain from from to to of
// days, one measure's and unit's in order of day: the value of the last
// day on or before the period's end (or to).
func carryForward(figures []Figure, days []levelDay, grain string, from, to time.Time) []Figure {
	next, have := 0, false
	var value int64
	for p := periodStart(grain, from); !p.After(to); p = periodEnd(grain, p).AddDate(0, 0, 1) {
		end := periodEnd(grain, p)
		if to.Before(end) {
			end = to
		}
		for next < len(days) && !days[next].Day.After(end) {
			value, have = days[next].Value, true
			next++
		}
		if have {
			figures = append(figures, Figure{Measure: days[0].Measure, Unit: days[0].Unit, Period: p.Format(time.DateOnly), Value: value})
		}
	}
	return figures
}

// byMeasurePeriodUnit is a report's order of figures.
func byMeasurePeriodUnit(a, b Figure) int {
	return cmp.Or(strings.Compare(a.Measure, b.Measure), strings.Compare(a.Period, b.Period), cmp.Compare(a.Unit, b.Unit))
}

// Level is a level measure's figure of a unit as it stands, to be set
// (SetLevels), not added.
type Level struct {
	Measure string
	// Unit is CountyWide for a level of the whole county.
	Unit  int64
	Value int64
}

// maxSetRows bounds the figures one statement of SetLevels writes (five
// placeholders each, within the server's 65,535).
const maxSetRows = 1000

// SetLevels records levels as they stand on at's day in China, in tx, a
// transaction in the county's schema: a figure is the day's, replacing
// what the day had, so that a level falls as well as rises, to 0 too,
// and setting the same figures again changes nothing. A figure equal to
// the one standing (the last set on or before the day) is not written:
// a level that holds keeps a row per change, not one per day. It costs
// two statements, one reading the figures standing and one writing those
// that differ, and returns how many it wrote.
//
// Levels are kept by day only, as reads take them (readLevels). A level
// is either set here or raised by Record (whose rises of a day add up),
// never both. Setting keeps no idempotency key, as setting again is its
// own retry; callers that may set the same figures at once take turns
// (the census holds a lock per county), or the last to commit stands.
func SetLevels(ctx context.Context, tx *sqlx.Tx, at time.Time, levels []Level) (int, error) {
	if len(levels) == 0 {
		return 0, nil
	}
	day := Day(at)
	if _, err := parseDay(day); err != nil {
		return 0, errs.Invalid(CodeInvalidRecording, "day: %v", err)
	}
	type figureOf struct {
		measure string
		unit    int64
	}
	set := make(map[figureOf]int64, len(levels))
	var ids []string
	for _, l := range levels {
		if err := ValidID(l.Measure); err != nil {
			return 0, errs.Invalid(CodeInvalidRecording, "%v", err)
		}
		switch {
		case l.Unit < 0:
			return 0, errs.Invalid(CodeInvalidRecording, "unit %d: a unit's id, or 0 for the whole county", l.Unit)
		case l.Value < 0:
			return 0, errs.Invalid(CodeInvalidRecording, "%s of unit %d: %d; a level is 0 or more", l.Measure, l.Unit, l.Value)
		}
		key := figureOf{l.Measure, l.Unit}
		if _, twice := set[key]; twice {
			return 0, errs.Invalid(CodeInvalidRecording, "%s of unit %d is set twice", l.Measure, l.Unit)
		}
		set[key] = l.Value
		if !slices.Contains(ids, l.Measure) {
			ids = append(ids, l.Measure)
		}
	}
	args := make([]any, 0, len(ids)+3)
	for _, id := range ids {
		args = append(args, id)
	}
	var standing []levelDay
	if err := tx.SelectContext(ctx, &standing, lastDaySQL("measure IN (?"+strings.Repeat(", ?", len(ids)-1)+") AND grain = ? AND period_start <= ?"),
		append(args, grainCode[ByDay], day, grainCode[ByDay])...); err != nil {
		return 0, fmt.Errorf("read the levels standing: %w", err)
	}
	for _, s := range standing {
		if v, ok := set[figureOf{s.Measure, s.Unit}]; ok && v == s.Value {
			delete(set, figureOf{s.Measure, s.Unit})
		}
	}
	// In the order of the primary key, so that writers of one county's
	// rows lock them in one order.
	changed := slices.SortedFunc(maps.Keys(set), func(a, b figureOf) int {
		return cmp.Or(strings.Compare(a.measure, b.measure), cmp.Compare(a.unit, b.unit))
	})
	for batch := range slices.Chunk(changed, maxSetRows) {
		args := make([]any, 0, 5*len(batch))
		for _, f := range batch {
			args = append(args, f.measure, f.unit, grainCode[ByDay], day, set[f])
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES (?, ?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?, ?)", len(batch)-1)+` ON DUPLICATE KEY UPDATE value = VALUES(value)`, args...); err != nil {
			return 0, fmt.Errorf("set %s: %w", batch[0].measure, err)
		}
	}
	return len(changed), nil
}
