package notify_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/egress"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/notify"
	"github.com/countycloud/countycloud/core/notify/notifytest"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

// locator places the test's counties on the default cluster, as the
// registry would.
type locator map[string]store.Location

func (l locator) Locate(_ context.Context, code string) (store.Location, error) {
	loc, ok := l[code]
	if !ok {
		return store.Location{}, errs.NotFound(errs.CodeTenantNotFound, "tenant %s does not exist", code)
	}
	return loc, nil
}

// counties lists the counties for the sweep.
type counties []string

func (c counties) Counties(context.Context) ([]string, error) { return c, nil }

// clock is a clock the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is two migrated counties, a mail server, an SMS gateway and the
// service delivering to them.
type world struct {
	db      *storetest.DB
	router  *store.Router
	queue   *jobs.Queue
	clock   *clock
	smtp    *notifytest.SMTPServer
	gateway *notifytest.Gateway
	svc     *notify.Service
	schemas map[string]string
}

const gatewayToken = "s3cret-token"

// setup builds a world; tune adjusts the service's options.
func setup(t *testing.T, tune ...func(*notify.Options)) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t)
	w := &world{db: db, clock: &clock{t: time.Now().UTC()}, schemas: map[string]string{}}
	loc := locator{}
	for _, code := range []string{wengyuan, lechang} {
		schema := db.SchemaPrefix + strings.ReplaceAll(code, ".", "_")
		if err := db.Cluster.EnsureSchema(ctx, schema); err != nil {
			t.Fatal(err)
		}
		if err := db.Cluster.InSchema(ctx, schema, func(ctx context.Context, conn *sqlx.Conn) error {
			_, err := store.TenantMigrations().Up(ctx, conn)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		loc[code] = store.Location{Cluster: "default", Schema: schema}
		w.schemas[code] = schema
	}
	w.router = store.NewRouter(store.Clusters{"default": db.Cluster}, loc)
	w.queue = jobs.NewQueue(db.Control)
	w.smtp = notifytest.NewSMTPServer(t, notifytest.SMTPOptions{STARTTLS: true, Users: map[string]string{"notifier": "mailpass"}})
	w.gateway = notifytest.NewGateway(t, gatewayToken)
	mailer, err := notify.NewMailer(notify.SMTPConfig{
		Addr: w.smtp.Addr, From: "翁源县政务云 <noreply@wengyuan.gov.cn>", Username: "notifier", Password: "mailpass",
		Timeout: 5 * time.Second, TLS: &tls.Config{RootCAs: w.smtp.CertPool},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The gateway listens on loopback, which only an operator's allow opens.
	opts := notify.Options{Now: w.clock.Now, SendTimeout: 5 * time.Second, Outbound: egress.NewPolicy(notifytest.Loopback()...)}
	for _, f := range tune {
		f(&opts)
	}
	w.svc = notify.New(w.router, w.queue, counties{wengyuan, lechang}, mailer, opts, quiet)
	return w
}

// exec runs statements on tenant's schema.
func (w *world) exec(t *testing.T, tenant string, stmts ...string) {
	t.Helper()
	err := w.router.InTenant(context.Background(), tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		for _, s := range stmts {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// account adds an account to tenant (and its unit, if new) and returns
// its id; mobile and email may be "".
func (w *world) account(t *testing.T, tenant string, unit int64, login, mobile, email, status string) int64 {
	t.Helper()
	var id int64
	err := w.router.InTenant(context.Background(), tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		now := time.Now().UTC()
		if _, err := conn.ExecContext(ctx, "INSERT IGNORE INTO units (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)", unit, fmt.Sprintf("单位%d", unit), now, now); err != nil {
			return err
		}
		res, err := conn.ExecContext(ctx, "INSERT INTO accounts (login, name, unit_id, mobile, email, status, created_at, updated_at) VALUES (?, ?, ?, NULLIF(?, ''), NULLIF(?, ''), ?, ?, ?)",
			login, "人员"+login, unit, mobile, email, status, now, now)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// write commits msgs to tenant's outbox as a caller of Write does.
func (w *world) write(t *testing.T, tenant string, msgs ...notify.Message) int {
	t.Helper()
	var pending int
	err := w.router.InTenantTx(context.Background(), tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		var err error
		pending, err = notify.Write(ctx, tx, w.clock.Now(), msgs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pending
}

// row is a notification as stored.
type row struct {
	ID          int64      `db:"id"`
	Account     int64      `db:"account_id"`
	Channel     string     `db:"channel"`
	Kind        string     `db:"kind"`
	Subject     string     `db:"subject"`
	Address     *string    `db:"address"`
	Status      string     `db:"status"`
	Attempts    int        `db:"attempts"`
	NextAttempt *time.Time `db:"next_attempt_at"`
	LastError   *string    `db:"last_error"`
	ProviderRef *string    `db:"provider_ref"`
	SentAt      *time.Time `db:"sent_at"`
	ReadAt      *time.Time `db:"read_at"`
}

func (w *world) rows(t *testing.T, tenant string) []row {
	t.Helper()
	var rows []row
	err := w.router.InTenant(context.Background(), tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &rows, `SELECT id, account_id, channel, kind, subject, address, status, attempts, next_attempt_at, last_error, provider_ref, sent_at, read_at
FROM notifications ORDER BY id`)
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (w *world) drain(t *testing.T, tenant string) notify.DrainReport {
	t.Helper()
	r, err := w.svc.Drain(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// setGateway points tenant at the world's SMS gateway.
func (w *world) setGateway(t *testing.T, tenant string) {
	t.Helper()
	token, sign := gatewayToken, "翁源县政务服务"
	if _, err := w.svc.SetGateway(context.Background(), tenant, notify.GatewayInput{URL: w.gateway.URL, Token: &token, Sign: &sign}); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Errorf("%s: %v; want %s", what, err, code)
	}
}

func ptr[T any](v T) *T { return &v }

// jobsFilter selects tenant's drains.
func jobsFilter(tenant string) jobs.Filter {
	return jobs.Filter{Kind: notify.JobDrain, Tenant: tenant}
}
