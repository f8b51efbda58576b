package jobs

import (
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/countycloud/countycloud/core/store"
	"github.com/jmoiron/sqlx"
)

// Handler does one job. An error fails the attempt: the job is tried again
// after a backoff, and is dead once it has used its attempts, or at once
// if the error is Permanent. Handlers must be idempotent: a job whose
// worker died is run again.
type Handler func(ctx context.Context, j Job) error

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one no retry can fix: the job is dead at once.
func Permanent(err error) error { return permanentError{err} }

// Schedule enqueues Kind once every Every, on the period's boundary. Each
// period's job has an idempotency key, so any number of replicas
// scheduling it enqueue it once.
type Schedule struct {
	Kind  string
	Every time.Duration
}

// Options tune a worker; zero fields take the defaults.
type Options struct {
	// Owner names the worker in the leases it holds; default host-pid-random.
	Owner string
	// Concurrency is how many jobs the worker runs at once (default 4).
	Concurrency int
	// Lease is how long a claimed job is held without renewal (default
	// 30 s); a killed worker's jobs are taken over after it. Leases are
	// renewed every third of it.
	Lease time.Duration
	// Poll is how often the worker looks for due jobs when idle (default 1 s).
	Poll time.Duration
	// Drain is how long shutdown lets running jobs finish before it
	// cancels them and hands their leases back (default 10 s).
	Drain time.Duration
	// Backoff is the wait before attempt n+1 after attempt n failed
	// (default: 5 s doubling, at most an hour, with ±20% jitter).
	Backoff   func(attempt int) time.Duration
	Schedules []Schedule
}

func (o Options) withDefaults() Options {
	if o.Owner == "" {
		host, _ := os.Hostname()
		var b [3]byte
		_, _ = crand.Read(b[:])
		o.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
		if len(o.Owner) > 64 {
			o.Owner = o.Owner[len(o.Owner)-64:]
		}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Second
	}
	if o.Backoff == nil {
		o.Backoff = DefaultBackoff
	}
	return o
}

// DefaultBackoff waits 5 s after the first failure, doubling up to an
// hour, with ±20% jitter so that jobs failing together do not retry
// together.
func DefaultBackoff(attempt int) time.Duration {
	d := 5 * time.Second << min(attempt-1, 10)
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Worker claims due jobs of the kinds it has handlers for and runs them.
type Worker struct {
	q        *Queue
	handlers map[string]Handler
	kinds    []string
	opts     Options
	log      *slog.Logger

	mu      sync.Mutex
	running map[int64]bool
}

// NewWorker returns a worker running handlers (by job kind) from q.
func NewWorker(q *Queue, handlers map[string]Handler, opts Options, log *slog.Logger) *Worker {
	kinds := make([]string, 0, len(handlers))
	for k := range handlers {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return &Worker{q: q, handlers: handlers, kinds: kinds, opts: opts.withDefaults(), log: log, running: map[int64]bool{}}
}

// Run works until ctx is done. Then it claims nothing more, lets running
// jobs finish for up to Options.Drain, cancels the rest and hands their
// leases back so that another worker takes them at once.
func (w *Worker) Run(ctx context.Context) {
	if len(w.kinds) == 0 {
		<-ctx.Done()
		return
	}
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var wg sync.WaitGroup
	finished := make(chan struct{}, w.opts.Concurrency)
	renew := time.NewTicker(w.opts.Lease / 3)
	defer renew.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	scheduled := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			w.drain(&wg, cancelWork)
			return
		case <-renew.C:
			w.renew(work)
			continue
		case <-finished:
			// Claim in batches: a claim costs a transaction however
			// many jobs it takes.
			if free := w.opts.Concurrency - w.inHand(); 2*free < w.opts.Concurrency {
				continue
			}
		case <-poll.C:
			w.schedule(work, scheduled)
		}
		free := w.opts.Concurrency - w.inHand()
		if free <= 0 {
			continue
		}
		claimed, err := w.claim(work, free)
		if err != nil {
			w.log.WarnContext(ctx, "claiming jobs failed", "err", err)
		}
		for _, j := range claimed {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(work, j)
				select {
				case finished <- struct{}{}:
				default: // the loop is awake already
				}
			}()
		}
		// A full batch means more may be waiting: look again at once.
		wait := w.opts.Poll
		if len(claimed) == free {
			wait = 0
		}
		poll.Reset(wait)
	}
}

