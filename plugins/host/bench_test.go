package host_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/jmoiron/sqlx"
	"google.golang.org/grpc"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
	"github.com/countycloud/countycloud/tenants/registry"
)

// The benchmarks compare, in one run and with the same payload, a module
// request through the host (the county's module and version looked up,
// a capability issued and revoked, the SDK's server side) with a bare
// go-plugin gRPC call of the Module service, and with the same handler
// called in-process:
//
//	go test ./plugins/host -run '^$' -bench 'Plugin$' -benchtime 20000x
//
// The callback pair reads one record: the host through its records
// service (capability, county, the record's SQL), the bare baseline with
// the same SQL on the county's schema named outright.
//	go test ./plugins/host -run '^$' -bench PluginStart -benchtime 20x
//
// Each reports p50 and p99 in µs and calls per second from 8 callers, and
// the host's throughput and p50 against the bare call's. The bare
// baseline of the callback pair has the same per-call deadline as the
// host's calls.

// barePlugin serves the Module service with nothing around it: Handle
// echoes the body, and on /callback first calls the host back once.
type barePlugin struct {
	plugin.NetRPCUnsupportedPlugin
	host pluginv1.HostClient
	// services is what the host side serves on the broker.
	services bareHost
}

type bareModule struct {
	p      *barePlugin
	broker *plugin.GRPCBroker
	mu     sync.Mutex
}

func (p *barePlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pluginv1.RegisterModuleServer(s, &bareModule{p: p, broker: broker})
	return nil
}

func (p *barePlugin) GRPCClient(_ context.Context, broker *plugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	id := broker.NextId()
	go broker.AcceptAndServe(id, func(opts []grpc.ServerOption) *grpc.Server {
		s := grpc.NewServer(opts...)
		pluginv1.RegisterHostServer(s, p.services)
		return s
	})
	return bareClient{module: pluginv1.NewModuleClient(conn), host: id}, nil
}

type bareClient struct {
	module pluginv1.ModuleClient
	host   uint32
}

func (m *bareModule) Manifest(_ context.Context, req *pluginv1.ManifestRequest) (*pluginv1.ManifestResponse, error) {
	conn, err := m.broker.Dial(req.GetHostServices())
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.p.host = pluginv1.NewHostClient(conn)
	m.mu.Unlock()
	return &pluginv1.ManifestResponse{}, nil
}

func (m *bareModule) Handle(ctx context.Context, req *pluginv1.HandleRequest) (*pluginv1.HandleResponse, error) {
	if req.GetPath() == "/callback" {
		m.mu.Lock()
		h := m.p.host
		m.mu.Unlock()
		rec, err := h.GetRecord(ctx, &pluginv1.GetRecordRequest{Capability: req.GetCapability(), Collection: "notes", Id: "bench"})
		if err != nil {
			return nil, err
		}
		return &pluginv1.HandleResponse{Status: 200, Body: rec.GetDocument()}, nil
	}
	return &pluginv1.HandleResponse{Status: 200, Body: req.GetBody()}, nil
}

// bareHost answers the bare plugin's callback with the same SQL as the
// host's records service, on the county's schema named outright: the
// database's share of a host-service call, without the host around it.
type bareHost struct {
	pluginv1.UnimplementedHostServer
	db     *sqlx.DB
	schema string
}

func (h bareHost) GetRecord(ctx context.Context, req *pluginv1.GetRecordRequest) (*pluginv1.Record, error) {
	var r struct {
		Collection string    `db:"collection"`
		ID         string    `db:"record_id"`
		Version    int64     `db:"version"`
		Document   string    `db:"document"`
		CreatedAt  time.Time `db:"created_at"`
		UpdatedAt  time.Time `db:"updated_at"`
	}
	err := h.db.GetContext(ctx, &r, "SELECT collection, record_id, version, document, created_at, updated_at FROM `"+h.schema+
		"`.plugin_records WHERE plugin = ? AND collection = ? AND record_id = ?", "notes", req.GetCollection(), req.GetId())
	if err != nil {
		return nil, err
	}
	return &pluginv1.Record{Collection: r.Collection, Id: r.ID, Version: r.Version, Document: []byte(r.Document),
		CreatedAt: r.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: r.UpdatedAt.Format(time.RFC3339Nano)}, nil
}

