package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/countycloud/countycloud/billing"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/testclock"
	"github.com/countycloud/countycloud/tenants/registry"
)

// TestAFailedPaymentLeadsThroughGraceToReadOnlyAndBackOncePaid carries
// Guangdong's account, which pays for Wengyuan and Lechang, through a
// failed payment on a clock the test moves: within the grace Wengyuan's
// admin still writes; once the grace is over the sweep holds both
// counties through the platform's registry and the API refuses the write
// with billing_suspended while reads go on; once Stripe says the invoice
// is paid both are restored and the write goes through.
func TestAFailedPaymentLeadsThroughGraceToReadOnlyAndBackOncePaid(t *testing.T) {
	t.Parallel()
	db, p, url, env := twoCounties(t, map[string]string{"wyadmin": auth.RoleCountyAdmin})
	const wyCode, lcCode, secret = "gd.shaoguan.wengyuan", "gd.shaoguan.lechang", "whsec_lifecycle"
	tokens := loginAs(t, db, url, env["COUNTYCLOUD_TOKEN"], wyCode)
	ctx := context.Background()

	clock := testclock.New(time.Now().UTC().Truncate(time.Second))
	client, err := billing.NewStripe(billing.StripeConfig{Key: "sk_test_countycloud", URL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	svc := billing.New(db.Control, p.jobs, db.Locker, client, registryLevels{p.tenants}, clock.Now, quiet)
	hooks := billing.NewWebhooks(svc, billing.WebhookConfig{Secret: secret}, p.tenants)
	if _, err := svc.CreateAccount(ctx, billing.AccountInput{Code: "gd", Name: "广东省政务服务数据管理局"}); err != nil {
		t.Fatal(err)
	}
	// As the outbox records Stripe's answer to the customer's creation.
	if _, err := db.Control.Exec("UPDATE billing_accounts SET stripe_customer_id = 'cus_gd' WHERE code = 'gd'"); err != nil {
		t.Fatal(err)
	}
	for _, county := range []string{wyCode, lcCode} {
		if _, err := svc.Assign(ctx, county, "gd"); err != nil {
			t.Fatal(err)
		}
	}
	stripeSide := httptest.NewServer(kit.Handler(quiet, prometheus.NewRegistry(), hooks.Routes()...))
	t.Cleanup(stripeSide.Close)
	workCtx, stop := context.WithCancel(ctx)
	worker := jobs.NewWorker(p.jobs, hooks.Jobs(), jobs.Options{Poll: 20 * time.Millisecond}, quiet)
	done := make(chan struct{})
	go func() { worker.Run(workCtx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	deliver := func(id, typ string) {
		t.Helper()
		payload, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": clock.Now().Unix(), "type": typ,
			"data": map[string]any{"object": map[string]any{"id": "in_2026_11", "object": "invoice", "customer": "cus_gd", "metadata": map[string]string{}}}})
		signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret})
		req, _ := http.NewRequest(http.MethodPost, stripeSide.URL+billing.WebhookPath, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Stripe-Signature", signed.Header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("delivering %s: %v %v", id, resp, err)
		}
		resp.Body.Close()
		for range 500 {
			var waiting int
			if err := db.Control.Get(&waiting, "SELECT COUNT(*) FROM billing_webhook_events WHERE processed_at IS NULL"); err != nil {
				t.Fatal(err)
			}
			if waiting == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s was not processed", id)
	}
	sweep := func() {
		t.Helper()
		if err := hooks.SweepJob(ctx, jobs.Job{}); err != nil {
			t.Fatal(err)
		}
	}
	wy := url + "/v1/tenants/" + wyCode
	// Each try creates a unit of its own: the tries before every replica
	// sees the hold go through.
	tries := 0
	unit := func(name string) map[string]any {
		tries++
		return map[string]any{"name": name + strconv.Itoa(tries)}
	}

	// The platform serves the route; without a signing secret it takes
	// nothing, whoever calls.
	for who, token := range map[string]string{"Stripe": "", "an operator": env["COUNTYCLOUD_TOKEN"], "a county admin": tokens["wyadmin"]} {
		want(t, who+" on a platform without a secret", call(t, "POST", url+billing.WebhookPath, token, map[string]any{"id": "evt_1", "type": "invoice.paid"}), 503, billing.CodeWebhookOff)
	}

	deliver("evt_lifecycle_failed", "invoice.payment_failed")
	clock.Add(billing.DefaultGrace - time.Hour)
	sweep()
	want(t, "a unit created within the grace", call(t, "POST", wy+"/units", tokens["wyadmin"], unit("县档案馆")), 201, "")

	clock.Add(time.Hour)
	sweep()
	waitForAnswer(t, "the hold after the grace", func() apiResult { return call(t, "POST", wy+"/units", tokens["wyadmin"], unit("县史志办")) }, http.StatusConflict, errs.CodeBillingSuspended)
	want(t, "the units read while held", call(t, "GET", wy+"/units", tokens["wyadmin"], nil), 200, "")
	for _, code := range []string{wyCode, lcCode} {
		if got := decode[registry.Tenant](t, call(t, "GET", url+"/v1/tenants/"+code, env["COUNTYCLOUD_TOKEN"], nil)); got.HeldSince == nil {
			t.Errorf("%s is not held after the grace: %+v", code, got)
		}
	}

	deliver("evt_lifecycle_paid", "invoice.paid")
	waitForAnswer(t, "the write once paid", func() apiResult { return call(t, "POST", wy+"/units", tokens["wyadmin"], unit("县史志办")) }, http.StatusCreated, "")
	for _, code := range []string{wyCode, lcCode} {
		if got := decode[registry.Tenant](t, call(t, "GET", url+"/v1/tenants/"+code, env["COUNTYCLOUD_TOKEN"], nil)); got.HeldSince != nil {
			t.Errorf("%s is still held once paid: %+v", code, got)
		}
	}
	if s, err := hooks.Standing(ctx, "gd"); err != nil || s.Standing != billing.StandingGood || len(s.Held) != 0 {
		t.Errorf("standing once paid: %+v %v", s, err)
	}
}
