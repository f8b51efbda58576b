package billing

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestAnAccountPayingForTwoCountiesIsBilledItsSeatsOnce: Stripe bills a
// meter's summed events of a customer on every subscription item priced
// on it, so the seat price must be on one subscription of the customer
// only. The province pays for Wengyuan and Lechang: their subscriptions
// carry their modules, one seat subscription carries the seat, made with
// the first report of paid service (none during the free trial) and
// started then, and each county's events go to the province's customer.
func TestAnAccountPayingForTwoCountiesIsBilledItsSeatsOnce(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{wengyuan: 240, lechang: 75})
	ctx := context.Background()
	if _, err := f.svc.Assign(ctx, lechang, "gd"); err != nil {
		t.Fatal(err)
	}
	f.modules.set(wengyuan, "oa")
	f.modules.set(lechang, "approval")
	for _, county := range []string{wengyuan, lechang} {
		if err := f.life.TrialStarted(ctx, county, int64(len(county)), "2026-12-13"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.life.ReportUsage(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rowsOf(t, opCreateSeats)); n != 0 {
		t.Fatalf("%d seat subscriptions written during the free trial", n)
	}
	for _, county := range []string{wengyuan, lechang} {
		if err := f.life.FormalStarted(ctx, county, int64(len(county))+100); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := f.life.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(24 * time.Hour)
	if _, err := f.life.ReportUsage(ctx); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)

	gd, err := f.svc.Account(ctx, "gd")
	if err != nil {
		t.Fatal(err)
	}
	seats := f.rowsOf(t, opCreateSeats)
	if !slices.Equal(keysOf(seats), []string{"cc/seats/gd/create"}) || !f.sentUnder("/v1/subscriptions", seats[0].IdempotencyKey) {
		t.Fatalf("seat subscriptions written: %v", keysOf(seats))
	}
	var seatPrice string
	if err := f.db.Control.Get(&seatPrice, "SELECT stripe_price_id FROM billing_prices WHERE lookup_key = ?", seatLookupKey); err != nil {
		t.Fatal(err)
	}
	events := f.rowsOf(t, opReportUsage)
	if len(events) != 4 {
		t.Fatalf("meter events written: %v", keysOf(events))
	}
	first := f.rec.form(events[0].IdempotencyKey).Get("timestamp")
	form := f.rec.form(seats[0].IdempotencyKey)
	if form.Get("customer") != *gd.Customer || form.Get("items[0][price]") != seatPrice || form.Has("items[1][price]") ||
		form.Get("backdate_start_date") != first || form.Get("collection_method") != "send_invoice" || form.Get("metadata[countycloud_account]") != "gd" {
		t.Errorf("the seat subscription sent: %v (first event at %s)", form, first)
	}
	// Of every subscription Stripe was asked for, one carries the seat.
	withSeat := 0
	for _, key := range accepted(f.rec.requests())["/v1/subscriptions"] {
		for i := range 5 {
			if f.rec.form(key).Get("items["+strconv.Itoa(i)+"][price]") == seatPrice {
				withSeat++
			}
		}
	}
	if withSeat != 1 {
		t.Errorf("%d subscriptions carry the seat, want 1", withSeat)
	}
	for _, r := range f.rowsOf(t, opCreateSubscription) {
		var body subscriptionPayload
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(body.Prices, seatLookupKey) || len(body.Prices) != 1 {
			t.Errorf("the subscription of %s asked for %v", r.Subject, body.Prices)
		}
	}
	for _, e := range events {
		if got := f.rec.form(e.IdempotencyKey).Get("payload[stripe_customer_id]"); got != *gd.Customer || !f.sentUnder("/v1/billing/meter_events", e.IdempotencyKey) {
			t.Errorf("meter event %s on %s, want the province's customer %s", e.IdempotencyKey, got, *gd.Customer)
		}
	}
	var kept []struct {
		Account      string  `db:"account_code"`
		Subscription *string `db:"stripe_subscription_id"`
		Item         *string `db:"stripe_item_id"`
	}
	if err := f.db.Control.Select(&kept, "SELECT account_code, stripe_subscription_id, stripe_item_id FROM billing_seat_subscriptions"); err != nil {
		t.Fatal(err)
	}
	if len(kept) != 1 || kept[0].Account != "gd" || kept[0].Subscription == nil || kept[0].Item == nil {
		t.Errorf("seat subscriptions kept: %+v", kept)
	}
	var seatItems int
	if err := f.db.Control.Get(&seatItems, "SELECT COUNT(*) FROM billing_subscription_items WHERE lookup_key = ?", seatLookupKey); err != nil || seatItems != 0 {
		t.Errorf("%d counties' items are the seat (%v)", seatItems, err)
	}

	// Lechang's last priced module disabled: Stripe keeps no subscription
	// without an item, so it ends, credited; enabled again, a new one.
	f.modules.set(lechang)
	if err := f.life.ModulesChanged(ctx, lechang); err != nil {
		t.Fatal(err)
	}
	f.modules.set(lechang, "approval")
	if err := f.life.ModulesChanged(ctx, lechang); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)
	ends := f.rowsOf(t, opEndSubscription)
	if !slices.Equal(keysOf(ends), []string{"cc/sub/gd.shaoguan.lechang/end/g1"}) || ends[0].StripeID == nil || !f.sentUnder("/v1/subscriptions/"+*ends[0].StripeID, ends[0].IdempotencyKey) {
		t.Fatalf("ends written: %v", keysOf(ends))
	}
	if creates := keysOf(f.rowsOf(t, opCreateSubscription)); !slices.Contains(creates, "cc/sub/gd.shaoguan.lechang/create/g2") {
		t.Errorf("subscriptions written: %v", creates)
	}
	if sub, _, _ := f.life.Subscription(ctx, lechang); sub.StripeID == *ends[0].StripeID || !slices.Equal(sub.Items, []string{"cc_module_approval_monthly"}) {
		t.Errorf("Lechang's subscription after its module came back: %+v", sub)
	}
}
