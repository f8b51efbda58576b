package host

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Binary is a registered plugin binary: where it is, the SHA-256 it was
// registered with, and the manifest registered with it.
type Binary struct {
	Path     string
	SHA256   []byte
	Manifest sdk.Manifest
	// Args and Env are given to the process, which gets nothing else of
	// the host's environment: the platform's own binary serves its
	// built-in modules through a hidden subcommand.
	Args []string
	Env  []string
	// County, if set, is the one county the process serves (a plugin
	// registered with county isolation): it refuses requests and
	// capabilities of any other.
	County string
	// Builtin says the binary is the platform's own, which runs with
	// whatever protections the sandbox has; a vendor's binary runs only
	// with the essential ones.
	Builtin bool
}

// Sandbox confines plugin processes.
type Sandbox interface {
	// Confine rewrites cmd, which would run the binary open as binary, to
	// run it confined, with dir its one writable directory.
	Confine(cmd *exec.Cmd, binary *os.File, dir string) error
	// SocketGroup is the group the host's sockets for a plugin must be
	// writable by, "" for none.
	SocketGroup() string
	// Refuse says why a vendor's plugin may not start, nil if it may.
	Refuse() error
	// Start starts a command Confine rewrote.
	Start(cmd *exec.Cmd) error
}

// Process is one running plugin version, shared by every county that
// enables it, or serving one county.
type Process struct {
	client   *plugin.Client
	module   pluginv1.ModuleClient
	manifest sdk.Manifest
	caps     *Capabilities
	county   string
	// countyKeys key the process's counties' keys (countyKey).
	countyKeys []byte
	// runner is the sandbox's runner of the process, which go-plugin
	// does not report the process ID of.
	runner *cmdRunner
}

const (
	// MaxModuleAnswer bounds a module's answer to a request; a larger one
	// is refused with module_answer_too_large. Files travel through the
	// file store, not through answers.
	MaxModuleAnswer = 4 << 20
	// maxHostMessage bounds a plugin's message to a host service: a
	// record's document (MaxDocumentBytes) and more fit.
	maxHostMessage = 2<<20 + messageEnvelope
	// messageEnvelope is what a message carries besides its body: the
	// status, headers, ids and the capability.
	messageEnvelope = 64 << 10
)

// ErrOtherCounty is the error of a request or capability of one county
// at a process that serves only another.
var ErrOtherCounty = errors.New("the process serves another county")

// ErrChecksum is the error of a binary whose SHA-256 is not the one it
// was registered with.
var ErrChecksum = errors.New("checksum mismatch")

// ErrProtocol is the error of a plugin that speaks another protocol, or
// that is not the plugin its manifest was registered for.
var ErrProtocol = errors.New("protocol mismatch")

// Launch starts b and checks that it is the plugin registered: its
// checksum (go-plugin reads the binary once, before running it), its
// handshake and its manifest. With b.Manifest empty it probes a binary
// being registered, taking the manifest it reports.
func Launch(ctx context.Context, b Binary, d Deps) (*Process, error) {
	cmd := exec.Command(b.Path, b.Args...)
	// A plugin gets none of the host's environment, which holds the
	// database's password and the platform's keys: only b.Env and what
	// go-plugin adds for its handshake.
	cmd.Env = b.Env
	dieWithHost(cmd)
	counties := d.CountyCalls
	if counties == nil {
		counties = NewCountyCalls()
	}
	hp := &hostPlugin{services: newHostServer(b.Manifest, b.County, d), seals: newSeals(b.Manifest, b.County, d), calls: newCallLimits(b.Manifest.ID, d.hostCallRate(), d.Capabilities, counties)}
	logLimit := newLogLimit()
	config := &plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          plugin.PluginSet{sdk.PluginName: hp},
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: b.SHA256, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		// The deadline of a module call is gRPC's own, set where the call
		// is made: a context of the host's around each call would cost a
		// tenth of what the call itself costs.
		// go-plugin lets a plugin answer up to 2 GiB; the host takes what
		// an answer may be (files go through the file store).
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultServiceConfig(callDeadline(d.callTimeout())),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxModuleAnswer + messageEnvelope)),
			grpc.WithStreamInterceptor(brokerStream()),
		},
		// What a plugin prints once it serves reaches the host's log, a
		// line an entry, named by the plugin.
		SyncStdout: &logLines{log: d.Log, plugin: b.Manifest.ID, stream: "stdout", limit: logLimit},
		SyncStderr: &logLines{log: d.Log, plugin: b.Manifest.ID, stream: "stderr", limit: logLimit},
		Logger:     hclog.FromStandardLogger(slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn), &hclog.LoggerOptions{Name: "plugin." + b.Manifest.ID, Level: hclog.Warn}),
	}
	// AutoMTLS sets the host's TLS configuration as the process starts;
	// the host services are served with it.
	hp.tls = func() *tls.Config { return config.TLSConfig }
	var run *cmdRunner
	if d.Sandbox != nil {
		f, err := sandboxed(config, b, d.Sandbox, &run)
		if err != nil {
			return nil, err
		}
		// The launcher has its own descriptor of the binary once started.
		defer f.Close()
	}
	client := plugin.NewClient(config)
	p, err := start(ctx, client, b)
	if err != nil {
		client.Kill()
		return nil, err
	}
	p.runner = run
	if err := lowerPriority(p.Pid()); err != nil {
		d.Log.WarnContext(ctx, "plugin runs at the host's priority", "plugin", b.Manifest.ID, "err", err)
	}
	p.caps, p.county, p.countyKeys = d.Capabilities, b.County, newCountyKeys()
	return p, nil
}

