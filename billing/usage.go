package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/store"
)

// seatMeter records the seat meter and returns the call that makes it,
// in stream, the seat product's, before the price made on it.
func (s *Service) seatMeter(ctx context.Context, tx *sqlx.Tx, stream string) ([]call, error) {
	res, err := tx.ExecContext(ctx, "INSERT IGNORE INTO billing_meters (event_name, created_at) VALUES (?, ?)", SeatMeterEvent, s.now().UTC())
	if err != nil {
		return nil, fmt.Errorf("record the seat meter: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return nil, err
	}
	return []call{{stream: stream, op: opCreateMeter, subject: SeatMeterEvent, key: "cc/meter/" + SeatMeterEvent + "/create",
		body: Meter{EventName: SeatMeterEvent, DisplayName: seatMeterName}}}, nil
}

// JobUsage is the kind of the job that reports every county's active
// accounts on the seat meter; it runs every UsageEvery, and each county
// is reported once a day (in China): the outbox key and the meter event's
// identifier are the county's and the day's.
const (
	JobUsage   = "billing.usage"
	UsageEvery = time.Hour
)

// Jobs are the handlers of the lifecycle's job kinds.
func (l *Lifecycle) Jobs() map[string]jobs.Handler {
	return map[string]jobs.Handler{JobUsage: l.UsageJob}
}

// LifecycleSchedules are the lifecycle's recurring jobs.
func LifecycleSchedules() []jobs.Schedule {
	return []jobs.Schedule{{Kind: JobUsage, Every: UsageEvery}}
}

// UsageJob is the handler of JobUsage.
func (l *Lifecycle) UsageJob(ctx context.Context, _ jobs.Job) error {
	_, err := l.ReportUsage(ctx)
	return err
}

// UsageReport says what one pass of the daily report did.
type UsageReport struct {
	Day string `json:"day"`
	// Reported is how many counties' usage was written to the outbox;
	// Already those reported earlier the same day.
	Reported int `json:"reported"`
	Already  int `json:"already"`
	// Created is how many subscriptions were made for counties an
	// account started paying for since they entered trial operation.
	Created int `json:"created"`
}

// ReportUsage writes today's meter event of every county in formal
// operation not reported today yet, on its paying account's customer,
// with its active accounts as the census last counted them, and brings
// its items to its modules (which covers a module change heard by a
// process that died before it wrote it). The account's seat subscription
// is made with its first report. A county in trial operation reports
// nothing: the trial is free. First it makes the subscriptions still
// waiting for a paying account.
func (l *Lifecycle) ReportUsage(ctx context.Context) (UsageReport, error) {
	now := l.now()
	day := now.In(china).Format(time.DateOnly)
	rep := UsageReport{Day: day}
	created, err := l.createWaiting(ctx)
	if err != nil {
		return rep, err
	}
	rep.Created = created
	var counties []struct {
		County  string `db:"county_code"`
		Account string `db:"account_code"`
	}
	// A county in paid service is reported whether or not it has a
	// subscription of its own (one without a priced module has none).
	if err := l.billing.db.SelectContext(ctx, &counties, "SELECT s.county_code, p.account_code FROM billing_subscriptions s JOIN billing_payers p ON p.county_code = s.county_code WHERE s.state = ? ORDER BY s.county_code", StateActive); err != nil {
		return rep, fmt.Errorf("read the subscriptions: %w", err)
	}
	var done []string
	if err := l.billing.db.SelectContext(ctx, &done, "SELECT subject FROM billing_outbox WHERE idempotency_key LIKE ?", usageKeyPrefix(day)+"%"); err != nil {
		return rep, fmt.Errorf("read today's reports: %w", err)
	}
	reported := make(map[string]bool, len(done))
	for _, c := range done {
		reported[c] = true
	}
	for _, c := range counties {
		if reported[c.County] {
			rep.Already++
			continue
		}
		seats, err := l.seats.ActiveAccounts(ctx, c.County)
		if err != nil {
			return rep, fmt.Errorf("the active accounts of %s: %w", c.County, err)
		}
		var rows []int64
		err = store.InTx(ctx, l.billing.db, nil, func(tx *sqlx.Tx) error {
			if rows, err = l.reconcileItems(ctx, tx, c.County); err != nil {
				return err
			}
			seatSub, err := l.billing.seatSubscription(ctx, tx, c.Account, now.Unix())
			if err != nil {
				return err
			}
			rows = append(rows, seatSub)
			id, err := l.billing.write(ctx, tx, call{stream: "usage:" + c.County, op: opReportUsage, subject: c.County,
				key:  usageKeyPrefix(day) + c.County,
				body: usagePayload{County: c.County, Account: c.Account, Identifier: "cc-usage-" + day + "-" + c.County, Value: seats, Timestamp: now.Unix()}})
			rows = append(rows, id)
			return err
		})
		if err != nil {
			return rep, err
		}
		l.billing.queue(ctx, rows)
		rep.Reported++
	}
	return rep, nil
}

func usageKeyPrefix(day string) string { return "cc/usage/" + day + "/" }

// createWaiting makes the subscriptions of the counties in trial or
// formal operation that no account paid for when they entered trial and
// one does now (or that had no priced module and have one now).
func (l *Lifecycle) createWaiting(ctx context.Context) (int, error) {
	var waiting []string
	if err := l.billing.db.SelectContext(ctx, &waiting, "SELECT s.county_code FROM billing_subscriptions s JOIN billing_payers p ON p.county_code = s.county_code WHERE NOT s.created ORDER BY s.county_code"); err != nil {
		return 0, fmt.Errorf("read the subscriptions waiting for a payer: %w", err)
	}
	created := 0
	for _, county := range waiting {
		var rows []int64
		err := store.InTx(ctx, l.billing.db, nil, func(tx *sqlx.Tx) error {
			sub, found, err := l.billing.lockSubscription(ctx, tx, county)
			if err != nil || !found || sub.Created {
				return err
			}
			rows, err = l.create(ctx, tx, sub)
			return err
		})
		if err != nil {
			return 0, err
		}
		created += len(rows)
		l.billing.queue(ctx, rows)
	}
	return created, nil
}
