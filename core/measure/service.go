package measure

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// Label is a text in Chinese, then English.
type Label struct {
	ZH string `json:"zh-CN"`
	EN string `json:"en"`
}

// Definition says what a measure counts.
type Definition struct {
	ID    string `json:"id"`
	Label Label  `json:"label"`
	// Counts says what one count is: 一份发出的公文, one document sent.
	Counts Label `json:"counts"`
	// CountyWide measures are counted for the whole county (unit 0), the
	// others per unit.
	CountyWide bool `json:"county_wide,omitempty"`
	// Module is the module that declared the measure; empty for the
	// platform's own.
	Module string `json:"module,omitempty"`
	// Level measures are a figure standing at a time (an index, a
	// count of items held), not events that add up: a unit's figure of
	// a day is what was recorded that day, a day without one carries the
	// last before it forward, and a half-month's or month's figure is
	// the one standing on its last day (today's for the period under
	// way), never a sum of days.
	Level bool `json:"level,omitempty"`
}

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// Catalog lists the measures a county has beside the platform's own
// (PlatformMeasures): one per workflow it runs, those of the modules it
// enabled.
type Catalog interface {
	Measures(ctx context.Context, county string) ([]Definition, error)
}

// Service reads counties' figures and records what comes from outside
// the platform's own transactions.
type Service struct {
	router  Router
	catalog Catalog
}

// NewService reads and records the figures of the counties behind router;
// catalog gives the measures each county has.
func NewService(router Router, catalog Catalog) *Service {
	return &Service{router: router, catalog: catalog}
}

// Definitions are the measures county may read: the platform's, then
// the catalog's.
func (s *Service) Definitions(ctx context.Context, county string) ([]Definition, error) {
	defs, err := s.catalog.Measures(ctx, county)
	if err != nil {
		return nil, err
	}
	return append(PlatformMeasures(), defs...), nil
}

// DefinitionsOf are the definitions of ids that county has. It asks the
// catalog only when an id may be a module's: the platform's own measures
// are known without it, and a workflow's instances completed are counted
// (not levels) whether or not the county runs the workflow, which then
// simply has no figures.
func (s *Service) DefinitionsOf(ctx context.Context, county string, ids []string) ([]Definition, error) {
	own := PlatformMeasures()
	var defs []Definition
	needCatalog := false
	for _, id := range ids {
		switch i := slices.IndexFunc(own, func(d Definition) bool { return d.ID == id }); {
		case i >= 0:
			defs = append(defs, own[i])
		case strings.HasPrefix(id, completedPrefix) || strings.HasPrefix(id, completedHashed):
			defs = append(defs, Definition{ID: id})
		default:
			needCatalog = true
		}
	}
	if !needCatalog {
		return defs, nil
	}
	all, err := s.Definitions(ctx, county)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(d Definition) bool { return !slices.Contains(ids, d.ID) }), nil
}

// Record adds r to county's figures, in a transaction of its own: for a
// count that comes from outside the platform (a module, through the
// host), whose measure must be one of defs and whose unit must be the
// county's.
func (s *Service) Record(ctx context.Context, county string, def Definition, r Recording) (bool, error) {
	if r.Measure != def.ID {
		return false, errs.Invalid(CodeUnknownMeasure, "measure %q is not %q", r.Measure, def.ID)
	}
	if def.CountyWide != (r.Unit == CountyWide) {
		if def.CountyWide {
			return false, errs.Invalid(CodeInvalidRecording, "%s is counted for the whole county: record it with unit 0", def.ID)
		}
		return false, errs.Invalid(CodeInvalidRecording, "%s is counted per unit: name the unit", def.ID)
	}
	if _, err := r.check(); err != nil {
		return false, err
	}
	var counted bool
	err := s.router.InTenantTx(ctx, county, func(ctx context.Context, tx *sqlx.Tx) error {
		if r.Unit != CountyWide {
			var id int64
			err := tx.GetContext(ctx, &id, "SELECT id FROM units WHERE id = ?", r.Unit)
			if errors.Is(err, sql.ErrNoRows) {
				return errs.Invalid(CodeUnknownUnit, "the county has no unit %d", r.Unit)
			}
			if err != nil {
				return fmt.Errorf("find unit %d: %w", r.Unit, err)
			}
		}
		var err error
		counted, err = Record(ctx, tx, r)
		return err
	})
	return counted, err
}

