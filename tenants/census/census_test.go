package census_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/measure"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/census"
	"github.com/countycloud/countycloud/tenants/org"
	"github.com/countycloud/countycloud/tenants/provision/provisiontest"
	"github.com/countycloud/countycloud/tenants/registry"
	"github.com/countycloud/countycloud/tenants/seals"
)

const (
	wengyuan = "gd.shaoguan.wengyuan"
	lechang  = "gd.shaoguan.lechang"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is the census's day, set by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) june(day int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = time.Date(2026, 6, day, 10, 0, 0, 0, time.FixedZone("CST", 8*60*60))
}

// counties are the counties the sweep is given.
type counties []string

func (c counties) Counties(context.Context) ([]string, error) { return c, nil }

// world is two provisioned counties, the services that change their
// organisations, the census and the measures it is read through.
type world struct {
	db       *storetest.DB
	router   *store.Router
	clock    *clock
	org      org.Service
	auth     *auth.Service
	seals    *seals.Service
	queue    *jobs.Queue
	census   *census.Service
	measures *measure.Service
}

func setup(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	db := storetest.New(t)
	provisiontest.Registry(t, db, registry.CreateRequest{Code: wengyuan, Name: "翁源县"}, registry.CreateRequest{Code: lechang, Name: "乐昌市"})
	router := provisiontest.Router(db, 0)
	cfg := auth.DefaultConfig()
	cfg.Argon2 = auth.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	identity := auth.New(cfg, db.Control, router, audit.NewTrail(router, db.Control), measure.NewSignIns(router), nil, quiet)
	if _, err := identity.Bootstrap(ctx, ""); err != nil {
		t.Fatal(err)
	}
	keys, err := seals.NewKeyRing("翁源县-census-test-seal-key-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	sealer := seals.NewService(router, db.Control, keys, time.Now)
	if err := sealer.CheckKey(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	c.june(1)
	queue := jobs.NewQueue(db.Control)
	return &world{
		db: db, router: router, clock: c, org: org.NewService(router), auth: identity, seals: sealer, queue: queue,
		census:   census.New(router, counties{wengyuan, lechang}, queue, c.Now, quiet),
		measures: measure.NewService(router, measure.Catalogs{}),
	}
}

var operator = auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.KindOperator, ID: 1, Login: "admin", Roles: []string{auth.RoleOperator}})

func (w *world) take(t testing.TB, county string, written int) {
	t.Helper()
	res, err := w.census.Census(context.Background(), county)
	if err != nil {
		t.Fatalf("census of %s: %v", county, err)
	}
	if written >= 0 && res.Written != written {
		t.Errorf("census of %s on %s: %d figures written, want %d", county, w.clock.Now().Format(time.DateOnly), res.Written, written)
	}
}

// censusIDs are the census's measures, in the order a table of them
// lists them.
func censusIDs() []string {
	var ids []string
	for _, d := range measure.CensusMeasures() {
		ids = append(ids, d.ID)
	}
	return ids
}

