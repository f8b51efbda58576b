package measure

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
)

// Folding the pending counts, scheduled every FoldEvery, so that few are
// left for a read to fold.
const (
	JobFold   = "measure.fold"
	FoldEvery = time.Minute
)

// foldBatch bounds the pending counts one transaction of a fold takes:
// its upsert stays within the server's placeholders (at most three
// periods of five values each) and its locks few.
const foldBatch = 2000

// Fold adds the counts Add left pending in the schema conn is on to
// measure_values and deletes them, so that a read of measure_values
// after it sees every count committed before it. With nothing pending it
// costs one read of the first pending row.
//
// Each batch is one transaction that locks the pending rows it reads: a
// concurrent fold waits on them and, once they are deleted, passes them
// by, so that no count is added twice. Read committed, so that it locks
// those rows and not the gap after them, where actions go on appending.
// A fold that fails leaves its batch pending, whole, for the next.
func Fold(ctx context.Context, conn *sqlx.Conn) error {
	var first int64
	switch err := conn.QueryRowContext(ctx, "SELECT id FROM measure_pending LIMIT 1").Scan(&first); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("look for pending counts: %w", err)
	}
	for {
		var n int
		// A transaction raising these rows in another order than the
		// primary key's (two Records) may make a fold a deadlock's
		// victim, rolled back whole: it is run again, not failed to
		// the read it comes before.
		err := store.AgainIfDeadlocked(func() error {
			return store.InTx(ctx, conn, &sql.TxOptions{Isolation: sql.LevelReadCommitted}, func(tx *sqlx.Tx) error {
				var err error
				n, err = foldBatchIn(ctx, tx)
				return err
			})
		})
		if err != nil {
			return fmt.Errorf("fold pending counts: %w", err)
		}
		if n < foldBatch {
			return nil
		}
	}
}

// pending is a count Add appended.
type pending struct {
	ID      int64  `db:"id"`
	Measure string `db:"measure"`
	Unit    int64  `db:"unit_id"`
	Day     string `db:"day"`
	Delta   int64  `db:"delta"`
}

// periodKey is a row of measure_values, in the order of its primary key.
type periodKey struct {
	measure string
	unit    int64
	grain   string
	start   string
}

// foldBatchIn folds the oldest pending counts in tx, at most foldBatch,
// and says how many.
func foldBatchIn(ctx context.Context, tx *sqlx.Tx) (int, error) {
	var rows []pending
	if err := tx.SelectContext(ctx, &rows, "SELECT id, measure, unit_id, DATE_FORMAT(day, '%Y-%m-%d') AS day, delta FROM measure_pending ORDER BY id LIMIT ? FOR UPDATE", foldBatch); err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	sums := make(map[periodKey]int64, 3*len(rows))
	ids := make([]any, len(rows))
	for i, p := range rows {
		day, err := parseDay(p.Day)
		if err != nil {
			return 0, fmt.Errorf("pending count %d: %w", p.ID, err)
		}
		for _, grain := range []string{ByDay, ByHalfMonth, ByMonth} {
			sums[periodKey{p.Measure, p.Unit, grainCode[grain], periodStart(grain, day).Format(time.DateOnly)}] += p.Delta
		}
		ids[i] = p.ID
	}
	// In the order of the primary key, so that whatever else raises
	// these rows (Record, CountOnce) locks them in the same order.
	keys := slices.SortedFunc(maps.Keys(sums), func(a, b periodKey) int {
		return cmp.Or(strings.Compare(a.measure, b.measure), cmp.Compare(a.unit, b.unit), strings.Compare(a.grain, b.grain), strings.Compare(a.start, b.start))
	})
	args := make([]any, 0, 5*len(keys))
	for _, k := range keys {
		args = append(args, k.measure, k.unit, k.grain, k.start, sums[k])
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO measure_values (measure, unit_id, grain, period_start, value)
VALUES (?, ?, ?, ?, ?)`+strings.Repeat(", (?, ?, ?, ?, ?)", len(keys)-1)+` ON DUPLICATE KEY UPDATE value = value + VALUES(value)`, args...); err != nil {
		return 0, fmt.Errorf("add: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM measure_pending WHERE id IN (?"+strings.Repeat(", ?", len(ids)-1)+")", ids...); err != nil {
		return 0, fmt.Errorf("delete: %w", err)
	}
	return len(rows), nil
}

// Fold folds the pending counts of county (Fold).
func (s *Service) Fold(ctx context.Context, county string) error {
	return s.router.InTenant(ctx, county, Fold)
}

// FoldAll folds the pending counts of every one of counties, JobFold's
// work; a county that fails is left to the next run, and its error
// returned with the others' once every county was tried.
func (s *Service) FoldAll(ctx context.Context, counties []string) error {
	var failed []error
	for _, code := range counties {
		if err := s.Fold(ctx, code); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed = append(failed, fmt.Errorf("county %s: %w", code, err))
		}
	}
	return errors.Join(failed...)
}
