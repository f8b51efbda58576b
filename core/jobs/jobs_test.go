package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runWorker runs w until the test ends.
func runWorker(t *testing.T, w *jobs.Worker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func fast(owner string) jobs.Options {
	return jobs.Options{Owner: owner, Poll: 20 * time.Millisecond, Lease: 5 * time.Second, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}
}

func waitStatus(t *testing.T, q *jobs.Queue, id int64, want jobs.Status) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s after 20 s, want %s", id, j.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFailuresRetryThenDieAndAnOperatorRetries(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	ctx := context.Background()
	flaky, _, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Payload: effect{SucceedFrom: 3}, MaxAttempts: 5})
	if err != nil {
		t.Fatal(err)
	}
	hopeless, _, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Payload: effect{SucceedFrom: 99}, MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	broken, _, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Payload: "not an effect"})
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, jobs.NewWorker(q, testHandlers(db.Control, "w"), fast("w"), quiet))

	if j := waitStatus(t, q, flaky.ID, jobs.StatusDone); j.Attempts != 3 || j.LastError != nil {
		t.Errorf("the flaky job: %d attempts, last error %v; want 3 and none", j.Attempts, j.LastError)
	}
	dead := waitStatus(t, q, hopeless.ID, jobs.StatusDead)
	if dead.Attempts != 3 || dead.LastError == nil {
		t.Errorf("the hopeless job died after %d attempts with error %v", dead.Attempts, dead.LastError)
	}
	if j := waitStatus(t, q, broken.ID, jobs.StatusDead); j.Attempts != 1 {
		t.Errorf("a permanent error took %d attempts, want 1", j.Attempts)
	}
	if _, err := q.Retry(ctx, flaky.ID); errs.CodeOf(err) != jobs.CodeNotDead {
		t.Errorf("retrying a done job: %v", err)
	}
	if _, err := q.Retry(ctx, 1<<40); errs.CodeOf(err) != jobs.CodeJobNotFound {
		t.Errorf("retrying no job: %v", err)
	}
	retried, err := q.Retry(ctx, hopeless.ID)
	if err != nil || retried.Status != jobs.StatusQueued || retried.Attempts != 0 {
		t.Fatalf("retry: %+v %v", retried, err)
	}
	waitStatus(t, q, hopeless.ID, jobs.StatusDead)
	list, err := q.List(ctx, jobs.Filter{Status: jobs.StatusDead})
	if err != nil || len(list) != 2 {
		t.Errorf("dead jobs: %d %v, want 2", len(list), err)
	}
}

