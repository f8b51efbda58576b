package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
)

// SyncResult says what a sync changed, by lookup key.
type SyncResult struct {
	Created   []CatalogueEntry `json:"created"`
	Repriced  []CatalogueEntry `json:"repriced"`
	Renamed   []CatalogueEntry `json:"renamed"`
	Unchanged []CatalogueEntry `json:"unchanged"`
}

type priceRow struct {
	LookupKey    string  `db:"lookup_key"`
	ProductID    string  `db:"product_id"`
	ProductName  string  `db:"product_name"`
	AmountFen    int64   `db:"amount_fen"`
	Revision     int     `db:"revision"`
	NameRevision int     `db:"name_revision"`
	StripePrice  *string `db:"stripe_price_id"`
}

// Sync brings Stripe's products and prices to c, through the outbox and
// idempotently: what Stripe was last asked to hold is kept in
// billing_prices, and only a difference makes a call. A new entry makes
// its product and price; a changed amount makes a new price (Stripe's
// prices never change) that takes the lookup key over, and moves every
// subscription item on the old price to it from the next period on; a
// changed name renames the product. An entry the catalogue no longer
// lists is left as it is.
func (s *Service) Sync(ctx context.Context, c Catalogue) (SyncResult, error) {
	if err := c.check(); err != nil {
		return SyncResult{}, err
	}
	res := SyncResult{Created: []CatalogueEntry{}, Repriced: []CatalogueEntry{}, Renamed: []CatalogueEntry{}, Unchanged: []CatalogueEntry{}}
	var rows []int64
	err := store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		for _, e := range c.Entries() {
			ids, change, err := s.syncEntry(ctx, tx, e)
			if err != nil {
				return err
			}
			rows = append(rows, ids...)
			switch change {
			case "created":
				res.Created = append(res.Created, e)
			case "repriced":
				res.Repriced = append(res.Repriced, e)
			case "renamed":
				res.Renamed = append(res.Renamed, e)
			case "repriced+renamed":
				res.Repriced = append(res.Repriced, e)
				res.Renamed = append(res.Renamed, e)
			default:
				res.Unchanged = append(res.Unchanged, e)
			}
		}
		return nil
	})
	if err != nil {
		return SyncResult{}, err
	}
	s.queue(ctx, rows)
	return res, nil
}

func (s *Service) syncEntry(ctx context.Context, tx *sqlx.Tx, e CatalogueEntry) ([]int64, string, error) {
	now := s.now().UTC()
	stream := "catalogue:" + e.Product
	product := Product{ID: e.Product, Name: e.ProductName}
	price := func(revision int) call {
		return call{stream: stream, op: opCreatePrice, subject: e.LookupKey,
			key:  "cc/price/" + e.LookupKey + "/r" + strconv.Itoa(revision),
			body: pricePayload{Price: Price{Product: e.Product, LookupKey: e.LookupKey, AmountFen: int64(e.Monthly), Metered: e.Metered}, Revision: revision}}
	}
	var old priceRow
	err := tx.GetContext(ctx, &old, "SELECT lookup_key, product_id, product_name, amount_fen, revision, name_revision, stripe_price_id FROM billing_prices WHERE lookup_key = ? FOR UPDATE", e.LookupKey)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO billing_prices (lookup_key, product_id, product_name, amount_fen, revision, name_revision, updated_at) VALUES (?, ?, ?, ?, 1, 1, ?)`,
			e.LookupKey, e.Product, e.ProductName, int64(e.Monthly), now); err != nil {
			return nil, "", fmt.Errorf("record price %s: %w", e.LookupKey, err)
		}
		calls := []call{{stream: stream, op: opCreateProduct, subject: e.Product, key: "cc/product/" + e.Product + "/create", body: product}}
		if e.Metered {
			// The meter goes first in the product's stream: the price
			// is made on it.
			meter, err := s.seatMeter(ctx, tx, stream)
			if err != nil {
				return nil, "", err
			}
			calls = append(calls, meter...)
		}
		ids, err := s.writeAll(ctx, tx, append(calls, price(1))...)
		return ids, "created", err
	}
	if err != nil {
		return nil, "", fmt.Errorf("read price %s: %w", e.LookupKey, err)
	}
	var calls []call
	change := ""
	if old.AmountFen != int64(e.Monthly) {
		old.Revision++
		moves, err := s.repriceCalls(ctx, tx, e.LookupKey, old.Revision)
		if err != nil {
			return nil, "", err
		}
		calls = append(append(calls, price(old.Revision)), moves...)
		change = "repriced"
		// Until the new price is made, what would be made on the lookup
		// key waits for it rather than take the old one.
		old.StripePrice = nil
	}
	if old.ProductName != e.ProductName {
		old.NameRevision++
		calls = append(calls, call{stream: stream, op: opUpdateProduct, subject: e.Product,
			key: "cc/product/" + e.Product + "/name/r" + strconv.Itoa(old.NameRevision), body: product})
		if change != "" {
			change += "+"
		}
		change += "renamed"
	}
	if len(calls) == 0 {
		return nil, "", nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing_prices SET product_name = ?, amount_fen = ?, revision = ?, name_revision = ?, stripe_price_id = ?, updated_at = ? WHERE lookup_key = ?`,
		e.ProductName, int64(e.Monthly), old.Revision, old.NameRevision, old.StripePrice, now, e.LookupKey); err != nil {
		return nil, "", fmt.Errorf("record price %s: %w", e.LookupKey, err)
	}
	ids, err := s.writeAll(ctx, tx, calls...)
	return ids, change, err
}

