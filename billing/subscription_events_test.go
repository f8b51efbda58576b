package billing

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
)

// mailbox keeps the e-mails billing sends.
type mailbox struct {
	mu   sync.Mutex
	sent []notify.Outgoing
}

func (m *mailbox) Send(_ context.Context, out notify.Outgoing) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, out)
	return "", nil
}

func (m *mailbox) mails() []notify.Outgoing {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// subscribed is newHooks with the lifecycle's handlers registered and
// Wengyuan, Lechang (both paid by gd) and Haidian (by itself) in trial
// operation, their subscriptions made at Stripe as sub_<county's name>.
func subscribed(t testing.TB) (*hooks, *Lifecycle, *mailbox) {
	t.Helper()
	h := newHooks(t)
	mail := &mailbox{}
	// Each runs oa, priced: a county's subscription is made with its
	// first priced module.
	life := NewLifecycle(h.w.svc, &enabled{by: map[string][]string{wengyuan: {"oa"}, lechang: {"oa"}, haidian: {"oa"}}}, census{})
	if _, err := h.db.Control.Exec("INSERT INTO billing_prices (lookup_key, product_id, product_name, amount_fen, revision, name_revision, updated_at) VALUES ('cc_module_oa_monthly', 'cc_module_oa', '协同办公', 300000, 1, 1, ?)", h.clock.Now()); err != nil {
		t.Fatal(err)
	}
	events := NewSubscriptionEvents(life, mail)
	for typ, handle := range events.Handlers() {
		if err := h.w.Handle(typ, handle); err != nil {
			t.Fatal(err)
		}
	}
	h.more = events.Jobs()
	ctx := context.Background()
	for i, county := range []string{wengyuan, lechang, haidian} {
		if err := life.TrialStarted(ctx, county, int64(i+1), "2026-12-13"); err != nil {
			t.Fatal(err)
		}
		// As the outbox records Stripe's answer to the subscription's creation.
		if _, err := h.db.Control.Exec("UPDATE billing_subscriptions SET stripe_subscription_id = ? WHERE county_code = ?", subOf(county), county); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.db.Control.Exec("UPDATE billing_accounts SET email = 'billing@gd.gov.cn' WHERE code = 'gd'"); err != nil {
		t.Fatal(err)
	}
	return h, life, mail
}

func subOf(county string) string { return "sub_" + county[strings.LastIndexByte(county, '.')+1:] }

func subscriptionEvent(t testing.TB, id, typ, county, customer, status string, created time.Time, metadata map[string]string) []byte {
	t.Helper()
	if metadata == nil {
		metadata = map[string]string{MetadataCounty: county}
	}
	return eventBody(t, id, typ, created, map[string]any{"id": subOf(county), "object": "subscription", "customer": customer, "status": status,
		"current_period_end": created.Add(30 * 24 * time.Hour).Unix(), "trial_end": created.Add(72 * time.Hour).Unix(), "metadata": metadata})
}

func (h *hooks) subscription(t testing.TB, life *Lifecycle, county string) CountySubscription {
	t.Helper()
	sub, found, err := life.Subscription(context.Background(), county)
	if err != nil || !found {
		t.Fatalf("the subscription of %s: %v %v", county, found, err)
	}
	return sub
}

func TestStripesSubscriptionEventsMoveTheSubscriptionOnlyForward(t *testing.T) {
	t.Parallel()
	h, life, mail := subscribed(t)
	ctx := context.Background()
	t0 := h.clock.Now()

	// Wengyuan: past due at t0+2h, then a late event of t0+1h (active).
	h.ok(t, subscriptionEvent(t, "evt_1_wy_past_due", EventSubscriptionUpdated, wengyuan, "cus_gd", "past_due", t0.Add(2*time.Hour), nil))
	h.process(t)
	h.ok(t, subscriptionEvent(t, "evt_2_wy_active_late", EventSubscriptionUpdated, wengyuan, "cus_gd", "active", t0.Add(time.Hour), nil))
	// Its trial ends in three days: the paying office is told.
	h.ok(t, subscriptionEvent(t, "evt_3_wy_trial_will_end", EventSubscriptionTrialWillEnd, wengyuan, "cus_gd", "trialing", t0.Add(2*time.Hour), nil))
	// Lechang: deleted at t0+3h; an update of t0+4h arrives after.
	h.ok(t, subscriptionEvent(t, "evt_4_lc_deleted", EventSubscriptionDeleted, lechang, "cus_gd", "canceled", t0.Add(3*time.Hour), nil))
	h.process(t)
	h.ok(t, subscriptionEvent(t, "evt_5_lc_active_after", EventSubscriptionUpdated, lechang, "cus_gd", "active", t0.Add(4*time.Hour), nil))
	h.ok(t, subscriptionEvent(t, "evt_6_lc_deleted_again", EventSubscriptionDeleted, lechang, "cus_gd", "canceled", t0.Add(5*time.Hour), nil))
	h.process(t)

	wy := h.subscription(t, life, wengyuan)
	if wy.State != StateTrialing || wy.StripeStatus != "past_due" || wy.CurrentPeriodEnd == nil || !wy.CurrentPeriodEnd.Equal(t0.Add(2*time.Hour+30*24*time.Hour)) || wy.StripeTrialEnd == nil {
		t.Errorf("Wengyuan after its events: %+v", wy)
	}
	lc := h.subscription(t, life, lechang)
	if lc.State != StateEnded || lc.StripeStatus != "canceled" || lc.EndedAt == nil || !lc.EndedAt.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("Lechang after its deletion: %+v", lc)
	}
	// An ended subscription gets no more calls: formal operation ends no trial.
	if err := life.FormalStarted(ctx, lechang, 99); err != nil {
		t.Fatal(err)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM billing_outbox WHERE subject = ? AND operation = ?", lechang, opSetTrialEnd); n != 0 {
		t.Errorf("%d calls to Lechang's ended subscription", n)
	}

	billingtest.WaitFor(t, "the trial's notice", func() bool { return len(mail.mails()) > 0 })
	got := mail.mails()
	if len(got) != 1 || got[0].To != "billing@gd.gov.cn" || got[0].Key != "billing-trial-evt_3_wy_trial_will_end" ||
		!strings.HasPrefix(got[0].Subject, wengyuan+" 试运行将于") || !strings.Contains(got[0].Body, "广东省政务服务数据管理局") {
		t.Errorf("the trial's notice: %+v", got)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = ? AND object_id = ?", ActionTrialWillEnd, wengyuan); n != 1 {
		t.Errorf("%d entries of Wengyuan's trial ending in the province's trail", n)
	}
	// Haidian is in formal operation: its trial needs no notice.
	if err := life.FormalStarted(ctx, haidian, 7); err != nil {
		t.Fatal(err)
	}
	h.ok(t, subscriptionEvent(t, "evt_7_hd_trial_will_end", EventSubscriptionTrialWillEnd, haidian, "cus_haidian", "active", t0.Add(time.Hour), nil))
	h.process(t)

	want := []string{"evt_1_wy_past_due applied", "evt_2_wy_active_late stale", "evt_3_wy_trial_will_end applied", "evt_4_lc_deleted applied",
		"evt_5_lc_active_after stale", "evt_6_lc_deleted_again stale", "evt_7_hd_trial_will_end stale"}
	if got := h.outcomes(t); !slices.Equal(got, want) {
		t.Errorf("events: %v, want %v", got, want)
	}
	if len(mail.mails()) != 1 {
		t.Errorf("%d notices, want Wengyuan's alone", len(mail.mails()))
	}
}

func TestASubscriptionEventIsNeverAppliedToAnotherAccountsCounty(t *testing.T) {
	t.Parallel()
	h, life, mail := subscribed(t)
	now := h.clock.Now()
	// Haidian's subscription, delivered on gd's customer: Haidian is not
	// gd's to pay for, though gd pays for counties.
	h.ok(t, subscriptionEvent(t, "evt_a_haidian_on_gd", EventSubscriptionDeleted, haidian, "cus_gd", "canceled", now, map[string]string{}))
	// Wengyuan's subscription naming Lechang, which gd pays for too.
	h.ok(t, subscriptionEvent(t, "evt_b_wy_names_lechang", EventSubscriptionUpdated, wengyuan, "cus_gd", "unpaid", now, map[string]string{MetadataCounty: lechang}))
	// A subscription the platform never made, on a customer it knows.
	h.ok(t, subscriptionEvent(t, "evt_c_unknown", EventSubscriptionTrialWillEnd, "gd.shaoguan.ruyuan", "cus_gd", "trialing", now, map[string]string{}))
	// gd's county on Haidian's customer.
	h.ok(t, subscriptionEvent(t, "evt_d_wy_on_haidian", EventSubscriptionUpdated, wengyuan, "cus_haidian", "unpaid", now, nil))
	// A customer nobody has.
	h.ok(t, subscriptionEvent(t, "evt_e_stranger", EventSubscriptionDeleted, haidian, "cus_nobody", "canceled", now, nil))
	h.process(t)
	want := []string{"evt_a_haidian_on_gd ignored", "evt_b_wy_names_lechang ignored", "evt_c_unknown ignored", "evt_d_wy_on_haidian ignored", "evt_e_stranger ignored"}
	if got := h.outcomes(t); !slices.Equal(got, want) {
		t.Errorf("events: %v, want %v", got, want)
	}
	for _, county := range []string{wengyuan, lechang, haidian} {
		if sub := h.subscription(t, life, county); sub.State != StateTrialing || sub.StripeStatus != "" || sub.EndedAt != nil {
			t.Errorf("%s changed by another's event: %+v", county, sub)
		}
	}
	if len(mail.mails()) != 0 || h.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = ?", ActionTrialWillEnd) != 0 {
		t.Errorf("a notice for an unknown subscription: %v", mail.mails())
	}
	var note string
	if err := h.db.Control.Get(&note, "SELECT note FROM billing_webhook_events WHERE id = 'evt_a_haidian_on_gd'"); err != nil || !strings.Contains(note, haidian) {
		t.Errorf("the note of another account's county: %q %v", note, err)
	}
}

