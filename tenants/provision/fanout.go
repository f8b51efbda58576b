package provision

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Counties is what a migration fan-out needs of the registry.
type Counties interface {
	Behind(ctx context.Context, version int64, only []string) ([]registry.Tenant, error)
	RecordSchemaVersion(ctx context.Context, code string, version int64) error
}

// Outcomes of one county's migration.
const (
	OutcomeMigrated = "migrated"
	OutcomeFailed   = "failed"
	OutcomePending  = "pending" // a dry run's: would be migrated
)

// Result is what became of one county.
type Result struct {
	Code       string `json:"code"`
	Cluster    string `json:"cluster"`
	From       int64  `json:"from"`
	To         int64  `json:"to"`
	Outcome    string `json:"outcome"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// FanOutOptions shape a fan-out.
type FanOutOptions struct {
	// Only restricts it to these county codes.
	Only []string
	// Workers is how many counties are migrated at once.
	Workers int
	// DryRun lists what would be migrated and changes nothing.
	DryRun bool
	// Progress is called after each county, from the worker that did it.
	Progress func(done, total int, r Result)
}

// lockWait is how long a county's migration waits for its lock, held by a
// provisioning or another migration run.
const lockWait = time.Minute

// FanOut brings every provisioned county behind the latest migration up
// to it, Workers at a time. A county that fails is reported and the others
// go on. Each county's migration is idempotent and its version is recorded
// centrally only once it is done, so a run killed anywhere is finished by
// running it again.
func (p *Provisioner) FanOut(ctx context.Context, counties Counties, locks registry.Locker, opts FanOutOptions) ([]Result, error) {
	behind, err := counties.Behind(ctx, p.migrations.Latest(), opts.Only)
	if err != nil {
		return nil, err
	}
	results := make([]Result, len(behind))
	if opts.DryRun {
		for i, t := range behind {
			results[i] = Result{Code: t.Code, Cluster: t.Cluster, From: t.SchemaVersion, To: p.migrations.Latest(), Outcome: OutcomePending}
		}
		return results, nil
	}
	work := make(chan int)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range max(1, opts.Workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] = p.migrateCounty(ctx, counties, locks, behind[i])
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(behind), results[i])
				}
				mu.Unlock()
			}
		}()
	}
	for i := range behind {
		select {
		case work <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return results, ctx.Err()
}

func (p *Provisioner) migrateCounty(ctx context.Context, counties Counties, locks registry.Locker, t registry.Tenant) Result {
	start := time.Now()
	r := Result{Code: t.Code, Cluster: t.Cluster, From: t.SchemaVersion}
	err := p.withLock(ctx, locks, t.Code, func() error {
		cluster, err := p.clusters.Get(t.Cluster)
		if err != nil {
			return err
		}
		err = cluster.InSchema(ctx, t.Schema, func(ctx context.Context, conn *sqlx.Conn) error {
			r.To, err = p.migrations.Up(ctx, conn)
			return err
		})
		if err != nil {
			return err
		}
		return counties.RecordSchemaVersion(ctx, t.Code, r.To)
	})
	r.DurationMS = time.Since(start).Milliseconds()
	r.Outcome = OutcomeMigrated
	if err != nil {
		r.Outcome, r.Error = OutcomeFailed, err.Error()
	}
	return r
}

func (p *Provisioner) withLock(ctx context.Context, locks registry.Locker, code string, fn func() error) error {
	release, err := locks.Lock(ctx, registry.LockName(code), lockWait)
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%s stayed locked by a provisioning or another migration for %s", code, lockWait)
	}
	if err != nil {
		return err
	}
	defer release()
	return fn()
}
