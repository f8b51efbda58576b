package billing

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/jobs"
)

// TestAStripeOutageDelaysAndLosesNothing stops Stripe (a stripe-mock of
// the test's own) while the outbox is sending, makes more changes while
// it is down, and starts it again: every call is then sent, each under
// its own idempotency key, and the platform's state has Stripe's ids.
func TestAStripeOutageDelaysAndLosesNothing(t *testing.T) {
	t.Parallel()
	mock := billingtest.StartMock(t)
	rec := record(t, mock.URL())
	f := newFixture(t, rec.URL)
	ctx, cancel := context.WithCancel(context.Background())
	w := jobs.NewWorker(f.queue, f.svc.Jobs(), jobs.Options{Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 250 * time.Millisecond }}, quiet)
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if _, err := f.svc.Sync(ctx, DefaultCatalogue()); err != nil {
		t.Fatal(err)
	}
	// Stripe goes away once the first call went through.
	billingtest.WaitFor(t, "a first call to go through", func() bool { return len(accepted(rec.requests())["/v1/products"]) > 0 })
	mock.Stop()

	// Changes made during the outage are kept, not refused.
	for _, code := range []string{"gd", "bj", "bj.haidian"} {
		if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: code, Name: "账户 " + code}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Assign(ctx, "gd.shaoguan.wengyuan", "gd"); err != nil {
		t.Fatal(err)
	}
	billingtest.WaitFor(t, "calls to fail during the outage", func() bool {
		failed := 0
		for _, r := range rec.requests() {
			if r.Status == 502 {
				failed++
			}
		}
		return failed >= 3
	})
	pending, err := f.svc.Pending(ctx, 100)
	if err != nil || len(pending) == 0 {
		t.Fatalf("nothing waits during the outage: %v", err)
	}

	mock.Start(t)
	billingtest.WaitFor(t, "the outbox to empty once Stripe is back", func() bool {
		p, err := f.svc.Pending(ctx, 1)
		return err == nil && len(p) == 0
	})

	var rows []OutboxRow
	if err := f.db.Control.Select(&rows, "SELECT "+outboxColumns+" FROM billing_outbox ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	// 6 products, the seat meter, 6 prices, 3 customers and gd's update
	// for Wengyuan.
	if len(rows) != 17 {
		t.Fatalf("%d calls written, want 17", len(rows))
	}
	var keys []string
	for _, r := range accepted(rec.requests()) {
		keys = append(keys, r...)
	}
	for _, r := range rows {
		if r.SentAt == nil || !slices.Contains(keys, r.IdempotencyKey) {
			t.Errorf("row %d (%s %s, key %s) was not sent: %v", r.ID, r.Operation, r.Subject, r.IdempotencyKey, r.LastError)
		}
	}
	for _, code := range []string{"gd", "bj", "bj.haidian"} {
		if a, err := f.svc.Account(ctx, code); err != nil || a.Customer == nil {
			t.Errorf("%s has no customer after the outage: %+v %v", code, a, err)
		}
	}
	prices, err := f.svc.Prices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range prices {
		if p.StripePrice == "" {
			t.Errorf("%s has no Stripe price after the outage", p.LookupKey)
		}
	}
	t.Logf("%d requests, %d refused during the outage", len(rec.requests()), countFailed(rec.requests()))
}

func countFailed(reqs []sent) int {
	n := 0
	for _, r := range reqs {
		if r.Status >= 500 {
			n++
		}
	}
	return n
}
