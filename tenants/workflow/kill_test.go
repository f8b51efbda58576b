package workflow_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/workflow"
)

// The test binary doubles as a server acting on tasks: run with envActor
// set, it submits every open register task of the county as that clerk
// and prints a line per action, so that a test can kill it mid-way.
const (
	envActor   = "COUNTYCLOUD_WORKFLOW_TEST_ACTOR"
	envControl = "COUNTYCLOUD_WORKFLOW_TEST_CONTROL_DSN"
	// envAct is the action the process takes, and its recipient units
	// as JSON: submit and none unless set.
	envAct = "COUNTYCLOUD_WORKFLOW_TEST_ACT"
)

func TestMain(m *testing.M) {
	if actor := os.Getenv(envActor); actor != "" {
		if err := actingProcess(actor, os.Getenv(envControl), os.Getenv(envAct)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func actingProcess(actor, controlDSN, act string) error {
	var p auth.Principal
	if err := json.Unmarshal([]byte(actor), &p); err != nil {
		return err
	}
	in := workflow.ActInput{Action: "submit", Comment: "送批"}
	if act != "" {
		if err := json.Unmarshal([]byte(act), &in); err != nil {
			return err
		}
	}
	cfg, err := mysql.ParseDSN(controlDSN)
	if err != nil {
		return err
	}
	control := store.Open(cfg, 4, quiet)
	server := cfg.Clone()
	server.DBName = ""
	clusters := store.Clusters{"default": store.NewCluster("default", store.Open(server, 4, quiet))}
	router := store.NewRouter(clusters, registry.NewLocator(registry.NewMySQLRepository(control), registry.LocatorInterval))
	cals, err := calendar.NewService(router)
	if err != nil {
		return err
	}
	svc := workflow.NewService(router, cals, nil, nil, time.Now, quiet)
	ctx := county{code: p.Tenant, people: map[string]auth.Principal{p.Login: p}}.as(p.Login)
	for {
		items, err := svc.Inbox(ctx, p.Tenant, workflow.InboxFilter{Limit: 50})
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return nil
		}
		for _, it := range items {
			if _, err := svc.Act(ctx, p.Tenant, it.ID, in); err != nil {
				return err
			}
			fmt.Println("acted", it.ID)
		}
	}
}

// TestAServerKilledWhileActingLosesNothingAndDoesNothingTwice: a server
// process submits 150 documents and is killed with SIGKILL in the middle;
// every document is either wholly submitted (its task done, both review
// tasks open, one history row, one audit entry, the reviewers told) or
// untouched. A second process finishes the rest, and nothing is doubled.
func TestAServerKilledWhileActingLosesNothingAndDoesNothingTwice(t *testing.T) {
	f := setup(t)
	const documents = 150
	for i := range documents {
		f.start(t, wengyuan, "clerk1", fmt.Sprintf("来文 %d", i))
	}
	actor, err := json.Marshal(f.counties[wengyuan].people["clerk1"])
	if err != nil {
		t.Fatal(err)
	}
	run := func(killAfter int) { f.runActing(t, string(actor), "", killAfter) }
	people := f.counties[wengyuan].people
	consistent := func() int {
		t.Helper()
		done := f.count(t, wengyuan, "workflow_tasks", "step = 'register' AND status = 'done'")
		for what, n := range map[string]int{
			"review tasks":                 f.count(t, wengyuan, "workflow_tasks", "step IN ('leader_review', 'office_review')"),
			"submit rows in the history":   2 * f.count(t, wengyuan, "workflow_history", "action = 'submit'"),
			"submit entries in the trail":  2 * f.count(t, wengyuan, "audit_log", "action = 'workflow.act.submit'"),
			"reviewers told in their apps": f.count(t, wengyuan, "notifications", "kind = 'task_assigned' AND channel = 'inapp' AND account_id IN (?, ?)", people["chief"].ID, people["office"].ID),
		} {
			if n != 2*done {
				t.Errorf("%d registers submitted but %d %s (counted twice)", done, n, what)
			}
		}
		return done
	}
	run(documents / 3)
	if done := consistent(); done == 0 || done == documents {
		t.Logf("the kill landed outside the run (%d of %d submitted)", done, documents)
	}
	run(0)
	if done := consistent(); done != documents {
		t.Fatalf("%d of %d submitted after the second server", done, documents)
	}
}

// runActing runs the test binary as a server acting as actor with act
// (JSON of an ActInput, "" for a submit) on every task of its inbox, and
// kills it after killAfter actions, or lets it finish with 0.
func (f *fixture) runActing(t *testing.T, actor, act string, killAfter int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envActor+"="+actor, envControl+"="+f.db.Config.FormatDSN(), envAct+"="+act)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	acted := 0
	for lines.Scan() {
		acted++
		if acted == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	err = cmd.Wait()
	if killAfter == 0 && err != nil {
		t.Fatalf("the second server: %v\n%s", err, stderr.String())
	}
	t.Logf("server acted %d times before it ended (%v)", acted, err)
}
