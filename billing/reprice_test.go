package billing

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestAPriceChangeMovesTheSubscriptionsOnTheOldPriceAtTheirNextPeriod:
// approval and the seat cost more. The sync makes their new prices and
// moves Wengyuan's approval item and the province's seat item to them
// without proration; Lechang, without approval, is not touched, and
// syncing again moves nothing.
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
	moves := f.rowsOf(t, opSetItemPrice)
	if !slices.Equal(keysOf(moves), []string{"cc/seats/gd/price/r2", "cc/sub/gd.shaoguan.wengyuan/item/cc_module_approval_monthly/price/r2"}) {
		t.Fatalf("items moved: %v", keysOf(moves))
	}
	var item, seatItem string
	if err := f.db.Control.Get(&item, "SELECT stripe_item_id FROM billing_subscription_items WHERE county_code = ? AND lookup_key = 'cc_module_approval_monthly'", wengyuan); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Control.Get(&seatItem, "SELECT stripe_item_id FROM billing_seat_subscriptions WHERE account_code = 'gd'"); err != nil {
		t.Fatal(err)
	}
	for i, lookupKey := range []string{seatLookupKey, "cc_module_approval_monthly"} {
		var price string
		if err := f.db.Control.Get(&price, "SELECT stripe_id FROM billing_outbox WHERE idempotency_key = ?", "cc/price/"+lookupKey+"/r2"); err != nil {
			t.Fatal(err)
		}
		form := f.rec.form(moves[i].IdempotencyKey)
		if form.Get("price") != price || form.Get("proration_behavior") != "none" || !f.sentUnder("/v1/subscription_items/"+[]string{seatItem, item}[i], moves[i].IdempotencyKey) {
			t.Errorf("%s moved with %v, want price %s", moves[i].IdempotencyKey, form, price)
		}
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
