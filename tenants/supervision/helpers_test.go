package supervision_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/core/workday"
	"github.com/countycloud/countycloud/tenants/calendar"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/supervision"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// kicks records the counties whose outbox the service kicked.
type kicks struct {
	mu     sync.Mutex
	counts map[string]int
}

func (k *kicks) Kick(_ context.Context, tenant string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.counts == nil {
		k.counts = map[string]int{}
	}
	k.counts[tenant]++
	return nil
}

func (k *kicks) of(tenant string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.counts[tenant]
}

// fixture is a province with counties, and the services over them.
type fixture struct {
	tb        testing.TB
	db        *storetest.DB
	registry  registry.Service
	router    *store.Router
	calendars *calendar.Service
	kicks     *kicks
	svc       *supervision.Service
}

// newFixture provisions the counties (gd.shaoguan.<name>) concurrently.
func newFixture(t testing.TB, counties ...string) *fixture {
	t.Helper()
	db := storetest.New(t)
	reg := provisiontest.Registry(t, db)
	ctx := context.Background()
	parallel(t, len(counties), 8, func(i int) error {
		c, err := reg.Create(ctx, registry.CreateRequest{Code: counties[i], Name: fmt.Sprintf("县%d", i)})
		if err == nil && c.Status != registry.StatusReady {
			err = fmt.Errorf("county %s is %s: %s", c.Code, c.Status, c.Failure)
		}
		return err
	})
	router := provisiontest.Router(db, 0)
	cals, err := calendar.NewService(router)
	if err != nil {
		t.Fatal(err)
	}
	k := &kicks{}
	return &fixture{tb: t, db: db, registry: reg, router: router, calendars: cals, kicks: k,
		svc: supervision.New(router, cals, reg, k, supervision.Options{Workers: 4}, quiet)}
}

// parallel runs fn(i) for i in [0, n), workers at a time.
func parallel(t testing.TB, n, workers int, fn func(i int) error) {
	t.Helper()
	work := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// county is one county's schema, for the test's own reads and writes.
type county struct {
	t      testing.TB
	code   string
	schema string
	db     *storetest.DB
}

func (f *fixture) county(code string) county {
	return county{t: f.tb, code: code, schema: registry.SchemaName(f.db.SchemaPrefix, code), db: f.db}
}

func (c county) in(fn func(ctx context.Context, conn *sqlx.Conn) error) {
	c.t.Helper()
	if err := c.db.Cluster.InSchema(context.Background(), c.schema, fn); err != nil {
		c.t.Fatal(err)
	}
}

func (c county) exec(query string, args ...any) sql.Result {
	c.t.Helper()
	var res sql.Result
	c.in(func(ctx context.Context, conn *sqlx.Conn) error {
		var err error
		res, err = conn.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", query, err)
		}
		return nil
	})
	return res
}

func (c county) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	c.in(func(ctx context.Context, conn *sqlx.Conn) error { return conn.GetContext(ctx, &n, query, args...) })
	return n
}

// cst is an instant in China.
func cst(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, workday.China())
}

// Accounts of a seeded county, by id.
const (
	handler = 1 // 县政务服务中心, assigned tasks by name
	clerk1  = 2 // 县政务服务中心 clerks: 2 and 3 active, 4 disabled
	clerk2  = 3
	clerk3  = 4
	sup1    = 5 // 县监察局 supervisors: 5 active, 6 disabled
	sup2    = 6
	mzclerk = 7 // 县民政局's clerk
)

