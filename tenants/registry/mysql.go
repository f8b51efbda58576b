package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
)

// MySQLRepository stores tenants in the control plane's tenants table.
type MySQLRepository struct {
	db *sqlx.DB
	// lockPrefix scopes named locks, which MySQL shares server-wide, to
	// this control plane.
	lockPrefix string
}

// NewMySQLRepository returns the repository on the control-plane pool;
// controlSchema names the installation in server-wide lock names.
func NewMySQLRepository(db *sqlx.DB, controlSchema string) *MySQLRepository {
	return &MySQLRepository{db: db, lockPrefix: controlSchema + ":"}
}

const tenantColumns = `code, name, level, COALESCE(parent_code, '') AS parent_code, status,
COALESCE(schema_name, '') AS schema_name, COALESCE(cluster, '') AS cluster, schema_version,
COALESCE(failure, '') AS failure, created_at, updated_at`

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Insert stores a new tenant.
func (r *MySQLRepository) Insert(ctx context.Context, t Tenant) error {
	_, err := r.db.ExecContext(ctx, `INSERT INTO tenants
(code, name, level, parent_code, status, schema_name, cluster, schema_version, failure, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Code, t.Name, t.Level, nullable(t.Parent), t.Status, nullable(t.Schema), nullable(t.Cluster),
		t.SchemaVersion, nullable(t.Failure), t.CreatedAt, t.UpdatedAt)
	if store.IsDuplicate(err) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("insert tenant %s: %w", t.Code, err)
	}
	return nil
}

// Get returns the tenant with code.
func (r *MySQLRepository) Get(ctx context.Context, code string) (Tenant, error) {
	var t Tenant
	err := r.db.GetContext(ctx, &t, "SELECT "+tenantColumns+" FROM tenants WHERE code = ?", code)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("get tenant %s: %w", code, err)
	}
	return t, nil
}

// List returns tenants matching f, ordered by code.
func (r *MySQLRepository) List(ctx context.Context, f Filter) ([]Tenant, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Parent != "" {
		add("parent_code = ?", f.Parent)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.Level != "" {
		add("level = ?", f.Level)
	}
	if f.After != "" {
		add("code > ?", f.After)
	}
	q := "SELECT " + tenantColumns + " FROM tenants"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY code LIMIT ?"
	args = append(args, f.Limit)
	tenants := []Tenant{}
	if err := r.db.SelectContext(ctx, &tenants, q, args...); err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	return tenants, nil
}

// Update changes a tenant under a row lock.
func (r *MySQLRepository) Update(ctx context.Context, code string, change func(*Tenant) error) (Tenant, error) {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	defer tx.Rollback()
	var t Tenant
	err = tx.GetContext(ctx, &t, "SELECT "+tenantColumns+" FROM tenants WHERE code = ? FOR UPDATE", code)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	if err := change(&t); err != nil {
		return Tenant{}, err
	}
	t.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET name = ?, status = ?, schema_version = ?, failure = ?, updated_at = ?
WHERE code = ?`, t.Name, t.Status, t.SchemaVersion, nullable(t.Failure), t.UpdatedAt, code); err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	if err := tx.Commit(); err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	return t, nil
}

// HasActiveChildren reports whether any tenant under code is not archived.
func (r *MySQLRepository) HasActiveChildren(ctx context.Context, code string) (bool, error) {
	var n int
	err := r.db.GetContext(ctx, &n, "SELECT COUNT(*) FROM tenants WHERE parent_code = ? AND status <> ?", code, StatusArchived)
	if err != nil {
		return false, fmt.Errorf("count children of %s: %w", code, err)
	}
	return n > 0, nil
}

// Lock takes a named lock shared by every replica on this control plane.
func (r *MySQLRepository) Lock(ctx context.Context, name string, wait time.Duration) (func(), error) {
	release, err := store.Lock(ctx, r.db, r.lockPrefix+name, wait)
	if errors.Is(err, store.ErrLocked) {
		return nil, ErrLocked
	}
	return release, err
}
