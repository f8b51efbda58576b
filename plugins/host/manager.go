package host

import (
	"context"
	"errors"
	"sync"
	"time"

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
}

// DefaultManagerOptions are the production settings.
func DefaultManagerOptions() ManagerOptions {
	return ManagerOptions{MaxCrashes: 3, CrashWindow: 10 * time.Minute,
		BackoffMin: 250 * time.Millisecond, BackoffMax: 30 * time.Second, HealthInterval: 2 * time.Second, IdleTimeout: 10 * time.Minute}
}

// Manager runs one process per plugin version, launched when a county
// first needs it, shared by every county that enables that version, and
// restarted when it dies.
type Manager struct {
	deps   Deps
	opts   ManagerOptions
	binary func(Entry) (Binary, error)

	mu    sync.Mutex
	procs map[versionKey]*supervised
}

type versionKey struct{ plugin, version string }

// NewManager returns a manager that launches an entry as binary says.
func NewManager(deps Deps, opts ManagerOptions, binary func(Entry) (Binary, error)) *Manager {
	return &Manager{deps: deps, opts: opts, binary: binary, procs: map[versionKey]*supervised{}}
}

// supervised is one plugin version's process and its crash record.
type supervised struct {
	entry Entry

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

func (m *Manager) version(e Entry) *supervised {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := versionKey{e.ID, e.Version}
	s, ok := m.procs[key]
	if !ok {
		s = &supervised{entry: e}
		m.procs[key] = s
	}
	return s
}

// Call serves req for county on e's process, launching it if need be.
func (m *Manager) Call(ctx context.Context, e Entry, county string, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	s := m.version(e)
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
	p, err := Launch(ctx, b, m.deps)
	if err != nil {
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
	if s.proc != nil {
		s.proc.Close()
		s.proc = nil
	}
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
			m.deps.Log.DebugContext(ctx, "plugin not restarted yet", "plugin", s.entry.ID, "err", err)
		}
	}
}

// stopIfIdle stops s's process if no call is under way and none began
// within IdleTimeout, and says whether it did.
func (m *Manager) stopIfIdle(s *supervised) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil || s.inFlight > 0 || m.deps.Now().Sub(s.used) < m.opts.IdleTimeout {
		return false
	}
	s.proc.Close()
	s.proc, s.idle = nil, true
	m.deps.Log.Info("plugin stopped for want of use", "plugin", s.entry.ID, "version", s.entry.Version, "idle", m.opts.IdleTimeout)
	return true
}

// Close stops every plugin process.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.procs {
		s.mu.Lock()
		if s.proc != nil {
			s.proc.Close()
			s.proc = nil
		}
		s.mu.Unlock()
	}
}

// Status is what the manager knows of a plugin version's process.
type Status struct {
	Plugin  string    `json:"plugin"`
	Version string    `json:"version"`
	Running bool      `json:"running"`
	Failed  bool      `json:"failed"`
	Crashes int       `json:"recent_crashes"`
	RetryAt time.Time `json:"retry_at,omitzero"`
}

// Statuses reports every plugin version the manager has started.
func (m *Manager) Statuses() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.procs))
	for _, s := range m.procs {
		s.mu.Lock()
		out = append(out, Status{Plugin: s.entry.ID, Version: s.entry.Version, Running: s.proc != nil && !s.proc.Exited(),
			Failed: s.failed, Crashes: len(s.crashes), RetryAt: s.retryAt})
		s.mu.Unlock()
	}
	return out
}
