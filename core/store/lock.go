package store

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrLocked is returned when a named lock is held by another session.
var ErrLocked = errors.New("store: lock held elsewhere")

// Locker takes MySQL named locks (GET_LOCK), which every replica on the
// same server shares. A lock lives on a connection pinned for as long as it
// is held, so that a process that dies releases its locks with its
// connections. Those connections come from the Locker's own pool: held
// locks never starve the pool that the work under them needs, and the
// pool's cap bounds how many locks a process holds at once (callers beyond
// it wait for a connection, within their context).
type Locker struct {
	db *sqlx.DB
	// prefix scopes lock names, which are server-wide, to one installation.
	prefix string
}

// NewLocker takes locks through db, a pool reserved for them, naming them
// prefix + name.
func NewLocker(db *sqlx.DB, prefix string) *Locker {
	return &Locker{db: db, prefix: prefix}
}

// lockName keeps names within MySQL's 64-character limit on GET_LOCK
// while staying readable in SHOW PROCESSLIST when they are short.
func lockName(name string) string {
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "cc:" + hex.EncodeToString(sum[:24])
}

// Lock takes the named lock, waiting up to wait for it (whole seconds;
// zero means not at all), and returns the func that releases it.
func (l *Locker) Lock(ctx context.Context, name string, wait time.Duration) (release func(), err error) {
	name = lockName(l.prefix + name)
	conn, err := l.db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	var got *int
	if err := conn.QueryRowxContext(ctx, "SELECT GET_LOCK(?, ?)", name, int(wait.Seconds())).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if got == nil || *got != 1 {
		conn.Close()
		return nil, fmt.Errorf("%w: %s", ErrLocked, name)
	}
	return func() {
		// Releasing must not depend on the caller's context, which may be
		// the very thing that was cancelled.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, "SELECT RELEASE_LOCK(?)", name); err != nil {
			// The lock dies with the session; make sure the session dies.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}
