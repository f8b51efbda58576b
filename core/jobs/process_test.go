package jobs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// The test binary doubles as a worker process: run with these variables
// set, it works jobs until SIGTERM instead of running tests, so that the
// tests can run several workers against one database and kill them.
const (
	envDSN         = "COUNTYCLOUD_JOBS_TEST_DSN"
	envOwner       = "COUNTYCLOUD_JOBS_TEST_OWNER"
	envLease       = "COUNTYCLOUD_JOBS_TEST_LEASE"
	envConcurrency = "COUNTYCLOUD_JOBS_TEST_CONCURRENCY"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envDSN); dsn != "" {
		os.Exit(workerProcess(dsn))
	}
	os.Exit(m.Run())
}

// effect is the payload of the test jobs: how long to work, and from
// which attempt on to succeed.
type effect struct {
	SleepMillis int `json:"sleep_ms"`
	SucceedFrom int `json:"succeed_from"`
}

// testHandlers record every run in job_runs and the job's one effect in
// job_effects (idempotently, as a real handler must).
func testHandlers(db *sqlx.DB, owner string) map[string]jobs.Handler {
	return map[string]jobs.Handler{
		"test.effect": func(ctx context.Context, j jobs.Job) error {
			var e effect
			if err := json.Unmarshal(j.Payload, &e); err != nil {
				return jobs.Permanent(err)
			}
			if _, err := db.ExecContext(ctx, "INSERT INTO job_runs (job_id, worker) VALUES (?, ?)", j.ID, owner); err != nil {
				return err
			}
			select {
			case <-time.After(time.Duration(e.SleepMillis) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			if j.Attempts < e.SucceedFrom {
				return fmt.Errorf("attempt %d fails on purpose", j.Attempts)
			}
			_, err := db.ExecContext(ctx, "INSERT IGNORE INTO job_effects (job_id, worker) VALUES (?, ?)", j.ID, owner)
			return err
		},
	}
}

func workerProcess(dsn string) int {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	db := store.Open(cfg, 8, log)
	defer db.Close()
	owner := os.Getenv(envOwner)
	lease, _ := time.ParseDuration(os.Getenv(envLease))
	concurrency, _ := strconv.Atoi(os.Getenv(envConcurrency))
	w := jobs.NewWorker(jobs.NewQueue(db), testHandlers(db, owner),
		jobs.Options{Owner: owner, Lease: lease, Concurrency: concurrency, Poll: 50 * time.Millisecond, Drain: 100 * time.Millisecond,
			Backoff: func(int) time.Duration { return 10 * time.Millisecond }}, log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Println("ready")
	w.Run(ctx)
	return 0
}

// testDB is a control plane with the tables the test handlers write.
func testDB(t *testing.T) *storetest.DB {
	t.Helper()
	db := storetest.New(t)
	for _, stmt := range []string{
		"CREATE TABLE job_runs (id BIGINT AUTO_INCREMENT PRIMARY KEY, job_id BIGINT NOT NULL, worker VARCHAR(64) NOT NULL)",
		"CREATE TABLE job_effects (job_id BIGINT PRIMARY KEY, worker VARCHAR(64) NOT NULL)",
	} {
		if _, err := db.Control.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// startWorker runs a worker process named owner and waits until it runs.
func startWorker(t *testing.T, db *storetest.DB, owner string, lease time.Duration, concurrency int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envDSN+"="+db.Config.FormatDSN(), envOwner+"="+owner,
		envLease+"="+lease.String(), envConcurrency+"="+strconv.Itoa(concurrency))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("worker %s did not start: %q %v", owner, line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return cmd
}

func enqueue(t *testing.T, q *jobs.Queue, n int, e effect) {
	t.Helper()
	for range n {
		if _, _, err := q.Enqueue(context.Background(), jobs.Spec{Kind: "test.effect", Payload: e}); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls the count query until it reaches want.
func waitFor(t *testing.T, db *sqlx.DB, what, query string, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var n int
	for time.Now().Before(deadline) {
		if err := db.Get(&n, query); err != nil {
			t.Fatal(err)
		}
		if n == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: %d, want %d", what, n, want)
}

func count(t *testing.T, db *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTwoProcessesShareTheWork(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	const n = 300
	enqueue(t, q, n, effect{SleepMillis: 2})
	startWorker(t, db, "alpha", 5*time.Second, 4)
	startWorker(t, db, "beta", 5*time.Second, 4)
	waitFor(t, db.Control, "jobs done", "SELECT COUNT(*) FROM jobs WHERE status = 'done'", n)
	if runs := count(t, db.Control, "SELECT COUNT(*) FROM job_runs"); runs != n {
		t.Errorf("%d runs for %d jobs: a job ran twice or not at all", runs, n)
	}
	for _, owner := range []string{"alpha", "beta"} {
		if c := count(t, db.Control, "SELECT COUNT(*) FROM job_effects WHERE worker = ?", owner); c == 0 {
			t.Errorf("worker %s did no work", owner)
		}
	}
}

func TestAKilledWorkersJobsAreTakenOver(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	enqueue(t, q, 4, effect{SleepMillis: 1500})
	doomed := startWorker(t, db, "doomed", time.Second, 4)
	waitFor(t, db.Control, "jobs the doomed worker started", "SELECT COUNT(*) FROM job_runs WHERE worker = 'doomed'", 4)
	if err := doomed.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = doomed.Wait()
	startWorker(t, db, "heir", time.Second, 4)
	waitFor(t, db.Control, "jobs done", "SELECT COUNT(*) FROM jobs WHERE status = 'done'", 4)
	if c := count(t, db.Control, "SELECT COUNT(*) FROM job_effects WHERE worker = 'heir'"); c != 4 {
		t.Errorf("the heir finished %d of the 4 jobs", c)
	}
	if c := count(t, db.Control, "SELECT COUNT(*) FROM jobs WHERE attempts = 2"); c != 4 {
		t.Errorf("%d jobs show the second attempt, want 4", c)
	}
}

func TestShutdownHandsLeasesBack(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	enqueue(t, q, 2, effect{SleepMillis: 60_000})
	leaving := startWorker(t, db, "leaving", time.Minute, 4)
	waitFor(t, db.Control, "jobs started", "SELECT COUNT(*) FROM job_runs", 2)
	if err := leaving.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := leaving.Wait(); err != nil {
		t.Fatalf("the worker did not stop cleanly: %v", err)
	}
	// The leases are back at once, not after the minute they were taken for.
	if c := count(t, db.Control, "SELECT COUNT(*) FROM jobs WHERE status = 'queued' AND lease_owner IS NULL AND attempts = 0"); c != 2 {
		t.Errorf("%d of 2 interrupted jobs are queued again with their attempt given back", c)
	}
}
