package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// benchReport is what `bench tenants` measured, in one run on one machine.
type benchReport struct {
	Machine      string         `json:"machine"`
	Database     string         `json:"database"`
	Tenants      int            `json:"tenants"`
	Concurrency  int            `json:"concurrency"`
	Provisioning benchProvision `json:"provisioning"`
	NoOpCheckMS  float64        `json:"noop_migration_check_ms"`
	FanOut       benchFanOut    `json:"fan_out"`
	Connections  benchConns     `json:"connections"`
	Reads        benchReads     `json:"reads"`
	Goals        []benchGoal    `json:"goals"`
}

type benchProvision struct {
	P50MS        float64 `json:"p50_ms"`
	P95MS        float64 `json:"p95_ms"`
	TotalSeconds float64 `json:"total_seconds"`
}

type benchFanOut struct {
	Migration string  `json:"migration"`
	Seconds   float64 `json:"seconds"`
	Failed    int     `json:"failed"`
}

type benchConns struct {
	Peak int `json:"peak_open"`
	Cap  int `json:"cap"`
}

type benchReads struct {
	Request     string  `json:"request"`
	Seconds     float64 `json:"seconds_each"`
	SpreadRPS   float64 `json:"spread_per_second"`
	SingleRPS   float64 `json:"single_per_second"`
	RawRPS      float64 `json:"raw_sqlx_per_second"`
	RawSpread   float64 `json:"raw_sqlx_spread_per_second"`
	SpreadRatio float64 `json:"spread_over_single"`
	RawRatio    float64 `json:"raw_spread_over_raw_single"`
	APIRatio    float64 `json:"api_over_raw"`
}

type benchGoal struct {
	Goal string `json:"goal"`
	Met  bool   `json:"met"`
}

// benchAccounts is how many accounts each bench county holds, the page
// the representative request reads.
const benchAccounts = 20

func newBenchCmd(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure the platform against a real database"}
	var cfg config.Database
	var tenants int
	var duration time.Duration
	var output string
	tenantsCmd := &cobra.Command{
		Use:   "tenants [--tenants N] [--provision-concurrency C] [--duration D]",
		Short: "Measure provisioning, migration fan-out, connections and reads over N counties",
		Long: `Create N counties in throw-away schemas on the configured database, and
measure in one run: provisioning time per county (p50, p95) and for all N at
--provision-concurrency; the no-op migration check over N; fanning a small new
migration out over N; the peak of open connections against their cap; and the
throughput of one representative API request (a county's account list) spread
over the N counties, on one county, and as the same SQL through raw sqlx. The
schemas are dropped at the end. Figures are ratios where machines are noisy.`,
		Example: "  countycloud bench tenants --mysql-dsn 'root@tcp(127.0.0.1:3306)/' --tenants 1000 -o json",
		Args:    exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := config.ApplyEnv(cmd.Flags(), e.lookup); err != nil {
				return usageError("%v", err)
			}
			if err := cfg.Validate(false); err != nil {
				return usageError("invalid configuration:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
			}
			if tenants < 1 || tenants > 26*26*26 {
				return usageError("--tenants must be between 1 and %d", 26*26*26)
			}
			if output != "table" && output != "json" {
				return usageError("--output %q: use table or json", output)
			}
			b := &bencher{e: e, cfg: cfg, tenants: tenants, duration: duration}
			report, err := b.run(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return printJSON(e.stdout, report)
			}
			return printBench(e.stdout, report)
		},
	}
	cfg.RegisterFlags(tenantsCmd.Flags())
	tenantsCmd.Flags().IntVar(&tenants, "tenants", 100, "how many counties to create")
	tenantsCmd.Flags().DurationVar(&duration, "duration", 5*time.Second, "how long each read measurement runs")
	tenantsCmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.AddCommand(tenantsCmd, newBenchRolloutCmd(e))
	return cmd
}

type bencher struct {
	e        env
	cfg      config.Database
	tenants  int
	duration time.Duration
	log      *slog.Logger
	db       *databases
	counties []registry.Tenant
	peak     atomic.Int64
}

