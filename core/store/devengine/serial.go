package devengine

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"
)

// lockWaitTimeout bounds how long a statement waits for another
// connection's transaction to end, as innodb_lock_wait_timeout does: two
// transactions waiting on each other end in an error that says so, not in
// a hang.
const lockWaitTimeout = 20 * time.Second

// serialHandler runs one transaction at a time in each database. The
// in-memory engine has no concurrency control: a session copies each table
// it touches, reads included, and its commit puts its copies back, so two
// overlapping transactions on one table lose whatever the first to commit
// wrote. Dev mode runs requests and jobs side by side; taking each
// database a statement names, from its first statement in a transaction to
// the transaction's end, keeps every acknowledged write. Databases, not
// tables, because a statement also touches tables it does not name (a
// foreign key's parent, a trigger's), always within its database; a
// county's transaction and the control plane's statements it makes on the
// way then never wait on each other.
type serialHandler struct {
	mysql.Handler

	mu    sync.Mutex
	dbs   map[string]chan struct{}
	conns map[uint32]*connTurn
}

// connTurn is what serialHandler knows of one connection.
type connTurn struct {
	db   string          // the current database
	held map[string]bool // the databases it holds
	inTx bool            // an explicit transaction is open
}

func newSerialHandler(h mysql.Handler) *serialHandler {
	return &serialHandler{Handler: h, dbs: make(map[string]chan struct{}), conns: make(map[uint32]*connTurn)}
}

func (h *serialHandler) conn(c *mysql.Conn) *connTurn {
	h.mu.Lock()
	defer h.mu.Unlock()
	ct, ok := h.conns[c.ConnectionID]
	if !ok {
		ct = &connTurn{held: make(map[string]bool)}
		h.conns[c.ConnectionID] = ct
	}
	return ct
}

func (h *serialHandler) turn(db string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.dbs[db]
	if !ok {
		t = make(chan struct{}, 1)
		h.dbs[db] = t
	}
	return t
}

// run runs one command of c holding the databases query names.
func (h *serialHandler) run(ctx context.Context, c *mysql.Conn, query string, command func() error) error {
	ct := h.conn(c)
	st := analyse(query, ct.db)
	for _, db := range st.dbs {
		if ct.held[db] {
			continue
		}
		if err := h.acquire(ctx, db); err != nil {
			h.releaseUnlessInTx(ct)
			return err
		}
		ct.held[db] = true
	}
	err := command()
	switch {
	case st.kind == begin && err == nil:
		ct.inTx = true
	case st.kind == end:
		ct.inTx = false
	case st.kind == use && err == nil:
		ct.db = st.use
	}
	h.releaseUnlessInTx(ct)
	return err
}

func (h *serialHandler) releaseUnlessInTx(ct *connTurn) {
	if ct.inTx {
		return
	}
	h.release(ct)
}

func (h *serialHandler) release(ct *connTurn) {
	for db := range ct.held {
		<-h.turn(db)
		delete(ct.held, db)
	}
}

func (h *serialHandler) acquire(ctx context.Context, db string) error {
	timer := time.NewTimer(lockWaitTimeout)
	defer timer.Stop()
	select {
	case h.turn(db) <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return mysql.NewSQLError(mysql.ERLockWaitTimeout, mysql.SSUnknownSQLState,
			"dev engine: waited %s for another connection's transaction in %s to end; try restarting transaction", lockWaitTimeout, db)
	}
}

func (h *serialHandler) ComInitDB(c *mysql.Conn, schemaName string) error {
	err := h.Handler.ComInitDB(c, schemaName)
	if err == nil {
		h.conn(c).db = strings.ToLower(schemaName)
	}
	return err
}

func (h *serialHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	return h.run(ctx, c, query, func() error { return h.Handler.ComQuery(ctx, c, query, callback) })
}

func (h *serialHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	var rest string
	err := h.run(ctx, c, query, func() error {
		var err error
		rest, err = h.Handler.ComMultiQuery(ctx, c, query, callback)
		return err
	})
	if err != nil {
		// MySQL runs none of a packet's statements after the first to
		// fail; the engine's server would run the rest, a COMMIT among
		// them.
		return "", err
	}
	return rest, nil
}

