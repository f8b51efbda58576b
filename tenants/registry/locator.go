package registry

import (
	"context"
	"errors"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Error codes of the data plane's way to a county.
const (
	CodeNotACounty     = "not_a_county"
	CodeTenantNotReady = "tenant_not_ready"
)

// Locator tells the router where a county's data lives, and refuses
// tenants whose data cannot be served.
type Locator struct {
	repo Repository
}

// NewLocator returns a locator reading the registry.
func NewLocator(repo Repository) *Locator { return &Locator{repo: repo} }

// Locate returns the cluster and schema of a ready county.
func (l *Locator) Locate(ctx context.Context, code string) (store.Location, error) {
	if _, err := ParseCode(code); err != nil {
		return store.Location{}, err
	}
	t, err := l.repo.Get(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return store.Location{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
	}
	if err != nil {
		return store.Location{}, err
	}
	if t.Level != LevelCounty {
		return store.Location{}, errs.Invalid(CodeNotACounty, "%s is a %s; only counties hold data of their own", code, t.Level)
	}
	if t.Status != StatusReady {
		return store.Location{}, errs.Conflict(CodeTenantNotReady, "%s is %s; its data is served only while it is ready", code, t.Status)
	}
	return store.Location{Cluster: t.Cluster, Schema: t.Schema}, nil
}
