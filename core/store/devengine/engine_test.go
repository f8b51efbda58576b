package devengine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

func open(t *testing.T) *sql.DB {
	t.Helper()
	e, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	boot, err := sql.Open("mysql", e.Config("").FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer boot.Close()
	if _, err := boot.Exec("CREATE DATABASE dev"); err != nil {
		t.Fatal(err)
	}
	connector, err := mysql.NewConnector(e.Config("dev"))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec("CREATE TABLE rows_written (id INT PRIMARY KEY, writer VARCHAR(20) NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	return db
}

// The engine copies every table a transaction touches and puts the copies
// back at commit: without serialising, concurrent writers and readers of
// one table lose each other's rows.
func TestConcurrentTransactionsKeepEveryAcknowledgedRow(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errc := make(chan error, 2*writers)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				id := w*each + i
				var err error
				if w%2 == 0 {
					_, err = db.ExecContext(ctx, "INSERT INTO rows_written VALUES (?, ?)", id, "autocommit")
				} else {
					err = insertInTx(ctx, db, id)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range each {
				var n int
				if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM rows_written").Scan(&n); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM rows_written").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != writers*each {
		t.Fatalf("%d rows kept of %d acknowledged", n, writers*each)
	}
}

func insertInTx(ctx context.Context, db *sql.DB, id int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM rows_written WHERE id < ?", id).Scan(&n); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO rows_written VALUES (?, ?)", id, fmt.Sprint("tx after ", n)); err != nil {
		return err
	}
	return tx.Commit()
}

// A client that goes away inside a transaction must not keep every other
// connection waiting.
func TestAConnectionLostInsideATransactionGivesTheTurnBack(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO rows_written VALUES (1, 'lost')"); err != nil {
		t.Fatal(err)
	}
	// ErrBadConn makes database/sql close the connection.
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()

	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(wait, "INSERT INTO rows_written VALUES (2, 'after')"); err != nil {
		t.Fatalf("a write after the lost connection: %v", err)
	}
	var ids []int
	rows, err := db.Query("SELECT id FROM rows_written ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if fmt.Sprint(ids) != "[2]" {
		t.Fatalf("rows after a lost transaction: %v, want [2]", ids)
	}
}

// A county's transaction writes to the control plane through another
// connection on its way (a namespace claim inside a workflow's put): the
// two must not wait on each other.
func TestATransactionMayWriteAnotherDatabaseThroughAnotherConnection(t *testing.T) {
	db := open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE control"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE control.claims (name VARCHAR(20) PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO rows_written VALUES (1, 'county')"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO control.claims VALUES ('office')"); err != nil {
		t.Fatalf("a write to another database during a transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestAnalyseNamesTheDatabasesAStatementTouches(t *testing.T) {
	for _, c := range []struct {
		query string
		want  statement
	}{
		{"START TRANSACTION", statement{kind: begin}},
		{"BEGIN", statement{kind: begin}},
		{"commit", statement{kind: end}},
		{"ROLLBACK", statement{kind: end}},
		{"USE `cc_gd_x`", statement{kind: use, use: "cc_gd_x"}},
		{"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", statement{}},
		{"SELECT GET_LOCK(?, ?)", statement{}},
		{"SELECT RELEASE_LOCK('tenant:x')", statement{}},
		{"SELECT GET_LOCK(name, 1) FROM locks", statement{dbs: []string{"cur"}}},
		{"SELECT 1", statement{}},
		{"SELECT NOW() FROM dual", statement{}},
		{"INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = LAST_INSERT_ID(a+1)", statement{dbs: []string{"cur"}}},
		{"INSERT INTO `cc_b`.audit_log SELECT * FROM cc_a.audit_log a JOIN t ON t.id = a.id", statement{dbs: []string{"cc_a", "cc_b", "cur"}}},
		{"UPDATE Other.jobs SET lease = ? WHERE id IN (SELECT id FROM x.q)", statement{dbs: []string{"other", "x"}}},
		{"DELETE FROM y.t WHERE id = 1", statement{dbs: []string{"y"}}},
		{"SELECT table_name FROM information_schema.tables", statement{}},
		{"INSERT INTO cc_x.audit_log (a) VALUES (1)", statement{dbs: []string{"cc_x"}}},
		{"CREATE DATABASE cc_new", statement{dbs: []string{"cc_new"}}},
		{"CREATE TABLE z.t (id INT PRIMARY KEY)", statement{dbs: []string{"z"}}},
		{"ALTER TABLE t ADD COLUMN b INT", statement{dbs: []string{"cur"}}},
		{"CREATE TRIGGER t_ro BEFORE UPDATE ON t FOR EACH ROW SIGNAL SQLSTATE '45000'", statement{dbs: []string{"cur"}}},
		{"not sql at all", statement{dbs: []string{"cur"}}},
	} {
		got := analyse(c.query, "cur")
		if got.kind != c.want.kind || got.use != c.want.use || !slices.Equal(got.dbs, c.want.dbs) {
			t.Errorf("analyse(%q) = %+v, want %+v", c.query, got, c.want)
		}
	}
}

// TestAPacketStopsAtItsFirstFailingStatement: as on MySQL, the statements
// of a packet after the first to fail do not run, a COMMIT among them,
// and the connection takes the ROLLBACK that follows.
func TestAPacketStopsAtItsFirstFailingStatement(t *testing.T) {
	e, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	cfg := e.Config("")
	cfg.MultiStatements = true
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE dev; CREATE TABLE dev.taken (id INT PRIMARY KEY); CREATE TABLE dev.counted (id INT PRIMARY KEY, n INT NOT NULL); INSERT INTO dev.taken VALUES (1); INSERT INTO dev.counted VALUES (1, 0)"); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, packet := range []string{
		"START TRANSACTION; UPDATE dev.counted SET n = n + 1; INSERT INTO dev.taken VALUES (1); COMMIT",
		"INSERT INTO dev.taken VALUES (1); UPDATE dev.counted SET n = n + 100",
	} {
		if _, err := conn.ExecContext(ctx, packet); err == nil {
			t.Fatalf("%s: no error", packet)
		}
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("the ROLLBACK after %s: %v", packet, err)
		}
		var n int
		if err := conn.QueryRowContext(ctx, "SELECT n FROM dev.counted").Scan(&n); err != nil || n != 0 {
			t.Errorf("after %s: counted %d, %v; want 0", packet, n, err)
		}
	}
}
