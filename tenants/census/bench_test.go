package census_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/census"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
)

// seedCounty gives county units 1 to units of accounts each, as a county
// in preparation has them: a third without a mobile number, the last of
// each unit disabled, two thirds with a password, a third signed in, a
// leader and two clerks per unit, every tenth unit over its quota, and a
// seal per unit, every fourth revoked.
func seedCounty(t testing.TB, router *store.Router, county string, units, accounts int) {
	t.Helper()
	var unitRows, accountRows, credentialRows, roleRows, loginRows, sealRows []string
	for u := 1; u <= units; u++ {
		quota := "NULL"
		if u%10 == 0 {
			quota = fmt.Sprint(accounts - 5)
		}
		unitRows = append(unitRows, fmt.Sprintf("(%d, '单位%03d', %d, %s, NOW(6), NOW(6))", u, u, u, quota))
		revoked := "NULL"
		if u%4 == 0 {
			revoked = "NOW(6)"
		}
		sealRows = append(sealRows, fmt.Sprintf("(%d, x'04', x'00', NOW(6), 'bench', %s)", u, revoked))
		for a := range accounts {
			id := (u-1)*accounts + a + 1
			mobile, status := "'13800138000'", "active"
			if a%3 == 0 {
				mobile = "NULL"
			}
			if a == accounts-1 {
				status = "disabled"
			}
			accountRows = append(accountRows, fmt.Sprintf("(%d, 'u%03d.a%02d', '账号', %d, %s, '%s', NOW(6), NOW(6))", id, u, a, u, mobile, status))
			if a%3 != 2 {
				credentialRows = append(credentialRows, fmt.Sprintf("(%d, 'x', TRUE, NOW(6))", id))
			}
			if a%3 == 1 {
				loginRows = append(loginRows, fmt.Sprintf("('%s', '%s%d', %d, '2026-05-20', 1, NOW(6))", measure.FirstLogins, measure.AccountKeyPrefix, id, u))
			}
			switch a {
			case 0:
				roleRows = append(roleRows, fmt.Sprintf("(%d, (SELECT id FROM roles WHERE code = 'leader'))", id))
			case 1, 2:
				roleRows = append(roleRows, fmt.Sprintf("(%d, (SELECT id FROM roles WHERE code = 'clerk'))", id))
			}
		}
	}
	err := router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		for _, stmt := range []string{
			"INSERT INTO units (id, name, sort_order, account_quota, created_at, updated_at) VALUES " + strings.Join(unitRows, ", "),
			"INSERT INTO accounts (id, login, name, unit_id, mobile, status, created_at, updated_at) VALUES " + strings.Join(accountRows, ", "),
			"INSERT INTO credentials (account_id, password_hash, must_change, changed_at) VALUES " + strings.Join(credentialRows, ", "),
			"INSERT INTO account_roles (account_id, role_id) VALUES " + strings.Join(roleRows, ", "),
			"INSERT INTO measure_records (measure, idempotency_key, unit_id, day, delta, recorded_at) VALUES " + strings.Join(loginRows, ", "),
			"INSERT INTO seals (unit_id, public_key, private_key_sealed, created_at, created_by, revoked_at) VALUES " + strings.Join(sealRows, ", "),
			"ANALYZE TABLE units, accounts, credentials, account_roles, measure_records, seals",
		} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%.60s: %w", stmt, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawCensus is the census's reads and writes by hand, the benchmark's
// baseline: the same lock, the same statement of facts scanned into
// plain numbers, the figures standing read as measure.SetLevels reads
// them, and one statement writing those that changed.
func rawCensus(ctx context.Context, router *store.Router, county, day string) (int, error) {
	ids := make([]any, 0, 11)
	for _, d := range measure.CensusMeasures() {
		ids = append(ids, d.ID)
	}
	standingSQL := `SELECT m.measure, m.unit_id, m.value FROM measure_values m
JOIN (SELECT measure, unit_id, MAX(period_start) AS last_day FROM measure_values WHERE measure IN (?` + strings.Repeat(", ?", len(ids)-1) + `) AND grain = 'd' AND period_start <= ?
GROUP BY measure, unit_id) last_days ON m.measure = last_days.measure AND m.unit_id = last_days.unit_id AND m.grain = 'd' AND m.period_start = last_days.last_day`
	written := 0
	err := router.InTenant(ctx, county, func(ctx context.Context, conn *sqlx.Conn) error {
		const name = "CONCAT('countycloud.census.', MD5(DATABASE()))"
		if _, err := conn.ExecContext(ctx, "SELECT GET_LOCK("+name+", 30)"); err != nil {
			return err
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK("+name+")")
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		type key struct {
			measure string
			unit    int64
		}
		set := map[key]int64{}
		rows, err := tx.QueryContext(ctx, census.FactsSQL, census.FactsArgs()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		units := int64(0)
		for rows.Next() {
			var unit, accounts, mobile, issued, signedIn, leaders, clerks, seals int64
			var quota sql.NullInt64
			if err := rows.Scan(&unit, &quota, &accounts, &mobile, &issued, &signedIn, &leaders, &clerks, &seals); err != nil {
				return err
			}
			units++
			over := int64(0)
			if quota.Valid {
				over = max(accounts-quota.Int64, 0)
			}
			set[key{measure.OrgAccounts, unit}] = accounts
			set[key{measure.OrgAccountsMobile, unit}] = mobile
			set[key{measure.OrgCredentialsIssued, unit}] = issued
			set[key{measure.OrgAccountsSignedIn, unit}] = signedIn
			set[key{measure.OrgLeaders, unit}] = leaders
			set[key{measure.OrgClerks, unit}] = clerks
			set[key{measure.OrgOverQuota, unit}] = over
			set[key{measure.SealsActive, unit}] = seals
		}
		if err := rows.Err(); err != nil {
			return err
		}
		set[key{measure.OrgUnits, measure.CountyWide}] = units
		standing, err := tx.QueryContext(ctx, standingSQL, append(ids, day)...)
		if err != nil {
			return err
		}
		defer standing.Close()
		for standing.Next() {
			var k key
			var v int64
			if err := standing.Scan(&k.measure, &k.unit, &v); err != nil {
				return err
			}
			if set[k] == v {
				delete(set, k)
			}
		}
		if err := standing.Err(); err != nil {
			return err
		}
		if len(set) > 0 {
			values := make([]string, 0, len(set))
			args := make([]any, 0, 3*len(set))
			for k, v := range set {
				values = append(values, "(?, ?, 'd', '"+day+"', ?)")
				args = append(args, k.measure, k.unit, v)
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO measure_values (measure, unit_id, grain, period_start, value) VALUES "+
				strings.Join(values, ", ")+" ON DUPLICATE KEY UPDATE value = VALUES(value)", args...); err != nil {
				return err
			}
		}
		written = len(set)
		return tx.Commit()
	})
	return written, err
}

// BenchmarkCensus takes the census of a county of 100 units × 30
// accounts (801 figures):
//
//	unchanged  the hourly norm: nothing changed since the last census
//	changed    every figure changed (the census's rows of the day gone)
//
// each iteration by the service (Census) and then by hand (rawCensus,
// the baseline), so that both see the same load, reporting each one's
// p50 in ms and census ÷ raw of the two.
func BenchmarkCensus(b *testing.B) {
	w := setup(b)
	router := provisiontest.Router(w.db, registry.LocatorInterval)
	seedCounty(b, router, wengyuan, 100, 30)
	svc := census.New(router, counties{wengyuan}, w.queue, w.clock.Now, quiet)
	day := measure.Day(w.clock.Now())
	forget := func(b *testing.B) {
		err := router.InTenant(context.Background(), wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
			_, err := conn.ExecContext(ctx, "DELETE FROM measure_values WHERE measure LIKE 'platform.org.%' OR measure = ?", measure.SealsActive)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	service := func() (int, error) {
		res, err := svc.Census(context.Background(), wengyuan)
		return res.Written, err
	}
	raw := func() (int, error) { return rawCensus(context.Background(), router, wengyuan, day) }
	if _, err := service(); err != nil {
		b.Fatal(err)
	}
	for _, scenario := range []struct {
		name    string
		changed bool
	}{{"unchanged", false}, {"changed", true}} {
		b.Run(scenario.name, func(b *testing.B) {
			want := 0
			if scenario.changed {
				want = 801
			}
			var times [2][]time.Duration
			for b.Loop() {
				for i, run := range []func() (int, error){service, raw} {
					if scenario.changed {
						forget(b)
					}
					start := time.Now()
					n, err := run()
					times[i] = append(times[i], time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if n != want {
						b.Fatalf("%d figures written, want %d", n, want)
					}
				}
			}
			var p50 [2]float64
			for i := range times {
				slices.Sort(times[i])
				p50[i] = float64(times[i][len(times[i])/2].Microseconds()) / 1000
			}
			b.ReportMetric(p50[0], "census-p50-ms")
			b.ReportMetric(p50[1], "raw-p50-ms")
			b.ReportMetric(p50[0]/p50[1], "census/raw")
		})
	}
}
