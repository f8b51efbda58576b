package host

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/ttlcache"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// moduleCacheTTL bounds how long another replica's change to a county's
// modules takes to reach this one; a change made here applies at once.
const moduleCacheTTL = 2 * time.Second

// Service is the plugin catalog, the counties' modules, and the way of a
// module request to its plugin.
type Service struct {
	repo     Repository
	tenants  Tenants
	manager  *Manager
	dir      string
	builtins map[string]Binary
	now      func() time.Time

	modules *ttlcache.Cache[[2]string, Module]
	entries *ttlcache.Cache[[2]string, Entry]
}

// NewService returns the catalog over repo. Registered binaries are
// files in dir; builtins are the modules the platform's own binary
// serves, by id.
func NewService(repo Repository, tenants Tenants, deps Deps, opts ManagerOptions, dir string, builtins map[string]Binary) *Service {
	s := &Service{repo: repo, tenants: tenants, dir: dir, builtins: builtins, now: deps.Now,
		modules: ttlcache.New[[2]string, Module](moduleCacheTTL, 100_000),
		entries: ttlcache.New[[2]string, Entry](time.Hour, 10_000)}
	s.manager = NewManager(deps, opts, s.binary)
	return s
}

// Manager is the service's process manager, for Run and Statuses.
func (s *Service) Manager() *Manager { return s.manager }

// binary is how to launch e: a built-in through the platform's binary, a
// vendor's plugin from the plugin directory with its registered SHA-256.
func (s *Service) binary(e Entry) (Binary, error) {
	if e.Builtin {
		b, ok := s.builtins[e.ID]
		if !ok {
			return Binary{}, errs.Unavailable(nil, CodeModuleUnavailable, "this build of the platform has no built-in module %s", e.ID)
		}
		b.Manifest = e.Manifest
		return b, nil
	}
	path, err := pluginPath(s.dir, e.File)
	if err != nil {
		return Binary{}, err
	}
	sum, err := ParseSHA256(e.SHA256)
	if err != nil {
		return Binary{}, err
	}
	return Binary{Path: path, SHA256: sum, Manifest: e.Manifest}, nil
}

// Register adds the plugin in file to the catalog: its SHA-256 must be the
// one given, and the process must start, speak this host's protocol and
// report a valid manifest whose version is not registered yet. The first
// registration of an id binds it to its vendor; another vendor's binary
// under it is refused.
func (s *Service) Register(ctx context.Context, by string, in RegisterInput) (Entry, error) {
	path, err := pluginPath(s.dir, in.File)
	if err != nil {
		return Entry{}, err
	}
	sum, err := ParseSHA256(in.SHA256)
	if err != nil {
		return Entry{}, err
	}
	isolation, err := ParseIsolation(in.Isolation)
	if err != nil {
		return Entry{}, err
	}
	m, err := Probe(ctx, Binary{Path: path, SHA256: sum}, s.manager.deps)
	if err != nil {
		return Entry{}, err
	}
	if _, ok := s.builtins[m.ID]; ok {
		return Entry{}, errs.Conflict(CodePluginExists, "%s is the id of a built-in module", m.ID)
	}
	if reservedID(m.ID) {
		return Entry{}, errs.Invalid(CodeInvalidPlugin, "id %s is the platform's own: its audit actions and workflows would pass for the platform's", m.ID)
	}
	vendor, err := vendorOf(m, in.Vendor)
	if err != nil {
		return Entry{}, err
	}
	if err := s.claimID(ctx, m, vendor, by); err != nil {
		return Entry{}, err
	}
	e := Entry{ID: m.ID, Version: m.Version, SHA256: hex.EncodeToString(sum), File: in.File, Manifest: m, Isolation: isolation, At: s.now().UTC(), By: by}
	return e, s.repo.Add(ctx, e)
}

