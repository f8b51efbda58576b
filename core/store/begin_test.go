package store_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// TestACountysTransactionBeginsAndCommitsInItsPackets: on a cluster pool
// (OpenCluster) a county's transaction sends its USE and its START
// TRANSACTION in one packet, and its COMMIT in the packet of its
// deferred writes; counties taking turns on a pool of ONE connection
// each see their own rows only, in transactions and out; a deferred
// write that fails takes the commit with it; a schema that is gone fails
// the transaction before anything runs in it, and the connection serves
// the next one; a failing transaction leaves nothing.
func TestACountysTransactionBeginsAndCommitsInItsPackets(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	var writes atomic.Int64
	network := "begin-" + db.SchemaPrefix
	mysql.RegisterDialContext(network, func(ctx context.Context, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return countedConn{conn, &writes}, err
	})
	cfg := storetest.ServerConfig(t)
	cfg.Net = network
	one, pool := store.OpenCluster("one", cfg, 1, quiet)
	t.Cleanup(func() { pool.Close() })
	for _, s := range []string{"a", "b"} {
		schema := db.SchemaPrefix + s
		if err := one.EnsureSchema(ctx, schema); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.owner (name VARCHAR(8) NOT NULL)"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Server.Exec("INSERT INTO `"+schema+"`.owner VALUES (?)", s); err != nil {
			t.Fatal(err)
		}
	}
	owners := func(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
		var got []string
		err := sqlx.SelectContext(ctx, q, &got, "SELECT name FROM owner")
		return got, err
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				s := []string{"a", "b"}[(g+i)%2]
				var got []string
				err := one.InSchemaTx(ctx, db.SchemaPrefix+s, func(ctx context.Context, tx *sqlx.Tx) (err error) {
					got, err = owners(ctx, tx)
					return err
				})
				if i%3 == 0 {
					err = one.InSchema(ctx, db.SchemaPrefix+s, func(ctx context.Context, conn *sqlx.Conn) (err error) {
						got, err = owners(ctx, conn)
						return err
					})
				}
				if err != nil || len(got) != 1 || got[0] != s {
					t.Errorf("in schema %s saw %v: %v", s, got, err)
				}
			}
		}()
	}
	wg.Wait()

	before := writes.Load()
	if err := one.InSchemaTx(ctx, db.SchemaPrefix+"a", func(context.Context, *sqlx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if sent := writes.Load() - before; sent != 2 {
		t.Errorf("a county's transaction that does nothing sent %d packets, want 2: its beginning and COMMIT", sent)
	}

	// Its deferred writes and its COMMIT go in one packet: no more
	// packets than a transaction without them.
	before = writes.Load()
	err := one.InSchemaTx(ctx, db.SchemaPrefix+"a", func(ctx context.Context, tx *sqlx.Tx) error {
		return store.Later(ctx, tx, "INSERT INTO owner VALUES ('later')")
	})
	if sent := writes.Load() - before; err != nil || sent != 2 {
		t.Errorf("a county's transaction that defers a write sent %d packets, want 2: %v", sent, err)
	}
	if _, err := db.Server.Exec("DELETE FROM `" + db.SchemaPrefix + "a`.owner WHERE name = 'later'"); err != nil {
		t.Fatal(err)
	}
	// A deferred write that fails takes the commit and the rest of the
	// transaction with it, and leaves the connection to the next.
	err = one.InSchemaTx(ctx, db.SchemaPrefix+"a", func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO owner VALUES ('now')"); err != nil {
			return err
		}
		return store.Later(ctx, tx, "INSERT INTO no_such_table VALUES (1)")
	})
	if missing := new(mysql.MySQLError); !errors.As(err, &missing) || missing.Number != 1146 {
		t.Errorf("a failing deferred write: %v", err)
	}
	err = one.InSchemaTx(ctx, db.SchemaPrefix+"a", func(ctx context.Context, tx *sqlx.Tx) error {
		got, err := owners(ctx, tx)
		if err == nil && (len(got) != 1 || got[0] != "a") {
			t.Errorf("after a failing deferred write schema a has %v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	ran := false
	err = one.InSchemaTx(ctx, db.SchemaPrefix+"gone", func(context.Context, *sqlx.Tx) error { ran = true; return nil })
	if unknown := new(mysql.MySQLError); !errors.As(err, &unknown) || unknown.Number != 1049 || ran {
		t.Errorf("a transaction in a schema that is gone: %v, its work run: %v", err, ran)
	}
	refused := errors.New("refused")
	err = one.InSchemaTx(ctx, db.SchemaPrefix+"b", func(ctx context.Context, tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO owner VALUES ('x')"); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("a failing transaction: %v", err)
	}
	err = one.InSchemaTx(ctx, db.SchemaPrefix+"b", func(ctx context.Context, tx *sqlx.Tx) error {
		got, err := owners(ctx, tx)
		if err == nil && (len(got) != 1 || got[0] != "b") {
			t.Errorf("after a rolled-back transaction schema b has %v", got)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := one.InSchemaTx(ctx, "not`valid", func(context.Context, *sqlx.Tx) error { return nil }); !errors.Is(err, store.ErrBadSchemaName) {
		t.Errorf("a transaction with a bad schema name: %v", err)
	}
}
