package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// The hostile plugin tries each way through the protocol of costing the
// host: each test asserts what the host kept, with bounds generous
// enough for a host doing other work, and that it served another county
// meanwhile.

func hostileBinary(f fixture, env ...string) host.Binary {
	b := f.bin
	b.Manifest = hostileManifest
	b.Env = append([]string{pluginEnv + "=hostile"}, env...)
	return b
}

func launchHostile(t *testing.T, f fixture) *host.Process {
	t.Helper()
	p, err := host.Launch(context.Background(), hostileBinary(f), f.deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// usage is what the host holds of the machine.
type usage struct {
	heap, allocated uint64
	goroutines, fds int
}

func measure(t *testing.T) usage {
	t.Helper()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return usage{heap: m.HeapInuse, allocated: m.TotalAlloc, goroutines: runtime.NumGoroutine(), fds: len(fds)}
}

// within fails unless the host grew by less than the bounds from before
// to now: heap and allocated in MiB.
func within(t *testing.T, before usage, heapMiB, allocatedMiB uint64, goroutines, fds int) {
	t.Helper()
	now := measure(t)
	grew := func(a, b uint64) uint64 { return (max(a, b) - b) >> 20 }
	if h, a := grew(now.heap, before.heap), (now.allocated-before.allocated)>>20; h > heapMiB || a > allocatedMiB {
		t.Errorf("the host's heap grew by %d MiB (bound %d), and it allocated %d MiB (bound %d)", h, heapMiB, a, allocatedMiB)
	}
	if g := now.goroutines - before.goroutines; g > goroutines {
		t.Errorf("the host has %d goroutines more (bound %d)", g, goroutines)
	}
	if d := now.fds - before.fds; d > fds {
		t.Errorf("the host has %d descriptors more (bound %d)", d, fds)
	}
}

// anotherCounty is Lechang served by the notes plugin, through its host
// services, while the hostile plugin serves Wengyuan.
func anotherCounty(t *testing.T, f fixture) func() {
	t.Helper()
	notes := launch(t, f)
	call(t, notes, lechang, "PUT", "/notes/n1", "", `{"unit":"办公室","text":"乐昌的笔记"}`)
	return func() {
		t.Helper()
		if status, body := call(t, notes, lechang, "GET", "/notes/n1", "", ""); status != 200 || !strings.Contains(body, "乐昌的笔记") {
			t.Errorf("Lechang meanwhile: %d %s", status, body)
		}
	}
}

func hostileCall(t *testing.T, p *host.Process, path, query string) string {
	t.Helper()
	status, body := call(t, p, wengyuan, "GET", path, query, "")
	if status != 200 {
		t.Fatalf("%s?%s: %d %s", path, query, status, body)
	}
	return body
}

// The probe's answer was 1 GiB; 256 MiB is refused the same way (gRPC
// reads the length before the message). The plugin sends the answer's
// zeros without making them (wireCodec): what is measured is the host.
func TestAModuleAnswerOf256MiBIsRefused(t *testing.T) {
	// Not parallel: within measures the whole test process.
	f := setup(t)
	lechangMeanwhile := anotherCounty(t, f)
	m := host.NewManager(f.deps, host.DefaultManagerOptions(), func(host.Entry) (host.Binary, error) { return hostileBinary(f), nil })
	t.Cleanup(m.Close)
	entry := host.Entry{ID: hostileManifest.ID, Version: hostileManifest.Version, Manifest: hostileManifest}
	// Started first, so that what is measured is the answer.
	if _, err := m.Call(context.Background(), entry, wengyuan, &pluginv1.HandleRequest{Path: "/answer", Query: "n=10", RequestId: "r0"}); err != nil {
		t.Fatal(err)
	}
	before := measure(t)
	_, err := m.Call(context.Background(), entry, wengyuan, &pluginv1.HandleRequest{Path: "/answer", Query: "n=" + strconv.Itoa(256<<20), RequestId: "r1"})
	if e := errs.As(err); e.Kind != errs.KindBadGateway || e.Code != host.CodeModuleAnswerTooLarge {
		t.Fatalf("a 256 MiB answer: %v, want %s", err, host.CodeModuleAnswerTooLarge)
	}
	within(t, before, 16, 64, 50, 10)
	lechangMeanwhile()
	// The process is not counted as crashed, and answers again.
	resp, err := m.Call(context.Background(), entry, wengyuan, &pluginv1.HandleRequest{Path: "/answer", Query: "n=" + strconv.Itoa(host.MaxModuleAnswer), RequestId: "r2"})
	if err != nil || len(resp.GetBody()) != host.MaxModuleAnswer {
		t.Fatalf("an answer of 4 MiB: %v", err)
	}
}

// The plugin writes its messages' bytes itself, as a hostile plugin may:
// one of 256 MiB costs it only what gRPC sends before the host refuses it.
// One just over the host's bound is refused too, which gRPC's default
// bound of 4 MiB would let through.
func TestAHugeMessageToTheHostIsRefused(t *testing.T) {
	// Not parallel: within measures the whole test process.
	f := setup(t)
	lechangMeanwhile := anotherCounty(t, f)
	p := launchHostile(t, f)
	before := measure(t)
	if got := hostileCall(t, p, "/wire", "n="+strconv.Itoa(256<<20)); got != `"ResourceExhausted"` {
		t.Fatalf("a 256 MiB record: %s", got)
	}
	within(t, before, 16, 64, 50, 10)
	lechangMeanwhile()
	if got := hostileCall(t, p, "/wire", "n="+strconv.Itoa(host.MaxHostMessage)); got != `"ResourceExhausted"` {
		t.Fatalf("a record just over the bound of %d bytes: %s", host.MaxHostMessage, got)
	}
	if got := hostileCall(t, p, "/message", "n="+strconv.Itoa(1<<20-100)); got != `"OK"` {
		t.Fatalf("a record of 1 MiB: %s", got)
	}
}

// A plugin built against a newer SDK than the host sends fields the
// host's protocol lacks; protocol buffers would skip them, and the host
// answer as if it had done what they asked. It refuses the request
// instead, whether the field is in the request or in a message within
// it, and writes nothing.
func TestARequestWithAFieldTheHostDoesNotKnowIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	p := launchHostile(t, f)
	if got := hostileCall(t, p, "/newer", ""); got != `{"put":"Unimplemented","submit":"Unimplemented","written":"NotFound"}` {
		t.Fatalf("requests with a field the host does not know: %s", got)
	}
}

func TestAFloodOfBrokerMessagesIsHeldBack(t *testing.T) {
	// Not parallel: within measures the whole test process.
	f := setup(t)
	lechangMeanwhile := anotherCounty(t, f)
	p := launchHostile(t, f)
	before := measure(t)
	hostileCall(t, p, "/broker", "n=3000000")
	// What go-plugin would keep of each message, it keeps for 5 s:
	// measured within them.
	time.Sleep(2 * time.Second)
	within(t, before, 32, 256, 100, 10)
	lechangMeanwhile()
	var sent int
	json.Unmarshal([]byte(hostileCall(t, p, "/sent", "")), &sent)
	t.Logf("the plugin sent %d broker messages", sent)
}

func TestExtraConnectionsToTheHostServicesWait(t *testing.T) {
	// Not parallel: within measures the whole test process.
	f := setup(t)
	lechangMeanwhile := anotherCounty(t, f)
	p := launchHostile(t, f)
	before := measure(t)
	got := hostileCall(t, p, "/conns", "n=2540")
	within(t, before, 16, 64, 50, 10)
	lechangMeanwhile()
	t.Logf("the plugin connected %s times", got)
}

// servingRouter is the host's router, noting the most goroutines the
// host had at any of the record calls it served.
type servingRouter struct {
	host.Router
	most atomic.Int64
}

func (r *servingRouter) InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error) {
	for n, most := int64(runtime.NumGoroutine()), r.most.Load(); n > most && !r.most.CompareAndSwap(most, n); most = r.most.Load() {
	}
	return r.Router.InTenantQualified(ctx, code)
}