// The platform's invoices are sent, not charged: one unpaid by its due
// date fails no payment, and Stripe says so by the subscription's status.
func TestASentInvoiceUnpaidByItsDueDateMakesTheAccountPastDue(t *testing.T) {
	t.Parallel()
	h, _, _ := subscribed(t)
	t0 := h.clock.Now()
	pastDue := func(id string, created time.Time) []byte {
		return eventBody(t, id, EventSubscriptionUpdated, created, map[string]any{"id": subOf(haidian), "object": "subscription", "customer": "cus_haidian",
			"status": "past_due", "latest_invoice": "in_30", "metadata": map[string]string{MetadataCounty: haidian}})
	}
	h.ok(t, pastDue("evt_30_past_due", t0))
	h.process(t)
	if s := h.standing(t, haidian); s.Standing != StandingPastDue || *s.Invoice != "in_30" || !s.PastDueSince.Equal(t0) {
		t.Fatalf("Haidian with in_30 overdue: %+v", s)
	}
	h.clock.Add(DefaultGrace)
	h.sweep(t)
	if held := h.holds.heldCounties(); !slices.Equal(held, []string{haidian}) {
		t.Fatalf("held after the grace: %v", held)
	}
	// Paid; Stripe's past_due of before the payment arrives late.
	h.ok(t, invoiceEvent(t, "evt_30_paid", "invoice.paid", "in_30", "cus_haidian", t0.Add(2*time.Hour), nil))
	h.process(t)
	h.ok(t, pastDue("evt_30_past_due_late", t0.Add(time.Hour)))
	h.process(t)
	if s := h.standing(t, haidian); s.Standing != StandingGood || len(h.holds.heldCounties()) != 0 {
		t.Errorf("Haidian once in_30 is paid: %+v, held %v", s, h.holds.heldCounties())
	}
	if s := h.standing(t, "gd"); s.Standing != StandingGood {
		t.Errorf("gd moved by Haidian's invoice: %+v", s)
	}

	// gd's seat subscription's invoice unpaid: gd is past due; the same
	// subscription on Haidian's customer is not Haidian's.
	if _, err := h.db.Control.Exec("INSERT INTO billing_seat_subscriptions (account_code, started, stripe_subscription_id, created_at) VALUES ('gd', 0, 'sub_seats_gd', ?)", t0); err != nil {
		t.Fatal(err)
	}
	seats := func(id, customer string) []byte {
		return eventBody(t, id, EventSubscriptionUpdated, h.clock.Now(), map[string]any{"id": "sub_seats_gd", "object": "subscription", "customer": customer,
			"status": "past_due", "latest_invoice": map[string]any{"id": "in_31", "object": "invoice"}, "metadata": map[string]string{}})
	}
	h.ok(t, seats("evt_31_seats_on_haidian", "cus_haidian"))
	h.ok(t, seats("evt_31_seats_past_due", "cus_gd"))
	h.process(t)
	if s := h.standing(t, "gd"); s.Standing != StandingPastDue || *s.Invoice != "in_31" {
		t.Errorf("gd with its seats' invoice overdue: %+v", s)
	}
	if s := h.standing(t, haidian); s.Standing != StandingGood {
		t.Errorf("Haidian moved by gd's seats: %+v", s)
	}
	if got := h.outcomes(t); !slices.Contains(got, "evt_31_seats_on_haidian ignored") || !slices.Contains(got, "evt_31_seats_past_due applied") {
		t.Errorf("events: %v", got)
	}
}

