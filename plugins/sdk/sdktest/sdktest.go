// Package sdktest runs a module against a real CountyCloud host in a
// vendor's own go test. Start builds the module's plugin binary, starts
// `countycloud server -dev` as a subprocess (an in-memory database with
// demo counties), registers the plugin with its SHA-256, enables it for a
// county with the settings given, creates accounts with the roles given
// and logs them in; the test then calls the module's routes as one of
// them:
//
//	func TestFiling(t *testing.T) {
//		h := sdktest.Start(t, sdktest.Options{
//			Settings: map[string]any{"max_length": 300},
//			Accounts: map[string][]string{"admin": {"system_admin"}, "clerk": {"clerk"}},
//		})
//		r := h.As(t, "clerk").Call(t, "POST", "/suggestions", map[string]string{"text": "…"})
//		if r.Status != 201 {
//			t.Fatalf("file: %v", r)
//		}
//	}
//
// The host is the countycloud binary named by $COUNTYCLOUD_BIN, or else
// the one on PATH; without one the test is skipped, saying how to get it.
// The server, and with it the plugin, stops when the test ends; if the
// test failed, the server's log (its first and last lines, which carry
// the plugin's warnings and errors) is logged with it.
//
// The package imports nothing of the platform: it speaks to the host over
// its HTTP API only, as any client would.
package sdktest

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// EnvBinary names the environment variable that holds the path of
	// the countycloud binary to run as the host.
	EnvBinary = "COUNTYCLOUD_BIN"
	// DefaultCounty is the county the module is enabled for unless
	// Options.County names another of the dev server's demo counties.
	DefaultCounty = "gd.shaoguan.shixing"
)

// startTimeout bounds each wait of Start: the server listening, ready,
// and its demo county provisioned.
const startTimeout = time.Minute

// Options say what Start runs and how.
type Options struct {
	// Plugin is the path of a built plugin binary. If empty, Start
	// builds Package with `go build`.
	Plugin string
	// Package is the main package of the plugin, as `go build` takes it
	// from the test's directory; "." if empty.
	Package string
	// County is the dev county the module is enabled for, DefaultCounty
	// if empty. The dev server's demo counties are gd.shaoguan.shixing,
	// gd.shaoguan.renhua, gd.shaoguan.ruyuan and bj.haidian.
	County string
	// Settings are the module's settings for the county, encoded as
	// JSON (a json.RawMessage as it is); none if nil. The host checks
	// them against the manifest's settings schema.
	Settings any
	// Accounts are created in the county, in one unit, by login, each
	// with the roles listed (none: a plain member of staff). Built-in
	// roles are system_admin (the county's admin), unit_admin,
	// business_admin, clerk, leader and supervisor.
	Accounts map[string][]string
	// Units are more units of the county, by name, each with its
	// accounts by login and their roles as in Accounts: for a module
	// whose work goes from one unit to another (a subject unit, a route,
	// a distribution). A login is named once across Accounts and Units.
	Units map[string]map[string][]string
	// ServerFlags are added to `countycloud server -dev`, such as
	// "--plugin-call-timeout", "2s".
	ServerFlags []string
}

// Host is a running CountyCloud host with the module enabled for County.
type Host struct {
	// URL is the API's base, such as http://127.0.0.1:41234.
	URL string
	// County is the code of the county the module is enabled for.
	County string
	// Module and Version are the plugin's id and version, as its
	// manifest says and the catalog registered them.
	Module  string
	Version string
	// UnitID is the id of the unit the accounts belong to (their
	// Caller.UnitID), 0 without accounts.
	UnitID int64
	// UnitIDs are the ids of Options.Units, by name.
	UnitIDs map[string]int64
	// PluginDir is the server's --plugin-dir; a binary copied there can
	// be registered through the operator's client (POST /v1/plugins).
	PluginDir string

	http     *http.Client
	operator *Client
	accounts map[string]*Client
}