// Figure is a measure's value for a unit over a period.
type Figure struct {
	Measure string `json:"measure" db:"measure"`
	Unit    int64  `json:"unit_id" db:"unit_id"`
	// Period is the first day of the figure's day, half-month or month.
	Period string `json:"period" db:"period"`
	Value  int64  `json:"value" db:"value"`
}

// Report answers a query: the measures read, with what they count, and
// their figures. A period without a count has no figure; a level
// measure's period carries its last figure forward (Definition.Level).
type Report struct {
	Query
	Measures []Definition `json:"definitions"`
	// Figures are ordered by measure, period, then unit.
	Figures []Figure `json:"figures"`
}

// Read answers q in county. A unit admin reads only the units they reach
// (their own and those below it), and names one; the county's admins
// and the province's operators read every unit.
func (s *Service) Read(ctx context.Context, county string, q Query) (Report, error) {
	p := auth.PrincipalFrom(ctx)
	confined := p.Kind == auth.KindAccount && !p.Has(auth.RoleCountyAdmin)
	if confined && (q.Unit == nil || *q.Unit == CountyWide) {
		return Report{}, errs.E(errs.KindForbidden, auth.CodeOutsideReach, "name one of your units (unit=%d, or one below it): the county's figures are its administrators'", p.Unit)
	}
	defs, err := s.Definitions(ctx, county)
	if err != nil {
		return Report{}, err
	}
	report := Report{Query: q, Figures: []Figure{}}
	for _, id := range q.Measures {
		i := slices.IndexFunc(defs, func(d Definition) bool { return d.ID == id })
		if i < 0 {
			return Report{}, errs.Invalid(CodeUnknownMeasure, "the county has no measure %q; its measures are the platform's (platform.…), one per workflow it runs and those its modules declare", id)
		}
		report.Measures = append(report.Measures, defs[i])
	}
	var counts, levels []string
	for _, d := range report.Measures {
		if d.Level {
			levels = append(levels, d.ID)
		} else {
			counts = append(counts, d.ID)
		}
	}
	today, err := parseDay(Day(time.Now()))
	if err != nil {
		return Report{}, err
	}
	err = s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		if confined {
			if err := auth.CheckReach(ctx, conn, *q.Unit, nil); err != nil {
				return err
			}
		}
		if err := Fold(ctx, conn); err != nil {
			return err
		}
		if len(counts) > 0 {
			sums := q
			sums.Measures = counts
			query, args := readSQL(sums)
			figures, err := scanFigures(ctx, conn, sums, query, args)
			if err != nil {
				return err
			}
			report.Figures = figures
		}
		if len(levels) == 0 {
			return nil
		}
		figures, err := readLevels(ctx, conn, q, levels, today)
		if err != nil {
			return err
		}
		report.Figures = append(report.Figures, figures...)
		slices.SortFunc(report.Figures, byMeasurePeriodUnit)
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	return report, nil
}

// scanFigures runs the statement of q and reads its rows as they come:
// a row per measure and period, its units' figures in one list (readSQL),
// so that a year of a hundred units is hundreds of rows to send and read,
// not tens of thousands. Each measure's id is taken from q and each
// period's day formatted once, and no row goes through reflection.
func scanFigures(ctx context.Context, conn *sqlx.Conn, q Query, query string, args []any) ([]Figure, error) {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read measures: %w", err)
	}
	defer rows.Close()
	figures := []Figure{}
	var (
		id       sql.RawBytes
		list     sql.RawBytes
		period   time.Time
		n, total int64
		f        Figure
	)
	for rows.Next() {
		if err := rows.Scan(&id, &period, &list, &n, &total); err != nil {
			return nil, fmt.Errorf("read measures: %w", err)
		}
		if string(id) != f.Measure {
			i := slices.IndexFunc(q.Measures, func(m string) bool { return m == string(id) })
			if i < 0 {
				return nil, fmt.Errorf("read measures: %q was not asked for", id)
			}
			f.Measure = q.Measures[i]
		}
		f.Period = period.Format(time.DateOnly)
		if cap(figures) == 0 {
			// Every period of a report has about the first one's units:
			// the figures are allocated once, not doubled tens of times
			// over a year of a hundred units.
			figures = make([]Figure, 0, min(int(n)*expectedRows(q), maxPreallocated))
		}
		start := len(figures)
		if figures, err = appendUnitValues(figures, f, list); err != nil {
			return nil, fmt.Errorf("read measures of %s on %s: %w", f.Measure, f.Period, err)
		}
		added := figures[start:]
		var sum int64
		for _, a := range added {
			sum += a.Value
		}
		if int64(len(added)) != n || sum != total {
			return nil, fmt.Errorf("read measures of %s on %s: %d figures summing %d, the server counted %d summing %d", f.Measure, f.Period, len(added), sum, n, total)
		}
		// The list comes in the index's order of units; should it not,
		// the period's figures are put in it.
		if !slices.IsSortedFunc(added, byUnit) {
			slices.SortFunc(added, byUnit)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read measures: %w", err)
	}
	return figures, nil
}

