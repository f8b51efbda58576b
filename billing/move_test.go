package billing

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestACountyMovingToAnotherAccountTakesItsSubscriptionAlong: Wengyuan,
// trialing on its province's customer, moves to its own account (the
// move heard twice): the province's subscription ends at once (a trial
// charged nothing) and one trialing to the same day starts on
// Wengyuan's customer with the same items. In paid service it moves
// back: its own runs to the end of the period it was invoiced for, and
// the province's new one is anchored there.
func TestACountyMovingToAnotherAccountTakesItsSubscriptionAlong(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{})
	ctx := context.Background()
	f.modules.set(wengyuan, "oa", "approval")
	if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: wengyuan, Name: "翁源县财政局"}); err != nil {
		t.Fatal(err)
	}
	if err := f.life.TrialStarted(ctx, wengyuan, 41, "2026-12-13"); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)
	first, _, _ := f.life.Subscription(ctx, wengyuan)

	for range 2 {
		if _, err := f.svc.Assign(ctx, wengyuan, wengyuan); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t, 20*time.Second)
	ends, creates := f.rowsOf(t, opEndSubscription), f.rowsOf(t, opCreateSubscription)
	if !slices.Equal(keysOf(ends), []string{"cc/sub/gd.shaoguan.wengyuan/end/g1"}) ||
		!slices.Equal(keysOf(creates), []string{"cc/sub/gd.shaoguan.wengyuan/create/e41", "cc/sub/gd.shaoguan.wengyuan/create/g2"}) {
		t.Fatalf("the move wrote %v and %v", keysOf(ends), keysOf(creates))
	}
	if !f.sentWith(http.MethodDelete, "/v1/subscriptions/"+first.StripeID, ends[0].IdempotencyKey) {
		t.Errorf("the province's trialing subscription was not cancelled at once: %v", f.rec.requests())
	}
	own, err := f.svc.Account(ctx, wengyuan)
	if err != nil {
		t.Fatal(err)
	}
	form := f.rec.form(creates[1].IdempotencyKey)
	if form.Get("customer") != *own.Customer || form.Get("trial_end") != "1797091200" || form.Get("items[0][price]") == "" || form.Get("items[1][price]") == "" ||
		form.Get("metadata[countycloud_account]") != wengyuan || form.Has("billing_cycle_anchor") {
		t.Errorf("the subscription on Wengyuan's own customer: %v", form)
	}
	second, _, _ := f.life.Subscription(ctx, wengyuan)
	if second.Account != wengyuan || second.State != StateTrialing || second.TrialEnd != "2026-12-13" || second.StripeID == first.StripeID ||
		!slices.Equal(second.Items, []string{"cc_module_approval_monthly", "cc_module_oa_monthly"}) {
		t.Errorf("after the move: %+v (before: %+v)", second, first)
	}

	// In paid service, back to the province.
	if err := f.life.FormalStarted(ctx, wengyuan, 57); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Assign(ctx, wengyuan, "gd"); err != nil {
		t.Fatal(err)
	}
	// stripe-mock answers that Wengyuan's own subscription was invoiced to
	// 2009-02-13 (1234567890): on a clock before that day, the province's
	// new one charges nothing before it.
	f.clock.Add(time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).Sub(f.clock.Now()))
	f.drain(t, 20*time.Second)
	ends, creates = f.rowsOf(t, opEndSubscription), f.rowsOf(t, opCreateSubscription)
	if !slices.Equal(keysOf(ends), []string{"cc/sub/gd.shaoguan.wengyuan/end/g1", "cc/sub/gd.shaoguan.wengyuan/end/g2"}) || len(creates) != 3 ||
		creates[2].IdempotencyKey != "cc/sub/gd.shaoguan.wengyuan/create/g3" {
		t.Fatalf("the move back wrote %v and %v", keysOf(ends), keysOf(creates))
	}
	if form := f.rec.form(ends[1].IdempotencyKey); form.Get("cancel_at_period_end") != "true" || !f.sentWith(http.MethodPost, "/v1/subscriptions/"+second.StripeID, ends[1].IdempotencyKey) {
		t.Errorf("Wengyuan's own subscription was not let run to its period's end: %v", form)
	}
	var body subscriptionPayload
	if err := json.Unmarshal([]byte(creates[2].Body), &body); err != nil {
		t.Fatal(err)
	}
	var anchor *int64
	if err := f.db.Control.Get(&anchor, "SELECT move_anchor FROM billing_subscriptions WHERE county_code = ?", wengyuan); err != nil {
		t.Fatal(err)
	}
	gd, _ := f.svc.Account(ctx, "gd")
	form = f.rec.form(creates[2].IdempotencyKey)
	if !body.Anchored || anchor == nil || *anchor != 1234567890 || form.Get("customer") != *gd.Customer || form.Has("trial_end") ||
		form.Get("billing_cycle_anchor") != "1234567890" || form.Get("proration_behavior") != "none" {
		t.Errorf("the subscription back on the province's customer: %+v, anchor %v, sent %v", body, anchor, form)
	}
	if third, _, _ := f.life.Subscription(ctx, wengyuan); third.Account != "gd" || third.State != StateActive || third.StripeID == second.StripeID || len(third.Items) != 2 {
		t.Errorf("after the move back: %+v", third)
	}
}

// sentWith says Stripe took a request of method at path under key.
func (f lifecycleFixture) sentWith(method, path, key string) bool {
	for _, r := range f.rec.requests() {
		if r.Method == method && r.Path == path && r.IdempotencyKey == key && r.Status < 300 {
			return true
		}
	}
	return false
}

// TestStripesDeletionOfASubscriptionThePlatformEndedLeavesTheCounty:
// Wengyuan's last priced module is disabled, so the platform ends its
// subscription. The subscription stops being Wengyuan's before Stripe
// is asked (here Stripe does not answer), so Stripe's deletion of it,
// however soon it comes, is ignored: Wengyuan is not ended with it, and
// its module enabled again makes the next subscription.
func TestStripesDeletionOfASubscriptionThePlatformEndedLeavesTheCounty(t *testing.T) {
	t.Parallel()
	h, life, _ := subscribed(t)
	ctx := context.Background()
	modules := life.modules.(*enabled)
	modules.set(wengyuan)
	if err := life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	var end OutboxRow
	if err := h.db.Control.Get(&end, "SELECT "+outboxColumns+" FROM billing_outbox WHERE operation = ?", opEndSubscription); err != nil {
		t.Fatal(err)
	}
	if err := life.billing.send(ctx, end); err == nil {
		t.Fatal("the end was sent to a Stripe that does not answer")
	}
	if n := h.count(t, "SELECT COUNT(*) FROM billing_outbox WHERE id = ? AND stripe_id = ?", end.ID, subOf(wengyuan)); n != 1 {
		t.Errorf("the call does not keep the subscription it ends")
	}
	h.ok(t, subscriptionEvent(t, "evt_wy_deleted", EventSubscriptionDeleted, wengyuan, "cus_gd", "canceled", h.clock.Now(), nil))
	h.process(t)
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_wy_deleted " + OutcomeIgnored}) {
		t.Errorf("outcomes: %v", got)
	}
	if sub := h.subscription(t, life, wengyuan); sub.State != StateTrialing || sub.StripeID != "" || len(sub.Items) != 0 {
		t.Errorf("Wengyuan after Stripe's deletion: %+v", sub)
	}
	modules.set(wengyuan, "oa")
	if err := life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM billing_outbox WHERE idempotency_key = ?", "cc/sub/"+wengyuan+"/create/g2"); n != 1 {
		t.Error("oa enabled again made no subscription")
	}
}
