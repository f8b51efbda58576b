package host

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
)

// MySQLRepository keeps the catalog in the control plane.
type MySQLRepository struct{ db *sqlx.DB }

// NewMySQLRepository returns the catalog on the control plane's db.
func NewMySQLRepository(db *sqlx.DB) *MySQLRepository { return &MySQLRepository{db: db} }

type entryRow struct {
	ID        string    `db:"id"`
	Version   string    `db:"version"`
	SHA256    string    `db:"sha256"`
	File      string    `db:"file"`
	Builtin   bool      `db:"builtin"`
	Manifest  string    `db:"manifest"`
	Isolation string    `db:"isolation"`
	At        time.Time `db:"registered_at"`
	By        string    `db:"registered_by"`
}

func (r entryRow) entry() (Entry, error) {
	e := Entry{ID: r.ID, Version: r.Version, SHA256: r.SHA256, File: r.File, Builtin: r.Builtin, Isolation: Isolation(r.Isolation), At: r.At, By: r.By}
	if err := json.Unmarshal([]byte(r.Manifest), &e.Manifest); err != nil {
		return Entry{}, fmt.Errorf("manifest of %s %s: %w", r.ID, r.Version, err)
	}
	return e, nil
}

const entryColumns = "id, version, sha256, file, builtin, manifest, isolation, registered_at, registered_by"

func (m *MySQLRepository) Add(ctx context.Context, e Entry) error {
	manifest, err := e.Manifest.JSON()
	if err != nil {
		return err
	}
	isolation, err := ParseIsolation(string(e.Isolation))
	if err != nil {
		return err
	}
	_, err = m.db.ExecContext(ctx, "INSERT INTO plugins ("+entryColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.ID, e.Version, e.SHA256, e.File, e.Builtin, string(manifest), isolation, e.At, e.By)
	var dup *mysql.MySQLError
	if errors.As(err, &dup) && dup.Number == 1062 {
		return errs.Conflict(CodePluginExists, "%s %s is registered already; a new build needs a new version", e.ID, e.Version)
	}
	if err != nil {
		return fmt.Errorf("register %s %s: %w", e.ID, e.Version, err)
	}
	return nil
}

func (m *MySQLRepository) Entry(ctx context.Context, id, version string) (Entry, error) {
	var row entryRow
	err := m.db.GetContext(ctx, &row, "SELECT "+entryColumns+" FROM plugins WHERE id = ? AND version = ?", id, version)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, errs.NotFound(CodePluginNotFound, "no plugin %s %s is registered", id, version)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read plugin %s %s: %w", id, version, err)
	}
	return row.entry()
}

func (m *MySQLRepository) Entries(ctx context.Context) ([]Entry, error) {
	var rows []entryRow
	if err := m.db.SelectContext(ctx, &rows, "SELECT "+entryColumns+" FROM plugins ORDER BY id, registered_at"); err != nil {
		return nil, fmt.Errorf("list plugins: %w", err)
	}
	out := make([]Entry, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

type moduleRow struct {
	Tenant   string    `db:"tenant_code"`
	Plugin   string    `db:"plugin_id"`
	Version  string    `db:"version"`
	Enabled  bool      `db:"enabled"`
	Settings string    `db:"settings"`
	At       time.Time `db:"updated_at"`
	By       string    `db:"updated_by"`
}

func (r moduleRow) module() Module {
	return Module{Tenant: r.Tenant, Plugin: r.Plugin, Version: r.Version, Enabled: r.Enabled, Settings: json.RawMessage(r.Settings), At: r.At, By: r.By}
}

const moduleColumns = "tenant_code, plugin_id, version, enabled, settings, updated_at, updated_by"

func (m *MySQLRepository) PutModule(ctx context.Context, mod Module) error {
	_, err := m.db.ExecContext(ctx, "INSERT INTO tenant_modules ("+moduleColumns+") VALUES (?, ?, ?, ?, ?, ?, ?)"+
		" ON DUPLICATE KEY UPDATE version = VALUES(version), enabled = VALUES(enabled), settings = VALUES(settings), updated_at = VALUES(updated_at), updated_by = VALUES(updated_by)",
		mod.Tenant, mod.Plugin, mod.Version, mod.Enabled, string(mod.Settings), mod.At, mod.By)
	if err != nil {
		return fmt.Errorf("set module %s of %s: %w", mod.Plugin, mod.Tenant, err)
	}
	return nil
}

func (m *MySQLRepository) Module(ctx context.Context, tenant, plugin string) (Module, error) {
	var row moduleRow
	err := m.db.GetContext(ctx, &row, "SELECT "+moduleColumns+" FROM tenant_modules WHERE tenant_code = ? AND plugin_id = ?", tenant, plugin)
	if errors.Is(err, sql.ErrNoRows) {
		return Module{}, errs.NotFound(CodeModuleNotEnabled, "county %s has not enabled module %s", tenant, plugin)
	}
	if err != nil {
		return Module{}, fmt.Errorf("read module %s of %s: %w", plugin, tenant, err)
	}
	return row.module(), nil
}

func (m *MySQLRepository) Modules(ctx context.Context, tenant string) ([]Module, error) {
	var rows []moduleRow
	if err := m.db.SelectContext(ctx, &rows, "SELECT "+moduleColumns+" FROM tenant_modules WHERE tenant_code = ? ORDER BY plugin_id", tenant); err != nil {
		return nil, fmt.Errorf("list modules of %s: %w", tenant, err)
	}
	out := make([]Module, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.module())
	}
	return out, nil
}

func (m *MySQLRepository) Counties(ctx context.Context) ([]string, error) {
	var codes []string
	if err := m.db.SelectContext(ctx, &codes, "SELECT DISTINCT tenant_code FROM tenant_modules ORDER BY tenant_code"); err != nil {
		return nil, fmt.Errorf("list the counties with modules: %w", err)
	}
	return codes, nil
}

func (m *MySQLRepository) Claim(ctx context.Context, n Namespace) (Namespace, error) {
	var vendor *string
	if n.Vendor != "" {
		vendor = &n.Vendor
	}
	// The primary key decides between two claims at once: the second
	// changes nothing and reads the first.
	_, err := m.db.ExecContext(ctx, "INSERT INTO plugin_namespaces (name, owner, vendor, claimed_at, claimed_by) VALUES (?, ?, ?, ?, ?)"+
		" ON DUPLICATE KEY UPDATE name = name", n.Name, n.Owner, vendor, n.At, n.By)
	if err != nil {
		return Namespace{}, fmt.Errorf("claim namespace %s: %w", n.Name, err)
	}
	return m.Namespace(ctx, n.Name)
}

func (m *MySQLRepository) Namespace(ctx context.Context, name string) (Namespace, error) {
	var n Namespace
	err := m.db.GetContext(ctx, &n, "SELECT name, owner, COALESCE(vendor, '') AS vendor, claimed_at, claimed_by FROM plugin_namespaces WHERE name = ?", name)
	if errors.Is(err, sql.ErrNoRows) {
		return Namespace{}, errs.NotFound(CodePluginNotFound, "no one owns the name %s", name)
	}
	if err != nil {
		return Namespace{}, fmt.Errorf("read namespace %s: %w", name, err)
	}
	return n, nil
}
