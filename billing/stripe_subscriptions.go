package billing

import (
	"context"
	"fmt"
	"strconv"

	"github.com/stripe/stripe-go/v76"
)

// Subscriptions is the part of Stripe's API the lifecycle uses: a
// county's subscription and its items, the seat's Billing Meter and its
// events. Like every call, each carries its outbox row's idempotency key.
type Subscriptions interface {
	// CreateSubscription returns the subscription's id and its items'
	// ids by price id.
	CreateSubscription(ctx context.Context, key string, sub Subscription) (string, map[string]string, error)
	// SetTrialEnd moves the trial's end; a zero end ends it now.
	SetTrialEnd(ctx context.Context, key, id string, end int64) error
	// AddItem adds a price to a subscription, prorated, and returns the
	// item's id.
	AddItem(ctx context.Context, key, subscription, price string) (string, error)
	// RemoveItem removes an item, prorated.
	RemoveItem(ctx context.Context, key, item string) error
	// SetItemPrice moves an item to another price without proration:
	// the new price is charged from the next period on.
	SetItemPrice(ctx context.Context, key, item, price string) error
	// SchedulePrice moves a subscription of one metered item to price at
	// the end of its current period, by a subscription schedule.
	SchedulePrice(ctx context.Context, key, subscription, price string) error
	// EndSubscription cancels a subscription: at the end of the period
	// already invoiced (returning that end), or now, crediting the rest
	// of the period when prorate.
	EndSubscription(ctx context.Context, key, id string, end SubscriptionEnd) (int64, error)
	// CreateMeter returns the meter's id.
	CreateMeter(ctx context.Context, key string, m Meter) (string, error)
	// ReportUsage sends a meter event; Stripe keeps one per identifier.
	ReportUsage(ctx context.Context, key string, e MeterEvent) error
}

// Subscription is a county's subscription as Stripe is asked to make it.
type Subscription struct {
	Customer string
	Prices   []string
	// TrialEnd is when the trial ends (Unix seconds); 0 for none.
	TrialEnd     int64
	DaysUntilDue int64
	Metadata     map[string]string
	// BillingCycleAnchor, when set, is when its first period ends: the
	// time before it is not charged (proration_behavior none), as an
	// earlier subscription was invoiced for it.
	BillingCycleAnchor int64
	// BackdateStartDate, when set, starts it earlier than its creation,
	// so that usage reported since is billed on it.
	BackdateStartDate int64
}

// SubscriptionEnd is how a subscription ends.
type SubscriptionEnd struct {
	// AtPeriodEnd lets it run to the end of the period already invoiced.
	AtPeriodEnd bool `json:"at_period_end,omitempty"`
	// Prorate credits the unused rest of the period when it ends now.
	Prorate bool `json:"prorate,omitempty"`
}

// Meter is the Billing Meter the seat price is backed by: events carry
// the customer's id and a value, summed over the period.
type Meter struct {
	EventName   string `json:"event_name"`
	DisplayName string `json:"display_name"`
}

// MeterEvent is one report of usage.
type MeterEvent struct {
	EventName  string
	Identifier string
	Customer   string
	Value      int64
	Timestamp  int64
}

// Keys of a meter event's payload.
const (
	meterCustomerKey = "stripe_customer_id"
	meterValueKey    = "value"
)

// Proration behaviours: a module added or removed mid-period is charged
// or credited for the rest of it; moving a trial's end changes no charge.
const (
	prorate     = "create_prorations"
	noProration = "none"
)

