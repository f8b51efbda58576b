package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// driverConn is what database/sql uses of a MySQL driver's connection.
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// usingConnector opens a cluster pool's connections (OpenCluster), whose
// transactions begin with the USE of their county's schema in the same
// packet as START TRANSACTION (inSchema): one round trip, not two.
type usingConnector struct{ driver.Connector }

func (c usingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	dc, ok := conn.(driverConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("store: the driver's connection %T lacks what a cluster pool uses", conn)
	}
	return usingConn{dc}, nil
}

// usingConn is a connection of a cluster pool: the driver's, but for a
// transaction begun inSchema.
type usingConn struct{ driverConn }

// useKey marks the context of a transaction's begin with the schema,
// quoted, that it selects first.
type useKey struct{}

func (c usingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	quoted, ok := ctx.Value(useKey{}).(string)
	switch {
	case !ok:
		return c.driverConn.BeginTx(ctx, opts)
	case opts != driver.TxOptions{}:
		if _, err := c.ExecContext(ctx, "USE "+quoted, nil); err != nil {
			return nil, err
		}
		return c.driverConn.BeginTx(ctx, opts)
	}
	// The pool sends several statements a packet; the second runs only
	// if the first succeeds.
	if _, err := c.ExecContext(ctx, "USE "+quoted+";\nSTART TRANSACTION", nil); err != nil {
		return nil, err
	}
	return usingTx{c}, nil
}

// usingTx ends a transaction begun inSchema, as the driver's own would.
type usingTx struct{ c usingConn }

func (tx usingTx) Commit() error {
	_, err := tx.c.ExecContext(context.Background(), "COMMIT", nil)
	return err
}

func (tx usingTx) Rollback() error {
	_, err := tx.c.ExecContext(context.Background(), "ROLLBACK", nil)
	return err
}

// inSchema begins transactions on conn, a cluster pool's connection, in
// the schema quoted selects.
type inSchema struct {
	conn   *sqlx.Conn
	quoted string
}

func (b inSchema) BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error) {
	return b.conn.BeginTxx(context.WithValue(ctx, useKey{}, b.quoted), opts)
}
