package billing

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The seat is billed on one subscription per account. Stripe's meter
// maps each event to a customer (customer_mapping by_id) and sums the
// events of a customer over a period; every subscription item whose
// price is on the meter bills that sum. A county's subscription carrying
// the seat would bill the whole account's seats once per county, so the
// seat price sits on a subscription of its own on the account's
// customer, made when the first county the account pays for is reported
// in paid service, and counties' subscriptions carry their modules only.

func seatsStream(account string) string { return "seats:" + account }

type seatsPayload struct {
	Account string `json:"account"`
	// Start is the time of the first usage it bills (Unix seconds): the
	// subscription starts then, however long Stripe took to make it, so
	// that the events reported meanwhile fall in its period.
	Start int64 `json:"start"`
}

// seatSubscription makes sure account has its seat subscription, started
// at start, the time of the usage about to be reported: it writes the
// call that makes it the first time, in tx, and nothing after.
func (s *Service) seatSubscription(ctx context.Context, tx *sqlx.Tx, account string, start int64) (int64, error) {
	res, err := tx.ExecContext(ctx, "INSERT IGNORE INTO billing_seat_subscriptions (account_code, started, created_at) VALUES (?, ?, ?)", account, start, s.now().UTC())
	if err != nil {
		return 0, fmt.Errorf("record the seat subscription of %s: %w", account, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err
	}
	return s.write(ctx, tx, call{stream: seatsStream(account), op: opCreateSeats, subject: account,
		key: "cc/seats/" + account + "/create", body: seatsPayload{Account: account, Start: start}})
}

func (s *Service) createSeats(ctx context.Context, key string, p seatsPayload) (string, func(*sqlx.Tx) error, error) {
	sub, _, err := s.subscriptionOn(ctx, p.Account, []string{seatLookupKey})
	if err != nil {
		return "", nil, err
	}
	sub.BackdateStartDate = p.Start
	id, items, err := s.stripe.CreateSubscription(ctx, key, sub)
	var item *string
	for _, it := range items {
		// Its only item: the seat's.
		item = &it
	}
	return id, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE billing_seat_subscriptions SET stripe_subscription_id = ?, stripe_item_id = ? WHERE account_code = ?", id, item, p.Account)
		return err
	}, err
}

type seatsPricePayload struct {
	Account string `json:"account"`
}

// scheduleSeats moves account's seat subscription to the seat's price at
// the end of the period under way (SchedulePrice): the seat is metered,
// and moved during a period it would bill none of the usage before.
func (s *Service) scheduleSeats(ctx context.Context, key string, p seatsPricePayload) (string, func(*sqlx.Tx) error, error) {
	sub, err := s.stripeIDOf(ctx, "SELECT stripe_subscription_id FROM billing_seat_subscriptions WHERE account_code = ?", "the seat subscription of "+p.Account, p.Account)
	if err != nil {
		return "", nil, err
	}
	price, err := s.priceOf(ctx, seatLookupKey)
	if err != nil {
		return "", nil, err
	}
	return sub, nil, s.stripe.SchedulePrice(ctx, key, sub, price)
}
