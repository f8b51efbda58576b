// Package jobs is the platform's durable background work: supervision
// sweeps, the notification outbox, key rotation. Jobs live in one table of
// the control plane, so every replica shares them. A worker claims due
// jobs with FOR UPDATE SKIP LOCKED, which lets replicas claim side by side
// without waiting on each other's rows, and holds each job under a lease
// it renews while it works. If the worker dies, the lease runs out and
// another worker takes the job over; so a job may run more than once, and
// handlers are written to be idempotent.
package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Status is where a job is in its life.
type Status string

// A job is queued until a worker claims it, running while leased, and
// ends done, or dead once it has failed MaxAttempts times.
const (
	StatusQueued  Status = "queued"
	StatusRunning Status = "running"
	StatusDone    Status = "done"
	StatusDead    Status = "dead"
)

// Job is one piece of background work.
type Job struct {
	ID          int64           `json:"id" db:"id"`
	Kind        string          `json:"kind" db:"kind"`
	Tenant      string          `json:"tenant,omitempty" db:"tenant_code"`
	Payload     json.RawMessage `json:"payload" db:"payload"`
	Key         *string         `json:"idempotency_key,omitempty" db:"idempotency_key"`
	Status      Status          `json:"status" db:"status"`
	RunAt       time.Time       `json:"run_at" db:"run_at"`
	Attempts    int             `json:"attempts" db:"attempts"`
	MaxAttempts int             `json:"max_attempts" db:"max_attempts"`
	LeaseOwner  *string         `json:"lease_owner,omitempty" db:"lease_owner"`
	LeaseUntil  *time.Time      `json:"lease_expires,omitempty" db:"lease_expires"`
	LastError   *string         `json:"last_error,omitempty" db:"last_error"`
	CreatedAt   time.Time       `json:"created_at" db:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at" db:"updated_at"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty" db:"finished_at"`
}

const jobColumns = `id, kind, tenant_code, payload, idempotency_key, status, run_at, attempts, max_attempts,
lease_owner, lease_expires, last_error, created_at, updated_at, finished_at`

// Spec asks for a job.
type Spec struct {
	Kind string
	// Tenant is the county the job works for, "" for the platform's own.
	Tenant  string
	Payload any
	// Key makes the job idempotent: enqueuing a Key that exists returns
	// the job already there instead of adding one.
	Key string
	// RunAt is when the job is due; zero means now.
	RunAt time.Time
	// MaxAttempts is how many times the job is tried before it is dead;
	// zero means DefaultMaxAttempts.
	MaxAttempts int
}

// DefaultMaxAttempts is how many tries a job gets unless it says.
const DefaultMaxAttempts = 8

// Codes of the errors this package returns.
const (
	CodeInvalidJob  = "invalid_job"
	CodeJobNotFound = "job_not_found"
	CodeNotDead     = "job_not_dead"
)

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Queue is the table of jobs.
type Queue struct{ db *sqlx.DB }

// NewQueue returns the queue in the control plane db.
func NewQueue(db *sqlx.DB) *Queue { return &Queue{db: db} }

// Enqueue adds the job spec asks for, or, when spec's key exists, returns
// the job that has it with created false.
func (q *Queue) Enqueue(ctx context.Context, spec Spec) (job Job, created bool, err error) {
	res, key, err := insert(ctx, q.db, spec)
	if store.IsDuplicate(err) && key.Valid {
		var existing Job
		if err := q.db.GetContext(ctx, &existing, "SELECT "+jobColumns+" FROM jobs WHERE idempotency_key = ?", key); err != nil {
			return Job{}, false, fmt.Errorf("read job with key %s: %w", spec.Key, err)
		}
		return existing, false, nil
	}
	if err != nil {
		return Job{}, false, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Job{}, false, fmt.Errorf("enqueue %s: %w", spec.Kind, err)
	}
	job, err = q.Get(ctx, id)
	return job, true, err
}

// EnqueueIn adds the job spec asks for in tx, the transaction of the
// change that needs it: the job exists exactly when the change commits,
// and costs the change no commit of its own. A key that exists adds
// nothing (created false).
func EnqueueIn(ctx context.Context, tx *sqlx.Tx, spec Spec) (created bool, err error) {
	_, key, err := insert(ctx, tx, spec)
	if store.IsDuplicate(err) && key.Valid {
		return false, nil
	}
	return err == nil, err
}

// insert checks spec and writes its row.
func insert(ctx context.Context, db sqlx.ExecerContext, spec Spec) (sql.Result, sql.NullString, error) {
	st, key, err := row(spec)
	if err != nil {
		return nil, key, err
	}
	res, err := db.ExecContext(ctx, st.Query, st.Args...)
	if err != nil {
		return nil, key, fmt.Errorf("enqueue %s: %w", spec.Kind, err)
	}
	return res, key, nil
}