// Probe starts b, reads and checks its manifest, and stops it.
func Probe(ctx context.Context, b Binary, deps Deps) (sdk.Manifest, error) {
	p, err := Launch(ctx, b, deps)
	if err != nil {
		return sdk.Manifest{}, asCatalogError(err)
	}
	defer p.Close()
	m := p.Manifest()
	if _, err := CompileSettings(m); err != nil {
		return sdk.Manifest{}, errs.Invalid(CodeInvalidPlugin, "%s %s: %v", m.ID, m.Version, err)
	}
	if err := checkNames(m); err != nil {
		return sdk.Manifest{}, err
	}
	if err := checkVersion(m); err != nil {
		return sdk.Manifest{}, err
	}
	return m, nil
}

// maxManifestName bounds a module's name and its vendor's.
const maxManifestName = 64

// checkNames holds a module's name and vendor, which county admins see,
// to the platform's rule for names (names.Clean: nothing invisible, no
// reordering). The SDK cannot: it imports nothing of the platform.
func checkNames(m sdk.Manifest) error {
	for _, n := range []struct{ what, name string }{{"name", m.Name}, {"vendor", m.Vendor}} {
		if _, err := names.Clean(n.what, n.name, maxManifestName); err != nil {
			return errs.Invalid(CodeInvalidPlugin, "%s %s: %v", m.ID, m.Version, err)
		}
	}
	return nil
}

// RegisterBuiltins enters the built-in modules' current versions in the
// catalog, each once. Their manifests are compiled into the platform's
// binary, so none is launched for it: the first request starts each, and
// Launch checks then that it reports the same manifest.
func (s *Service) RegisterBuiltins(ctx context.Context) error {
	for id, b := range s.builtins {
		m := b.Manifest
		if m.ID != id {
			return errs.E(errs.KindInternal, CodeInvalidPlugin, "built-in module %s says it is %s", id, m.ID)
		}
		if err := m.Validate(); err != nil {
			return fmt.Errorf("built-in module %s: %w", id, err)
		}
		if err := checkNames(m); err != nil {
			return fmt.Errorf("built-in module %s: %w", id, err)
		}
		if err := checkManifestLimits(m); err != nil {
			return fmt.Errorf("built-in module %s: %w", id, err)
		}
		if _, err := CompileSettings(m); err != nil {
			return fmt.Errorf("built-in module %s: %w", id, err)
		}
		if err := s.claimID(ctx, m, m.Vendor, "platform"); err != nil {
			return fmt.Errorf("built-in module %s: %w", id, err)
		}
		err := s.repo.Add(ctx, Entry{ID: m.ID, Version: m.Version, SHA256: hex.EncodeToString(b.SHA256), File: "(built in)", Builtin: true,
			Manifest: m, Isolation: IsolationShared, At: s.now().UTC(), By: "platform"})
		if err != nil && errs.CodeOf(err) != CodePluginExists {
			return err
		}
	}
	return nil
}

// Entries lists the catalog.
func (s *Service) Entries(ctx context.Context) ([]Entry, error) { return s.repo.Entries(ctx) }

