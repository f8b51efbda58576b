package store_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// tenantMigrationsBefore are the tenant migrations numbered below version,
// without the snapshot: a county as an older release left it.
func tenantMigrationsBefore(t *testing.T, version string) *store.Migrations {
	t.Helper()
	files := fstest.MapFS{}
	all := store.TenantMigrationFiles()
	names, err := fs.Glob(all, "0*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name < version {
			b, err := fs.ReadFile(all, name)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = &fstest.MapFile{Data: b}
		}
	}
	migs, err := store.LoadMigrations(files)
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

// TestDeadlinesCountedBeforeTheirCalendarStatusWasKeptGetTheirYearsStatus:
// migration 12 marks the deadlines already in a county by the national
// data shipped with it (2026 official, 2027 provisional, nothing else),
// from the start of the instance to the deadline in China's time.
func TestDeadlinesCountedBeforeTheirCalendarStatusWasKeptGetTheirYearsStatus(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "m12"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
		if _, err := tenantMigrationsBefore(t, "00012").Up(ctx, conn); err != nil {
			return err
		}
		for _, stmt := range []string{
			"INSERT INTO units (id, name, created_at, updated_at) VALUES (1, '县信息中心', NOW(), NOW())",
			"INSERT INTO workflow_definitions (code, version, name, base, effective, created_at, updated_at, updated_by) VALUES ('receive', 1, '收文', '{}', '{}', NOW(), NOW(), 'test')",
			// Instance 1 runs within 2026; 2 into 2027; 3 from 2027 into
			// 2028; 4 started on 2025-12-31 in China (16:00 UTC is
			// midnight past); 5 has no deadline.
			`INSERT INTO workflow_instances (id, definition_code, definition_version, title, initiator_id, initiator_unit_id, status, started_at, due_at) VALUES
(1, 'receive', 1, 'a', 1, 1, 'running', '2026-06-01 01:00:00', '2026-06-23 09:30:00'),
(2, 'receive', 1, 'b', 1, 1, 'running', '2026-12-20 01:00:00', '2027-01-11 09:30:00'),
(3, 'receive', 1, 'c', 1, 1, 'running', '2027-12-20 01:00:00', '2028-01-11 09:30:00'),
(4, 'receive', 1, 'd', 1, 1, 'running', '2025-12-31 15:00:00', '2026-01-20 09:30:00'),
(5, 'receive', 1, 'e', 1, 1, 'running', '2026-06-01 01:00:00', NULL)`,
			// Task 2 is due within 2026 though its instance is not; task
			// 4 is counted within 2026 but its instance began in 2025.
			`INSERT INTO workflow_tasks (id, instance_id, step, step_name, unit_id, status, created_at, due_at) VALUES
(1, 1, 's', 's', 1, 'open', '2026-06-01 01:00:00', '2026-06-01 07:00:00'),
(2, 2, 's', 's', 1, 'open', '2026-12-21 01:00:00', '2026-12-22 09:30:00'),
(3, 3, 's', 's', 1, 'open', '2027-12-20 01:00:00', '2027-12-21 09:30:00'),
(4, 4, 's', 's', 1, 'open', '2026-01-05 01:00:00', '2026-01-06 09:30:00'),
(5, 5, 's', 's', 1, 'open', '2026-06-01 01:00:00', NULL)`,
		} {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		if _, err := store.TenantMigrations().WithoutSnapshot().Up(ctx, conn); err != nil {
			return err
		}
		for table, want := range map[string]string{
			"workflow_instances": "official provisional missing missing -",
			"workflow_tasks":     "official official provisional missing -",
		} {
			var got []string
			if err := conn.SelectContext(ctx, &got, "SELECT COALESCE(due_calendar, '-') FROM "+table+" ORDER BY id"); err != nil {
				return err
			}
			if strings.Join(got, " ") != want {
				t.Errorf("%s: %v, want %s", table, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
