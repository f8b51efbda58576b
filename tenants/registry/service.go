package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Service manages the tenants of the platform.
type Service interface {
	Create(ctx context.Context, req CreateRequest) (Tenant, error)
	Get(ctx context.Context, code string) (Tenant, error)
	List(ctx context.Context, req ListRequest) (Page, error)
	Update(ctx context.Context, code string, p Patch) (Tenant, error)
	// Retry finishes the provisioning of a county that failed or was
	// interrupted.
	Retry(ctx context.Context, code string) (Tenant, error)
	// Hold makes a county read-only for billing: from the locator's next
	// look (every replica, within LocatorInterval) its writes are refused
	// with billing_suspended; reads, public routes and the platform's jobs
	// go on and nothing is deleted. A county held already stays held as it
	// was, since when it was first held and for its first reason.
	Hold(ctx context.Context, code, reason string) (Tenant, error)
	// Unhold lifts the hold, restoring the county's writes within the
	// same interval; a county not held is left as it is.
	Unhold(ctx context.Context, code string) (Tenant, error)
}

// CreateRequest asks for a new tenant. Level may be empty: the code's depth
// implies it. Cluster places a county; empty means the cluster holding the
// fewest counties.
type CreateRequest struct {
	Code    string `json:"code"`
	Name    string `json:"name"`
	Level   string `json:"level,omitempty"`
	Cluster string `json:"cluster,omitempty"`
}

// ListRequest filters and pages the list of tenants, ordered by code.
type ListRequest struct {
	Parent string
	Status string
	Level  string
	Cursor string
	Limit  int
}

