package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// BenchmarkTwoWorkers drains b.N jobs (each one insert of its effect)
// with two workers on pools of their own, as two replicas would, and
// compares with raw SQL doing each job's writes (claim, effect, finish)
// with no queue: jobs/s for both, and their ratio.
func BenchmarkTwoWorkers(b *testing.B) {
	db := storetest.New(b)
	if _, err := db.Control.Exec("CREATE TABLE job_effects (job_id BIGINT PRIMARY KEY, worker VARCHAR(64) NOT NULL)"); err != nil {
		b.Fatal(err)
	}
	q := jobs.NewQueue(db.Control)
	ctx := context.Background()
	for range b.N {
		if _, _, err := q.Enqueue(ctx, jobs.Spec{Kind: "bench.effect"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	for _, owner := range []string{"one", "two"} {
		pool := store.Open(db.Config, 8, quiet)
		defer pool.Close()
		handler := func(ctx context.Context, j jobs.Job) error {
			_, err := pool.ExecContext(ctx, "INSERT IGNORE INTO job_effects (job_id, worker) VALUES (?, ?)", j.ID, owner)
			return err
		}
		w := jobs.NewWorker(jobs.NewQueue(pool), map[string]jobs.Handler{"bench.effect": handler},
			jobs.Options{Owner: owner, Concurrency: 8, Poll: 5 * time.Millisecond}, quiet)
		go func() { w.Run(run); done <- struct{}{} }()
	}
	start := time.Now()
	for {
		var n int
		if err := db.Control.Get(&n, "SELECT COUNT(*) FROM job_effects"); err != nil {
			b.Fatal(err)
		}
		if n == b.N {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	stop()
	<-done
	<-done
	b.StopTimer()
	perSecond := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(perSecond, "jobs/s")

	// The same writes without the queue: mark running, insert the effect,
	// mark done, 16 at a time.
	if _, err := db.Control.Exec("DELETE FROM job_effects"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Control.Exec("UPDATE jobs SET status = 'queued'"); err != nil {
		b.Fatal(err)
	}
	ids := make(chan int64, b.N)
	for id := range int64(b.N) {
		ids <- id + 1
	}
	close(ids)
	start = time.Now()
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			for id := range ids {
				for _, stmt := range []string{"UPDATE jobs SET status = 'running' WHERE id = ?", "INSERT IGNORE INTO job_effects (job_id, worker) VALUES (?, 'raw')", "UPDATE jobs SET status = 'done' WHERE id = ?"} {
					if _, err := db.Control.Exec(stmt, id); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	raw := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(raw, "raw-jobs/s")
	b.ReportMetric(perSecond/raw, "queue/raw")
}
