package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/store"
	"github.com/jmoiron/sqlx"
)

// TenantRouter runs work on a county's schema (core/store's Router).
type TenantRouter interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
	InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error)
}

// credential is what a login is checked against: an operator in the
// control plane or an account in its county's schema.
type credential struct {
	ID           int64      `db:"id"`
	Login        string     `db:"login"`
	Name         string     `db:"name"`
	Unit         int64      `db:"unit_id"`
	Active       bool       `db:"active"`
	PasswordHash *string    `db:"password_hash"`
	MustChange   bool       `db:"must_change"`
	FailedLogins int        `db:"failed_logins"`
	LockedUntil  *time.Time `db:"locked_until"`
	// SecurityVersion is an account's; operators have none.
	SecurityVersion int64 `db:"security_version"`
}

// dbtx is what the directory needs of a pool or a pinned connection.
type dbtx interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

// directory reads and updates credentials where they live: operators' in
// the control plane, accounts' in their county's schema.
type directory struct {
	control *sqlx.DB
	router  TenantRouter
}

// on runs fn on tenant's schema, or on the control plane for operators.
func (d directory) on(ctx context.Context, tenant string, fn func(ctx context.Context, q dbtx) error) error {
	if tenant == "" {
		return fn(ctx, d.control)
	}
	return d.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error { return fn(ctx, conn) })
}

// write runs fn in a transaction on tenant's schema, or on the control
// plane for operators, so that a change and its audit entry commit
// together.
func (d directory) write(ctx context.Context, tenant string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	if tenant != "" {
		return d.router.InTenantTx(ctx, tenant, fn)
	}
	return store.InTx(ctx, d.control, nil, func(tx *sqlx.Tx) error { return fn(ctx, tx) })
}

// subject is the audit object type of a credential's holder.
func subject(tenant string) string {
	if tenant == "" {
		return "operator"
	}
	return "account"
}

const (
	operatorCredential = `SELECT id, login, name, 0 AS unit_id, TRUE AS active, password_hash, must_change, failed_logins, locked_until, 0 AS security_version FROM operators`
	accountCredential  = `SELECT a.id, a.login, a.name, a.unit_id, a.status = 'active' AS active, c.password_hash, COALESCE(c.must_change, FALSE) AS must_change,
		COALESCE(c.failed_logins, 0) AS failed_logins, c.locked_until, COALESCE(s.version, 0) AS security_version
		FROM accounts a LEFT JOIN credentials c ON c.account_id = a.id LEFT JOIN account_security s ON s.account_id = a.id`
)

const rolesQuery = "SELECT r.code FROM account_roles ar JOIN roles r ON r.id = ar.role_id WHERE ar.account_id = ? ORDER BY r.code"