func TestAnIdempotencyKeyEnqueuesOnce(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	ctx := context.Background()
	first, created, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Key: "sweep@2026-11-22", Payload: effect{}})
	if err != nil || !created {
		t.Fatalf("first: %v %v", created, err)
	}
	again, created, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Key: "sweep@2026-11-22", Payload: effect{SleepMillis: 5}})
	if err != nil || created || again.ID != first.ID {
		t.Errorf("the same key again: job %d created %v %v; want job %d", again.ID, created, err, first.ID)
	}
	for _, bad := range []jobs.Spec{{Kind: "Bad Kind"}, {Kind: ""}, {Kind: "ok", MaxAttempts: -1}, {Kind: "ok", Payload: func() {}}} {
		if _, _, err := q.Enqueue(ctx, bad); errs.CodeOf(err) != jobs.CodeInvalidJob {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if n := count(t, db.Control, "SELECT COUNT(*) FROM jobs"); n != 1 {
		t.Errorf("%d jobs after refused ones, want 1", n)
	}
}

// TestAJobSentWithItsTransactionIsQueuedOnceByItsKey: the statement of
// a job sent in a OneTrip transaction queues it; sent again with the same
// key it adds nothing and fails nothing; a bad spec builds no statement.
func TestAJobSentWithItsTransactionIsQueuedOnceByItsKey(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	oneTrip, pool := store.OpenOneTrip(db.Config, 1, quiet)
	t.Cleanup(func() { pool.Close() })
	ctx := context.Background()
	for i := range 2 {
		st, err := jobs.Statement(jobs.Spec{Kind: "test.effect", Key: "event@evt_1", Payload: effect{SleepMillis: i}})
		if err != nil {
			t.Fatal(err)
		}
		if err := oneTrip.Tx(ctx, st); err != nil {
			t.Fatalf("sent %d times: %v", i+1, err)
		}
	}
	if n := count(t, db.Control, "SELECT COUNT(*) FROM jobs WHERE idempotency_key = 'event@evt_1' AND status = 'queued'"); n != 1 {
		t.Errorf("%d jobs queued, want 1", n)
	}
	if _, err := jobs.Statement(jobs.Spec{Kind: "Bad Kind"}); errs.CodeOf(err) != jobs.CodeInvalidJob {
		t.Errorf("a bad kind: %v", err)
	}
}

func TestAJobIsNotRunBeforeItsTime(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	later, _, err := q.Enqueue(context.Background(), jobs.Spec{Kind: "test.effect", Payload: effect{}, RunAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	now, _, err := q.Enqueue(context.Background(), jobs.Spec{Kind: "test.effect", Payload: effect{}})
	if err != nil {
		t.Fatal(err)
	}
	runWorker(t, jobs.NewWorker(q, testHandlers(db.Control, "w"), fast("w"), quiet))
	waitStatus(t, q, now.ID, jobs.StatusDone)
	if j, _ := q.Get(context.Background(), later.ID); j.Status != jobs.StatusQueued || j.Attempts != 0 {
		t.Errorf("a job due in an hour: %s after %d attempts", j.Status, j.Attempts)
	}
}

func TestAPanickingHandlerFailsItsJobOnly(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	handlers := map[string]jobs.Handler{"test.panic": func(context.Context, jobs.Job) error { panic("boom") }}
	for k, h := range testHandlers(db.Control, "w") {
		handlers[k] = h
	}
	bad, _, _ := q.Enqueue(context.Background(), jobs.Spec{Kind: "test.panic", MaxAttempts: 1})
	good, _, _ := q.Enqueue(context.Background(), jobs.Spec{Kind: "test.effect", Payload: effect{}})
	runWorker(t, jobs.NewWorker(q, handlers, fast("w"), quiet))
	if j := waitStatus(t, q, bad.ID, jobs.StatusDead); j.LastError == nil || *j.LastError != "panic: boom" {
		t.Errorf("the panicking job's error: %v", j.LastError)
	}
	waitStatus(t, q, good.ID, jobs.StatusDone)
}

func TestSchedulesRunOncePerPeriodAcrossWorkers(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	var runs atomic.Int32
	handlers := map[string]jobs.Handler{"test.tick": func(context.Context, jobs.Job) error { runs.Add(1); return nil }}
	for _, owner := range []string{"a", "b", "c"} {
		opts := fast(owner)
		opts.Schedules = []jobs.Schedule{{Kind: "test.tick", Every: time.Hour}}
		runWorker(t, jobs.NewWorker(q, handlers, opts, quiet))
	}
	waitFor(t, db.Control, "ticks done", "SELECT COUNT(*) FROM jobs WHERE kind = 'test.tick' AND status = 'done'", 1)
	time.Sleep(100 * time.Millisecond)
	if n := count(t, db.Control, "SELECT COUNT(*) FROM jobs WHERE kind = 'test.tick'"); n != 1 || runs.Load() != 1 {
		t.Errorf("three workers scheduled %d jobs and ran %d in one period, want 1 and 1", n, runs.Load())
	}
}

func TestPurgeKeepsDeadAndRecentJobs(t *testing.T) {
	t.Parallel()
	db := testDB(t)
	q := jobs.NewQueue(db.Control)
	ctx := context.Background()
	for _, status := range []string{"done", "dead", "done"} {
		j, _, err := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Payload: effect{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Control.Exec("UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?", status, time.Now().Add(-8*24*time.Hour), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	recent, _, _ := q.Enqueue(ctx, jobs.Spec{Kind: "test.effect", Payload: effect{}})
	if _, err := db.Control.Exec("UPDATE jobs SET status = 'done', finished_at = ? WHERE id = ?", time.Now(), recent.ID); err != nil {
		t.Fatal(err)
	}
	n, err := q.PurgeDone(ctx, 7*24*time.Hour)
	if err != nil || n != 2 {
		t.Errorf("purged %d (%v), want the 2 old done jobs", n, err)
	}
	if _, err := q.Get(ctx, recent.ID); err != nil {
		t.Errorf("the recent job was purged: %v", err)
	}
}
