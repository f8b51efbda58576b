package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
)

// JobTrialNotice mails the paying office that a county's trial ends soon;
// it is queued in the transaction that applies trial_will_end.
const (
	JobTrialNotice         = "billing.trial_notice"
	trialNoticeMaxAttempts = 20
)

// ActionTrialWillEnd is the entry in the province's trail that a
// county's trial ends soon: the province's operators keep billing.
const ActionTrialWillEnd = "billing.subscription.trial_will_end"

// Mailer sends an e-mail straight to its address (notify's Mailer).
type Mailer interface {
	Send(ctx context.Context, m notify.Outgoing) (ref string, err error)
}

// SubscriptionEvents applies Stripe's events about the counties'
// subscriptions to them as the lifecycle keeps them: updated records
// Stripe's status and periods, deleted ends the subscription, and
// trial_will_end tells the paying office. An event about a subscription
// the platform did not make, or that another account pays for, is
// ignored; one older than the last applied is stale.
type SubscriptionEvents struct {
	billing *Service
	mail    Mailer
}

// NewSubscriptionEvents returns the handlers of the subscriptions of
// life; mail (nil without a mail server) sends the trial's notices.
func NewSubscriptionEvents(life *Lifecycle, mail Mailer) *SubscriptionEvents {
	return &SubscriptionEvents{billing: life.billing, mail: mail}
}

// Handlers are the handlers of the subscription events, by type, for
// Webhooks.Handle.
func (s *SubscriptionEvents) Handlers() map[string]EventHandler {
	return map[string]EventHandler{EventSubscriptionUpdated: s.updated, EventSubscriptionDeleted: s.deleted, EventSubscriptionTrialWillEnd: s.trialWillEnd}
}

// Jobs are the handlers of the job kinds the events queue.
func (s *SubscriptionEvents) Jobs() map[string]jobs.Handler {
	return map[string]jobs.Handler{JobTrialNotice: s.TrialNoticeJob}
}

// eventSubscription is a county's subscription as an event finds it.
type eventSubscription struct {
	County       string     `db:"county_code"`
	Account      *string    `db:"account_code"`
	State        string     `db:"state"`
	TrialEnd     time.Time  `db:"trial_end"`
	EventCreated *int64     `db:"stripe_event_created"`
	EventID      *string    `db:"stripe_event_id"`
	EndedAt      *time.Time `db:"ended_at"`
}

// maxStripeStatus is the longest status kept (stripe_status).
const maxStripeStatus = 32

// lastStripeTime bounds the times kept (DATETIME ends with year 9999).
var lastStripeTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC).Unix()

// readSubscription reads a subscription event's object: its id, status,
// metadata and times (Unix seconds, 0 for none), refusing what no
// subscription of Stripe's holds.
func readSubscription(raw []byte) (stripe.Subscription, error) {
	var obj stripe.Subscription
	if err := json.Unmarshal(raw, &obj); err != nil {
		return obj, fmt.Errorf("not a subscription: %w", err)
	}
	switch {
	case obj.ID == "" || len(obj.ID) > maxStripeID:
		return obj, fmt.Errorf("a subscription's id is 1 to %d bytes", maxStripeID)
	case len(obj.Status) > maxStripeStatus:
		return obj, fmt.Errorf("a status over %d bytes is no Stripe status", maxStripeStatus)
	case obj.LatestInvoice != nil && len(obj.LatestInvoice.ID) > maxStripeID:
		return obj, fmt.Errorf("an invoice's id is at most %d bytes", maxStripeID)
	}
	for _, t := range []int64{obj.CurrentPeriodEnd, obj.TrialEnd, obj.EndedAt} {
		if t < 0 || t > lastStripeTime {
			return obj, fmt.Errorf("the time %d is out of range", t)
		}
	}
	return obj, nil
}