// find returns the credential of login in tenant; ok is false if there is
// none.
func (d directory) find(ctx context.Context, tenant, login string) (c credential, ok bool, err error) {
	err = d.on(ctx, tenant, func(ctx context.Context, q dbtx) error {
		query := accountCredential + " WHERE a.login = ?"
		if tenant == "" {
			query = operatorCredential + " WHERE login = ?"
		}
		return sqlx.GetContext(ctx, q, &c, query, login)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return credential{}, false, nil
	}
	if err != nil {
		return credential{}, false, fmt.Errorf("find %q: %w", login, err)
	}
	return c, true, nil
}

// principal loads the current principal of (tenant, id): its unit and
// roles as they are now, for a refresh or an API token.
func (d directory) principal(ctx context.Context, tenant string, id int64) (Principal, bool, error) {
	var c credential
	var roles []string
	err := d.on(ctx, tenant, func(ctx context.Context, q dbtx) error {
		if tenant == "" {
			return sqlx.GetContext(ctx, q, &c, operatorCredential+" WHERE id = ?", id)
		}
		if err := sqlx.GetContext(ctx, q, &c, accountCredential+" WHERE a.id = ?", id); err != nil {
			return err
		}
		return sqlx.SelectContext(ctx, q, &roles, rolesQuery, id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, fmt.Errorf("load principal: %w", err)
	}
	if !c.Active {
		return Principal{}, false, nil
	}
	return c.principal(tenant, roles), true, nil
}

// principal is the principal of c: an operator's holds the operator's
// role, an account's the county roles it was given and nothing the
// platform reserves, whatever its county's role table says.
func (c credential) principal(tenant string, roles []string) Principal {
	p := Principal{Kind: KindAccount, ID: c.ID, Login: c.Login, Name: c.Name, Tenant: tenant, Unit: c.Unit,
		Roles: slices.DeleteFunc(roles, IsReservedRole), MustChange: c.MustChange, SecurityVersion: c.SecurityVersion}
	if tenant == "" {
		p.Kind = KindOperator
		p.Roles = []string{RoleOperator}
	}
	return p
}

// roles are the role codes of account id in tenant.
func (d directory) roles(ctx context.Context, tenant string, id int64) ([]string, error) {
	if tenant == "" {
		return []string{RoleOperator}, nil
	}
	var roles []string
	err := d.on(ctx, tenant, func(ctx context.Context, q dbtx) error {
		return sqlx.SelectContext(ctx, q, &roles, rolesQuery, id)
	})
	return roles, err
}

// standing reads the standing of account id in tenant, in one round
// trip; an account that is gone is not active.
func (d directory) standing(ctx context.Context, tenant string, id int64) (standing, error) {
	db, schema, err := d.router.InTenantQualified(ctx, tenant)
	if err != nil {
		return standing{}, err
	}
	var st standing
	err = db.GetContext(ctx, &st, "SELECT a.status = 'active' AS active, COALESCE(s.version, 0) AS security_version FROM "+schema+".accounts a LEFT JOIN "+
		schema+".account_security s ON s.account_id = a.id WHERE a.id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return standing{}, nil
	}
	if err != nil {
		return standing{}, fmt.Errorf("read the standing of account %d: %w", id, err)
	}
	return st, nil
}

// RenewSecurity gives accounts ids of the county tx works in a new
// security version, in the transaction of the change that calls for it
// (their roles, unit, status or password): every token issued before is
// refused from then on, and their sessions cannot be refreshed. Once the
// transaction is committed, Service.SecurityRenewed makes this replica
// see it at once.
func RenewSecurity(ctx context.Context, tx sqlx.ExecerContext, ids ...int64) error {
	for batch := range slices.Chunk(ids, 500) {
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO account_security (account_id, version) VALUES (?, 1)"+strings.Repeat(", (?, 1)", len(batch)-1)+
			" ON DUPLICATE KEY UPDATE version = version + 1", args...); err != nil {
			return fmt.Errorf("renew the security version of accounts: %w", err)
		}
	}
	return nil
}

// loginFailed counts a wrong password and sets how long the account must
// wait before the next try.
func (d directory) loginFailed(ctx context.Context, tenant string, id int64, failures int) error {
	var until *time.Time
	if wait := Backoff(failures); wait > 0 {
		t := time.Now().UTC().Add(wait)
		until = &t
	}
	table, key := credentialTable(tenant)
	return d.on(ctx, tenant, func(ctx context.Context, q dbtx) error {
		_, err := q.ExecContext(ctx, "UPDATE "+table+" SET failed_logins = ?, locked_until = ? WHERE "+key+" = ?", failures, until, id)
		return err
	})
}

// loginSucceeded clears the failure count.
func (d directory) loginSucceeded(ctx context.Context, tenant string, id int64) error {
	table, key := credentialTable(tenant)
	return d.on(ctx, tenant, func(ctx context.Context, q dbtx) error {
		_, err := q.ExecContext(ctx, "UPDATE "+table+" SET failed_logins = 0, locked_until = NULL WHERE "+key+" = ? AND failed_logins <> 0", id)
		return err
	})
}

func credentialTable(tenant string) (table, key string) {
	if tenant == "" {
		return "operators", "id"
	}
	return "credentials", "account_id"
}

// setPassword stores hash as (tenant, id)'s password and clears any lock.
func setPassword(ctx context.Context, q sqlx.ExecerContext, tenant string, id int64, hash string, mustChange bool) error {
	now := time.Now().UTC()
	var err error
	if tenant == "" {
		_, err = q.ExecContext(ctx, "UPDATE operators SET password_hash = ?, must_change = ?, failed_logins = 0, locked_until = NULL, password_changed_at = ? WHERE id = ?",
			hash, mustChange, now, id)
	} else {
		_, err = q.ExecContext(ctx, `INSERT INTO credentials (account_id, password_hash, must_change, failed_logins, locked_until, changed_at) VALUES (?, ?, ?, 0, NULL, ?)
			ON DUPLICATE KEY UPDATE password_hash = VALUES(password_hash), must_change = VALUES(must_change), failed_logins = 0, locked_until = NULL, changed_at = VALUES(changed_at)`,
			id, hash, mustChange, now)
	}
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// Backoff is how long an account waits after failures wrong passwords in
// a row: nothing after the first two (typing mistakes), then 1 s, doubling
// up to a 15-minute lockout per further failure. A success or an admin's
// reset clears the count.
func Backoff(failures int) time.Duration {
	if failures < 3 {
		return 0
	}
	if failures >= 13 {
		return LockoutDuration
	}
	return time.Second << (failures - 3)
}

// LockoutDuration is the longest an account waits between tries.
const LockoutDuration = 15 * time.Minute
