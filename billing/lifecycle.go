package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

// The calls of a county's subscription, all in its stream
// "subscription:<county>", so that an item waits for the subscription and
// a trial's end for its start.
const (
	opCreateSubscription = "subscription.create"
	opSetTrialEnd        = "subscription.trial_end"
	opAddItem            = "subscription_item.create"
	opRemoveItem         = "subscription_item.delete"
	opSetItemPrice       = "subscription_item.price"
	opEndSubscription    = "subscription.end"
	opCreateSeats        = "seat_subscription.create"
	opScheduleSeatPrice  = "seat_subscription.price"
	opCreateMeter        = "meter.create"
	opReportUsage        = "meter_event.create"
)

// States of a county's subscription as billing keeps it.
const (
	StateTrialing = "trialing"
	StateActive   = "active"
	// StateEnded is a subscription Stripe deleted (or reported
	// canceled): no usage is reported on it and no call made to it.
	StateEnded = "ended"
)

// SeatMeterEvent is the event name of the Billing Meter the seat price
// is backed by. The meter sums its events: each day's report of a
// county's active accounts is that many account-days, priced at a
// thirtieth of the monthly seat price (seatDaysPerMonth). Stripe sums a
// meter's events per customer, and every subscription item priced on the
// meter bills that whole sum: the seat price is on one subscription per
// account (seats.go), never on a county's.
const (
	SeatMeterEvent   = "cc_active_accounts"
	seatMeterName    = "活跃账号（账号·日）"
	seatDaysPerMonth = 30
)

// china is where a plan's days are: formal operation starts at midnight
// there.
var china = time.FixedZone("CST", 8*60*60)

// Modules says which modules a county has enabled (the plugin host).
type Modules interface {
	Enabled(ctx context.Context, county string) ([]string, error)
}

// Seats counts a county's active accounts as the census last recorded
// them (platform.org.accounts, summed over its units).
type Seats interface {
	ActiveAccounts(ctx context.Context, county string) (int64, error)
}

// Lifecycle is billing driven by the rollout: a county's subscription is
// made when it enters trial operation, trialing until the plan's formal
// start; entering formal operation ends the trial; moving the formal
// start moves the trial's end; a module enabled or disabled is an item
// added or removed, prorated; active accounts are reported daily on the
// seat meter. Every call leaves through the outbox under a key derived
// from what caused it, so hearing a change twice sends it once.
type Lifecycle struct {
	billing *Service
	modules Modules
	seats   Seats
}

// NewLifecycle returns the lifecycle of billing's subscriptions.
func NewLifecycle(billing *Service, modules Modules, seats Seats) *Lifecycle {
	return &Lifecycle{billing: billing, modules: modules, seats: seats}
}

type subscriptionRow struct {
	County       string    `db:"county_code"`
	Account      *string   `db:"account_code"`
	State        string    `db:"state"`
	TrialEnd     time.Time `db:"trial_end"`
	TrialChange  int64     `db:"trial_change_id"`
	Created      bool      `db:"created"`
	Subscription *string   `db:"stripe_subscription_id"`
	// Generation counts the county's subscriptions: one ends when the
	// county moves to another account or has no priced module left.
	Generation int `db:"generation"`
}

const subscriptionColumns = "county_code, account_code, state, trial_end, trial_change_id, created, stripe_subscription_id, generation"

func (s *Service) lockSubscription(ctx context.Context, tx *sqlx.Tx, county string) (subscriptionRow, bool, error) {
	var sub subscriptionRow
	err := tx.GetContext(ctx, &sub, "SELECT "+subscriptionColumns+" FROM billing_subscriptions WHERE county_code = ? FOR UPDATE", county)
	if errors.Is(err, sql.ErrNoRows) {
		return sub, false, nil
	}
	if err != nil {
		return sub, false, fmt.Errorf("read the subscription of %s: %w", county, err)
	}
	return sub, true, nil
}

func subscriptionStream(county string) string { return "subscription:" + county }

func (l *Lifecycle) now() time.Time { return l.billing.now().UTC().Truncate(time.Microsecond) }

