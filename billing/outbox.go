package billing

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

// Job kinds of the outbox. JobSend sends one row (and the rows after it
// in its stream); JobSweep, on a schedule, queues a send for every row
// still waiting, which covers a process that died between committing a
// row and queuing its job.
const (
	JobSend    = "billing.outbox.send"
	JobSweep   = "billing.outbox.sweep"
	SweepEvery = time.Minute
)

// SendMaxAttempts is how many times a row's job is tried: with the jobs'
// backoff (doubling to an hour) that is about two days of outage before
// the job is dead and waits for an operator's `countycloud jobs retry`.
const SendMaxAttempts = 60

// The calls an outbox row makes.
const (
	opCreateProduct  = "product.create"
	opUpdateProduct  = "product.update"
	opCreatePrice    = "price.create"
	opCreateCustomer = "customer.create"
	opUpdateCustomer = "customer.update"
)

// call is a row of the outbox about to be written. Rows of one stream are
// sent in the order they were written: a price after its product, a
// customer's updates after its creation.
type call struct {
	stream, op, subject, key string
	body                     any
}

// OutboxRow is a call to Stripe as the outbox keeps it.
type OutboxRow struct {
	ID             int64      `json:"id" db:"id"`
	Stream         string     `json:"stream" db:"stream"`
	Operation      string     `json:"operation" db:"operation"`
	Subject        string     `json:"subject" db:"subject"`
	IdempotencyKey string     `json:"idempotency_key" db:"idempotency_key"`
	Body           string     `json:"-" db:"body"`
	StripeID       *string    `json:"stripe_id,omitempty" db:"stripe_id"`
	Attempts       int        `json:"attempts" db:"attempts"`
	LastError      *string    `json:"last_error,omitempty" db:"last_error"`
	CreatedAt      time.Time  `json:"created_at" db:"created_at"`
	SentAt         *time.Time `json:"sent_at,omitempty" db:"sent_at"`
}

const outboxColumns = "id, stream, operation, subject, idempotency_key, body, stripe_id, attempts, last_error, created_at, sent_at"

// write adds c to the outbox in tx, the transaction of the change that
// causes it, and returns the row's id; a key written before (the same
// change recorded twice) adds nothing and returns 0.
func (s *Service) write(ctx context.Context, tx *sqlx.Tx, c call) (int64, error) {
	body, err := json.Marshal(c.body)
	if err != nil {
		return 0, fmt.Errorf("outbox %s %s: %w", c.op, c.subject, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO billing_outbox (stream, operation, subject, idempotency_key, body, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.stream, c.op, c.subject, c.key, string(body), s.now().UTC())
	if store.IsDuplicate(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("outbox %s %s: %w", c.op, c.subject, err)
	}
	return res.LastInsertId()
}

type sendPayload struct {
	Row int64 `json:"row"`
}

// queue asks for rows to be sent, after the transaction that wrote them
// committed. A failure here loses nothing: the sweep queues them.
func (s *Service) queue(ctx context.Context, rows []int64) {
	for _, id := range rows {
		if id == 0 {
			continue
		}
		if _, _, err := s.jobs.Enqueue(ctx, sendSpec(id)); err != nil {
			s.log.WarnContext(ctx, "queuing a Stripe call failed; the sweep queues it", "row", id, "err", err)
		}
	}
}

func sendSpec(id int64) jobs.Spec {
	return jobs.Spec{Kind: JobSend, Key: JobSend + "@" + strconv.FormatInt(id, 10), Payload: sendPayload{Row: id}, MaxAttempts: SendMaxAttempts}
}

// SweepJob queues a send for every row still waiting; sends already
// queued are not queued twice (their jobs' keys).
func (s *Service) SweepJob(ctx context.Context, _ jobs.Job) error {
	var ids []int64
	if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM billing_outbox WHERE sent_at IS NULL ORDER BY id LIMIT 10000"); err != nil {
		return fmt.Errorf("sweep the billing outbox: %w", err)
	}
	for _, id := range ids {
		if _, _, err := s.jobs.Enqueue(ctx, sendSpec(id)); err != nil {
			return fmt.Errorf("sweep the billing outbox: %w", err)
		}
	}
	return nil
}

// errStreamBusy says another worker has been sending the stream's rows for
// longer than streamLockWait; the job tries again after its backoff.
var errStreamBusy = errors.New("another worker is sending this stream")

// streamLockWait is how long a send waits for the worker sending its
// stream: long enough for a few calls, so that a busy stream costs no
// attempt, which an outage of a few days needs all of.
const streamLockWait = 5 * time.Second

// SendJob sends the job's row: first every earlier row of its stream
// still waiting, then it, then the rows after it while they go through.
// One worker at a time sends a stream (a named lock; the next waits for
// it and then sends what is still waiting), so rows leave in order. A failure before the job's own row went out fails the job, which
// is tried again with backoff; Stripe's answer to a row is recorded with
// it, in one transaction with what the answer changes (a customer's id).
func (s *Service) SendJob(ctx context.Context, j jobs.Job) error {
	var p sendPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("payload: %w", err))
	}
	row, err := s.row(ctx, p.Row)
	if errors.Is(err, sql.ErrNoRows) {
		return jobs.Permanent(fmt.Errorf("outbox row %d does not exist", p.Row))
	}
	if err != nil || row.SentAt != nil {
		return err
	}
	release, err := s.locks.Lock(ctx, "billing.outbox:"+row.Stream, streamLockWait)
	if errors.Is(err, store.ErrLocked) {
		return errStreamBusy
	}
	if err != nil {
		return err
	}
	defer release()
	var waiting []OutboxRow
	if err := s.db.SelectContext(ctx, &waiting, "SELECT "+outboxColumns+" FROM billing_outbox WHERE stream = ? AND sent_at IS NULL ORDER BY id LIMIT 1000", row.Stream); err != nil {
		return fmt.Errorf("read stream %s: %w", row.Stream, err)
	}
	for _, w := range waiting {
		if err := s.send(ctx, w); err != nil {
			if w.ID > row.ID {
				// The job's own row went out; the later one has a job of its own.
				return nil
			}
			if errors.Is(err, ErrRejected) {
				return jobs.Permanent(err)
			}
			return err
		}
	}
	return nil
}