// Page is one page of tenants; NextCursor is empty on the last page.
type Page struct {
	Tenants    []Tenant `json:"tenants"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// Patch changes a tenant; nil fields stay as they are.
type Patch struct {
	Name   *string `json:"name,omitempty"`
	Status *string `json:"status,omitempty"`
}

// Page sizes of List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Filter is what the repository lists by.
type Filter struct {
	Parent string
	Status Status
	Level  Level
	After  string
	Limit  int
}

// ErrNotFound is returned by a Repository for a code it does not hold.
var ErrNotFound = errors.New("tenant not found")

// ErrDuplicate is returned by a Repository inserting a code it holds.
var ErrDuplicate = errors.New("tenant exists")

// Neighbours is what a change sees around the tenant it changes, read in
// the change's transaction with the parent's row locked: archiving a parent
// and creating or restoring one of its children cannot interleave.
type Neighbours struct {
	// Parent is nil for a province.
	Parent *Tenant
	// ActiveChildren counts the tenants under it that are not archived.
	ActiveChildren int
}

// Repository stores tenants.
type Repository interface {
	// Insert stores t once check has approved its parent (nil if there is
	// none), with the parent's row locked meanwhile.
	Insert(ctx context.Context, t Tenant, check func(parent *Tenant) error) error
	Get(ctx context.Context, code string) (Tenant, error)
	List(ctx context.Context, f Filter) ([]Tenant, error)
	// Update applies change to the stored tenant under row locks on it and
	// its parent, and stores the result, recorded in the province's trail
	// as action; an error from change aborts it.
	Update(ctx context.Context, code, action string, change func(t *Tenant, n Neighbours) error) (Tenant, error)
	// CountiesPerCluster counts the counties placed on each cluster.
	CountiesPerCluster(ctx context.Context) (map[string]int, error)
}

// Locker takes locks that every replica shares (store.Locker).
type Locker interface {
	Lock(ctx context.Context, name string, wait time.Duration) (release func(), err error)
}

// Provisioner creates a county's schema, migrates and seeds it, and
// returns the schema version reached. It must be idempotent: it is run
// again, from the start, after any failure or crash.
type Provisioner interface {
	Provision(ctx context.Context, t Tenant) (schemaVersion int64, err error)
}

// Options configure the service.
type Options struct {
	// SchemaPrefix starts every county's schema name.
	SchemaPrefix string
	// Clusters are where counties may be placed; on a tie in the number of
	// counties, the earlier wins.
	Clusters []string
}

type service struct {
	repo        Repository
	locks       Locker
	provisioner Provisioner
	opts        Options
	log         *slog.Logger
}

// NewService returns the registry service.
func NewService(repo Repository, locks Locker, p Provisioner, opts Options, log *slog.Logger) Service {
	return &service{repo: repo, locks: locks, provisioner: p, opts: opts, log: log}
}

// LockName is the lock held while a county's schema is created or
// migrated, by every replica and every migration run.
func LockName(code string) string { return "tenant:" + code }

// createLockWait is how long a create waits for a concurrent create of the
// same code, so that the second one learns the county exists rather than
// that it is busy.
const createLockWait = 5 * time.Second

// recordTimeout bounds writing a provisioning's outcome, which must not
// depend on the (perhaps cancelled) context of the provisioning itself.
const recordTimeout = 30 * time.Second

func (s *service) Create(ctx context.Context, req CreateRequest) (Tenant, error) {
	code, err := ParseCode(req.Code)
	if err != nil {
		return Tenant{}, err
	}
	name, err := ParseName(req.Name)
	if err != nil {
		return Tenant{}, err
	}
	level, err := resolveLevel(code, req.Level)
	if err != nil {
		return Tenant{}, err
	}
	if req.Cluster != "" && (level != LevelCounty || !slices.Contains(s.opts.Clusters, req.Cluster)) {
		return Tenant{}, errs.Invalid(CodeUnknownCluster, "cluster %q: counties can be placed on %s", req.Cluster, strings.Join(s.opts.Clusters, ", "))
	}
	release, err := s.lock(ctx, code, createLockWait)
	if err != nil {
		return Tenant{}, err
	}
	defer release()

	now := time.Now().UTC().Truncate(time.Microsecond)
	t := Tenant{Code: code, Name: name, Level: level, Parent: parentCode(code), Status: StatusReady, CreatedAt: now, UpdatedAt: now}
	if level == LevelCounty {
		t.Status = StatusProvisioning
		t.Schema = SchemaName(s.opts.SchemaPrefix, code)
		if t.Cluster, err = s.place(ctx, req.Cluster); err != nil {
			return Tenant{}, err
		}
	}
	if err := s.insertUnderParent(ctx, t); err != nil {
		return Tenant{}, err
	}
	if level != LevelCounty {
		return t, nil
	}
	return s.provision(ctx, t)
}

// place picks the cluster for a new county: the one asked for, else the
// one holding the fewest counties. Concurrent creates may pick the same
// one; the balance is kept over time, not per instant.
func (s *service) place(ctx context.Context, asked string) (string, error) {
	if asked != "" {
		return asked, nil
	}
	counts, err := s.repo.CountiesPerCluster(ctx)
	if err != nil {
		return "", err
	}
	best := s.opts.Clusters[0]
	for _, c := range s.opts.Clusters[1:] {
		if counts[c] < counts[best] {
			best = c
		}
	}
	return best, nil
}

// insertUnderParent inserts t once its parent is found fit.
func (s *service) insertUnderParent(ctx context.Context, t Tenant) error {
	err := s.repo.Insert(ctx, t, func(parent *Tenant) error { return checkParent(t, parent) })
	if errors.Is(err, ErrDuplicate) {
		return errs.Conflict(CodeTenantExists, "tenant %s exists already", t.Code)
	}
	return err
}

// checkParent says whether parent (nil if it does not exist) may hold t.
func checkParent(t Tenant, parent *Tenant) error {
	if t.Parent == "" {
		return nil
	}
	if parent == nil {
		return errs.Invalid(CodeUnknownParent, "parent %s of %s does not exist; create it first", t.Parent, t.Code)
	}
	if want := parentLevel(t.Level, t.Code); parent.Level != want {
		return errs.Invalid(CodeInvalidParent, "%s is a %s, but the parent of the %s %s must be a %s", parent.Code, parent.Level, t.Level, t.Code, want)
	}
	if parent.Status == StatusArchived {
		return errs.Invalid(CodeParentArchived, "parent %s is archived", parent.Code)
	}
	return nil
}

func (s *service) lock(ctx context.Context, code string, wait time.Duration) (func(), error) {
	release, err := s.locks.Lock(ctx, LockName(code), wait)
	if errors.Is(err, store.ErrLocked) {
		return nil, errs.Conflict(CodeProvisioningBusy, "%s is being provisioned by another request; try again shortly", code)
	}
	return release, err
}

// provision runs the provisioner for t, which is in StatusProvisioning,
// and records the outcome. The outcome is recorded even when ctx was
// cancelled, so an interrupted county shows as failed, with the reason.
func (s *service) provision(ctx context.Context, t Tenant) (Tenant, error) {
	s.log.InfoContext(ctx, "provisioning county", "tenant", t.Code, "schema", t.Schema, "cluster", t.Cluster)
	start := time.Now()
	version, err := s.provisioner.Provision(ctx, t)
	record, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err != nil {
		reason := err.Error()
		if ctx.Err() != nil {
			reason = "interrupted: " + reason
		}
		s.log.ErrorContext(ctx, "provisioning failed", "tenant", t.Code, "err", reason)
		return s.repo.Update(record, t.Code, "tenant.provision_failed", func(t *Tenant, _ Neighbours) error {
			t.Status = StatusFailed
			t.Failure = truncate(reason, 1000)
			return nil
		})
	}
	s.log.InfoContext(ctx, "county ready", "tenant", t.Code, "schema_version", version, "duration_ms", time.Since(start).Milliseconds())
	return s.repo.Update(record, t.Code, "tenant.provisioned", func(t *Tenant, _ Neighbours) error {
		t.Status = StatusReady
		t.Failure = ""
		t.SchemaVersion = version
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut]
}

func (s *service) Get(ctx context.Context, code string) (Tenant, error) {
	if _, err := ParseCode(code); err != nil {
		return Tenant{}, err
	}
	t, err := s.repo.Get(ctx, code)
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
	}
	return t, err
}

func (s *service) List(ctx context.Context, req ListRequest) (Page, error) {
	f := Filter{Parent: req.Parent, Status: Status(req.Status), Level: Level(req.Level), Limit: req.Limit}
	bad := func(format string, args ...any) (Page, error) {
		return Page{}, errs.Invalid(CodeInvalidListRequest, format, args...)
	}
	if f.Parent != "" {
		if _, err := ParseCode(f.Parent); err != nil {
			return Page{}, err
		}
	}
	switch f.Status {
	case "", StatusProvisioning, StatusReady, StatusFailed, StatusSuspended, StatusArchived:
	default:
		return bad("status %q is not one of provisioning, ready, failed, suspended, archived", f.Status)
	}
	switch f.Level {
	case "", LevelProvince, LevelCity, LevelCounty:
	default:
		return bad("level %q is not one of province, city, county", f.Level)
	}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultPageSize
	case f.Limit < 0 || f.Limit > MaxPageSize:
		return bad("limit %d is not between 1 and %d", f.Limit, MaxPageSize)
	}
	if req.Cursor != "" {
		after, err := base64.RawURLEncoding.DecodeString(req.Cursor)
		if err != nil {
			return bad("cursor is not one this API returned")
		}
		if _, err := ParseCode(string(after)); err != nil {
			return bad("cursor is not one this API returned")
		}
		f.After = string(after)
	}
	wanted := f.Limit
	f.Limit++ // one more tells whether there is a next page
	tenants, err := s.repo.List(ctx, f)
	if err != nil {
		return Page{}, err
	}
	page := Page{Tenants: tenants}
	if len(tenants) > wanted {
		page.Tenants = tenants[:wanted]
		page.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(tenants[wanted-1].Code))
	}
	return page, nil
}

func (s *service) Update(ctx context.Context, code string, p Patch) (Tenant, error) {
	if _, err := ParseCode(code); err != nil {
		return Tenant{}, err
	}
	var name string
	if p.Name != nil {
		n, err := ParseName(*p.Name)
		if err != nil {
			return Tenant{}, err
		}
		name = n
	}
	if p.Status != nil && !settableStatuses[Status(*p.Status)] {
		return Tenant{}, errStatusNotSettable(Status(*p.Status))
	}
	t, err := s.repo.Update(ctx, code, "tenant.update", func(t *Tenant, n Neighbours) error {
		if p.Name != nil {
			t.Name = name
		}
		if p.Status == nil || Status(*p.Status) == t.Status {
			return nil
		}
		to := Status(*p.Status)
		if err := checkTransition(*t, to); err != nil {
			return err
		}
		if err := checkNeighbours(*t, to, n); err != nil {
			return err
		}
		t.Status = to
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
	}
	return t, err
}

// checkNeighbours keeps the hierarchy consistent: no active tenant under an
// archived one.
func checkNeighbours(t Tenant, to Status, n Neighbours) error {
	if to == StatusArchived && n.ActiveChildren > 0 {
		return errs.Conflict(CodeHasActiveChildren, "%s has %d tenants under it that are not archived; archive them first", t.Code, n.ActiveChildren)
	}
	if t.Status == StatusArchived && n.Parent != nil && n.Parent.Status == StatusArchived {
		return errs.Conflict(CodeParentArchived, "parent %s is archived; restore it first", t.Parent)
	}
	return nil
}

func (s *service) Retry(ctx context.Context, code string) (Tenant, error) {
	if _, err := ParseCode(code); err != nil {
		return Tenant{}, err
	}
	release, err := s.lock(ctx, code, 0)
	if err != nil {
		return Tenant{}, err
	}
	defer release()
	t, err := s.repo.Update(ctx, code, "tenant.retry", func(t *Tenant, n Neighbours) error {
		if !retryable(*t) {
			return errs.Conflict(CodeNotRetryable, "%s is %s; only a county that failed, was interrupted, or was archived before it was provisioned can be retried", t.Code, t.Status)
		}
		if err := checkNeighbours(*t, StatusProvisioning, n); err != nil {
			return err
		}
		t.Status = StatusProvisioning
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
	}
	if err != nil {
		return Tenant{}, err
	}
	return s.provision(ctx, t)
}

func (s *service) Hold(ctx context.Context, code, reason string) (Tenant, error) {
	if _, err := ParseCode(code); err != nil {
		return Tenant{}, err
	}
	reason, err := ParseHoldReason(reason)
	if err != nil {
		return Tenant{}, err
	}
	return s.changeHold(ctx, code, "tenant.hold", func(t *Tenant) {
		if t.HeldSince != nil {
			return
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		t.HeldSince, t.HoldReason = &now, reason
	})
}

func (s *service) Unhold(ctx context.Context, code string) (Tenant, error) {
	if _, err := ParseCode(code); err != nil {
		return Tenant{}, err
	}
	return s.changeHold(ctx, code, "tenant.unhold", func(t *Tenant) {
		t.HeldSince, t.HoldReason = nil, ""
	})
}

// changeHold applies change to a county's hold, recorded in the
// province's trail as action when it changes anything.
func (s *service) changeHold(ctx context.Context, code, action string, change func(t *Tenant)) (Tenant, error) {
	t, err := s.repo.Update(ctx, code, action, func(t *Tenant, _ Neighbours) error {
		if t.Level != LevelCounty {
			return errs.Invalid(CodeNotACounty, "%s is a %s; only a county is held, each county of an account on its own", code, t.Level)
		}
		change(t)
		return nil
	})
	if errors.Is(err, ErrNotFound) {
		return Tenant{}, errs.NotFound(CodeTenantNotFound, "tenant %s does not exist", code)
	}
	return t, err
}

// Resume finishes every county a crash left in provisioning. Counties that
// another replica is provisioning right now are skipped; one that cannot be
// finished does not stop the others. It returns how many it finished.
func Resume(ctx context.Context, svc Service, log *slog.Logger) (int, error) {
	resumed := 0
	var failures []error
	cursor := ""
	for {
		page, err := svc.List(ctx, ListRequest{Status: string(StatusProvisioning), Cursor: cursor, Limit: MaxPageSize})
		if err != nil {
			return resumed, errors.Join(append(failures, err)...)
		}
		for _, t := range page.Tenants {
			_, err := svc.Retry(ctx, t.Code)
			switch {
			case errs.CodeOf(err) == CodeProvisioningBusy:
				continue
			case err != nil:
				failures = append(failures, fmt.Errorf("resume %s: %w", t.Code, err))
				continue
			}
			log.InfoContext(ctx, "resumed interrupted provisioning", "tenant", t.Code)
			resumed++
		}
		if page.NextCursor == "" {
			return resumed, errors.Join(failures...)
		}
		cursor = page.NextCursor
	}
}