func (h *serialHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	var fields []*querypb.Field
	err := h.run(ctx, c, query, func() error {
		var err error
		fields, err = h.Handler.ComPrepare(ctx, c, query, prepare)
		return err
	})
	return fields, err
}

func (h *serialHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	return h.run(ctx, c, prepare.PrepareStmt, func() error { return h.Handler.ComStmtExecute(ctx, c, prepare, callback) })
}

// ComResetConnection ends the connection's transaction, as ROLLBACK does.
func (h *serialHandler) ComResetConnection(c *mysql.Conn) error {
	err := h.Handler.ComResetConnection(c)
	ct := h.conn(c)
	ct.inTx = false
	h.release(ct)
	return err
}

// ConnectionClosed gives back what a connection held when it goes away
// inside a transaction, which the engine then forgets uncommitted.
func (h *serialHandler) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	ct := h.conn(c)
	h.release(ct)
	h.mu.Lock()
	delete(h.conns, c.ConnectionID)
	h.mu.Unlock()
}

type statementKind int

const (
	other statementKind = iota
	begin
	end
	use
)

// statement is what serialHandler needs of one statement.
type statement struct {
	kind statementKind
	use  string   // the database of a USE
	dbs  []string // the databases to hold while it runs, sorted
}

// analyse names the databases a statement touches: those its table names
// are qualified with, and the current one for the names that are not, so
// that a connection of the control plane writing a county's audit log
// holds the county's database, not its own.
// Transaction control, USE and named locks (GET_LOCK, RELEASE_LOCK) touch
// none: a GET_LOCK that waited holding a database would keep the lock's
// holder from going on. What does not parse holds the current database and
// gets the engine's own error.
func analyse(query, current string) statement {
	parsed, err := sqlparser.Parse(query)
	if err != nil {
		return statement{dbs: nonEmpty(current)}
	}
	switch p := parsed.(type) {
	case *sqlparser.Begin:
		return statement{kind: begin}
	case *sqlparser.Commit, *sqlparser.Rollback:
		return statement{kind: end}
	case *sqlparser.Use:
		return statement{kind: use, use: strings.ToLower(p.DBName.String())}
	case *sqlparser.Set:
		return statement{}
	case *sqlparser.DBDDL:
		return statement{dbs: nonEmpty(strings.ToLower(p.DBName))}
	}
	if namedLocksOnly(parsed) {
		return statement{}
	}
	var dbs []string
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		t, ok := node.(sqlparser.TableName)
		switch {
		case !ok || t.Name.IsEmpty() || t.Name.String() == "dual":
		case t.DbQualifier.IsEmpty():
			dbs = append(dbs, nonEmpty(current)...)
		default:
			dbs = append(dbs, strings.ToLower(t.DbQualifier.String()))
		}
		return true, nil
	}, parsed)
	dbs = slices.DeleteFunc(dbs, func(db string) bool { return db == "information_schema" || db == "mysql" })
	slices.Sort(dbs)
	return statement{dbs: slices.Compact(dbs)}
}

// namedLocksOnly reports whether parsed is a SELECT of GET_LOCK or
// RELEASE_LOCK and nothing else.
func namedLocksOnly(parsed sqlparser.Statement) bool {
	sel, ok := parsed.(*sqlparser.Select)
	if !ok || len(sel.From) > 1 || len(sel.SelectExprs) != 1 {
		return false
	}
	if len(sel.From) == 1 {
		if t, ok := sel.From[0].(*sqlparser.AliasedTableExpr); !ok || sqlparser.String(t.Expr) != "dual" {
			return false
		}
	}
	expr, ok := sel.SelectExprs[0].(*sqlparser.AliasedExpr)
	if !ok {
		return false
	}
	f, ok := expr.Expr.(*sqlparser.FuncExpr)
	return ok && (f.Name.EqualString("get_lock") || f.Name.EqualString("release_lock"))
}

func nonEmpty(db string) []string {
	if db == "" {
		return nil
	}
	return []string{db}
}
