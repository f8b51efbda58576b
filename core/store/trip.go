package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// TripStatement is a statement of a county's one-trip transaction
// (Router.InTenantTrip). A statement that returns a row has Into, where
// its one row is scanned; the others have none.
type TripStatement struct {
	Statement
	Into []any
}

// TripError is the failure of a statement of a one-trip transaction.
// The driver says what failed, not which statement of the packet; Reads
// places it: the statement that failed comes after the Reads statements
// with Into that were read, and before the next.
type TripError struct {
	Reads int
	Err   error
}

func (e *TripError) Error() string {
	return fmt.Sprintf("one-trip transaction, after %d reads: %v", e.Reads, e.Err)
}

func (e *TripError) Unwrap() error { return e.Err }

// InSchemaTrip runs as one transaction on schema the statements build
// gives for its name, quoted: they name their tables in full
// (`schema`.table), as a read of Router.InTenantQualified does. On a
// cluster whose pool sends several statements a packet (OpenCluster's),
// they go in one packet with the transaction's START TRANSACTION and
// COMMIT, and no USE, which would cost the server a statement and the
// packet an answer more: one round trip, and the locks they take are held
// for their run on the server and the commit, with no wait for the
// client among them. The packet stops at the first statement to fail,
// whose error is a TripError; the transaction is then rolled back whole,
// and a connection whose rollback fails is closed rather than pooled. On
// another cluster the statements are sent one at a time, with the same
// outcome.
func (c *Cluster) InSchemaTrip(ctx context.Context, schema string, build func(schema string) []TripStatement) error {
	quoted, err := QuoteSchema(schema)
	if err != nil {
		return err
	}
	statements := build(quoted)
	if !c.batches {
		return c.InSchemaTx(ctx, schema, func(ctx context.Context, tx *sqlx.Tx) error {
			return tripOneByOne(ctx, tx, statements)
		})
	}
	conn, _, err := c.conn(ctx, schema)
	if err != nil {
		return err
	}
	defer conn.Close()
	queries := []string{"START TRANSACTION"}
	var args []any
	for _, st := range statements {
		queries = append(queries, st.Query)
		args = append(args, st.Args...)
	}
	queries = append(queries, "COMMIT")
	err = readTrip(ctx, conn, strings.Join(queries, ";\n"), args, statements)
	var failed *TripError
	if !errors.As(err, &failed) {
		return err
	}
	// The rollback runs even when ctx is why the packet failed: the
	// connection goes back to the pool only without a transaction.
	if _, rbErr := conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// readTrip sends the packet of a one-trip transaction and reads its
// results to the end: the server runs the packet's statements whether or
// not the client reads their results, so only the whole stream says
// whether the COMMIT ran. A statement that failed is a TripError; a row
// that could not be scanned, after a stream without one, is an error of
// a committed transaction.
func readTrip(ctx context.Context, conn *sqlx.Conn, query string, args []any, statements []TripStatement) error {
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return &TripError{Err: err}
	}
	defer rows.Close()
	var (
		reads   int
		scanErr error
	)
	for _, st := range statements {
		if st.Into == nil {
			continue
		}
		if reads > 0 && !rows.NextResultSet() {
			break
		}
		if !rows.Next() {
			break
		}
		if err := rows.Scan(st.Into...); err != nil && scanErr == nil {
			scanErr = fmt.Errorf("read %d: %w", reads, err)
		}
		reads++
	}
	for rows.NextResultSet() {
	}
	if err := rows.Err(); err != nil {
		return &TripError{Reads: reads, Err: err}
	}
	if err := rows.Close(); err != nil {
		return &TripError{Reads: reads, Err: err}
	}
	if scanErr != nil {
		return fmt.Errorf("committed, yet %w", scanErr)
	}
	if want := countReads(statements); reads != want {
		return fmt.Errorf("committed, yet %d of %d statements with Into returned a row", reads, want)
	}
	return nil
}

// tripOneByOne runs statements in tx one at a time, its errors those of
// a packet (InSchemaTrip).
func tripOneByOne(ctx context.Context, tx *sqlx.Tx, statements []TripStatement) error {
	reads := 0
	for _, st := range statements {
		if st.Into == nil {
			if _, err := tx.ExecContext(ctx, st.Query, st.Args...); err != nil {
				return &TripError{Reads: reads, Err: err}
			}
			continue
		}
		if err := tx.QueryRowxContext(ctx, st.Query, st.Args...).Scan(st.Into...); err != nil {
			return &TripError{Reads: reads, Err: err}
		}
		reads++
	}
	return nil
}

func countReads(statements []TripStatement) int {
	n := 0
	for _, st := range statements {
		if st.Into != nil {
			n++
		}
	}
	return n
}
