package rollout_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// benchCounted are the count measures a report reads, recorded every
// day of the half-month for every unit.
var benchCounted = []string{"oa.documents.sent", "oa.documents.received", "oa.documents.paper", "oa.notices.read",
	"approval.applications.decided", "approval.applications.decided_online", "approval.applications.decided_on_time",
	"approval.applications.overdue", measure.TasksLate, measure.Logins}

// benchMeasures: every county has enabled oa, approval and disclosure.
type benchMeasures struct{}

func (benchMeasures) Measures(context.Context, string) ([]measure.Definition, error) {
	var defs []measure.Definition
	for _, id := range benchCounted[:8] {
		defs = append(defs, measure.Definition{ID: id})
	}
	return append(defs, measure.Definition{ID: "disclosure.index.percent", Level: true},
		measure.Definition{ID: "disclosure.index.county_percent", Level: true, CountyWide: true}), nil
}

// seedReportCounty gives county units 1 to units and, straight into
// measure_values, every counted measure on every day of 2026-11-16 to 30
// for each, its active accounts of the half-month and its disclosure
// index, and a plan in trial.
func seedReportCounty(b *testing.B, control *sqlx.DB, router *store.Router, county string, units int) {
	b.Helper()
	var unitRows, valueRows []string
	for u := 1; u <= units; u++ {
		unitRows = append(unitRows, fmt.Sprintf("(%d, '单位%03d', 'U%03d', %d, NOW(6), NOW(6))", u, u, u, u))
		for _, m := range benchCounted {
			for d := 16; d <= 30; d++ {
				valueRows = append(valueRows, fmt.Sprintf("('%s', %d, 'd', '2026-11-%02d', %d)", m, u, d, u%7+d%3+1))
			}
		}
		valueRows = append(valueRows, fmt.Sprintf("('%s', %d, 'h', '2026-11-16', %d)", measure.ActiveAccounts, u, u%20+3),
			fmt.Sprintf("('disclosure.index.percent', %d, 'd', '2026-11-%02d', %d)", u, u%15+1, 60+u%40))
	}
	err := router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		for _, stmt := range []string{
			"INSERT INTO units (id, name, code, sort_order, created_at, updated_at) VALUES " + strings.Join(unitRows, ", "),
			"INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES " + strings.Join(valueRows, ", "),
			"ANALYZE TABLE units, measure_values",
		} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%.60s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	body := `{"template":"default","phases":[{"phase":"preparation","days":30,"tasks":[],"gate":[],"start":"2026-09-01"}],"key_units":{}}`
	if _, err := control.Exec("INSERT INTO rollout_plans (county, template_id, body, phase, phase_started, version, created_at, updated_at) VALUES (?, 'default', ?, 'trial', '2026-11-01', 1, NOW(6), NOW(6))", county, body); err != nil {
		b.Fatal(err)
	}
}