// sandboxed has cfg start b through sb. The launcher executes the
// descriptor of b that the host opens here and checks the SHA-256 of, in
// place of go-plugin's check (which would read the launcher).
func sandboxed(cfg *plugin.ClientConfig, b Binary, sb Sandbox, run **cmdRunner) (*os.File, error) {
	if !b.Builtin {
		if err := sb.Refuse(); err != nil {
			return nil, errs.Unavailable(err, CodePluginUnconfined, "%v", err)
		}
	}
	f, err := os.Open(b.Path)
	if err != nil {
		return nil, fmt.Errorf("plugin binary: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("plugin binary %s: %w", b.Path, err)
	}
	if !bytes.Equal(h.Sum(nil), b.SHA256) {
		f.Close()
		if b.Manifest.ID == "" {
			return nil, fmt.Errorf("%w: %s does not have the SHA-256 given", ErrChecksum, b.Path)
		}
		return nil, fmt.Errorf("%w: %s is not the binary registered as %s %s", ErrChecksum, b.Path, b.Manifest.ID, b.Manifest.Version)
	}
	cfg.Cmd, cfg.SecureConfig = nil, nil
	cfg.UnixSocketConfig = &plugin.UnixSocketConfig{Group: sb.SocketGroup()}
	// go-plugin gives the runner an empty command with its own
	// environment for the handshake, which b's is added to.
	cfg.RunnerFunc = func(_ hclog.Logger, cmd *exec.Cmd, dir string) (runner.Runner, error) {
		cmd.Path, cmd.Args, cmd.Env = b.Path, append([]string{b.Path}, b.Args...), append(slices.Clip(b.Env), cmd.Env...)
		if err := sb.Confine(cmd, f, dir); err != nil {
			return nil, err
		}
		r, err := newCmdRunner(cmd, b.Path, sb.Start)
		*run = r
		return r, err
	}
	return f, nil
}

func start(ctx context.Context, client *plugin.Client, b Binary) (*Process, error) {
	// What the binary is registered as, or while it is probed, where it is.
	name := b.Path
	if b.Manifest.ID != "" {
		name = b.Manifest.ID + " " + b.Manifest.Version
	}
	rpc, err := client.Client()
	if err != nil {
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			if b.Manifest.ID == "" {
				return nil, fmt.Errorf("%w: %s does not have the SHA-256 given", ErrChecksum, b.Path)
			}
			return nil, fmt.Errorf("%w: %s is not the binary registered as %s", ErrChecksum, b.Path, name)
		}
		return nil, fmt.Errorf("%w: start %s: %v", ErrProtocol, name, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		return nil, fmt.Errorf("%w: %s offers no module: %v", ErrProtocol, name, err)
	}
	d := raw.(*dispensed)
	resp, err := d.module.Manifest(ctx, &pluginv1.ManifestRequest{HostServices: d.hostServices})
	if err != nil {
		return nil, fmt.Errorf("%w: ask %s for its manifest: %v", ErrProtocol, name, err)
	}
	if err := checkManifestSize(resp.GetManifest()); err != nil {
		return nil, err
	}
	m, err := sdk.ParseManifest(resp.GetManifest())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
	}
	if err := checkManifestLimits(m); err != nil {
		return nil, err
	}
	if b.Manifest.ID == "" {
		// Probing a binary being registered: what it says it is is what
		// is registered.
		return &Process{client: client, module: d.module, manifest: m}, nil
	}
	if m.ID != b.Manifest.ID || m.Version != b.Manifest.Version {
		return nil, fmt.Errorf("%w: the binary registered as %s %s says it is %s %s", ErrProtocol, b.Manifest.ID, b.Manifest.Version, m.ID, m.Version)
	}
	return &Process{client: client, module: d.module, manifest: m}, nil
}

