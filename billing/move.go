package billing

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// moveSubscription moves county's subscription to account, the county's
// new payer, in tx, the transaction that records the move: the old one
// ends and a new one with the same items starts on account's customer,
// trialing to the same day while the county trials. Both calls are keyed
// by the subscription's generation, so a move back is a move of its own.
//
// A subscription in paid service runs to the end of the period its
// account was already invoiced for, and the new one charges nothing
// before that day (its billing cycle anchored there): a government pays
// an invoice out of a budget approved for it, and an invoice once issued
// is neither credited back nor charged twice for the same days. A
// subscription still trialing has charged nothing and ends at once.
//
// A county whose subscription is not made yet needs nothing: it is made
// on the customer of whoever pays for the county then; one Stripe ended
// stays ended (an operator decides).
func (s *Service) moveSubscription(ctx context.Context, tx *sqlx.Tx, county, account string) ([]int64, error) {
	sub, found, err := s.lockSubscription(ctx, tx, county)
	if err != nil || !found || !sub.Created || sub.State == StateEnded || (sub.Account != nil && *sub.Account == account) {
		return nil, err
	}
	var prices []string
	if err := tx.SelectContext(ctx, &prices, "SELECT lookup_key FROM billing_subscription_items WHERE county_code = ? AND active AND lookup_key LIKE ? ORDER BY lookup_key", county, modulePrefix+"%"); err != nil {
		return nil, fmt.Errorf("read the items of %s: %w", county, err)
	}
	end := SubscriptionEnd{AtPeriodEnd: sub.State == StateActive}
	ended, err := s.writeEnd(ctx, tx, &sub, end)
	if err != nil || len(prices) == 0 {
		return []int64{ended}, err
	}
	made, err := s.writeCreate(ctx, tx, sub, account, prices, end.AtPeriodEnd)
	return []int64{ended, made}, err
}