func (w *Worker) inHand() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.running)
}

func (w *Worker) drain(wg *sync.WaitGroup, cancelWork context.CancelFunc) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.opts.Drain):
		cancelWork()
		<-done
	}
}

// schedule enqueues each schedule's job for the current period once per
// period per worker; the idempotency key makes it once per period
// overall.
func (w *Worker) schedule(ctx context.Context, done map[string]time.Time) {
	now := time.Now().UTC()
	for _, s := range w.opts.Schedules {
		period := now.Truncate(s.Every)
		if done[s.Kind].Equal(period) {
			continue
		}
		key := s.Kind + "@" + period.Format(time.RFC3339)
		if _, _, err := w.q.Enqueue(ctx, Spec{Kind: s.Kind, Key: key, RunAt: period, Payload: struct{}{}}); err != nil {
			w.log.WarnContext(ctx, "scheduling a job failed", "kind", s.Kind, "err", err)
			continue
		}
		done[s.Kind] = period
	}
}

// claim leases up to n due jobs: queued ones whose time has come, and
// running ones whose worker's lease ran out.
func (w *Worker) claim(ctx context.Context, n int) ([]Job, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	tx, err := w.q.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	defer tx.Rollback()
	// Two queries, each along its own index: jobs whose worker's lease ran
	// out first, then queued jobs in the order they fell due.
	var ids []int64
	for _, due := range []struct {
		cond string
		arg  Status
	}{
		{"status = ? AND lease_expires < ? ORDER BY lease_expires", StatusRunning},
		{"status = ? AND run_at <= ? ORDER BY run_at", StatusQueued},
	} {
		query, args, err := sqlx.In("SELECT id FROM jobs WHERE kind IN (?) AND "+due.cond+" LIMIT ? FOR UPDATE SKIP LOCKED", w.kinds, due.arg, now, n-len(ids))
		if err != nil {
			return nil, err
		}
		var found []int64
		if err := tx.SelectContext(ctx, &found, query, args...); err != nil {
			return nil, fmt.Errorf("claim: %w", err)
		}
		if ids = append(ids, found...); len(ids) == n {
			break
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	query, args, err := sqlx.In(`UPDATE jobs SET status = ?, lease_owner = ?, lease_expires = ?, attempts = attempts + 1, updated_at = ? WHERE id IN (?)`,
		StatusRunning, w.opts.Owner, now.Add(w.opts.Lease), now, ids)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	query, args, err = sqlx.In("SELECT "+jobColumns+" FROM jobs WHERE id IN (?) ORDER BY run_at, id", ids)
	if err != nil {
		return nil, err
	}
	var jobs []Job
	if err := tx.SelectContext(ctx, &jobs, query, args...); err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	w.mu.Lock()
	for _, j := range jobs {
		w.running[j.ID] = true
	}
	w.mu.Unlock()
	return jobs, nil
}

// renew extends the leases of every job this worker runs.
func (w *Worker) renew(ctx context.Context) {
	w.mu.Lock()
	ids := make([]int64, 0, len(w.running))
	for id := range w.running {
		ids = append(ids, id)
	}
	w.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	query, args, err := sqlx.In("UPDATE jobs SET lease_expires = ? WHERE lease_owner = ? AND status = ? AND id IN (?)",
		time.Now().UTC().Add(w.opts.Lease), w.opts.Owner, StatusRunning, ids)
	if err == nil {
		_, err = w.q.db.ExecContext(ctx, query, args...)
	}
	if err != nil {
		w.log.WarnContext(ctx, "renewing job leases failed", "err", err)
	}
}

// run runs one job and records how it ended.
func (w *Worker) run(ctx context.Context, j Job) {
	defer func() {
		w.mu.Lock()
		delete(w.running, j.ID)
		w.mu.Unlock()
	}()
	var err error
	if j.Attempts > j.MaxAttempts {
		// Every attempt ended with its worker gone: the job itself is the
		// likely cause, so it runs no more.
		err = Permanent(fmt.Errorf("its worker stopped %d times while running it", j.Attempts-1))
	} else {
		err = w.call(ctx, j)
	}
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	switch {
	case err == nil:
		err = w.finish(record, j, StatusDone, j.RunAt, nil)
	case ctx.Err() != nil:
		err = w.release(record, j)
	default:
		err = w.failed(record, j, err)
	}
	if err != nil {
		w.log.WarnContext(record, "recording a job's end failed; it runs again when its lease runs out", "job", j.ID, "kind", j.Kind, "err", err)
	}
}

// call runs j's handler, turning a panic into a failed attempt.
func (w *Worker) call(ctx context.Context, j Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return w.handlers[j.Kind](ctx, j)
}

func (w *Worker) failed(ctx context.Context, j Job, cause error) error {
	msg := cause.Error()
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	var permanent permanentError
	if errors.As(cause, &permanent) || j.Attempts >= j.MaxAttempts {
		w.log.ErrorContext(ctx, "job is dead", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "err", msg)
		return w.finish(ctx, j, StatusDead, j.RunAt, &msg)
	}
	next := time.Now().UTC().Add(w.opts.Backoff(j.Attempts))
	w.log.WarnContext(ctx, "job failed; retrying", "job", j.ID, "kind", j.Kind, "attempts", j.Attempts, "next", next, "err", msg)
	return w.finish(ctx, j, StatusQueued, next, &msg)
}

// finish records j's end as status if this worker still holds its lease.
func (w *Worker) finish(ctx context.Context, j Job, status Status, runAt time.Time, lastError *string) error {
	now := time.Now().UTC()
	var finished *time.Time
	if status == StatusDone || status == StatusDead {
		finished = &now
	}
	// A worker claiming the next jobs may deadlock with this statement;
	// given up, the job would run again once its lease ran out.
	var res sql.Result
	err := store.AgainIfDeadlocked(func() (err error) {
		res, err = w.q.db.ExecContext(ctx, `UPDATE jobs SET status = ?, run_at = ?, last_error = ?, lease_owner = NULL, lease_expires = NULL,
updated_at = ?, finished_at = ? WHERE id = ? AND lease_owner = ? AND status = ?`,
			status, runAt, lastError, now, finished, j.ID, w.opts.Owner, StatusRunning)
		return err
	})
	if err != nil {
		return fmt.Errorf("record job %d as %s: %w", j.ID, status, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		w.log.WarnContext(ctx, "a job's lease was lost before it ended; another worker has it", "job", j.ID, "kind", j.Kind)
	}
	return nil
}

// release hands back the lease of a job shutdown interrupted, without
// counting the attempt.
func (w *Worker) release(ctx context.Context, j Job) error {
	err := store.AgainIfDeadlocked(func() error {
		_, err := w.q.db.ExecContext(ctx, `UPDATE jobs SET status = ?, attempts = attempts - 1, lease_owner = NULL, lease_expires = NULL, updated_at = ?
WHERE id = ? AND lease_owner = ? AND status = ?`, StatusQueued, time.Now().UTC(), j.ID, w.opts.Owner, StatusRunning)
		return err
	})
	if err != nil {
		return fmt.Errorf("release job %d: %w", j.ID, err)
	}
	return nil
}

// PurgeDone deletes jobs that ended done more than age ago; dead jobs stay
// until an operator retries them.
func (q *Queue) PurgeDone(ctx context.Context, age time.Duration) (int64, error) {
	res, err := q.db.ExecContext(ctx, "DELETE FROM jobs WHERE status = ? AND finished_at < ?", StatusDone, time.Now().UTC().Add(-age))
	if err != nil {
		return 0, fmt.Errorf("purge jobs: %w", err)
	}
	return res.RowsAffected()
}
