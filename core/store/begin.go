package store

import (
	"context"
	"database/sql/driver"
	"fmt"
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

// usingConnector opens a cluster pool's connections (OpenCluster): a
// county's transaction (Cluster.InSchemaTx) sends its USE in the packet
// of its START TRANSACTION, and its COMMIT in the packet of its last
// deferred writes, two round trips fewer.
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
	return &usingConn{driverConn: dc}, nil
}

// usingConn is a connection of a cluster pool: the driver's, but for a
// transaction begun with its schema named (useKey), whose last packet of
// deferred writes may commit it too (commitKey).
type usingConn struct {
	driverConn
	// committed says that the transaction under way was committed by
	// its last packet: its Commit has nothing to send.
	committed bool
}

// useKey marks the context of a transaction's begin with the schema,
// quoted, that it selects first.
type useKey struct{}

// commitKey marks the context of a transaction's last statement with
// where to say that it was sent with COMMIT after it, and succeeded.
type commitKey struct{}

func (c *usingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.committed = false
	quoted, ok := ctx.Value(useKey{}).(string)
	switch {
	case !ok:
		return c.driverConn.BeginTx(ctx, opts)
	case opts != driver.TxOptions{}:
		if _, err := c.driverConn.ExecContext(ctx, "USE "+quoted, nil); err != nil {
			return nil, err
		}
		return c.driverConn.BeginTx(ctx, opts)
	}
	// The pool sends several statements a packet; the second runs only
	// if the first succeeds.
	if _, err := c.driverConn.ExecContext(ctx, "USE "+quoted+";\nSTART TRANSACTION", nil); err != nil {
		return nil, err
	}
	return usingTx{c}, nil
}

func (c *usingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	committed, ok := ctx.Value(commitKey{}).(*bool)
	if !ok {
		return c.driverConn.ExecContext(ctx, query, args)
	}
	// Statements of a packet run until one fails: the COMMIT only if
	// every one before it succeeded.
	res, err := c.driverConn.ExecContext(ctx, query+";\nCOMMIT", args)
	if err == nil {
		*committed, c.committed = true, true
	}
	return res, err
}

// usingTx ends a transaction begun with its schema named, as the
// driver's own would, unless its last packet committed it.
type usingTx struct{ c *usingConn }

func (tx usingTx) Commit() error {
	return tx.end("COMMIT")
}

func (tx usingTx) Rollback() error {
	return tx.end("ROLLBACK")
}

func (tx usingTx) end(statement string) error {
	if tx.c.committed {
		tx.c.committed = false
		return nil
	}
	_, err := tx.c.driverConn.ExecContext(context.Background(), statement, nil)
	return err
}
