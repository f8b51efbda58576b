// Package provision gives a county its own schema: it creates the schema
// on the county's cluster, migrates it to the current version and seeds
// its defaults. Every step is idempotent, so a run interrupted anywhere is
// finished by running it again.
package provision

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Provisioner implements registry.Provisioner on the configured clusters.
type Provisioner struct {
	clusters   store.Clusters
	migrations *store.Migrations
	log        *slog.Logger
}

// New returns a provisioner migrating county schemas with migrations.
func New(clusters store.Clusters, migrations *store.Migrations, log *slog.Logger) *Provisioner {
	return &Provisioner{clusters: clusters, migrations: migrations, log: log}
}

// Provision creates, migrates and seeds t's schema and returns its version.
func (p *Provisioner) Provision(ctx context.Context, t registry.Tenant) (int64, error) {
	cluster, err := p.clusters.Get(t.Cluster)
	if err != nil {
		return 0, err
	}
	if err := cluster.EnsureSchema(ctx, t.Schema); err != nil {
		return 0, err
	}
	p.log.DebugContext(ctx, "schema exists", "tenant", t.Code, "schema", t.Schema)
	var version int64
	err = cluster.InSchema(ctx, t.Schema, func(ctx context.Context, conn *sqlx.Conn) error {
		v, err := p.migrations.Up(ctx, conn)
		if err != nil {
			return err
		}
		version = v
		p.log.DebugContext(ctx, "schema migrated", "tenant", t.Code, "version", v)
		return seed(ctx, conn)
	})
	if err != nil {
		return 0, fmt.Errorf("provision %s: %w", t.Code, err)
	}
	return version, nil
}

// builtinRoles are the roles every county starts with (DOMAIN.md).
var builtinRoles = []struct{ code, name string }{
	{"leader", "领导"},
	{"clerk", "收发员"},
	{"business_admin", "业务管理员"},
	{"system_admin", "系统管理员"},
	{"unit_admin", "单位管理员"},
	// Electronic supervision's staff: the supervising unit's holders of it
	// are told when a task runs past its time limit.
	{"supervisor", "监察员"},
}

var defaultSettings = []struct{ name, value string }{
	{"locale", "zh-CN"},
	{"timezone", "Asia/Shanghai"},
}

// seed inserts the defaults a county starts with. INSERT IGNORE keeps a
// re-run from duplicating them or undoing a county admin's changes.
func seed(ctx context.Context, conn *sqlx.Conn) error {
	now := time.Now().UTC()
	var roleArgs, settingArgs []any
	for _, r := range builtinRoles {
		roleArgs = append(roleArgs, r.code, r.name, now)
	}
	for _, s := range defaultSettings {
		settingArgs = append(settingArgs, s.name, s.value, now)
	}
	if _, err := conn.ExecContext(ctx, "INSERT IGNORE INTO roles (code, name, builtin, created_at) VALUES "+
		placeholders("(?, ?, TRUE, ?)", len(builtinRoles)), roleArgs...); err != nil {
		return fmt.Errorf("seed roles: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT IGNORE INTO settings (name, value, updated_at) VALUES "+
		placeholders("(?, ?, ?)", len(defaultSettings)), settingArgs...); err != nil {
		return fmt.Errorf("seed settings: %w", err)
	}
	return nil
}

func placeholders(row string, n int) string {
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}
