package measure_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/measure"
)

// seedYear fills county's figures with a year (2026) of every day of
// measures bench.m00… of units 1 to units, as recordings would leave them:
// each day's value, and the half-months' and months' sums.
func (w *world) seedYear(t testing.TB, county string, units, measures int) {
	t.Helper()
	err := w.router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		values := make([]string, 365)
		for i := range values {
			values[i] = fmt.Sprintf("(%d)", i)
		}
		for _, stmt := range []string{
			"CREATE TABLE bench_n (i INT NOT NULL PRIMARY KEY)",
			"INSERT INTO bench_n (i) VALUES " + strings.Join(values, ", "),
			fmt.Sprintf(`INSERT INTO measure_values (measure, unit_id, grain, period_start, value)
SELECT CONCAT('bench.m', LPAD(m.i, 2, '0')), u.i + 1, 'd', DATE_ADD('2026-01-01', INTERVAL d.i DAY), 1 + (m.i + u.i + d.i) %% 5
FROM bench_n m JOIN bench_n u JOIN bench_n d WHERE m.i < %d AND u.i < %d`, measures, units),
			`INSERT INTO measure_values (measure, unit_id, grain, period_start, value)
SELECT measure, unit_id, 'h', IF(DAY(period_start) <= 15, DATE_FORMAT(period_start, '%Y-%m-01'), DATE_FORMAT(period_start, '%Y-%m-16')), SUM(value)
FROM measure_values WHERE grain = 'd' GROUP BY measure, unit_id, IF(DAY(period_start) <= 15, DATE_FORMAT(period_start, '%Y-%m-01'), DATE_FORMAT(period_start, '%Y-%m-16'))`,
			`INSERT INTO measure_values (measure, unit_id, grain, period_start, value)
SELECT measure, unit_id, 'm', DATE_FORMAT(period_start, '%Y-%m-01'), SUM(value)
FROM measure_values WHERE grain = 'd' GROUP BY measure, unit_id, DATE_FORMAT(period_start, '%Y-%m-01')`,
			"DROP TABLE bench_n",
			"ANALYZE TABLE measure_values",
		} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%.60s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// benchCatalog declares bench.m00 to bench.m(n-1).
func benchCatalog(n int) (catalog, []string) {
	var c catalog
	var ids []string
	for i := range n {
		id := fmt.Sprintf("bench.m%02d", i)
		ids = append(ids, id)
		c = append(c, measure.Definition{ID: id, Label: measure.Label{ZH: "指标", EN: "Measure"}, Counts: measure.Label{ZH: "一次", EN: "one"}})
	}
	return c, ids
}

// TestAReportIsOneRangeScan: a year of every unit by month reads the
// covering index, one unit's the primary key, each as one range scan in
// the index's order (no sort), grouped as it comes (no temporary table),
// reading no days.
func TestAReportIsOneRangeScan(t *testing.T) {
	t.Parallel()
	w := setup(t)
	w.seedYear(t, wengyuan, 10, 30)
	_, ids := benchCatalog(30)
	unit := int64(3)
	for _, tc := range []struct {
		q      measure.Query
		key    string
		sorted bool
	}{
		{measure.Query{Measures: ids, From: "2026-01-01", To: "2026-12-31", By: measure.ByMonth}, "measure_values_period", false},
		{measure.Query{Measures: ids, Unit: &unit, From: "2026-01-01", To: "2026-12-31", By: measure.ByHalfMonth}, "PRIMARY", false},
		// One measure's month of days: MariaDB sorts the 31 rows.
		{measure.Query{Measures: ids[:1], Unit: &unit, From: "2026-03-01", To: "2026-03-31", By: measure.ByDay}, "PRIMARY", true},
	} {
		query, args := measure.ReadSQL(tc.q)
		var plan []struct {
			Table string  `db:"table"`
			Type  string  `db:"type"`
			Key   *string `db:"key"`
			Extra *string `db:"Extra"`
		}
		err := w.router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
			rows, err := conn.QueryxContext(ctx, "EXPLAIN "+query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				row := map[string]any{}
				if err := rows.MapScan(row); err != nil {
					return err
				}
				str := func(k string) *string {
					if b, ok := row[k].([]byte); ok {
						s := string(b)
						return &s
					}
					return nil
				}
				plan = append(plan, struct {
					Table string  `db:"table"`
					Type  string  `db:"type"`
					Key   *string `db:"key"`
					Extra *string `db:"Extra"`
				}{Table: *str("table"), Type: *str("type"), Key: str("key"), Extra: str("Extra")})
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != 1 || plan[0].Type != "range" || plan[0].Key == nil || *plan[0].Key != tc.key || (!tc.sorted && plan[0].Extra != nil && strings.Contains(*plan[0].Extra, "filesort")) ||
			(plan[0].Extra != nil && strings.Contains(*plan[0].Extra, "temporary")) {
			extra := ""
			if len(plan) == 1 && plan[0].Extra != nil {
				extra = *plan[0].Extra
			}
			t.Errorf("by %s, unit %v: plan %+v (%s), want one range of %s without a sort or a temporary table", tc.q.By, tc.q.Unit, plan, extra, tc.key)

		}
	}
}

// BenchmarkYearReport reads a county's year by month, 100 units × 30
// measures (36,000 figures), with a year of days behind it:
//
//	service  Read, as the API does (catalog, reach, the statement, rows
//	         scanned as they come)
//	raw      the statement as Read ran it before (periods formatted by
//	         the server, rows mapped by sqlx), the baseline of the ratio
//	scan     the server reading the same range and sending one row
//	days     what a report would cost summing the days on the fly
//
// Each reports its p50 in ms.
func BenchmarkYearReport(b *testing.B) {
	w := setup(b)
	w.seedYear(b, wengyuan, 100, 30)
	cat, ids := benchCatalog(30)
	svc := measure.NewService(w.router, cat)
	q := measure.Query{Measures: ids, From: "2026-01-01", To: "2026-12-31", By: measure.ByMonth}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	p50 := func(b *testing.B, run func() int) {
		times := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			if n := run(); n != 100*30*12 {
				b.Fatalf("%d figures, want 36,000", n)
			}
			times = append(times, time.Since(start))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
	}
	raw := func(b *testing.B, query string, args []any) func() int {
		return func() int {
			var figures []measure.Figure
			err := w.router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
				return conn.SelectContext(ctx, &figures, query, args...)
			})
			if err != nil {
				b.Fatal(err)
			}
			return len(figures)
		}
	}
	b.Run("service", func(b *testing.B) {
		p50(b, func() int {
			r, err := svc.Read(admin, wengyuan, q)
			if err != nil {
				b.Fatal(err)
			}
			return len(r.Figures)
		})
	})
	// The statement as the service ran it before, a row per figure,
	// periods formatted by the server and rows mapped by sqlx: the
	// baseline.
	where := `WHERE measure IN (?` + strings.Repeat(", ?", len(ids)-1) + `) AND grain = 'm' AND period_start BETWEEN '2026-01-01' AND '2026-12-31'`
	before := `SELECT measure, unit_id, DATE_FORMAT(period_start, '%Y-%m-%d') AS period, value FROM measure_values ` + where + ` ORDER BY measure, period_start, unit_id`
	b.Run("raw", func(b *testing.B) { p50(b, raw(b, before, args)) })
	// What the server spends reading the same range, sending one row:
	// the floor of any report of these 36,000 stored values.
	floor := "SELECT COUNT(*), SUM(value) FROM measure_values " + where
	b.Run("scan", func(b *testing.B) {
		p50(b, func() int {
			var n struct {
				Count int64 `db:"COUNT(*)"`
				Sum   int64 `db:"SUM(value)"`
			}
			err := w.router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
				return conn.GetContext(ctx, &n, floor, args...)
			})
			if err != nil {
				b.Fatal(err)
			}
			return int(n.Count)
		})
	})
	// The same report summed from the days: what the half-month and month
	// rows spare every read.
	days := `SELECT measure, unit_id, DATE_FORMAT(period_start, '%Y-%m-01') AS period, SUM(value) AS value FROM measure_values
WHERE measure IN (?` + strings.Repeat(", ?", len(ids)-1) + `) AND grain = 'd' AND period_start BETWEEN '2026-01-01' AND '2026-12-31'
GROUP BY measure, unit_id, DATE_FORMAT(period_start, '%Y-%m-01') ORDER BY measure, period, unit_id`
	b.Run("days", func(b *testing.B) { p50(b, raw(b, days, args)) })
}

// BenchmarkFold is what folding the pending counts costs: on a read's
// connection with nothing pending (none: the one statement every read
// adds), and a fold
// of the counts of 100 actions, two measures each over ten units, into
// their day, half-month and month (actions-100; reported per action).
//
//	go test ./core/measure -run '^$' -bench Fold -benchtime 200x
func BenchmarkFold(b *testing.B) {
	w := setup(b)
	ctx := context.Background()
	fold := func() {
		if err := w.svc.Fold(ctx, wengyuan); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("none", func(b *testing.B) {
		err := w.router.InTenant(ctx, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
			for range b.N {
				if err := measure.Fold(ctx, conn); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	})
	b.Run("actions-100", func(b *testing.B) {
		at := time.Date(2026, 3, 16, 10, 0, 0, 0, china)
		for range b.N {
			b.StopTimer()
			for i := range 100 {
				w.add(b, wengyuan, at, measure.Count{Measure: sent.ID, Unit: int64(1 + i%10)}, measure.Count{Measure: paper.ID, Unit: int64(1 + i%10)})
			}
			b.StartTimer()
			fold()
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(100*b.N)/1000, "ms/action")
	})
}
