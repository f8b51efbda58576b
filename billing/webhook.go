package billing

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/countycloud/countycloud/core/config"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// WebhookPath is where Stripe delivers events; register it in Stripe's
// dashboard with the API version the library pins (stripe.APIVersion).
const WebhookPath = "/v1/billing/stripe/webhook"

// MaxWebhookBody is the largest event accepted. Stripe's events are a few
// kilobytes; an invoice with many lines stays well under this.
const MaxWebhookBody = 256 << 10

// maxEventID bounds an event's id, which names its job (keys of at most
// 191 bytes). Stripe's ids are about 30 characters.
const maxEventID = 160

// DefaultGrace is how long an account may stay past due before the
// counties it pays for become read-only: the server's --billing-grace
// default.
const DefaultGrace = config.DefaultBillingGrace

// Codes of the webhook's refusals.
const (
	CodeWebhookTooLarge   = "stripe_webhook_too_large"
	CodeWebhookSignature  = "stripe_webhook_signature_invalid"
	CodeWebhookAPIVersion = "stripe_webhook_api_version"
	CodeWebhookInvalid    = "stripe_webhook_invalid"
	CodeWebhookOff        = "stripe_webhook_not_configured"
)

// Job kinds of the webhooks. JobProcessEvent applies one stored event;
// it is queued in the transaction that stores the event. JobWebhookSweep,
// on a schedule, brings every account's holds in line with its standing
// and the clock (the grace).
const (
	JobProcessEvent    = "billing.webhook.process"
	JobWebhookSweep    = "billing.webhook.sweep"
	WebhookSweepEvery  = time.Minute
	processMaxAttempts = 30
)

// Outcomes of a processed event.
const (
	OutcomeApplied = "applied"
	OutcomeIgnored = "ignored"
	OutcomeStale   = "stale"
)

// Holder holds and lifts a county's billing hold (registry.Service).
type Holder interface {
	Hold(ctx context.Context, code, reason string) (registry.Tenant, error)
	Unhold(ctx context.Context, code string) (registry.Tenant, error)
}

// WebhookConfig configures the webhook endpoint and the grace.
type WebhookConfig struct {
	// Secret is the endpoint's signing secret (whsec_…, from the
	// environment only); without one every delivery is refused.
	Secret string
	// Grace is how long an account stays past due before its counties
	// are held; DefaultGrace when zero.
	Grace time.Duration
	// OneTrip stores an event and queues its job in one round trip to
	// the database (a transaction sent whole) instead of four; Receive
	// needs it.
	OneTrip *store.OneTrip
}

// EventHandler applies an event of a type billing leaves to others (a
// subscription's) in tx, the transaction that marks the event processed,
// for account, the event's customer's. It returns what it did, kept as
// the event's outcome and note; an error rolls the event back to be
// tried again.
type EventHandler func(ctx context.Context, tx *sqlx.Tx, account Account, event stripe.Event) (EventResult, error)

// EventResult is what a handler did with an event: OutcomeApplied,
// OutcomeIgnored (not the platform's, or not this account's) or
// OutcomeStale (older than what is known), and why.
type EventResult struct {
	Outcome, Note string
}

// Types of the subscription events, which billing receives and leaves to
// the lifecycle's handlers (Webhooks.Handle, SubscriptionEvents).
const (
	EventSubscriptionUpdated      = "customer.subscription.updated"
	EventSubscriptionDeleted      = "customer.subscription.deleted"
	EventSubscriptionTrialWillEnd = "customer.subscription.trial_will_end"
)

var subscriptionEvents = []string{EventSubscriptionUpdated, EventSubscriptionDeleted, EventSubscriptionTrialWillEnd}

// Webhooks receives Stripe's events, stores them first and applies them
// from durable jobs: invoices paid and failed move an account's
// standing, and an account past due beyond its grace has its counties
// held until it pays.
type Webhooks struct {
	svc      *Service
	cfg      WebhookConfig
	holds    Holder
	handlers map[string]EventHandler
	seen     *seenEvents
}

// NewWebhooks returns the webhooks of svc, holding counties through holds.
func NewWebhooks(svc *Service, cfg WebhookConfig, holds Holder) *Webhooks {
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	return &Webhooks{svc: svc, cfg: cfg, holds: holds, handlers: map[string]EventHandler{}, seen: newSeenEvents(seenCapacity)}
}

