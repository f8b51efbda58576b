package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// rolloutBenchReport is what `bench rollout` measured, in one run.
type rolloutBenchReport struct {
	Machine  string `json:"machine"`
	Database string `json:"database"`
	Tenants  int    `json:"tenants"`
	Units    int    `json:"units_per_county"`
	// MeasureRows are the figures seeded per county.
	MeasureRows int `json:"measure_rows_per_county"`
	// Refresh is the overview job's pass over every county: with the
	// job's interval, how stale the overview may be.
	RefreshSeconds float64 `json:"overview_refresh_seconds"`
	StaleBound     string  `json:"overview_stale_bound"`
	// Overview is GET /v1/rollout/overview of every county.
	OverviewP50MS float64 `json:"overview_p50_ms"`
	OverviewP99MS float64 `json:"overview_p99_ms"`
	// Gate is one county's gate with GateUnits units evaluated through
	// the service, against the raw SQL reading the same measures.
	GateUnits    int     `json:"gate_units"`
	GateP50MS    float64 `json:"gate_p50_ms"`
	GateRawP50MS float64 `json:"gate_raw_p50_ms"`
	GateRatio    float64 `json:"gate_raw_over_service"`
	// ReportsSeconds is generating and archiving the half-monthly report
	// of every county (its units' figures, the targets, the archive),
	// as the report jobs do, ReportWorkers at once.
	ReportsSeconds float64        `json:"half_month_reports_seconds"`
	ReportWorkers  int            `json:"report_workers"`
	Goals          []benchGoal    `json:"goals"`
	Provisioning   benchProvision `json:"provisioning"`
}

// benchTemplate is a province's template whose gate in preparation reads
// measures every county has, per key unit, per unit and county-wide.
const benchTemplate = `{"id":"bench","name":{"zh-CN":"基准","en":"Bench"},"phases":[
{"phase":"preparation","days":30,"tasks":[
 {"id":"logins","name":{"zh-CN":"登录","en":"Logins"},"owner":"unit","due_days":10,"kind":"evidence","modules":["oa"],"check":{"measure":"platform.logins","scope":"key_units","at_least":1}},
 {"id":"on_time","name":{"zh-CN":"按时办理","en":"On time"},"owner":"unit","due_days":10,"kind":"evidence","check":{"measure":"platform.tasks.on_time","scope":"units","at_least":2,"since":"ever"}},
 {"id":"late","name":{"zh-CN":"超时","en":"Late"},"owner":"unit","due_days":10,"kind":"evidence","check":{"measure":"platform.tasks.late","scope":"units","at_most":3,"since":"ever"}},
 {"id":"notices","name":{"zh-CN":"通知","en":"Notices"},"owner":"county","due_days":10,"kind":"evidence","check":{"measure":"platform.notices.delivered.inbox","scope":"county","at_least":2}}],
 "gate":["logins","on_time","late","notices"]},
{"phase":"testing","days":14,"tasks":[]},{"phase":"trial","days":30,"tasks":[]},{"phase":"formal","tasks":[]},{"phase":"expansion","tasks":[]}]}`

// benchDays is how many days of figures each unit gets.
const benchDays = 10

func newBenchRolloutCmd(e env) *cobra.Command {
	var cfg config.Database
	var tenants, units, gateUnits, requests int
	var output string
	cmd := &cobra.Command{
		Use:   "rollout [--tenants N] [--units U] [--gate-units G] [--requests R]",
		Short: "Measure the provincial overview, a county's gate and the overview job over N counties",
		Long: `Create N counties in throw-away schemas, each with U units, a rollout plan from
a bench template whose preparation gate reads measures per key unit, per unit
and county-wide, and 10 days of figures per unit; then measure in one
run: the overview job's pass over every county (which, with its 30-second
interval, bounds how stale the overview is); GET /v1/rollout/overview of every
county (p50, p99 of R requests); the gate of one county with G units
evaluated through the service against the raw SQL reading the same measures
(p50 of each, and their ratio); and the half-monthly report of every county
generated and archived, as the report jobs do. Everything is dropped at the end.`,
		Example: "  countycloud bench rollout --mysql-dsn 'countycloud:countycloud@tcp(127.0.0.1:3306)/' --tenants 1000 --units 50 -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.ApplyEnv(cmd.Flags(), e.lookup); err != nil {
				return usageError("%v", err)
			}
			if err := cfg.Validate(false); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			switch {
			case tenants < 1 || tenants > 26*26*26:
				return usageError("--tenants must be between 1 and %d", 26*26*26)
			case units < 1 || units > 500 || gateUnits < 1 || gateUnits > 500:
				return usageError("--units and --gate-units must be between 1 and 500")
			case requests < 10:
				return usageError("--requests must be at least 10")
			case output != "table" && output != "json":
				return usageError("--output %q: use table or json", output)
			}
			b := &rolloutBencher{bencher: &bencher{e: e, cfg: cfg, tenants: tenants}, units: units, gateUnits: gateUnits, requests: requests}
			r, err := b.run(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(e.stdout, r)
			}
			return printRolloutBench(e.stdout, r)
		},
	}
	cfg.RegisterFlags(cmd.Flags())
	cmd.Flags().IntVar(&tenants, "tenants", 100, "how many counties to create")
	cmd.Flags().IntVar(&units, "units", 50, "units per county")
	cmd.Flags().IntVar(&gateUnits, "gate-units", 100, "units of the county whose gate is evaluated")
	cmd.Flags().IntVar(&requests, "requests", 200, "overview requests and gate evaluations to time")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	return cmd
}