// TrialStarted makes county's subscription, trialing until formalStart
// (a day): change is the rollout's phase change, which keys the call. A
// county no account pays for yet is recorded and its subscription made
// by the daily job once one does.
func (l *Lifecycle) TrialStarted(ctx context.Context, county string, change int64, formalStart string) error {
	end, err := time.ParseInLocation(time.DateOnly, formalStart, china)
	if err != nil {
		return fmt.Errorf("the formal start of %s: %w", county, err)
	}
	var rows []int64
	err = store.InTx(ctx, l.billing.db, nil, func(tx *sqlx.Tx) error {
		if _, found, err := l.billing.lockSubscription(ctx, tx, county); err != nil || found {
			return err
		}
		now := l.now()
		if _, err := tx.ExecContext(ctx, "INSERT INTO billing_subscriptions (county_code, state, trial_end, trial_change_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			county, StateTrialing, end.Format(time.DateOnly), change, now, now); err != nil {
			return fmt.Errorf("record the subscription of %s: %w", county, err)
		}
		sub, _, err := l.billing.lockSubscription(ctx, tx, county)
		if err != nil {
			return err
		}
		rows, err = l.create(ctx, tx, sub)
		return err
	})
	if err != nil {
		return err
	}
	l.billing.queue(ctx, rows)
	return nil
}

// create writes the call that makes sub on its payer's customer, with
// the county's enabled modules the catalogue prices as its items;
// nothing while no account pays for the county, nor while it has no
// priced module (Stripe makes no subscription without an item, and there
// is nothing to charge: its seats are on its account's).
func (l *Lifecycle) create(ctx context.Context, tx *sqlx.Tx, sub subscriptionRow) ([]int64, error) {
	var account string
	err := tx.GetContext(ctx, &account, "SELECT account_code FROM billing_payers WHERE county_code = ?", sub.County)
	if errors.Is(err, sql.ErrNoRows) {
		l.billing.log.WarnContext(ctx, "a county in trial operation has no paying account; its subscription is made once one pays for it", "county", sub.County)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read who pays for %s: %w", sub.County, err)
	}
	keys, err := l.enabledPrices(ctx, tx, sub.County)
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	id, err := l.billing.writeCreate(ctx, tx, sub, account, keys, false)
	return []int64{id}, err
}

