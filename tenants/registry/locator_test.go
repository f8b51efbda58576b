package registry_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/store/storetest"
	"github.com/countycloud/countycloud/tenants/registry"
)

// countingSource counts the tenant reads a Locator makes.
type countingSource struct {
	*registry.MySQLRepository
	gets atomic.Int64
}

func (c *countingSource) Get(ctx context.Context, code string) (registry.Tenant, error) {
	c.gets.Add(1)
	return c.MySQLRepository.Get(ctx, code)
}

// TestLocatorRemembersUntilTheRegistryChanges: repeated lookups read the
// control plane once; a change to a tenant reaches the locator within its
// interval.
func TestLocatorRemembersUntilTheRegistryChanges(t *testing.T) {
	t.Parallel()
	db := storetest.New(t)
	svc := newService(db, store.TenantMigrations())
	createShaoguan(t, svc)
	wy := mustCreate(t, svc, "gd.shaoguan.wengyuan", "翁源县")
	src := &countingSource{MySQLRepository: registry.NewMySQLRepository(db.Control)}
	const interval = 50 * time.Millisecond
	loc := registry.NewLocator(src, interval)
	ctx := context.Background()
	for range 100 {
		if l, err := loc.Locate(ctx, wy.Code); err != nil || l.Schema != wy.Schema {
			t.Fatalf("locate = %+v, %v", l, err)
		}
	}
	if n := src.gets.Load(); n != 1 {
		t.Errorf("%d reads of the tenant for 100 lookups, want 1", n)
	}
	if _, err := svc.Update(ctx, wy.Code, registry.Patch{Status: ptr("suspended")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the suspension to reach the locator", func() bool {
		_, err := loc.Locate(ctx, wy.Code)
		return errs.CodeOf(err) == registry.CodeTenantNotReady
	})
}