// Enable has tenant run plugin at in.Version (if empty, the newest of
// the vendor that owns the id, in semantic-version order) with
// in.Settings, which the manifest's schema must accept. Switching a
// county to another version is an upgrade without downtime: requests in
// flight finish on the old process, new ones go to the new.
func (s *Service) Enable(ctx context.Context, tenant, plugin, by string, in EnableInput) (Module, error) {
	if err := s.tenants.Ready(ctx, tenant); err != nil {
		return Module{}, err
	}
	owner, err := s.repo.Namespace(ctx, plugin)
	switch {
	case errs.CodeOf(err) == CodePluginNotFound, err == nil && owner.Owner != OwnerPlugin:
		return Module{}, errs.NotFound(CodePluginNotFound, "no plugin %s is registered", plugin)
	case err != nil:
		return Module{}, err
	}
	var e Entry
	if in.Version == "" {
		all, err := s.repo.Entries(ctx)
		if err != nil {
			return Module{}, err
		}
		newestEntry, ok := newest(all, plugin, owner.Vendor)
		if !ok {
			return Module{}, errs.NotFound(CodePluginNotFound, "no plugin %s of vendor %s is registered", plugin, owner.Vendor)
		}
		e = newestEntry
	} else {
		if e, err = s.repo.Entry(ctx, plugin, in.Version); err != nil {
			return Module{}, err
		}
		if e.Manifest.Vendor != owner.Vendor {
			// Registered before ids were bound to their vendors.
			return Module{}, errs.Conflict(CodePluginIDTaken, "%s %s is from %s, but id %s belongs to vendor %s", plugin, e.Version, e.Manifest.Vendor, plugin, owner.Vendor)
		}
	}
	// The version the county had, enabled or not: its records are
	// indexed for that version's manifest. A county that never enabled
	// the plugin has none, since only its requests write them.
	var before *sdk.Manifest
	prev, err := s.repo.Module(ctx, tenant, plugin)
	switch {
	case err == nil:
		pe, err := s.entry(ctx, plugin, prev.Version)
		if err != nil {
			return Module{}, err
		}
		before = &pe.Manifest
		if len(in.Settings) == 0 || string(in.Settings) == "null" {
			// Moving to another version keeps the county's settings,
			// which the new version's schema must still accept.
			in.Settings = prev.Settings
		}
	case errs.CodeOf(err) != CodeModuleNotEnabled:
		return Module{}, err
	}
	var units map[int64]bool
	if namesUnits(e.Manifest) {
		if units, err = s.unitIDs(ctx, tenant); err != nil {
			return Module{}, err
		}
	}
	settings, err := checkSettings(e.Manifest, in.Settings, units)
	if err != nil {
		return Module{}, err
	}
	// The workflows go in first: a module enabled without them would
	// fail each request that starts one.
	if err := installWorkflows(ctx, s.manager.deps.Workflows, tenant, e.Manifest); err != nil {
		return Module{}, err
	}
	m := Module{Tenant: tenant, Plugin: plugin, Version: e.Version, Enabled: true, Settings: settings, At: s.now().UTC(), By: by}
	if err := s.repo.PutModule(ctx, m); err != nil {
		return Module{}, err
	}
	s.modules.Delete([2]string{tenant, plugin})
	if before != nil {
		// After the switch, so that what the new version writes
		// meanwhile is indexed for it already; and to the end even if
		// the caller gives up, since the switch is made.
		if err := s.reindex(context.WithoutCancel(ctx), tenant, *before, e.Manifest); err != nil {
			return Module{}, fmt.Errorf("county %s runs %s %s, but its records are indexed for it only in part (enabling the version before and then this one again redoes it): %w", tenant, plugin, e.Version, err)
		}
	}
	return m, nil
}

// unitIDs are the ids of the county's units, which settings naming
// units (sdk.FormatUnitID) are checked against.
func (s *Service) unitIDs(ctx context.Context, tenant string) (map[int64]bool, error) {
	var ids []int64
	err := s.manager.deps.Router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return conn.SelectContext(ctx, &ids, "SELECT id FROM units")
	})
	if err != nil {
		return nil, fmt.Errorf("the units of county %s: %w", tenant, err)
	}
	units := make(map[int64]bool, len(ids))
	for _, id := range ids {
		units[id] = true
	}
	return units, nil
}