// Handle serves one request of county, under a capability issued for it
// and revoked when it is answered.
func (p *Process) Handle(ctx context.Context, county string, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	if p.county != "" && county != p.county {
		return nil, fmt.Errorf("%w: %s %s serves %s, not %s", ErrOtherCounty, p.manifest.ID, p.manifest.Version, p.county, county)
	}
	c := req.GetCaller()
	token, revoke := p.caps.IssueFor(Capability{County: county, Plugin: p.manifest.ID, Request: req.GetRequestId(),
		Caller: audit.Actor{Kind: c.GetKind(), ID: c.GetAccountId(), Login: c.GetLogin(), Unit: c.GetUnitId()}, Roles: c.GetRoles(),
		Address: c.GetAddress(), SMSReminders: smsRemindersAllowed(req.GetSettings()), trail: publicTrailFrom(ctx)})
	defer revoke()
	// What the host does beyond the protocol's first messages, which a
	// plugin relies on only when told.
	req.Capability, req.CountyKey, req.HostFeatures = token, p.countyKey(county), []string{sdk.FeatureSubmitUnchanged}
	return p.module.Handle(ctx, req)
}

// newCountyKeys is the secret of a process's county keys: its own, so
// that a key tells a plugin nothing of the county beyond its requests,
// and nothing another process could match.
func newCountyKeys() []byte {
	secret := make([]byte, 32)
	// crypto/rand.Read never fails (it panics if the system cannot give
	// randomness).
	_, _ = rand.Read(secret)
	return secret
}

// countyKey stands for county to the plugin (HandleRequest.county_key):
// the same for each of its requests to this process, another for
// another county, and not the county's code, which the protocol keeps
// from plugins.
func (p *Process) countyKey(county string) string {
	mac := hmac.New(sha256.New, p.countyKeys)
	mac.Write([]byte(county))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}

// Manifest is the manifest the running plugin reported.
func (p *Process) Manifest() sdk.Manifest { return p.manifest }

// Exited says whether the plugin process has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// Pid is the process's id, or 0 once it has ended.
func (p *Process) Pid() int {
	if p.runner != nil && p.runner.cmd.Process != nil {
		return p.runner.cmd.Process.Pid
	}
	if rc := p.client.ReattachConfig(); rc != nil {
		return rc.Pid
	}
	return 0
}

// Close stops the plugin process.
func (p *Process) Close() { p.client.Kill() }

// hostPlugin is the host's side of go-plugin's gRPC plugin: it serves
// the host services on the broker and dispenses the module's client.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	services *hostServer
	// seals is the Seals service, served beside Host.
	seals pluginv1.SealsServer
	calls *callLimits
	tls   func() *tls.Config
}

type dispensed struct {
	module       pluginv1.ModuleClient
	hostServices uint32
}

func (h *hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host: the host does not serve modules")
}

// GRPCClient serves the host services on a listener of the broker's, as
// go-plugin's AcceptAndServe would, within the host's bounds; ctx ends
// when the process does.
func (h *hostPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	id := broker.NextId()
	ln, err := broker.Accept(id)
	if err != nil {
		return nil, fmt.Errorf("serve the host services: %w", err)
	}
	go func() {
		defer ln.Close()
		serveHost(ctx, ln, h.tls(), h.calls, func(s *grpc.Server) {
			pluginv1.RegisterHostServer(s, h.services)
			pluginv1.RegisterSealsServer(s, h.seals)
			pluginv1.RegisterMeasuresServer(s, h.services.measures)
			pluginv1.RegisterReceiptsServer(s, h.services.receipts)
			pluginv1.RegisterDirectoryServer(s, h.services.directory)
			pluginv1.RegisterNumbersServer(s, h.services.numbers)
			pluginv1.RegisterBatchesServer(s, h.services.batches)
			pluginv1.RegisterPublicUploadsServer(s, h.services.uploads)
			pluginv1.RegisterSubmissionsServer(s, h.services.submissions)
			pluginv1.RegisterPublicDownloadsServer(s, h.services.downloads)
			pluginv1.RegisterHostWorkflowsServer(s, moduleWorkflows{h.services.workflows})
			pluginv1.RegisterHostSuspensionServer(s, suspension{h.services.workflows})
		})
	}()
	return &dispensed{module: pluginv1.NewModuleClient(conn), hostServices: id}, nil
}

// Ping checks that the process answers.
func (p *Process) Ping() error {
	rpc, err := p.client.Client()
	if err != nil {
		return err
	}
	return rpc.Ping()
}