type rolloutBencher struct {
	*bencher
	units, gateUnits, requests int
}

func (b *rolloutBencher) run(ctx context.Context) (*rolloutBenchReport, error) {
	closeDown, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeDown()
	r := &rolloutBenchReport{Machine: machine(), Tenants: b.tenants, Units: b.units, GateUnits: b.gateUnits}
	_ = b.db.control.GetContext(ctx, &r.Database, "SELECT VERSION()")
	var provisioned benchReport
	if err := b.provision(ctx, &provisioned); err != nil {
		return nil, err
	}
	r.Provisioning = provisioned.Provisioning
	tokens := make(chan string, 1)
	p, err := newPlatformOn(config.Server{Database: b.cfg}, b.db, b.log, func(t string) { tokens <- t })
	if err != nil {
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	token := <-tokens
	if err := b.seedRollout(ctx, p, r); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := p.rollout.RefreshOverview(ctx); err != nil {
		return nil, err
	}
	r.RefreshSeconds = math.Round(time.Since(start).Seconds()*10) / 10
	stale := rollout.OverviewEvery + time.Duration(r.RefreshSeconds*float64(time.Second))
	r.StaleBound = stale.Round(time.Second).String()

	srv := httptest.NewServer(p.handler())
	defer srv.Close()
	client := newLeanClient(srv.Listener.Addr().String(), "Bearer "+token, 1)
	defer client.close()
	r.OverviewP50MS, r.OverviewP99MS, err = timed(b.requests, func() error { return client.get("/v1/rollout/overview") })
	if err != nil {
		return nil, err
	}
	if err := b.gate(ctx, p, r); err != nil {
		return nil, err
	}
	if err := b.reports(ctx, p, r); err != nil {
		return nil, err
	}
	r.Goals = []benchGoal{
		{"overview p50 ≤ 200 ms", r.OverviewP50MS <= 200},
		{"overview p99 ≤ 500 ms", r.OverviewP99MS <= 500},
		{"overview at most a minute stale", stale <= time.Minute},
		{"a county's gate p50 ≤ 50 ms", r.GateP50MS <= 50},
		{"raw SQL / gate ≥ 0.5", r.GateRatio >= 0.5},
		{fmt.Sprintf("the half-monthly reports of %d counties ≤ 2 min", b.tenants), r.ReportsSeconds <= 120},
	}
	return r, nil
}

// timed runs call n times, after n/10 untimed, and returns the p50 and
// p99 in milliseconds.
func timed(n int, call func() error) (p50, p99 float64, err error) {
	for range n / 10 {
		if err := call(); err != nil {
			return 0, 0, err
		}
	}
	took := make([]float64, n)
	for i := range n {
		t0 := time.Now()
		if err := call(); err != nil {
			return 0, 0, err
		}
		took[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	return percentile(took, 50), percentile(took, 99), nil
}

// benchKeyUnits is how many of a county's units are the key units of oa.
const benchKeyUnits = 10

// seedRollout gives every county its units (the first county gateUnits
// of them) with benchDays days of figures each, and a plan from
// benchTemplate.
func (b *rolloutBencher) seedRollout(ctx context.Context, p *platform, r *rolloutBenchReport) error {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindOperator, Login: "bench", Roles: []string{auth.RoleOperator}})
	ctx = audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindOperator), Login: "bench"})
	if _, err := p.rollout.PutTemplate(ctx, []byte(benchTemplate)); err != nil {
		return err
	}
	today := time.Now()
	r.MeasureRows = b.units * 3 * benchDays
	return b.parallel(ctx, "units, figures and plans", len(b.counties), b.cfg.ProvisionConcurrency, func(ctx context.Context, i int) error {
		t := b.counties[i]
		units := b.units
		if i == 0 {
			units = b.gateUnits
		}
		err := b.db.clusters[t.Cluster].InSchema(ctx, t.Schema, func(ctx context.Context, conn *sqlx.Conn) error {
			return seedUnitsAndFigures(ctx, conn, units, today)
		})
		if err != nil {
			return fmt.Errorf("%s: %w", t.Code, err)
		}
		keys := make([]string, min(benchKeyUnits, units))
		for k := range keys {
			keys[k] = fmt.Sprintf("U%03d", k+1)
		}
		_, err = p.rollout.CreatePlan(ctx, t.Code, rollout.PlanInput{Template: "bench", Start: measure.Day(today.AddDate(0, 0, -benchDays)), KeyUnits: map[string][]string{"oa": keys}})
		return err
	})
}

