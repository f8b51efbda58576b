// Package billing charges for the platform on Stripe: the catalogue of
// prices, the billing accounts that pay (a province for its counties, or
// a county for itself) and the outbox every call to Stripe leaves
// through; its Lifecycle, driven by the rollout, subscribes the counties
// and reports their usage on a Billing Meter. Invoices are not built yet
// (docs/billing.md).
package billing

import (
	"context"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

// Directory tells billing about the tenants it bills; cmd wires the
// registry behind it.
type Directory interface {
	// Level returns "province", "city" or "county" for code, or an error
	// whose errs code is not-found.
	Level(ctx context.Context, code string) (string, error)
}

// Queue is where the outbox queues its sends.
type Queue interface {
	Enqueue(ctx context.Context, spec jobs.Spec) (jobs.Job, bool, error)
}

// Service is billing: accounts, the catalogue and the outbox.
type Service struct {
	db        *sqlx.DB
	jobs      Queue
	locks     *store.Locker
	stripe    Stripe
	directory Directory
	now       func() time.Time
	log       *slog.Logger
}

// New returns billing on the control plane db, sending to Stripe through
// stripe from jobs on queue. A nil stripe keeps the calls in the outbox:
// register Jobs only with a client.
func New(db *sqlx.DB, queue Queue, locks *store.Locker, stripe Stripe, directory Directory, now func() time.Time, log *slog.Logger) *Service {
	return &Service{db: db, jobs: queue, locks: locks, stripe: stripe, directory: directory, now: now, log: log}
}

// Jobs are the handlers of billing's job kinds.
func (s *Service) Jobs() map[string]jobs.Handler {
	return map[string]jobs.Handler{JobSend: s.SendJob, JobSweep: s.SweepJob}
}

// Schedules are billing's recurring jobs.
func Schedules() []jobs.Schedule {
	return []jobs.Schedule{{Kind: JobSweep, Every: SweepEvery}}
}
