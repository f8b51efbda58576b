// Package store holds what every piece of CountyCloud that touches MySQL
// shares: opening pools, schema names, named locks, the cluster pool that
// reaches county schemas and the migrator with its embedded migrations.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// Querier is what the migrator and the helpers here need of a pool or a
// pinned connection: *sqlx.DB, *sqlx.Conn and *sqlx.Tx all fit.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Open returns a pool on cfg, normalised the way every query here expects:
// UTC times parsed into time.Time, utf8mb4 throughout, and parameters
// interpolated client-side to spare a round trip per statement. Open does
// not connect; the pool connects on first use. The driver's own messages
// (broken connections it retries) go to log.
func Open(cfg *mysql.Config, maxOpen int, log *slog.Logger) *sqlx.DB {
	return pool(connector(cfg, log), maxOpen)
}

// connector connects as Open's pool does.
func connector(cfg *mysql.Config, log *slog.Logger) driver.Connector {
	c := cfg.Clone()
	c.Logger = driverLog{log}
	c.ParseTime = true
	c.Loc = time.UTC
	c.Collation = "utf8mb4_unicode_ci"
	c.InterpolateParams = true
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Params == nil {
		c.Params = map[string]string{}
	}
	c.Params["time_zone"] = "'+00:00'"
	connector, err := mysql.NewConnector(c)
	if err != nil {
		// NewConnector only fails on a config that Clone of a parsed
		// config cannot produce.
		panic(fmt.Sprintf("store: mysql connector: %v", err))
	}
	return connector
}

// pool is Open's pool of connector's connections.
func pool(connector driver.Connector, maxOpen int) *sqlx.DB {
	db := sqlx.NewDb(sql.OpenDB(connector), "mysql")
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db
}

var schemaNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ErrBadSchemaName refuses a schema name that did not come from the
// platform's own naming rules; identifiers are never taken from raw input.
var ErrBadSchemaName = errors.New("store: invalid schema name")

// QuoteSchema returns name quoted as an identifier, or ErrBadSchemaName.
func QuoteSchema(name string) (string, error) {
	if !schemaNamePattern.MatchString(name) {
		return "", fmt.Errorf("%w: %q", ErrBadSchemaName, name)
	}
	return "`" + name + "`", nil
}

// EnsureSchema creates the schema if it does not exist yet. It looks
// first, because MySQL checks the CREATE privilege before it checks
// whether the schema exists: an account that may use an existing schema
// but not create one would be refused.
func EnsureSchema(ctx context.Context, q Querier, name string) error {
	quoted, err := QuoteSchema(name)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name)
	if err != nil {
		return fmt.Errorf("look up schema %s: %w", name, err)
	}
	exists := rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("look up schema %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = q.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoted+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
	if err != nil {
		return fmt.Errorf("create schema %s: %w", name, err)
	}
	return nil
}

// IsDuplicate reports whether err is a unique-key violation.
func IsDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// Unreachable reports whether err means the database could not be reached
// (a refused or broken connection), as opposed to refusing a statement.
func Unreachable(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
}

func isMissingTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}

// driverLog hands go-sql-driver's messages to slog.
type driverLog struct{ log *slog.Logger }

func (d driverLog) Print(v ...any) {
	d.log.Warn("mysql driver: " + strings.TrimSpace(fmt.Sprint(v...)))
}
