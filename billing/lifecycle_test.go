package billing

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/testclock"
)

// enabled is the plugin host as billing sees it: each county's enabled
// modules.
type enabled struct {
	mu sync.Mutex
	by map[string][]string
}

func (e *enabled) Enabled(_ context.Context, county string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.by[county]), nil
}

func (e *enabled) set(county string, modules ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.by[county] = modules
}

// census is what the census last counted: each county's active accounts.
type census map[string]int64

func (c census) ActiveAccounts(_ context.Context, county string) (int64, error) {
	return c[county], nil
}

type lifecycleFixture struct {
	fixture
	rec     *recorder
	clock   *testclock.Clock
	modules *enabled
	life    *Lifecycle
}

// newLifecycleFixture is billing on a clock, its catalogue synced and
// made, Wengyuan paid for by its province's account and Lechang by its
// own.
func newLifecycleFixture(t testing.TB, seats Seats) lifecycleFixture {
	t.Helper()
	return newLifecycleFixtureAt(t, billingtest.StripeMock(t), seats)
}

// newLifecycleFixtureAt is newLifecycleFixture talking to the Stripe at
// stripeURL.
func newLifecycleFixtureAt(t testing.TB, stripeURL string, seats Seats) lifecycleFixture {
	t.Helper()
	rec := record(t, stripeURL)
	f := newFixture(t, rec.URL)
	client, err := NewStripe(StripeConfig{Key: "sk_test_countycloud", URL: rec.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c := testclock.New(time.Date(2026, 11, 13, 2, 0, 0, 0, time.UTC))
	f.svc = New(f.db.Control, f.queue, f.db.Locker, client, guangdong, c.Now, quiet)
	modules := &enabled{by: map[string][]string{}}
	lf := lifecycleFixture{fixture: f, rec: rec, clock: c, modules: modules, life: NewLifecycle(f.svc, modules, seats)}
	ctx := context.Background()
	if _, err := f.svc.Sync(ctx, DefaultCatalogue()); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"gd", lechang} {
		if _, err := f.svc.CreateAccount(ctx, AccountInput{Code: code, Name: "账户 " + code}); err != nil {
			t.Fatal(err)
		}
	}
	for county, account := range map[string]string{wengyuan: "gd", lechang: lechang} {
		if _, err := f.svc.Assign(ctx, county, account); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t, 20*time.Second)
	return lf
}

// rowsOf are the outbox's rows of op, oldest first.
func (f lifecycleFixture) rowsOf(t testing.TB, op string) []OutboxRow {
	t.Helper()
	var rows []OutboxRow
	if err := f.db.Control.Select(&rows, "SELECT "+outboxColumns+" FROM billing_outbox WHERE operation = ? ORDER BY id", op); err != nil {
		t.Fatal(err)
	}
	return rows
}

func keysOf(rows []OutboxRow) []string {
	keys := []string{}
	for _, r := range rows {
		keys = append(keys, r.IdempotencyKey)
	}
	return keys
}

// sentUnder says Stripe took a request under key at path.
func (f lifecycleFixture) sentUnder(path, key string) bool {
	return slices.Contains(accepted(f.rec.requests())[path], key)
}

func (f lifecycleFixture) moveFormalStart(t testing.TB, county string, version int64, day string) {
	t.Helper()
	err := store.InTx(context.Background(), f.db.Control, nil, func(tx *sqlx.Tx) error {
		return f.life.FormalStartMoved(context.Background(), tx, county, version, day)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestASubscriptionFollowsTheCountyThroughTheRollout(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{})
	ctx := context.Background()
	f.modules.set(wengyuan, "oa", "approval", "suggestions")

	// Entering trial operation, heard twice: one subscription, on the
	// province's customer, trialing until formal operation's first day.
	for range 2 {
		if err := f.life.TrialStarted(ctx, wengyuan, 41, "2026-12-13"); err != nil {
			t.Fatal(err)
		}
	}
	creates := f.rowsOf(t, opCreateSubscription)
	if !slices.Equal(keysOf(creates), []string{"cc/sub/gd.shaoguan.wengyuan/create/e41"}) {
		t.Fatalf("subscriptions written: %v", keysOf(creates))
	}
	var body subscriptionPayload
	if err := json.Unmarshal([]byte(creates[0].Body), &body); err != nil {
		t.Fatal(err)
	}
	// The modules the catalogue prices (suggestions is free); the seat is
	// on the account's own subscription.
	if body.Account != "gd" || body.TrialEnd != "2026-12-13" || !slices.Equal(body.Prices, []string{"cc_module_approval_monthly", "cc_module_oa_monthly"}) {
		t.Errorf("the subscription asked for: %+v", body)
	}
	f.drain(t, 20*time.Second)
	if !f.sentUnder("/v1/subscriptions", creates[0].IdempotencyKey) {
		t.Fatal("the subscription was not sent")
	}
	form := f.rec.form(creates[0].IdempotencyKey)
	gd, err := f.svc.Account(ctx, "gd")
	if err != nil {
		t.Fatal(err)
	}
	// 2026-12-13 00:00 in China.
	if form.Get("customer") != *gd.Customer || form.Get("trial_end") != "1797091200" || form.Get("collection_method") != "send_invoice" || form.Get("days_until_due") != "30" || form.Get("items[0][price]") == "" {
		t.Errorf("the subscription sent: %v", form)
	}
	sub, found, err := f.life.Subscription(ctx, wengyuan)
	if err != nil || !found || sub.State != StateTrialing || sub.StripeID == "" || sub.Account != "gd" || len(sub.Items) != 2 {
		t.Fatalf("the subscription kept: %+v %v %v", sub, found, err)
	}

	// The formal start moved by an edit of the plan (version 3): the
	// trial's end with it, once; the same day again moves nothing.
	f.moveFormalStart(t, wengyuan, 3, "2026-12-20")
	f.moveFormalStart(t, wengyuan, 3, "2026-12-20")
	f.moveFormalStart(t, wengyuan, 4, "2026-12-20")
	moves := f.rowsOf(t, opSetTrialEnd)
	if !slices.Equal(keysOf(moves), []string{"cc/sub/gd.shaoguan.wengyuan/trial_end/v3"}) {
		t.Fatalf("trial ends written: %v", keysOf(moves))
	}
	// The sweep queues what an edit wrote in its transaction.
	if err := f.svc.SweepJob(ctx, jobs.Job{}); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)
	if form := f.rec.form(moves[0].IdempotencyKey); form.Get("trial_end") != "1797696000" || form.Get("proration_behavior") != "none" ||
		!f.sentUnder("/v1/subscriptions/"+sub.StripeID, moves[0].IdempotencyKey) {
		t.Errorf("the trial's end moved with %v", form)
	}

	// A module enabled, heard twice: one item added, prorated; disabled:
	// removed, prorated; enabled again: a new call.
	f.modules.set(wengyuan, "oa", "approval", "convenience")
	for range 2 {
		if err := f.life.ModulesChanged(ctx, wengyuan); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t, 20*time.Second)
	f.modules.set(wengyuan, "oa", "approval")
	if err := f.life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)
	f.modules.set(wengyuan, "oa", "approval", "convenience")
	if err := f.life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	f.drain(t, 20*time.Second)
	adds, removes := f.rowsOf(t, opAddItem), f.rowsOf(t, opRemoveItem)
	item := "cc/sub/gd.shaoguan.wengyuan/item/cc_module_convenience_monthly/"
	if !slices.Equal(keysOf(adds), []string{item + "r1/add", item + "r2/add"}) || !slices.Equal(keysOf(removes), []string{item + "r1/remove"}) {
		t.Fatalf("items written: %v %v", keysOf(adds), keysOf(removes))
	}
	if form := f.rec.form(adds[0].IdempotencyKey); form.Get("subscription") != sub.StripeID || form.Get("proration_behavior") != "create_prorations" || !f.sentUnder("/v1/subscription_items", adds[0].IdempotencyKey) {
		t.Errorf("the item added with %v", form)
	}
	if form := f.rec.form(removes[0].IdempotencyKey); form.Get("proration_behavior") != "create_prorations" || !f.sentUnder("/v1/subscription_items/"+*adds[0].StripeID, removes[0].IdempotencyKey) {
		t.Errorf("the item removed with %v", form)
	}

	// Formal operation, heard twice: the trial ends now, once; a later
	// move of the plan's dates no longer touches the subscription.
	for range 2 {
		if err := f.life.FormalStarted(ctx, wengyuan, 57); err != nil {
			t.Fatal(err)
		}
	}
	f.moveFormalStart(t, wengyuan, 5, "2026-12-27")
	f.drain(t, 20*time.Second)
	moves = f.rowsOf(t, opSetTrialEnd)
	if !slices.Equal(keysOf(moves), []string{"cc/sub/gd.shaoguan.wengyuan/trial_end/v3", "cc/sub/gd.shaoguan.wengyuan/formal/e57"}) {
		t.Fatalf("trial ends written: %v", keysOf(moves))
	}
	if form := f.rec.form(moves[1].IdempotencyKey); form.Get("trial_end") != "now" {
		t.Errorf("formal operation sent %v", form)
	}
	if sub, _, _ := f.life.Subscription(ctx, wengyuan); sub.State != StateActive || sub.TrialEnd != "2026-12-20" {
		t.Errorf("after formal operation: %+v", sub)
	}
	if n := len(f.rowsOf(t, opCreateSubscription)); n != 1 {
		t.Errorf("%d subscriptions written", n)
	}
}

func TestEachCountyIsBilledOnTheCustomerOfTheAccountThatPaysForIt(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{})
	ctx := context.Background()
	f.modules.set(lechang, "oa")
	for _, county := range []string{wengyuan, lechang} {
		if err := f.life.TrialStarted(ctx, county, int64(len(county)), "2026-12-13"); err != nil {
			t.Fatal(err)
		}
	}
	f.drain(t, 20*time.Second)
	for _, r := range f.rowsOf(t, opCreateSubscription) {
		var body subscriptionPayload
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{wengyuan: "gd", lechang: lechang}[r.Subject]
		a, err := f.svc.Account(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		if body.Account != want || f.rec.form(r.IdempotencyKey).Get("customer") != *a.Customer {
			t.Errorf("%s billed on %s (customer %s), want %s (%s)", r.Subject, body.Account, f.rec.form(r.IdempotencyKey).Get("customer"), want, *a.Customer)
		}
	}
}

func TestACountyNoAccountPaysForIsSubscribedOnceOneDoes(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{"gd.shaoguan.ruyuan": 12})
	ctx := context.Background()
	guangdongAndRuyuan := counties{"gd.shaoguan.ruyuan": "county"}
	for k, v := range guangdong {
		guangdongAndRuyuan[k] = v
	}
	f.svc.directory = guangdongAndRuyuan
	ruyuan := "gd.shaoguan.ruyuan"
	f.modules.set(ruyuan, "oa")
	if err := f.life.TrialStarted(ctx, ruyuan, 7, "2026-12-13"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rowsOf(t, opCreateSubscription)); n != 0 {
		t.Fatalf("%d subscriptions written without a payer", n)
	}
	if _, err := f.svc.Assign(ctx, ruyuan, "gd"); err != nil {
		t.Fatal(err)
	}
	rep, err := f.life.ReportUsage(ctx)
	if err != nil || rep.Created != 1 || rep.Reported != 0 {
		t.Fatalf("the daily job: %+v %v", rep, err)
	}
	creates := f.rowsOf(t, opCreateSubscription)
	if !slices.Equal(keysOf(creates), []string{"cc/sub/gd.shaoguan.ruyuan/create/e7"}) {
		t.Fatalf("subscriptions written: %v", keysOf(creates))
	}
	f.drain(t, 20*time.Second)
	if !f.sentUnder("/v1/subscriptions", creates[0].IdempotencyKey) || f.rec.form(creates[0].IdempotencyKey).Get("trial_end") == "" {
		t.Errorf("the late subscription was not sent trialing: %v", f.rec.form(creates[0].IdempotencyKey))
	}
}