// seedUnitsAndFigures writes units U001… and their figures: logins and
// tasks on time every day, a task late every other day, and the
// county's inbox notices.
func seedUnitsAndFigures(ctx context.Context, conn *sqlx.Conn, units int, today time.Time) error {
	var rows []string
	var args []any
	for u := 1; u <= units; u++ {
		rows = append(rows, "(?, ?, ?, NOW(), NOW())")
		args = append(args, u, fmt.Sprintf("单位%03d", u), fmt.Sprintf("U%03d", u))
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO units (id, name, code, created_at, updated_at) VALUES "+strings.Join(rows, ", "), args...); err != nil {
		return err
	}
	rows, args = rows[:0], args[:0]
	add := func(id string, unit int, day time.Time, v int) {
		rows = append(rows, "(?, ?, 'd', ?, ?)")
		args = append(args, id, unit, measure.Day(day), v)
	}
	for d := range benchDays {
		day := today.AddDate(0, 0, -d)
		add(measure.NoticesInbox, 0, day, 1)
		for u := 1; u <= units; u++ {
			add(measure.Logins, u, day, 2)
			add(measure.TasksOnTime, u, day, 1)
			if d%2 == 0 {
				add(measure.TasksLate, u, day, 1)
			}
		}
	}
	for start := 0; start < len(rows); start += 1000 {
		end := min(start+1000, len(rows))
		if _, err := conn.ExecContext(ctx, "INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES "+strings.Join(rows[start:end], ", "), args[start*4:end*4]...); err != nil {
			return err
		}
	}
	return nil
}

// gate times the status of the first county (its gate evaluated) through
// the service and the raw SQL reading the same figures: the units, and
// each window's measures per unit. The two take turns, one of each per
// round, so that both see the same load on a shared machine.
func (b *rolloutBencher) gate(ctx context.Context, p *platform, r *rolloutBenchReport) error {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindOperator, Login: "bench", Roles: []string{auth.RoleOperator}})
	county := b.counties[0]
	raw := store.Open(b.db.clusterConfig(county.Cluster), 2, b.log)
	defer raw.Close()
	today := measure.Day(time.Now())
	from := measure.Day(time.Now().AddDate(0, 0, -benchDays))
	service := func() error {
		st, err := p.rollout.Status(ctx, county.Code)
		if err == nil && st.Total != 4 {
			err = fmt.Errorf("the bench county's gate has %d tasks", st.Total)
		}
		return err
	}
	took, err := inTurns(b.requests, service, func() error { return rawGate(ctx, b.db.control, raw, county, from, today) })
	if err != nil {
		return err
	}
	r.GateP50MS, r.GateRawP50MS = percentile(took[0], 50), percentile(took[1], 50)
	r.GateRatio = math.Round(r.GateRawP50MS/r.GateP50MS*100) / 100
	return nil
}

// inTurns runs each call n times, after a tenth of that to warm up, one
// of each per round, and returns each one's times in milliseconds.
func inTurns(n int, calls ...func() error) ([][]float64, error) {
	took := make([][]float64, len(calls))
	for round := range n + n/10 {
		for i, call := range calls {
			t0 := time.Now()
			if err := call(); err != nil {
				return nil, err
			}
			if round >= n/10 {
				took[i] = append(took[i], float64(time.Since(t0).Microseconds())/1000)
			}
		}
	}
	return took, nil
}