// find reads and locks the subscription e is about, or says why e is not
// applied to any: a subscription the platform does not know by its id,
// one another account pays for, or one other than the county its
// metadata names.
func (s *SubscriptionEvents) find(ctx context.Context, tx *sqlx.Tx, account Account, e stripe.Event) (stripe.Subscription, eventSubscription, *EventResult, error) {
	var row eventSubscription
	if e.Data == nil {
		return stripe.Subscription{}, row, &EventResult{OutcomeIgnored, "the event has no object"}, nil
	}
	obj, err := readSubscription(e.Data.Raw)
	if err != nil {
		return obj, row, &EventResult{OutcomeIgnored, err.Error()}, nil
	}
	err = tx.GetContext(ctx, &row, "SELECT county_code, account_code, state, trial_end, stripe_event_created, stripe_event_id, ended_at FROM billing_subscriptions WHERE stripe_subscription_id = ? FOR UPDATE", obj.ID)
	if errors.Is(err, sql.ErrNoRows) {
		if err := s.awaitingID(ctx, tx, account, obj); err != nil {
			return obj, row, nil, err
		}
		return obj, row, &EventResult{OutcomeIgnored, "the platform made no subscription " + obj.ID}, nil
	}
	if err != nil {
		return obj, row, nil, fmt.Errorf("read subscription %s: %w", obj.ID, err)
	}
	if row.Account == nil || *row.Account != account.Code {
		return obj, row, &EventResult{OutcomeIgnored, fmt.Sprintf("subscription %s is county %s's, which account %s does not pay for", obj.ID, row.County, account.Code)}, nil
	}
	if named := obj.Metadata[MetadataCounty]; named != "" && named != row.County {
		return obj, row, &EventResult{OutcomeIgnored, fmt.Sprintf("subscription %s is county %s's, but names %s", obj.ID, row.County, named)}, nil
	}
	return obj, row, nil, nil
}

// errIDNotRecorded says an event is about a subscription the outbox made
// whose id it has not recorded yet: Stripe made it and sent the event
// before the outbox recorded its answer. The event's job tries again.
var errIDNotRecorded = errors.New("the subscription's id is not recorded yet")

// awaitingID returns errIDNotRecorded when obj, which no county's
// subscription has the id of, may still be the platform's: the county
// its metadata names, which account pays for, has a subscription made at
// Stripe whose id is not recorded yet.
func (s *SubscriptionEvents) awaitingID(ctx context.Context, tx *sqlx.Tx, account Account, obj stripe.Subscription) error {
	county := obj.Metadata[MetadataCounty]
	if county != "" {
		var waiting int
		err := tx.GetContext(ctx, &waiting, "SELECT COUNT(*) FROM billing_subscriptions WHERE county_code = ? AND account_code = ? AND created AND stripe_subscription_id IS NULL", county, account.Code)
		if err != nil {
			return fmt.Errorf("read the subscription of %s: %w", county, err)
		}
		if waiting > 0 {
			return fmt.Errorf("subscription %s of %s: %w", obj.ID, county, errIDNotRecorded)
		}
	}
	return nil
}

// stale says why e changes nothing of row: the subscription ended, or a
// later event was applied to it.
func stale(row eventSubscription, e stripe.Event) *EventResult {
	switch {
	case row.State == StateEnded:
		return &EventResult{OutcomeStale, "the subscription of " + row.County + " has ended"}
	case row.EventCreated != nil && e.Created < *row.EventCreated:
		return &EventResult{OutcomeStale, fmt.Sprintf("older than %s, which the subscription of %s is at", *row.EventID, row.County)}
	}
	return nil
}

// unixOrNil is t as a time, nil for Stripe's 0 (none).
func unixOrNil(t int64) *time.Time {
	if t == 0 {
		return nil
	}
	u := time.Unix(t, 0).UTC()
	return &u
}