// Handle makes h apply the events of eventType, one of the subscription
// events; call it before serving. Other types are billing's own.
func (w *Webhooks) Handle(eventType string, h EventHandler) error {
	for _, t := range subscriptionEvents {
		if t == eventType {
			w.handlers[eventType] = h
			return nil
		}
	}
	return fmt.Errorf("billing handles no %q events through a hook", eventType)
}

// Jobs are the handlers of the webhooks' job kinds.
func (w *Webhooks) Jobs() map[string]jobs.Handler {
	return map[string]jobs.Handler{JobProcessEvent: w.ProcessJob, JobWebhookSweep: w.SweepJob}
}

// WebhookSchedules are the webhooks' recurring jobs.
func WebhookSchedules() []jobs.Schedule {
	return []jobs.Schedule{{Kind: JobWebhookSweep, Every: WebhookSweepEvery}}
}

// Routes serves the endpoint Stripe calls:
//
//	POST /v1/billing/stripe/webhook   an event, signed (Stripe-Signature)
//
// It takes no platform token: the signature is its authentication.
func (w *Webhooks) Routes() []kit.Route {
	// The route's body limit is one byte over the webhook's, so that the
	// handler itself sees a body too large and refuses it in its words.
	return []kit.Route{{Method: http.MethodPost, Pattern: WebhookPath, Name: "billing.stripe.webhook", Handler: http.HandlerFunc(w.serve), MaxBody: MaxWebhookBody + 1}}
}

// Received is the answer to a delivery: Stripe needs only a 2xx.
type Received struct {
	Event     string `json:"event"`
	Duplicate bool   `json:"duplicate"`
}

func (w *Webhooks) serve(rw http.ResponseWriter, r *http.Request) {
	encode := kit.ErrorEncoder(w.svc.log)
	got, err := w.Receive(r.Context(), r.Body, r.Header.Get("Stripe-Signature"))
	if err != nil {
		encode(r.Context(), err, rw)
		return
	}
	if err := kit.EncodeJSON(http.StatusOK)(r.Context(), rw, got); err != nil {
		w.svc.log.WarnContext(r.Context(), "answering Stripe failed", "event", got.Event, "err", err)
	}
}

// Receive verifies a delivery's raw body against its Stripe-Signature
// header, stores the event unless it was stored before and queues its
// processing. Nothing is stored for a delivery it refuses.
func (w *Webhooks) Receive(ctx context.Context, body io.Reader, signature string) (Received, error) {
	if w.cfg.Secret == "" {
		// An empty secret would verify whatever is signed with it.
		return Received{}, errs.Unavailable(nil, CodeWebhookOff, "未配置 Stripe 签名密钥 / no signing secret for Stripe's webhooks is configured")
	}
	payload, err := io.ReadAll(io.LimitReader(body, MaxWebhookBody+1))
	var tooLarge *http.MaxBytesError
	if len(payload) > MaxWebhookBody || errors.As(err, &tooLarge) {
		return Received{}, errs.E(errs.KindTooLarge, CodeWebhookTooLarge, "事件超过 %d 字节 / the event is over %d bytes", MaxWebhookBody, MaxWebhookBody)
	}
	if err != nil {
		return Received{}, errs.Invalid(CodeWebhookInvalid, "读取事件失败 / reading the event failed: %v", err)
	}
	if err := w.authenticate(payload, signature); err != nil {
		return Received{}, err
	}
	// A delivery whose very bytes were stored lately, now signed anew (a
	// retry of Stripe's), passed every check below then: it is answered
	// from memory, without reading the event again.
	sum := sha256.Sum256(payload)
	if id, ok := w.seen.event(sum); ok {
		return Received{Event: id, Duplicate: true}, nil
	}
	event, err := read(payload)
	if err != nil {
		return Received{}, err
	}
	if w.seen.has(event.ID) {
		// The same event in other bytes (Stripe's count of its pending
		// deliveries, say, changed since).
		w.seen.add(sum, event.ID)
		return Received{Event: event.ID, Duplicate: true}, nil
	}
	stored, err := w.store(ctx, event, payload)
	if err != nil {
		return Received{}, err
	}
	w.seen.add(sum, event.ID)
	return Received{Event: event.ID, Duplicate: !stored}, nil
}

