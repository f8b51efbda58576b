package rollout_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/tenants/rollout"
)

// datesHeard records what it hears, writing a row in the edit's
// transaction, and refuses while refuse is set.
type datesHeard struct {
	heard  []rollout.PlanDates
	refuse bool
}

func (d *datesHeard) PlanDatesChanged(ctx context.Context, tx *sqlx.Tx, p rollout.PlanDates) error {
	if d.refuse {
		return errors.New("the listener refuses")
	}
	d.heard = append(d.heard, p)
	_, err := tx.ExecContext(ctx, "SELECT 1")
	return err
}

func TestAnEditThatMovesThePlansDatesIsToldInItsTransaction(t *testing.T) {
	listener := &datesHeard{}
	w := newWorld(t, rollout.Options{DatesListeners: []rollout.DatesListener{listener}})
	ctx := operator(context.Background())
	plan, err := w.svc.CreatePlan(ctx, wengyuan, rollout.PlanInput{Start: "2026-09-01", Trial: "2026-11-13", KeyUnits: keyUnits()})
	if err != nil {
		t.Fatal(err)
	}

	// Key units changed, no day moved: nobody is told.
	same := plan.PlanBody
	plan, err = w.svc.EditPlan(ctx, wengyuan, plan.Version, same)
	if err != nil || len(listener.heard) != 0 {
		t.Fatalf("an edit that moved no day: %v %+v", err, listener.heard)
	}

	moved := plan.PlanBody
	moved.Phases = slices.Clone(plan.Phases)
	moved.Phases[3].Start = "2026-12-10"
	after, err := w.svc.EditPlan(ctx, wengyuan, plan.Version, moved)
	if err != nil {
		t.Fatal(err)
	}
	if len(listener.heard) != 1 || listener.heard[0].County != wengyuan || listener.heard[0].Version != after.Version || listener.heard[0].Starts[rollout.Formal] != "2026-12-10" || listener.heard[0].Starts[rollout.Trial] != "2026-11-13" {
		t.Errorf("heard %+v, the plan at version %d", listener.heard, after.Version)
	}

	// A listener that fails refuses the edit: the days stay.
	listener.refuse = true
	again := after.PlanBody
	again.Phases = slices.Clone(after.Phases)
	again.Phases[3].Start = "2026-12-12"
	if _, err := w.svc.EditPlan(ctx, wengyuan, after.Version, again); err == nil {
		t.Fatal("an edit a listener refused went through")
	}
	kept, err := w.svc.Plan(ctx, wengyuan)
	if err != nil || kept.Phases[3].Start != "2026-12-10" || kept.Version != after.Version {
		t.Errorf("a refused edit changed the plan: %+v %v", kept, err)
	}
}