// updated records Stripe's status, current period and trial end; a
// status of canceled ends the subscription, as deleted does. A status of
// past_due or unpaid is how Stripe says that an invoice sent was not paid
// by its due date: its latest invoice is overdue, which makes the account
// past due (the grace runs from the event) until it is paid or voided.
func (s *SubscriptionEvents) updated(ctx context.Context, tx *sqlx.Tx, account Account, e stripe.Event) (EventResult, error) {
	if r, seats, err := s.seatsUpdated(ctx, tx, account, e); seats || err != nil {
		return r, err
	}
	obj, row, skip, err := s.find(ctx, tx, account, e)
	if err != nil || skip != nil {
		return deref(skip), err
	}
	if r := stale(row, e); r != nil {
		return *r, nil
	}
	if obj.Status == stripe.SubscriptionStatusCanceled {
		return s.end(ctx, tx, obj, row, e)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_subscriptions SET stripe_status = ?, current_period_end = ?, stripe_trial_end = ?,
stripe_event_created = ?, stripe_event_id = ?, updated_at = ? WHERE county_code = ?`,
		string(obj.Status), unixOrNil(obj.CurrentPeriodEnd), unixOrNil(obj.TrialEnd), e.Created, e.ID, s.billing.now().UTC(), row.County); err != nil {
		return EventResult{}, fmt.Errorf("record the subscription of %s: %w", row.County, err)
	}
	note := "subscription of " + row.County + " " + string(obj.Status)
	r, overdue, err := s.overdue(ctx, tx, account, obj, e)
	if overdue {
		note += "; " + r.note
	}
	return EventResult{OutcomeApplied, note}, err
}

// overdue records the latest invoice of obj overdue when its status says
// it was not paid by its due date (past_due, unpaid); false when it does
// not.
func (s *SubscriptionEvents) overdue(ctx context.Context, tx *sqlx.Tx, account Account, obj stripe.Subscription, e stripe.Event) (result, bool, error) {
	unpaidStatus := obj.Status == stripe.SubscriptionStatusPastDue || obj.Status == stripe.SubscriptionStatusUnpaid
	if !unpaidStatus || obj.LatestInvoice == nil || obj.LatestInvoice.ID == "" {
		return result{}, false, nil
	}
	r, err := s.billing.recordInvoice(ctx, tx, account.Code, obj.LatestInvoice.ID, invoiceOverdue, e)
	return r, true, err
}

// seatsUpdated applies an update of account's seat subscription (one per
// account, billing_seat_subscriptions), true when e is about it: its
// invoices are the account's as the counties' are, so one unpaid by its
// due date makes the account past due. Nothing else of it is kept.
func (s *SubscriptionEvents) seatsUpdated(ctx context.Context, tx *sqlx.Tx, account Account, e stripe.Event) (EventResult, bool, error) {
	if e.Data == nil {
		return EventResult{}, false, nil
	}
	obj, err := readSubscription(e.Data.Raw)
	if err != nil {
		return EventResult{}, false, nil
	}
	var n int
	if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM billing_seat_subscriptions WHERE stripe_subscription_id = ? AND account_code = ?", obj.ID, account.Code); err != nil {
		return EventResult{}, false, fmt.Errorf("read the seat subscription of %s: %w", account.Code, err)
	}
	if n == 0 {
		return EventResult{}, false, nil
	}
	r, overdue, err := s.overdue(ctx, tx, account, obj, e)
	if err != nil || !overdue {
		return EventResult{OutcomeIgnored, "the seat subscription of " + account.Code + " is " + string(obj.Status) + ": nothing to record"}, true, err
	}
	return EventResult{r.outcome, "the seat subscription of " + account.Code + " " + string(obj.Status) + "; " + r.note}, true, nil
}

// deleted ends the subscription: Stripe deleted it, whenever the event
// says so, so an end is never stale by its time, only by an end before.
func (s *SubscriptionEvents) deleted(ctx context.Context, tx *sqlx.Tx, account Account, e stripe.Event) (EventResult, error) {
	obj, row, skip, err := s.find(ctx, tx, account, e)
	if err != nil || skip != nil {
		return deref(skip), err
	}
	if row.State == StateEnded {
		return EventResult{OutcomeStale, "the subscription of " + row.County + " has ended"}, nil
	}
	return s.end(ctx, tx, obj, row, e)
}

func (s *SubscriptionEvents) end(ctx context.Context, tx *sqlx.Tx, obj stripe.Subscription, row eventSubscription, e stripe.Event) (EventResult, error) {
	ended := unixOrNil(obj.EndedAt)
	if ended == nil {
		ended = unixOrNil(e.Created)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_subscriptions SET state = ?, stripe_status = ?, ended_at = ?, current_period_end = ?,
stripe_event_created = GREATEST(COALESCE(stripe_event_created, 0), ?), stripe_event_id = ?, updated_at = ? WHERE county_code = ?`,
		StateEnded, string(stripe.SubscriptionStatusCanceled), ended, unixOrNil(obj.CurrentPeriodEnd), e.Created, e.ID, s.billing.now().UTC(), row.County); err != nil {
		return EventResult{}, fmt.Errorf("end the subscription of %s: %w", row.County, err)
	}
	s.billing.log.WarnContext(ctx, "Stripe ended a county's subscription", "county", row.County, "subscription", obj.ID, "event", e.ID)
	return EventResult{OutcomeApplied, "subscription of " + row.County + " ended"}, nil
}