func (s *stripeAPI) CreateSubscription(ctx context.Context, key string, sub Subscription) (string, map[string]string, error) {
	p := &stripe.SubscriptionParams{
		Params:           params(ctx, key),
		Customer:         stripe.String(sub.Customer),
		CollectionMethod: stripe.String(string(stripe.SubscriptionCollectionMethodSendInvoice)),
		DaysUntilDue:     stripe.Int64(sub.DaysUntilDue),
	}
	p.Metadata = sub.Metadata
	if sub.TrialEnd > 0 {
		p.TrialEnd = stripe.Int64(sub.TrialEnd)
	}
	if sub.BillingCycleAnchor > 0 {
		p.BillingCycleAnchor = stripe.Int64(sub.BillingCycleAnchor)
		p.ProrationBehavior = stripe.String(noProration)
	}
	if sub.BackdateStartDate > 0 {
		p.BackdateStartDate = stripe.Int64(sub.BackdateStartDate)
	}
	for _, price := range sub.Prices {
		p.Items = append(p.Items, &stripe.SubscriptionItemsParams{Price: stripe.String(price)})
	}
	out, err := s.api.Subscriptions.New(p)
	if err != nil {
		return "", nil, classify("create subscription for "+sub.Customer, err)
	}
	items := map[string]string{}
	if out.Items != nil {
		for _, it := range out.Items.Data {
			if it.Price != nil {
				items[it.Price.ID] = it.ID
			}
		}
	}
	return out.ID, items, nil
}

func (s *stripeAPI) SetTrialEnd(ctx context.Context, key, id string, end int64) error {
	p := &stripe.SubscriptionParams{Params: params(ctx, key), ProrationBehavior: stripe.String(noProration)}
	if end == 0 {
		p.TrialEndNow = stripe.Bool(true)
	} else {
		p.TrialEnd = stripe.Int64(end)
	}
	_, err := s.api.Subscriptions.Update(id, p)
	return classify("set the trial end of "+id, err)
}

func (s *stripeAPI) AddItem(ctx context.Context, key, subscription, price string) (string, error) {
	it, err := s.api.SubscriptionItems.New(&stripe.SubscriptionItemParams{Params: params(ctx, key),
		Subscription: stripe.String(subscription), Price: stripe.String(price), ProrationBehavior: stripe.String(prorate)})
	if err != nil {
		return "", classify("add "+price+" to "+subscription, err)
	}
	return it.ID, nil
}

func (s *stripeAPI) RemoveItem(ctx context.Context, key, item string) error {
	_, err := s.api.SubscriptionItems.Del(item, &stripe.SubscriptionItemParams{Params: params(ctx, key), ProrationBehavior: stripe.String(prorate)})
	return classify("remove item "+item, err)
}

func (s *stripeAPI) SetItemPrice(ctx context.Context, key, item, price string) error {
	_, err := s.api.SubscriptionItems.Update(item, &stripe.SubscriptionItemParams{Params: params(ctx, key),
		Price: stripe.String(price), ProrationBehavior: stripe.String(noProration)})
	return classify("move item "+item+" to "+price, err)
}

