package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// rolloutBilling tells billing of the rollout: a county entering trial
// operation is subscribed, trialing until its plan's formal start;
// entering formal operation ends the trial; an edit moving the formal
// start moves the trial's end.
type rolloutBilling struct {
	life *billing.Lifecycle
	// plans reads the plans; a rollout service of its own, since the one
	// that tells this listener is made with it.
	plans *rollout.Service
}

func (r rolloutBilling) PhaseChanged(ctx context.Context, c rollout.Change) error {
	switch c.To {
	case rollout.Trial:
		plan, err := r.plans.Plan(ctx, c.County)
		if err != nil {
			return err
		}
		for _, ph := range plan.Phases {
			if ph.Phase == rollout.Formal {
				return r.life.TrialStarted(ctx, c.County, c.ID, ph.Start)
			}
		}
		return fmt.Errorf("the plan of %s has no formal operation", c.County)
	case rollout.Formal:
		return r.life.FormalStarted(ctx, c.County, c.ID)
	}
	return nil
}

func (r rolloutBilling) PlanDatesChanged(ctx context.Context, tx *sqlx.Tx, d rollout.PlanDates) error {
	return r.life.FormalStartMoved(ctx, tx, d.County, d.Version, d.Starts[rollout.Formal])
}

// billedModules is the plugin host's repository telling billing of a
// county's module enabled or disabled, once the change is kept. Billing
// failing to hear it does not undo the change: the daily usage job
// brings a county's items to its modules again once it is in formal
// operation.
type billedModules struct {
	host.Repository
	life *billing.Lifecycle
	log  *slog.Logger
}

func (b billedModules) PutModule(ctx context.Context, m host.Module) error {
	if err := b.Repository.PutModule(ctx, m); err != nil {
		return err
	}
	if err := b.life.ModulesChanged(ctx, m.Tenant); err != nil {
		b.log.WarnContext(ctx, "billing did not hear of a module enabled or disabled; the daily usage job catches up once the county is in formal operation", "county", m.Tenant, "module", m.Plugin, "err", err)
	}
	return nil
}

// enabledModules are a county's enabled modules, as billing asks.
type enabledModules struct{ repo host.Repository }

func (e enabledModules) Enabled(ctx context.Context, county string) ([]string, error) {
	modules, err := e.repo.Modules(ctx, county)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range modules {
		if m.Enabled {
			ids = append(ids, m.Plugin)
		}
	}
	return ids, nil
}

// censusSeats counts a county's active accounts as the census last
// recorded them: platform.org.accounts, a level per unit, summed.
type censusSeats struct{ measures *measure.Service }

func (c censusSeats) ActiveAccounts(ctx context.Context, county string) (int64, error) {
	var defs []measure.Definition
	for _, d := range measure.CensusMeasures() {
		if d.ID == measure.OrgAccounts {
			defs = append(defs, d)
		}
	}
	today := measure.Day(time.Now())
	totals, err := c.measures.Totals(ctx, county, defs, measure.Window{Measures: []string{measure.OrgAccounts}, From: today, To: today})
	if err != nil {
		return 0, err
	}
	var n int64
	for _, t := range totals[0] {
		n += t.Value
	}
	return n, nil
}
