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

// lockName keeps names within MySQL's 64-character limit on GET_LOCK
// while staying readable in SHOW PROCESSLIST when they are short.
func lockName(name string) string {
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return "cc:" + hex.EncodeToString(sum[:24])
}

// Lock takes the server-wide named lock `name`, waiting up to wait for it
// (whole seconds; zero means not at all). The lock lives on a connection
// pinned for the purpose, so it is released when the returned func is
// called or, should the process die, when MySQL sees the connection gone.
func Lock(ctx context.Context, db *sqlx.DB, name string, wait time.Duration) (release func(), err error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	name = lockName(name)
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
		if _, err := conn.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", name); err != nil {
			// The lock dies with the session; make sure the session dies.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}
