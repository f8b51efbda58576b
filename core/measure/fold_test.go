package measure_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/measure"
)

// add counts cs at at in county, in a transaction of its own, as an
// action's transaction does.
func (w *world) add(t testing.TB, county string, at time.Time, cs ...measure.Count) {
	t.Helper()
	if err := w.router.InTenantTx(context.Background(), county, func(ctx context.Context, tx *sqlx.Tx) error {
		return measure.Add(ctx, tx, at, cs...)
	}); err != nil {
		t.Fatalf("add %+v: %v", cs, err)
	}
}

// pendingIn is how many counts wait in county's measure_pending.
func (w *world) pendingIn(t testing.TB, county string) int {
	t.Helper()
	var n int
	if err := w.router.InTenant(context.Background(), county, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM measure_pending")
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAddedCountsAreReadExactlyAtOnce: the counts of three actions, one
// of them counting twice, wait pending until a read, which finds them in
// their day, half-month and month, as do the platform's own readers
// (Totals). Lechang's read and fold neither see nor take them.
func TestAddedCountsAreReadExactlyAtOnce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	w.add(t, wengyuan, time.Date(2026, 3, 15, 23, 0, 0, 0, china), measure.Count{Measure: sent.ID, Unit: 1}, measure.Count{Measure: sent.ID, Unit: 1}, measure.Count{Measure: paper.ID, Unit: 2})
	w.add(t, wengyuan, time.Date(2026, 3, 15, 16, 30, 0, 0, time.UTC), measure.Count{Measure: sent.ID, Unit: 1})
	w.add(t, wengyuan, time.Date(2026, 3, 31, 9, 0, 0, 0, china), measure.Count{Measure: sent.ID, Unit: 2})
	if n := w.pendingIn(t, wengyuan); n != 4 {
		t.Fatalf("%d counts pending, want 4 (one row per measure and unit of each action)", n)
	}
	if got := figures(w.read(t, admin, lechang, "measure=oa.documents.sent,oa.documents.paper&from=2026-03-01&to=2026-03-31&by=month")); got != "" {
		t.Errorf("Lechang reads Wengyuan's counts: %s", got)
	}
	if err := w.svc.Fold(ctx, lechang); err != nil {
		t.Fatal(err)
	}
	if n := w.pendingIn(t, wengyuan); n != 4 {
		t.Fatalf("Lechang's fold took Wengyuan's counts: %d left pending, want 4", n)
	}
	w.wantFigures(t, map[string]string{
		"measure=oa.documents.sent,oa.documents.paper&from=2026-03-01&to=2026-03-31&by=day":        "oa.documents.paper/2/2026-03-15=1 oa.documents.sent/1/2026-03-15=2 oa.documents.sent/1/2026-03-16=1 oa.documents.sent/2/2026-03-31=1",
		"measure=oa.documents.sent&from=2026-03-01&to=2026-03-31&by=half_month":                    "oa.documents.sent/1/2026-03-01=2 oa.documents.sent/1/2026-03-16=1 oa.documents.sent/2/2026-03-16=1",
		"measure=oa.documents.sent,oa.documents.paper&from=2026-03-01&to=2026-03-31&by=month":      "oa.documents.paper/2/2026-03-01=1 oa.documents.sent/1/2026-03-01=3 oa.documents.sent/2/2026-03-01=1",
		"measure=oa.documents.sent,oa.documents.paper&unit=1&from=2026-03-01&to=2026-03-31&by=day": "oa.documents.sent/1/2026-03-15=2 oa.documents.sent/1/2026-03-16=1",
	})
	if n := w.pendingIn(t, wengyuan); n != 0 {
		t.Errorf("%d counts pending after a read, want 0", n)
	}
	w.add(t, wengyuan, time.Date(2026, 3, 16, 8, 0, 0, 0, china), measure.Count{Measure: sent.ID, Unit: 1})
	totals, err := w.svc.Totals(ctx, wengyuan, []measure.Definition{sent}, measure.Window{Measures: []string{sent.ID}, From: "2026-03-01", To: "2026-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []measure.Total{{Measure: sent.ID, Unit: 1, Value: 4}, {Measure: sent.ID, Unit: 2, Value: 1}}; len(totals[0]) != 2 || totals[0][0] != want[0] || totals[0][1] != want[1] {
		t.Errorf("totals %+v, want %+v", totals[0], want)
	}
}

// TestAnInterruptedFoldLosesNothing: a fold rolled back after adding its
// counts to measure_values and deleting them (a crash, a lost
// connection) leaves them pending as they were, and the next counts
// them once.
func TestAnInterruptedFoldLosesNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 6, 10, 0, 0, 0, china)
	w.add(t, wengyuan, at, measure.Count{Measure: sent.ID, Unit: 1})
	w.add(t, wengyuan, at, measure.Count{Measure: sent.ID, Unit: 1})
	interrupted := errs.Invalid("interrupted", "the fold is cut short")
	err := w.router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		if n, err := measure.FoldBatch(ctx, tx); err != nil || n != 2 {
			t.Errorf("the fold took %d counts (%v), want 2", n, err)
		}
		return interrupted
	})
	if err != interrupted {
		t.Fatalf("the interrupted fold: %v", err)
	}
	if n := w.pendingIn(t, wengyuan); n != 2 {
		t.Fatalf("%d counts pending after the fold rolled back, want 2", n)
	}
	w.wantFigures(t, map[string]string{"measure=oa.documents.sent&from=2026-05-01&to=2026-05-31&by=month": "oa.documents.sent/1/2026-05-01=2"})
}