func (b *bencher) run(ctx context.Context) (*benchReport, error) {
	closeDown, err := b.open(ctx)
	if err != nil {
		return nil, err
	}
	defer closeDown()
	r := &benchReport{Tenants: b.tenants, Concurrency: b.cfg.ProvisionConcurrency, Machine: machine()}
	_ = b.db.control.GetContext(ctx, &r.Database, "SELECT VERSION()")
	stopSampling := b.sampleConnections()

	steps := []func(context.Context, *benchReport) error{b.provision, b.seed, b.noOpCheck, b.fanOut, b.reads}
	for _, step := range steps {
		if err := step(ctx, r); err != nil {
			stopSampling()
			return nil, err
		}
	}
	stopSampling()
	r.Connections = benchConns{Peak: int(b.peak.Load()), Cap: b.cfg.DBMaxOpenConns*(1+len(b.cfg.Clusters)) + b.cfg.ProvisionConcurrency}
	r.Goals = []benchGoal{
		{"provisioning p50 ≤ 1 s", r.Provisioning.P50MS <= 1000},
		{fmt.Sprintf("all %d provisioned ≤ 5 min", b.tenants), r.Provisioning.TotalSeconds <= 300},
		{"no-op migration check ≤ 1 s", r.NoOpCheckMS <= 1000},
		{"fan-out of a new migration ≤ 2 min", r.FanOut.Seconds <= 120 && r.FanOut.Failed == 0},
		{"peak connections ≤ cap", r.Connections.Peak <= r.Connections.Cap},
		{"spread / single ≥ 0.9", r.Reads.SpreadRatio >= 0.9},
		{"API / raw sqlx ≥ 0.8", r.Reads.APIRatio >= 0.8},
	}
	return r, nil
}

