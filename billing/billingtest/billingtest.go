// Package billingtest finds the stripe-mock the billing tests talk to.
package billingtest

import (
	"net/http"
	"os"
	"testing"
	"time"
)

// EnvStripe names where the tests find stripe-mock (Stripe's API mock,
// v0.185.0), which scripts/ensure-stripe-mock.sh starts.
const EnvStripe = "COUNTYCLOUD_TEST_STRIPE"

// DefaultStripe is where scripts/ensure-stripe-mock.sh starts it.
const DefaultStripe = "http://127.0.0.1:12111"

// StripeMock returns stripe-mock's address, failing the test when nothing
// answers there: billing is not tested against nothing.
func StripeMock(t testing.TB) string {
	t.Helper()
	addr := os.Getenv(EnvStripe)
	if addr == "" {
		addr = DefaultStripe
	}
	if !Answers(addr) {
		t.Fatalf("stripe-mock does not answer at %s: run scripts/ensure-stripe-mock.sh (make deps starts it) or set %s", addr, EnvStripe)
	}
	return addr
}

// Answers says whether an HTTP server answers at addr.
func Answers(addr string) bool {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(addr + "/v1/customers")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