// Start starts a host for the test and enables the plugin in it, or
// skips the test if there is no countycloud binary. Any failure to do so
// fails the test. Everything stops when the test ends.
func Start(t testing.TB, opts Options) *Host {
	t.Helper()
	bin := countycloudBinary(t)
	county := cmp.Or(opts.County, DefaultCounty)
	dir := t.TempDir()
	l := launch{bin: bin, token: "sdktest-" + rand.Text(), pluginDir: dir, tempDir: t.TempDir(), flags: opts.ServerFlags}
	began := time.Now()
	srv, err := l.start(t)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	// The plugin is built while the server starts: each takes a second
	// or two, and the server needs the plugin only once it is ready.
	file, sum, err := installPlugin(opts, t.TempDir(), dir)
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	url, err := srv.address()
	// The port picked may have been taken before the server, a second
	// later, bound it: then it ended at start, and another port is tried.
	for try := 1; err != nil && srv.ended() && try < 3; try++ {
		if srv, err = l.start(t); err == nil {
			url, err = srv.address()
		}
	}
	if err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	h := &Host{URL: url, County: county, PluginDir: dir, http: &http.Client{Timeout: time.Minute}, accounts: map[string]*Client{},
		UnitIDs: map[string]int64{}}
	h.operator = &Client{host: h, token: l.token}
	if err := h.waitReady(srv); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if err := h.enable(file, sum, opts.Settings); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	if err := h.createAccounts(opts.Accounts, opts.Units); err != nil {
		t.Fatalf("sdktest: %v", err)
	}
	t.Logf("sdktest: %s %s enabled for %s at %s in %s", h.Module, h.Version, county, h.URL, time.Since(began).Round(time.Millisecond))
	return h
}

// As is the client of the account login that Options.Accounts created.
func (h *Host) As(t testing.TB, login string) *Client {
	t.Helper()
	c, ok := h.accounts[login]
	if !ok {
		t.Fatalf("sdktest: no account %q; name it in Options.Accounts", login)
	}
	return c
}

// Operator is the client of the platform's operator, who may do anything
// the API offers: register another version, enable it, create accounts.
func (h *Host) Operator() *Client { return h.operator }

// countycloudBinary is the host's binary, or skips the test.
func countycloudBinary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv(EnvBinary); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("sdktest: $%s: %v", EnvBinary, err)
		}
		return bin
	}
	bin, err := exec.LookPath("countycloud")
	if err != nil {
		t.Skipf("sdktest: no countycloud binary to run the host: set $%s to its path or put it on PATH; "+
			"build it in the platform's repository with `go build -o bin/countycloud ./cmd/countycloud`", EnvBinary)
	}
	return bin
}

// installPlugin builds the plugin in buildDir unless it is built, copies
// it into the plugin directory and returns its file name there and its
// SHA-256.
func installPlugin(opts Options, buildDir, pluginDir string) (string, string, error) {
	src := opts.Plugin
	if src == "" {
		pkg := cmp.Or(opts.Package, ".")
		abs, err := filepath.Abs(pkg)
		if err != nil {
			return "", "", fmt.Errorf("plugin package %s: %w", pkg, err)
		}
		src = filepath.Join(buildDir, filepath.Base(abs))
		out, err := exec.Command("go", "build", "-o", src, pkg).CombinedOutput()
		if err != nil {
			return "", "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
		}
	}
	file := filepath.Base(src)
	data, err := os.ReadFile(src)
	if err != nil {
		return "", "", fmt.Errorf("read the plugin: %w", err)
	}
	if err := os.WriteFile(filepath.Join(pluginDir, file), data, 0o755); err != nil {
		return "", "", fmt.Errorf("copy the plugin into the plugin directory: %w", err)
	}
	sum := sha256.Sum256(data)
	return file, hex.EncodeToString(sum[:]), nil
}

