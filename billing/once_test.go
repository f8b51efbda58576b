package billing

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/jobs"
)

// TestTwoReplicasSendEachCallOnce runs two workers (two replicas) on one
// outbox: the stream lock lets one send a stream at a time, so each call
// reaches Stripe once, in its stream's order.
func TestTwoReplicasSendEachCallOnce(t *testing.T) {
	t.Parallel()
	rec := record(t, billingtest.StripeMock(t))
	f := newFixture(t, rec.URL)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		w := jobs.NewWorker(f.queue, f.svc.Jobs(), jobs.Options{Owner: "replica-" + strconv.Itoa(i), Concurrency: 4, Poll: 10 * time.Millisecond,
			Backoff: func(int) time.Duration { return 30 * time.Millisecond }}, quiet)
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	t.Cleanup(func() { cancel(); wg.Wait() })

	if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: "gd", Name: "广东省"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Sync(ctx, DefaultCatalogue()); err != nil {
		t.Fatal(err)
	}
	for _, county := range []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang"} {
		if _, err := f.svc.Assign(ctx, county, "gd"); err != nil {
			t.Fatal(err)
		}
	}
	billingtest.WaitFor(t, "the outbox to empty", func() bool {
		p, err := f.svc.Pending(ctx, 1)
		return err == nil && len(p) == 0
	})
	var rows []OutboxRow
	if err := f.db.Control.Select(&rows, "SELECT "+outboxColumns+" FROM billing_outbox ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	times := map[string]int{}
	order := map[string][]string{}
	for _, r := range rec.requests() {
		if r.Status < 300 {
			times[r.IdempotencyKey]++
			order[r.Path] = append(order[r.Path], r.IdempotencyKey)
		}
	}
	for _, r := range rows {
		if times[r.IdempotencyKey] != 1 {
			t.Errorf("%s reached Stripe %d times", r.IdempotencyKey, times[r.IdempotencyKey])
		}
	}
	// gd's customer: made, then its three revisions in order.
	var updates []string
	for path, keys := range order {
		if len(path) > len("/v1/customers/") && path[:len("/v1/customers/")] == "/v1/customers/" {
			updates = append(updates, keys...)
		}
	}
	if len(updates) != 2 || updates[0] != "cc/customer/gd/r2" || updates[1] != "cc/customer/gd/r3" {
		t.Errorf("gd's updates reached Stripe as %v", updates)
	}
}