func serveBare() {
	plugin.Serve(&plugin.ServeConfig{HandshakeConfig: sdk.Handshake(), Plugins: plugin.PluginSet{sdk.PluginName: &barePlugin{}}, GRPCServer: plugin.DefaultGRPCServer})
}

// launchBare starts the bare plugin; with deadline, its calls have the
// host's per-call deadline, set the host's way.
func launchBare(b *testing.B, services bareHost, deadline bool) bareClient {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), pluginEnv+"=bare")
	config := &plugin.ClientConfig{HandshakeConfig: sdk.Handshake(), Plugins: plugin.PluginSet{sdk.PluginName: &barePlugin{services: services}},
		Cmd: cmd, AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC}, AutoMTLS: true, Logger: hclog.NewNullLogger()}
	if deadline {
		config.GRPCDialOptions = []grpc.DialOption{grpc.WithDefaultServiceConfig(host.CallDeadline(host.DefaultCallTimeout))}
	}
	client := plugin.NewClient(config)
	b.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		b.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		b.Fatal(err)
	}
	c := raw.(bareClient)
	if _, err := c.module.Manifest(context.Background(), &pluginv1.ManifestRequest{HostServices: c.host}); err != nil {
		b.Fatal(err)
	}
	return c
}

// side is one way of making the same call, and what a run of it took.
type side struct {
	name      string
	call      func() error
	latencies []time.Duration
	elapsed   time.Duration
	// hostCPU and pluginCPU are the CPU time this process and the plugin
	// processes spent on the side's calls.
	hostCPU, pluginCPU time.Duration
}

// cpu is the CPU time, user and system, of this process and of its
// children (the plugin processes) so far.
func cpu(b *testing.B) (self, kids time.Duration) {
	self = selfCPU(b)
	for _, pid := range children(b, os.Getpid()) {
		kids += processCPU(pid)
	}
	return self, kids
}

// selfCPU is the CPU time, user and system, of this process so far.
func selfCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processCPU is the CPU time, user and system, of process pid so far, 0
// once it has ended.
func processCPU(pid int) time.Duration {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// utime and stime, in clock ticks of 10 ms, after the command name.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	user, _ := strconv.Atoi(fields[11])
	system, _ := strconv.Atoi(fields[12])
	return time.Duration(user+system) * 10 * time.Millisecond
}

// compare makes b.N calls of each side from 8 goroutines, the sides
// taking turns in ten rounds so that the machine's drift falls on both
// alike, and reports each side's p50 and p99 in µs and calls per second,
// and every side's throughput and p50 against the first's.
func compare(b *testing.B, sides ...*side) {
	const callers, rounds = 8, 10
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - n*(rounds-1)
		}
		for _, s := range sides {
			start := time.Now()
			host, plugins := cpu(b)
			s.latencies = append(s.latencies, run(b, callers, n, s.call)...)
			s.elapsed += time.Since(start)
			hostAfter, pluginsAfter := cpu(b)
			s.hostCPU += hostAfter - host
			s.pluginCPU += pluginsAfter - plugins
		}
	}
	b.StopTimer()
	base := sides[0]
	for _, s := range sides {
		slices.Sort(s.latencies)
		p50 := s.latencies[len(s.latencies)/2]
		b.ReportMetric(float64(p50.Microseconds()), s.name+"-p50-µs")
		b.ReportMetric(float64(s.latencies[len(s.latencies)*99/100].Microseconds()), s.name+"-p99-µs")
		b.ReportMetric(float64(b.N)/s.elapsed.Seconds(), s.name+"-calls/s")
		b.ReportMetric(float64(s.hostCPU.Microseconds())/float64(b.N), s.name+"-host-cpu-µs")
		b.ReportMetric(float64(s.pluginCPU.Microseconds())/float64(b.N), s.name+"-plugin-cpu-µs")
		if s != base {
			b.ReportMetric(base.elapsed.Seconds()/s.elapsed.Seconds(), s.name+"/"+base.name+"-throughput")
			b.ReportMetric(float64(p50)/float64(base.latencies[len(base.latencies)/2]), s.name+"/"+base.name+"-p50")
		}
	}
}