// logLines writes what a plugin prints to the host's log, one entry a
// line. go-plugin copies each stream from one goroutine; a plugin's two
// streams share one limit.
type logLines struct {
	log            *slog.Logger
	plugin, stream string
	limit          logLimit
	// partial is the start of a line not ended yet; skipping says the
	// line was cut, and what is left of it up to its newline is dropped;
	// dropped counts the lines the limit kept from the log; muted says
	// the limit had no line left when the write began, so that a write
	// of many lines costs one look at the limit.
	partial  []byte
	skipping bool
	dropped  int
	muted    bool
}

// logLimit is what the host reads and logs of a plugin's output.
type logLimit struct {
	// lines are the lines logged; chunks and bytes what is read (each
	// chunk a gRPC message of go-plugin's, 1 KiB of an SDK plugin's
	// output): past them the host reads no more for a while, and the
	// plugin's writes wait, rather than the host spending itself on
	// reading what it will not log.
	lines, chunks, bytes *rate.Limiter
	// now is the clock lines are counted by: time.Now, but for a test
	// that has a flood of lines come at one instant, however long its
	// machine takes to write them.
	now func() time.Time
}

const (
	// maxLogLine bounds a line: what a plugin prints past it, up to the
	// line's end, is dropped, so one endless line is one entry and grows
	// nothing of the host's.
	maxLogLine = 16 << 10
	// logLinesPerSecond is how many lines of a plugin's output the host
	// logs a second (with as many at once); the others are counted, and
	// the count is logged with the next line that is.
	logLinesPerSecond = 100
	// logChunksPerSecond and logBytesPerSecond are how much of a
	// plugin's output the host reads a second: 2 MiB of an SDK plugin's,
	// more than the lines it logs may hold.
	logChunksPerSecond = 2000
	logBytesPerSecond  = 8 << 20
)

func newLogLimit() logLimit {
	return logLimit{lines: rate.NewLimiter(logLinesPerSecond, logLinesPerSecond),
		chunks: rate.NewLimiter(logChunksPerSecond, logChunksPerSecond/10),
		// A chunk may be as large as any message of the plugin's.
		bytes: rate.NewLimiter(logBytesPerSecond, MaxModuleAnswer+messageEnvelope),
		now:   time.Now}
}

func (w *logLines) Write(p []byte) (int, error) {
	n := len(p)
	// Waits only for the limit's own rate: it never fails without a
	// deadline.
	_ = w.limit.chunks.Wait(context.Background())
	_ = w.limit.bytes.WaitN(context.Background(), min(len(p), w.limit.bytes.Burst()))
	w.muted = w.limit.lines.TokensAt(w.limit.now()) < 1
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if w.skipping {
			if i < 0 {
				return n, nil
			}
			w.skipping, p = false, p[i+1:]
			continue
		}
		room := maxLogLine - len(w.partial)
		switch {
		case i < 0 && len(p) <= room:
			w.partial = append(w.partial, p...)
			return n, nil
		case i < 0 || i > room:
			// The line is longer than a line may be: what fits is
			// logged, the rest skipped.
			w.emit(append(w.partial, p[:room]...), true)
			w.skipping, p = true, p[room:]
		default:
			w.emit(append(w.partial, p[:i]...), false)
			p = p[i+1:]
		}
		w.partial = w.partial[:0]
	}
	return n, nil
}

func (w *logLines) emit(line []byte, cut bool) {
	line = bytes.TrimRight(line, "\r")
	if len(line) == 0 && !cut {
		return
	}
	if w.muted || !w.limit.lines.AllowN(w.limit.now(), 1) {
		w.dropped++
		return
	}
	if w.dropped > 0 {
		w.log.Warn("plugin output dropped", "plugin", w.plugin, "stream", w.stream, "lines", w.dropped, "limit_per_second", logLinesPerSecond)
		w.dropped = 0
	}
	if cut {
		// A line cut inside a character ends without its first bytes.
		w.log.Info("plugin output", "plugin", w.plugin, "stream", w.stream, "line", strings.ToValidUTF8(string(line), ""), "truncated", true)
		return
	}
	w.log.Info("plugin output", "plugin", w.plugin, "stream", w.stream, "line", string(line))
}

// callDeadline is the gRPC service config that gives each Handle call a
// deadline of d, which gRPC also sends the plugin with the call.
func callDeadline(d time.Duration) string {
	return fmt.Sprintf(`{"methodConfig":[{"name":[{"service":%q,"method":"Handle"}],"timeout":"%ss"}]}`,
		pluginv1.Module_ServiceDesc.ServiceName, strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
}
