package store

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// Cluster is one MySQL-compatible host holding county schemas. It has ONE
// pool however many counties it holds; a county is reached by pinning a
// connection and selecting its schema for the duration of one unit of work.
// The pool itself is never handed out: a connection borrowed from it
// directly would still have the schema the previous borrower selected.
type Cluster struct {
	Name string
	db   *sqlx.DB
	// batches says that the pool sends several statements in one packet
	// (OpenCluster's), which a county's transaction uses for its USE and
	// START TRANSACTION and for the writes it defers (Later).
	batches bool
}

// NewCluster wraps a pool opened without a default schema; its
// transactions send their deferred writes one at a time.
func NewCluster(name string, db *sqlx.DB) *Cluster {
	return &Cluster{Name: name, db: db}
}

// OpenCluster opens the pool of cluster name as Open does, with the
// driver's multi-statement packets on, and returns the cluster and its
// pool (for its owner's metrics and Close). The packets carry only a
// county's transaction's beginning (its USE and START TRANSACTION) and
// the writes it defers, which are the platform's own statements with
// their values interpolated by the driver; the control
// plane's pool, where accounts and roles of the province live, keeps
// one statement a packet.
func OpenCluster(name string, cfg *mysql.Config, maxOpen int, log *slog.Logger) (*Cluster, *sqlx.DB) {
	c := cfg.Clone()
	c.MultiStatements = true
	db := pool(usingConnector{connector(c, log)}, maxOpen)
	return &Cluster{Name: name, db: db, batches: true}, db
}

// InSchemaTx runs fn in a transaction on schema, committed if fn returns
// nil and rolled back otherwise; the writes fn defers are written after
// it, before the commit.
func (c *Cluster) InSchemaTx(ctx context.Context, schema string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	if !c.batches {
		return c.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
			return InTx(ctx, conn, nil, func(tx *sqlx.Tx) error {
				_, err := withDeferred(ctx, tx, false, fn)
				return err
			})
		})
	}
	conn, quoted, err := c.conn(ctx, schema)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The USE in the packet that begins the transaction, the COMMIT in
	// the last of its deferred writes if any (usingConn).
	tx, err := conn.BeginTxx(context.WithValue(ctx, useKey{}, quoted), nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	committed, err := withDeferred(ctx, tx, true, fn)
	if err != nil {
		return err
	}
	// Committed already, the transaction's Commit only ends it here; an
	// error of its own (the request's context ended meanwhile) would
	// belie the commit.
	if err := tx.Commit(); err != nil && !committed {
		return err
	}
	return nil
}

// conn takes a connection of the pool for schema, whose name it checks
// and returns quoted; the caller selects it and closes the connection.
func (c *Cluster) conn(ctx context.Context, schema string) (*sqlx.Conn, string, error) {
	quoted, err := QuoteSchema(schema)
	if err != nil {
		return nil, "", err
	}
	conn, err := c.db.Connx(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return conn, quoted, nil
}

// InSchema runs fn on a connection whose default schema is schema. Every
// use of a pooled connection starts with USE, so whatever schema the
// previous borrower left selected never carries over to the next one.
func (c *Cluster) InSchema(ctx context.Context, schema string, fn func(ctx context.Context, conn *sqlx.Conn) error) error {
	conn, quoted, err := c.conn(ctx, schema)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+quoted); err != nil {
		return fmt.Errorf("cluster %s: use %s: %w", c.Name, schema, err)
	}
	return fn(ctx, conn)
}

// EnsureSchema creates schema on the cluster unless it exists.
func (c *Cluster) EnsureSchema(ctx context.Context, schema string) error {
	if err := EnsureSchema(ctx, c.db, schema); err != nil {
		return fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return nil
}

// Clusters are the named clusters county schemas are placed on.
type Clusters map[string]*Cluster

// Get returns the cluster called name.
func (cs Clusters) Get(name string) (*Cluster, error) {
	c, ok := cs[name]
	if !ok {
		return nil, fmt.Errorf("no cluster named %q is configured", name)
	}
	return c, nil
}