// repriceCalls move every subscription item on lookupKey's price to its
// revision, in each subscription's stream, after the calls already
// waiting there. A module's item moves now without proration: it is
// invoiced in advance, so the period already invoiced stays as it was
// and the next is invoiced at the new price, which is what a
// government's budget for the period expects. The seat is metered and
// invoiced at its period's end, and a metered item moved during a period
// bills none of the usage before the move: an account's seat
// subscription moves at the end of its period, by a schedule. Each call
// waits for the new price: the lookup key has no Stripe price until it
// is made.
func (s *Service) repriceCalls(ctx context.Context, tx *sqlx.Tx, lookupKey string, revision int) ([]call, error) {
	suffix := "/price/r" + strconv.Itoa(revision)
	var calls []call
	if lookupKey == seatLookupKey {
		var accounts []string
		if err := tx.SelectContext(ctx, &accounts, "SELECT account_code FROM billing_seat_subscriptions ORDER BY account_code"); err != nil {
			return nil, fmt.Errorf("read the seat subscriptions: %w", err)
		}
		for _, a := range accounts {
			calls = append(calls, call{stream: seatsStream(a), op: opScheduleSeatPrice, subject: a,
				key: "cc/seats/" + a + suffix, body: seatsPricePayload{Account: a}})
		}
		return calls, nil
	}
	var counties []string
	if err := tx.SelectContext(ctx, &counties, "SELECT i.county_code FROM billing_subscription_items i JOIN billing_subscriptions s ON s.county_code = i.county_code WHERE i.lookup_key = ? AND i.active AND s.created ORDER BY i.county_code", lookupKey); err != nil {
		return nil, fmt.Errorf("read the subscriptions on %s: %w", lookupKey, err)
	}
	for _, c := range counties {
		calls = append(calls, call{stream: subscriptionStream(c), op: opSetItemPrice, subject: c,
			key: "cc/sub/" + c + "/item/" + lookupKey + suffix, body: itemPayload{County: c, LookupKey: lookupKey}})
	}
	return calls, nil
}

func (s *Service) writeAll(ctx context.Context, tx *sqlx.Tx, calls ...call) ([]int64, error) {
	ids := make([]int64, 0, len(calls))
	for _, c := range calls {
		id, err := s.write(ctx, tx, c)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// SyncedPrice is a catalogue entry as last synced.
type SyncedPrice struct {
	CatalogueEntry
	Revision int `json:"revision"`
	// StripePrice is the Stripe price's id once the outbox has made it.
	StripePrice string `json:"stripe_price,omitempty"`
}

// Prices lists the catalogue as last synced, by lookup key.
func (s *Service) Prices(ctx context.Context) ([]SyncedPrice, error) {
	var rows []priceRow
	if err := s.db.SelectContext(ctx, &rows, "SELECT lookup_key, product_id, product_name, amount_fen, revision, name_revision, stripe_price_id FROM billing_prices ORDER BY lookup_key"); err != nil {
		return nil, fmt.Errorf("read prices: %w", err)
	}
	out := make([]SyncedPrice, len(rows))
	for i, r := range rows {
		out[i] = SyncedPrice{CatalogueEntry: CatalogueEntry{LookupKey: r.LookupKey, Product: r.ProductID, ProductName: r.ProductName, Monthly: Fen(r.AmountFen)}, Revision: r.Revision}
		if r.StripePrice != nil {
			out[i].StripePrice = *r.StripePrice
		}
	}
	return out, nil
}
