package host

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// ManagerOptions tune how plugin processes are supervised.
type ManagerOptions struct {
	// MaxCrashes crashes within CrashWindow mark a plugin version failed:
	// its counties get module_unavailable until the window has passed.
	MaxCrashes  int
	CrashWindow time.Duration
	// A crashed process is restarted after BackoffMin, doubling with each
	// crash in the window up to BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// HealthInterval is how often running processes are pinged.
	HealthInterval time.Duration
	// IdleTimeout stops a process no request has used for that long (an
	// old version after its counties moved on, a module little used); the
	// next request starts it again.
	IdleTimeout time.Duration
	// CountyIdleTimeout is the same for a process of a county-isolated
	// plugin, which serves one county and so is idle more often.
	CountyIdleTimeout time.Duration
	// MaxProcesses bounds the plugin processes running at once: starting
	// one more stops the least recently used idle one, and with none
	// idle the request is refused.
	MaxProcesses int
}

// DefaultManagerOptions are the production settings.
func DefaultManagerOptions() ManagerOptions {
	return ManagerOptions{MaxCrashes: 3, CrashWindow: 10 * time.Minute,
		BackoffMin: 250 * time.Millisecond, BackoffMax: 30 * time.Second, HealthInterval: 2 * time.Second, IdleTimeout: 10 * time.Minute,
		CountyIdleTimeout: 2 * time.Minute, MaxProcesses: 32}
}

// Manager runs one process per plugin version, launched when a county
// first needs it, shared by every county that enables that version (or,
// for a county-isolated plugin, one per county and version), and
// restarted when it dies.
type Manager struct {
	deps   Deps
	opts   ManagerOptions
	binary func(Entry) (Binary, error)

	mu    sync.Mutex
	procs map[processKey]*supervised
	// live counts the processes started and not yet stopped, which
	// MaxProcesses bounds.
	live int
}

// processKey names a process: county is empty for a shared one.
type processKey struct{ plugin, version, county string }

// NewManager returns a manager that launches an entry as binary says.
func NewManager(deps Deps, opts ManagerOptions, binary func(Entry) (Binary, error)) *Manager {
	if deps.CountyCalls == nil {
		deps.CountyCalls = NewCountyCalls()
	}
	return &Manager{deps: deps, opts: opts, binary: binary, procs: map[processKey]*supervised{}}
}

// supervised is one process of a plugin version and its crash record.
type supervised struct {
	entry Entry
	// county is the one county the process serves, for a county-isolated
	// plugin; empty for a shared one.
	county string

	mu      sync.Mutex
	proc    *Process
	crashes []time.Time
	failed  bool
	retryAt time.Time
	// inFlight counts the calls under way, and used is when the last one
	// began; idle says the process was stopped for want of use (not
	// crashed), so it waits for a request to start again.
	inFlight int
	used     time.Time
	idle     bool
}

// process is the process of e that serves county.
func (m *Manager) process(e Entry, county string) *supervised {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := processKey{plugin: e.ID, version: e.Version}
	if e.Isolation == IsolationCounty {
		key.county = county
	}
	s, ok := m.procs[key]
	if !ok {
		s = &supervised{entry: e, county: key.county}
		m.procs[key] = s
	}
	return s
}

// Call serves req for county on e's process, launching it if need be.
func (m *Manager) Call(ctx context.Context, e Entry, county string, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	s := m.process(e, county)
	p, err := m.running(ctx, s)
	if err != nil {
		return nil, err
	}
	defer m.done(s)
	resp, err := p.Handle(ctx, county, req)
	switch code := status.Code(err); {
	case err == nil:
		return resp, nil
	case code == codes.ResourceExhausted:
		// gRPC refused an answer over its limit, and reads none of it.
		return nil, errs.Wrap(err, errs.KindBadGateway, CodeModuleAnswerTooLarge, "module %s answered with more than %d bytes; files go through the file store", e.ID, MaxModuleAnswer)
	case code == codes.Unavailable || p.Exited():
		// The connection broke: the process died (or is dying) under
		// the request.
		m.crashed(s, p)
		return nil, errs.Unavailable(err, CodeModuleFailed, "module %s stopped while serving the request; it is being restarted, try again", e.ID)
	case code == codes.DeadlineExceeded && ctx.Err() == nil:
		return nil, errs.Unavailable(err, CodeModuleFailed, "module %s did not answer within %s", e.ID, m.deps.callTimeout())
	}
	return nil, errs.Unavailable(err, CodeModuleFailed, "module %s could not serve the request", e.ID)
}

