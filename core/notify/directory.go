package notify

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/ttlcache"
)

// DirectoryVersion is a scalar subquery for the version of the county's
// directory (its accounts, their roles and addresses, and their
// notification preferences), for a caller to read in a statement it
// makes anyway. Read in a transaction, it is the version that
// transaction sees, or NULL in a county whose accounts never changed.
const DirectoryVersion = "(SELECT version FROM directory_version WHERE id = 1)"

// DirectoryChanged gives the county's directory a new version in tx,
// which changes an account, its roles or its preferences. The version is
// random rather than counted, so that a county provisioned again under
// its old code never reaches a version it had before. A county gets its
// version with the first change: before, it has no account to tell.
func DirectoryChanged(ctx context.Context, tx sqlx.ExecerContext) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO directory_version (id, version) VALUES (1, ?)
ON DUPLICATE KEY UPDATE version = VALUES(version)`, rand.Int64()); err != nil {
		return fmt.Errorf("mark the directory changed: %w", err)
	}
	return nil
}

// Recipients remembers who messages reach, per county and directory
// version: what the directory said of some addressees at one version it
// says at that version for ever. Acting on a task notifies the same
// audiences over and over; reading them once per version spares each
// action a read of four tables.
type Recipients struct {
	known *ttlcache.Cache[string, *directory]
}

// The version keeps what is remembered right; the time limit only frees
// what is no longer asked for, and bounds how long a change made by hand
// in the database, which leaves the version alone, goes unseen.
const (
	recipientsTTL = 10 * time.Minute
	maxRecipients = 100_000
)

// NewRecipients returns an empty memory of recipients.
func NewRecipients() *Recipients {
	return &Recipients{known: ttlcache.New[string, *directory](recipientsTTL, maxRecipients)}
}

// Write is Write for county, whose directory version tx read as version:
// the recipients of the messages are read only if they were not read at
// that version before. With version nil it is Write.
func (r *Recipients) Write(ctx context.Context, tx sqlx.ExtContext, county string, version *int64, now time.Time, msgs ...Message) (int, error) {
	return writeFor(ctx, tx, now, msgs, func(who addressees) (*directory, error) {
		if version == nil {
			return readDirectory(ctx, tx, who)
		}
		key := directoryKey(county, *version, who)
		if dir, ok := r.known.Get(key); ok {
			return dir, nil
		}
		dir, err := readDirectory(ctx, tx, who)
		if err != nil {
			return nil, err
		}
		r.known.Put(key, dir)
		return dir, nil
	})
}

// directoryKey names who in county at version.
func directoryKey(county string, version int64, who addressees) string {
	var b strings.Builder
	b.WriteString(county)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(version, 10))
	for _, k := range who.kinds {
		b.WriteString(" k")
		b.WriteString(k.(string))
	}
	for _, id := range who.accounts {
		b.WriteString(" a")
		b.WriteString(strconv.FormatInt(id, 10))
	}
	for _, a := range who.audiences {
		b.WriteString(" u")
		b.WriteString(strconv.FormatInt(a.unit, 10))
		b.WriteByte('/')
		b.WriteString(a.role)
	}
	return b.String()
}
