package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"github.com/stripe/stripe-go/v76"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
)

// Invoice is one of an account's invoices as Stripe keeps it: amounts in
// fen, shown as yuan.
type Invoice struct {
	ID        string     `json:"id"`
	Number    string     `json:"number,omitempty"`
	Status    string     `json:"status"`
	Total     Fen        `json:"total"`
	Paid      Fen        `json:"paid"`
	Remaining Fen        `json:"remaining"`
	Created   time.Time  `json:"created"`
	Due       *time.Time `json:"due,omitempty"`
	// URL is Stripe's hosted page of the invoice, where it is paid.
	URL string `json:"url,omitempty"`
}

// PortalLink is a short-lived link to Stripe's customer portal, where
// the paying office sees its invoices and how it pays.
type PortalLink struct {
	Account string `json:"account"`
	URL     string `json:"url"`
}

// Reading is what billing asks Stripe at once, outside the outbox: the
// invoices change nothing, and a portal session is a link for the
// person asking now, worth nothing once the outbox would have sent it.
type Reading interface {
	Invoices(ctx context.Context, customer string, limit int) ([]Invoice, error)
	PortalURL(ctx context.Context, customer, returnURL string) (string, error)
}

// Codes of the reads from Stripe.
const (
	// CodeNoCustomer answers an account whose customer Stripe has not
	// made yet: its call waits in the outbox.
	CodeNoCustomer = "billing_no_customer"
	// CodeStripeUnavailable answers when the platform has no Stripe key
	// or Stripe does not answer.
	CodeStripeUnavailable = "billing_stripe_unavailable"
)

// maxInvoices bounds the invoices listed: the newest, two years' monthly
// invoices of a province many times over.
const maxInvoices = 100

// Invoices lists account's newest invoices, newest first.
func (s *Service) Invoices(ctx context.Context, account string) ([]Invoice, error) {
	customer, err := s.readableCustomer(ctx, account)
	if err != nil {
		return nil, err
	}
	invoices, err := s.stripe.Invoices(ctx, customer, maxInvoices)
	if err != nil {
		return nil, errs.Unavailable(err, CodeStripeUnavailable, "Stripe 未能列出账户 %s 的发票 / Stripe did not list the invoices of %s", account, account)
	}
	return invoices, nil
}

// Portal opens Stripe's customer portal for account, returning to
// returnURL.
func (s *Service) Portal(ctx context.Context, account, returnURL string) (PortalLink, error) {
	customer, err := s.readableCustomer(ctx, account)
	if err != nil {
		return PortalLink{}, err
	}
	url, err := s.stripe.PortalURL(ctx, customer, returnURL)
	if err != nil {
		return PortalLink{}, errs.Unavailable(err, CodeStripeUnavailable, "Stripe 未能打开账户 %s 的客户门户 / Stripe did not open the portal of %s", account, account)
	}
	return PortalLink{Account: account, URL: url}, nil
}

// readableCustomer is account's Stripe customer, for a read.
func (s *Service) readableCustomer(ctx context.Context, account string) (string, error) {
	a, err := s.Account(ctx, account)
	if err != nil {
		return "", err
	}
	if s.stripe == nil {
		return "", errs.Unavailable(errors.New("no Stripe key"), CodeStripeUnavailable, "平台未配置 Stripe 密钥（COUNTYCLOUD_STRIPE_KEY） / the platform has no Stripe key (COUNTYCLOUD_STRIPE_KEY)")
	}
	if a.Customer == nil {
		return "", errs.Conflict(CodeNoCustomer, "账户 %s 在 Stripe 尚无客户，创建它的调用还在发件箱中 / account %s has no Stripe customer yet: the call making it waits in the outbox", account, account)
	}
	return *a.Customer, nil
}

func (s *stripeAPI) Invoices(ctx context.Context, customer string, limit int) ([]Invoice, error) {
	p := &stripe.InvoiceListParams{Customer: stripe.String(customer)}
	p.Context = ctx
	p.Limit = stripe.Int64(int64(min(limit, 100)))
	out := []Invoice{}
	it := s.api.Invoices.List(p)
	for len(out) < limit && it.Next() {
		out = append(out, invoiceOf(it.Invoice()))
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("list the invoices of %s: %w", customer, err)
	}
	return out, nil
}

func invoiceOf(in *stripe.Invoice) Invoice {
	out := Invoice{ID: in.ID, Number: in.Number, Status: string(in.Status), Total: Fen(in.Total), Paid: Fen(in.AmountPaid),
		Remaining: Fen(in.AmountRemaining), Created: time.Unix(in.Created, 0).UTC(), URL: in.HostedInvoiceURL}
	if in.DueDate != 0 {
		due := time.Unix(in.DueDate, 0).UTC()
		out.Due = &due
	}
	return out
}

func (s *stripeAPI) PortalURL(ctx context.Context, customer, returnURL string) (string, error) {
	p := &stripe.BillingPortalSessionParams{Customer: stripe.String(customer), ReturnURL: stripe.String(returnURL)}
	p.Context = ctx
	session, err := s.api.BillingPortalSessions.New(p)
	if err != nil {
		return "", fmt.Errorf("open the portal of %s: %w", customer, err)
	}
	return session.URL, nil
}

// ReadingRoutes serve what billing reads from Stripe for the province's
// operators; the portal sends its visitor back to returnURL (the
// platform's console), never to an address a request names.
//
//	GET  /v1/billing/accounts/{account}/invoices   the account's newest invoices
//	POST /v1/billing/accounts/{account}/portal     a link to Stripe's customer portal
func (s *Service) ReadingRoutes(returnURL string, guard func(route string) endpoint.Middleware, opts ...httptransport.ServerOption) []kit.Route {
	return []kit.Route{
		pathRoute(guard, opts, http.MethodGet, "/v1/billing/accounts/{account}/invoices", "billing.accounts.invoices", "account", s.Invoices),
		pathRoute(guard, opts, http.MethodPost, "/v1/billing/accounts/{account}/portal", "billing.accounts.portal", "account",
			func(ctx context.Context, account string) (PortalLink, error) {
				return s.Portal(ctx, account, returnURL)
			}),
	}
}
