package store_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// A process killed after a migration's statements ran but before the
// migration was recorded runs it again at the next start. For every
// migration the platform ships, tenant and control alike, that second run
// must succeed on the schema the first left: each is applied with those
// before it, its record is removed, and it runs again.
func TestEveryMigrationRunsAgainAfterACrashBeforeItsRecord(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	numbered := regexp.MustCompile(`^(\d{5})_.*\.sql$`)
	for _, kind := range []string{"tenant", "control"} {
		dir := os.DirFS(path.Join("migrations", kind))
		names, err := fs.Glob(dir, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		files := fstest.MapFS{}
		for _, name := range names {
			m := numbered.FindStringSubmatch(name)
			if m == nil {
				continue
			}
			body, err := fs.ReadFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			files[name] = &fstest.MapFile{Data: body}
			upTo := fstest.MapFS{}
			for k, v := range files {
				upTo[k] = v
			}
			migs, err := store.LoadMigrations(upTo)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(kind+"/"+name, func(t *testing.T) {
				schema := fmt.Sprintf("%s%s_%s", db.SchemaPrefix, kind[:1], m[1])
				ctx := context.Background()
				if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Server.Exec("DROP DATABASE IF EXISTS `" + schema + "`") })
				err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
					if _, err := migs.Up(ctx, conn); err != nil {
						return fmt.Errorf("first run: %w", err)
					}
					if _, err := conn.ExecContext(ctx, "DELETE FROM schema_migrations WHERE version = ?", migs.Latest()); err != nil {
						return err
					}
					if _, err := migs.Up(ctx, conn); err != nil {
						return fmt.Errorf("second run: %w", err)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
