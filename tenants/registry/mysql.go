package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/store"
)

// MySQLRepository stores tenants in the control plane's tenants table.
//
// Every write that involves a parent and a child locks the parent's row
// first (SELECT … FOR UPDATE), then the child's: creating a child, changing
// a child's status, archiving a parent. Writers under one parent therefore
// take turns for the length of a short transaction, rows are always locked
// ancestors first (no deadlock), and a count of a parent's children read
// after its row is locked sees every committed child. Plain FOR UPDATE is
// used because TiDB refuses shared locks by default.
type MySQLRepository struct {
	db *sqlx.DB
}

// NewMySQLRepository returns the repository on the control-plane pool.
func NewMySQLRepository(db *sqlx.DB) *MySQLRepository {
	return &MySQLRepository{db: db}
}

const tenantColumns = `code, name, level, COALESCE(parent_code, '') AS parent_code, status,
COALESCE(schema_name, '') AS schema_name, COALESCE(cluster, '') AS cluster, schema_version,
COALESCE(failure, '') AS failure, held_since, COALESCE(hold_reason, '') AS hold_reason, created_at, updated_at`

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// Insert stores a new tenant once check has approved its parent.
func (r *MySQLRepository) Insert(ctx context.Context, t Tenant, check func(parent *Tenant) error) error {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("insert tenant %s: %w", t.Code, err)
	}
	defer tx.Rollback()
	parent, err := lockParent(ctx, tx, t.Code)
	if err != nil {
		return err
	}
	var exists int
	if err := tx.GetContext(ctx, &exists, "SELECT COUNT(*) FROM tenants WHERE code = ?", t.Code); err != nil {
		return fmt.Errorf("insert tenant %s: %w", t.Code, err)
	}
	if exists > 0 {
		return ErrDuplicate
	}
	if err := check(parent); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tenants
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
	if err := bumpEpoch(ctx, tx); err != nil {
		return err
	}
	if err := audit.Write(ctx, tx, audit.New(ctx, "tenant.create", "tenant", t.Code, nil, t)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("insert tenant %s: %w", t.Code, err)
	}
	return nil
}

// bumpEpoch tells every replica's Locator that a tenant changed.
func bumpEpoch(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, "UPDATE registry_epoch SET version = version + 1 WHERE id = 1"); err != nil {
		return fmt.Errorf("bump registry epoch: %w", err)
	}
	return nil
}

// Epoch is the registry's change counter.
func (r *MySQLRepository) Epoch(ctx context.Context) (int64, error) {
	var v int64
	if err := r.db.GetContext(ctx, &v, "SELECT version FROM registry_epoch WHERE id = 1"); err != nil {
		return 0, fmt.Errorf("read registry epoch: %w", err)
	}
	return v, nil
}

// lockParent locks and returns the parent of code, nil if code has none or
// it does not exist.
func lockParent(ctx context.Context, tx *sqlx.Tx, code string) (*Tenant, error) {
	pc := parentCode(code)
	if pc == "" {
		return nil, nil
	}
	var parent Tenant
	err := tx.GetContext(ctx, &parent, "SELECT "+tenantColumns+" FROM tenants WHERE code = ? FOR UPDATE", pc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lock parent %s: %w", pc, err)
	}
	return &parent, nil
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

// Update changes a tenant under row locks on its parent and itself.
func (r *MySQLRepository) Update(ctx context.Context, code, action string, change func(*Tenant, Neighbours) error) (Tenant, error) {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	defer tx.Rollback()
	var n Neighbours
	if n.Parent, err = lockParent(ctx, tx, code); err != nil {
		return Tenant{}, err
	}
	var t Tenant
	err = tx.GetContext(ctx, &t, "SELECT "+tenantColumns+" FROM tenants WHERE code = ? FOR UPDATE", code)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, ErrNotFound
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	err = tx.GetContext(ctx, &n.ActiveChildren, "SELECT COUNT(*) FROM tenants WHERE parent_code = ? AND status <> ?", code, StatusArchived)
	if err != nil {
		return Tenant{}, fmt.Errorf("count children of %s: %w", code, err)
	}
	before := t
	if err := change(&t, n); err != nil {
		return Tenant{}, err
	}
	if t == before {
		return t, nil
	}
	t.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	if _, err := tx.ExecContext(ctx, `UPDATE tenants SET name = ?, status = ?, schema_version = ?, failure = ?, held_since = ?, hold_reason = ?,
updated_at = ? WHERE code = ?`, t.Name, t.Status, t.SchemaVersion, nullable(t.Failure), t.HeldSince, nullable(t.HoldReason), t.UpdatedAt, code); err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	if err := bumpEpoch(ctx, tx); err != nil {
		return Tenant{}, err
	}
	if err := audit.Write(ctx, tx, audit.New(ctx, action, "tenant", code, before, t)); err != nil {
		return Tenant{}, err
	}
	if err := tx.Commit(); err != nil {
		return Tenant{}, fmt.Errorf("update tenant %s: %w", code, err)
	}
	return t, nil
}

// CountiesPerCluster counts the counties placed on each cluster.
func (r *MySQLRepository) CountiesPerCluster(ctx context.Context) (map[string]int, error) {
	var rows []struct {
		Cluster string `db:"cluster"`
		N       int    `db:"n"`
	}
	err := r.db.SelectContext(ctx, &rows, "SELECT cluster, COUNT(*) AS n FROM tenants WHERE level = ? GROUP BY cluster", LevelCounty)
	if err != nil {
		return nil, fmt.Errorf("count counties per cluster: %w", err)
	}
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Cluster] = r.N
	}
	return counts, nil
}

// Behind lists the provisioned counties whose schema is older than
// version, by code; only, if not empty, restricts them to those codes.
// With nothing behind, this one query over the central record is all a
// no-op migration costs.
func (r *MySQLRepository) Behind(ctx context.Context, version int64, only []string) ([]Tenant, error) {
	q := "SELECT " + tenantColumns + " FROM tenants WHERE level = ? AND schema_version > 0 AND schema_version < ?"
	args := []any{LevelCounty, version}
	if len(only) > 0 {
		q += " AND code IN (?" + strings.Repeat(", ?", len(only)-1) + ")"
		for _, code := range only {
			args = append(args, code)
		}
	}
	tenants := []Tenant{}
	if err := r.db.SelectContext(ctx, &tenants, q+" ORDER BY code", args...); err != nil {
		return nil, fmt.Errorf("list counties behind version %d: %w", version, err)
	}
	return tenants, nil
}

// RecordSchemaVersion records that code's schema reached version; the
// record never goes back.
func (r *MySQLRepository) RecordSchemaVersion(ctx context.Context, code string, version int64) error {
	_, err := r.db.ExecContext(ctx, "UPDATE tenants SET schema_version = ?, updated_at = ? WHERE code = ? AND schema_version < ?",
		version, time.Now().UTC().Truncate(time.Microsecond), code, version)
	if err != nil {
		return fmt.Errorf("record schema version of %s: %w", code, err)
	}
	return nil
}