// TestConcurrentFoldsCountOnce: a fold waits on the counts another fold
// holds and, once that one commits, passes them by; folds and actions
// racing one another end with every count added once.
func TestConcurrentFoldsCountOnce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	at := time.Date(2026, 7, 1, 9, 0, 0, 0, china)
	w.add(t, wengyuan, at, measure.Count{Measure: sent.ID, Unit: 1})
	w.add(t, wengyuan, at, measure.Count{Measure: sent.ID, Unit: 2})
	waiting := make(chan int64)
	done := make(chan error, 1)
	err := w.router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := measure.FoldBatch(ctx, tx); err != nil {
			return err
		}
		go func() {
			done <- w.router.InTenant(ctx, wengyuan, func(ctx context.Context, conn *sqlx.Conn) error {
				var id int64
				if err := conn.GetContext(ctx, &id, "SELECT CONNECTION_ID()"); err != nil {
					close(waiting)
					return err
				}
				waiting <- id
				return measure.Fold(ctx, conn)
			})
		}()
		if id, ok := <-waiting; ok {
			return waitForLock(ctx, tx, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			err := w.router.InTenantTx(ctx, wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
				return measure.Add(ctx, tx, at, measure.Count{Measure: sent.ID, Unit: int64(1 + i%2)})
			})
			if err == nil {
				err = w.svc.Fold(ctx, wengyuan)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	w.wantFigures(t, map[string]string{"measure=oa.documents.sent&from=2026-07-01&to=2026-07-31&by=month": "oa.documents.sent/1/2026-07-01=5 oa.documents.sent/2/2026-07-01=5"})
}

// waitForLock returns once the connection id waits for a lock, which
// the server says of every transaction (INNODB_TRX). The server renews
// that table's figures only when it was not read for 0.1 s, hence the
// pause between reads.
func waitForLock(ctx context.Context, tx *sqlx.Tx, id int64) error {
	for range 100 {
		time.Sleep(150 * time.Millisecond)
		var n int
		if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'", id); err != nil || n > 0 {
			return err
		}
	}
	return errors.New("the second fold never waited for the first one's counts")
}

// TestTheJobFoldsEveryCounty: the job folds each county's counts in its
// own schema, and one county it cannot reach does not stop the others.
func TestTheJobFoldsEveryCounty(t *testing.T) {
	t.Parallel()
	w := setup(t)
	at := time.Date(2026, 8, 3, 9, 0, 0, 0, china)
	w.add(t, wengyuan, at, measure.Count{Measure: sent.ID, Unit: 1})
	w.add(t, lechang, at, measure.Count{Measure: sent.ID, Unit: 2}, measure.Count{Measure: sent.ID, Unit: 2})
	err := w.svc.FoldAll(context.Background(), []string{"gd.shaoguan.gone", wengyuan, lechang})
	if errs.CodeOf(err) != errs.CodeTenantNotFound {
		t.Errorf("the county that is not there: %v", err)
	}
	for county, want := range map[string]string{wengyuan: "oa.documents.sent/1/2026-08-01=1", lechang: "oa.documents.sent/2/2026-08-01=2"} {
		if n := w.pendingIn(t, county); n != 0 {
			t.Errorf("%s: %d counts left pending", county, n)
		}
		if got := figures(w.read(t, admin, county, "measure=oa.documents.sent&from=2026-08-01&to=2026-08-31&by=month")); got != want {
			t.Errorf("%s: %s, want %s", county, got, want)
		}
	}
}

// TestBadCountsAreRefusedAndChangeNothing: a count of a malformed
// measure, or on a day outside the figures' years, is refused with its
// reason, and its transaction appends nothing.
func TestBadCountsAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	w := setup(t)
	for name, tc := range map[string]struct {
		at time.Time
		c  measure.Count
	}{
		"malformed measure": {time.Date(2026, 8, 3, 9, 0, 0, 0, china), measure.Count{Measure: "Platform Logins", Unit: 1}},
		"day out of range":  {time.Date(1999, 8, 3, 9, 0, 0, 0, china), measure.Count{Measure: sent.ID, Unit: 1}},
	} {
		err := w.router.InTenantTx(context.Background(), wengyuan, func(ctx context.Context, tx *sqlx.Tx) error {
			return measure.Add(ctx, tx, tc.at, measure.Count{Measure: sent.ID, Unit: 2}, tc.c)
		})
		if errs.CodeOf(err) != measure.CodeInvalidRecording {
			t.Errorf("%s: %v, want %s", name, err, measure.CodeInvalidRecording)
		}
	}
	if n := w.pendingIn(t, wengyuan); n != 0 {
		t.Errorf("refused counts left %d pending", n)
	}
}
