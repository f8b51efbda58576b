package measure

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
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
SELECT m.measure, m.unit_id, m.period_start, m.value FROM measure_values m
JOIN (SELECT measure, unit_id, MAX(period_start) AS last_day FROM measure_values WHERE ` + in + ` AND period_start < ?` + unit + ` GROUP BY measure, unit_id) before_range
ON m.measure = before_range.measure AND m.unit_id = before_range.unit_id AND m.grain = ? AND m.period_start = before_range.last_day
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