// reports generates the half-monthly report of the last half-month of
// every county, as the report jobs do, and times them all.
func (b *rolloutBencher) reports(ctx context.Context, p *platform, r *rolloutBenchReport) error {
	ctx = auth.WithPrincipal(ctx, auth.Principal{Kind: auth.KindOperator, Login: "bench", Roles: []string{auth.RoleOperator}})
	ctx = audit.WithActor(ctx, audit.Actor{Kind: string(auth.KindOperator), Login: "bench"})
	reports := rollout.NewReports(p.db.control, p.tenants, orgUnits{p.org}, p.measures, p.jobs, time.Now)
	period := rollout.LastHalfMonth(time.Now())
	r.ReportWorkers = b.cfg.ProvisionConcurrency
	start := time.Now()
	err := b.parallel(ctx, "half-monthly reports", len(b.counties), r.ReportWorkers, func(ctx context.Context, i int) error {
		_, err := reports.GenerateHalfMonth(ctx, b.counties[i].Code, period)
		return err
	})
	r.ReportsSeconds = math.Round(time.Since(start).Seconds()*10) / 10
	return err
}

// rawGate is the baseline of a gate's evaluation: the plan read, the
// units and the figures of its checks' two windows, through plain sqlx.
func rawGate(ctx context.Context, control, pool *sqlx.DB, county registry.Tenant, from, today string) error {
	var body string
	if err := control.GetContext(ctx, &body, "SELECT body FROM rollout_plans WHERE county = ?", county.Code); err != nil {
		return err
	}
	var plan rollout.PlanBody
	if err := json.Unmarshal([]byte(body), &plan); err != nil {
		return err
	}
	schema := "`" + county.Schema + "`."
	var units []struct {
		ID   int64  `db:"id"`
		Code string `db:"code"`
		Name string `db:"name"`
	}
	if err := pool.SelectContext(ctx, &units, "SELECT id, code, name FROM "+schema+"units ORDER BY sort_order, id"); err != nil {
		return err
	}
	var figures []measure.Total
	if err := pool.SelectContext(ctx, &figures, "SELECT measure, unit_id, CAST(SUM(value) AS SIGNED) AS value FROM "+schema+
		"measure_values WHERE measure IN (?, ?) AND grain = 'd' AND period_start BETWEEN ? AND ? GROUP BY measure, unit_id", measure.Logins, measure.NoticesInbox, from, today); err != nil {
		return err
	}
	var ever []measure.Total
	if err := pool.SelectContext(ctx, &ever, "SELECT measure, unit_id, CAST(SUM(value) AS SIGNED) AS value FROM "+schema+
		"measure_values WHERE measure IN (?, ?) AND grain = 'd' AND period_start BETWEEN '2000-01-01' AND ? GROUP BY measure, unit_id", measure.TasksLate, measure.TasksOnTime, today); err != nil {
		return err
	}
	if len(units) == 0 || len(figures) == 0 || len(ever) == 0 {
		return fmt.Errorf("the baseline read nothing")
	}
	return nil
}

func printRolloutBench(w io.Writer, r *rolloutBenchReport) error {
	rows := [][]string{
		{"machine", r.Machine},
		{"database", r.Database},
		{"counties × units", fmt.Sprintf("%d × %d (figures: %d rows a county)", r.Tenants, r.Units, r.MeasureRows)},
		{"provisioning all", fmt.Sprintf("%.1f s", r.Provisioning.TotalSeconds)},
		{"overview job, every county", fmt.Sprintf("%.1f s (the overview at most %s stale)", r.RefreshSeconds, r.StaleBound)},
		{"GET /v1/rollout/overview p50 / p99", fmt.Sprintf("%.1f ms / %.1f ms", r.OverviewP50MS, r.OverviewP99MS)},
		{fmt.Sprintf("a county's gate (%d units) p50", r.GateUnits), fmt.Sprintf("%.1f ms (raw SQL %.1f ms: %.2f)", r.GateP50MS, r.GateRawP50MS, r.GateRatio)},
		{"half-monthly reports of every county", fmt.Sprintf("%.1f s (%d at once)", r.ReportsSeconds, r.ReportWorkers)},
	}
	return printTable(w, []string{"MEASURE", "RESULT"}, append(rows, goalRows(r.Goals)...))
}
