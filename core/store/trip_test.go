package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

// TestAOneTripTransactionIsOnePacketAndSaysWhereItFailed: a county's
// one-trip transaction runs the statements built for the county's schema
// (quoted, the locator's) in order and scans the rows of those that
// read; on a cluster opened with OpenCluster it is one packet, with its
// START TRANSACTION and COMMIT. A statement that
// fails stops it and rolls it back whole, and the error says how many
// reads came before the statement, and is the server's; on a cluster
// sending one statement a packet the outcome is the same.
func TestAOneTripTransactionIsOnePacketAndSaysWhereItFailed(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	schema := db.SchemaPrefix + "trip"
	if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Server.Exec("CREATE TABLE `" + schema + "`.steps (id BIGINT PRIMARY KEY, what VARCHAR(16) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	network, writes := countedNetwork("counted-trip-" + db.SchemaPrefix)
	cfg := storetest.ServerConfig(t)
	cfg.Net = network
	batching, pool := store.OpenCluster("default", cfg, 1, quiet)
	t.Cleanup(func() { pool.Close() })
	oneByOne := store.NewCluster("default", store.Open(storetest.ServerConfig(t), 1, quiet))

	// A statement is built for the schema the trip is given, which must
	// be the county's, quoted.
	type step func(schema string) store.TripStatement
	insert := func(id int, what string) step {
		return func(schema string) store.TripStatement {
			return store.TripStatement{Statement: store.Statement{Query: "INSERT INTO " + schema + ".steps (id, what) VALUES (?, ?)", Args: []any{id, what}}}
		}
	}
	read := func(query string, into *int64) step {
		return func(schema string) store.TripStatement {
			return store.TripStatement{Statement: store.Statement{Query: strings.ReplaceAll(query, "steps", schema+".steps")}, Into: []any{into}}
		}
	}
	trip := func(steps ...step) func(string) []store.TripStatement {
		return func(schema string) []store.TripStatement {
			if schema != "`"+db.SchemaPrefix+"trip`" {
				t.Errorf("a trip built for %s", schema)
			}
			out := make([]store.TripStatement, len(steps))
			for i, s := range steps {
				out[i] = s(schema)
			}
			return out
		}
	}
	count := func() int64 {
		var n int64
		if err := db.Server.Get(&n, "SELECT COUNT(*) FROM `"+schema+"`.steps"); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name    string
		cluster *store.Cluster
		packets int64
	}{{"in one packet", batching, 1}, {"one by one", oneByOne, 0}} {
		router := store.NewRouter(store.Clusters{"default": c.cluster}, oneCounty(schema))
		if _, err := db.Server.Exec("DELETE FROM `" + schema + "`.steps"); err != nil {
			t.Fatal(err)
		}
		// Its connection open, the packets it writes are the
		// transaction's.
		if err := router.InTenantTrip(ctx, "any", trip()); err != nil {
			t.Fatal(err)
		}
		var first, second int64
		before := writes.Load()
		err := router.InTenantTrip(ctx, "any", trip(insert(1, "a"), read("SELECT COUNT(*) FROM steps", &first), insert(2, "b"), insert(3, "c"), read("SELECT MAX(id) FROM steps", &second)))
		if sent := writes.Load() - before; err != nil || first != 1 || second != 3 || (c.packets > 0 && sent != c.packets) {
			t.Errorf("%s: read %d and %d in %d packets, %v; want 1 and 3 in %d", c.name, first, second, sent, err, c.packets)
		}
		for _, f := range []struct {
			steps  []step
			reads  int
			number uint16
		}{
			{[]step{insert(1, "again"), read("SELECT 1", &first)}, 0, 1062},
			{[]step{insert(4, "d"), read("SELECT 1", &first), insert(1, "again"), insert(5, "e")}, 1, 1062},
			{[]step{insert(4, "d"), read("SELECT 1", &first), read("SELECT 2", &second), insert(5, "far too long for the column")}, 2, 1406},
		} {
			err := router.InTenantTrip(ctx, "any", trip(f.steps...))
			var (
				failed *store.TripError
				server *mysql.MySQLError
			)
			if !errors.As(err, &failed) || failed.Reads != f.reads || !errors.As(err, &server) || server.Number != f.number {
				t.Errorf("%s: a failure after %d reads: %v", c.name, f.reads, err)
			}
			if n := count(); n != 3 {
				t.Errorf("%s: a failure after %d reads left %d rows, want the 3 before it", c.name, f.reads, n)
			}
		}
	}
}
