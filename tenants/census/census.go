// Package census records what a county's organisation stands at as the
// platform's level measures (measure.CensusMeasures): its units, each
// unit's active accounts, those with a mobile number, with a password
// issued, signed in at least once, holding the leader's and the document
// clerk's roles, beyond the unit's quota, and its seals in use. A rollout
// gate is a measure, a threshold and a scope, so that a check on the
// county's own data reads these figures like any module's.
//
// It lives under tenants/ because its one statement joins tables that
// four packages own: tenants/org's units, accounts and roles, core/auth's
// credentials, tenants/seals' seals and core/measure's first logins.
// core may import nothing of tenants/, and putting the census in one of
// the owners would have it read three others' tables; a package of its
// own beside the rollout that uses it reads them all, and imports none
// of their packages but core/measure, whose measures it records.
package census

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
)

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
}

// Service takes the census of the counties behind its router.
type Service struct {
	router   Router
	counties Counties
	queue    Queue
	now      func() time.Time
	log      *slog.Logger
}

// New takes the census of the counties behind router, on the day of now
// in China; counties and queue schedule it every SweepEvery.
func New(router Router, counties Counties, queue Queue, now func() time.Time, log *slog.Logger) *Service {
	return &Service{router: router, counties: counties, queue: queue, now: now, log: log}
}

// Result is what one census found and wrote.
type Result struct {
	Units int `json:"units"`
	// Written counts the figures that changed since the last census
	// (measure.SetLevels writes no other).
	Written int `json:"written"`
}

// The roles a key unit must have holders of: the codes of the built-in
// roles every county starts with (tenants/provision).
const (
	roleLeader = "leader"
	roleClerk  = "clerk"
)

// unitFacts are one unit's figures as the census reads them.
type unitFacts struct {
	Unit       int64 `db:"unit_id"`
	Quota      *int  `db:"account_quota"`
	Accounts   int64 `db:"accounts"`
	Mobile     int64 `db:"mobile"`
	Issued     int64 `db:"issued"`
	SignedIn   int64 `db:"signed_in"`
	Leaders    int64 `db:"leaders"`
	Clerks     int64 `db:"clerks"`
	SealsInUse int64 `db:"seals"`
}

// factsSQL reads every unit's figures in one statement: its active
// accounts (accounts_unit), joined one by one to their password
// (credentials' key), their first login (measure_records' key, as
// measure.SignIns keys it) and their roles of the two counted, and the
// unit's seals in use (seals_unit). A unit without accounts has a row of
// zeros. Grouped by the units' key alone (the quota is the unit's one,
// taken by MAX), the units are read in its order, without a temporary
// table or a sort. Its arguments are factsArgs.
const factsSQL = `SELECT u.id AS unit_id, MAX(u.account_quota) AS account_quota,
  COUNT(a.id) AS accounts,
  COUNT(CASE WHEN a.mobile <> '' THEN 1 END) AS mobile,
  COUNT(c.account_id) AS issued,
  COUNT(f.idempotency_key) AS signed_in,
  COALESCE(SUM(r.leader), 0) AS leaders,
  COALESCE(SUM(r.clerk), 0) AS clerks,
  (SELECT COUNT(*) FROM seals s WHERE s.unit_id = u.id AND s.superseded_at IS NULL AND s.revoked_at IS NULL) AS seals
FROM units u
LEFT JOIN accounts a ON a.unit_id = u.id AND a.status = 'active'
LEFT JOIN credentials c ON c.account_id = a.id
LEFT JOIN measure_records f ON f.measure = ? AND f.idempotency_key = CONCAT(?, a.id)
LEFT JOIN (SELECT ar.account_id, MAX(ro.code = ?) AS leader, MAX(ro.code = ?) AS clerk
  FROM account_roles ar JOIN roles ro ON ro.id = ar.role_id WHERE ro.code IN (?, ?) GROUP BY ar.account_id) r ON r.account_id = a.id
GROUP BY u.id
ORDER BY u.id`

func factsArgs() []any {
	return []any{measure.FirstLogins, measure.AccountKeyPrefix, roleLeader, roleClerk, roleLeader, roleClerk}
}

// Census records county's figures as they stand now, in one transaction
// on its schema: one statement reads every unit's, and measure.SetLevels
// writes those that changed since the last census (a figure that fell to
// 0 included) as today's. Taking it again on a day changes nothing
// unless the organisation did. Censuses of one county take turns (a
// named lock on its schema), each reading after the one before it
// committed, so that the last to commit never stands on older facts; the
// rollout takes one right before it judges a county's gates.
func (s *Service) Census(ctx context.Context, county string) (Result, error) {
	var res Result
	err := s.router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		release, err := lockCounty(ctx, conn)
		if err != nil {
			return err
		}
		defer release()
		return store.InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
			var units []unitFacts
			if err := tx.SelectContext(ctx, &units, factsSQL, factsArgs()...); err != nil {
				return fmt.Errorf("read the organisation: %w", err)
			}
			written, err := measure.SetLevels(ctx, tx, s.now(), levels(units))
			res = Result{Units: len(units), Written: written}
			return err
		})
	})
	if err != nil {
		return Result{}, fmt.Errorf("census of %s: %w", county, err)
	}
	return res, nil
}

// levels are the census's figures: how many units the county has, then
// each unit's.
func levels(units []unitFacts) []measure.Level {
	out := make([]measure.Level, 0, 1+8*len(units))
	out = append(out, measure.Level{Measure: measure.OrgUnits, Unit: measure.CountyWide, Value: int64(len(units))})
	for _, u := range units {
		var over int64
		if u.Quota != nil {
			over = max(u.Accounts-int64(*u.Quota), 0)
		}
		out = append(out,
			measure.Level{Measure: measure.OrgAccounts, Unit: u.Unit, Value: u.Accounts},
			measure.Level{Measure: measure.OrgAccountsMobile, Unit: u.Unit, Value: u.Mobile},
			measure.Level{Measure: measure.OrgCredentialsIssued, Unit: u.Unit, Value: u.Issued},
			measure.Level{Measure: measure.OrgAccountsSignedIn, Unit: u.Unit, Value: u.SignedIn},
			measure.Level{Measure: measure.OrgLeaders, Unit: u.Unit, Value: u.Leaders},
			measure.Level{Measure: measure.OrgClerks, Unit: u.Unit, Value: u.Clerks},
			measure.Level{Measure: measure.OrgOverQuota, Unit: u.Unit, Value: over},
			measure.Level{Measure: measure.SealsActive, Unit: u.Unit, Value: u.SealsInUse})
	}
	return out
}

// lockWait is how long a census waits for the one before it on the same
// county, which takes milliseconds.
const lockWait = 30 * time.Second

// errBusy is a census that waited lockWait for another on its county.
var errBusy = errors.New("another census of the county held its lock")

// lockCounty takes the county's census lock on conn, a connection on its
// schema, and returns the func that releases it. The lock is named after
// the schema (DATABASE()), unique on its server, and dies with the
// connection should the process die.
func lockCounty(ctx context.Context, conn *sqlx.Conn) (func(), error) {
	const name = "CONCAT('countycloud.census.', MD5(DATABASE()))"
	var got *int
	if err := conn.QueryRowxContext(ctx, "SELECT GET_LOCK("+name+", ?)", int(lockWait.Seconds())).Scan(&got); err != nil {
		return nil, fmt.Errorf("lock the census: %w", err)
	}
	if got == nil || *got != 1 {
		return nil, errBusy
	}
	return func() {
		// Released whatever became of the caller's context; a lock that
		// cannot be released goes with its connection.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK("+name+")"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}, nil
}
