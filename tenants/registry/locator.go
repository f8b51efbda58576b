package registry

import (
	"context"
	"errors"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// Error codes of the data plane's way to a county.
const (
	CodeNotACounty     = "not_a_county"
	CodeTenantNotReady = "tenant_not_ready"
)

// Locator tells the router where a county's data lives, and refuses
// tenants whose data cannot be served.
type Locator struct {
	repo  Repository
	cache *ttlcache.Cache[string, Tenant]
}

// LocatorTTL is how long the server trusts a county's location and status
// once read: a request to a county's data then costs no read of the
// control plane, and a status change (suspending a county, say) reaches
// the data plane within this time.
const LocatorTTL = 2 * time.Second

// NewLocator returns a locator reading the registry and trusting what it
// read for ttl (zero: it reads every time).
func NewLocator(repo Repository, ttl time.Duration) *Locator {
	return &Locator{repo: repo, cache: ttlcache.New[string, Tenant](ttl, 100000)}
}

// Locate returns the cluster and schema of a ready county.
func (l *Locator) Locate(ctx context.Context, code string) (store.Location, error) {
	if _, err := ParseCode(code); err != nil {
		return store.Location{}, err
	}
	t, ok := l.cache.Get(code)
	if !ok {
		var err error
		t, err = l.repo.Get(ctx, code)
		if errors.Is(err, ErrNotFound) {
			return store.Location{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
		}
		if err != nil {
			return store.Location{}, err
		}
		l.cache.Put(code, t)
	}
	if t.Level != LevelCounty {
		return store.Location{}, errs.Invalid(CodeNotACounty, "%s is a %s; only counties hold data of their own", code, t.Level)
	}
	if t.Status != StatusReady {
		return store.Location{}, errs.Conflict(CodeTenantNotReady, "%s is %s; its data is served only while it is ready", code, t.Status)
	}
	return store.Location{Cluster: t.Cluster, Schema: t.Schema}, nil
}