// Stripe made Lechang's subscription and told of it before the outbox
// recorded Stripe's answer: the event waits for the id, then applies.
func TestAnEventBeforeTheSubscriptionsIDIsRecordedWaitsForIt(t *testing.T) {
	t.Parallel()
	h, life, _ := subscribed(t)
	if _, err := h.db.Control.Exec("UPDATE billing_subscriptions SET stripe_subscription_id = NULL WHERE county_code = ?", lechang); err != nil {
		t.Fatal(err)
	}
	h.ok(t, subscriptionEvent(t, "evt_before_id", EventSubscriptionUpdated, lechang, "cus_gd", "active", h.clock.Now(), nil))
	err := h.w.ProcessJob(context.Background(), jobs.Job{Payload: json.RawMessage(`{"event": "evt_before_id"}`)})
	if !errors.Is(err, errIDNotRecorded) {
		t.Fatalf("an event before the id: %v", err)
	}
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_before_id waiting"}) {
		t.Fatalf("events: %v", got)
	}
	if _, err := h.db.Control.Exec("UPDATE billing_subscriptions SET stripe_subscription_id = ? WHERE county_code = ?", subOf(lechang), lechang); err != nil {
		t.Fatal(err)
	}
	h.process(t)
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_before_id applied"}) {
		t.Errorf("events: %v", got)
	}
	if sub := h.subscription(t, life, lechang); sub.StripeStatus != "active" {
		t.Errorf("Lechang once its id is recorded: %+v", sub)
	}
}
