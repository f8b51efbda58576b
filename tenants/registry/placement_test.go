package registry_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// twoClusters is a registry placing counties on the test's MariaDB and on
// a second, separate MariaDB server, and a router to their data.
func twoClusters(t *testing.T) (*storetest.DB, registry.Service, *store.Router, *sqlx.DB) {
	t.Helper()
	db := storetest.New(t)
	second, server2 := db.SecondCluster(t)
	clusters := store.Clusters{"default": db.Cluster, "second": second}
	repo := registry.NewMySQLRepository(db.Control)
	svc := registry.NewService(repo, db.Locker, provision.New(clusters, store.TenantMigrations(), quiet),
		registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default", "second"}}, quiet)
	return db, svc, store.NewRouter(clusters, registry.NewLocator(repo, 0)), server2
}

func TestCountiesArePlacedOnTheClusterWithFewest(t *testing.T) {
	t.Parallel()
	db, svc, _, server2 := twoClusters(t)
	ctx := context.Background()
	createShaoguan(t, svc)
	var placed []string
	for _, c := range []string{"lechang", "nanxiong", "renhua", "ruyuan"} {
		placed = append(placed, mustCreate(t, svc, "gd.shaoguan."+c, c).Cluster)
	}
	if want := []string{"default", "second", "default", "second"}; !slices.Equal(placed, want) {
		t.Errorf("placed on %v, want %v", placed, want)
	}
	tn, err := svc.Create(ctx, registry.CreateRequest{Code: "gd.shaoguan.wengyuan", Name: "翁源县", Cluster: "second"})
	if err != nil || tn.Cluster != "second" {
		t.Fatalf("create on a named cluster: %+v, %v", tn, err)
	}
	var onSecond []string
	if err := server2.Select(&onSecond, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ? ORDER BY 1", db.SchemaPrefix+"%"); err != nil {
		t.Fatal(err)
	}
	want := []string{db.SchemaPrefix + "gd_shaoguan_nanxiong", db.SchemaPrefix + "gd_shaoguan_ruyuan", db.SchemaPrefix + "gd_shaoguan_wengyuan"}
	if !slices.Equal(onSecond, want) {
		t.Errorf("schemas on the second server: %v, want %v", onSecond, want)
	}
	if onFirst := db.Schemas(t); len(onFirst) != 2 {
		t.Errorf("schemas on the first server: %v", onFirst)
	}
	before := len(db.Schemas(t))
	for _, bad := range []registry.CreateRequest{
		{Code: "gd.shaoguan.xinfeng", Name: "新丰县", Cluster: "third"},
		{Code: "gx", Name: "广西", Cluster: "second"},
	} {
		if _, err := svc.Create(ctx, bad); errs.CodeOf(err) != registry.CodeUnknownCluster {
			t.Errorf("create %+v: %v", bad, err)
		}
	}
	if _, err := svc.Get(ctx, "gd.shaoguan.xinfeng"); errs.CodeOf(err) != registry.CodeTenantNotFound || len(db.Schemas(t)) != before {
		t.Errorf("a refused placement left something behind: %v", err)
	}
}

// TestRouterFollowsThePlacement writes through the router into counties on
// both clusters and finds each row on the server the registry placed it on.
func TestRouterFollowsThePlacement(t *testing.T) {
	t.Parallel()
	db, svc, router, server2 := twoClusters(t)
	ctx := context.Background()
	createShaoguan(t, svc)
	a := mustCreate(t, svc, "gd.shaoguan.lechang", "乐昌市")
	b := mustCreate(t, svc, "gd.shaoguan.nanxiong", "南雄市")
	for _, tn := range []registry.Tenant{a, b} {
		err := router.InTenant(ctx, tn.Code, func(ctx context.Context, conn *sqlx.Conn) error {
			_, err := conn.ExecContext(ctx, "INSERT INTO settings (name, value, updated_at) VALUES ('marker', ?, NOW())", tn.Code)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := db.Server.Get(&got, "SELECT value FROM `"+a.Schema+"`.settings WHERE name = 'marker'"); err != nil || got != a.Code {
		t.Errorf("first server: %q, %v", got, err)
	}
	if err := server2.Get(&got, "SELECT value FROM `"+b.Schema+"`.settings WHERE name = 'marker'"); err != nil || got != b.Code {
		t.Errorf("second server: %q, %v", got, err)
	}

	if _, err := svc.Update(ctx, a.Code, registry.Patch{Status: ptr("suspended")}); err != nil {
		t.Fatal(err)
	}
	none := func(context.Context, *sqlx.Conn) error {
		t.Error("reached the data of a county that cannot be served")
		return nil
	}
	for code, want := range map[string]string{
		a.Code:                registry.CodeTenantNotReady,
		"gd.shaoguan":         registry.CodeNotACounty,
		"gd.shaoguan.nowhere": registry.CodeTenantNotFound,
		"gd.shaoguan.`x`":     registry.CodeInvalidCode,
	} {
		if err := router.InTenant(ctx, code, none); errs.CodeOf(err) != want {
			t.Errorf("InTenant(%s) = %v, want %s", code, err, want)
		}
	}
}
