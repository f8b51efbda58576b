package supervision_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/supervision"
)

// The test binary doubles as a server sweeping every county: run with
// these variables set, it sweeps once instead of running tests, so that a
// test can kill it halfway.
const (
	envControlDSN = "COUNTYCLOUD_SUPERVISION_TEST_DSN"
	envNow        = "COUNTYCLOUD_SUPERVISION_TEST_NOW"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envControlDSN); dsn != "" {
		os.Exit(sweeperProcess(dsn, os.Getenv(envNow)))
	}
	os.Exit(m.Run())
}

// sweeperProcess wires the service as the server does, on the control
// plane at dsn and its server as the one cluster, and sweeps all at now.
func sweeperProcess(dsn, at string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg, err := mysql.ParseDSN(dsn)
	now, terr := time.Parse(time.RFC3339Nano, at)
	if err != nil || terr != nil {
		fmt.Fprintln(os.Stderr, err, terr)
		return 2
	}
	control := store.Open(cfg, 4, log)
	defer control.Close()
	server := cfg.Clone()
	server.DBName = ""
	pool := store.Open(server, 4, log)
	defer pool.Close()
	clusters := store.Clusters{"default": store.NewCluster("default", pool)}
	repo := registry.NewMySQLRepository(control)
	router := store.NewRouter(clusters, registry.NewLocator(repo, 0))
	cals, err := calendar.NewService(router)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	svc := supervision.New(router, cals, registry.NewService(repo, nil, nil, registry.Options{}, log), nil, supervision.Options{Workers: 2}, log)
	fmt.Println("ready")
	rep, err := svc.SweepAll(context.Background(), now)
	if err != nil || rep.Failed > 0 {
		fmt.Fprintln(os.Stderr, err, rep.Failures)
		return 1
	}
	return 0
}

// heavyTasks is a county's share of a sweep that takes a while: half of
// them turn yellow (the handler's), half red (the clerks', escalated).
func heavyTasks(n int) []task {
	tasks := make([]task, 0, n)
	for i := range n {
		if i%2 == 0 {
			tasks = append(tasks, green(task{account: handler, warn: at9, due: cst(2026, 6, 9, 17, 30)}))
		} else {
			tasks = append(tasks, yellowTask(task{role: "clerk", warn: at9, due: at10}))
		}
	}
	return tasks
}

func TestASweepKilledHalfwayLosesNothingAndDoesNothingTwice(t *testing.T) {
	t.Parallel()
	const counties, perCounty = 24, 800
	codes := make([]string, counties)
	for i := range codes {
		codes[i] = fmt.Sprintf("gd.shaoguan.k%c%c", 'a'+i/26, 'a'+i%26)
	}
	f := newFixture(t, codes...)
	parallel(t, counties, 8, func(i int) error {
		return f.db.Cluster.InSchema(context.Background(), f.county(codes[i]).schema, func(ctx context.Context, conn *sqlx.Conn) error {
			if err := seedOrg(ctx, conn, true); err != nil {
				return err
			}
			return addTasks(ctx, conn, heavyTasks(perCounty))
		})
	})
	// How many counties have been swept, and how many tasks are left to
	// check, each in one query.
	var probes, due []string
	for _, c := range codes {
		probes = append(probes, "(SELECT EXISTS (SELECT 1 FROM `"+f.county(c).schema+"`.supervision_events))")
		due = append(due, "(SELECT COUNT(*) FROM `"+f.county(c).schema+"`.workflow_tasks WHERE next_check_at <= ?)")
	}
	sum := func(terms []string, args ...any) int {
		var n int
		if err := f.db.Server.Get(&n, "SELECT "+strings.Join(terms, " + "), args...); err != nil {
			t.Fatal(err)
		}
		return n
	}
	swept := func() int { return sum(probes) }

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envControlDSN+"="+f.db.Config.FormatDSN(), envNow+"="+at11.Format(time.RFC3339Nano))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the sweeper did not start: %q %v", line, err)
	}
	deadline := time.Now().Add(time.Minute)
	for swept() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper swept nothing in a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Each county was swept whole or not at all.
	perTask := perCounty/2 + 2*perCounty/2 // a warning, or an overdue and its escalation
	done := 0
	for _, c := range codes {
		switch n := f.county(c).count("SELECT COUNT(*) FROM supervision_events"); n {
		case perTask:
			done++
		case 0:
			if green, red := f.county(c).count("SELECT COUNT(*) FROM workflow_tasks WHERE level = 0"), f.county(c).count("SELECT COUNT(*) FROM workflow_tasks WHERE level = 2"); green != perCounty/2 || red != 0 {
				t.Errorf("%s: no events, but %d tasks green and %d red", c, green, red)
			}
		default:
			t.Errorf("%s: %d events after the kill: half a county", c, n)
		}
	}
	if done == counties {
		t.Fatalf("all %d counties were swept before the kill; the test proves nothing", counties)
	}
	t.Logf("killed with %d of %d counties swept", done, counties)

	// The next sweeps finish the rest. The county the killed process was
	// in stays locked until the server has rolled it back, and a sweep
	// skips what is locked, so it may take more than one, as it would
	// take the next minute's.
	var rep supervision.Report
	args := make([]any, counties)
	for i := range args {
		args[i] = at11.UTC()
	}
	for sweeps := 1; sum(due, args...) > 0; sweeps++ {
		if sweeps > 100 {
			t.Fatalf("%d tasks still due after 100 sweeps", sum(due, args...))
		}
		r, err := f.svc.SweepAll(context.Background(), at11)
		if err != nil || r.Failed != 0 || r.Counties != counties {
			t.Fatalf("a sweep after the kill: %+v, %v", r, err)
		}
		rep.Warned, rep.Overdue, rep.Escalated = rep.Warned+r.Warned, rep.Overdue+r.Overdue, rep.Escalated+r.Escalated
		time.Sleep(20 * time.Millisecond)
	}
	left := counties - done
	if rep.Warned != left*perCounty/2 || rep.Overdue != left*perCounty/2 || rep.Escalated != left*perCounty/2 {
		t.Errorf("the sweeps after the kill did %+v for %d counties left", rep, left)
	}
	for _, c := range codes {
		wy := f.county(c)
		mustEqual(t, c+": tasks with an event twice", wy.count("SELECT COUNT(*) FROM (SELECT task_id, kind FROM supervision_events GROUP BY task_id, kind HAVING COUNT(*) > 1) twice"), 0)
		mustEqual(t, c+": warnings", wy.count("SELECT COUNT(*) FROM supervision_events WHERE kind = 'warning'"), perCounty/2)
		mustEqual(t, c+": overdue", wy.count("SELECT COUNT(*) FROM supervision_events WHERE kind = 'overdue'"), perCounty/2)
		mustEqual(t, c+": escalated", wy.count("SELECT COUNT(*) FROM supervision_events WHERE kind = 'escalated'"), perCounty/2)
		// The handler's warnings; both active clerks' overdue notices; sup1's escalations.
		mustEqual(t, c+": in-app notifications", wy.count("SELECT COUNT(*) FROM notifications WHERE channel = 'inapp'"), perCounty/2+2*perCounty/2+perCounty/2)
		mustEqual(t, c+": tasks left to check", wy.count("SELECT COUNT(*) FROM workflow_tasks WHERE next_check_at <= ?", at11.UTC()), 0)
	}
}
