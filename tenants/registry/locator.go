package registry

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
	"github.com/countycloud/countycloud/core/workday"
)

// Error codes of the data plane's way to a county.
const (
	CodeNotACounty     = "not_a_county"
	CodeTenantNotReady = "tenant_not_ready"
)

// LocatorSource is what the Locator reads: tenants, and the counter every
// change to a tenant bumps.
type LocatorSource interface {
	Get(ctx context.Context, code string) (Tenant, error)
	Epoch(ctx context.Context) (int64, error)
}

// Locator tells the router where a county's data lives, and refuses
// tenants whose data cannot be served. It remembers the tenants it read
// for as long as the registry's epoch stays the same, and looks at the
// epoch at most once per check interval: a request to a county's data
// then costs no read of the control plane, however many counties are
// served, and a change to any tenant (suspending a county, say) reaches
// the data plane of every replica within the interval.
type Locator struct {
	src      LocatorSource
	interval time.Duration

	mu      sync.Mutex
	epoch   int64
	checked time.Time
	known   map[string]Tenant
}

// LocatorInterval is how often the server's Locator looks at the epoch.
const LocatorInterval = time.Second

// NewLocator returns a locator reading src, looking at its epoch at most
// once per interval (zero: it reads the tenant every time).
func NewLocator(src LocatorSource, interval time.Duration) *Locator {
	return &Locator{src: src, interval: interval, known: map[string]Tenant{}}
}

// Locate returns the cluster and schema of a ready county.
func (l *Locator) Locate(ctx context.Context, code string) (store.Location, error) {
	if _, err := ParseCode(code); err != nil {
		return store.Location{}, err
	}
	t, err := l.tenant(ctx, code)
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

// Writable refuses, with billing_suspended, a write to a county whose
// writes are held for billing (Service.Hold). Like Locate it asks what
// the locator keeps, so a hold set or lifted on any replica applies here
// within the interval, and a request that checks it reads nothing more.
// Whatever else is wrong with code (no such county, not served) is left
// for the route itself to answer, as it would without a hold.
func (l *Locator) Writable(ctx context.Context, code string) error {
	if _, err := ParseCode(code); err != nil {
		return nil
	}
	t, err := l.tenant(ctx, code)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil
	case err != nil:
		return err
	case t.HeldSince == nil:
		return nil
	}
	since := t.HeldSince.In(workday.China()).Format("2006-01-02 15:04")
	return &errs.Error{Kind: errs.KindConflict, Code: CodeBillingSuspended,
		Message: fmt.Sprintf("%s因账户欠费自%s起暂停办理：数据可照常查看，不能新增或修改；缴费到账后即恢复。"+
			"%s is read-only since %s (China time): its billing account is past due. Its data can be read but not changed until payment arrives.",
			t.Name, since, code, since),
		Details: map[string]any{"tenant": code, "held_since": t.HeldSince}}
}

func (l *Locator) tenant(ctx context.Context, code string) (Tenant, error) {
	if l.interval == 0 {
		return l.src.Get(ctx, code)
	}
	epoch, err := l.currentEpoch(ctx)
	if err != nil {
		return Tenant{}, err
	}
	l.mu.Lock()
	t, ok := l.known[code]
	l.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err = l.src.Get(ctx, code)
	if err != nil {
		return Tenant{}, err
	}
	l.mu.Lock()
	if l.epoch == epoch {
		l.known[code] = t
	}
	l.mu.Unlock()
	return t, nil
}

// currentEpoch returns the registry's epoch, reading it when the last
// reading is older than the interval; a new epoch forgets every tenant.
func (l *Locator) currentEpoch(ctx context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.checked) < l.interval {
		return l.epoch, nil
	}
	epoch, err := l.src.Epoch(ctx)
	if err != nil {
		return 0, err
	}
	if epoch != l.epoch {
		clear(l.known)
		l.epoch = epoch
	}
	l.checked = time.Now()
	return epoch, nil
}