// reindex brings the county's index of the plugin's records from the
// fields the manifest before declared indexed to those now declares, in
// each collection where they differ.
func (s *Service) reindex(ctx context.Context, tenant string, before, now sdk.Manifest) error {
	was, is := indexed(before), indexed(now)
	collections := append(slices.Collect(maps.Keys(was)), slices.Collect(maps.Keys(is))...)
	slices.Sort(collections)
	for _, c := range slices.Compact(collections) {
		if slices.Equal(fieldSet(was[c]), fieldSet(is[c])) {
			continue
		}
		done, err := reindex(ctx, s.manager.deps.Router, tenant, now.ID, c, is[c])
		if err != nil {
			return fmt.Errorf("reindex collection %s: %w", c, err)
		}
		log := s.manager.deps.Log.With("county", tenant, "plugin", now.ID, "version", now.Version, "collection", c, "records", done.records)
		if done.unindexable > 0 {
			log.WarnContext(ctx, "records reindexed for a new version of the module; the unindexable ones hold, in a field it indexes, what is not a string, number or boolean of at most 255 bytes, and queries on that field miss them",
				"unindexable", done.unindexable, "examples", done.examples)
			continue
		}
		log.InfoContext(ctx, "records reindexed for a new version of the module")
	}
	return nil
}

// fieldSet is fields sorted, once each, for comparing what two
// manifests index.
func fieldSet(fields []string) []string {
	set := slices.Clone(fields)
	slices.Sort(set)
	return slices.Compact(set)
}

// Disable stops serving plugin to tenant, keeping its settings.
func (s *Service) Disable(ctx context.Context, tenant, plugin, by string) (Module, error) {
	m, err := s.repo.Module(ctx, tenant, plugin)
	if err != nil {
		return Module{}, err
	}
	m.Enabled, m.At, m.By = false, s.now().UTC(), by
	if err := s.repo.PutModule(ctx, m); err != nil {
		return Module{}, err
	}
	s.modules.Delete([2]string{tenant, plugin})
	return m, nil
}

// Module is tenant's use of plugin, enabled or not; module_not_enabled
// if it never enabled it.
func (s *Service) Module(ctx context.Context, tenant, plugin string) (Module, error) {
	if err := s.tenants.Ready(ctx, tenant); err != nil {
		return Module{}, err
	}
	return s.repo.Module(ctx, tenant, plugin)
}

// Modules lists what tenant enabled, or once enabled.
func (s *Service) Modules(ctx context.Context, tenant string) ([]Module, error) {
	if err := s.tenants.Ready(ctx, tenant); err != nil {
		return nil, err
	}
	return s.repo.Modules(ctx, tenant)
}

// Serve sends a request of tenant to plugin, if tenant enabled it.
func (s *Service) Serve(ctx context.Context, tenant, plugin string, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	m, err := s.module(ctx, tenant, plugin)
	if err != nil {
		return nil, err
	}
	e, err := s.entry(ctx, plugin, m.Version)
	if err != nil {
		return nil, err
	}
	req.Settings = m.Settings
	return s.manager.Call(ctx, e, tenant, req)
}

func (s *Service) module(ctx context.Context, tenant, plugin string) (Module, error) {
	key := [2]string{tenant, plugin}
	m, ok := s.modules.Get(key)
	if !ok {
		mark := s.modules.Mark()
		var err error
		m, err = s.repo.Module(ctx, tenant, plugin)
		switch {
		case errs.CodeOf(err) == CodeModuleNotEnabled:
			// Remembered too, so that requests to a module a county
			// never enabled do not each cost a query.
			m = Module{Tenant: tenant, Plugin: plugin}
		case err != nil:
			return Module{}, err
		}
		s.modules.PutSince(mark, key, m)
	}
	if !m.Enabled {
		return Module{}, errs.NotFound(CodeModuleNotEnabled, "county %s has not enabled module %s", tenant, plugin)
	}
	return m, nil
}

func (s *Service) entry(ctx context.Context, plugin, version string) (Entry, error) {
	key := [2]string{plugin, version}
	if e, ok := s.entries.Get(key); ok {
		return e, nil
	}
	e, err := s.repo.Entry(ctx, plugin, version)
	if err != nil {
		return Entry{}, err
	}
	s.entries.Put(key, e)
	return e, nil
}