// trialNoticePayload is what the notice says and to whom.
type trialNoticePayload struct {
	Event    string `json:"event"`
	Account  string `json:"account"`
	County   string `json:"county"`
	TrialEnd string `json:"trial_end"`
}

// trialWillEnd tells the paying office that the county's trial ends soon
// (Stripe sends it three days before): an entry in the province's trail,
// in the event's transaction, and an e-mail to the account's address,
// from a job queued in it. A trial the rollout ended already (formal
// operation started) needs no notice.
func (s *SubscriptionEvents) trialWillEnd(ctx context.Context, tx *sqlx.Tx, account Account, e stripe.Event) (EventResult, error) {
	obj, row, skip, err := s.find(ctx, tx, account, e)
	if err != nil || skip != nil {
		return deref(skip), err
	}
	if r := stale(row, e); r != nil {
		return *r, nil
	}
	if row.State != StateTrialing {
		return EventResult{OutcomeStale, "the trial of " + row.County + " has ended: it is in formal operation"}, nil
	}
	end := row.TrialEnd.Format(time.DateOnly)
	if t := unixOrNil(obj.TrialEnd); t != nil {
		end = t.In(china).Format(time.DateOnly)
	}
	entry := audit.New(audit.WithActor(ctx, audit.Actor{Kind: "system", Login: "stripe"}), ActionTrialWillEnd, "county", row.County, nil, map[string]string{"account": account.Code, "trial_end": end, "event": e.ID})
	entry.At = s.billing.now().UTC()
	if err := audit.Write(ctx, tx, entry); err != nil {
		return EventResult{}, err
	}
	if _, err := jobs.EnqueueIn(ctx, tx, jobs.Spec{Kind: JobTrialNotice, Key: JobTrialNotice + "@" + e.ID, MaxAttempts: trialNoticeMaxAttempts,
		Payload: trialNoticePayload{Event: e.ID, Account: account.Code, County: row.County, TrialEnd: end}}); err != nil {
		return EventResult{}, fmt.Errorf("queue the trial's notice of %s: %w", row.County, err)
	}
	return EventResult{OutcomeApplied, "the trial of " + row.County + " ends " + end + ": " + account.Code + " told"}, nil
}

func deref(r *EventResult) EventResult {
	if r == nil {
		return EventResult{}
	}
	return *r
}

// TrialNoticeJob mails the paying office that a county's trial ends. The
// event's id is the message's identity, so a job run again after a lost
// answer sends a message the receiving server can drop. Without a mail
// server or an address the trail's entry is the notice.
func (s *SubscriptionEvents) TrialNoticeJob(ctx context.Context, j jobs.Job) error {
	var p trialNoticePayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	a, err := s.billing.Account(ctx, p.Account)
	if err != nil {
		return err
	}
	if s.mail == nil || a.Email == "" {
		s.billing.log.WarnContext(ctx, "a county's trial ends soon; its paying office has no e-mail to tell (no mail server or no address): the province's trail has it", "county", p.County, "account", p.Account, "trial_end", p.TrialEnd)
		return nil
	}
	_, err = s.mail.Send(ctx, notify.Outgoing{Key: "billing-trial-" + p.Event, To: a.Email,
		Subject: fmt.Sprintf("%s 试运行将于 %s 结束 / The trial of %s ends on %s", p.County, p.TrialEnd, p.County, p.TrialEnd),
		Body: fmt.Sprintf("%s：\n\n%s 的试运行将于 %s 结束，此后转入正式运行并开始计费，账单寄往本账户（%s）。\n\n"+
			"%s:\n\nThe trial of %s ends on %s; formal operation, and billing, start then, invoiced to this account (%s).\n",
			a.Name, p.County, p.TrialEnd, a.Code, a.Name, p.County, p.TrialEnd, a.Code)})
	if err != nil {
		return fmt.Errorf("mail the trial's notice of %s to %s: %w", p.County, a.Code, err)
	}
	return nil
}
