// Package storetest gives each test schemas of its own on the real MariaDB
// (or MySQL) that `make test` provides, and removes them afterwards.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// EnvDSN names the variable holding the test server's DSN.
const EnvDSN = "COUNTYCLOUD_TEST_MYSQL_DSN"

// DefaultDSN is the account scripts/ensure-mariadb.sh creates.
const DefaultDSN = "countycloud:countycloud@tcp(127.0.0.1:3306)/"

// EnvDSN2 names the variable holding the second test server's DSN, a
// cluster of its own.
const EnvDSN2 = "COUNTYCLOUD_TEST_MYSQL_DSN2"

// DefaultDSN2 is the second server scripts/ensure-mariadb.sh starts.
const DefaultDSN2 = "countycloud:countycloud@tcp(127.0.0.1:3307)/"

// DB is a test's own control-plane schema on the test server, and the
// prefix its county schemas must use.
type DB struct {
	// Config reaches the control schema.
	Config        *mysql.Config
	Control       *sqlx.DB
	ControlSchema string
	// Server reaches the server without a default schema, for the test's
	// own assertions across schemas (always schema-qualified).
	Server *sqlx.DB
	// Cluster is the same server as the platform's default cluster.
	Cluster *store.Cluster
	// Locker takes named locks scoped to this test's control schema.
	Locker       *store.Locker
	SchemaPrefix string
}

// ServerConfig returns the test server's DSN config without a database.
func ServerConfig(t testing.TB) *mysql.Config {
	return serverConfig(t, EnvDSN, DefaultDSN)
}

// Server2Config returns the second test server's DSN config.
func Server2Config(t testing.TB) *mysql.Config {
	return serverConfig(t, EnvDSN2, DefaultDSN2)
}

func serverConfig(t testing.TB, env, def string) *mysql.Config {
	t.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		dsn = def
	}
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	cfg.DBName = ""
	return cfg
}

// New creates a fresh, migrated control schema and a schema prefix for the
// test, and drops both, with every county schema under the prefix, when
// the test ends.
func New(t testing.TB) *DB {
	t.Helper()
	ctx := context.Background()
	var b [4]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	d := &DB{ControlSchema: "cct_" + id, SchemaPrefix: "cct" + id + "_"}

	server := store.Open(ServerConfig(t), 8, quiet)
	t.Cleanup(func() { server.Close() })
	if err := server.PingContext(ctx); err != nil {
		t.Fatalf("the test database is not reachable (%v): run `make test`, which starts MariaDB, or set %s", err, EnvDSN)
	}
	d.Server = server
	cluster, pool := store.OpenCluster("default", ServerConfig(t), 8, quiet)
	t.Cleanup(func() { pool.Close() })
	d.Cluster = cluster
	locks := store.Open(ServerConfig(t), 8, quiet)
	d.Locker = store.NewLocker(locks, d.ControlSchema+":")
	t.Cleanup(func() { locks.Close() })
	if err := store.EnsureSchema(ctx, server, d.ControlSchema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.drop(t, server) })

	d.Config = ServerConfig(t)
	d.Config.DBName = d.ControlSchema
	d.Control = store.Open(d.Config, 16, quiet)
	t.Cleanup(func() { d.Control.Close() })
	if _, err := store.ControlMigrations().Up(ctx, d.Control); err != nil {
		t.Fatal(err)
	}
	return d
}

// SecondCluster returns the second test server as a cluster called
// "second", and a pool on it for the test's own assertions. County schemas
// under the test's prefix are dropped there too when the test ends.
func (d *DB) SecondCluster(t testing.TB) (*store.Cluster, *sqlx.DB) {
	t.Helper()
	server := store.Open(Server2Config(t), 8, quiet)
	t.Cleanup(func() { server.Close() })
	if err := server.Ping(); err != nil {
		t.Fatalf("the second test database is not reachable (%v): run `make test`, which starts it, or set %s", err, EnvDSN2)
	}
	t.Cleanup(func() { d.drop(t, server) })
	cluster, pool := store.OpenCluster("second", Server2Config(t), 8, quiet)
	t.Cleanup(func() { pool.Close() })
	return cluster, server
}

// errDropRmdir is MariaDB's "Error dropping database (can't rmdir …)".
const errDropRmdir = 1010

func (d *DB) drop(t testing.TB, server *sqlx.DB) {
	ctx := context.Background()
	var schemas []string
	err := server.SelectContext(ctx, &schemas,
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ? OR SCHEMA_NAME LIKE ?",
		d.ControlSchema, likePrefix(d.SchemaPrefix))
	if err != nil {
		t.Errorf("list test schemas: %v", err)
		return
	}
	for _, s := range schemas {
		_, err := server.ExecContext(ctx, "DROP DATABASE `"+s+"`")
		var my *mysql.MySQLError
		switch {
		case errors.As(err, &my) && my.Number == errDropRmdir:
			// The tables are gone; MariaDB left a stray file of its own
			// (a trigger's temporary file, after a client killed during
			// DDL) in the directory. The name is the test's alone.
			t.Logf("drop %s: %v", s, err)
		case err != nil:
			t.Errorf("drop %s: %v", s, err)
		}
	}
}

// Schemas lists the schemas under the test's prefix.
func (d *DB) Schemas(t testing.TB) []string {
	t.Helper()
	schemas := []string{}
	err := d.Server.Select(&schemas,
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY SCHEMA_NAME", likePrefix(d.SchemaPrefix))
	if err != nil {
		t.Fatal(err)
	}
	return schemas
}

// likePrefix is a LIKE pattern matching names that start with prefix,
// whose underscores would otherwise match any character.
func likePrefix(prefix string) string {
	return strings.ReplaceAll(prefix, "_", `\_`) + "%"
}