// writeCreate records sub as made on account's customer with the items
// prices (lookup keys) and writes the call that makes it, trialing while
// the county trials. anchored starts its billing at the end of the
// period the account the county moved from was invoiced for. Its first
// generation is keyed by the change that started the trial, the next
// ones by their generation.
func (s *Service) writeCreate(ctx context.Context, tx *sqlx.Tx, sub subscriptionRow, account string, prices []string, anchored bool) (int64, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	for _, k := range prices {
		// An item carried over from an earlier subscription takes a new
		// revision, so that its removal is a call of its own.
		if _, err := tx.ExecContext(ctx, "INSERT INTO billing_subscription_items (county_code, lookup_key, active, revision, updated_at) VALUES (?, ?, TRUE, 1, ?) ON DUPLICATE KEY UPDATE active = TRUE, revision = revision + 1, stripe_item_id = NULL, updated_at = VALUES(updated_at)",
			sub.County, k, now); err != nil {
			return 0, fmt.Errorf("record the items of %s: %w", sub.County, err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET account_code = ?, created = TRUE, updated_at = ? WHERE county_code = ?", account, now, sub.County); err != nil {
		return 0, fmt.Errorf("record the subscription of %s: %w", sub.County, err)
	}
	body := subscriptionPayload{County: sub.County, Account: account, Prices: prices, Anchored: anchored}
	if sub.State == StateTrialing {
		body.TrialEnd = sub.TrialEnd.Format(time.DateOnly)
	}
	key := "cc/sub/" + sub.County + "/create/e" + strconv.FormatInt(sub.TrialChange, 10)
	if sub.Generation > 1 {
		key = "cc/sub/" + sub.County + "/create/g" + strconv.Itoa(sub.Generation)
	}
	return s.write(ctx, tx, call{stream: subscriptionStream(sub.County), op: opCreateSubscription, subject: sub.County, key: key, body: body})
}

// writeEnd ends sub, its generation, and writes the call that cancels it.
func (s *Service) writeEnd(ctx context.Context, tx *sqlx.Tx, sub *subscriptionRow, end SubscriptionEnd) (int64, error) {
	if _, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET generation = generation + 1, created = FALSE, updated_at = ? WHERE county_code = ?", s.now().UTC(), sub.County); err != nil {
		return 0, fmt.Errorf("end the subscription of %s: %w", sub.County, err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE billing_subscription_items SET active = FALSE, updated_at = ? WHERE county_code = ? AND active", s.now().UTC(), sub.County); err != nil {
		return 0, fmt.Errorf("end the subscription of %s: %w", sub.County, err)
	}
	key := "cc/sub/" + sub.County + "/end/g" + strconv.Itoa(sub.Generation)
	sub.Generation++
	sub.Created = false
	return s.write(ctx, tx, call{stream: subscriptionStream(sub.County), op: opEndSubscription, subject: sub.County, key: key, body: endPayload{County: sub.County, End: end}})
}

// enabledPrices are the lookup keys of county's enabled modules that the
// catalogue prices, in order; a module it does not price is free.
func (l *Lifecycle) enabledPrices(ctx context.Context, q sqlx.QueryerContext, county string) ([]string, error) {
	modules, err := l.modules.Enabled(ctx, county)
	if err != nil {
		return nil, fmt.Errorf("the modules of %s: %w", county, err)
	}
	var priced []string
	if err := sqlx.SelectContext(ctx, q, &priced, "SELECT lookup_key FROM billing_prices WHERE lookup_key LIKE ? ORDER BY lookup_key", modulePrefix+"%"); err != nil {
		return nil, fmt.Errorf("read the catalogue: %w", err)
	}
	keys := []string{}
	for _, m := range modules {
		if k := modulePrefix + m + monthlyKeySuffix; slices.Contains(priced, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// FormalStarted ends county's trial: paid service starts. change is the
// rollout's phase change, which keys the call.
func (l *Lifecycle) FormalStarted(ctx context.Context, county string, change int64) error {
	var rows []int64
	err := store.InTx(ctx, l.billing.db, nil, func(tx *sqlx.Tx) error {
		sub, found, err := l.billing.lockSubscription(ctx, tx, county)
		if err != nil || !found || sub.State != StateTrialing {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET state = ?, updated_at = ? WHERE county_code = ?", StateActive, l.now(), county); err != nil {
			return fmt.Errorf("end the trial of %s: %w", county, err)
		}
		if !sub.Created {
			// Made later, by the daily job, without a trial.
			return nil
		}
		id, err := l.billing.write(ctx, tx, call{stream: subscriptionStream(county), op: opSetTrialEnd, subject: county,
			key: "cc/sub/" + county + "/formal/e" + strconv.FormatInt(change, 10), body: trialEndPayload{County: county}})
		rows = []int64{id}
		return err
	})
	if err != nil {
		return err
	}
	l.billing.queue(ctx, rows)
	return nil
}

// FormalStartMoved moves the end of county's trial to formalStart, in tx,
// the transaction of the plan's edit to version: the call is written with
// the edit or not at all, and the sweep queues it (within SweepEvery).
func (l *Lifecycle) FormalStartMoved(ctx context.Context, tx *sqlx.Tx, county string, version int64, formalStart string) error {
	end, err := time.ParseInLocation(time.DateOnly, formalStart, china)
	if err != nil {
		return fmt.Errorf("the formal start of %s: %w", county, err)
	}
	sub, found, err := l.billing.lockSubscription(ctx, tx, county)
	if err != nil || !found || sub.State != StateTrialing || sub.TrialEnd.Format(time.DateOnly) == formalStart {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET trial_end = ?, updated_at = ? WHERE county_code = ?", end.Format(time.DateOnly), l.now(), county); err != nil {
		return fmt.Errorf("move the trial end of %s: %w", county, err)
	}
	if !sub.Created {
		return nil
	}
	_, err = l.billing.write(ctx, tx, call{stream: subscriptionStream(county), op: opSetTrialEnd, subject: county,
		key: "cc/sub/" + county + "/trial_end/v" + strconv.FormatInt(version, 10), body: trialEndPayload{County: county, TrialEnd: formalStart}})
	return err
}

// ModulesChanged brings the items of county's subscription to its
// enabled modules: one enabled since is added, one disabled since
// removed, both prorated; the subscription is made with the first priced
// module and ends, prorated, with the last. An item's revision keys its calls, so that
// enabling a module again is a new call and hearing it twice is not.
func (l *Lifecycle) ModulesChanged(ctx context.Context, county string) error {
	var rows []int64
	err := store.InTx(ctx, l.billing.db, nil, func(tx *sqlx.Tx) error {
		var err error
		rows, err = l.reconcileItems(ctx, tx, county)
		return err
	})
	if err != nil {
		return err
	}
	l.billing.queue(ctx, rows)
	return nil
}

type itemRow struct {
	LookupKey string `db:"lookup_key"`
	Active    bool   `db:"active"`
	Revision  int    `db:"revision"`
}

func (l *Lifecycle) reconcileItems(ctx context.Context, tx *sqlx.Tx, county string) ([]int64, error) {
	sub, found, err := l.billing.lockSubscription(ctx, tx, county)
	if err != nil || !found || sub.State == StateEnded {
		return nil, err
	}
	if !sub.Created {
		return l.create(ctx, tx, sub)
	}
	want, err := l.enabledPrices(ctx, tx, county)
	if err != nil {
		return nil, err
	}
	if len(want) == 0 {
		// Stripe keeps no subscription without an item: the last module
		// removed ends it, credited like a module removed.
		id, err := l.billing.writeEnd(ctx, tx, &sub, SubscriptionEnd{Prorate: true})
		return []int64{id}, err
	}
	// A county's subscription made before the seats moved to the
	// account's carries the seat: it is removed here, as not wanted.
	var items []itemRow
	if err := tx.SelectContext(ctx, &items, "SELECT lookup_key, active, revision FROM billing_subscription_items WHERE county_code = ? ORDER BY lookup_key", county); err != nil {
		return nil, fmt.Errorf("read the items of %s: %w", county, err)
	}
	now := l.now()
	var calls []call
	for _, k := range want {
		i := slices.IndexFunc(items, func(it itemRow) bool { return it.LookupKey == k })
		if i >= 0 && items[i].Active {
			continue
		}
		revision := 1
		if i >= 0 {
			revision = items[i].Revision + 1
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO billing_subscription_items (county_code, lookup_key, active, revision, updated_at) VALUES (?, ?, TRUE, ?, ?) ON DUPLICATE KEY UPDATE active = TRUE, revision = VALUES(revision), updated_at = VALUES(updated_at)",
			county, k, revision, now); err != nil {
			return nil, fmt.Errorf("record an item of %s: %w", county, err)
		}
		calls = append(calls, itemCall(opAddItem, county, k, revision, "add"))
	}
	for _, it := range items {
		if !it.Active || slices.Contains(want, it.LookupKey) {
			continue
		}
		if _, err := tx.ExecContext(ctx, "UPDATE billing_subscription_items SET active = FALSE, updated_at = ? WHERE county_code = ? AND lookup_key = ?", now, county, it.LookupKey); err != nil {
			return nil, fmt.Errorf("record an item of %s: %w", county, err)
		}
		calls = append(calls, itemCall(opRemoveItem, county, it.LookupKey, it.Revision, "remove"))
	}
	return l.billing.writeAll(ctx, tx, calls...)
}

func itemCall(op, county, lookupKey string, revision int, what string) call {
	return call{stream: subscriptionStream(county), op: op, subject: county,
		key:  "cc/sub/" + county + "/item/" + lookupKey + "/r" + strconv.Itoa(revision) + "/" + what,
		body: itemPayload{County: county, LookupKey: lookupKey}}
}

// CountySubscription is a county's subscription as billing keeps it.
type CountySubscription struct {
	County   string `json:"county" db:"county_code"`
	Account  string `json:"account,omitempty" db:"account_code"`
	State    string `json:"state" db:"state"`
	TrialEnd string `json:"trial_end" db:"-"`
	// StripeID is the subscription's id once the outbox made it.
	StripeID string `json:"stripe_subscription,omitempty" db:"stripe_subscription_id"`
	// Items are the lookup keys of its prices.
	Items []string `json:"items" db:"-"`
	// StripeStatus, CurrentPeriodEnd and StripeTrialEnd are what
	// Stripe's events last reported; EndedAt is when Stripe ended it.
	StripeStatus     string     `json:"stripe_status,omitempty" db:"stripe_status"`
	CurrentPeriodEnd *time.Time `json:"current_period_end,omitempty" db:"current_period_end"`
	StripeTrialEnd   *time.Time `json:"stripe_trial_end,omitempty" db:"stripe_trial_end"`
	EndedAt          *time.Time `json:"ended_at,omitempty" db:"ended_at"`
}

// Subscription returns county's subscription, or false when it has none.
func (l *Lifecycle) Subscription(ctx context.Context, county string) (CountySubscription, bool, error) {
	subs, err := l.billing.subscriptions(ctx, "county_code = ?", county)
	if err != nil || len(subs) == 0 {
		return CountySubscription{}, false, err
	}
	return subs[0], true, nil
}

// subscriptions reads, by county, the subscriptions of the counties
// where selects (a condition on county_code taking arg), each with its
// active items: two queries however many counties.
func (s *Service) subscriptions(ctx context.Context, where string, arg any) ([]CountySubscription, error) {
	var rows []struct {
		CountySubscription
		TrialEnd time.Time `db:"trial_end"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT county_code, COALESCE(account_code, '') AS account_code, state, trial_end, COALESCE(stripe_subscription_id, '') AS stripe_subscription_id,
COALESCE(stripe_status, '') AS stripe_status, current_period_end, stripe_trial_end, ended_at FROM billing_subscriptions WHERE `+where+" ORDER BY county_code", arg); err != nil {
		return nil, fmt.Errorf("read the subscriptions of %v: %w", arg, err)
	}
	var items []struct {
		County    string `db:"county_code"`
		LookupKey string `db:"lookup_key"`
	}
	if err := s.db.SelectContext(ctx, &items, "SELECT county_code, lookup_key FROM billing_subscription_items WHERE active AND "+where+" ORDER BY county_code, lookup_key", arg); err != nil {
		return nil, fmt.Errorf("read the items of %v: %w", arg, err)
	}
	byCounty := map[string][]string{}
	for _, it := range items {
		byCounty[it.County] = append(byCounty[it.County], it.LookupKey)
	}
	out := make([]CountySubscription, len(rows))
	for i, r := range rows {
		out[i] = r.CountySubscription
		out[i].TrialEnd = r.TrialEnd.Format(time.DateOnly)
		out[i].Items = append([]string{}, byCounty[r.County]...)
	}
	return out, nil
}

type subscriptionPayload struct {
	County  string `json:"county"`
	Account string `json:"account"`
	// TrialEnd is the formal start, a day in China; "" for no trial.
	TrialEnd string   `json:"trial_end,omitempty"`
	Prices   []string `json:"prices"`
	// Anchored starts its billing at the end of the period the account
	// the county moved from was invoiced for (move_anchor).
	Anchored bool `json:"anchored,omitempty"`
}

type endPayload struct {
	County string          `json:"county"`
	End    SubscriptionEnd `json:"end"`
}

type trialEndPayload struct {
	County string `json:"county"`
	// TrialEnd is the new formal start; "" ends the trial now.
	TrialEnd string `json:"trial_end,omitempty"`
}

type itemPayload struct {
	County    string `json:"county"`
	LookupKey string `json:"lookup_key"`
}

type usagePayload struct {
	County     string `json:"county"`
	Account    string `json:"account"`
	Identifier string `json:"identifier"`
	Value      int64  `json:"value"`
	Timestamp  int64  `json:"timestamp"`
}

// trialEnd is the Unix time formal operation starts on day.
func trialEnd(day string) (int64, error) {
	t, err := time.ParseInLocation(time.DateOnly, day, china)
	if err != nil {
		return 0, jobs.Permanent(fmt.Errorf("trial end %q: %w", day, err))
	}
	return t.Unix(), nil
}

// stripeIDOf reads a Stripe id the outbox recorded; while it is missing
// (the call that makes it has not come back) the row waits.
func (s *Service) stripeIDOf(ctx context.Context, query, what string, args ...any) (string, error) {
	var id sql.NullString
	err := s.db.GetContext(ctx, &id, query, args...)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	if !id.Valid {
		return "", fmt.Errorf("%s has no Stripe id yet", what)
	}
	return id.String, nil
}

func (s *Service) customerOf(ctx context.Context, account string) (string, error) {
	return s.stripeIDOf(ctx, "SELECT stripe_customer_id FROM billing_accounts WHERE code = ?", "account "+account, account)
}

func (s *Service) priceOf(ctx context.Context, lookupKey string) (string, error) {
	return s.stripeIDOf(ctx, "SELECT stripe_price_id FROM billing_prices WHERE lookup_key = ?", "price "+lookupKey, lookupKey)
}

func (s *Service) subscriptionOf(ctx context.Context, county string) (string, error) {
	return s.stripeIDOf(ctx, "SELECT stripe_subscription_id FROM billing_subscriptions WHERE county_code = ?", "the subscription of "+county, county)
}

// sendAs makes r's call with send, its body read as a T; a body that is
// not one can never be sent.
func sendAs[T any](ctx context.Context, r OutboxRow, send func(context.Context, string, T) (string, func(*sqlx.Tx) error, error)) (string, func(*sqlx.Tx) error, error) {
	var p T
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil {
		return "", nil, jobs.Permanent(err)
	}
	return send(ctx, r.IdempotencyKey, p)
}

// callLifecycle makes the lifecycle's calls: see call.
func (s *Service) callLifecycle(ctx context.Context, r OutboxRow) (string, func(*sqlx.Tx) error, error) {
	body := []byte(r.Body)
	switch r.Operation {
	case opCreateSubscription:
		return sendAs(ctx, r, s.createSubscription)
	case opSetTrialEnd:
		var p trialEndPayload
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		id, err := s.subscriptionOf(ctx, p.County)
		if err != nil {
			return "", nil, err
		}
		var end int64
		if p.TrialEnd != "" {
			if end, err = trialEnd(p.TrialEnd); err != nil {
				return "", nil, err
			}
		}
		return id, nil, s.stripe.SetTrialEnd(ctx, r.IdempotencyKey, id, end)
	case opAddItem, opRemoveItem, opSetItemPrice:
		var p itemPayload
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		return s.changeItem(ctx, r, p)
	case opEndSubscription:
		var p endPayload
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		return s.endSubscription(ctx, r, p)
	case opCreateSeats:
		return sendAs(ctx, r, s.createSeats)
	case opScheduleSeatPrice:
		return sendAs(ctx, r, s.scheduleSeats)
	case opCreateMeter:
		var m Meter
		if err := json.Unmarshal(body, &m); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		id, err := s.stripe.CreateMeter(ctx, r.IdempotencyKey, m)
		return id, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE billing_meters SET stripe_meter_id = ? WHERE event_name = ?", id, m.EventName)
			return err
		}, err
	case opReportUsage:
		var p usagePayload
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		customer, err := s.customerOf(ctx, p.Account)
		if err != nil {
			return "", nil, err
		}
		return "", nil, s.stripe.ReportUsage(ctx, r.IdempotencyKey, MeterEvent{EventName: SeatMeterEvent, Identifier: p.Identifier, Customer: customer, Value: p.Value, Timestamp: p.Timestamp})
	}
	return "", nil, jobs.Permanent(fmt.Errorf("outbox row %d: unknown operation %q", r.ID, r.Operation))
}

// subscriptionOn is a subscription on account's customer, invoiced on
// its terms, with the prices of lookupKeys, and those keys by price id.
func (s *Service) subscriptionOn(ctx context.Context, account string, lookupKeys []string) (Subscription, map[string]string, error) {
	var a Account
	if err := s.db.GetContext(ctx, &a, "SELECT "+accountColumns+" FROM billing_accounts WHERE code = ?", account); err != nil {
		return Subscription{}, nil, fmt.Errorf("account %s: %w", account, err)
	}
	if a.Customer == nil {
		return Subscription{}, nil, fmt.Errorf("account %s has no Stripe customer yet", account)
	}
	sub := Subscription{Customer: *a.Customer, DaysUntilDue: int64(a.NetTermsDays), Metadata: map[string]string{"countycloud_account": account}}
	byPrice := map[string]string{}
	for _, k := range lookupKeys {
		id, err := s.priceOf(ctx, k)
		if err != nil {
			return Subscription{}, nil, err
		}
		sub.Prices = append(sub.Prices, id)
		byPrice[id] = k
	}
	return sub, byPrice, nil
}

func (s *Service) createSubscription(ctx context.Context, key string, p subscriptionPayload) (string, func(*sqlx.Tx) error, error) {
	sub, byPrice, err := s.subscriptionOn(ctx, p.Account, p.Prices)
	if err != nil {
		return "", nil, err
	}
	sub.Metadata["countycloud_county"] = p.County
	if p.TrialEnd != "" {
		end, err := trialEnd(p.TrialEnd)
		if err != nil {
			return "", nil, err
		}
		sub.TrialEnd = end
	}
	if p.Anchored {
		var anchor sql.NullInt64
		if err := s.db.GetContext(ctx, &anchor, "SELECT move_anchor FROM billing_subscriptions WHERE county_code = ?", p.County); err != nil {
			return "", nil, fmt.Errorf("read the period %s was invoiced for: %w", p.County, err)
		}
		// A period already over (the move waited for Stripe) leaves
		// nothing to skip.
		if anchor.Int64 > s.now().Unix() {
			sub.BillingCycleAnchor = anchor.Int64
		}
	}
	id, items, err := s.stripe.CreateSubscription(ctx, key, sub)
	return id, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET stripe_subscription_id = ? WHERE county_code = ?", id, p.County); err != nil {
			return err
		}
		for price, item := range items {
			if _, err := tx.ExecContext(ctx, "UPDATE billing_subscription_items SET stripe_item_id = ? WHERE county_code = ? AND lookup_key = ?", item, p.County, byPrice[price]); err != nil {
				return err
			}
		}
		return nil
	}, err
}

// endSubscription cancels the county's subscription the stream reached:
// the one the call was written to end, as the next is made after it.
// Before Stripe is asked, the subscription stops being the county's (its
// id kept on the call's row, for a retry): Stripe's events about it, its
// deletion above all, which may come back before the answer is recorded,
// find no county to apply to, and the county is not ended with it.
func (s *Service) endSubscription(ctx context.Context, r OutboxRow, p endPayload) (string, func(*sqlx.Tx) error, error) {
	var id string
	if r.StripeID != nil {
		id = *r.StripeID
	} else {
		var err error
		if id, err = s.subscriptionOf(ctx, p.County); err != nil {
			return "", nil, err
		}
		err = store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, "UPDATE billing_outbox SET stripe_id = ? WHERE id = ?", id, r.ID); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET stripe_subscription_id = NULL WHERE county_code = ? AND stripe_subscription_id = ?", p.County, id)
			return err
		})
		if err != nil {
			return "", nil, fmt.Errorf("let go of the subscription of %s: %w", p.County, err)
		}
	}
	periodEnd, err := s.stripe.EndSubscription(ctx, r.IdempotencyKey, id, p.End)
	return id, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE billing_subscriptions SET move_anchor = ? WHERE county_code = ?", sql.NullInt64{Int64: periodEnd, Valid: periodEnd > 0}, p.County)
		return err
	}, err
}

