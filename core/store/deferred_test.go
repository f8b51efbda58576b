package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// oneCounty locates every code at schema.
type oneCounty string

func (s oneCounty) Locate(context.Context, string) (store.Location, error) {
	return store.Location{Cluster: "default", Schema: string(s)}, nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// countedConn counts the packets written to the server.
type countedConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countedConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// countedNetwork registers network name with the driver, whose
// connections count the packets they write in the count it returns.
func countedNetwork(name string) (string, *atomic.Int64) {
	var writes atomic.Int64
	mysql.RegisterDialContext(name, func(ctx context.Context, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return countedConn{conn, &writes}, err
	})
	return name, &writes
}

// TestDeferredWritesComeJustBeforeTheCommitInOnePacket: what a county's
// transaction defers is written after the rest of its work, the rows
// nobody reads first and the ones left for last after them, each in the
// order deferred; on a cluster opened with OpenCluster, in one packet
// however many they are; a failure among them rolls the whole
// transaction back; outside a county's transaction, or on another
// connection, nothing is deferred and the write is made at once.
func TestDeferredWritesComeJustBeforeTheCommitInOnePacket(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "deferred"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.steps (id BIGINT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(16) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	network, writes := countedNetwork("counted-" + db.SchemaPrefix)
	cfg := storetest.ServerConfig(t)
	cfg.Net = network
	batching, pool := store.OpenCluster("default", cfg, 2, quiet)
	t.Cleanup(func() { pool.Close() })
	oneByOne := store.NewCluster("default", store.Open(storetest.ServerConfig(t), 1, quiet))

	insert := "INSERT INTO steps (what) VALUES (?)"
	steps := func() []string {
		var got []string
		if err := db.Server.Select(&got, "SELECT what FROM `"+schema+"`.steps ORDER BY id"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Server.Exec("DELETE FROM `" + schema + "`.steps"); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// deferring runs a transaction that defers writes around its work,
	// and counts the packets it sent.
	deferring := func(cluster *store.Cluster, later []string) (int64, error) {
		router := store.NewRouter(store.Clusters{"default": cluster}, oneCounty(schema))
		before := writes.Load()
		err := router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
			for _, what := range later {
				if err := store.Later(ctx, tx, insert, what); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, insert, "work")
			return err
		})
		return writes.Load() - before, err
	}

	for _, c := range []struct {
		name    string
		cluster *store.Cluster
	}{{"in one packet", batching}, {"one by one", oneByOne}} {
		if _, err := deferring(c.cluster, []string{"later-1", "later-2", "later-3"}); err != nil {
			t.Fatal(err)
		}
		if got := steps(); len(got) != 4 || got[0] != "work" || got[1] != "later-1" || got[2] != "later-2" || got[3] != "later-3" {
			t.Errorf("%s: written in the order %q", c.name, got)
		}
	}
	one, err := deferring(batching, []string{"later-1"})
	if err != nil {
		t.Fatal(err)
	}
	seven, err := deferring(batching, []string{"1", "2", "3", "4", "5", "6", "7"})
	if err != nil {
		t.Fatal(err)
	}
	if one != seven {
		t.Errorf("a transaction deferring one write sent %d packets, one deferring seven %d", one, seven)
	}
	steps()

	// Large rows go a packet or more each, the server's packet limit far
	// away.
	if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.big (id BIGINT AUTO_INCREMENT PRIMARY KEY, what LONGTEXT NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("长", 250_000)
	sent := func(rows int) int64 {
		router := store.NewRouter(store.Clusters{"default": batching}, oneCounty(schema))
		before := writes.Load()
		err := router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
			for range rows {
				if err := store.Later(ctx, tx, "INSERT INTO big (what) VALUES (?)", big); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return writes.Load() - before
	}
	if one, three := sent(1), sent(3); three != one+2 {
		t.Errorf("three rows of 750 kB went in %d packets more than one", three-one)
	}

	_, err = deferring(batching, []string{"fine", "far too long for the column"})
	var tooLong *mysql.MySQLError
	if !errors.As(err, &tooLong) {
		t.Errorf("a failing deferred write: %v", err)
	}
	if got := steps(); len(got) != 0 {
		t.Errorf("a failing deferred write left %q", got)
	}

	router := store.NewRouter(store.Clusters{"default": batching}, oneCounty(schema))
	err = router.InTenantTx(ctx, "any", func(ctx context.Context, tx *sqlx.Tx) error {
		return router.InTenantTx(ctx, "any", func(inner context.Context, _ *sqlx.Tx) error {
			if err := store.Later(inner, tx, insert, "outer"); err != nil {
				return err
			}
			var n int
			if err := tx.GetContext(ctx, &n, "SELECT COUNT(*) FROM steps"); err != nil || n != 1 {
				t.Errorf("a write on the outer transaction, deferred by the inner one: %d rows seen, %v", n, err)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Later(ctx, db.Server, "INSERT INTO `"+schema+"`.steps (what) VALUES (?)", "now"); err != nil {
		t.Fatal(err)
	}
	if got := steps(); len(got) != 2 || got[1] != "now" {
		t.Errorf("writes outside the county's own transaction: %q", got)
	}
}

// TestOnlyClusterPoolsTakeSeveralStatementsAndValuesStayValues: the
// control plane's pool (Open's) refuses a packet of two statements; a
// cluster's pool, which takes them, keeps a value that tries to end its
// statement and start another as the value it is.
func TestOnlyClusterPoolsTakeSeveralStatementsAndValuesStayValues(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "values"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	table := "`" + schema + "`.said"
	if _, err := db.Server.Exec("CREATE TABLE " + table + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(200) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Server.ExecContext(ctx, "SELECT 1; SELECT 2"); err == nil {
		t.Error("the control plane's pool took two statements in one packet")
	}
	_, pool := store.OpenCluster("default", storetest.ServerConfig(t), 1, quiet)
	t.Cleanup(func() { pool.Close() })
	attacks := []string{`x'); DROP TABLE said; --`, `x\'); DROP TABLE said; --`, "x\"); DROP TABLE said; -- ", "\u00bf'); DROP TABLE said; --", "x`; DROP TABLE said; --"}
	for _, a := range attacks {
		if _, err := pool.ExecContext(ctx, "INSERT INTO "+table+" (what) VALUES (?); INSERT INTO "+table+" (what) VALUES (?)", a, a); err != nil {
			t.Fatalf("%q: %v", a, err)
		}
	}
	var got []string
	if err := db.Server.Select(&got, "SELECT what FROM "+table+" ORDER BY id"); err != nil {
		t.Fatalf("the table after the values: %v", err)
	}
	if len(got) != 2*len(attacks) {
		t.Fatalf("%d rows, want %d", len(got), 2*len(attacks))
	}
	for i, a := range attacks {
		if got[2*i] != a || got[2*i+1] != a {
			t.Errorf("kept %q and %q for %q", got[2*i], got[2*i+1], a)
		}
	}
}