// open opens throw-away databases for the bench (a control plane and
// county schemas under a random prefix) and migrates the control plane;
// the returned func drops everything the bench made and closes them.
func (b *bencher) open(ctx context.Context) (func(), error) {
	b.log = slog.New(slog.NewJSONHandler(b.e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var id [4]byte
	_, _ = rand.Read(id[:])
	b.cfg.SchemaPrefix = "ccb" + hex.EncodeToString(id[:]) + "_"
	control, _ := b.cfg.MySQLConfig()
	control.DBName = "ccbench_" + hex.EncodeToString(id[:])
	db, err := openDatabases(b.cfg, control, b.log)
	if err != nil {
		return nil, err
	}
	b.db = db
	closeDown := func() {
		b.cleanUp()
		db.close()
	}
	if _, err := db.migrateControl(ctx, store.ControlMigrations()); err != nil {
		closeDown()
		return nil, &exitError{code: exitUnavailable, err: fmt.Errorf("control plane: %w", err)}
	}
	return closeDown, nil
}

func machine() string {
	model := ""
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if name, value, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(name) == "model name" {
				model = strings.TrimSpace(value)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s/%s, %d CPUs, %s, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), model, runtime.Version())
}

// sampleConnections records the peak of the platform's open connections
// until the returned func is called.
func (b *bencher) sampleConnections() func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			open := 0
			for _, pool := range b.db.pools {
				open += pool.Stats().OpenConnections
			}
			if int64(open) > b.peak.Load() {
				b.peak.Store(int64(open))
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func benchCode(i int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	return fmt.Sprintf("bench.city.c%c%c%c", letters[i/676%26], letters[i/26%26], letters[i%26])
}

// parallel runs fn(i) for i in [0, n) on workers goroutines, drawing a
// progress bar, and returns the first error.
func (b *bencher) parallel(ctx context.Context, label string, n, workers int, fn func(ctx context.Context, i int) error) error {
	bar := newProgressBar(b.e.stderr, label)
	defer bar.finish()
	work := make(chan int)
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(ctx, i); err != nil {
					once.Do(func() { firstErr = err })
				}
				bar.update(int(done.Add(1)), n, 0)
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return firstErr
}

func (b *bencher) provision(ctx context.Context, r *benchReport) error {
	svc := b.db.tenantService(b.cfg, store.TenantMigrations(), b.log)
	for _, c := range []registry.CreateRequest{{Code: "bench", Name: "基准省"}, {Code: "bench.city", Name: "基准市"}} {
		if _, err := svc.Create(ctx, c); err != nil {
			return err
		}
	}
	durations := make([]float64, b.tenants)
	b.counties = make([]registry.Tenant, b.tenants)
	start := time.Now()
	err := b.parallel(ctx, "provisioning", b.tenants, b.cfg.ProvisionConcurrency, func(ctx context.Context, i int) error {
		t0 := time.Now()
		t, err := svc.Create(ctx, registry.CreateRequest{Code: benchCode(i), Name: fmt.Sprintf("基准县%d", i)})
		durations[i] = float64(time.Since(t0).Microseconds()) / 1000
		if err == nil && t.Status != registry.StatusReady {
			err = fmt.Errorf("%s: %s", t.Code, t.Failure)
		}
		b.counties[i] = t
		return err
	})
	if err != nil {
		return err
	}
	r.Provisioning = benchProvision{P50MS: percentile(durations, 50), P95MS: percentile(durations, 95), TotalSeconds: time.Since(start).Seconds()}
	return nil
}

func percentile(values []float64, p float64) float64 {
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return math.Round(sorted[max(i, 0)]*10) / 10
}

// seed gives every county a unit and benchAccounts accounts with a role,
// for the reads to read.
func (b *bencher) seed(ctx context.Context, _ *benchReport) error {
	return b.parallel(ctx, "seeding", len(b.counties), b.cfg.ProvisionConcurrency, func(ctx context.Context, i int) error {
		t := b.counties[i]
		return b.db.clusters[t.Cluster].InSchema(ctx, t.Schema, func(ctx context.Context, conn *sqlx.Conn) error {
			if _, err := conn.ExecContext(ctx, "INSERT INTO units (id, name, created_at, updated_at) VALUES (1, '办公室', NOW(), NOW())"); err != nil {
				return err
			}
			var rows []string
			var args []any
			for j := range benchAccounts {
				rows = append(rows, "(?, ?, 1, '13800138000', 'active', NOW(), NOW())")
				args = append(args, fmt.Sprintf("user%02d", j), fmt.Sprintf("人员%d", j))
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO accounts (login, name, unit_id, mobile, status, created_at, updated_at) VALUES "+strings.Join(rows, ", "), args...); err != nil {
				return err
			}
			if _, err := conn.ExecContext(ctx, "INSERT INTO account_roles (account_id, role_id) SELECT a.id, r.id FROM accounts a, roles r WHERE r.code = 'clerk'"); err != nil {
				return err
			}
			return notify.DirectoryChanged(ctx, conn)
		})
	})
}

// noOpCheck times the question `migrate` asks when nothing is pending:
// the median of five.
func (b *bencher) noOpCheck(ctx context.Context, r *benchReport) error {
	repo := registry.NewMySQLRepository(b.db.control)
	var times []float64
	for range 5 {
		t0 := time.Now()
		behind, err := repo.Behind(ctx, store.TenantMigrations().Latest(), nil)
		if err != nil {
			return err
		}
		if len(behind) != 0 {
			return fmt.Errorf("%d counties behind right after provisioning", len(behind))
		}
		times = append(times, float64(time.Since(t0).Microseconds())/1000)
	}
	r.NoOpCheckMS = percentile(times, 50)
	return nil
}

// fanOut adds one small migration to the county migrations and takes
// every county to it.
func (b *bencher) fanOut(ctx context.Context, r *benchReport) error {
	files := fstest.MapFS{}
	embedded := store.TenantMigrationFiles()
	names, err := fs.Glob(embedded, "*.sql")
	if err != nil {
		return err
	}
	for _, name := range names {
		data, err := fs.ReadFile(embedded, name)
		if err != nil {
			return err
		}
		files[name] = &fstest.MapFile{Data: data}
	}
	const migration = "90001_bench_notes.sql"
	files[migration] = &fstest.MapFile{Data: []byte("CREATE TABLE IF NOT EXISTS bench_notes (\n  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,\n  note VARCHAR(255) NOT NULL\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n")}
	migs, err := store.LoadMigrations(files)
	if err != nil {
		return err
	}
	bar := newProgressBar(b.e.stderr, "fanning out")
	var failed atomic.Int64
	start := time.Now()
	_, err = provision.New(b.db.clusters, migs, b.log).FanOut(ctx, registry.NewMySQLRepository(b.db.control), b.db.locks, provision.FanOutOptions{
		Workers: b.cfg.ProvisionConcurrency,
		Progress: func(done, total int, res provision.Result) {
			if res.Outcome == provision.OutcomeFailed {
				failed.Add(1)
			}
			bar.update(done, total, int(failed.Load()))
		},
	})
	bar.finish()
	r.FanOut = benchFanOut{Migration: migration, Seconds: time.Since(start).Seconds(), Failed: int(failed.Load())}
	return err
}

// reads compares the throughput of GET /v1/tenants/{code}/accounts through
// the whole server (HTTP, authentication, routing to the county) spread
// over every county, on one county, and the same SQL through raw sqlx.
func (b *bencher) reads(ctx context.Context, r *benchReport) error {
	tokens := make(chan string, 1)
	p, err := newPlatformOn(config.Server{Database: b.cfg}, b.db, b.log, func(t string) { tokens <- t })
	if err != nil {
		return err
	}
	if err := p.start(ctx); err != nil {
		return err
	}
	token := <-tokens
	srv := httptest.NewServer(p.handler())
	defer srv.Close()
	workers := b.cfg.ProvisionConcurrency
	client := newLeanClient(srv.Listener.Addr().String(), "Bearer "+token, workers)
	defer client.close()
	get := func(_ context.Context, code string) error {
		return client.get("/v1/tenants/" + code + "/accounts?limit=50")
	}
	raw := store.Open(b.db.clusterConfig(config.DefaultCluster), b.cfg.DBMaxOpenConns, b.log)
	defer raw.Close()
	rawQuery := func(ctx context.Context, t registry.Tenant) error { return rawAccountsList(ctx, raw, t.Schema) }
	// A pass over every county first, so that no phase pays for the first
	// touch of a county's tables and the server's caches.
	if err := b.parallel(ctx, "warming up", len(b.counties), workers, func(ctx context.Context, i int) error {
		return get(ctx, b.counties[i].Code)
	}); err != nil {
		return err
	}
	one := b.counties[0]
	phases := []struct {
		label string
		rps   *float64
		call  func(ctx context.Context, rng *mrand.Rand) error
	}{
		{"reads spread over every county", &r.Reads.SpreadRPS, func(ctx context.Context, rng *mrand.Rand) error {
			return get(ctx, b.counties[rng.IntN(len(b.counties))].Code)
		}},
		{"reads on one county", &r.Reads.SingleRPS, func(ctx context.Context, _ *mrand.Rand) error { return get(ctx, one.Code) }},
		{"the same SQL through raw sqlx", &r.Reads.RawRPS, func(ctx context.Context, _ *mrand.Rand) error { return rawQuery(ctx, one) }},
		{"raw sqlx spread over every county", &r.Reads.RawSpread, func(ctx context.Context, rng *mrand.Rand) error {
			return rawQuery(ctx, b.counties[rng.IntN(len(b.counties))])
		}},
	}
	for _, ph := range phases {
		n, err := b.throughput(ctx, ph.label, workers, ph.call)
		if err != nil {
			return err
		}
		*ph.rps = math.Round(n / b.duration.Seconds())
	}
	r.Reads.Request = "GET /v1/tenants/{code}/accounts?limit=50 (" + fmt.Sprint(benchAccounts) + " accounts with roles)"
	r.Reads.Seconds = b.duration.Seconds()
	r.Reads.SpreadRatio = math.Round(r.Reads.SpreadRPS/r.Reads.SingleRPS*100) / 100
	r.Reads.RawRatio = math.Round(r.Reads.RawSpread/r.Reads.RawRPS*100) / 100
	r.Reads.APIRatio = math.Round(r.Reads.SingleRPS/r.Reads.RawRPS*100) / 100
	return nil
}

// throughput runs call on workers goroutines for the bench's duration,
// after a short warm-up, and returns how many calls completed.
func (b *bencher) throughput(ctx context.Context, label string, workers int, call func(ctx context.Context, rng *mrand.Rand) error) (float64, error) {
	bar := newProgressBar(b.e.stderr, label)
	defer bar.finish()
	var count atomic.Int64
	var failure atomic.Value
	run := func(d time.Duration, counting bool) {
		deadline := time.Now().Add(d)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
				for time.Now().Before(deadline) {
					if err := call(ctx, rng); err != nil {
						failure.Store(err)
						return
					}
					if counting {
						count.Add(1)
					}
				}
			}()
		}
		wg.Wait()
	}
	run(b.duration/10, false)
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				bar.update(int(time.Since(start)/time.Millisecond), int(b.duration/time.Millisecond), 0)
			}
		}
	}()
	run(b.duration, true)
	close(stop)
	if err, ok := failure.Load().(error); ok {
		return 0, err
	}
	return float64(count.Load()), nil
}

