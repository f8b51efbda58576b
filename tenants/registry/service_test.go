package registry_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newService(db *storetest.DB, migs *store.Migrations) registry.Service {
	prov := provision.New(store.Clusters{"default": db.Cluster}, migs, quiet)
	return registry.NewService(registry.NewMySQLRepository(db.Control), db.Locker, prov,
		registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default"}}, quiet)
}

func mustCreate(t *testing.T, svc registry.Service, code, name string) registry.Tenant {
	t.Helper()
	tn, err := svc.Create(context.Background(), registry.CreateRequest{Code: code, Name: name})
	if err != nil {
		t.Fatalf("create %s: %v", code, err)
	}
	return tn
}

// createShaoguan creates the province and city most tests put counties in.
func createShaoguan(t *testing.T, svc registry.Service) {
	t.Helper()
	mustCreate(t, svc, "gd", "广东省")
	mustCreate(t, svc, "gd.shaoguan", "韶关市")
}

func countRows(t *testing.T, db *storetest.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Server.Get(&n, query, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateProvisionsCountyWithItsOwnSchema(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	ctx := context.Background()

	gd := mustCreate(t, svc, "gd", "广东省")
	if gd.Level != registry.LevelProvince || gd.Status != registry.StatusReady || gd.Schema != "" {
		t.Errorf("province = %+v", gd)
	}
	mustCreate(t, svc, "gd.shaoguan", "韶关市")
	wy := mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	want := db.SchemaPrefix + "gd_shaoguan_wengyuan"
	if wy.Status != registry.StatusReady || wy.Schema != want || wy.Parent != "gd.shaoguan" ||
		wy.SchemaVersion != store.TenantMigrations().Latest() || wy.Failure != "" {
		t.Fatalf("county = %+v", wy)
	}
	if got := db.Schemas(t); len(got) != 1 || got[0] != want {
		t.Fatalf("schemas = %v, want only %s", got, want)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM `"+want+"`.roles WHERE builtin"); n != 6 {
		t.Errorf("%d built-in roles seeded, want 6", n)
	}
	got, err := svc.Get(ctx, "gd.shaoguan.wengyuan")
	if err != nil || got.Status != registry.StatusReady || got.SchemaVersion != wy.SchemaVersion {
		t.Errorf("get = %+v, %v", got, err)
	}
}

// TestBadInputCreatesNothing feeds invalid requests and proves that none
// left a row or a schema behind.
func TestBadInputCreatesNothing(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	createShaoguan(t, svc)
	mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	mustCreate(t, svc, "bj", "北京市")
	if _, err := svc.Create(context.Background(), registry.CreateRequest{Code: "bj.haidian", Name: "海淀区", Level: "county"}); err != nil {
		t.Fatal(err)
	}
	rowsBefore := countRows(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.tenants")
	schemasBefore := db.Schemas(t)

	cases := []struct {
		req  registry.CreateRequest
		code string
	}{
		{registry.CreateRequest{Code: "GD.shaoguan.x", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan.weng yuan", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan.'x'", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan.`x`", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan.x;drop", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan." + strings.Repeat("x", 40), Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.shaoguan.wengyuan.town", Name: "x"}, registry.CodeInvalidCode},
		{registry.CreateRequest{Code: "gd.meizhou.wuhua", Name: "五华县"}, registry.CodeUnknownParent},
		{registry.CreateRequest{Code: "gx.nanning", Name: "南宁市"}, registry.CodeUnknownParent},
		{registry.CreateRequest{Code: "gd.shaoguan.wengyuan", Name: "翁源县"}, registry.CodeTenantExists},
		{registry.CreateRequest{Code: "gd", Name: "广东省"}, registry.CodeTenantExists},
		{registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: ""}, registry.CodeInvalidName},
		{registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: "   "}, registry.CodeInvalidName},
		{registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: strings.Repeat("乐", 65)}, registry.CodeInvalidName},
		{registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: "乐昌市", Level: "town"}, registry.CodeInvalidLevel},
		{registry.CreateRequest{Code: "bj.haidian.x", Name: "x"}, registry.CodeInvalidParent},
		{registry.CreateRequest{Code: "bj.haidian", Name: "海淀区", Level: "county"}, registry.CodeTenantExists},
	}
	for _, c := range cases {
		_, err := svc.Create(context.Background(), c.req)
		if got := errs.CodeOf(err); got != c.code {
			t.Errorf("create %+v: error %v, want code %s", c.req, err, c.code)
		}
		if e := errs.As(err); e.Kind != errs.KindInvalid && e.Kind != errs.KindConflict {
			t.Errorf("create %+v: kind %v, want a 4xx kind", c.req, e.Kind)
		}
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.tenants"); n != rowsBefore {
		t.Errorf("%d tenant rows, want %d: a refused request left a row", n, rowsBefore)
	}
	if got := db.Schemas(t); fmt.Sprint(got) != fmt.Sprint(schemasBefore) {
		t.Errorf("schemas = %v, want %v: a refused request left a schema", got, schemasBefore)
	}
}

