package store_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

var updateSnapshot = flag.Bool("update-snapshot", false, "rewrite migrations/tenant/snapshot_NNNNN.sql from the migrations")

var (
	autoIncrement = regexp.MustCompile(` AUTO_INCREMENT=\d+`)
	references    = regexp.MustCompile("REFERENCES `([a-z_]+)`")
)

// dumpSchema returns the CREATE TABLE statement of every table in schema
// but schema_migrations, ordered so that a table comes after those its
// foreign keys reference, then the CREATE TRIGGER statement of every
// trigger.
func dumpSchema(t *testing.T, db *storetest.DB, schema string) []string {
	t.Helper()
	var tables []string
	if err := db.Server.Select(&tables, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME <> 'schema_migrations' ORDER BY TABLE_NAME", schema); err != nil {
		t.Fatal(err)
	}
	ddl := map[string]string{}
	for _, table := range tables {
		var name, create string
		if err := db.Server.QueryRow("SHOW CREATE TABLE `"+schema+"`.`"+table+"`").Scan(&name, &create); err != nil {
			t.Fatal(err)
		}
		ddl[table] = autoIncrement.ReplaceAllString(create, "")
	}
	var ordered []string
	done := map[string]bool{}
	var visit func(table string)
	visit = func(table string) {
		if done[table] {
			return
		}
		done[table] = true
		for _, ref := range references.FindAllStringSubmatch(ddl[table], -1) {
			if ref[1] != table {
				visit(ref[1])
			}
		}
		ordered = append(ordered, ddl[table])
	}
	sort.Strings(tables)
	for _, table := range tables {
		visit(table)
	}
	var triggers []struct {
		Name, Timing, Event, Table, Statement string
	}
	if err := db.Server.Select(&triggers, "SELECT TRIGGER_NAME AS name, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event, EVENT_OBJECT_TABLE AS `table`, ACTION_STATEMENT AS statement FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY TRIGGER_NAME", schema); err != nil {
		t.Fatal(err)
	}
	for _, tr := range triggers {
		// Dropped first, as not every engine knows CREATE TRIGGER IF NOT
		// EXISTS, and a re-run after a crash must get through.
		ordered = append(ordered, "DROP TRIGGER IF EXISTS `"+tr.Name+"`",
			fmt.Sprintf("CREATE TRIGGER `%s` %s %s ON `%s` FOR EACH ROW\n%s", tr.Name, tr.Timing, tr.Event, tr.Table, tr.Statement))
	}
	return ordered
}

func migrate(t *testing.T, db *storetest.DB, schema string, migs *store.Migrations) {
	t.Helper()
	ctx := context.Background()
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
		_, err := migs.Up(ctx, conn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTenantSnapshotMatchesMigrations proves that a county created from
// the snapshot gets exactly the schema that replaying every migration
// gives. Run with -update-snapshot to write the snapshot afresh.
func TestTenantSnapshotMatchesMigrations(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	migs := store.TenantMigrations()
	replayed := db.SchemaPrefix + "replayed"
	migrate(t, db, replayed, migs.WithoutSnapshot())
	want := dumpSchema(t, db, replayed)
	if *updateSnapshot {
		writeSnapshot(t, migs.Latest(), want)
		return
	}
	fromSnapshot := db.SchemaPrefix + "snapshot"
	migrate(t, db, fromSnapshot, migs)
	got := dumpSchema(t, db, fromSnapshot)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the snapshot does not give the schema the migrations give; run go test ./core/store -run TestTenantSnapshot -update-snapshot\nsnapshot:\n%s\nmigrations:\n%s",
			strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var versions []int64
	if err := db.Server.Select(&versions, "SELECT version FROM `"+fromSnapshot+"`.schema_migrations ORDER BY version"); err != nil {
		t.Fatal(err)
	}
	if len(versions) == 0 || versions[len(versions)-1] != migs.Latest() {
		t.Errorf("versions recorded from the snapshot: %v", versions)
	}
}

func writeSnapshot(t *testing.T, version int64, tables []string) {
	t.Helper()
	dir := filepath.Join("migrations", "tenant")
	old, _ := filepath.Glob(filepath.Join(dir, "snapshot_*.sql"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- A county's schema as migrations 1 to %d leave it, written by\n-- go test ./core/store -run TestTenantSnapshot -update-snapshot.\n-- New counties are created from it in one step.\n", version)
	for _, create := range tables {
		b.WriteString("\n")
		b.WriteString(strings.Replace(create, "CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))
		b.WriteString(";\n")
	}
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("snapshot_%05d.sql", version)), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