// cleanUp drops everything the bench made, on every cluster.
func (b *bencher) cleanUp() {
	ctx := context.Background()
	for name, pool := range b.db.pools {
		if !strings.HasPrefix(name, "cluster_") {
			continue
		}
		var schemas []string
		if err := pool.SelectContext(ctx, &schemas, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ? OR SCHEMA_NAME LIKE ?",
			b.db.controlSchema, strings.ReplaceAll(b.cfg.SchemaPrefix, "_", `\_`)+"%"); err != nil {
			fmt.Fprintf(b.e.stderr, "cleaning up %s: %v\n", name, err)
			continue
		}
		_ = b.parallel(ctx, "cleaning up "+strings.TrimPrefix(name, "cluster_"), len(schemas), b.cfg.ProvisionConcurrency, func(ctx context.Context, i int) error {
			if _, err := pool.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+schemas[i]+"`"); err != nil {
				fmt.Fprintf(b.e.stderr, "drop %s: %v\n", schemas[i], err)
			}
			return nil
		})
	}
}

func printBench(w io.Writer, r *benchReport) error {
	rows := [][]string{
		{"machine", r.Machine},
		{"database", r.Database},
		{"counties", fmt.Sprint(r.Tenants)},
		{"concurrency", fmt.Sprint(r.Concurrency)},
		{"provisioning p50 / p95", fmt.Sprintf("%.1f ms / %.1f ms", r.Provisioning.P50MS, r.Provisioning.P95MS)},
		{"provisioning all", fmt.Sprintf("%.1f s", r.Provisioning.TotalSeconds)},
		{"no-op migration check", fmt.Sprintf("%.2f ms", r.NoOpCheckMS)},
		{"fan-out of one migration", fmt.Sprintf("%.1f s, %d failed", r.FanOut.Seconds, r.FanOut.Failed)},
		{"peak open connections", fmt.Sprintf("%d (cap %d)", r.Connections.Peak, r.Connections.Cap)},
		{"reads spread / single / raw", fmt.Sprintf("%.0f / %.0f / %.0f per second", r.Reads.SpreadRPS, r.Reads.SingleRPS, r.Reads.RawRPS)},
		{"spread / single", fmt.Sprintf("%.2f (raw sqlx: %.2f)", r.Reads.SpreadRatio, r.Reads.RawRatio)},
		{"API / raw sqlx", fmt.Sprintf("%.2f", r.Reads.APIRatio)},
	}
	return printTable(w, []string{"MEASURE", "RESULT"}, append(rows, goalRows(r.Goals)...))
}