func TestACountyNamedByInvisibleOrReorderingCharactersIsRefused(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	createShaoguan(t, svc)
	mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	rowsBefore := countRows(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.tenants")
	for _, name := range []string{"\u200b", "乐昌\u202e市", "\u202e", "\u200b\u3164\u200b", "乐\u200d昌市"} {
		if _, err := svc.Create(context.Background(), registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: name}); errs.CodeOf(err) != registry.CodeInvalidName {
			t.Errorf("create a county named %q: %v", name, err)
		}
		if _, err := svc.Update(context.Background(), "gd.shaoguan.wengyuan", registry.Patch{Name: &name}); errs.CodeOf(err) != registry.CodeInvalidName {
			t.Errorf("rename a county %q: %v", name, err)
		}
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.tenants"); n != rowsBefore {
		t.Errorf("%d tenant rows, want %d", n, rowsBefore)
	}
	if got, err := svc.Get(context.Background(), "gd.shaoguan.wengyuan"); err != nil || got.Name != "翁源县" {
		t.Errorf("Wengyuan after the refused renames: %+v %v", got, err)
	}
}

func TestConcurrentCreatesOfOneCodeMakeOneCounty(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	createShaoguan(t, svc)
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Create(context.Background(), registry.CreateRequest{Code: "gd.shaoguan.wengyuan", Name: "翁源县"})
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch errs.CodeOf(err) {
		case "":
			ok++
		case registry.CodeTenantExists, registry.CodeProvisioningBusy:
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d creates succeeded, want exactly 1", ok)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM `"+db.ControlSchema+"`.tenants WHERE code = 'gd.shaoguan.wengyuan'"); n != 1 {
		t.Errorf("%d rows for the county", n)
	}
}