// done ends a call that running began.
func (m *Manager) done(s *supervised) {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// running begins a call on s's process, starting it unless it is failed
// or waiting out its back-off; done ends the call.
func (m *Manager) running(ctx context.Context, s *supervised) (*Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := m.startLocked(ctx, s)
	if err != nil {
		return nil, err
	}
	s.inFlight++
	s.used = m.deps.Now()
	return p, nil
}

// startLocked returns s's process, starting it unless it is failed or
// waiting out its back-off.
func (m *Manager) startLocked(ctx context.Context, s *supervised) (*Process, error) {
	if s.proc != nil && s.proc.Exited() {
		m.crashedLocked(s)
	}
	if s.proc != nil {
		return s.proc, nil
	}
	now := m.deps.Now()
	if s.failed {
		if now.Before(s.retryAt) {
			return nil, errs.Unavailable(nil, CodeModuleUnavailable, "module %s %s crashed %d times within %s and is stopped until %s",
				s.entry.ID, s.entry.Version, m.opts.MaxCrashes, m.opts.CrashWindow, s.retryAt.Format(time.RFC3339))
		}
		s.failed, s.crashes = false, nil
	}
	if now.Before(s.retryAt) {
		return nil, errs.Unavailable(nil, CodeModuleUnavailable, "module %s is restarting; try again shortly", s.entry.ID)
	}
	b, err := m.binary(s.entry)
	if err != nil {
		return nil, err
	}
	b.County = s.county
	if err := m.reserve(s); err != nil {
		return nil, err
	}
	p, err := Launch(ctx, b, m.deps)
	if err != nil {
		m.released()
		m.deps.Log.ErrorContext(ctx, "plugin did not start", "plugin", s.entry.ID, "version", s.entry.Version, "err", err)
		m.crashedLocked(s)
		return nil, errs.Unavailable(err, CodeModuleUnavailable, "module %s could not be started", s.entry.ID)
	}
	s.proc, s.idle = p, false
	return p, nil
}

// crashed records that p died, unless it was replaced meanwhile.
func (m *Manager) crashed(s *supervised, p *Process) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == p {
		m.crashedLocked(s)
	}
}

func (m *Manager) crashedLocked(s *supervised) {
	m.stopLocked(s)
	now := m.deps.Now()
	kept := s.crashes[:0]
	for _, at := range s.crashes {
		if now.Sub(at) < m.opts.CrashWindow {
			kept = append(kept, at)
		}
	}
	s.crashes = append(kept, now)
	if len(s.crashes) >= m.opts.MaxCrashes {
		s.failed, s.retryAt = true, s.crashes[0].Add(m.opts.CrashWindow)
		m.deps.Log.Error("plugin marked failed", "plugin", s.entry.ID, "version", s.entry.Version, "crashes", len(s.crashes), "until", s.retryAt)
		return
	}
	backoff := m.opts.BackoffMin << (len(s.crashes) - 1)
	if backoff > m.opts.BackoffMax {
		backoff = m.opts.BackoffMax
	}
	s.retryAt = now.Add(backoff)
	m.deps.Log.Warn("plugin crashed; restarting it", "plugin", s.entry.ID, "version", s.entry.Version, "after", backoff)
}

// Run checks the processes every HealthInterval until ctx ends, then
// stops them all: a process that died or does not answer a ping is
// counted as a crash and started again after its back-off.
func (m *Manager) Run(ctx context.Context) {
	tick := time.NewTicker(m.opts.HealthInterval)
	defer tick.Stop()
	defer m.Close()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			m.check(ctx)
		}
	}
}

func (m *Manager) check(ctx context.Context) {
	m.mu.Lock()
	all := make([]*supervised, 0, len(m.procs))
	for _, s := range m.procs {
		all = append(all, s)
	}
	m.mu.Unlock()
	for _, s := range all {
		if m.stopIfIdle(s) {
			continue
		}
		s.mu.Lock()
		p, idle := s.proc, s.idle
		s.mu.Unlock()
		if idle || (p != nil && p.Ping() == nil) {
			continue
		}
		if p != nil {
			m.crashed(s, p)
		}
		s.mu.Lock()
		_, err := m.startLocked(ctx, s)
		s.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) {
			m.deps.Log.DebugContext(ctx, "plugin not restarted yet", "plugin", s.entry.ID, "county", s.county, "err", err)
		}
	}
}

// stopIfIdle stops s's process if no call is under way and none began
// within its idle timeout, and says whether it did.
func (m *Manager) stopIfIdle(s *supervised) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	timeout := m.opts.IdleTimeout
	if s.county != "" {
		timeout = m.opts.CountyIdleTimeout
	}
	if s.proc == nil || s.inFlight > 0 || m.deps.Now().Sub(s.used) < timeout {
		return false
	}
	m.stopLocked(s)
	s.idle = true
	m.deps.Log.Info("plugin stopped for want of use", "plugin", s.entry.ID, "version", s.entry.Version, "county", s.county, "idle", timeout)
	return true
}

