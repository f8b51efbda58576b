package main

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/tenants/registry"
)

// lockedLog collects a process's output while the test reads it.
type lockedLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lockedLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *lockedLog) find(substr string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, substr) {
			return line, true
		}
	}
	return "", false
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (l *lockedLog) waitFor(t *testing.T, substr string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if line, ok := l.find(substr); ok {
			return line
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %q; it logged:\n%s", substr, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEndToEndDevServer builds the binary, starts `server -dev`, creates a
// county through the CLI and stops the server with SIGTERM. make unit has
// built this package's binary already, for the SDK's harness, and names
// it in COUNTYCLOUD_BIN: linking it again would cost the suite a link of
// its largest binary for nothing.
func TestEndToEndDevServer(t *testing.T) {
	t.Parallel()
	bin := os.Getenv("COUNTYCLOUD_BIN")
	if bin == "" {
		bin = filepath.Join(t.TempDir(), "countycloud")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
	}
	const token = "e2e-root-token"
	srv := exec.Command(bin, "server", "-dev", "-dev-root-token", token, "-addr", "127.0.0.1:0")
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill() })
	var log lockedLog
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the server logged:\n%s", &log)
		}
	})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.add(sc.Text())
		}
	}()

	var listening struct{ Addr string }
	if err := json.Unmarshal([]byte(log.waitFor(t, `"msg":"listening"`)), &listening); err != nil {
		t.Fatal(err)
	}
	url := "http://" + listening.Addr
	if s := getStatus(t, url+"/healthz"); s != 200 {
		t.Fatalf("/healthz = %d", s)
	}
	log.waitFor(t, "NOTHING IS KEPT")
	log.waitFor(t, "dev demo data seeded")
	waitStatus(t, url+"/readyz", 200)

	countycloud := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"COUNTYCLOUD_ADDR=" + url, "COUNTYCLOUD_TOKEN=" + token}
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			t.Logf("%v: %s", args, ee.Stderr)
		}
		return string(out), err
	}
	if _, err := countycloud("tenant", "create", "--code", "gd.shaoguan.wengyuan", "--name", "翁源县"); err != nil {
		t.Fatalf("create: %v", err)
	}
	out, err := countycloud("tenant", "list", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var tenants []registry.Tenant
	if err := json.Unmarshal([]byte(out), &tenants); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tn := range tenants {
		if tn.Code == "gd.shaoguan.wengyuan" {
			found = tn.Status == registry.StatusReady && tn.Schema == "cc_gd_shaoguan_wengyuan" && tn.SchemaVersion > 0
		}
	}
	if !found {
		t.Errorf("list does not show 翁源县 ready with its own schema:\n%s", out)
	}

	// The embedded engine answers a report's one statement as MariaDB
	// does: figures put straight into the county's schema read back.
	line := log.waitFor(t, "embedded engine at ")
	addr := strings.Fields(line[strings.Index(line, "embedded engine at ")+len("embedded engine at "):])[0]
	engine, err := sql.Open("mysql", "root@tcp("+addr+")/cc_gd_shaoguan_wengyuan")
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	if _, err := engine.Exec(`INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES
('platform.logins', 1, 'm', '2026-06-01', 5), ('platform.logins', 2, 'm', '2026-06-01', 7), ('platform.logins', 1, 'm', '2026-07-01', 3)`); err != nil {
		t.Fatal(err)
	}
	out, err = countycloud("measures", "--tenant", "gd.shaoguan.wengyuan", "--measure", "platform.logins", "--from", "2026-01-01", "--to", "2026-12-31", "--by", "month", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var report measure.Report
	if err := json.Unmarshal([]byte(out), &report); err != nil {
		t.Fatal(err)
	}
	if got := figureList(report); got != "platform.logins/1=5 platform.logins/2=7 platform.logins/1=3" {
		t.Errorf("the dev engine's figures: %s", got)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Wait closes the pipe: read it to the end first.
	<-drained
	if err := srv.Wait(); err != nil {
		t.Errorf("server exit after SIGTERM: %v", err)
	}
	if _, ok := log.find("shutdown complete"); !ok {
		t.Errorf("no clean shutdown logged:\n%s", log.String())
	}
}
