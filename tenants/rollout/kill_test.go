package rollout_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// The test binary doubles as a server running the rollout's sweep: run
// with envSweeper set to the control plane's DSN, it sweeps with an
// automation that says when it is enabling modules and then hangs, so
// that a test can kill it in the middle of carrying out a phase change.
const envSweeper = "COUNTYCLOUD_ROLLOUT_TEST_SWEEPER"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envSweeper); dsn != "" {
		if err := sweepingProcess(dsn); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hangingAutomation says what it is asked, then never answers.
type hangingAutomation struct{}

func (hangingAutomation) EnableModules(_ context.Context, county string, modules []string) error {
	fmt.Printf("enabling %s %v\n", county, modules)
	select {}
}

func (hangingAutomation) SendTestNotices(context.Context, string) error { select {} }

func (hangingAutomation) AnnounceTrial(context.Context, string, string, string) error { select {} }

func (hangingAutomation) TextFirstPasswords(context.Context, string) (rollout.FirstPasswords, error) {
	select {}
}

func sweepingProcess(dsn string) error {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return err
	}
	control := store.Open(cfg, 4, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svc := rollout.New(control, nil, nil, nil, time.Now, rollout.Options{Automation: hangingAutomation{}})
	return svc.Sweep(context.Background())
}

// TestAKilledSweepLeavesOnePhaseAndTheNextFinishesItOnce kills the
// server while it carries out Wengyuan's entering preparation (its
// modules being enabled, the change not yet marked delivered): the
// county is in one phase, nothing is marked done, and the next sweep
// does the task and tells the listeners, once.
func TestAKilledSweepLeavesOnePhaseAndTheNextFinishesItOnce(t *testing.T) {
	a := &automation{}
	w := newWorld(t, rollout.Options{Automation: a, Listeners: []rollout.Listener{a}})
	ctx := operator(context.Background())
	if _, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", KeyUnits: keyUnits()}); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envSweeper+"="+w.db.Config.FormatDSN())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "enabling "+wengyuan) {
		_ = cmd.Process.Kill()
		t.Fatalf("the sweeper: %q %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	var phases []string
	if err := w.db.Control.Select(&phases, "SELECT phase FROM rollout_plans WHERE county = ?", wengyuan); err != nil || !slices.Equal(phases, []string{rollout.Preparation}) {
		t.Fatalf("after the kill: %v %v", phases, err)
	}
	var done, undelivered int
	if err := w.db.Control.Get(&done, "SELECT COUNT(*) FROM rollout_tasks_done WHERE county = ?", wengyuan); err != nil || done != 0 {
		t.Errorf("tasks marked done by a killed sweep: %d %v", done, err)
	}
	// The killed server's connection may take a moment to be closed and
	// its transaction rolled back: until then the change is locked, and a
	// sweep passes it by.
	undelivered = 1
	for try := 0; undelivered > 0 && try < 100; try++ {
		if err := w.svc.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := w.db.Control.Get(&undelivered, "SELECT COUNT(*) FROM rollout_events WHERE delivered_at IS NULL"); err != nil {
			t.Fatal(err)
		}
		if undelivered > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if err := w.svc.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := a.took(); !slices.Equal(got, []string{"enable " + wengyuan + " [approval disclosure oa]", "first passwords " + wengyuan, "told " + wengyuan + " →preparation"}) {
		t.Errorf("after the restart: %q", got)
	}
	if err := w.db.Control.Get(&done, "SELECT COUNT(*) FROM rollout_tasks_done WHERE county = ? AND done_by = 'platform'", wengyuan); err != nil || done != 2 {
		t.Errorf("tasks marked done: %d %v", done, err)
	}
	if undelivered != 0 {
		t.Errorf("changes undelivered: %d", undelivered)
	}
}