// seedOrg gives a county three units (the supervising one coded JCJ),
// accounts with roles, a workflow definition and one instance.
func seedOrg(ctx context.Context, conn *sqlx.Conn, supervising bool) error {
	now := time.Now().UTC()
	stmts := []struct {
		query string
		args  []any
	}{
		{"INSERT INTO units (id, name, code, sort_order, created_at, updated_at) VALUES (1, '县政务服务中心', 'ZWZX', 1, ?, ?), (2, '县监察局', 'JCJ', 2, ?, ?), (3, '县民政局', 'MZJ', 3, ?, ?)",
			[]any{now, now, now, now, now, now}},
		{`INSERT INTO accounts (id, login, name, unit_id, email, status, created_at, updated_at) VALUES
(1, 'handler', '经办人', 1, 'handler@wy.gov.cn', 'active', ?, ?), (2, 'clerk1', '收发员一', 1, NULL, 'active', ?, ?),
(3, 'clerk2', '收发员二', 1, NULL, 'active', ?, ?), (4, 'clerk3', '收发员三', 1, NULL, 'disabled', ?, ?),
(5, 'sup1', '监察员一', 2, 'sup1@wy.gov.cn', 'active', ?, ?), (6, 'sup2', '监察员二', 2, NULL, 'disabled', ?, ?),
(7, 'mzclerk', '民政收发员', 3, NULL, 'active', ?, ?)`, []any{now, now, now, now, now, now, now, now, now, now, now, now, now, now}},
		{`INSERT INTO account_roles (account_id, role_id) SELECT a.id, r.id FROM accounts a JOIN roles r
ON (r.code = 'clerk' AND a.id IN (2, 3, 4, 7)) OR (r.code = 'supervisor' AND a.id IN (5, 6))`, nil},
		{`INSERT INTO workflow_definitions (code, version, name, base, effective, created_at, updated_at, updated_by)
VALUES ('licence', 1, '营业执照', '{}', '{}', ?, ?, 'test')`, []any{now, now}},
		{`INSERT INTO workflow_instances (id, definition_code, definition_version, title, initiator_id, initiator_unit_id, status, started_at)
VALUES (1, 'licence', 1, '张三的营业执照申请', 1, 1, 'running', ?)`, []any{now}},
	}
	if supervising {
		stmts = append(stmts, struct {
			query string
			args  []any
		}{"INSERT INTO settings (name, value, updated_at) VALUES ('supervision.unit', 'JCJ', ?)", []any{now}})
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	return nil
}

// task is a task to seed; zero times are NULL.
type task struct {
	account     int64
	role        string
	unit        int64
	status      string
	level       int
	created     time.Time
	warn, due   time.Time
	acted       time.Time
	next        time.Time
	sms         bool
	description string
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// addTasks inserts tasks into instance 1, in statements of 1,000 rows.
func addTasks(ctx context.Context, conn *sqlx.Conn, tasks []task) error {
	for start := 0; start < len(tasks); start += 1000 {
		chunk := tasks[start:min(start+1000, len(tasks))]
		args := make([]any, 0, 12*len(chunk))
		for _, t := range chunk {
			var account, role any
			if t.account != 0 {
				account = t.account
			}
			if t.role != "" {
				role = t.role
			}
			status := t.status
			if status == "" {
				status = "open"
			}
			unit := t.unit
			if unit == 0 {
				unit = 1
			}
			created := t.created
			if created.IsZero() {
				created = cst(2026, 6, 1, 9, 0)
			}
			args = append(args, account, role, unit, status, t.level, t.sms, created.UTC(), nullTime(t.warn), nullTime(t.due), nullTime(t.next), nullTime(t.acted), t.description)
		}
		_, err := conn.ExecContext(ctx, `INSERT INTO workflow_tasks (instance_id, step, step_name, assignee_account_id, assignee_role, unit_id,
status, level, sms_reminder, created_at, warn_at, due_at, next_check_at, acted_at, comment) VALUES `+
			strings.TrimSuffix(strings.Repeat("(1, 'review', '审核', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(chunk)), ", "), args...)
		if err != nil {
			return fmt.Errorf("seed tasks: %w", err)
		}
	}
	return nil
}

// green is an open task as the engine opens it: next checked at its
// warning.
func green(t task) task {
	t.next = t.warn
	return t
}

// yellowTask is one already warned: next checked at its deadline.
func yellowTask(t task) task {
	t.level, t.next = 1, t.due
	return t
}
