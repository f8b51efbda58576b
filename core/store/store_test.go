package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

func TestEmbeddedMigrationsLoad(t *testing.T) {
	if store.ControlMigrations().Latest() < 1 || store.TenantMigrations().Latest() < 1 {
		t.Fatal("embedded migrations are empty")
	}
}

func TestLoadMigrationsRefusesMalformedSets(t *testing.T) {
	cases := map[string]fstest.MapFS{
		"bad name":      {"1_init.sql": {Data: []byte("SELECT 1;")}},
		"shared number": {"00001_a.sql": {Data: []byte("SELECT 1;")}, "00001_b.sql": {Data: []byte("SELECT 1;")}},
		"unterminated":  {"00001_a.sql": {Data: []byte("SELECT 1;\nSELECT 2")}},
		"only comments": {"00001_a.sql": {Data: []byte("-- nothing\n")}},
		"empty":         {},
	}
	for name, files := range cases {
		if _, err := store.LoadMigrations(files); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestMigrationsApplyOnceAndRefuseANewerSchema(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	migs, err := store.LoadMigrations(fstest.MapFS{
		"00001_a.sql": {Data: []byte("-- a table\nCREATE TABLE IF NOT EXISTS a (\n  id BIGINT NOT NULL PRIMARY KEY\n);\nINSERT IGNORE INTO a VALUES (1);\n")},
		"00002_b.sql": {Data: []byte("INSERT IGNORE INTO a VALUES (2);\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	schema := db.SchemaPrefix + "m"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	err = db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
		if v, err := migs.Current(ctx, conn); err != nil || v != 0 {
			t.Errorf("fresh schema at %d, %v", v, err)
		}
		for range 2 {
			if v, err := migs.Up(ctx, conn); err != nil || v != 2 {
				t.Fatalf("up = %d, %v", v, err)
			}
		}
		var n int
		if err := conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM a"); err != nil || n != 2 {
			t.Errorf("rows = %d, %v", n, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, 'future', NOW())"); err != nil {
			t.Fatal(err)
		}
		if _, err := migs.Up(ctx, conn); err == nil {
			t.Error("migrated a schema newer than the binary")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestQuoteSchemaRefusesAnythingButPlatformNames(t *testing.T) {
	for _, bad := range []string{"", "Cc_x", "cc-x", "cc_x`; DROP DATABASE y; --", "cc x", "1cc", "cc_" + string(make([]byte, 70))} {
		if _, err := store.QuoteSchema(bad); !errors.Is(err, store.ErrBadSchemaName) {
			t.Errorf("QuoteSchema(%q) = %v", bad, err)
		}
	}
	if q, err := store.QuoteSchema("cc_gd_shaoguan_wengyuan"); err != nil || q != "`cc_gd_shaoguan_wengyuan`" {
		t.Errorf("QuoteSchema = %q, %v", q, err)
	}
}

func TestLockIsExclusiveAcrossSessions(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	release, err := db.Locker.Lock(ctx, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Locker.Lock(ctx, "test", 0); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	other := store.NewLocker(db.Server, db.ControlSchema+"-other:")
	releaseOther, err := other.Lock(ctx, "test", 0)
	if err != nil {
		t.Fatalf("a lock of another installation: %v", err)
	}
	releaseOther()
	release()
	release2, err := db.Locker.Lock(ctx, "test", 0)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

// TestInSchemaNeverCarriesASchemaOver has goroutines of two counties take
// turns on a pool of ONE connection, concurrently: each unit of work sees
// its own county's rows only.
func TestInSchemaNeverCarriesASchemaOver(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	pool := store.Open(storetest.ServerConfig(t), 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer pool.Close()
	one := store.NewCluster("one", pool)
	for _, s := range []string{"a", "b"} {
		schema := db.SchemaPrefix + s
		if err := one.EnsureSchema(ctx, schema); err != nil {
			t.Fatal(err)
		}
		err := one.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
			_, err := conn.ExecContext(ctx, "CREATE TABLE owner (name VARCHAR(8) NOT NULL)")
			if err == nil {
				_, err = conn.ExecContext(ctx, "INSERT INTO owner VALUES (?)", s)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				s := []string{"a", "b"}[(g+i)%2]
				err := one.InSchema(ctx, db.SchemaPrefix+s, func(ctx context.Context, conn *sqlx.Conn) error {
					var owners []string
					if err := conn.SelectContext(ctx, &owners, "SELECT name FROM owner"); err != nil {
						return err
					}
					if len(owners) != 1 || owners[0] != s {
						t.Errorf("in schema %s saw %v", s, owners)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := one.InSchema(ctx, "not`valid", func(context.Context, *sqlx.Conn) error { return nil }); !errors.Is(err, store.ErrBadSchemaName) {
		t.Errorf("InSchema with a bad name: %v", err)
	}
}
