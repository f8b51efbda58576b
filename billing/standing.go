package billing

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v76"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Standings of an account.
const (
	StandingGood    = "good"
	StandingPastDue = "past_due"
)

// Invoice events billing applies itself.
const (
	eventInvoicePaid          = "invoice.paid"
	eventInvoiceFailed        = "invoice.payment_failed"
	eventInvoiceVoided        = "invoice.voided"
	eventInvoiceUncollectible = "invoice.marked_uncollectible"
)

// States of an invoice as billing_invoice_payments keeps it, by the
// event that said so. Paid and void are final at Stripe (a paid invoice
// cannot be voided, a void one cannot be paid): nothing after moves them.
//
// A voided invoice is no longer owed: Stripe voids an invoice issued in
// error, and the platform's operator voids one to forgive it; it stops
// counting against the account, as a payment does.
//
// An uncollectible invoice is still unpaid. Stripe's "uncollectible" is
// the seller writing the debt off in its own books, and the invoice can
// still be paid (or voided) after; a government's books still owe it,
// and the county must not get back what it did not pay for by the seller
// giving up on the money. It counts as a failure: the account stays past
// due (since its first failure, or since it was marked when no failure
// was heard), and it is restored once the invoice is paid or voided.
//
// An overdue invoice is one a subscription's past_due or unpaid status
// names (its latest invoice): the platform's invoices are sent
// (collection_method send_invoice), Stripe attempts no payment of them,
// and an invoice not paid by its due date fails no payment; the
// subscription's status is what says so. It is unpaid, as a failure is.
const (
	invoicePaid          = "paid"
	invoiceFailed        = "failed"
	invoiceVoid          = "void"
	invoiceUncollectible = "uncollectible"
	invoiceOverdue       = "overdue"
)

// unpaid says whether an invoice in state counts against its account.
func unpaid(state string) bool {
	return state == invoiceFailed || state == invoiceUncollectible || state == invoiceOverdue
}

// invoiceStates are the states of the invoice events.
var invoiceStates = map[string]string{eventInvoicePaid: invoicePaid, eventInvoiceFailed: invoiceFailed, eventInvoiceVoided: invoiceVoid, eventInvoiceUncollectible: invoiceUncollectible}

// Metadata keys by which an invoice or a subscription names the account
// and the county it is for; an event whose names disagree with its
// customer's account is ignored, never applied to another county.
const (
	MetadataAccount = "countycloud_account"
	MetadataCounty  = "countycloud_county"
)

// maxStripeID is the longest id of an invoice or a customer kept.
const maxStripeID = 255

// eventObject is what billing reads of an event's object.
type eventObject struct {
	ID, Customer, Account, County string
}

