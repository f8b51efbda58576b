package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Stripe is the part of Stripe's API billing uses. Every call carries the
// outbox row's idempotency key, sent as Stripe's Idempotency-Key, so a
// call the outbox repeats (its job ran twice, the answer was lost) is
// applied once.
type Stripe interface {
	CreateProduct(ctx context.Context, key string, p Product) error
	UpdateProduct(ctx context.Context, key string, p Product) error
	// CreatePrice returns the new price's id.
	CreatePrice(ctx context.Context, key string, p Price) (string, error)
	// CreateCustomer returns the new customer's id.
	CreateCustomer(ctx context.Context, key string, c Customer) (string, error)
	UpdateCustomer(ctx context.Context, key, id string, c Customer) error
	Subscriptions
	Reading
}

// Product is a Stripe product with an id of the platform's choosing.
type Product struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Price is a monthly price in fen, found again by its lookup key, which a
// new price takes over from the old one.
type Price struct {
	Product   string `json:"product"`
	LookupKey string `json:"lookup_key"`
	AmountFen int64  `json:"amount_fen"`
	// Metered prices a unit of the seat meter's usage, an account-day,
	// at a thirtieth of AmountFen; Meter is the meter's Stripe id.
	Metered bool   `json:"metered,omitempty"`
	Meter   string `json:"meter,omitempty"`
}

// Customer is a billing account as Stripe keeps it.
type Customer struct {
	Name      string            `json:"name"`
	Email     string            `json:"email,omitempty"`
	TaxExempt string            `json:"tax_exempt"`
	Metadata  map[string]string `json:"metadata"`
}

// StripeConfig is where Stripe is and the key that opens it.
type StripeConfig struct {
	Key string
	// URL is Stripe's API; default https://api.stripe.com. Tests point it
	// at stripe-mock.
	URL string
	// Timeout bounds one call; default 30 s.
	Timeout time.Duration
}

// NewStripe returns a client of Stripe's API built from cfg alone: it
// touches none of stripe-go's package-level settings (stripe.Key, the
// default backends), so two clients with different keys live side by side.
func NewStripe(cfg StripeConfig) (Stripe, error) {
	if cfg.Key == "" {
		return nil, errors.New("a Stripe client needs a key")
	}
	if cfg.URL == "" {
		cfg.URL = stripe.APIURL
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("Stripe URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	// The outbox retries with its own backoff and the same idempotency
	// key; the library's own retries would only hide an outage from it.
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(cfg.URL),
		HTTPClient:        &http.Client{Timeout: cfg.Timeout},
		MaxNetworkRetries: stripe.Int64(0),
		EnableTelemetry:   stripe.Bool(false),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	api := &client.API{}
	api.Init(cfg.Key, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
	return &stripeAPI{api: api}, nil
}

type stripeAPI struct{ api *client.API }

func params(ctx context.Context, key string) stripe.Params {
	return stripe.Params{Context: ctx, IdempotencyKey: stripe.String(key)}
}

func (s *stripeAPI) CreateProduct(ctx context.Context, key string, p Product) error {
	_, err := s.api.Products.New(&stripe.ProductParams{Params: params(ctx, key), ID: stripe.String(p.ID), Name: stripe.String(p.Name)})
	var se *stripe.Error
	if errors.As(err, &se) && se.Code == stripe.ErrorCodeResourceAlreadyExists {
		// Made before: by an earlier platform, or a call whose answer
		// was lost after its idempotency key expired.
		return s.UpdateProduct(ctx, key+"/update", p)
	}
	return classify("create product "+p.ID, err)
}

func (s *stripeAPI) UpdateProduct(ctx context.Context, key string, p Product) error {
	_, err := s.api.Products.Update(p.ID, &stripe.ProductParams{Params: params(ctx, key), Name: stripe.String(p.Name)})
	return classify("update product "+p.ID, err)
}

func (s *stripeAPI) CreatePrice(ctx context.Context, key string, p Price) (string, error) {
	pp := &stripe.PriceParams{
		Params:            params(ctx, key),
		Product:           stripe.String(p.Product),
		Currency:          stripe.String(string(stripe.CurrencyCNY)),
		UnitAmount:        stripe.Int64(p.AmountFen),
		Recurring:         &stripe.PriceRecurringParams{Interval: stripe.String(string(stripe.PriceRecurringIntervalMonth))},
		LookupKey:         stripe.String(p.LookupKey),
		TransferLookupKey: stripe.Bool(true),
		Metadata:          map[string]string{"amount_fen": strconv.FormatInt(p.AmountFen, 10)},
	}
	if p.Metered {
		pp.UnitAmount = nil
		pp.UnitAmountDecimal = stripe.Float64(float64(p.AmountFen) / seatDaysPerMonth)
		pp.Recurring.UsageType = stripe.String(string(stripe.PriceRecurringUsageTypeMetered))
		pp.Recurring.Meter = stripe.String(p.Meter)
	}
	price, err := s.api.Prices.New(pp)
	if err != nil {
		return "", classify("create price "+p.LookupKey, err)
	}
	return price.ID, nil
}

func customerParams(ctx context.Context, key string, c Customer) *stripe.CustomerParams {
	p := &stripe.CustomerParams{Params: params(ctx, key), Name: stripe.String(c.Name), TaxExempt: stripe.String(c.TaxExempt), Metadata: c.Metadata}
	if c.Email != "" {
		p.Email = stripe.String(c.Email)
	}
	return p
}

func (s *stripeAPI) CreateCustomer(ctx context.Context, key string, c Customer) (string, error) {
	cus, err := s.api.Customers.New(customerParams(ctx, key, c))
	if err != nil {
		return "", classify("create customer "+c.Name, err)
	}
	return cus.ID, nil
}

func (s *stripeAPI) UpdateCustomer(ctx context.Context, key, id string, c Customer) error {
	_, err := s.api.Customers.Update(id, customerParams(ctx, key, c))
	return classify("update customer "+id, err)
}

// ErrRejected marks a call Stripe refused as wrong (a 4xx other than a
// rate limit or a conflict): sending it again cannot help.
var ErrRejected = errors.New("stripe rejected the call")

// classify wraps err, marking a call Stripe rejected so that the outbox
// stops retrying it; an outage, a rate limit or a 5xx stays retryable.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	var se *stripe.Error
	if errors.As(err, &se) && se.HTTPStatusCode >= 400 && se.HTTPStatusCode < 500 &&
		se.HTTPStatusCode != http.StatusTooManyRequests && se.HTTPStatusCode != http.StatusConflict {
		return fmt.Errorf("%s: %w: %w", what, ErrRejected, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