// rawHalfMonth reads by hand what a county's half-monthly report reads:
// its units, the counts summed over the half-month per measure and unit,
// the indexes standing on its last day and the half-month's active
// accounts, each scanned into plain numbers. It is the benchmark's
// baseline: the same reads without the registry, the catalog, the
// targets, the document, its digest and its archiving.
func rawHalfMonth(ctx context.Context, router *store.Router, county string) (int, error) {
	n := 0
	err := router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		var units []struct {
			ID   int64  `db:"id"`
			Code string `db:"code"`
			Name string `db:"name"`
		}
		if err := conn.SelectContext(ctx, &units, "SELECT id, code, name FROM units ORDER BY sort_order, id"); err != nil {
			return err
		}
		counted := make([]any, 0, len(benchCounted)+3)
		for _, m := range benchCounted {
			counted = append(counted, m)
		}
		sums := `SELECT measure, unit_id, CAST(SUM(value) AS SIGNED) FROM measure_values WHERE measure IN (?` + strings.Repeat(", ?", len(counted)-1) + `) AND grain = 'd' AND period_start BETWEEN ? AND ? GROUP BY measure, unit_id`
		levels := `SELECT m.measure, m.unit_id, m.value FROM measure_values m JOIN (SELECT measure, unit_id, MAX(period_start) AS last_day FROM measure_values
WHERE measure IN (?, ?) AND grain = 'd' AND period_start <= ? GROUP BY measure, unit_id) s ON m.measure = s.measure AND m.unit_id = s.unit_id AND m.grain = 'd' AND m.period_start = s.last_day`
		active := `SELECT measure, unit_id, value FROM measure_values WHERE measure = ? AND grain = 'h' AND period_start = ?`
		for _, q := range []struct {
			query string
			args  []any
		}{
			{sums, append(counted, "2026-11-16", "2026-11-30")},
			{levels, []any{"disclosure.index.percent", "disclosure.index.county_percent", "2026-11-30"}},
			{active, []any{measure.ActiveAccounts, "2026-11-16"}},
		} {
			rows, err := conn.QueryContext(ctx, q.query, q.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var m string
				var unit, value int64
				if err := rows.Scan(&m, &unit, &value); err != nil {
					rows.Close()
					return err
				}
				n++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// BenchmarkHalfMonthReports generates the half-monthly reports of
// COUNTYCLOUD_BENCH_COUNTIES counties (default 10) of 50 units each, one
// county after the other as the jobs would, each iteration first by the
// service (GenerateHalfMonth, the archive emptied before) and then by
// hand (rawHalfMonth, the baseline), reporting the time per county of
// each and raw ÷ reports (the share of the baseline's speed reached).
func BenchmarkHalfMonthReports(b *testing.B) {
	counties := 10
	if s := os.Getenv("COUNTYCLOUD_BENCH_COUNTIES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("COUNTYCLOUD_BENCH_COUNTIES=%q: a number of counties", s)
		}
		counties = n
	}
	db := storetest.New(b)
	var codes []string
	var creates []registry.CreateRequest
	for i := range counties {
		// County codes are letters: the i-th in base 26, a to z.
		code := "gd.shaoguan.x" + string([]byte{byte('a' + i/676%26), byte('a' + i/26%26), byte('a' + i%26)})
		codes = append(codes, code)
		creates = append(creates, registry.CreateRequest{Code: code, Name: fmt.Sprintf("县%04d", i)})
	}
	reg := provisiontest.Registry(b, db, creates...)
	router := provisiontest.Router(db, registry.LocatorInterval)
	for _, c := range codes {
		seedReportCounty(b, db.Control, router, c, 50)
	}
	now := func() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }
	reports := rollout.NewReports(db.Control, reg, orgUnits{org.NewService(router)}, measure.NewService(router, benchMeasures{}), jobs.NewQueue(db.Control), now)
	ctx := operator(context.Background())
	if _, err := reports.SetTargets(ctx, map[string]float64{"docs_online_rate": 80, "approvals_online_rate": 80, "disclosure_index": 90}); err != nil {
		b.Fatal(err)
	}
	var service, raw time.Duration
	for b.Loop() {
		if _, err := db.Control.Exec("DELETE FROM rollout_reports"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for _, c := range codes {
			if _, err := reports.GenerateHalfMonth(ctx, c, "2026-11-16"); err != nil {
				b.Fatal(err)
			}
		}
		service += time.Since(start)
		start = time.Now()
		for _, c := range codes {
			if n, err := rawHalfMonth(ctx, router, c); err != nil || n != 50*(len(benchCounted)+2) {
				b.Fatalf("raw: %d figures, %v", n, err)
			}
		}
		raw += time.Since(start)
	}
	page, err := reports.List(ctx, rollout.ReportFilter{County: codes[0]})
	if err != nil || len(page.Reports) != 1 {
		b.Fatalf("the archive: %+v %v", page, err)
	}
	if _, body, err := reports.Document(ctx, codes[0], page.Reports[0].ID); err != nil || strings.Count(string(body), `"unit":{"id"`) != 51 {
		b.Fatalf("a report of 50 units and the county's row: %v", err)
	}
	perCounty := func(d time.Duration) float64 {
		return float64(d.Microseconds()) / 1000 / float64(b.N*counties)
	}
	b.ReportMetric(perCounty(service), "report-ms/county")
	b.ReportMetric(perCounty(raw), "raw-ms/county")
	b.ReportMetric(float64(raw)/float64(service), "raw/report")
}