// waitReady waits until the dev server says it has created its demo
// counties, then until it answers /readyz and the county is ready. It
// sends nothing earlier: requests while the server migrates and seeds its
// embedded database have been seen to leave that database half-written
// (the control plane at migration 0, a county provisioning for ever).
func (h *Host) waitReady(srv *server) error {
	select {
	case <-srv.log.seeded:
	case <-srv.exited:
		return fmt.Errorf("the server ended at start: %w", srv.err)
	case <-time.After(startTimeout):
		return fmt.Errorf("the server did not say it had created its demo counties within %s", startTimeout)
	}
	var last Response
	err := srv.poll(func() (bool, error) {
		req, err := http.NewRequest(http.MethodGet, h.URL+"/readyz", nil)
		if err != nil {
			return false, fmt.Errorf("request: %w", err)
		}
		// Until the server answers, there is nothing to report but
		// the wait.
		if last, err = h.send(req); err != nil {
			return false, nil
		}
		return last.Status == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("the server never became ready (last answer %v): %w", last, err)
	}
	err = srv.poll(func() (bool, error) {
		r, err := h.operator.do(http.MethodGet, "/v1/tenants/"+h.County, nil)
		if err != nil {
			return false, err
		}
		last = r
		if r.Status == http.StatusNotFound {
			return false, h.noSuchCounty()
		}
		var tenant struct {
			Status string `json:"status"`
		}
		return r.Status == http.StatusOK && json.Unmarshal(r.Body, &tenant) == nil && tenant.Status == "ready", nil
	})
	if err != nil {
		return fmt.Errorf("county %s is not ready (last answer %v): %w", h.County, last, err)
	}
	return nil
}

// noSuchCounty is the error of a county the dev server does not have,
// naming those it has.
func (h *Host) noSuchCounty() error {
	var list struct {
		Tenants []struct {
			Code string `json:"code"`
		} `json:"tenants"`
	}
	if err := h.operator.expect(http.MethodGet, "/v1/tenants?level=county", nil, http.StatusOK, &list); err != nil {
		return fmt.Errorf("no such county; list the counties: %w", err)
	}
	codes := make([]string, len(list.Tenants))
	for i, c := range list.Tenants {
		codes[i] = c.Code
	}
	return fmt.Errorf("the dev server has no such county; it has %s", strings.Join(codes, ", "))
}

// enable registers the plugin file and enables it for the county.
func (h *Host) enable(file, sum string, settings any) error {
	r, err := h.operator.do(http.MethodPost, "/v1/plugins", map[string]string{"file": file, "sha256": sum})
	if err != nil {
		return fmt.Errorf("register the plugin: %w", err)
	}
	if r.Status != http.StatusCreated {
		return fmt.Errorf("register the plugin: %v", r)
	}
	var entry struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(r.Body, &entry); err != nil {
		return fmt.Errorf("register the plugin: %w", err)
	}
	h.Module, h.Version = entry.ID, entry.Version
	in := map[string]any{"version": entry.Version}
	if settings != nil {
		in["settings"] = settings
	}
	r, err = h.operator.do(http.MethodPut, "/v1/tenants/"+h.County+"/modules/"+h.Module, in)
	if err != nil {
		return fmt.Errorf("enable %s: %w", h.Module, err)
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("enable %s for %s: %v", h.Module, h.County, r)
	}
	return nil
}

// createAccounts creates the accounts in a unit of their own and those
// of each further unit in theirs, issues their first passwords and logs
// each in, replacing the password the county hands out (which must be
// changed before anything else).
func (h *Host) createAccounts(accounts map[string][]string, units map[string]map[string][]string) error {
	if len(accounts) > 0 {
		id, err := h.createUnit("sdktest", accounts)
		if err != nil {
			return err
		}
		h.UnitID = id
	}
	for _, name := range slices.Sorted(maps.Keys(units)) {
		id, err := h.createUnit(name, units[name])
		if err != nil {
			return err
		}
		h.UnitIDs[name] = id
	}
	if len(accounts) == 0 && len(units) == 0 {
		return nil
	}
	base := "/v1/tenants/" + h.County
	var issued []struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := h.operator.expect(http.MethodPost, base+"/credentials?format=json", struct{}{}, http.StatusOK, &issued); err != nil {
		return fmt.Errorf("issue passwords: %w", err)
	}
	for _, cred := range issued {
		c := &Client{host: h, login: cred.Login}
		if err := c.firstLogin(cred.Password); err != nil {
			return err
		}
		h.accounts[cred.Login] = c
	}
	return nil
}

// createUnit creates a unit called name and its accounts, and returns
// its id.
func (h *Host) createUnit(name string, accounts map[string][]string) (int64, error) {
	base := "/v1/tenants/" + h.County
	var unit struct {
		ID int64 `json:"id"`
	}
	if err := h.operator.expect(http.MethodPost, base+"/units", map[string]string{"name": name}, http.StatusCreated, &unit); err != nil {
		return 0, fmt.Errorf("create unit %s: %w", name, err)
	}
	for _, login := range slices.Sorted(maps.Keys(accounts)) {
		in := map[string]any{"login": login, "name": login, "unit_id": unit.ID, "roles": accounts[login]}
		if err := h.operator.expect(http.MethodPost, base+"/accounts", in, http.StatusCreated, nil); err != nil {
			return 0, fmt.Errorf("create account %s: %w", login, err)
		}
	}
	return unit.ID, nil
}

// server is the countycloud process and what it logged.
type server struct {
	cmd    *exec.Cmd
	log    *logTail
	exited chan struct{}
	err    error // how the process ended, once exited is closed
}

// launch is how Start runs the server.
type launch struct {
	bin, token string
	// pluginDir is the server's --plugin-dir, tempDir its TMPDIR.
	pluginDir, tempDir string
	flags              []string
}

// start starts the dev server on a free port and has it stopped when the
// test ends.
func (l launch) start(t testing.TB) (*server, error) {
	// The server is given a port rather than port 0 because it builds the
	// URLs of modules' files from --addr.
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"server", "-dev", "--dev-root-token", l.token, "--addr", addr, "--plugin-dir", l.pluginDir}, l.flags...)
	cmd := exec.Command(l.bin, args...)
	// The server reads COUNTYCLOUD_* variables as flags; the vendor's own
	// (a DSN, an address for the CLI) must not reach the test's server.
	// What it puts in the temporary directory (the dev server's files)
	// goes with the test's.
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "COUNTYCLOUD_") }), "TMPDIR="+l.tempDir)
	log := &logTail{listening: make(chan string, 1), seeded: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = log, log
	// The server's plugins die with it and hold none of its output, but
	// a stuck pipe must not keep the test waiting.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", l.bin, err)
	}
	s := &server{cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	return s, nil
}