func (s *Service) changeItem(ctx context.Context, r OutboxRow, p itemPayload) (string, func(*sqlx.Tx) error, error) {
	if r.Operation != opAddItem {
		item, err := s.stripeIDOf(ctx, "SELECT stripe_item_id FROM billing_subscription_items WHERE county_code = ? AND lookup_key = ?", "the item "+p.LookupKey+" of "+p.County, p.County, p.LookupKey)
		if err != nil {
			return "", nil, err
		}
		if r.Operation == opSetItemPrice {
			price, err := s.priceOf(ctx, p.LookupKey)
			if err != nil {
				return "", nil, err
			}
			return item, nil, s.stripe.SetItemPrice(ctx, r.IdempotencyKey, item, price)
		}
		return item, nil, s.stripe.RemoveItem(ctx, r.IdempotencyKey, item)
	}
	sub, err := s.subscriptionOf(ctx, p.County)
	if err != nil {
		return "", nil, err
	}
	price, err := s.priceOf(ctx, p.LookupKey)
	if err != nil {
		return "", nil, err
	}
	item, err := s.stripe.AddItem(ctx, r.IdempotencyKey, sub, price)
	return item, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE billing_subscription_items SET stripe_item_id = ? WHERE county_code = ? AND lookup_key = ?", item, p.County, p.LookupKey)
		return err
	}, err
}