// stopLocked stops s's process, if it runs, and frees its place.
func (m *Manager) stopLocked(s *supervised) {
	if s.proc == nil {
		return
	}
	s.proc.Close()
	s.proc = nil
	m.released()
}

// reserve takes a place for one more process for s, whose lock the
// caller holds, stopping the least recently used idle process of
// another if every place is taken.
func (m *Manager) reserve(s *supervised) error {
	// Each round either takes a place or stops a process; one whose call
	// began meanwhile is passed over in the next.
	for range 3 {
		m.mu.Lock()
		if m.opts.MaxProcesses <= 0 || m.live < m.opts.MaxProcesses {
			m.live++
			m.mu.Unlock()
			return nil
		}
		others := make([]*supervised, 0, len(m.procs))
		for _, o := range m.procs {
			if o != s {
				others = append(others, o)
			}
		}
		m.mu.Unlock()
		if !m.evict(others) {
			break
		}
	}
	return errs.Unavailable(nil, CodeModuleUnavailable, "the host runs its maximum of %d plugin processes and none is idle; try again shortly", m.opts.MaxProcesses)
}

// evict stops the least recently used idle process among others and
// says whether it stopped one. A process whose lock is held is starting
// or serving, so it is passed over rather than waited for: two starts
// evicting each other's processes never wait on each other.
func (m *Manager) evict(others []*supervised) bool {
	var lru *supervised
	var lruUsed time.Time
	for _, o := range others {
		if !o.mu.TryLock() {
			continue
		}
		if o.proc != nil && o.inFlight == 0 && (lru == nil || o.used.Before(lruUsed)) {
			lru, lruUsed = o, o.used
		}
		o.mu.Unlock()
	}
	if lru == nil || !lru.mu.TryLock() {
		return false
	}
	defer lru.mu.Unlock()
	if lru.proc == nil || lru.inFlight > 0 {
		return true
	}
	m.stopLocked(lru)
	lru.idle = true
	m.deps.Log.Info("plugin stopped to make room for another", "plugin", lru.entry.ID, "version", lru.entry.Version, "county", lru.county,
		"max_processes", m.opts.MaxProcesses)
	return true
}

// released frees the place of a process that stopped or did not start.
func (m *Manager) released() {
	m.mu.Lock()
	m.live--
	m.mu.Unlock()
}

// Close stops every plugin process.
func (m *Manager) Close() {
	m.mu.Lock()
	all := make([]*supervised, 0, len(m.procs))
	for _, s := range m.procs {
		all = append(all, s)
	}
	m.mu.Unlock()
	for _, s := range all {
		s.mu.Lock()
		m.stopLocked(s)
		s.mu.Unlock()
	}
}

// Status is what the manager knows of a plugin process.
type Status struct {
	Plugin  string `json:"plugin"`
	Version string `json:"version"`
	// County is the one county the process serves, for a
	// county-isolated plugin; empty for a shared process.
	County  string `json:"county,omitempty"`
	PID     int    `json:"pid,omitempty"`
	Running bool   `json:"running"`
	// Calls are the calls under way: a process with none is idle.
	Calls   int       `json:"calls_in_flight"`
	Failed  bool      `json:"failed"`
	Crashes int       `json:"recent_crashes"`
	RetryAt time.Time `json:"retry_at,omitzero"`
	// LastUsed is when its last call began: the least recently used idle
	// process is the one stopped to make room for another.
	LastUsed time.Time `json:"last_used,omitzero"`
}

// Statuses reports every plugin process the manager has started.
func (m *Manager) Statuses() []Status {
	m.mu.Lock()
	all := make([]*supervised, 0, len(m.procs))
	for _, s := range m.procs {
		all = append(all, s)
	}
	m.mu.Unlock()
	out := make([]Status, 0, len(all))
	for _, s := range all {
		s.mu.Lock()
		st := Status{Plugin: s.entry.ID, Version: s.entry.Version, County: s.county, Running: s.proc != nil && !s.proc.Exited(),
			Calls: s.inFlight, Failed: s.failed, Crashes: len(s.crashes), RetryAt: s.retryAt, LastUsed: s.used}
		if st.Running {
			st.PID = s.proc.Pid()
		}
		s.mu.Unlock()
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Plugin, b.Plugin), semver.Compare("v"+a.Version, "v"+b.Version), cmp.Compare(a.County, b.County))
	})
	return out
}