func TestListFiltersAndPages(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	ctx := context.Background()
	createShaoguan(t, svc)
	counties := []string{"lechang", "nanxiong", "renhua", "ruyuan", "shixing", "wengyuan", "xinfeng"}
	for _, c := range counties {
		mustCreate(t, svc, "gd.shaoguan."+c, c)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := svc.List(ctx, registry.ListRequest{Parent: "gd.shaoguan", Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tenants) > 3 || pages > 3 {
			t.Fatalf("page %d has %d tenants", pages, len(page.Tenants))
		}
		for _, tn := range page.Tenants {
			seen = append(seen, strings.TrimPrefix(tn.Code, "gd.shaoguan."))
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if fmt.Sprint(seen) != fmt.Sprint(counties) {
		t.Errorf("paged through %v, want %v", seen, counties)
	}
	provinces, err := svc.List(ctx, registry.ListRequest{Level: "province"})
	if err != nil || len(provinces.Tenants) != 1 || provinces.Tenants[0].Code != "gd" {
		t.Errorf("provinces = %+v, %v", provinces, err)
	}
	if _, err := svc.Update(ctx, "gd.shaoguan.xinfeng", registry.Patch{Status: ptr("suspended")}); err != nil {
		t.Fatal(err)
	}
	suspended, err := svc.List(ctx, registry.ListRequest{Status: "suspended"})
	if err != nil || len(suspended.Tenants) != 1 || suspended.Tenants[0].Code != "gd.shaoguan.xinfeng" {
		t.Errorf("suspended = %+v, %v", suspended, err)
	}
	for _, bad := range []registry.ListRequest{{Status: "gone"}, {Level: "town"}, {Limit: 501}, {Limit: -1}, {Cursor: "!!"}, {Cursor: "Zm9vIGJhcg"}, {Parent: "GD"}} {
		if _, err := svc.List(ctx, bad); err == nil || errs.As(err).Kind != errs.KindInvalid {
			t.Errorf("list %+v: %v, want an invalid-request error", bad, err)
		}
	}
}

func ptr(s string) *string { return &s }

func TestArchiveKeepsDataAndGuardsTheHierarchy(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	ctx := context.Background()
	createShaoguan(t, svc)
	wy := mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")

	if _, err := svc.Update(ctx, "gd.shaoguan", registry.Patch{Status: ptr("archived")}); errs.CodeOf(err) != registry.CodeHasActiveChildren {
		t.Fatalf("archiving a city with a live county: %v", err)
	}
	got, err := svc.Update(ctx, wy.Code, registry.Patch{Status: ptr("archived")})
	if err != nil || got.Status != registry.StatusArchived {
		t.Fatalf("archive county: %+v, %v", got, err)
	}
	if _, err := svc.Update(ctx, "gd.shaoguan", registry.Patch{Status: ptr("archived")}); err != nil {
		t.Fatalf("archive city: %v", err)
	}
	if schemas := db.Schemas(t); len(schemas) != 1 {
		t.Errorf("archiving dropped the schema: %v", schemas)
	}
	if _, err := svc.Create(ctx, registry.CreateRequest{Code: "gd.shaoguan.lechang", Name: "乐昌市"}); errs.CodeOf(err) != registry.CodeParentArchived {
		t.Errorf("create under archived city: %v", err)
	}
	if _, err := svc.Update(ctx, wy.Code, registry.Patch{Status: ptr("ready")}); errs.CodeOf(err) != registry.CodeParentArchived {
		t.Errorf("restore county under archived city: %v", err)
	}
	if _, err := svc.Update(ctx, "gd.shaoguan", registry.Patch{Status: ptr("ready")}); err != nil {
		t.Fatal(err)
	}
	got, err = svc.Update(ctx, wy.Code, registry.Patch{Status: ptr("ready"), Name: ptr(" 翁源县人民政府 ")})
	if err != nil || got.Status != registry.StatusReady || got.Name != "翁源县人民政府" {
		t.Errorf("restore and rename: %+v, %v", got, err)
	}
	if _, err := svc.Update(ctx, "gd.nowhere", registry.Patch{Name: ptr("x")}); errs.CodeOf(err) != registry.CodeTenantNotFound {
		t.Errorf("update missing: %v", err)
	}
	if _, err := svc.Update(ctx, wy.Code, registry.Patch{Name: ptr("")}); errs.CodeOf(err) != registry.CodeInvalidName {
		t.Errorf("empty name: %v", err)
	}
	if _, err := svc.Retry(ctx, wy.Code); errs.CodeOf(err) != registry.CodeNotRetryable {
		t.Errorf("retry a ready county: %v", err)
	}
}

// gatedMigrations are the tenant migrations plus one that waits for the
// named lock gate: a migration that takes as long as the test wants.
func gatedMigrations(t *testing.T, gate string) *store.Migrations {
	t.Helper()
	files := fstest.MapFS{}
	dir := os.DirFS("../../core/store/migrations/tenant")
	names, err := fs.Glob(dir, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		body, err := fs.ReadFile(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = &fstest.MapFile{Data: body}
	}
	files["90000_gate.sql"] = &fstest.MapFile{Data: fmt.Appendf(nil, "SELECT GET_LOCK('%s', 60);\nSELECT RELEASE_LOCK('%s');\n", gate, gate)}
	migs, err := store.LoadMigrations(files)
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// interruptProvisioning creates a county whose provisioning stops at the
// gate migration, after its schema exists and every migration is applied,
// and cancels it there. The gate stays closed until the returned func opens it.
func interruptProvisioning(t *testing.T, db *storetest.DB, svc registry.Service, gate, code string) (registry.Tenant, func()) {
	t.Helper()
	holder, err := db.Control.Connx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := holder.ExecContext(context.Background(), "SELECT GET_LOCK(?, 0)", gate); err != nil {
		t.Fatal(err)
	}
	open := func() {
		if _, err := holder.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", gate); err != nil {
			t.Fatal(err)
		}
		holder.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	created := make(chan registry.Tenant, 1)
	go func() {
		tn, err := svc.Create(ctx, registry.CreateRequest{Code: code, Name: "翁源县"})
		if err != nil {
			t.Errorf("create: %v", err)
		}
		created <- tn
	}()
	schema := registry.SchemaName(db.SchemaPrefix, code)
	// Cancelled at the gate; a crash within a migration is core/store's
	// TestEveryMigrationRunsAgainAfterACrashBeforeItsRecord.
	last := store.TenantMigrations().Latest()
	waitFor(t, "every migration before the gate to be applied", func() bool {
		var n int
		return db.Server.Get(&n, "SELECT COUNT(*) FROM `"+schema+"`.schema_migrations WHERE version = ?", last) == nil && n == 1
	})
	cancel()
	tn := <-created
	if tn.Status != registry.StatusFailed || !strings.Contains(tn.Failure, "interrupted") {
		t.Fatalf("interrupted county = %+v, want failed and interrupted", tn)
	}
	if schemas := db.Schemas(t); !slices.Contains(schemas, schema) {
		t.Fatalf("schema %s missing after the interruption: %v", schema, schemas)
	}
	return tn, open
}

// TestInterruptedProvisioningIsFinishedByRetry cancels a county's
// provisioning after its schema exists and is half migrated, and proves
// that a retry finishes it without duplicating anything.
func TestInterruptedProvisioningIsFinishedByRetry(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	gate := db.ControlSchema + "_gate"
	migs := gatedMigrations(t, gate)
	svc := newService(db, migs)
	createShaoguan(t, svc)

	tn, open := interruptProvisioning(t, db, svc, gate, "gd.shaoguan.wengyuan")
	got, err := svc.Get(context.Background(), tn.Code)
	if err != nil || got.Status != registry.StatusFailed || got.Failure == "" {
		t.Fatalf("the failure is not visible: %+v, %v", got, err)
	}
	open()
	tn, err = svc.Retry(context.Background(), tn.Code)
	if err != nil || tn.Status != registry.StatusReady || tn.SchemaVersion != migs.Latest() || tn.Failure != "" {
		t.Fatalf("retry = %+v, %v", tn, err)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM `"+tn.Schema+"`.roles"); n != 6 {
		t.Errorf("%d roles after retry, want 6 (no duplicates)", n)
	}
}

// TestResumeFinishesACrashedProvisioning plays a process killed in the
// middle of provisioning: the county stays in provisioning, half migrated,
// with no failure recorded. Resume, as the server runs it at start,
// finishes it.
func TestResumeFinishesACrashedProvisioning(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	gate := db.ControlSchema + "_gate"
	migs := gatedMigrations(t, gate)
	svc := newService(db, migs)
	createShaoguan(t, svc)
	tn, open := interruptProvisioning(t, db, svc, gate, "gd.shaoguan.wengyuan")
	// What a killed process leaves: no failure was ever recorded.
	if _, err := db.Control.Exec("UPDATE tenants SET status = 'provisioning', failure = NULL WHERE code = ?", tn.Code); err != nil {
		t.Fatal(err)
	}
	open()
	n, err := registry.Resume(context.Background(), svc, quiet)
	if err != nil || n != 1 {
		t.Fatalf("resume = %d, %v", n, err)
	}
	got, err := svc.Get(context.Background(), tn.Code)
	if err != nil || got.Status != registry.StatusReady || got.SchemaVersion != migs.Latest() {
		t.Errorf("after resume: %+v, %v", got, err)
	}
}

func TestFailedProvisioningIsVisibleAndRetryable(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	broken, err := store.LoadMigrations(fstest.MapFS{"00001_broken.sql": {Data: []byte("CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);\n")}})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, newService(db, broken), "gd", "广东省")
	mustCreate(t, newService(db, broken), "gd.shaoguan", "韶关市")
	tn, err := newService(db, broken).Create(context.Background(), registry.CreateRequest{Code: "gd.shaoguan.wengyuan", Name: "翁源县"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Status != registry.StatusFailed || !strings.Contains(tn.Failure, "no_such_table") {
		t.Fatalf("county = %+v, want failed naming the cause", tn)
	}
	fixed := newService(db, store.TenantMigrations())
	if _, err := fixed.Update(context.Background(), tn.Code, registry.Patch{Status: ptr("ready")}); errs.CodeOf(err) != registry.CodeStatusChange {
		t.Errorf("setting a failed county ready: %v", err)
	}
	tn, err = fixed.Retry(context.Background(), tn.Code)
	if err != nil || tn.Status != registry.StatusReady {
		t.Fatalf("retry = %+v, %v", tn, err)
	}
}

func TestCountyDirectlyUnderAProvince(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	mustCreate(t, svc, "bj", "北京市")
	tn, err := svc.Create(context.Background(), registry.CreateRequest{Code: "bj.haidian", Name: "海淀区", Level: "county"})
	if err != nil || tn.Status != registry.StatusReady || tn.Schema != db.SchemaPrefix+"bj_haidian" {
		t.Fatalf("create = %+v, %v", tn, err)
	}
	if city := mustCreate(t, svc, "bj.chaoyang", "朝阳区"); city.Level != registry.LevelCity || city.Schema != "" {
		t.Errorf("a two-segment code without --level is a city: %+v", city)
	}
}

// TestArchivedBeforeProvisionedCanBeFinished: a county that failed and was
// archived is not stuck: retry finishes it.
func TestArchivedBeforeProvisionedCanBeFinished(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	broken, err := store.LoadMigrations(fstest.MapFS{"00001_broken.sql": {Data: []byte("INSERT INTO no_such_table VALUES (1);\n")}})
	if err != nil {
		t.Fatal(err)
	}
	svc := newService(db, broken)
	createShaoguan(t, svc)
	tn := mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	ctx := context.Background()
	if _, err := svc.Update(ctx, tn.Code, registry.Patch{Status: ptr("archived")}); err != nil {
		t.Fatal(err)
	}
	fixed := newService(db, store.TenantMigrations())
	if _, err := fixed.Update(ctx, tn.Code, registry.Patch{Status: ptr("ready")}); errs.CodeOf(err) != registry.CodeStatusChange {
		t.Errorf("restoring a never-provisioned county to ready: %v", err)
	}
	if got, err := fixed.Retry(ctx, tn.Code); err != nil || got.Status != registry.StatusReady {
		t.Errorf("retry = %+v, %v", got, err)
	}
}

// TestSmallPoolsDoNotDeadlock provisions many counties at once through
// pools of two connections: every lock holds a connection of the lock pool
// only, and no work holds two connections of one pool at once.
func TestSmallPoolsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	control := store.Open(db.Config, 2, quiet)
	defer control.Close()
	clusterPool := store.Open(storetest.ServerConfig(t), 2, quiet)
	defer clusterPool.Close()
	lockPool := store.Open(storetest.ServerConfig(t), 2, quiet)
	defer lockPool.Close()
	prov := provision.New(store.Clusters{"default": store.NewCluster("default", clusterPool)}, store.TenantMigrations(), quiet)
	svc := registry.NewService(registry.NewMySQLRepository(control), store.NewLocker(lockPool, db.ControlSchema+":"), prov,
		registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default"}}, quiet)
	createShaoguan(t, svc)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code := "gd.shaoguan.county" + string(rune('a'+i))
			tn, err := svc.Create(ctx, registry.CreateRequest{Code: code, Name: code})
			if err != nil || tn.Status != registry.StatusReady {
				t.Errorf("create %s: %+v, %v", code, tn, err)
			}
		}()
	}
	wg.Wait()
}

// TestArchivingAParentRacesRestoringAChild runs both at once, many times:
// never does a live county end up under an archived city.
func TestArchivingAParentRacesRestoringAChild(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	ctx := context.Background()
	createShaoguan(t, svc)
	mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	set := func(code, status string) error {
		_, err := svc.Update(ctx, code, registry.Patch{Status: ptr(status)})
		return err
	}
	for round := range 25 {
		if err := set("gd.shaoguan", "ready"); err != nil {
			t.Fatal(err)
		}
		if err := set("gd.shaoguan.wengyuan", "archived"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = set("gd.shaoguan", "archived") }()
		go func() { defer wg.Done(); _ = set("gd.shaoguan.wengyuan", "ready") }()
		wg.Wait()
		city, _ := svc.Get(ctx, "gd.shaoguan")
		county, _ := svc.Get(ctx, "gd.shaoguan.wengyuan")
		if city.Status == registry.StatusArchived && county.Status != registry.StatusArchived {
			t.Fatalf("round %d: %s county under an archived city", round, county.Status)
		}
		if county.Status == registry.StatusReady {
			if err := set("gd.shaoguan.wengyuan", "archived"); err != nil {
				t.Fatal(err)
			}
		}
	}
}