// freeAddr is a loopback address whose port nothing listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// address waits until the server says where it listens and returns its
// base URL.
func (s *server) address() (string, error) {
	select {
	case addr := <-s.log.listening:
		return "http://" + addr, nil
	case <-s.exited:
		return "", fmt.Errorf("%s ended at start: %w", s.cmd, s.err)
	case <-time.After(startTimeout):
		return "", fmt.Errorf("%s did not listen within %s", s.cmd, startTimeout)
	}
}

// ended says whether the server process has ended.
func (s *server) ended() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// poll calls check until it says done, the server ends, or startTimeout
// passes.
func (s *server) poll(check func() (bool, error)) error {
	deadline := time.Now().Add(startTimeout)
	for {
		done, err := check()
		if done || err != nil {
			return err
		}
		select {
		case <-s.exited:
			return fmt.Errorf("the server ended: %w", s.err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gave up after %s", startTimeout)
		}
	}
}

// stop ends the server as an operator would, with an interrupt, so that it
// stops its plugin processes; it is killed if it lingers.
func (s *server) stop(t testing.TB) {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		s.kill()
	}
	select {
	case <-s.exited:
	case <-time.After(15 * time.Second):
		t.Errorf("sdktest: the server did not stop within 15s of an interrupt; killed it")
		s.kill()
	}
	if log := s.log.kept(); t.Failed() && log != "" {
		t.Logf("sdktest: the server's log:\n%s", log)
	}
}

func (s *server) kill() {
	// Killing a process that has already ended is not an error worth
	// reporting: the wait below is what matters.
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// logTail keeps the first and the last lines the server wrote (how it
// started, and what it did last) and notices those that say where it
// listens and that its demo counties exist.
type logTail struct {
	mu        sync.Mutex
	partial   []byte
	head      []string
	lines     []string
	dropped   int
	listening chan string
	announced bool
	// seeded is closed once the server has created its demo counties.
	seeded chan struct{}
	seen   bool
}

// headLines and keptLines are how many lines logTail keeps from the
// start and the end.
const (
	headLines = 50
	keptLines = 150
)

func (l *logTail) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		if len(l.head) < headLines {
			l.head = append(l.head, line)
		} else if l.lines = append(l.lines, line); len(l.lines) > keptLines {
			l.lines = l.lines[1:]
			l.dropped++
		}
		var entry struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil {
			continue
		}
		switch {
		case entry.Msg == "listening" && entry.Addr != "" && !l.announced:
			l.listening <- entry.Addr
			l.announced = true
		case entry.Msg == "dev demo data seeded" && !l.seen:
			close(l.seeded)
			l.seen = true
		}
	}
}

func (l *logTail) kept() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dropped == 0 {
		return strings.Join(slices.Concat(l.head, l.lines), "\n")
	}
	return strings.Join(slices.Concat(l.head, []string{fmt.Sprintf("[… %d lines …]", l.dropped)}, l.lines), "\n")
}
