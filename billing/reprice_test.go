package billing

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAPriceChangeMovesTheSubscriptionsOnTheOldPriceAtTheirNextPeriod:
// approval and the seat cost more. The sync makes their new prices, moves
// Wengyuan's approval item to its new one without proration and the
// province's seat subscription to its new one at the end of its period;
// Lechang, without approval, is not touched, and syncing again moves
// nothing.
func TestAPriceChangeMovesTheSubscriptionsOnTheOldPriceAtTheirNextPeriod(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{wengyuan: 240})
	ctx := context.Background()
	f.modules.set(wengyuan, "oa")
	f.modules.set(lechang, "oa")
	for _, county := range []string{wengyuan, lechang} {
		if err := f.life.TrialStarted(ctx, county, int64(len(county)), "2026-12-13"); err != nil {
			t.Fatal(err)
		}
	}
	// approval enabled once the subscription is made: its item's id is
	// Stripe's answer to adding it.
	if err := f.life.FormalStarted(ctx, wengyuan, 57); err != nil {
		t.Fatal(err)
	}
	f.modules.set(wengyuan, "oa", "approval")
	if err := f.life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	if _, err := f.life.ReportUsage(ctx); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)

	cat := DefaultCatalogue()
	cat.Seat = 6_00
	cat.Modules[1].Monthly = 2600_00 // approval
	for range 2 {
		if _, err := f.svc.Sync(ctx, cat); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t, 20*time.Second)
	newPrice := func(lookupKey string) string {
		t.Helper()
		var price string
		if err := f.db.Control.Get(&price, "SELECT stripe_id FROM billing_outbox WHERE idempotency_key = ?", "cc/price/"+lookupKey+"/r2"); err != nil {
			t.Fatal(err)
		}
		return price
	}

	// approval's item moves now, without proration: invoiced in advance,
	// the new price is charged from the next period.
	moves := f.rowsOf(t, opSetItemPrice)
	if !slices.Equal(keysOf(moves), []string{"cc/sub/gd.shaoguan.wengyuan/item/cc_module_approval_monthly/price/r2"}) {
		t.Fatalf("items moved: %v", keysOf(moves))
	}
	var item string
	if err := f.db.Control.Get(&item, "SELECT stripe_item_id FROM billing_subscription_items WHERE county_code = ? AND lookup_key = 'cc_module_approval_monthly'", wengyuan); err != nil {
		t.Fatal(err)
	}
	if form := f.rec.form(moves[0].IdempotencyKey); form.Get("price") != newPrice("cc_module_approval_monthly") || form.Get("proration_behavior") != "none" ||
		!f.sentUnder("/v1/subscription_items/"+item, moves[0].IdempotencyKey) {
		t.Errorf("approval moved with %v", form)
	}

	// The seat, metered, moves at the end of the period under way: a
	// schedule made from the seat subscription keeps that period's phase
	// at its price and bills the next at the new one.
	seats := f.rowsOf(t, opScheduleSeatPrice)
	if !slices.Equal(keysOf(seats), []string{"cc/seats/gd/price/r2"}) || seats[0].StripeID == nil {
		t.Fatalf("seat subscriptions moved: %v", keysOf(seats))
	}
	made, phases := f.rec.form("cc/seats/gd/price/r2/schedule"), f.rec.form("cc/seats/gd/price/r2/phases")
	if made.Get("from_subscription") != *seats[0].StripeID || !f.sentUnder("/v1/subscription_schedules", "cc/seats/gd/price/r2/schedule") {
		t.Errorf("the schedule made with %v", made)
	}
	updated := slices.ContainsFunc(f.rec.requests(), func(r sent) bool {
		return r.IdempotencyKey == "cc/seats/gd/price/r2/phases" && r.Status < 300 && strings.HasPrefix(r.Path, "/v1/subscription_schedules/sub_sched_")
	})
	if !updated || phases.Get("phases[0][items][0][price]") == "" || phases.Get("phases[0][end_date]") == "" || phases.Get("phases[1][items][0][price]") != newPrice(seatLookupKey) ||
		phases.Get("phases[1][iterations]") != "1" || phases.Get("end_behavior") != "release" || phases.Get("proration_behavior") != "none" {
		t.Errorf("the schedule's phases: %v", phases)
	}
	prices, err := f.svc.Prices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prices {
		if p.StripePrice == "" {
			t.Errorf("a price without its Stripe id after the sync: %+v", p)
		}
	}
}
