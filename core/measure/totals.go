package measure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
)

// Window asks for the figures of Measures over the days From to To (both
// included): a count's figure is its sum over the days, a level's the
// figure standing on To.
type Window struct {
	Measures []string
	From, To string
}

// Total is a measure's figure of a unit over a window. A unit without
// any figure has no Total.
type Total struct {
	Measure string `db:"measure"`
	Unit    int64  `db:"unit_id"`
	Value   int64  `db:"value"`
}

// Totals answers each window for every unit of county, on one
// connection, in one statement per window and kind (counts, levels),
// each one range of the covering index per measure; defs are the
// county's measures (Definitions), which say each one's kind. It is for
// the platform's own readers (rollout gates, usage reports), which
// decide who may see what they make of it; it checks no principal.
func (s *Service) Totals(ctx context.Context, county string, defs []Definition, windows ...Window) ([][]Total, error) {
	type kinds struct{ counts, levels []string }
	split := make([]kinds, len(windows))
	for i, w := range windows {
		if _, err := parseDay(w.From); err != nil {
			return nil, err
		}
		if _, err := parseDay(w.To); err != nil {
			return nil, err
		}
		for _, id := range w.Measures {
			j := slices.IndexFunc(defs, func(d Definition) bool { return d.ID == id })
			switch {
			case j < 0:
				return nil, errs.Invalid(CodeUnknownMeasure, "the county has no measure %q", id)
			case defs[j].Level:
				split[i].levels = append(split[i].levels, id)
			default:
				split[i].counts = append(split[i].counts, id)
			}
		}
	}
	totals := make([][]Total, len(windows))
	err := s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := Fold(ctx, conn); err != nil {
			return err
		}
		for i, w := range windows {
			if ids := split[i].counts; len(ids) > 0 {
				query := `SELECT measure, unit_id, CAST(SUM(value) AS SIGNED) AS value FROM measure_values WHERE measure IN (?` + strings.Repeat(", ?", len(ids)-1) + `) AND grain = ? AND period_start BETWEEN ? AND ? GROUP BY measure, unit_id`
				if err := appendTotals(ctx, conn, &totals[i], query, append(anys(ids), grainCode[ByDay], w.From, w.To)); err != nil {
					return err
				}
			}
			if ids := split[i].levels; len(ids) > 0 {
				in := `measure IN (?` + strings.Repeat(", ?", len(ids)-1) + `) AND grain = ?`
				query := `SELECT measure, unit_id, value FROM (` + lastDaySQL(in+` AND period_start <= ?`) + `) standing`
				if err := appendTotals(ctx, conn, &totals[i], query, append(anys(ids), grainCode[ByDay], w.To, grainCode[ByDay])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return totals, err
}

func appendTotals(ctx context.Context, conn *sqlx.Conn, totals *[]Total, query string, args []any) error {
	var rows []Total
	if err := conn.SelectContext(ctx, &rows, query, args...); err != nil {
		return fmt.Errorf("read totals: %w", err)
	}
	*totals = append(*totals, rows...)
	return nil
}

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