func (s *Service) row(ctx context.Context, id int64) (OutboxRow, error) {
	var r OutboxRow
	err := s.db.GetContext(ctx, &r, "SELECT "+outboxColumns+" FROM billing_outbox WHERE id = ?", id)
	return r, err
}

// send makes r's call and records how it went.
func (s *Service) send(ctx context.Context, r OutboxRow) error {
	stripeID, apply, err := s.call(ctx, r)
	if err != nil {
		msg := err.Error()
		if _, uerr := s.db.ExecContext(ctx, "UPDATE billing_outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", msg, r.ID); uerr != nil {
			s.log.WarnContext(ctx, "recording a failed Stripe call failed", "row", r.ID, "err", uerr)
		}
		return fmt.Errorf("outbox row %d (%s %s): %w", r.ID, r.Operation, r.Subject, err)
	}
	return store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		var id *string
		if stripeID != "" {
			id = &stripeID
		}
		if _, err := tx.ExecContext(ctx, "UPDATE billing_outbox SET attempts = attempts + 1, last_error = NULL, stripe_id = ?, sent_at = ? WHERE id = ?", id, s.now().UTC(), r.ID); err != nil {
			return fmt.Errorf("record outbox row %d sent: %w", r.ID, err)
		}
		if apply != nil {
			return apply(tx)
		}
		return nil
	})
}

// call makes r's call to Stripe and returns the id Stripe gave what it
// made and what recording the answer changes besides the row.
func (s *Service) call(ctx context.Context, r OutboxRow) (string, func(*sqlx.Tx) error, error) {
	body := []byte(r.Body)
	switch r.Operation {
	case opCreateProduct, opUpdateProduct:
		var p Product
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		if r.Operation == opCreateProduct {
			return p.ID, nil, s.stripe.CreateProduct(ctx, r.IdempotencyKey, p)
		}
		return p.ID, nil, s.stripe.UpdateProduct(ctx, r.IdempotencyKey, p)
	case opCreatePrice:
		var p pricePayload
		if err := json.Unmarshal(body, &p); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		if p.Metered {
			meter, err := s.stripeIDOf(ctx, "SELECT stripe_meter_id FROM billing_meters WHERE event_name = ?", "the seat meter", SeatMeterEvent)
			if err != nil {
				return "", nil, err
			}
			p.Meter = meter
		}
		id, err := s.stripe.CreatePrice(ctx, r.IdempotencyKey, p.Price)
		return id, func(tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, "UPDATE billing_prices SET stripe_price_id = ? WHERE lookup_key = ? AND revision = ?", id, p.LookupKey, p.Revision)
			return err
		}, err
	case opCreateCustomer, opUpdateCustomer:
		var c customerPayload
		if err := json.Unmarshal(body, &c); err != nil {
			return "", nil, jobs.Permanent(err)
		}
		if r.Operation == opCreateCustomer {
			id, err := s.stripe.CreateCustomer(ctx, r.IdempotencyKey, c.Customer)
			return id, func(tx *sqlx.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE billing_accounts SET stripe_customer_id = ? WHERE code = ?", id, c.Account)
				return err
			}, err
		}
		var id sql.NullString
		if err := s.db.GetContext(ctx, &id, "SELECT stripe_customer_id FROM billing_accounts WHERE code = ?", c.Account); err != nil {
			return "", nil, fmt.Errorf("account %s: %w", c.Account, err)
		}
		if !id.Valid {
			return "", nil, fmt.Errorf("account %s has no Stripe customer yet", c.Account)
		}
		return id.String, nil, s.stripe.UpdateCustomer(ctx, r.IdempotencyKey, id.String, c.Customer)
	}
	return s.callLifecycle(ctx, r)
}

type pricePayload struct {
	Price
	Revision int `json:"revision"`
}

type customerPayload struct {
	Customer
	Account string `json:"account"`
}

// Pending lists the rows not sent yet, oldest first, at most limit.
func (s *Service) Pending(ctx context.Context, limit int) ([]OutboxRow, error) {
	rows := []OutboxRow{}
	err := s.db.SelectContext(ctx, &rows, "SELECT "+outboxColumns+" FROM billing_outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?", limit)
	if err != nil {
		return nil, fmt.Errorf("read the billing outbox: %w", err)
	}
	return rows, nil
}