// parseObject reads the id, the customer (an id, or an expanded object)
// and the platform's metadata of an event's object.
func parseObject(raw []byte) (eventObject, error) {
	var o struct {
		ID       string            `json:"id"`
		Customer json.RawMessage   `json:"customer"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return eventObject{}, fmt.Errorf("the event's object: %w", err)
	}
	if o.ID == "" {
		return eventObject{}, errors.New("the event's object has no id")
	}
	var customer string
	if c := bytes.TrimSpace(o.Customer); len(c) > 0 && c[0] == '{' {
		var expanded struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(c, &expanded); err != nil {
			return eventObject{}, fmt.Errorf("the event's customer: %w", err)
		}
		customer = expanded.ID
	} else if len(c) > 0 && !bytes.Equal(c, []byte("null")) {
		if err := json.Unmarshal(c, &customer); err != nil {
			return eventObject{}, fmt.Errorf("the event's customer: %w", err)
		}
	}
	if customer == "" {
		return eventObject{}, errors.New("the event's object names no customer")
	}
	// Stripe's ids are short; one longer than its column is no Stripe id.
	if len(o.ID) > maxStripeID || len(customer) > maxStripeID {
		return eventObject{}, fmt.Errorf("the event's object or customer id is over %d bytes", maxStripeID)
	}
	return eventObject{ID: o.ID, Customer: customer, Account: o.Metadata[MetadataAccount], County: o.Metadata[MetadataCounty]}, nil
}

// storedEvent is an event as billing_webhook_events keeps it.
type storedEvent struct {
	ID          string     `db:"id"`
	Type        string     `db:"type"`
	Body        string     `db:"body"`
	ProcessedAt *time.Time `db:"processed_at"`
	Outcome     *string    `db:"outcome"`
	Account     *string    `db:"account_code"`
}

// result is what processing an event did.
type result struct {
	outcome, account, note string
}

// ProcessJob applies the job's stored event once: in one transaction it
// applies it and marks it processed, so a job run again after a crash
// finds it processed. Then the account's holds are brought in line with
// its standing (which the sweep does too, should this process die here).
func (w *Webhooks) ProcessJob(ctx context.Context, j jobs.Job) error {
	var p processPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	var account string
	err := store.InTx(ctx, w.svc.db, nil, func(tx *sqlx.Tx) error {
		var ev storedEvent
		err := tx.GetContext(ctx, &ev, "SELECT id, type, body, processed_at, outcome, account_code FROM billing_webhook_events WHERE id = ? FOR UPDATE", p.Event)
		if errors.Is(err, sql.ErrNoRows) {
			return jobs.Permanent(fmt.Errorf("Stripe event %s is not stored", p.Event))
		}
		if err != nil {
			return fmt.Errorf("read Stripe event %s: %w", p.Event, err)
		}
		if ev.ProcessedAt != nil {
			if ev.Outcome != nil && *ev.Outcome == OutcomeApplied && ev.Account != nil {
				account = *ev.Account
			}
			return nil
		}
		r, err := w.apply(ctx, tx, ev)
		if err != nil {
			return err
		}
		if r.outcome != OutcomeApplied {
			w.svc.log.InfoContext(ctx, "a Stripe event was not applied", "event", ev.ID, "type", ev.Type, "outcome", r.outcome, "account", r.account, "why", r.note)
		} else {
			account = r.account
		}
		var acct *string
		if r.account != "" {
			acct = &r.account
		}
		_, err = tx.ExecContext(ctx, "UPDATE billing_webhook_events SET processed_at = ?, outcome = ?, account_code = ?, note = ? WHERE id = ?",
			w.svc.now().UTC(), r.outcome, acct, truncate(r.note, 512), ev.ID)
		return err
	})
	if err != nil || account == "" {
		return err
	}
	return w.reconcile(ctx, account)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// apply applies ev in tx, or says why it is not applied.
func (w *Webhooks) apply(ctx context.Context, tx *sqlx.Tx, ev storedEvent) (result, error) {
	var e stripe.Event
	if err := json.Unmarshal([]byte(ev.Body), &e); err != nil {
		return result{outcome: OutcomeIgnored, note: "unreadable: " + err.Error()}, nil
	}
	_, invoice := invoiceStates[ev.Type]
	if !invoice && !slices.Contains(subscriptionEvents, ev.Type) {
		return result{outcome: OutcomeIgnored, note: "billing does not handle " + ev.Type}, nil
	}
	var raw []byte
	if e.Data != nil {
		raw = e.Data.Raw
	}
	obj, err := parseObject(raw)
	if err != nil {
		return result{outcome: OutcomeIgnored, note: err.Error()}, nil
	}
	var a Account
	err = tx.GetContext(ctx, &a, "SELECT "+accountColumns+" FROM billing_accounts WHERE stripe_customer_id = ?", obj.Customer)
	if errors.Is(err, sql.ErrNoRows) {
		return result{outcome: OutcomeIgnored, note: "no account has the customer " + obj.Customer}, nil
	}
	if err != nil {
		return result{}, fmt.Errorf("the account of customer %s: %w", obj.Customer, err)
	}
	if err := w.svc.readCounties(ctx, tx, &a); err != nil {
		return result{}, err
	}
	if obj.Account != "" && obj.Account != a.Code {
		return result{outcome: OutcomeIgnored, account: a.Code, note: fmt.Sprintf("names account %s, but its customer is %s's", obj.Account, a.Code)}, nil
	}
	if obj.County != "" && !slices.Contains(a.Counties, obj.County) {
		return result{outcome: OutcomeIgnored, account: a.Code, note: fmt.Sprintf("names county %s, which account %s does not pay for", obj.County, a.Code)}, nil
	}
	if !invoice {
		h := w.handlers[ev.Type]
		if h == nil {
			// cmd/countycloud registers the lifecycle's handlers; a
			// server without them keeps the event, body and all.
			return result{outcome: OutcomeIgnored, account: a.Code, note: "no handler of " + ev.Type + " is registered"}, nil
		}
		r, err := h(ctx, tx, a, e)
		if err != nil {
			return result{}, fmt.Errorf("%s %s: %w", ev.Type, ev.ID, err)
		}
		return result{outcome: r.Outcome, account: a.Code, note: r.Note}, nil
	}
	return w.svc.recordInvoice(ctx, tx, a.Code, obj.ID, invoiceStates[ev.Type], e)
}

// recordInvoice records that invoice is in state (paid, failed, void,
// uncollectible or overdue) as event e says, unless what is known of it
// is newer: a paid or void invoice stays so, and an event older than the
// one last applied to the invoice changes nothing. The account's
// standing follows.
func (s *Service) recordInvoice(ctx context.Context, tx *sqlx.Tx, account, invoice, state string, e stripe.Event) (result, error) {
	var cur struct {
		State   string `db:"state"`
		Created int64  `db:"stripe_created"`
		Event   string `db:"event_id"`
	}
	err := tx.GetContext(ctx, &cur, "SELECT state, stripe_created, event_id FROM billing_invoice_payments WHERE invoice_id = ? FOR UPDATE", invoice)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return result{}, fmt.Errorf("read invoice %s: %w", invoice, err)
	}
	switch {
	case found && (cur.State == invoicePaid || cur.State == invoiceVoid):
		return result{outcome: OutcomeStale, account: account, note: fmt.Sprintf("invoice %s is %s already (%s)", invoice, cur.State, cur.Event)}, nil
	case found && e.Created < cur.Created:
		return result{outcome: OutcomeStale, account: account, note: fmt.Sprintf("older than %s, which invoice %s is at", cur.Event, invoice)}, nil
	}
	since := time.Unix(e.Created, 0).UTC()
	var unpaidSince *time.Time
	if unpaid(state) {
		unpaidSince = &since
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO billing_invoice_payments (invoice_id, account_code, state, stripe_created, event_id, failed_since) VALUES (?, ?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE state = VALUES(state), stripe_created = VALUES(stripe_created), event_id = VALUES(event_id), failed_since = IF(VALUES(failed_since) IS NULL, NULL, COALESCE(failed_since, VALUES(failed_since)))`,
		invoice, account, state, e.Created, e.ID, unpaidSince); err != nil {
		return result{}, fmt.Errorf("record invoice %s: %w", invoice, err)
	}
	if err := s.restand(ctx, tx, account); err != nil {
		return result{}, err
	}
	return result{outcome: OutcomeApplied, account: account, note: "invoice " + invoice + " " + state}, nil
}

