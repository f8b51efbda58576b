package audit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Write appends e to the trail q reaches: a county's schema or the
// control plane. In a county's transaction the entry is sent with the
// transaction's other deferred writes (store.Later): nothing reads the
// trail back before the commit.
func Write(ctx context.Context, q Execer, e Entry) error {
	return write(ctx, q, "audit_log", e)
}

// WriteIn appends e to the trail of the schema named, quoted
// (store.QuoteSchema), on a pool that reaches it: one round trip, with no
// USE before it, for an entry that is a transaction of its own.
func WriteIn(ctx context.Context, q Execer, quotedSchema string, e Entry) error {
	return write(ctx, q, quotedSchema+".audit_log", e)
}

// WriteAll appends entries to the trail q reaches in one statement, as
// Write appends one.
func WriteAll(ctx context.Context, q Execer, entries ...Entry) error {
	return write(ctx, q, "audit_log", entries...)
}

func write(ctx context.Context, q Execer, table string, entries ...Entry) error {
	if len(entries) == 0 {
		return nil
	}
	const row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	rows := make([]string, len(entries))
	args := make([]any, 0, 14*len(entries))
	for i, e := range entries {
		rows[i] = row
		args = append(args, e.At, e.ActorKind, e.ActorID, e.ActorLogin, e.UnitID, e.Action, e.ObjectType, e.ObjectID,
			e.BeforeDigest, e.AfterDigest, e.Outcome, e.Code, e.RequestID, e.Source)
	}
	err := store.Later(ctx, q, `INSERT INTO `+table+` (at, actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id,
		before_digest, after_digest, outcome, code, request_id, source) VALUES `+strings.Join(rows, ", "), args...)
	if err != nil {
		return fmt.Errorf("write audit entry: %w", err)
	}
	return nil
}

// Router runs work on a county's schema (core/store's Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
}

// Province names the province's own trail, kept in the control plane:
// what operators do, to the registry and to their own accounts.
const Province = ""

// Trail reads and appends to the province's and the counties' trails.
type Trail struct {
	router  Router
	control *sqlx.DB
}

// NewTrail returns the trails of the counties reached through router and
// the province's on control.
func NewTrail(router Router, control *sqlx.DB) *Trail {
	return &Trail{router: router, control: control}
}

// db is what reading and appending need of a connection.
type db interface {
	Execer
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
}

// on runs fn on tenant's schema, or on the control plane for Province.
func (t *Trail) on(ctx context.Context, tenant string, fn func(ctx context.Context, q db) error) error {
	if tenant == Province {
		return fn(ctx, t.control)
	}
	return t.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error { return fn(ctx, conn) })
}

// Record appends e to tenant's trail (or the province's) on its own, for
// what is not a write in a transaction of its own: a login, a refused
// request.
func (t *Trail) Record(ctx context.Context, tenant string, e Entry) error {
	return t.on(ctx, tenant, func(ctx context.Context, q db) error { return Write(ctx, q, e) })
}

// Filter selects entries; zero fields match everything. Entries come
// newest first, Limit at a time, below the id Before.
type Filter struct {
	ActorID    int64
	ActorLogin string
	UnitID     int64
	ObjectType string
	ObjectID   string
	Action     string
	Outcome    string
	From, To   time.Time
	Before     int64
	Limit      int
}

// Page is a page of entries; Next is the Before of the next page, 0 at
// the end.
type Page struct {
	Entries []Entry `json:"entries"`
	Next    int64   `json:"next,omitempty"`
}

// CodeInvalidFilter is the code of a filter that makes no sense.
const CodeInvalidFilter = "invalid_audit_filter"

// MaxLimit bounds a page.
const MaxLimit = 500

// List returns the entries of tenant's trail (or the province's)
// matching f.
func (t *Trail) List(ctx context.Context, tenant string, f Filter) (Page, error) {
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > MaxLimit {
		return Page{}, errs.Invalid(CodeInvalidFilter, "limit is 1 to %d", MaxLimit)
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return Page{}, errs.Invalid(CodeInvalidFilter, "to is before from")
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.ActorID != 0 {
		add("actor_id = ?", f.ActorID)
	}
	if f.ActorLogin != "" {
		add("actor_login = ?", f.ActorLogin)
	}
	if f.UnitID != 0 {
		add("unit_id = ?", f.UnitID)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Outcome != "" {
		add("outcome = ?", f.Outcome)
	}
	if !f.From.IsZero() {
		add("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("at < ?", f.To.UTC())
	}
	if f.Before != 0 {
		add("id < ?", f.Before)
	}
	query := "SELECT id, at, actor_kind, actor_id, actor_login, unit_id, action, object_type, object_id, before_digest, after_digest, outcome, code, request_id, source FROM audit_log"
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT " + strconv.Itoa(f.Limit+1)
	var page Page
	err := t.on(ctx, tenant, func(ctx context.Context, q db) error {
		return q.SelectContext(ctx, &page.Entries, query, args...)
	})
	if err != nil {
		return Page{}, err
	}
	if len(page.Entries) > f.Limit {
		page.Entries = page.Entries[:f.Limit]
		page.Next = page.Entries[f.Limit-1].ID
	}
	if page.Entries == nil {
		page.Entries = []Entry{}
	}
	return page, nil
}
