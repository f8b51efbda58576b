package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
)

// TestJobsThroughTheCLI runs the server's worker: it rotates the signing
// keys on schedule, and an operator sees the jobs and retries a dead one.
func TestJobsThroughTheCLI(t *testing.T) {
	t.Parallel()
	db, p, _, env := startedPlatformWith(t, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.worker().Run(ctx); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })

	deadline := time.Now().Add(20 * time.Second)
	for {
		var list []jobs.Job
		if err := json.Unmarshal([]byte(mustCLI(t, env, "jobs", "list", "--kind", auth.JobRotateKeys, "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 && list[0].Status == jobs.StatusDone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no key rotation done: %+v", list)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var keys int
	if err := db.Control.Get(&keys, "SELECT COUNT(*) FROM signing_keys"); err != nil || keys != 2 {
		t.Errorf("%d signing keys after a rotation (%v), want the first and the new one", keys, err)
	}

	dead, _, err := p.jobs.Enqueue(context.Background(), jobs.Spec{Kind: "notify.unknown", Payload: map[string]string{"to": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Control.Exec("UPDATE jobs SET status = 'dead', attempts = 8, last_error = 'gateway down' WHERE id = ?", dead.ID); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, env, "jobs", "list", "--status", "dead"); !strings.Contains(out, "gateway down") || !strings.Contains(out, "notify.unknown") {
		t.Errorf("dead jobs: %s", out)
	}
	id := strconv.FormatInt(dead.ID, 10)
	if out := mustCLI(t, env, "jobs", "retry", id); !strings.Contains(out, "queued") {
		t.Errorf("retry: %s", out)
	}
	if r := cli(t, env, "jobs", "retry", id); r.code != exitFailed || !strings.Contains(r.stderr, jobs.CodeNotDead) {
		t.Errorf("retrying a queued job: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, env, "jobs", "retry", "forty-two"); r.code != exitUsage {
		t.Errorf("a bad id: exit %d %s", r.code, r.stderr)
	}
	if r := cli(t, env, "jobs", "list", "--status", "lost"); r.code != exitFailed || !strings.Contains(r.stderr, jobs.CodeInvalidJob) {
		t.Errorf("a bad status: exit %d %s", r.code, r.stderr)
	}
}