func TestTheDailyUsageReportSendsOneMeterEventPerCountyAndDay(t *testing.T) {
	t.Parallel()
	f := newLifecycleFixture(t, census{wengyuan: 240, lechang: 75})
	ctx := context.Background()
	// The seat meter was made before the seat's price, which is metered.
	meters := f.rowsOf(t, opCreateMeter)
	if !slices.Equal(keysOf(meters), []string{"cc/meter/cc_active_accounts/create"}) || meters[0].SentAt == nil {
		t.Fatalf("meters: %v", keysOf(meters))
	}
	var seatPrice string
	if err := f.db.Control.Get(&seatPrice, "SELECT idempotency_key FROM billing_outbox WHERE operation = ? AND subject = ?", opCreatePrice, seatLookupKey); err != nil {
		t.Fatal(err)
	}
	if form := f.rec.form(seatPrice); form.Get("recurring[usage_type]") != "metered" || form.Get("recurring[meter]") != *meters[0].StripeID || form.Get("unit_amount_decimal") == "" {
		t.Errorf("the seat's price: %v", form)
	}

	for _, county := range []string{wengyuan, lechang} {
		if err := f.life.TrialStarted(ctx, county, int64(len(county)), "2026-12-13"); err != nil {
			t.Fatal(err)
		}
	}
	// Lechang is in trial operation, free: only Wengyuan reports.
	if err := f.life.FormalStarted(ctx, wengyuan, 90); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.life.ReportUsage(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(20 * time.Hour) // 2026-11-13 22:00 UTC, 2026-11-14 in China
	rep, err := f.life.ReportUsage(ctx)
	if err != nil || rep.Day != "2026-11-14" || rep.Reported != 1 {
		t.Fatalf("the next day: %+v %v", rep, err)
	}
	f.drain(t, 20*time.Second)
	events := f.rowsOf(t, opReportUsage)
	if !slices.Equal(keysOf(events), []string{"cc/usage/2026-11-13/gd.shaoguan.wengyuan", "cc/usage/2026-11-14/gd.shaoguan.wengyuan"}) {
		t.Fatalf("meter events written: %v", keysOf(events))
	}
	gd, err := f.svc.Account(ctx, "gd")
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range events {
		form := f.rec.form(e.IdempotencyKey)
		day := []string{"2026-11-13", "2026-11-14"}[i]
		if !f.sentUnder("/v1/billing/meter_events", e.IdempotencyKey) || form.Get("identifier") != "cc-usage-"+day+"-"+wengyuan ||
			form.Get("payload[value]") != "240" || form.Get("payload[stripe_customer_id]") != *gd.Customer || form.Get("event_name") != SeatMeterEvent {
			t.Errorf("meter event %s: %v", e.IdempotencyKey, form)
		}
		if ts, _ := strconv.ParseInt(form.Get("timestamp"), 10, 64); ts <= 0 {
			t.Errorf("meter event %s without a time: %v", e.IdempotencyKey, form)
		}
	}
}

// TestAStripeOutageDelaysTheLifecycleAndSendsEachCallOnce: with Stripe
// down, a county enters trial and then formal operation, enables a
// module and reports its usage; every call waits in the outbox, and once
// Stripe is back each is accepted exactly once, under its key.
func TestAStripeOutageDelaysTheLifecycleAndSendsEachCallOnce(t *testing.T) {
	t.Parallel()
	mock := billingtest.StartMock(t)
	f := newLifecycleFixtureAt(t, mock.URL(), census{wengyuan: 240})
	ctx := context.Background()
	f.modules.set(wengyuan, "oa")
	mock.Stop()

	if err := f.life.TrialStarted(ctx, wengyuan, 41, "2026-12-13"); err != nil {
		t.Fatal(err)
	}
	// The subscription's id is not known before Stripe answers: the
	// module's item and the trial's end wait behind it in its stream.
	f.modules.set(wengyuan, "oa", "approval")
	if err := f.life.ModulesChanged(ctx, wengyuan); err != nil {
		t.Fatal(err)
	}
	if err := f.life.FormalStarted(ctx, wengyuan, 57); err != nil {
		t.Fatal(err)
	}
	if rep, err := f.life.ReportUsage(ctx); err != nil || rep.Reported != 1 {
		t.Fatalf("the usage report during the outage: %+v %v", rep, err)
	}
	w := jobs.NewWorker(f.queue, f.svc.Jobs(), jobs.Options{Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 100 * time.Millisecond }}, quiet)
	workCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { w.Run(workCtx); close(done) }()
	billingtest.WaitFor(t, "calls to fail during the outage", func() bool { return countFailed(f.rec.requests()) >= 2 })
	stop()
	<-done
	pending, err := f.svc.Pending(ctx, 100)
	if err != nil || len(pending) != 5 {
		t.Fatalf("%d calls wait during the outage, want 5: %v", len(pending), err)
	}

	mock.Start(t)
	f.drain(t, 30*time.Second)
	want := []string{"cc/sub/gd.shaoguan.wengyuan/create/e41", "cc/sub/gd.shaoguan.wengyuan/item/cc_module_approval_monthly/r1/add",
		"cc/sub/gd.shaoguan.wengyuan/formal/e57", "cc/seats/gd/create", "cc/usage/2026-11-13/gd.shaoguan.wengyuan"}
	times := map[string]int{}
	for _, keys := range accepted(f.rec.requests()) {
		for _, k := range keys {
			times[k]++
		}
	}
	for _, k := range want {
		if times[k] != 1 {
			t.Errorf("%s accepted %d times, want once", k, times[k])
		}
	}
	if sub, _, _ := f.life.Subscription(ctx, wengyuan); sub.StripeID == "" || sub.State != StateActive {
		t.Errorf("after the outage: %+v", sub)
	}
}
