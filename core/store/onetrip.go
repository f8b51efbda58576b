package store

import (
	"context"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// OneTrip is a pool of the control plane's database whose connections
// take several statements in one packet, for the few writes whose
// round trips are most of their cost: a transaction of fixed
// statements, sent whole with its START TRANSACTION and COMMIT, costs
// one round trip instead of one for each statement and two more. The
// control plane's own pool (Open's) keeps one statement a packet; this
// one is only handed to the code that sends its own statements through
// Tx, with their values interpolated by the driver, escaped.
type OneTrip struct {
	db *sqlx.DB
}

// OpenOneTrip opens, as Open does, the pool of a OneTrip on cfg's
// database, with the driver's multi-statement packets on, and returns it
// and its pool (for its owner's metrics and Close).
func OpenOneTrip(cfg *mysql.Config, maxOpen int, log *slog.Logger) (*OneTrip, *sqlx.DB) {
	c := cfg.Clone()
	c.MultiStatements = true
	db := Open(c, maxOpen, log)
	return &OneTrip{db: db}, db
}

// Tx runs statements as one transaction sent in one packet. The first
// statement to fail stops the others and its error is returned (a
// duplicate key is IsDuplicate's); the transaction is then rolled back
// whole, and a connection whose rollback fails is closed rather than
// pooled, so that no transaction is ever left open on a pooled
// connection.
func (o *OneTrip) Tx(ctx context.Context, statements ...Statement) error {
	queries := make([]string, 0, len(statements)+2)
	queries = append(queries, "START TRANSACTION")
	var args []any
	for _, st := range statements {
		queries = append(queries, st.Query)
		args = append(args, st.Args...)
	}
	queries = append(queries, "COMMIT")
	conn, err := o.db.Connx(ctx)
	if err != nil {
		return fmt.Errorf("one trip: %w", err)
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, strings.Join(queries, ";\n"), args...)
	if err == nil {
		return nil
	}
	// The rollback runs even when ctx is why the packet failed: the
	// connection goes back to the pool only without a transaction.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return fmt.Errorf("one trip: %w", err)
}