// run makes n calls from callers goroutines and returns their latencies.
func run(b *testing.B, callers, n int, call func() error) []time.Duration {
	latencies := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				t := time.Now()
				if err := call(); err != nil {
					b.Error(err)
					return
				}
				latencies[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	return latencies
}

var payload = []byte(`{"title":"2026年第一季度工作会议","category":"meetings","unit":"县政府办公室","duration":3600}`)

func BenchmarkPlugin(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	svc := host.NewService(host.NewMySQLRepository(f.db.Control), anyCounty{}, f.deps, host.DefaultManagerOptions(), b.TempDir(), map[string]host.Binary{"notes": f.bin})
	b.Cleanup(svc.Manager().Close)
	if err := svc.RegisterBuiltins(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Enable(ctx, wengyuan, "notes", "admin", host.EnableInput{}); err != nil {
		b.Fatal(err)
	}
	// The record the host-service calls read.
	if _, err := svc.Serve(ctx, wengyuan, "notes", &pluginv1.HandleRequest{Method: "PUT", Path: "/notes/bench", Body: payload, RequestId: "seed"}); err != nil {
		b.Fatal(err)
	}
	services := bareHost{db: f.db.Server, schema: registry.SchemaName(f.db.SchemaPrefix, wengyuan)}
	bare, bareDeadline := launchBare(b, services, false), launchBare(b, services, true)
	echo := func(path string) *pluginv1.HandleRequest {
		return &pluginv1.HandleRequest{Method: "POST", Path: path, Body: payload, RequestId: "bench"}
	}
	serve := func(path string) func() error {
		return func() error {
			resp, err := svc.Serve(ctx, wengyuan, "notes", echo(path))
			if err == nil && resp.GetStatus() != 200 {
				err = fmt.Errorf("status %d", resp.GetStatus())
			}
			return err
		}
	}
	bareCall := func(c bareClient, path string) func() error {
		return func() error {
			_, err := c.module.Handle(ctx, echo(path))
			return err
		}
	}
	b.Run("request", func(b *testing.B) {
		compare(b, &side{name: "bare", call: bareCall(bare, "/echo")}, &side{name: "bare-deadline", call: bareCall(bareDeadline, "/echo")},
			&side{name: "host", call: serve("/echo")})
	})
	b.Run("callback", func(b *testing.B) {
		compare(b, &side{name: "bare", call: bareCall(bareDeadline, "/callback")}, &side{name: "host", call: serve("/get")})
	})
	b.Run("in-process", func(b *testing.B) {
		module := &notes{}
		compare(b, &side{name: "handler", call: func() error {
			_, err := module.Handle(ctx, &sdk.Request{Method: "POST", Path: "/echo", Body: payload})
			return err
		}})
	})
}

// benchSandboxEnv, set to on, runs the host's side of the benchmarks in
// the sandbox, as the server runs plugins; the bare baseline stays
// unconfined.
const benchSandboxEnv = "COUNTYCLOUD_BENCH_SANDBOX"

func benchFixture(b *testing.B) fixture {
	f := setup(b)
	if os.Getenv(benchSandboxEnv) == "on" {
		f = confined(b, f)
	}
	return f
}

// BenchmarkPluginStart measures launching a plugin to its first answer,
// and the memory of a plugin process after it.
func BenchmarkPluginStart(b *testing.B) {
	f := benchFixture(b)
	ctx := context.Background()
	var rss, own []int
	for range b.N {
		p, err := host.Launch(ctx, f.bin, f.deps)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.Handle(ctx, wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/echo", Body: payload, RequestId: "start"}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, pid := range children(b, os.Getpid()) {
			rss, own = append(rss, statusKiB(b, pid, "VmRSS")), append(own, statusKiB(b, pid, "RssAnon"))
		}
		p.Close()
		b.StartTimer()
	}
	slices.Sort(rss)
	slices.Sort(own)
	if len(rss) > 0 {
		b.ReportMetric(float64(rss[len(rss)/2])/1024, "rss-MiB")
		b.ReportMetric(float64(own[len(own)/2])/1024, "anon-MiB")
	}
}

// statusKiB is a memory figure of process pid in KiB: VmRSS, all it has
// in memory, or RssAnon, what is its own (RssFile, the binary's pages, is
// shared with every process of the same binary, the host included).
func statusKiB(b *testing.B, pid int, field string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kib
		}
	}
	return 0
}
