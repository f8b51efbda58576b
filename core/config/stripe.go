package config

import (
	"net/url"
	"time"

	"github.com/spf13/pflag"
)

// EnvStripeKey is the environment variable of Stripe's secret key. It has
// no flag: a flag's value shows in ps.
const EnvStripeKey = EnvPrefix + "STRIPE_KEY"

// EnvStripeWebhookSecret is the environment variable of the signing
// secret of Stripe's webhook endpoint (whsec_…); no flag either.
const EnvStripeWebhookSecret = EnvPrefix + "STRIPE_WEBHOOK_SECRET"

// DefaultBillingGrace is how long an account may be past due before the
// counties it pays for become read-only.
const DefaultBillingGrace = 14 * 24 * time.Hour

// Stripe is where billing reaches Stripe. Without a key, billing still
// keeps accounts and the catalogue, and its calls wait in the outbox.
type Stripe struct {
	URL string
	// Key comes from the environment only (ReadKey).
	Key string
	// WebhookSecret verifies Stripe's webhooks; from the environment only
	// (ReadKey). Without it every delivery is refused.
	WebhookSecret string
	// Grace is how long an account stays past due before its counties
	// are held (read-only).
	Grace time.Duration
}

// RegisterFlags declares the Stripe flags on fs.
func (c *Stripe) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.URL, "stripe-url", "", "Stripe's API, for a proxy or a test double such as stripe-mock (default: https://api.stripe.com; the secret key is read from "+EnvStripeKey+", which has no flag)")
	fs.DurationVar(&c.Grace, "billing-grace", DefaultBillingGrace, "how long a billing account may stay past due (a failed invoice unpaid) before every county it pays for becomes read-only, such as 336h (14 days); the signing secret of Stripe's webhooks is read from "+EnvStripeWebhookSecret)
}

// ReadKey reads Stripe's secret key and the webhooks' signing secret
// from the environment.
func (c *Stripe) ReadKey(lookup func(string) (string, bool)) {
	c.Key, _ = lookup(EnvStripeKey)
	c.WebhookSecret, _ = lookup(EnvStripeWebhookSecret)
}

func (c *Stripe) validate(p *problems) {
	if c.Grace <= 0 {
		p.add("billing-grace", "%s is no grace; give a positive duration such as 336h", c.Grace)
	}
	if c.URL == "" {
		return
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("stripe-url", "%q is not an http(s) URL, such as https://api.stripe.com", c.URL)
	}
}
