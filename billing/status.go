package billing

import (
	"context"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"

	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Tenants reads a county's record in the registry, which says whether
// its writes are held (registry.Service).
type Tenants interface {
	Get(ctx context.Context, code string) (registry.Tenant, error)
}

// Status is billing as the province's IT office reads it in one place:
// for a county, who pays, its subscription, its account's standing and
// whether it is held; for an account, its standing and its counties'
// subscriptions.
type Status struct {
	life     *Lifecycle
	webhooks *Webhooks
	tenants  Tenants
}

// NewStatus returns the status of the subscriptions life keeps and the
// standings webhooks keeps, reading holds from tenants.
func NewStatus(life *Lifecycle, webhooks *Webhooks, tenants Tenants) *Status {
	return &Status{life: life, webhooks: webhooks, tenants: tenants}
}

// CountyStatus is how a county is billed: the account that pays (the
// fields of CountyBilling), and beside them its subscription, the paying
// account's standing and the county's hold.
type CountyStatus struct {
	CountyBilling
	// Subscription is null until the county enters trial operation.
	Subscription *CountySubscription `json:"subscription"`
	// Standing is the paying account's: good, or past due since a day,
	// its counties held from the end of the grace (hold_from).
	Standing Standing `json:"standing"`
	// BillingSuspended says the county is read-only: its writes are
	// refused with billing_suspended since HeldSince, for HoldReason (a
	// hold of billing's, or an operator's).
	BillingSuspended bool       `json:"billing_suspended"`
	HeldSince        *time.Time `json:"held_since,omitempty"`
	HoldReason       string     `json:"hold_reason,omitempty"`
}

// County returns county's billing status; a county no account pays for
// yet is not found (billing_no_payer).
func (s *Status) County(ctx context.Context, county string) (CountyStatus, error) {
	payer, err := s.life.billing.County(ctx, county)
	if err != nil {
		return CountyStatus{}, err
	}
	out := CountyStatus{CountyBilling: payer}
	sub, found, err := s.life.Subscription(ctx, county)
	if err != nil {
		return CountyStatus{}, err
	}
	if found {
		out.Subscription = &sub
	}
	if out.Standing, err = s.webhooks.Standing(ctx, payer.Account); err != nil {
		return CountyStatus{}, err
	}
	t, err := s.tenants.Get(ctx, county)
	if err != nil {
		return CountyStatus{}, err
	}
	out.BillingSuspended, out.HeldSince, out.HoldReason = t.HeldSince != nil, t.HeldSince, t.HoldReason
	return out, nil
}

// AccountStatus is an account (the fields of Account) with its standing
// and the subscriptions of the counties it pays for.
type AccountStatus struct {
	Account
	Standing Standing `json:"standing"`
	// Subscriptions are those of its counties that have one, by county:
	// a county not yet in trial operation has none.
	Subscriptions []CountySubscription `json:"subscriptions"`
}

// Account returns code's account with its standing and its counties'
// subscriptions.
func (s *Status) Account(ctx context.Context, code string) (AccountStatus, error) {
	a, err := s.life.billing.Account(ctx, code)
	if err != nil {
		return AccountStatus{}, err
	}
	out := AccountStatus{Account: a}
	if out.Standing, err = s.webhooks.Standing(ctx, code); err != nil {
		return AccountStatus{}, err
	}
	out.Subscriptions, err = s.life.billing.subscriptions(ctx, "county_code IN (SELECT county_code FROM billing_payers WHERE account_code = ?)", code)
	return out, err
}

// Routes serve the status: an account's to the province's operators, a
// county's to them and to the county's own admins (core/auth's policy):
//
//	GET /v1/billing/accounts/{account}   an account, its standing and its counties' subscriptions
//	GET /v1/tenants/{code}/billing       who pays for a county, its subscription, standing and hold
func (s *Status) Routes(guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	return []kit.Route{
		pathRoute(guard, opts, http.MethodGet, "/v1/billing/accounts/{account}", "billing.accounts.get", "account", s.Account),
		pathRoute(guard, opts, http.MethodGet, "/v1/tenants/{code}/billing", "billing.county.get", "code", s.County),
	}
}