// restand derives account's standing from its invoices: past due since
// its oldest failure still unpaid (failed, uncollectible or overdue),
// good when none is.
func (s *Service) restand(ctx context.Context, tx *sqlx.Tx, account string) error {
	var oldest struct {
		Invoice string    `db:"invoice_id"`
		Since   time.Time `db:"failed_since"`
	}
	err := tx.GetContext(ctx, &oldest, "SELECT invoice_id, failed_since FROM billing_invoice_payments WHERE account_code = ? AND state IN (?, ?, ?) ORDER BY failed_since, invoice_id LIMIT 1", account, invoiceFailed, invoiceUncollectible, invoiceOverdue)
	standing, since, invoice := StandingPastDue, &oldest.Since, &oldest.Invoice
	if errors.Is(err, sql.ErrNoRows) {
		standing, since, invoice = StandingGood, nil, nil
	} else if err != nil {
		return fmt.Errorf("the standing of %s: %w", account, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO billing_standings (account_code, standing, past_due_since, invoice_id, updated_at) VALUES (?, ?, ?, ?, ?)
ON DUPLICATE KEY UPDATE standing = VALUES(standing), past_due_since = VALUES(past_due_since), invoice_id = VALUES(invoice_id), updated_at = VALUES(updated_at)`,
		account, standing, since, invoice, s.now().UTC())
	if err != nil {
		return fmt.Errorf("record the standing of %s: %w", account, err)
	}
	return nil
}

// Standing is an account's payment standing and the counties billing
// holds for it.
type Standing struct {
	Account      string     `json:"account" db:"account_code"`
	Standing     string     `json:"standing" db:"standing"`
	PastDueSince *time.Time `json:"past_due_since,omitempty" db:"past_due_since"`
	Invoice      *string    `json:"invoice,omitempty" db:"invoice_id"`
	// HoldFrom is when its counties become read-only, if still past due.
	HoldFrom *time.Time `json:"hold_from,omitempty" db:"-"`
	Held     []string   `json:"held" db:"-"`
}

// Standing returns account's standing; an account no invoice event has
// reached yet is in good standing.
func (w *Webhooks) Standing(ctx context.Context, account string) (Standing, error) {
	// sqlx allocates a struct's pointer fields before it learns there is
	// no row: the row is read aside, lest a good standing show a zero
	// past_due_since.
	s := Standing{Account: account, Standing: StandingGood}
	var row Standing
	err := w.svc.db.GetContext(ctx, &row, "SELECT account_code, standing, past_due_since, invoice_id FROM billing_standings WHERE account_code = ?", account)
	switch {
	case err == nil:
		s = row
	case !errors.Is(err, sql.ErrNoRows):
		return Standing{}, fmt.Errorf("the standing of %s: %w", account, err)
	}
	if s.PastDueSince != nil {
		from := s.PastDueSince.Add(w.cfg.Grace)
		s.HoldFrom = &from
	}
	s.Held = []string{}
	if err := w.svc.db.SelectContext(ctx, &s.Held, "SELECT county_code FROM billing_holds WHERE account_code = ? ORDER BY county_code", account); err != nil {
		return Standing{}, fmt.Errorf("the counties held for %s: %w", account, err)
	}
	return s, nil
}

// reconcile holds every county account pays for once it has been past
// due for the grace, and lifts the holds billing made once it is in good
// standing. Registry holds are idempotent; a named lock keeps two
// reconciles of one account from crossing.
func (w *Webhooks) reconcile(ctx context.Context, account string) error {
	release, err := w.svc.locks.Lock(ctx, "billing.standing:"+account, 10*time.Second)
	if err != nil {
		return fmt.Errorf("lock the standing of %s: %w", account, err)
	}
	defer release()
	s, err := w.Standing(ctx, account)
	if err != nil {
		return err
	}
	var failures []error
	if s.Standing != StandingPastDue {
		for _, county := range s.Held {
			if _, err := w.holds.Unhold(ctx, county); err != nil {
				failures = append(failures, fmt.Errorf("lift the hold of %s: %w", county, err))
				continue
			}
			if _, err := w.svc.db.ExecContext(ctx, "DELETE FROM billing_holds WHERE county_code = ? AND account_code = ?", county, account); err != nil {
				failures = append(failures, fmt.Errorf("forget the hold of %s: %w", county, err))
				continue
			}
			w.svc.log.InfoContext(ctx, "a county's billing hold is lifted: its account paid", "county", county, "account", account)
		}
		return errors.Join(failures...)
	}
	if w.svc.now().Before(*s.HoldFrom) {
		return nil
	}
	var counties []string
	if err := w.svc.db.SelectContext(ctx, &counties, "SELECT county_code FROM billing_payers WHERE account_code = ? ORDER BY county_code", account); err != nil {
		return fmt.Errorf("the counties %s pays for: %w", account, err)
	}
	reason := fmt.Sprintf("账户 %s 的发票 %s 自 %s 起逾期未付 / invoice %s of account %s past due since %s",
		account, *s.Invoice, s.PastDueSince.Format(time.DateOnly), *s.Invoice, account, s.PastDueSince.Format(time.DateOnly))
	for _, county := range counties {
		if slices.Contains(s.Held, county) {
			continue
		}
		if _, err := w.holds.Hold(ctx, county, truncate(reason, registry.MaxHoldReasonLen)); err != nil {
			failures = append(failures, fmt.Errorf("hold %s: %w", county, err))
			continue
		}
		if _, err := w.svc.db.ExecContext(ctx, "INSERT INTO billing_holds (county_code, account_code, invoice_id, held_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE account_code = VALUES(account_code), invoice_id = VALUES(invoice_id)",
			county, account, *s.Invoice, w.svc.now().UTC()); err != nil {
			failures = append(failures, fmt.Errorf("record the hold of %s: %w", county, err))
			continue
		}
		w.svc.log.WarnContext(ctx, "a county is held for billing: its account is past due beyond the grace", "county", county, "account", account, "invoice", *s.Invoice)
	}
	return errors.Join(failures...)
}

// SweepJob brings the holds of every account past due, or with counties
// held, in line with its standing and the clock: the grace ends on no
// event of Stripe's.
func (w *Webhooks) SweepJob(ctx context.Context, _ jobs.Job) error {
	var accounts []string
	if err := w.svc.db.SelectContext(ctx, &accounts, "SELECT account_code FROM billing_standings WHERE standing = ? UNION SELECT account_code FROM billing_holds ORDER BY 1", StandingPastDue); err != nil {
		return fmt.Errorf("sweep billing standings: %w", err)
	}
	var failures []error
	for _, a := range accounts {
		if err := w.reconcile(ctx, a); err != nil {
			failures = append(failures, err)
		}
	}
	return errors.Join(failures...)
}