// table reads county's census figures of June 1 to last by day: a line
// per measure and unit (by name, the county for county-wide ones), its
// figures of each day.
func (w *world) table(t testing.TB, county string, last int) string {
	t.Helper()
	report, err := w.measures.Read(operator, county, measure.Query{Measures: censusIDs(), From: "2026-06-01", To: fmt.Sprintf("2026-06-%02d", last), By: measure.ByDay})
	if err != nil {
		t.Fatal(err)
	}
	units, err := w.org.ListUnits(context.Background(), county)
	if err != nil {
		t.Fatal(err)
	}
	name := func(id int64) string {
		if i := slices.IndexFunc(units, func(u org.Unit) bool { return u.ID == id }); i >= 0 {
			return units[i].Name
		}
		return "全县"
	}
	days := map[string][]string{}
	for _, f := range report.Figures {
		line := strings.TrimPrefix(f.Measure, "platform.") + " " + name(f.Unit)
		days[line] = append(days[line], fmt.Sprint(f.Value))
	}
	var lines []string
	for line, values := range days {
		lines = append(lines, line+": "+strings.Join(values, " "))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func (w *world) unitID(t testing.TB, county, name string) int64 {
	t.Helper()
	units, err := w.org.ListUnits(context.Background(), county)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range units {
		if u.Name == name {
			return u.ID
		}
	}
	t.Fatalf("%s has no unit %s", county, name)
	return 0
}

func (w *world) accountID(t testing.TB, county, login string) int64 {
	t.Helper()
	page, err := w.org.ListAccounts(context.Background(), county, org.AccountFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range page.Accounts {
		if a.Login == login {
			return a.ID
		}
	}
	t.Fatalf("%s has no account %s", county, login)
	return 0
}

// must is v, or t failed with err: must(call())(t).
func must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ptr[T any](v T) *T { return &v }

const staffingList = `单位名称,上级单位,单位编码,排序,账号限额,姓名,登录名,角色,手机号,邮箱
县委办公室,,DW001,1,3,张三,zhangsan,领导、收发员,13800138000,
县委办公室,,,,,李四,lisi,收发员,13900139000,
县发展和改革局,,DW002,2,,王五,wangwu,业务管理员,,
综合股,县发展和改革局,DW00201,1,,,,,,
`

// TestTheCensusCountsEachUnitsOrganisation takes Wengyuan through three
// days of preparation. On the 1st its organisation is imported and an
// account with a mobile number and the leader's role added; on the 2nd
// its credentials are issued, Zhang San signs in, the county office gets
// a seal and a quota below its accounts; on the 3rd Zhao Liu (the
// development bureau's only leader) is disabled, Li Si loses his clerk's
// role and his mobile number, and the seal is revoked. Each day's census
// writes only what changed; figures that fell to 0 read as 0, and the
// unit without accounts has zeros throughout. A second census on a day
// changes nothing, and Lechang's census touches none of Wengyuan's
// figures, nor Wengyuan's any of Lechang's.
func TestTheCensusCountsEachUnitsOrganisation(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := audit.WithActor(context.Background(), audit.Actor{Kind: "account", ID: 1, Login: "wyadmin"})
	if r := must(w.org.Import(ctx, wengyuan, []byte(staffingList), false))(t); r.Units.Created != 3 || r.Accounts.Created != 3 {
		t.Fatalf("import: %+v", r)
	}
	bureau := w.unitID(t, wengyuan, "县发展和改革局")
	office := w.unitID(t, wengyuan, "县委办公室")
	zhao := must(w.org.CreateAccount(ctx, wengyuan, org.AccountInput{Login: "zhaoliu", Name: "赵六", UnitID: bureau, Roles: []string{"leader"}, Mobile: "13700137000"}))(t)
	w.take(t, wengyuan, 1+3*8)
	w.take(t, wengyuan, 0)

	w.clock.june(2)
	issued := must(w.auth.IssueCredentials(ctx, wengyuan, auth.IssueRequest{}))(t)
	if len(issued) != 4 {
		t.Fatalf("%d credentials issued, want 4", len(issued))
	}
	i := slices.IndexFunc(issued, func(c auth.IssuedCredential) bool { return c.Login == "zhangsan" })
	must(w.auth.Login(ctx, wengyuan, auth.Credentials{Login: "zhangsan", Password: issued[i].Password}, "192.0.2.1"))(t)
	seal := must(w.seals.Create(ctx, wengyuan, seals.CreateRequest{UnitID: office}))(t)
	must(w.org.UpdateUnit(ctx, wengyuan, office, org.UnitPatch{Quota: ptr(1)}))(t)
	w.take(t, wengyuan, 5)

	w.clock.june(3)
	must(w.org.UpdateAccount(ctx, wengyuan, zhao.ID, org.AccountPatch{Status: ptr(org.StatusDisabled)}))(t)
	must(w.org.UpdateAccount(ctx, wengyuan, w.accountID(t, wengyuan, "lisi"), org.AccountPatch{Roles: &[]string{}, Mobile: ptr("")}))(t)
	must(w.seals.Revoke(ctx, wengyuan, seal.ID, seals.RevokeRequest{Reason: "印章遗失"}))(t)
	w.take(t, wengyuan, 7)
	w.take(t, wengyuan, 0)

	lines := []string{
		"org.accounts 县委办公室: 2 2 2",
		"org.accounts 县发展和改革局: 2 2 1",
		"org.accounts 综合股: 0 0 0",
		"org.accounts.mobile 县委办公室: 2 2 1",
		"org.accounts.mobile 县发展和改革局: 1 1 0",
		"org.accounts.mobile 综合股: 0 0 0",
		"org.accounts.signed_in 县委办公室: 0 1 1",
		"org.accounts.signed_in 县发展和改革局: 0 0 0",
		"org.accounts.signed_in 综合股: 0 0 0",
		"org.clerks 县委办公室: 2 2 1",
		"org.clerks 县发展和改革局: 0 0 0",
		"org.clerks 综合股: 0 0 0",
		"org.credentials.issued 县委办公室: 0 2 2",
		"org.credentials.issued 县发展和改革局: 0 2 1",
		"org.credentials.issued 综合股: 0 0 0",
		"org.leaders 县委办公室: 1 1 1",
		"org.leaders 县发展和改革局: 1 1 0",
		"org.leaders 综合股: 0 0 0",
		"org.over_quota 县委办公室: 0 1 1",
		"org.over_quota 县发展和改革局: 0 0 0",
		"org.over_quota 综合股: 0 0 0",
		"org.units 全县: 3 3 3",
		"seals.active 县委办公室: 0 1 0",
		"seals.active 县发展和改革局: 0 0 0",
		"seals.active 综合股: 0 0 0",
	}
	slices.Sort(lines)
	want := strings.Join(lines, "\n")
	if got := w.table(t, wengyuan, 3); got != want {
		t.Errorf("Wengyuan's census:\n%s\nwant\n%s", got, want)
	}
	if got := w.table(t, lechang, 3); got != "" {
		t.Errorf("Lechang has figures before its census:\n%s", got)
	}

	lechangList := "单位名称,上级单位,单位编码,排序,账号限额,姓名,登录名,角色,手机号,邮箱\n乐昌市政府办,,LC001,1,,钱七,qianqi,领导,13600136000,\n"
	must(w.org.Import(ctx, lechang, []byte(lechangList), false))(t)
	w.take(t, lechang, 1+8)
	if got := w.table(t, wengyuan, 3); got != want {
		t.Errorf("Wengyuan's census after Lechang's:\n%s\nwant\n%s", got, want)
	}
	if got := w.table(t, lechang, 3); !strings.Contains(got, "org.leaders 乐昌市政府办: 1") || !strings.Contains(got, "org.units 全县: 1") || strings.Contains(got, "县委办公室") {
		t.Errorf("Lechang's census:\n%s", got)
	}
}

// TestCensusesOfOneCountyTakeTurns: censuses of a county at the same time
// all succeed, one after the other, and leave the figures one would.
func TestCensusesOfOneCountyTakeTurns(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	must(w.org.Import(ctx, wengyuan, []byte(staffingList), false))(t)
	var wg sync.WaitGroup
	written := make(chan int, 6)
	for range cap(written) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := w.census.Census(ctx, wengyuan)
			if err != nil {
				t.Error(err)
			}
			written <- res.Written
		}()
	}
	wg.Wait()
	close(written)
	total := 0
	for n := range written {
		total += n
	}
	if total != 1+3*8 {
		t.Errorf("the censuses wrote %d figures between them, want %d: each read after the one before it committed", total, 1+3*8)
	}
	if got := w.table(t, wengyuan, 1); !strings.Contains(got, "org.accounts 县委办公室: 2\n") || !strings.Contains(got, "org.units 全县: 3") {
		t.Errorf("figures:\n%s", got)
	}
}

// TestTheSweepQueuesACensusPerCountyOnce: the hourly sweep queues each
// ready county's census once however often it runs for its hour, and
// the worker takes them; a census of a county that does not exist (it
// was removed in between) dies at once rather than being retried, and a
// payload naming no county likewise.
func TestTheSweepQueuesACensusPerCountyOnce(t *testing.T) {
	t.Parallel()
	w := setup(t)
	ctx := context.Background()
	must(w.org.Import(ctx, wengyuan, []byte(staffingList), false))(t)
	sweeper := census.New(w.router, counties{wengyuan, lechang, "gd.shaoguan.nowhere"}, w.queue, w.clock.Now, quiet)
	// Two hours ago: every county's census of that hour is due.
	sweep := jobs.Job{Kind: census.JobSweep, RunAt: time.Now().Add(-2 * time.Hour)}
	for range 2 {
		if err := sweeper.SweepJob(ctx, sweep); err != nil {
			t.Fatal(err)
		}
	}
	queued := must(w.queue.List(ctx, jobs.Filter{Kind: census.JobCounty}))(t)
	if len(queued) != 3 {
		t.Fatalf("%d censuses queued, want one per county: %+v", len(queued), queued)
	}
	empty, _, err := w.queue.Enqueue(ctx, jobs.Spec{Kind: census.JobCounty, Payload: struct{}{}})
	if err != nil {
		t.Fatal(err)
	}
	worker := jobs.NewWorker(w.queue, map[string]jobs.Handler{census.JobCounty: sweeper.CountyJob},
		jobs.Options{Owner: "census-test", Poll: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 10 * time.Millisecond }}, quiet)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { worker.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, j := range append(queued, empty) {
		want := jobs.StatusDone
		if j.Tenant == "gd.shaoguan.nowhere" || j.Tenant == "" {
			want = jobs.StatusDead
		}
		if got := waitStatus(t, w.queue, j.ID, want); want == jobs.StatusDead && got.Attempts != 1 {
			t.Errorf("census of %q died after %d attempts, want 1", j.Tenant, got.Attempts)
		}
	}
	if got := w.table(t, wengyuan, 1); !strings.Contains(got, "org.units 全县: 3") {
		t.Errorf("Wengyuan's figures after its job:\n%s", got)
	}
}

func waitStatus(t *testing.T, q *jobs.Queue, id int64, want jobs.Status) jobs.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d (%s) is %s after 20 s, want %s", id, j.Tenant, j.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