// authenticate checks the signature and the timestamp's age (the
// library's tolerance), as webhook.ConstructEvent does before it reads
// the event.
func (w *Webhooks) authenticate(payload []byte, signature string) error {
	err := webhook.ValidatePayloadWithTolerance(payload, signature, w.cfg.Secret, webhook.DefaultTolerance)
	switch {
	case errors.Is(err, webhook.ErrTooOld):
		return errs.Invalid(CodeWebhookSignature, "签名的时间戳超出 %s 容差 / the signature's timestamp is older than the tolerance of %s", webhook.DefaultTolerance, webhook.DefaultTolerance)
	case err != nil:
		return errs.Invalid(CodeWebhookSignature, "签名无效 / the signature does not verify: %v", err)
	}
	return nil
}

// read reads an authenticated event as webhook.ConstructEvent does,
// checking its API version (the library's, which the endpoint is
// registered with: an event of another version would be read wrongly),
// and that it has an id and a type.
func read(payload []byte) (stripe.Event, error) {
	var event stripe.Event
	if err := json.Unmarshal(payload, &event); err != nil {
		return stripe.Event{}, errs.Invalid(CodeWebhookInvalid, "事件不是 Stripe 事件的 JSON / the event is not a Stripe event's JSON")
	}
	if event.APIVersion != stripe.APIVersion {
		if event.ID == "" {
			return stripe.Event{}, errs.Invalid(CodeWebhookInvalid, "事件不是 Stripe 事件的 JSON / the event is not a Stripe event's JSON")
		}
		return stripe.Event{}, errs.Invalid(CodeWebhookAPIVersion, "事件的 API 版本为 %q，端点固定为 %s / the event's API version is %q; the endpoint is pinned to %s", event.APIVersion, stripe.APIVersion, event.APIVersion, stripe.APIVersion)
	}
	if event.ID == "" || len(event.ID) > maxEventID || event.Type == "" || len(event.Type) > 128 {
		return stripe.Event{}, errs.Invalid(CodeWebhookInvalid, "事件须有 id 和 type / an event has an id and a type")
	}
	return event, nil
}

// store keeps the event and queues its processing in one transaction,
// sent whole (OneTrip); false says it was kept before. The event's id is
// the primary key: of two deliveries stored at once, one inserts and the
// other finds it there, its INSERT stopping the transaction.
func (w *Webhooks) store(ctx context.Context, e stripe.Event, payload []byte) (bool, error) {
	job, err := jobs.Statement(processSpec(e.ID))
	if err != nil {
		return false, fmt.Errorf("store Stripe event %s: %w", e.ID, err)
	}
	err = w.cfg.OneTrip.Tx(ctx, store.Statement{Query: insertEvent, Args: []any{e.ID, string(e.Type), e.Created, string(payload), w.svc.now().UTC()}}, job)
	switch {
	case store.IsDuplicate(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("store Stripe event %s: %w", e.ID, err)
	}
	return true, nil
}

const insertEvent = "INSERT INTO billing_webhook_events (id, type, stripe_created, body, received_at) VALUES (?, ?, ?, ?, ?)"

type processPayload struct {
	Event string `json:"event"`
}

func processSpec(event string) jobs.Spec {
	return jobs.Spec{Kind: JobProcessEvent, Key: JobProcessEvent + "@" + event, Payload: processPayload{Event: event}, MaxAttempts: processMaxAttempts}
}

// seenCapacity is how many deliveries a replica remembers: Stripe
// retries a delivery for up to three days, and a busy day is a few
// thousand events.
const seenCapacity = 1 << 16

// seenEvents remembers the last events stored or found stored, by their
// ids and by the SHA-256 of their bodies, oldest forgotten first.
type seenEvents struct {
	mu     sync.Mutex
	bodies map[[sha256.Size]byte]string
	ids    map[string]struct{}
	ring   []seenEvent
	next   int
}

type seenEvent struct {
	body [sha256.Size]byte
	id   string
}

func newSeenEvents(capacity int) *seenEvents {
	return &seenEvents{bodies: make(map[[sha256.Size]byte]string, capacity), ids: make(map[string]struct{}, capacity), ring: make([]seenEvent, capacity)}
}

// event is the id of the event whose body hashes to body, if known.
func (s *seenEvents) event(body [sha256.Size]byte) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.bodies[body]
	return id, ok
}

func (s *seenEvents) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[id]
	return ok
}

func (s *seenEvents) add(body [sha256.Size]byte, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.bodies[body]; ok {
		return
	}
	old := s.ring[s.next]
	delete(s.bodies, old.body)
	delete(s.ids, old.id)
	s.ring[s.next] = seenEvent{body: body, id: id}
	s.bodies[body] = id
	s.ids[id] = struct{}{}
	s.next = (s.next + 1) % len(s.ring)
}
