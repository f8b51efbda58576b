package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

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

// deferred are the writes a county's transaction leaves for its end,
// just before it commits: the writes whose results nobody reads (Later).
// On a cluster whose pool sends several statements in one packet
// (OpenCluster), they cost the transaction one round trip together.
type deferred struct {
	tx      *sqlx.Tx
	batches bool
	later   []Statement
}

// Statement is one SQL statement and the values of its placeholders.
type Statement struct {
	Query string
	Args  []any
}

// size is about what st takes in a packet.
func (st Statement) size() int {
	n := len(st.Query)
	for _, a := range st.Args {
		switch v := a.(type) {
		case string:
			n += 2 * len(v)
		case []byte:
			n += 2 * len(v)
		case *string:
			if v != nil {
				n += 2 * len(*v)
			}
		default:
			n += 32
		}
	}
	return n
}

type deferredKey struct{}

// A packet holds at most maxBatch statements and, past its first,
// maxBatchBytes of them (their text and values, roughly): far under
// the server's max_allowed_packet (16 MiB on MariaDB, 64 MiB on TiDB)
// whatever is deferred.
const (
	maxBatch      = 64
	maxBatchBytes = 1 << 20
)

// withDeferred runs fn in tx, then the writes fn deferred. On a cluster
// pool (batches) the last packet of them commits the transaction too,
// and withDeferred reports whether it did: the transaction's Commit then
// sends nothing (usingTx).
func withDeferred(ctx context.Context, tx *sqlx.Tx, batches bool, fn func(ctx context.Context, tx *sqlx.Tx) error) (committed bool, err error) {
	d := &deferred{tx: tx, batches: batches}
	if err := fn(context.WithValue(ctx, deferredKey{}, d), tx); err != nil {
		return false, err
	}
	pending := d.later
	if !d.batches {
		for _, st := range pending {
			if _, err := tx.ExecContext(ctx, st.Query, st.Args...); err != nil {
				return false, fmt.Errorf("deferred write: %w", err)
			}
		}
		return false, nil
	}
	for len(pending) > 0 {
		n, size := 1, pending[0].size()
		for n < len(pending) && n < maxBatch && size+pending[n].size() <= maxBatchBytes {
			size += pending[n].size()
			n++
		}
		batch := pending[:n]
		pending = pending[n:]
		queries := make([]string, len(batch))
		var args []any
		for i, st := range batch {
			queries[i] = st.Query
			args = append(args, st.Args...)
		}
		sendCtx := ctx
		if len(pending) == 0 {
			sendCtx = context.WithValue(ctx, commitKey{}, &committed)
		}
		if _, err := tx.ExecContext(sendCtx, strings.Join(queries, ";\n"), args...); err != nil {
			return false, fmt.Errorf("deferred writes: %w", err)
		}
	}
	return committed, nil
}

// deferTo leaves the statement for the end of q's transaction when q is
// the county's transaction ctx runs in (Router.InTenantTx's), and
// reports whether it did.
func deferTo(ctx context.Context, q sqlx.ExecerContext, query string, args []any) bool {
	d, ok := ctx.Value(deferredKey{}).(*deferred)
	if !ok {
		return false
	}
	if tx, ok := q.(*sqlx.Tx); !ok || tx != d.tx {
		return false
	}
	d.later = append(d.later, Statement{query, args})
	return true
}

// Later writes with q a row nobody reads back in its transaction (no id,
// no count of rows, no read of its table after it): in a county's
// transaction it is sent at the end, with the others, in one round trip;
// elsewhere, now. Its error, if any, comes from the commit's side: the
// transaction fails whole.
func Later(ctx context.Context, q sqlx.ExecerContext, query string, args ...any) error {
	if deferTo(ctx, q, query, args) {
		return nil
	}
	_, err := q.ExecContext(ctx, query, args...)
	return err
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