// SchedulePrice keeps the period under way at its price and bills the
// next ones at price: a metered item moved to another price during a
// period bills none of the usage before the move (Stripe's classic
// billing mode, the only one of API 2023-10-16). The subscription's
// schedule, or one made from it, gets two phases: the current one as it
// is, then one period at price, after which the schedule releases the
// subscription, which keeps price.
func (s *stripeAPI) SchedulePrice(ctx context.Context, key, subscription, price string) error {
	sub, err := s.api.Subscriptions.Get(subscription, &stripe.SubscriptionParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return classify("read "+subscription, err)
	}
	var sched *stripe.SubscriptionSchedule
	if sub.Schedule != nil && sub.Schedule.ID != "" {
		if sched, err = s.api.SubscriptionSchedules.Get(sub.Schedule.ID, &stripe.SubscriptionScheduleParams{Params: stripe.Params{Context: ctx}}); err != nil {
			return classify("read the schedule of "+subscription, err)
		}
	}
	if sched == nil || (sched.Status != stripe.SubscriptionScheduleStatusActive && sched.Status != stripe.SubscriptionScheduleStatusNotStarted) {
		if sched, err = s.api.SubscriptionSchedules.New(&stripe.SubscriptionScheduleParams{Params: params(ctx, key+"/schedule"), FromSubscription: stripe.String(subscription)}); err != nil {
			return classify("schedule "+subscription, err)
		}
	}
	current := currentPhase(sched)
	if current == nil || len(current.Items) == 0 || current.Items[0].Price == nil {
		return classify("schedule "+subscription, fmt.Errorf("%w: schedule %s has no phase under way", ErrRejected, sched.ID))
	}
	_, err = s.api.SubscriptionSchedules.Update(sched.ID, &stripe.SubscriptionScheduleParams{
		Params:            params(ctx, key+"/phases"),
		EndBehavior:       stripe.String(string(stripe.SubscriptionScheduleEndBehaviorRelease)),
		ProrationBehavior: stripe.String(noProration),
		Phases: []*stripe.SubscriptionSchedulePhaseParams{
			{Items: []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(current.Items[0].Price.ID)}},
				StartDate: stripe.Int64(current.StartDate), EndDate: stripe.Int64(current.EndDate)},
			{Items: []*stripe.SubscriptionSchedulePhaseItemParams{{Price: stripe.String(price)}}, Iterations: stripe.Int64(1)},
		},
	})
	return classify("move "+subscription+" to "+price+" at its period's end", err)
}

// currentPhase is the phase of sched under way: the one current_phase
// names, or, on a schedule just made from a subscription, its only one.
func currentPhase(sched *stripe.SubscriptionSchedule) *stripe.SubscriptionSchedulePhase {
	for _, ph := range sched.Phases {
		if sched.CurrentPhase == nil || ph.StartDate == sched.CurrentPhase.StartDate {
			return ph
		}
	}
	return nil
}

func (s *stripeAPI) EndSubscription(ctx context.Context, key, id string, end SubscriptionEnd) (int64, error) {
	if end.AtPeriodEnd {
		out, err := s.api.Subscriptions.Update(id, &stripe.SubscriptionParams{Params: params(ctx, key), CancelAtPeriodEnd: stripe.Bool(true)})
		if err != nil {
			return 0, classify("cancel "+id+" at its period's end", err)
		}
		return out.CurrentPeriodEnd, nil
	}
	_, err := s.api.Subscriptions.Cancel(id, &stripe.SubscriptionCancelParams{Params: params(ctx, key), Prorate: stripe.Bool(end.Prorate)})
	return 0, classify("cancel "+id, err)
}

func (s *stripeAPI) CreateMeter(ctx context.Context, key string, m Meter) (string, error) {
	out, err := s.api.BillingMeters.New(&stripe.BillingMeterParams{
		Params:             params(ctx, key),
		DisplayName:        stripe.String(m.DisplayName),
		EventName:          stripe.String(m.EventName),
		DefaultAggregation: &stripe.BillingMeterDefaultAggregationParams{Formula: stripe.String(string(stripe.BillingMeterDefaultAggregationFormulaSum))},
		CustomerMapping:    &stripe.BillingMeterCustomerMappingParams{EventPayloadKey: stripe.String(meterCustomerKey), Type: stripe.String("by_id")},
		ValueSettings:      &stripe.BillingMeterValueSettingsParams{EventPayloadKey: stripe.String(meterValueKey)},
	})
	if err != nil {
		return "", classify("create meter "+m.EventName, err)
	}
	return out.ID, nil
}

func (s *stripeAPI) ReportUsage(ctx context.Context, key string, e MeterEvent) error {
	_, err := s.api.BillingMeterEvents.New(&stripe.BillingMeterEventParams{
		Params:     params(ctx, key),
		EventName:  stripe.String(e.EventName),
		Identifier: stripe.String(e.Identifier),
		Timestamp:  stripe.Int64(e.Timestamp),
		Payload:    map[string]string{meterCustomerKey: e.Customer, meterValueKey: strconv.FormatInt(e.Value, 10)},
	})
	return classify("report usage "+e.Identifier, err)
}