func TestConcurrentHostCallsOfAPluginAreBounded(t *testing.T) {
	// Not parallel: it counts the whole test process's goroutines, and within measures it.
	f := setup(t)
	// The calls take what a loaded machine gives a plugin at nice 10
	// (5 s to 30 s under the race detector): the request's deadline and
	// its capability's life are no part of what is tested.
	f.deps.CallTimeout = 10 * time.Minute
	f.deps.Capabilities = host.NewCapabilities(10*time.Minute, time.Now)
	// The host's goroutines while the calls are under way, counted at
	// each call it serves: one a call without bounds.
	router := &servingRouter{Router: f.deps.Router}
	f.deps.Router = router
	lechangMeanwhile := anotherCounty(t, f)
	p := launchHostile(t, f)
	before := measure(t)
	router.most.Store(0)
	resp, err := p.Handle(context.Background(), wengyuan, &pluginv1.HandleRequest{Method: "GET", Path: "/calls", Query: "n=2000", RequestId: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	most := int(router.most.Load()) - before.goroutines
	lechangMeanwhile()
	var outcomes map[string]int
	if err := json.Unmarshal(resp.GetBody(), &outcomes); err != nil {
		t.Fatal(err)
	}
	// The record does not exist: a call the host served is NotFound.
	if outcomes["NotFound"]+outcomes["ResourceExhausted"] != 2000 {
		t.Fatalf("2,000 calls at once: %v, want each served or refused as ResourceExhausted", outcomes)
	}
	if most > 500 {
		t.Errorf("the host had %d goroutines more while 2,000 calls were made at once", most)
	}
	t.Logf("2,000 calls at once: %v; the host had at most %d goroutines more", outcomes, most)
	// Each of the county's 8 calls under way may open a connection of
	// the pool, which keeps it idle afterwards: 16 descriptors are those
	// and the host's own few.
	within(t, before, 16, 256, 50, 16)
}

// The probe's line was 100 MB; the host reads a plugin's output at 2 MiB
// a second (TestALongLineIsOneEntryCut cuts 100 MB), so the plugin here
// prints 16 MiB.
func TestALongLineOnStdoutIsOneLogEntry(t *testing.T) {
	// Not parallel: within measures the whole test process.
	f := setup(t)
	var out syncBuffer
	f.deps.Log = slog.New(slog.NewTextHandler(&out, nil))
	lechangMeanwhile := anotherCounty(t, f)
	p := launchHostile(t, f)
	before := measure(t)
	hostileCall(t, p, "/print", "n=16")
	lechangMeanwhile()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(out.String(), "after the long line") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if entries := strings.Count(out.String(), "plugin=hostile stream=stdout"); entries != 2 || !strings.Contains(out.String(), "truncated=true") {
		t.Fatalf("%d entries of the hostile plugin's output, want the line cut and the one after", entries)
	}
	within(t, before, 16, 256, 50, 10)
}

// A plugin runs at nice 10, in a session of its own whose autogroup has
// nice 10 too, and the host's priority is untouched. A kernel without
// autogroups, or one that schedules the plugin in a cgroup of a container,
// shows an empty autogroup, as the host in the kernel's first session does.
func TestPluginsRunAtALowerPriority(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ours, _ := os.ReadFile("/proc/self/autogroup")
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := launchHostile(t, f)
	proc := fmt.Sprintf("/proc/%d", p.Pid())
	tasks, err := os.ReadDir(proc + "/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(proc + "/task/" + task.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: the nice
		// value is the 19th field of the line, the 17th of these.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if nice, _ := strconv.Atoi(fields[16]); nice != 10 {
			t.Errorf("thread %s of the plugin has nice %d, want 10", task.Name(), nice)
		}
	}
	if now, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0); err != nil || now != prio {
		t.Errorf("the host's priority is %d, was %d: %v", now, prio, err)
	}
	theirs, err := os.ReadFile(proc + "/autogroup")
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := os.ReadFile("/proc/self/autogroup"); string(now) != string(ours) {
		t.Errorf("the host's autogroup is %q, was %q", now, ours)
	}
	if len(theirs) == 0 {
		t.Log("no autogroup schedules the plugin; its nice values were checked")
		return
	}
	if string(theirs) == string(ours) || !strings.HasSuffix(strings.TrimSpace(string(theirs)), "nice 10") {
		t.Errorf("the plugin's autogroup is %q (the host's %q), want its own with nice 10", theirs, ours)
	}
}

// A manifest is checked before anything of it is used: these are refused
// at registration with invalid_plugin (400), and read nothing.
func TestHostileManifestsAreRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.json")
	if err := os.WriteFile(secret, []byte(`{"description":"the host's secret 机密"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ trick, file string }{{"fileref", secret}, {"fifo", fifo}, {"exponential", ""}, {"indexed", ""}} {
		t.Run(tc.trick, func(t *testing.T) {
			t.Parallel()
			b := hostileBinary(f, hostileManifestEnv+"="+tc.trick, hostileFileEnv+"="+tc.file)
			b.Manifest = host.Binary{}.Manifest
			_, err := host.Probe(context.Background(), b, f.deps)
			e := errs.As(err)
			if e.Kind != errs.KindInvalid || e.Code != host.CodeInvalidPlugin || strings.Contains(err.Error(), "机密") {
				t.Fatalf("probe: %v, want invalid_plugin", err)
			}
			if tc.trick == "indexed" && !errors.Is(err, host.ErrManifest) {
				t.Fatalf("probe: %v, want the manifest's limits", err)
			}
		})
	}
}