// goalRows are a bench's goals as rows of its table.
func goalRows(goals []benchGoal) [][]string {
	rows := make([][]string, len(goals))
	for i, g := range goals {
		met := "met"
		if !g.Met {
			met = "NOT MET"
		}
		rows[i] = []string{"goal: " + g.Goal, met}
	}
	return rows
}

// rawAccountsList is the baseline of the representative request: the SQL
// the server sends for GET /v1/tenants/{code}/accounts?limit=50, through
// plain sqlx with none of the platform around it.
func rawAccountsList(ctx context.Context, pool *sqlx.DB, schema string) error {
	conn, err := pool.Connx(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE `"+schema+"`"); err != nil {
		return err
	}
	var accounts []org.Account
	if err := conn.SelectContext(ctx, &accounts, "SELECT id, login, name, unit_id, COALESCE(mobile, '') AS mobile, COALESCE(email, '') AS email, status, created_at, updated_at FROM accounts WHERE id > ? ORDER BY id LIMIT ?", 0, 51); err != nil {
		return err
	}
	if len(accounts) == 0 {
		return nil
	}
	args := make([]any, len(accounts))
	for i := range accounts {
		args[i] = accounts[i].ID
	}
	var roles []struct {
		AccountID int64  `db:"account_id"`
		Code      string `db:"code"`
	}
	return conn.SelectContext(ctx, &roles, "SELECT ar.account_id, r.code FROM account_roles ar JOIN roles r ON r.id = ar.role_id WHERE ar.account_id IN (?"+strings.Repeat(", ?", len(args)-1)+") ORDER BY r.code", args...)
}

// leanClient is the load generator's HTTP/1.1 client: one kept-alive
// connection per caller, written and read in the caller's goroutine. Like
// wrk, it spares the two CPUs the server and MariaDB share with it the
// goroutine hand-offs and connection management of net/http's client, so
// that the figures are the server's and not the load generator's.
type leanClient struct {
	addr, authorization string
	idle                chan *leanConn
}

type leanConn struct {
	conn net.Conn
	in   *bufio.Reader
	out  *bufio.Writer
}

func newLeanClient(addr, authorization string, callers int) *leanClient {
	return &leanClient{addr: addr, authorization: authorization, idle: make(chan *leanConn, callers)}
}

// get sends one GET and reads its whole answer, which must be 200.
func (c *leanClient) get(path string) error {
	var lc *leanConn
	select {
	case lc = <-c.idle:
	default:
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return err
		}
		lc = &leanConn{conn: conn, in: bufio.NewReader(conn), out: bufio.NewWriter(conn)}
	}
	fmt.Fprintf(lc.out, "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n\r\n", path, c.addr, c.authorization)
	if err := lc.out.Flush(); err != nil {
		lc.conn.Close()
		return err
	}
	resp, err := http.ReadResponse(lc.in, nil)
	if err != nil {
		lc.conn.Close()
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		lc.conn.Close()
	} else {
		select {
		case c.idle <- lc:
		default:
			lc.conn.Close()
		}
	}
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}

func (c *leanClient) close() {
	for {
		select {
		case lc := <-c.idle:
			lc.conn.Close()
		default:
			return
		}
	}
}