// Statement is the INSERT that adds the job spec asks for, for a
// transaction sent whole (store.OneTrip.Tx): the job exists exactly when
// that transaction commits. A key that exists adds nothing, as in
// EnqueueIn, and fails nothing.
func Statement(spec Spec) (store.Statement, error) {
	st, _, err := row(spec)
	if err != nil {
		return store.Statement{}, err
	}
	st.Query += " ON DUPLICATE KEY UPDATE idempotency_key = idempotency_key"
	return st, nil
}

// row checks spec and returns the INSERT of its row and its key.
func row(spec Spec) (store.Statement, sql.NullString, error) {
	var key sql.NullString
	if !kindPattern.MatchString(spec.Kind) {
		return store.Statement{}, key, errs.Invalid(CodeInvalidJob, "job kind %q: lowercase letters, digits, dots, dashes and underscores, starting with a letter", spec.Kind)
	}
	if len(spec.Key) > 191 {
		return store.Statement{}, key, errs.Invalid(CodeInvalidJob, "idempotency key is %d bytes; at most 191", len(spec.Key))
	}
	if spec.MaxAttempts < 0 {
		return store.Statement{}, key, errs.Invalid(CodeInvalidJob, "max attempts must not be negative")
	}
	payload, err := json.Marshal(spec.Payload)
	if err != nil {
		return store.Statement{}, key, errs.Invalid(CodeInvalidJob, "payload: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	runAt := spec.RunAt.UTC().Truncate(time.Microsecond)
	if spec.RunAt.IsZero() {
		runAt = now
	}
	maxAttempts := spec.MaxAttempts
	if maxAttempts == 0 {
		maxAttempts = DefaultMaxAttempts
	}
	if spec.Key != "" {
		key = sql.NullString{String: spec.Key, Valid: true}
	}
	return store.Statement{Query: `INSERT INTO jobs (kind, tenant_code, payload, idempotency_key, status, run_at, attempts, max_attempts, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`, Args: []any{spec.Kind, spec.Tenant, string(payload), key, StatusQueued, runAt, maxAttempts, now, now}}, key, nil
}

// Get returns job id.
func (q *Queue) Get(ctx context.Context, id int64) (Job, error) {
	var j Job
	err := q.db.GetContext(ctx, &j, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, errs.NotFound(CodeJobNotFound, "job %d does not exist", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("read job %d: %w", id, err)
	}
	return j, nil
}

// Filter selects jobs; zero fields match all. Jobs come newest first,
// Limit at a time, below the id Before.
type Filter struct {
	Status Status
	Kind   string
	Tenant string
	Before int64
	Limit  int
}

// MaxListLimit bounds a page of jobs.
const MaxListLimit = 500

// List returns the jobs f selects.
func (q *Queue) List(ctx context.Context, f Filter) ([]Job, error) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > MaxListLimit {
		return nil, errs.Invalid(CodeInvalidJob, "limit is 1 to %d", MaxListLimit)
	}
	switch f.Status {
	case "", StatusQueued, StatusRunning, StatusDone, StatusDead:
	default:
		return nil, errs.Invalid(CodeInvalidJob, "status %q is not queued, running, done or dead", f.Status)
	}
	var where []string
	var args []any
	for _, c := range []struct {
		cond string
		val  any
		set  bool
	}{
		{"status = ?", f.Status, f.Status != ""},
		{"kind = ?", f.Kind, f.Kind != ""},
		{"tenant_code = ?", f.Tenant, f.Tenant != ""},
		{"id < ?", f.Before, f.Before != 0},
	} {
		if c.set {
			where = append(where, c.cond)
			args = append(args, c.val)
		}
	}
	query := "SELECT " + jobColumns + " FROM jobs"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += fmt.Sprintf(" ORDER BY id DESC LIMIT %d", f.Limit)
	jobs := []Job{}
	if err := q.db.SelectContext(ctx, &jobs, query, args...); err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return jobs, nil
}

// Retry gives a dead job its attempts back and queues it now. It answers
// with the job as the retry left it, not as read afterwards: a worker may
// claim it the moment the update commits.
func (q *Queue) Retry(ctx context.Context, id int64) (Job, error) {
	j, err := q.Get(ctx, id)
	if err != nil {
		return Job{}, err
	}
	if j.Status != StatusDead {
		return Job{}, errs.Conflict(CodeNotDead, "job %d is %s; only a dead job is retried", id, j.Status)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	res, err := q.db.ExecContext(ctx, "UPDATE jobs SET status = ?, attempts = 0, run_at = ?, updated_at = ?, finished_at = NULL WHERE id = ? AND status = ?",
		StatusQueued, now, now, id, StatusDead)
	if err != nil {
		return Job{}, fmt.Errorf("retry job %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return Job{}, errs.Conflict(CodeNotDead, "job %d was retried by someone else meanwhile", id)
	}
	j.Status, j.Attempts, j.RunAt, j.UpdatedAt, j.FinishedAt = StatusQueued, 0, now, now, nil
	return j, nil
}
