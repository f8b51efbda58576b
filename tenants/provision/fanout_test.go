package provision_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"testing"
	"testing/fstest"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestFanOutGoesOnPastAFailingCounty breaks one county's schema: that
// county is reported failed and stays at its version, the others are
// migrated, and a dry run beforehand changed nothing.
func TestFanOutGoesOnPastAFailingCounty(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	ctx := context.Background()
	body, err := fs.ReadFile(store.TenantMigrationFiles(), "00001_baseline.sql")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := store.LoadMigrations(fstest.MapFS{"00001_baseline.sql": {Data: body}})
	if err != nil {
		t.Fatal(err)
	}
	clusters := store.Clusters{"default": db.Cluster}
	repo := registry.NewMySQLRepository(db.Control)
	opts := registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default"}}
	old := registry.NewService(repo, db.Locker, provision.New(clusters, v1, quiet), opts, quiet)
	for _, c := range []registry.CreateRequest{{Code: "gd", Name: "广东省"}, {Code: "gd.shaoguan", Name: "韶关市"},
		{Code: "gd.shaoguan.lechang", Name: "乐昌市"}, {Code: "gd.shaoguan.renhua", Name: "仁化县"}, {Code: "gd.shaoguan.wengyuan", Name: "翁源县"}} {
		if _, err := old.Create(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// The new migration's foreign key needs roles; take it away in one county.
	if _, err := db.Server.Exec("DROP TABLE `" + db.SchemaPrefix + "gd_shaoguan_renhua`.roles"); err != nil {
		t.Fatal(err)
	}
	current := provision.New(clusters, store.TenantMigrations(), quiet)
	latest := store.TenantMigrations().Latest()

	dry, err := current.FanOut(ctx, repo, db.Locker, provision.FanOutOptions{Workers: 2, DryRun: true})
	if err != nil || len(dry) != 3 || dry[0].Outcome != provision.OutcomePending {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	results, err := current.FanOut(ctx, repo, db.Locker, provision.FanOutOptions{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range results {
		outcomes[r.Code] = r.Outcome
		if r.Outcome == provision.OutcomeFailed && r.Error == "" {
			t.Errorf("%s failed without a reason", r.Code)
		}
	}
	want := map[string]string{"gd.shaoguan.lechang": "migrated", "gd.shaoguan.renhua": "failed", "gd.shaoguan.wengyuan": "migrated"}
	for code, outcome := range want {
		if outcomes[code] != outcome {
			t.Errorf("%s: %s, want %s", code, outcomes[code], outcome)
		}
	}
	behind, err := repo.Behind(ctx, latest, nil)
	if err != nil || len(behind) != 1 || behind[0].Code != "gd.shaoguan.renhua" || behind[0].SchemaVersion != 1 {
		t.Errorf("behind after the run: %+v, %v", behind, err)
	}
	only, err := current.FanOut(ctx, repo, db.Locker, provision.FanOutOptions{Workers: 2, DryRun: true, Only: []string{"gd.shaoguan.lechang"}})
	if err != nil || len(only) != 0 {
		t.Errorf("--only an up-to-date county: %+v, %v", only, err)
	}
}
