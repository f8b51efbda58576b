package billing

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/billing/billingtest"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

// BenchmarkACustomerThroughTheOutbox: what the outbox costs a call to
// Stripe (stripe-mock on loopback), against the same call made directly.
// Through the outbox, the row is written in a transaction and sent as
// its job sends it (read, stream lock, call, recorded sent with the
// customer's id); the worker's polling is left out. Between the two,
// the same call between the two commits an outbox needs at least.
func BenchmarkACustomerThroughTheOutbox(b *testing.B) {
	f := newFixture(b, billingtest.StripeMock(b))
	ctx := context.Background()
	c := Customer{Name: "广东省", TaxExempt: "none", Metadata: map[string]string{"countycloud_account": "gd"}}
	b.Run("direct", func(b *testing.B) {
		for i := range b.N {
			if _, err := f.svc.stripe.CreateCustomer(ctx, "bench/direct/"+strconv.Itoa(i), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The least an outbox can do: the direct call between two commits,
	// one writing a row and one marking it sent.
	raws := 0
	b.Run("direct-between-two-commits", func(b *testing.B) {
		for range b.N {
			raws++
			key := "bench/raw/" + strconv.Itoa(raws)
			res, err := f.db.Control.ExecContext(ctx, "INSERT INTO billing_outbox (stream, operation, subject, idempotency_key, body, created_at) VALUES ('raw', 'customer.create', 'raw', ?, '{}', NOW(6))", key)
			if err != nil {
				b.Fatal(err)
			}
			row, _ := res.LastInsertId()
			id, err := f.svc.stripe.CreateCustomer(ctx, key, c)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := f.db.Control.ExecContext(ctx, "UPDATE billing_outbox SET stripe_id = ?, sent_at = NOW(6) WHERE id = ?", id, row); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Each account a new one: the benchmark runs the loop more than once.
	accounts := 0
	b.Run("outbox", func(b *testing.B) {
		for range b.N {
			accounts++
			code := "bench" + strconv.Itoa(accounts)
			var row int64
			err := store.InTx(ctx, f.db.Control, nil, func(tx *sqlx.Tx) error {
				var err error
				row, err = f.svc.write(ctx, tx, customerCall(opCreateCustomer, Account{Code: code, Kind: KindProvince, Name: c.Name, TaxExempt: c.TaxExempt, Revision: 1}))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			if err := f.svc.SendJob(ctx, jobs.Job{Kind: JobSend, Payload: json.RawMessage(`{"row":` + strconv.FormatInt(row, 10) + `}`)}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
