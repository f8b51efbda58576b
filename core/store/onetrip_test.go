package store_test

import (
	"context"
	"testing"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// TestAOneTripTransactionIsOnePacketAndAllOrNothing: a OneTrip's
// transaction of several statements is one packet; a statement that
// fails keeps none of the others and leaves no transaction open on the
// pool's only connection; a value that tries to end its statement and
// start another is kept as the value it is.
func TestAOneTripTransactionIsOnePacketAndAllOrNothing(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	if _, err := db.Control.Exec("CREATE TABLE said (id BIGINT PRIMARY KEY, what VARCHAR(200) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	network, writes := countedNetwork("onetrip-" + db.SchemaPrefix)
	cfg := db.Config.Clone()
	cfg.Net = network
	oneTrip, pool := store.OpenOneTrip(cfg, 1, quiet)
	t.Cleanup(func() { pool.Close() })
	if err := pool.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	say := func(id int, what string) store.Statement {
		return store.Statement{Query: "INSERT INTO said (id, what) VALUES (?, ?)", Args: []any{id, what}}
	}
	said := func() []string {
		var got []string
		if err := db.Control.Select(&got, "SELECT what FROM said ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		return got
	}

	before := writes.Load()
	if err := oneTrip.Tx(ctx, say(1, "first"), say(2, "second")); err != nil {
		t.Fatal(err)
	}
	if n := writes.Load() - before; n != 1 {
		t.Errorf("a transaction of two statements took %d packets, want 1", n)
	}
	err := oneTrip.Tx(ctx, say(3, "kept if the rest failed"), say(1, "a duplicate"), say(4, "after the failure"))
	if !store.IsDuplicate(err) {
		t.Fatalf("a duplicate key: %v", err)
	}
	if got := said(); len(got) != 2 {
		t.Fatalf("after a failed transaction the table holds %q", got)
	}
	var open int
	if err := pool.Get(&open, "SELECT @@in_transaction"); err != nil || open != 0 {
		t.Errorf("the pool's connection after a failed transaction: in a transaction %d (%v)", open, err)
	}
	attacks := []string{`x'); DROP TABLE said; --`, `x\'); DROP TABLE said; --`, "x\"); DROP TABLE said; -- ", "\u00bf'); DROP TABLE said; --", "x`; DROP TABLE said; --"}
	for i, a := range attacks {
		if err := oneTrip.Tx(ctx, say(10+i, a)); err != nil {
			t.Fatalf("%q: %v", a, err)
		}
	}
	got := said()
	if len(got) != 2+len(attacks) {
		t.Fatalf("%d rows, want %d", len(got), 2+len(attacks))
	}
	for i, a := range attacks {
		if got[2+i] != a {
			t.Errorf("kept %q for %q", got[2+i], a)
		}
	}
}
