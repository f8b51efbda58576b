package billing

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// every is a census that counts the same active accounts in any county.
type every int64

func (e every) ActiveAccounts(context.Context, string) (int64, error) { return int64(e), nil }

// BenchmarkTheDailyUsageReportOf1000Counties times one day's usage
// report of 1,000 counties in formal operation, each running oa, two
// provinces paying for 500 each: the job writing a meter event per county
// to the outbox (and, the first day, each province's seat subscription),
// and the outbox's jobs sending every one to stripe-mock, until none
// waits.
//
//	go test -run '^$' -bench TheDailyUsageReport -benchtime 3x ./billing
func BenchmarkTheDailyUsageReportOf1000Counties(b *testing.B) {
	const n = 1000
	f := newLifecycleFixture(b, every(120))
	ctx := context.Background()
	dir := counties{"p1": "province", "p2": "province"}
	for _, p := range []string{"p1", "p2"} {
		f.svc.directory = dir
		if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: p, Name: "省 " + p}); err != nil {
			b.Fatal(err)
		}
	}
	f.drain(b, time.Minute)
	// The counties are set up in the tables directly: their rollout is
	// not what is timed.
	now := f.clock.Now()
	for i := range n {
		account := []string{"p1", "p2"}[i%2]
		county := fmt.Sprintf("%s.c%04d", account, i)
		if _, err := f.db.Control.Exec("INSERT INTO billing_payers (county_code, account_code, updated_at) VALUES (?, ?, ?)", county, account, now); err != nil {
			b.Fatal(err)
		}
		if _, err := f.db.Control.Exec("INSERT INTO billing_subscriptions (county_code, account_code, state, trial_end, trial_change_id, created, stripe_subscription_id, created_at, updated_at) VALUES (?, ?, ?, '2026-11-01', ?, TRUE, ?, ?, ?)",
			county, account, StateActive, i+1, "sub_"+county, now, now); err != nil {
			b.Fatal(err)
		}
		f.modules.set(county, "oa")
		if _, err := f.db.Control.Exec("INSERT INTO billing_subscription_items (county_code, lookup_key, active, revision, stripe_item_id, updated_at) VALUES (?, 'cc_module_oa_monthly', TRUE, 1, ?, ?)",
			county, "si_"+county, now); err != nil {
			b.Fatal(err)
		}
	}
	before := len(f.rec.requests())
	b.ResetTimer()
	written := 0
	var writing time.Duration
	for range b.N {
		f.clock.Add(24 * time.Hour)
		start := time.Now()
		rep, err := f.life.ReportUsage(ctx)
		writing += time.Since(start)
		if err != nil || rep.Reported != n {
			b.Fatalf("%+v %v", rep, err)
		}
		written += rep.Reported
		f.drain(b, 5*time.Minute)
	}
	b.StopTimer()
	sent := accepted(f.rec.requests()[before:])["/v1/billing/meter_events"]
	if len(sent) != written {
		b.Fatalf("%d meter events written, %d sent", written, len(sent))
	}
	b.ReportMetric(float64(written)/float64(b.N), "rows/op")
	b.ReportMetric(float64(len(sent))/float64(b.N), "sent/op")
	b.ReportMetric(writing.Seconds()/float64(b.N), "s-writing/op")
}
