package host_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/registry"
)

const (
	// numberingDSNEnv is the control schema's DSN of the numbering host.
	numberingDSNEnv = "COUNTYCLOUD_TEST_NUMBERING_DSN"
	// numberingWorkers number Wengyuan's records at once in the
	// numbering host; the first one's tenth record is "blocked".
	numberingWorkers = 8
)

func init() {
	if os.Getenv(pluginEnv) == "numbering-host" {
		numberUntilKilled()
		os.Exit(0)
	}
}

// numberUntilKilled is a host that launches the docket plugin and has
// it number Wengyuan's records, numberingWorkers at once, until it is
// killed, printing "committed <id> <number>" for each put answered.
func numberUntilKilled() {
	fail := func(err error) {
		fmt.Println("failed:", err)
		os.Exit(1)
	}
	cfg, err := mysql.ParseDSN(os.Getenv(numberingDSNEnv))
	if err != nil {
		fail(err)
	}
	server := cfg.Clone()
	server.DBName = ""
	// The cluster's pool as production opens it: a create sends its
	// transaction whole, in one packet.
	cluster, _ := store.OpenCluster("default", server, 2*numberingWorkers, quiet)
	router := store.NewRouter(store.Clusters{"default": cluster},
		registry.NewLocator(registry.NewMySQLRepository(store.Open(cfg, 2, quiet)), registry.LocatorInterval))
	self, _ := os.Executable()
	sum, _ := host.FileSHA256(self)
	p, err := host.Launch(context.Background(), host.Binary{Path: self, SHA256: sum, Manifest: docketManifest, Env: []string{pluginEnv + "=docket"}},
		host.Deps{Capabilities: host.NewCapabilities(time.Minute, time.Now), Router: router, Log: quiet, Now: time.Now})
	if err != nil {
		fail(err)
	}
	go func() {
		// The test ended without killing this host.
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(1)
	}()
	var out sync.Mutex
	for w := range numberingWorkers {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("c%d-%04d", w, i)
				if w == 0 && i == 10 {
					id = "blocked"
				}
				for {
					resp, err := p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "PUT", Path: "/docs/" + id,
						Query: "counter=docno%2F12%2F2026&field=no&version=0", Body: []byte(`{"title":"关于做好冬季防火工作的通知"}`), RequestId: id})
					if err != nil {
						fail(err)
					}
					if resp.GetStatus() == 503 {
						continue
					}
					var a numberedAnswer
					if resp.GetStatus() != 200 || json.Unmarshal(resp.GetBody(), &a) != nil {
						fail(fmt.Errorf("put %s: %d %s", id, resp.GetStatus(), resp.GetBody()))
					}
					out.Lock()
					fmt.Printf("committed %s %d\n", id, a.Number)
					out.Unlock()
					break
				}
			}
		}()
	}
	select {}
}

// TestNumbersSurviveAHostKilledWhileNumbering kills the host with
// numbered puts under way: one has taken its number and waits to write
// its record (a lock the test holds), the others wait for the counter.
// After the restart the records' numbers are 1 to N, each once, every
// number the killed host answered is its record's, and numbering goes on
// at N+1.
func TestNumbersSurviveAHostKilledWhileNumbering(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	schema := registry.SchemaName(f.db.SchemaPrefix, wengyuan)

	// The test's uncommitted record "blocked": the killed host's put of
	// it takes a number, then waits for this transaction.
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	// Before the schemas are dropped, which would wait for it.
	t.Cleanup(unblock)
	blocker := make(chan error, 1)
	go func() {
		blocker <- f.deps.Router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO plugin_records (plugin, collection, record_id, version, document, created_at, updated_at) VALUES ('docket', 'docs', 'blocked', 1, '{}', NOW(6), NOW(6))")
			if err != nil {
				return err
			}
			close(holding)
			<-release
			return errors.New("rolled back")
		})
	}()
	select {
	case <-holding:
	case err := <-blocker:
		t.Fatal(err)
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), pluginEnv+"=numbering-host", numberingDSNEnv+"="+f.db.Config.FormatDSN())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	// Its end of the pipe closes when the test process ends, however it
	// ends, and the numbering host with it.
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("the numbering host's stderr:\n%s", stderr.String())
		}
	})
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	answered := map[string]int64{}
	record := func(line string) {
		var (
			id string
			n  int64
		)
		if _, err := fmt.Sscanf(line, "committed %s %d", &id, &n); err != nil {
			t.Fatalf("the numbering host said %q", line)
		}
		answered[id] = n
	}

	// Kill it once the put of "blocked" waits with its number taken and
	// others wait for the counter: an insert of a record that runs for a
	// second or more while counter statements run too is one that holds
	// the counter (every numbered put takes it first) and waits.
	// A numbered create names the county's tables in full.
	running := func(table string, atLeast int) int {
		var n int
		err := f.db.Server.GetContext(ctx, &n, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE ? AND TIME >= ?",
			"INSERT INTO `"+schema+"`."+table+"%", atLeast)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Before the killed host's calls reach their deadline (30 s).
	deadline := time.Now().Add(20 * time.Second)
	for running("plugin_records", 1) == 0 || running("plugin_counters", 0) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no put waits with its number after 20 s; %d answered", len(answered))
		}
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the numbering host ended; %d answered", len(answered))
			}
			record(line)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Every line it wrote, before Wait closes the pipe.
	for line := range lines {
		record(line)
	}
	_ = cmd.Wait()
	killed = true
	unblock()
	if err := <-blocker; err == nil || err.Error() != "rolled back" {
		t.Fatalf("the blocker: %v", err)
	}
	if len(answered) < numberingWorkers {
		t.Fatalf("the killed host answered %d puts before it died", len(answered))
	}

	// Restarted: a new host numbers on. Its put waits, if need be, until
	// the database has rolled back what the killed host left open.
	p := launchDocket(t, f, "")
	next := docketNumber(t, docketPut(t, p, wengyuan, nil, "after", "docno/12/2026", 0, `{"title":"重启之后"}`))

	var rows []struct {
		ID string `db:"record_id"`
		No int64  `db:"no"`
	}
	var counter int64
	err = f.deps.Router.InTenant(ctx, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
		if err := conn.SelectContext(ctx, &rows, "SELECT record_id, CAST(JSON_VALUE(document, '$.no') AS SIGNED) AS no FROM plugin_records WHERE plugin = 'docket' AND collection = 'docs' ORDER BY no"); err != nil {
			return err
		}
		return conn.GetContext(ctx, &counter, "SELECT value FROM plugin_counters WHERE plugin = 'docket' AND counter = 'docno/12/2026'")
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int64{}
	for i, r := range rows {
		if r.No != int64(i+1) {
			t.Fatalf("record %s has number %d, the %d. of %d: the numbers are not 1 to %d each once", r.ID, r.No, i+1, len(rows), len(rows))
		}
		byID[r.ID] = r.No
	}
	if next != int64(len(rows)) || counter != next {
		t.Errorf("after the restart: number %d, %d records, counter at %d; want the records' count each", next, len(rows), counter)
	}
	// The put of "blocked" was sent whole, its COMMIT included, before the
	// host died: the server runs it on once the test's transaction lets
	// go, or drops it with the connection; either way its number is in
	// the sequence above.
	_, blocked := byID["blocked"]
	t.Logf(`the killed put of "blocked" committed: %t`, blocked)
	for id, n := range answered {
		if byID[id] != n {
			t.Errorf("the killed host answered %s with number %d; its record has %d", id, n, byID[id])
		}
	}
	t.Logf("%d puts answered before the kill, %d committed, the next number %d", len(answered), len(rows)-1, next)
}
