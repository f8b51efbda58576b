package host

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/countycloud/countycloud/core/audit"
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
}

// Process is one running plugin version, shared by every county that
// enables it.
type Process struct {
	client   *plugin.Client
	module   pluginv1.ModuleClient
	manifest sdk.Manifest
	caps     *Capabilities
}

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
	services := newHostServer(b.Manifest, d)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake(),
		Plugins:          plugin.PluginSet{sdk.PluginName: &hostPlugin{services: services}},
		Cmd:              cmd,
		SecureConfig:     &plugin.SecureConfig{Checksum: b.SHA256, Hash: sha256.New()},
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SkipHostEnv:      true,
		// The deadline of a module call is gRPC's own, set where the call
		// is made: a context of the host's around each call would cost a
		// tenth of what the call itself costs.
		GRPCDialOptions: []grpc.DialOption{grpc.WithDefaultServiceConfig(callDeadline(d.callTimeout()))},
		// What a plugin prints once it serves reaches the host's log, a
		// line an entry, named by the plugin.
		SyncStdout: &logLines{log: d.Log, plugin: b.Manifest.ID, stream: "stdout"},
		SyncStderr: &logLines{log: d.Log, plugin: b.Manifest.ID, stream: "stderr"},
		Logger:     hclog.FromStandardLogger(slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn), &hclog.LoggerOptions{Name: "plugin." + b.Manifest.ID, Level: hclog.Warn}),
	})
	p, err := start(ctx, client, b)
	if err != nil {
		client.Kill()
		return nil, err
	}
	p.caps = d.Capabilities
	return p, nil
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
	m, err := sdk.ParseManifest(resp.GetManifest())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProtocol, err)
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
	c := req.GetCaller()
	token, revoke := p.caps.Issue(county, p.manifest.ID, req.GetRequestId(), audit.Actor{Kind: c.GetKind(), ID: c.GetAccountId(), Login: c.GetLogin(), Unit: c.GetUnitId()}, c.GetRoles()...)
	defer revoke()
	req.Capability = token
	return p.module.Handle(ctx, req)
}

// Manifest is the manifest the running plugin reported.
func (p *Process) Manifest() sdk.Manifest { return p.manifest }

// Exited says whether the plugin process has ended.
func (p *Process) Exited() bool { return p.client.Exited() }

// Close stops the plugin process.
func (p *Process) Close() { p.client.Kill() }

// hostPlugin is the host's side of go-plugin's gRPC plugin: it serves
// the host services on the broker and dispenses the module's client.
type hostPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	services pluginv1.HostServer
}

type dispensed struct {
	module       pluginv1.ModuleClient
	hostServices uint32
}

func (h *hostPlugin) GRPCServer(*plugin.GRPCBroker, *grpc.Server) error {
	return errors.New("host: the host does not serve modules")
}

func (h *hostPlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pluginv1.RegisterHostServer(s, h.services)
		return s
	})
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
// line. go-plugin copies each stream from one goroutine.
type logLines struct {
	log            *slog.Logger
	plugin, stream string
	partial        []byte
}

// maxLogLine bounds a line a plugin never ends, so that it cannot grow
// the host's memory.
const maxLogLine = 16 << 10

func (w *logLines) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 && len(w.partial) < maxLogLine {
			return len(p), nil
		}
		if i < 0 {
			i = len(w.partial)
		}
		if line := bytes.TrimRight(w.partial[:i], "\r"); len(line) > 0 {
			w.log.Info("plugin output", "plugin", w.plugin, "stream", w.stream, "line", string(line))
		}
		w.partial = w.partial[min(i+1, len(w.partial)):]
	}
}

// callDeadline is the gRPC service config that gives each Handle call a
// deadline of d, which gRPC also sends the plugin with the call.
func callDeadline(d time.Duration) string {
	return fmt.Sprintf(`{"methodConfig":[{"name":[{"service":%q,"method":"Handle"}],"timeout":"%ss"}]}`,
		pluginv1.Module_ServiceDesc.ServiceName, strconv.FormatFloat(d.Seconds(), 'f', -1, 64))
}