func byUnit(a, b Figure) int { return cmp.Compare(a.Unit, b.Unit) }

// maxPreallocated bounds the figures a report allocates before it reads
// them (12 MiB); a larger report grows as it reads.
const maxPreallocated = 1 << 18

// expectedRows is how many rows the statement of q answers at most: one
// per measure and period of its range.
func expectedRows(q Query) int {
	from, errFrom := time.Parse(time.DateOnly, q.From)
	to, errTo := time.Parse(time.DateOnly, q.To)
	if errFrom != nil || errTo != nil {
		return len(q.Measures)
	}
	periods := 0
	for p := periodStart(q.By, from); !p.After(to); p = periodEnd(q.By, p).AddDate(0, 0, 1) {
		periods++
	}
	return periods * len(q.Measures)
}

// appendUnitValues appends to figures one figure like f for each
// "unit:value" of list, separated by commas, as readSQL's GROUP_CONCAT
// gives them: unsigned decimal numbers, without allocating.
func appendUnitValues(figures []Figure, f Figure, list []byte) ([]Figure, error) {
	for len(list) > 0 {
		pair := list
		if i := bytes.IndexByte(list, ','); i >= 0 {
			pair, list = list[:i], list[i+1:]
			if len(list) == 0 {
				return figures, errors.New("a list ending in a comma")
			}
		} else {
			list = nil
		}
		unit, value, ok := bytes.Cut(pair, []byte{':'})
		if !ok {
			return figures, fmt.Errorf("%q is not unit:value", pair)
		}
		var err error
		if f.Unit, err = decimal(unit); err != nil {
			return figures, err
		}
		if f.Value, err = decimal(value); err != nil {
			return figures, err
		}
		figures = append(figures, f)
	}
	return figures, nil
}

// decimal reads an unsigned decimal number of at most 18 digits.
func decimal(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 18 {
		return 0, fmt.Errorf("%q is not a number of 1 to 18 digits", b)
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a number", b)
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// readSQL is the one statement that answers q: a range of the primary key
// per measure for one unit, of the covering index measure_values_period
// for every unit, read in the index's order and grouped as it comes: one
// row per measure and period, its units' "unit:value" in one list, with
// their count and sum, by which a list the server cut short
// (group_concat_max_len) is told from a whole one.
func readSQL(q Query) (string, []any) {
	query := `SELECT measure, period_start, GROUP_CONCAT(CONCAT(unit_id, ':', value) SEPARATOR ',') AS figures, COUNT(*) AS n, SUM(value) AS total FROM measure_values
WHERE measure IN (?` + strings.Repeat(", ?", len(q.Measures)-1) + `) AND grain = ? AND period_start BETWEEN ? AND ?`
	args := make([]any, 0, len(q.Measures)+4)
	for _, id := range q.Measures {
		args = append(args, id)
	}
	args = append(args, grainCode[q.By], q.From, q.To)
	if q.Unit != nil {
		query += " AND unit_id = ?"
		args = append(args, *q.Unit)
	}
	// The order of either index, without its constants (grain, and for
	// one unit unit_id): MariaDB reads the ranges in order, unsorted.
	return query + " GROUP BY measure, period_start ORDER BY measure, period_start", args
}
