package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/testclock"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/rollout"
)

// TestACountyIsBilledThroughTheRolloutHeldWhenUnpaidAndRestoredThroughAStripeOutage
// is issue 19's "done when", end to end: the platform's own server and
// webhook route, the real database and a stripe-mock of the test's own.
// Wengyuan, paid for by Guangdong's account, is carried through the
// rollout by the API: at trial operation its subscription is made at
// Stripe, trialing until the formal start, as Stripe's signed event then
// says. Stripe goes down; Wengyuan enters formal operation, whose call
// waits in the outbox, and Stripe's event that the first invoice failed
// is received and applied meanwhile. Stripe comes back: the call goes
// through once and the subscription is active. On a clock the test
// moves, the grace runs out: Wengyuan's writes are refused with
// billing_suspended while its reads and public routes answer; the
// invoice paid, its writes go through again. Nothing is left unsent or
// unprocessed.
func TestACountyIsBilledThroughTheRolloutHeldWhenUnpaidAndRestoredThroughAStripeOutage(t *testing.T) {
	t.Parallel()
	mock := billingtest.StartMock(t)
	const wyCode, secret = "gd.shaoguan.wengyuan", "whsec_done_when"
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin}, func(c *config.Server) {
		c.Stripe = config.Stripe{Key: "sk_test_countycloud", URL: mock.URL(), WebhookSecret: secret, Grace: billing.DefaultGrace}
	})
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], wyCode)
	ctx := context.Background()

	// Billing's jobs of the platform: the outbox, Stripe's events, the
	// trial's notices. The grace is swept on the test's clock.
	handlers := p.billing.Jobs()
	maps.Copy(handlers, p.webhooks.Jobs())
	maps.Copy(handlers, p.subscriptions.Jobs())
	workCtx, stop := context.WithCancel(ctx)
	worker := jobs.NewWorker(p.jobs, handlers, jobs.Options{Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 200 * time.Millisecond }}, quiet)
	done := make(chan struct{})
	go func() { worker.Run(workCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	grace := billing.NewWebhooks(billing.New(db.Control, p.jobs, db.Locker, nil, registryLevels{p.tenants}, clock.Now, quiet), billing.WebhookConfig{Secret: secret}, p.tenants)

	unsent := func() int {
		t.Helper()
		pending, err := p.billing.Pending(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(pending)
	}
	subscription := func() billing.CountySubscription {
		t.Helper()
		sub, found, err := p.lifecycle.Subscription(ctx, wyCode)
		if err != nil || !found {
			t.Fatalf("Wengyuan's subscription: %v %v", found, err)
		}
		return sub
	}
	// deliver posts a Stripe event about obj through the platform's route,
	// signed now and created on the test's clock, and waits until it is
	// processed.
	deliver := func(id, typ string, obj map[string]any) {
		t.Helper()
		payload, err := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": clock.Now().Unix(), "type": typ, "data": map[string]any{"object": obj}})
		if err != nil {
			t.Fatal(err)
		}
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret})
		req, _ := http.NewRequest(http.MethodPost, url+billing.WebhookPath, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", signed.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("delivering %s: %v %v", id, resp, err)
		}
		resp.Body.Close()
		billingtest.WaitFor(t, id+" to be processed", func() bool {
			var outcome *string
			return db.Control.Get(&outcome, "SELECT outcome FROM billing_webhook_events WHERE id = ?", id) == nil && outcome != nil
		})
	}
	sweep := func() {
		t.Helper()
		if err := grace.SweepJob(ctx, jobs.Job{}); err != nil {
			t.Fatal(err)
		}
	}

	advance := quickRollout(t, p, url, env, wyCode)
	billingtest.WaitFor(t, "the catalogue and the account at Stripe", func() bool { return unsent() == 0 })
	gd, err := p.billing.Account(ctx, "gd")
	if err != nil || gd.Customer == nil {
		t.Fatalf("Guangdong's account has no customer: %+v %v", gd, err)
	}
	invoice := func(status string) map[string]any {
		return map[string]any{"id": "in_first", "object": "invoice", "customer": *gd.Customer, "status": status, "metadata": map[string]string{}}
	}

	// Trial operation: a subscription at Stripe, trialing until formal operation.
	advance(rollout.Preparation)
	advance(rollout.Testing)
	billingtest.WaitFor(t, "the subscription at Stripe", func() bool { return unsent() == 0 })
	sub := subscription()
	plan, err := p.rollout.Plan(ctx, wyCode)
	if err != nil {
		t.Fatal(err)
	}
	if sub.State != billing.StateTrialing || sub.StripeID == "" || sub.Account != "gd" || sub.TrialEnd != plan.Phases[3].Start {
		t.Fatalf("at trial operation: %+v, formal operation planned for %s", sub, plan.Phases[3].Start)
	}
	stripeSub := func(status string) map[string]any {
		return map[string]any{"id": sub.StripeID, "object": "subscription", "customer": *gd.Customer, "status": status,
			"current_period_end": clock.Now().Add(30 * 24 * time.Hour).Unix(), "metadata": map[string]string{billing.MetadataCounty: wyCode}}
	}
	deliver("evt_trialing", billing.EventSubscriptionUpdated, stripeSub("trialing"))
	if got := subscription(); got.StripeStatus != "trialing" {
		t.Errorf("Stripe's trialing event: %+v", got)
	}

	// Stripe goes down: formal operation's call waits, Stripe's events are
	// still received and applied.
	mock.Stop()
	advance(rollout.Trial)
	billingtest.WaitFor(t, "formal operation's call to fail", func() bool {
		var attempts int
		return db.Control.Get(&attempts, "SELECT COALESCE(SUM(attempts), 0) FROM billing_outbox WHERE sent_at IS NULL") == nil && attempts > 0
	})
	clock.Add(time.Hour)
	deliver("evt_first_failed", "invoice.payment_failed", invoice("open"))
	if unsent() != 1 {
		t.Fatalf("%d calls wait during the outage, want formal operation's", unsent())
	}
	mock.Start(t)
	billingtest.WaitFor(t, "the outbox to empty once Stripe is back", func() bool { return unsent() == 0 })
	var formal []billing.OutboxRow
	if err := db.Control.Select(&formal, "SELECT id, stream, operation, subject, idempotency_key, body, stripe_id, attempts, created_at, sent_at FROM billing_outbox WHERE operation = 'subscription.trial_end'"); err != nil {
		t.Fatal(err)
	}
	if len(formal) != 1 || formal[0].SentAt == nil || formal[0].StripeID == nil || *formal[0].StripeID != sub.StripeID || formal[0].Attempts < 2 {
		t.Errorf("formal operation's call: %+v", formal)
	}
	deliver("evt_active", billing.EventSubscriptionUpdated, stripeSub("active"))
	if got := subscription(); got.State != billing.StateActive || got.StripeStatus != "active" {
		t.Errorf("at formal operation: %+v", got)
	}

	// The grace runs out on the test's clock: read-only.
	wy := url + "/v1/tenants/" + wyCode
	tries := 0
	unit := func() map[string]any {
		tries++
		return map[string]any{"name": "县档案馆" + strconv.Itoa(tries)}
	}
	clock.Add(billing.DefaultGrace - time.Hour)
	sweep()
	want(t, "a unit created within the grace", call(t, "POST", wy+"/units", tokens["wyadmin"], unit()), 201, "")
	clock.Add(time.Hour)
	sweep()
	waitForAnswer(t, "the hold after the grace", func() apiResult { return call(t, "POST", wy+"/units", tokens["wyadmin"], unit()) }, http.StatusConflict, errs.CodeBillingSuspended)
	want(t, "the units read while held", call(t, "GET", wy+"/units", tokens["wyadmin"], nil), 200, "")
	want(t, "the public units while held", call(t, "GET", wy+"/public/units", "", nil), 200, "")
	if got := decode[registry.Tenant](t, call(t, "GET", wy, env["COUNTYCLOUD_TOKEN"], nil)); got.HeldSince == nil || !strings.Contains(got.HoldReason, "in_first") {
		t.Errorf("Wengyuan after the grace: %+v", got)
	}

	// Paid: restored.
	deliver("evt_first_paid", "invoice.paid", invoice("paid"))
	waitForAnswer(t, "the write once paid", func() apiResult { return call(t, "POST", wy+"/units", tokens["wyadmin"], unit()) }, http.StatusCreated, "")
	if got := decode[registry.Tenant](t, call(t, "GET", wy, env["COUNTYCLOUD_TOKEN"], nil)); got.HeldSince != nil {
		t.Errorf("Wengyuan is still held once paid: %+v", got)
	}

	// Nothing lost: every call sent once under its key, every event applied.
	var calls []string
	if err := db.Control.Select(&calls, "SELECT idempotency_key FROM billing_outbox WHERE sent_at IS NULL OR stripe_id IS NULL AND operation IN ('subscription.create', 'subscription.trial_end', 'customer.create')"); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Errorf("calls not sent, or sent without Stripe's answer: %v", calls)
	}
	var outcomes []string
	if err := db.Control.Select(&outcomes, "SELECT CONCAT(id, ' ', COALESCE(outcome, 'waiting')) FROM billing_webhook_events ORDER BY received_at"); err != nil {
		t.Fatal(err)
	}
	if want := "evt_trialing applied,evt_first_failed applied,evt_active applied,evt_first_paid applied"; strings.Join(outcomes, ",") != want {
		t.Errorf("events: %v, want %s", outcomes, want)
	}
}
