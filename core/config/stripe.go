package config

import (
	"net/url"

	"github.com/spf13/pflag"
)

// EnvStripeKey is the environment variable of Stripe's secret key. It has
// no flag: a flag's value shows in ps.
const EnvStripeKey = EnvPrefix + "STRIPE_KEY"

// Stripe is where billing reaches Stripe. Without a key, billing still
// keeps accounts and the catalogue, and its calls wait in the outbox.
type Stripe struct {
	URL string
	// Key comes from the environment only (ReadKey).
	Key string
}

// RegisterFlags declares the Stripe flags on fs.
func (c *Stripe) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.URL, "stripe-url", "", "Stripe's API, for a proxy or a test double such as stripe-mock (default: https://api.stripe.com; the secret key is read from "+EnvStripeKey+", which has no flag)")
}

// ReadKey reads Stripe's secret key from the environment.
func (c *Stripe) ReadKey(lookup func(string) (string, bool)) {
	c.Key, _ = lookup(EnvStripeKey)
}

func (c *Stripe) validate(p *problems) {
	if c.URL == "" {
		return
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("stripe-url", "%q is not an http(s) URL, such as https://api.stripe.com", c.URL)
	}
}
