package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
)

// Beginner starts transactions: a pool, or one connection.
type Beginner interface {
	BeginTxx(ctx context.Context, opts *sql.TxOptions) (*sqlx.Tx, error)
}

// InTx runs fn in a transaction on db, committed if fn returns nil and
// rolled back otherwise; opts may be nil for the server's defaults.
func InTx(ctx context.Context, db Beginner, opts *sql.TxOptions, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// lastWrites are the writes a transaction makes after its work, just
// before it commits.
type lastWrites struct {
	tx     *sqlx.Tx
	writes []func(ctx context.Context, tx *sqlx.Tx) error
}

type lastWritesKey struct{}

// withLastWrites runs fn in tx, then the writes fn left for last.
func withLastWrites(ctx context.Context, tx *sqlx.Tx, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	last := &lastWrites{tx: tx}
	if err := fn(context.WithValue(ctx, lastWritesKey{}, last), tx); err != nil {
		return err
	}
	for _, write := range last.writes {
		if err := write(ctx, tx); err != nil {
			return err
		}
	}
	return nil
}

// WriteLast leaves write for the end of q's transaction, just before its
// commit, when q is the transaction of a county's that ctx runs in
// (Router.InTenantTx's), and reports whether it did; otherwise the
// caller writes now. A row that every transaction of a kind raises (a
// day's count) stays locked from its write to the commit: written last,
// it holds up the others the least.
func WriteLast(ctx context.Context, q sqlx.ExecerContext, write func(ctx context.Context, tx *sqlx.Tx) error) bool {
	last, ok := ctx.Value(lastWritesKey{}).(*lastWrites)
	if !ok {
		return false
	}
	if tx, ok := q.(*sqlx.Tx); !ok || tx != last.tx {
		return false
	}
	last.writes = append(last.writes, write)
	return true
}

// deadlockAttempts bounds the runs of a deadlock's victim.
const deadlockAttempts = 5

// mysqlDeadlock is ER_LOCK_DEADLOCK: the statement's transaction was
// rolled back whole.
const mysqlDeadlock = 1213

// AgainIfDeadlocked runs run again while it ends as a deadlock's victim,
// at most deadlockAttempts times in all. InnoDB rolls a victim back whole,
// so running it again is safe wherever run is one transaction or one
// statement: a counter's first row inserted by transactions waiting on
// each other, a job's end recorded while another worker claims the next.
func AgainIfDeadlocked(run func() error) error {
	for attempt := 1; ; attempt++ {
		err := run()
		var deadlock *mysql.MySQLError
		if attempt == deadlockAttempts || !errors.As(err, &deadlock) || deadlock.Number != mysqlDeadlock {
			return err
		}
	}
}
