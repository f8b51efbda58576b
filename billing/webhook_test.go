package billing

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/core/testclock"
	"github.com/countycloud/countycloud/tenants/registry"
)

const (
	testSecret = "whsec_countycloud_test"
	wengyuan   = "gd.shaoguan.wengyuan"
	lechang    = "gd.shaoguan.lechang"
	haidian    = "bj.haidian"
)

// holder records the registry holds billing asks for.
type holder struct {
	mu      sync.Mutex
	held    map[string]string
	actions []string
}

func (h *holder) Hold(_ context.Context, code, reason string) (registry.Tenant, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.held[code]; !ok {
		h.actions = append(h.actions, "hold "+code)
	}
	h.held[code] = reason
	return registry.Tenant{Code: code}, nil
}

func (h *holder) Unhold(_ context.Context, code string) (registry.Tenant, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.held[code]; ok {
		h.actions = append(h.actions, "unhold "+code)
	}
	delete(h.held, code)
	return registry.Tenant{Code: code}, nil
}

func (h *holder) heldCounties() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for c := range h.held {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// hooks is billing's webhooks on a fresh control schema behind the real
// HTTP handler, with Guangdong paying for Wengyuan and Lechang (customer
// cus_gd) and Haidian paying for itself (cus_haidian).
type hooks struct {
	db    *storetest.DB
	queue *jobs.Queue
	clock *testclock.Clock
	holds *holder
	w     *Webhooks
	url   string
	// more are job handlers the test runs besides the webhooks'.
	more map[string]jobs.Handler
}

func newHooks(t testing.TB) *hooks {
	t.Helper()
	db := storetest.New(t)
	h := &hooks{db: db, queue: jobs.NewQueue(db.Control), clock: testclock.New(time.Now().UTC().Truncate(time.Second)), holds: &holder{held: map[string]string{}}}
	client, err := NewStripe(StripeConfig{Key: "sk_test_countycloud", URL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	svc := New(db.Control, h.queue, db.Locker, client, guangdong, h.clock.Now, quiet)
	oneTrip, pool := store.OpenOneTrip(db.Config, 4, quiet)
	t.Cleanup(func() { pool.Close() })
	h.w = NewWebhooks(svc, WebhookConfig{Secret: testSecret, OneTrip: oneTrip}, h.holds)
	ctx := context.Background()
	for _, a := range []struct{ code, name, customer string }{{"gd", "广东省政务服务数据管理局", "cus_gd"}, {haidian, "海淀区财政局", "cus_haidian"}} {
		if _, err := svc.CreateAccount(ctx, AccountInput{Code: a.code, Name: a.name}); err != nil {
			t.Fatal(err)
		}
		// As the outbox records Stripe's answer to the customer's creation.
		if _, err := db.Control.Exec("UPDATE billing_accounts SET stripe_customer_id = ? WHERE code = ?", a.customer, a.code); err != nil {
			t.Fatal(err)
		}
	}
	for county, account := range map[string]string{wengyuan: "gd", lechang: "gd", haidian: haidian} {
		if _, err := svc.Assign(ctx, county, account); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(kit.Handler(quiet, prometheus.NewRegistry(), h.w.Routes()...))
	t.Cleanup(srv.Close)
	h.url = srv.URL + WebhookPath
	return h
}

// eventBody is a Stripe event of type about obj, created at created.
func eventBody(t testing.TB, id, typ string, created time.Time, obj map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": created.Unix(), "type": typ, "livemode": false, "pending_webhooks": 1, "data": map[string]any{"object": obj}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func invoiceEvent(t testing.TB, id, typ, invoice, customer string, created time.Time, metadata map[string]string) []byte {
	if metadata == nil {
		metadata = map[string]string{}
	}
	return eventBody(t, id, typ, created, map[string]any{"id": invoice, "object": "invoice", "customer": customer, "status": "open", "metadata": metadata})
}

type delivery struct {
	status int
	body   string
}

func (d delivery) code() string {
	var e kit.ErrorBody
	_ = json.Unmarshal([]byte(d.body), &e)
	return e.Error.Code
}

// deliver posts payload signed with secret at signedAt, as Stripe does.
func (h *hooks) deliver(t testing.TB, payload []byte, secret string, signedAt time.Time) delivery {
	t.Helper()
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: secret, Timestamp: signedAt})
	return h.post(t, payload, signed.Header, "")
}

func (h *hooks) post(t testing.TB, payload []byte, signature, token string) delivery {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return delivery{resp.StatusCode, string(b)}
}

func (h *hooks) ok(t testing.TB, payload []byte) Received {
	t.Helper()
	d := h.deliver(t, payload, testSecret, time.Now())
	if d.status != http.StatusOK {
		t.Fatalf("delivery answered %d: %s", d.status, d.body)
	}
	var r Received
	if err := json.Unmarshal([]byte(d.body), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// process runs the webhooks' jobs (and the test's more) until every
// stored event is processed and none of their jobs waits.
func (h *hooks) process(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	handlers := h.w.Jobs()
	maps.Copy(handlers, h.more)
	worker := jobs.NewWorker(h.queue, handlers, jobs.Options{Poll: 10 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond }}, quiet)
	done := make(chan struct{})
	go func() { worker.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for range 1000 {
		var waiting int
		if err := h.db.Control.Get(&waiting, "SELECT COUNT(*) FROM billing_webhook_events WHERE processed_at IS NULL"); err != nil {
			t.Fatal(err)
		}
		query, args, err := sqlx.In("SELECT COUNT(*) FROM jobs WHERE kind IN (?) AND status IN ('queued', 'running')", slices.Collect(maps.Keys(handlers)))
		if err != nil {
			t.Fatal(err)
		}
		var running int
		if err := h.db.Control.Get(&running, query, args...); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 && running == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the stored events were not processed within 10 s")
}

func (h *hooks) sweep(t testing.TB) {
	t.Helper()
	if err := h.w.SweepJob(context.Background(), jobs.Job{}); err != nil {
		t.Fatal(err)
	}
}

func (h *hooks) standing(t testing.TB, account string) Standing {
	t.Helper()
	s, err := h.w.Standing(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// outcomes lists the stored events as "id outcome".
func (h *hooks) outcomes(t testing.TB) []string {
	t.Helper()
	var rows []struct {
		ID      string  `db:"id"`
		Outcome *string `db:"outcome"`
	}
	if err := h.db.Control.Select(&rows, "SELECT id, outcome FROM billing_webhook_events ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, r := range rows {
		o := "waiting"
		if r.Outcome != nil {
			o = *r.Outcome
		}
		out = append(out, r.ID+" "+o)
	}
	return out
}

func (h *hooks) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := h.db.Control.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAReplayedEventIsAppliedOnce(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	failed := invoiceEvent(t, "evt_failed_1", "invoice.payment_failed", "in_1", "cus_gd", h.clock.Now(), nil)
	if r := h.ok(t, failed); r.Duplicate || r.Event != "evt_failed_1" {
		t.Errorf("first delivery: %+v", r)
	}
	if r := h.ok(t, failed); !r.Duplicate {
		t.Errorf("a replay before processing is not a duplicate: %+v", r)
	}
	h.process(t)
	h.clock.Add(time.Hour)
	if r := h.ok(t, failed); !r.Duplicate {
		t.Errorf("a replay after processing is not a duplicate: %+v", r)
	}
	h.process(t)
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_failed_1 applied"}) {
		t.Errorf("events: %v", got)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM jobs WHERE kind = ?", JobProcessEvent); n != 1 {
		t.Errorf("%d jobs for one event", n)
	}
	s := h.standing(t, "gd")
	if s.Standing != StandingPastDue || s.Invoice == nil || *s.Invoice != "in_1" || s.PastDueSince == nil || !s.PastDueSince.Equal(h.clock.Now().Add(-time.Hour)) {
		t.Errorf("standing after a replayed failure: %+v", s)
	}
}

// TestAReplayAnsweredFromMemoryIsVerifiedFirst: the very bytes of an
// event stored a moment ago, which a replica answers from memory, are
// still refused unsigned, signed with another secret or too long ago;
// the same event in other bytes is a duplicate too, queued once.
func TestAReplayAnsweredFromMemoryIsVerifiedFirst(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	paid := invoiceEvent(t, "evt_known", "invoice.paid", "in_known", "cus_gd", h.clock.Now(), nil)
	h.ok(t, paid)
	for _, c := range []struct {
		name string
		got  delivery
	}{
		{"signed with another secret", h.deliver(t, paid, "whsec_someone_else", time.Now())},
		{"a stale timestamp", h.deliver(t, paid, testSecret, time.Now().Add(-webhook.DefaultTolerance-time.Minute))},
		{"no signature", h.post(t, paid, "", "")},
		{"a garbled header", h.post(t, paid, "t=yesterday,v1=zz", "")},
	} {
		if c.got.status != http.StatusBadRequest || c.got.code() != CodeWebhookSignature {
			t.Errorf("%s: %d %s, want 400 %s", c.name, c.got.status, c.got.body, CodeWebhookSignature)
		}
	}
	var event map[string]any
	if err := json.Unmarshal(paid, &event); err != nil {
		t.Fatal(err)
	}
	event["pending_webhooks"] = 2
	other, _ := json.Marshal(event)
	for range 2 {
		if r := h.ok(t, other); !r.Duplicate || r.Event != "evt_known" {
			t.Errorf("the event in other bytes: %+v", r)
		}
	}
	if n := h.count(t, "SELECT COUNT(*) FROM jobs WHERE kind = ?", JobProcessEvent); n != 1 {
		t.Errorf("%d jobs for one event", n)
	}
}

func TestTwoDeliveriesOfOneEventAtOnceApplyOnce(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	failed := invoiceEvent(t, "evt_at_once", "invoice.payment_failed", "in_2", "cus_gd", h.clock.Now(), nil)
	const replicas = 6
	var wg sync.WaitGroup
	results := make(chan Received, replicas)
	for range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- h.ok(t, failed)
		}()
	}
	wg.Wait()
	close(results)
	fresh := 0
	for r := range results {
		if !r.Duplicate {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d of %d simultaneous deliveries stored the event", fresh, replicas)
	}
	h.process(t)
	if got := h.outcomes(t); !slices.Equal(got, []string{"evt_at_once applied"}) {
		t.Errorf("events: %v", got)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM jobs WHERE kind = ?", JobProcessEvent); n != 1 {
		t.Errorf("%d jobs for one event", n)
	}
}

func TestABadDeliveryIsRefusedAndStoresNothing(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	now := h.clock.Now()
	paid := invoiceEvent(t, "evt_bad", "invoice.paid", "in_3", "cus_gd", now, nil)
	var otherVersion map[string]any
	if err := json.Unmarshal(paid, &otherVersion); err != nil {
		t.Fatal(err)
	}
	otherVersion["api_version"] = "2020-08-27"
	old, _ := json.Marshal(otherVersion)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: paid, Secret: testSecret})
	tampered := bytes.Replace(paid, []byte("in_3"), []byte("in_4"), 1)
	huge := invoiceEvent(t, "evt_huge", "invoice.paid", "in_5", "cus_gd", now, map[string]string{"padding": strings.Repeat("x", MaxWebhookBody)})
	for _, c := range []struct {
		name   string
		got    delivery
		status int
		code   string
	}{
		{"signed with another secret", h.deliver(t, paid, "whsec_someone_else", time.Now()), 400, CodeWebhookSignature},
		{"a stale timestamp", h.deliver(t, paid, testSecret, time.Now().Add(-webhook.DefaultTolerance-time.Minute)), 400, CodeWebhookSignature},
		{"no signature", h.post(t, paid, "", ""), 400, CodeWebhookSignature},
		{"a platform token and no signature", h.post(t, paid, "", "devtoken123"), 400, CodeWebhookSignature},
		{"a garbled header", h.post(t, paid, "t=yesterday,v1=zz", ""), 400, CodeWebhookSignature},
		{"a tampered body", h.post(t, tampered, signed.Header, ""), 400, CodeWebhookSignature},
		{"another API version", h.deliver(t, old, testSecret, time.Now()), 400, CodeWebhookAPIVersion},
		{"not JSON", h.deliver(t, []byte("{not json"), testSecret, time.Now()), 400, CodeWebhookInvalid},
		{"no id", h.deliver(t, []byte(`{"object":"event","type":"invoice.paid","api_version":"`+stripe.APIVersion+`"}`), testSecret, time.Now()), 400, CodeWebhookInvalid},
		{"over the limit", h.deliver(t, huge, testSecret, time.Now()), 413, CodeWebhookTooLarge},
	} {
		if c.got.status != c.status || c.got.code() != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, c.got.status, c.got.body, c.status, c.code)
		}
	}
	if n := h.count(t, "SELECT COUNT(*) FROM billing_webhook_events"); n != 0 {
		t.Errorf("%d refused events stored", n)
	}
	if n := h.count(t, "SELECT COUNT(*) FROM jobs WHERE kind = ?", JobProcessEvent); n != 0 {
		t.Errorf("%d jobs queued for refused events", n)
	}
}

func TestAnOlderEventNeverMovesTheStandingBack(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	t0 := h.clock.Now()
	// Stripe sends in_6 failed (t0) and then paid (t0+1h), but the paid
	// event arrives first; then a retry's failure of t0+30m, also late.
	h.ok(t, invoiceEvent(t, "evt_6_paid", "invoice.paid", "in_6", "cus_gd", t0.Add(time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_6_failed", "invoice.payment_failed", "in_6", "cus_gd", t0, nil))
	h.ok(t, invoiceEvent(t, "evt_6_failed_again", "invoice.payment_failed", "in_6", "cus_gd", t0.Add(30*time.Minute), nil))
	h.process(t)
	if s := h.standing(t, "gd"); s.Standing != StandingGood {
		t.Errorf("a late failure moved the standing back: %+v", s)
	}
	// in_7 fails twice, the later failure first: the account is past due
	// since the failure it knows of first, and the older one is stale.
	h.ok(t, invoiceEvent(t, "evt_7_failed_b", "invoice.payment_failed", "in_7", "cus_gd", t0.Add(3*time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_7_failed_a", "invoice.payment_failed", "in_7", "cus_gd", t0.Add(2*time.Hour), nil))
	h.process(t)
	if s := h.standing(t, "gd"); s.Standing != StandingPastDue || !s.PastDueSince.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("standing after in_7's failures: %+v", s)
	}
	want := []string{"evt_6_failed stale", "evt_6_failed_again stale", "evt_6_paid applied", "evt_7_failed_a stale", "evt_7_failed_b applied"}
	if got := h.outcomes(t); !slices.Equal(got, want) {
		t.Errorf("events: %v, want %v", got, want)
	}
}

func TestAnEventForAnUnknownCustomerOrAnotherAccountsCountyChangesNothing(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	now := h.clock.Now()
	h.ok(t, invoiceEvent(t, "evt_a_stranger", "invoice.payment_failed", "in_8", "cus_nobody", now, nil))
	h.ok(t, invoiceEvent(t, "evt_b_haidian_on_gd", "invoice.payment_failed", "in_9", "cus_gd", now, map[string]string{MetadataCounty: haidian}))
	h.ok(t, invoiceEvent(t, "evt_c_gd_on_haidian", "invoice.payment_failed", "in_10", "cus_haidian", now, map[string]string{MetadataAccount: "gd"}))
	h.ok(t, invoiceEvent(t, "evt_d_no_customer", "invoice.payment_failed", "in_11", "", now, nil))
	h.ok(t, eventBody(t, "evt_e_unknown_type", "charge.refunded", now, map[string]any{"id": "ch_1", "customer": "cus_gd"}))
	h.ok(t, eventBody(t, "evt_f_subscription", "customer.subscription.updated", now, map[string]any{"id": "sub_1", "customer": "cus_gd", "status": "past_due"}))
	h.ok(t, invoiceEvent(t, "evt_g_no_stripe_id", "invoice.payment_failed", "in_"+strings.Repeat("9", maxStripeID), "cus_gd", now, nil))
	h.process(t)
	h.clock.Add(30 * 24 * time.Hour)
	h.sweep(t)
	want := []string{"evt_a_stranger ignored", "evt_b_haidian_on_gd ignored", "evt_c_gd_on_haidian ignored", "evt_d_no_customer ignored", "evt_e_unknown_type ignored", "evt_f_subscription ignored", "evt_g_no_stripe_id ignored"}
	if got := h.outcomes(t); !slices.Equal(got, want) {
		t.Errorf("events: %v, want %v", got, want)
	}
	for _, a := range []string{"gd", haidian} {
		if s := h.standing(t, a); s.Standing != StandingGood || len(s.Held) != 0 {
			t.Errorf("%s's standing: %+v", a, s)
		}
	}
	if n := h.count(t, "SELECT COUNT(*) FROM billing_invoice_payments"); n != 0 || len(h.holds.heldCounties()) != 0 {
		t.Errorf("ignored events recorded %d invoices and held %v", n, h.holds.heldCounties())
	}
	var note string
	if err := h.db.Control.Get(&note, "SELECT note FROM billing_webhook_events WHERE id = 'evt_b_haidian_on_gd'"); err != nil || !strings.Contains(note, haidian) {
		t.Errorf("the note of an event for another account's county: %q %v", note, err)
	}
}

func TestASubscriptionHandlerAppliesItsEvents(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	var got []string
	err := h.w.Handle("customer.subscription.deleted", func(_ context.Context, _ *sqlx.Tx, a Account, e stripe.Event) (EventResult, error) {
		got = append(got, a.Code+" "+e.ID)
		return EventResult{OutcomeApplied, "subscription ended"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.w.Handle(eventInvoicePaid, nil); err == nil {
		t.Error("a hook took over invoice.paid")
	}
	h.ok(t, eventBody(t, "evt_sub_deleted", "customer.subscription.deleted", h.clock.Now(), map[string]any{"id": "sub_2", "customer": "cus_haidian", "metadata": map[string]string{MetadataCounty: haidian}}))
	h.ok(t, eventBody(t, "evt_sub_elsewhere", "customer.subscription.deleted", h.clock.Now(), map[string]any{"id": "sub_3", "customer": "cus_haidian", "metadata": map[string]string{MetadataCounty: wengyuan}}))
	h.process(t)
	if !slices.Equal(got, []string{haidian + " evt_sub_deleted"}) {
		t.Errorf("the handler saw %v", got)
	}
	if o := h.outcomes(t); !slices.Equal(o, []string{"evt_sub_deleted applied", "evt_sub_elsewhere ignored"}) {
		t.Errorf("events: %v", o)
	}
}

func TestAPastDueAccountIsHeldAfterItsGraceAndRestoredOncePaid(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	t0 := h.clock.Now()
	h.ok(t, invoiceEvent(t, "evt_12_failed", "invoice.payment_failed", "in_12", "cus_gd", t0, nil))
	h.process(t)
	h.clock.Add(DefaultGrace - time.Minute)
	h.sweep(t)
	if held := h.holds.heldCounties(); len(held) != 0 {
		t.Fatalf("held within the grace: %v", held)
	}
	h.clock.Add(time.Minute)
	h.sweep(t)
	h.sweep(t)
	if held := h.holds.heldCounties(); !slices.Equal(held, []string{lechang, wengyuan}) {
		t.Fatalf("held after the grace: %v", held)
	}
	if r := h.holds.held[wengyuan]; !strings.Contains(r, "in_12") || !strings.HasPrefix(r, "账户 gd") {
		t.Errorf("the hold's reason: %q", r)
	}
	if s := h.standing(t, haidian); len(s.Held) != 0 {
		t.Errorf("Haidian, paying for itself, is held: %+v", s)
	}
	h.ok(t, invoiceEvent(t, "evt_12_paid", "invoice.paid", "in_12", "cus_gd", h.clock.Now(), nil))
	h.process(t)
	if held := h.holds.heldCounties(); len(held) != 0 {
		t.Errorf("still held once paid: %v", held)
	}
	if s := h.standing(t, "gd"); s.Standing != StandingGood || len(s.Held) != 0 {
		t.Errorf("standing once paid: %+v", s)
	}
	want := []string{"hold " + lechang, "hold " + wengyuan, "unhold " + lechang, "unhold " + wengyuan}
	if !slices.Equal(h.holds.actions, want) {
		t.Errorf("registry calls %v, want %v", h.holds.actions, want)
	}
}

func TestAVoidedInvoiceIsNoLongerOwedAndAnUncollectibleOneStillIs(t *testing.T) {
	t.Parallel()
	h := newHooks(t)
	t0 := h.clock.Now()
	// in_20 fails and is voided; its failure arrives after the void.
	h.ok(t, invoiceEvent(t, "evt_20_voided", "invoice.voided", "in_20", "cus_gd", t0.Add(time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_20_failed", "invoice.payment_failed", "in_20", "cus_gd", t0, nil))
	h.process(t)
	if s := h.standing(t, "gd"); s.Standing != StandingGood {
		t.Errorf("a voided invoice's late failure made gd past due: %+v", s)
	}
	// in_21 fails and is marked uncollectible: still owed, past due
	// since the failure; an older retry's failure is stale.
	h.ok(t, invoiceEvent(t, "evt_21_failed", "invoice.payment_failed", "in_21", "cus_gd", t0.Add(2*time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_21_uncollectible", "invoice.marked_uncollectible", "in_21", "cus_gd", t0.Add(4*time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_21_failed_older", "invoice.payment_failed", "in_21", "cus_gd", t0.Add(3*time.Hour), nil))
	h.process(t)
	if s := h.standing(t, "gd"); s.Standing != StandingPastDue || *s.Invoice != "in_21" || !s.PastDueSince.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("gd with in_21 uncollectible: %+v", s)
	}
	// Haidian's in_22 is marked uncollectible with no failure heard: past
	// due since then, held after the grace, and restored once it is
	// voided (forgiven); a late uncollectible after the void is stale.
	h.ok(t, invoiceEvent(t, "evt_22_uncollectible", "invoice.marked_uncollectible", "in_22", "cus_haidian", t0, nil))
	h.process(t)
	h.clock.Add(DefaultGrace)
	h.sweep(t)
	if held := h.holds.heldCounties(); !slices.Contains(held, haidian) {
		t.Fatalf("an uncollectible invoice past the grace holds nothing: %v", held)
	}
	h.ok(t, invoiceEvent(t, "evt_22_voided", "invoice.voided", "in_22", "cus_haidian", t0.Add(time.Hour), nil))
	h.process(t)
	h.ok(t, invoiceEvent(t, "evt_22_uncollectible_late", "invoice.marked_uncollectible", "in_22", "cus_haidian", t0.Add(30*time.Minute), nil))
	h.process(t)
	if s := h.standing(t, haidian); s.Standing != StandingGood || len(s.Held) != 0 || slices.Contains(h.holds.heldCounties(), haidian) {
		t.Errorf("Haidian once its invoice is voided: %+v, held %v", s, h.holds.heldCounties())
	}
	want := []string{"evt_20_failed stale", "evt_20_voided applied", "evt_21_failed applied", "evt_21_failed_older stale", "evt_21_uncollectible applied",
		"evt_22_uncollectible applied", "evt_22_uncollectible_late stale", "evt_22_voided applied"}
	if got := h.outcomes(t); !slices.Equal(got, want) {
		t.Errorf("events: %v, want %v", got, want)
	}
}
