package store_test

import (
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// tenantMigrationsUpTo are the county migrations up to version, without
// the snapshot: a county as an older release left it.
func tenantMigrationsUpTo(t *testing.T, version int64) *store.Migrations {
	t.Helper()
	files := fstest.MapFS{}
	err := fs.WalkDir(store.TenantMigrationFiles(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(path, "snapshot_") {
			return err
		}
		if v, _ := strconv.ParseInt(path[:5], 10, 64); v > version {
			return nil
		}
		data, err := fs.ReadFile(store.TenantMigrationFiles(), path)
		files[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	migs, err := store.LoadMigrations(files)
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

func TestACountyRoleWithAReservedCodeIsRenamedByTheMigrationAndItsHoldersTokensEnd(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "reserved"
	migrate(t, db, schema, tenantMigrationsUpTo(t, 10))
	q := "`" + schema + "`."
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := db.Server.Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec("INSERT INTO " + q + "units (id, name, created_at, updated_at) VALUES (1, '县信息中心', NOW(), NOW())")
	exec("INSERT INTO " + q + "roles (code, name, builtin, created_at) VALUES ('clerk', '收发员', TRUE, NOW())")
	exec("INSERT INTO " + q + "accounts (id, login, name, unit_id, status, created_at, updated_at) VALUES (100, 'clerk', '收发员', 1, 'active', NOW(), NOW())")
	exec("INSERT INTO " + q + "account_roles (account_id, role_id) SELECT 100, id FROM " + q + "roles WHERE code = 'clerk'")
	for i, code := range auth.ReservedRoles() {
		id := int64(i + 1)
		exec("INSERT INTO "+q+"roles (code, name, builtin, created_at) VALUES (?, '自建', FALSE, NOW())", code)
		exec("INSERT INTO "+q+"accounts (id, login, name, unit_id, status, created_at, updated_at) VALUES (?, ?, '人员', 1, 'active', NOW(), NOW())", id, "holder"+strconv.FormatInt(id, 10))
		exec("INSERT INTO "+q+"account_roles (account_id, role_id) SELECT ?, id FROM "+q+"roles WHERE code = ?", id, code)
	}

	migrate(t, db, schema, store.TenantMigrations())

	err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
		for i, code := range auth.ReservedRoles() {
			id := int64(i + 1)
			var held []string
			if err := conn.SelectContext(ctx, &held, "SELECT r.code FROM account_roles ar JOIN roles r ON r.id = ar.role_id WHERE ar.account_id = ?", id); err != nil {
				return err
			}
			if len(held) != 1 || !strings.HasPrefix(held[0], "renamed_"+code+"_") {
				t.Errorf("the holder of %s now holds %v; want it renamed renamed_%s_<id>", code, held, code)
			}
			var version int64
			if err := conn.GetContext(ctx, &version, "SELECT version FROM account_security WHERE account_id = ?", id); err != nil || version != 1 {
				t.Errorf("the holder of %s is at security version %d (%v); its tokens must end", code, version, err)
			}
		}
		var reserved int
		if err := conn.GetContext(ctx, &reserved, "SELECT COUNT(*) FROM roles WHERE code IN ('operator', 'staff', 'account', 'anonymous')"); err != nil || reserved != 0 {
			t.Errorf("%d roles keep a reserved code (%v)", reserved, err)
		}
		var renames int
		if err := conn.GetContext(ctx, &renames, "SELECT COUNT(*) FROM audit_log WHERE action = 'org.roles.rename' AND object_type = 'role' AND code = 'reserved_role'"); err != nil || renames != len(auth.ReservedRoles()) {
			t.Errorf("the trail records %d renames (%v), want %d", renames, err, len(auth.ReservedRoles()))
		}
		var untouched int
		if err := conn.GetContext(ctx, &untouched, "SELECT COUNT(*) FROM account_security WHERE account_id = 100"); err != nil || untouched != 0 {
			t.Errorf("a clerk's security version changed (%d, %v)", untouched, err)
		}
		var clerk string
		return conn.GetContext(ctx, &clerk, "SELECT code FROM roles WHERE code = 'clerk'")
	})
	if err != nil {
		t.Fatal(err)
	}
}
