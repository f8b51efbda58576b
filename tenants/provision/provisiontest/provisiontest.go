// Package provisiontest gives tests a registry that provisions counties on
// storetest's schemas as the platform does, and a router to reach them.
package provisiontest

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/provision"
	"github.com/countycloud/countycloud/tenants/registry"
)

// Registry returns the registry of db's control plane, provisioning on
// its default cluster, holding the province gd and the city gd.shaoguan
// and then each of counties (codes under gd.shaoguan, say), created in
// order.
func Registry(t testing.TB, db *storetest.DB, counties ...registry.CreateRequest) registry.Service {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := registry.NewService(registry.NewMySQLRepository(db.Control), db.Locker,
		provision.New(store.Clusters{"default": db.Cluster}, store.TenantMigrations(), quiet),
		registry.Options{SchemaPrefix: db.SchemaPrefix, Clusters: []string{"default"}}, quiet)
	for _, c := range append([]registry.CreateRequest{{Code: "gd", Name: "广东省"}, {Code: "gd.shaoguan", Name: "韶关市"}}, counties...) {
		if _, err := reg.Create(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// Router reaches the counties of db's registry, looking at its epoch at
// most once per interval (zero: on every call, for tests that create
// counties as they go).
func Router(db *storetest.DB, interval time.Duration) *store.Router {
	return store.NewRouter(store.Clusters{"default": db.Cluster}, registry.NewLocator(registry.NewMySQLRepository(db.Control), interval))
}
