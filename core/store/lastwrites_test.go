package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// oneCounty locates every code at schema.
type oneCounty string

func (s oneCounty) Locate(context.Context, string) (store.Location, error) {
	return store.Location{Cluster: "default", Schema: string(s)}, nil
}

// TestWritesLeftForLastComeJustBeforeTheCommit: what a county's
// transaction leaves for last is written after the rest of its work, in
// the order left, and a failure there rolls the whole transaction back;
// outside such a transaction, or on another connection, nothing is left
// and the caller writes at once.
func TestWritesLeftForLastComeJustBeforeTheCommit(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "last"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.steps (id BIGINT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(16) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	router := store.NewRouter(store.Clusters{"default": db.Cluster}, oneCounty(schema))
	step := func(what string) func(ctx context.Context, tx *sqlx.Tx) error {
		return func(ctx context.Context, tx *sqlx.Tx) error {
			_, err := tx.ExecContext(ctx, "INSERT INTO steps (what) VALUES (?)", what)
			return err
		}
	}
	steps := func() []string {
		var got []string
		if err := db.Server.Select(&got, "SELECT what FROM `"+schema+"`.steps ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		return got
	}

	err := router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
		if !store.WriteLast(ctx, tx, step("last-1")) || !store.WriteLast(ctx, tx, step("last-2")) {
			t.Error("a county's transaction left nothing for last")
		}
		return step("work")(ctx, tx)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := steps(); len(got) != 3 || got[0] != "work" || got[1] != "last-1" || got[2] != "last-2" {
		t.Errorf("written in the order %q, want work, last-1, last-2", got)
	}

	failed := errors.New("the last write failed")
	err = router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
		store.WriteLast(ctx, tx, func(context.Context, *sqlx.Tx) error { return failed })
		return step("rolled back")(ctx, tx)
	})
	if !errors.Is(err, failed) {
		t.Errorf("a failing last write: %v, want %v", err, failed)
	}
	if got := steps(); len(got) != 3 {
		t.Errorf("a failing last write left %q", got)
	}

	err = router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
		return router.InTenantTx(ctx, "any", func(inner context.Context, _ *sqlx.Tx) error {
			if store.WriteLast(inner, tx, step("outer")) {
				t.Error("a write on the outer transaction was left to the inner one")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if store.WriteLast(ctx, db.Server, step("no transaction")) {
		t.Error("a write with no county's transaction was left for last")
	}
}
