package host_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

func TestParseIsolation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]host.Isolation{"": host.IsolationShared, "shared": host.IsolationShared, "county": host.IsolationCounty} {
		if got, err := host.ParseIsolation(in); err != nil || got != want {
			t.Errorf("ParseIsolation(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"County", " county", "tenant", "none", "shared,county"} {
		if _, err := host.ParseIsolation(in); errs.CodeOf(err) != host.CodeInvalidPlugin {
			t.Errorf("ParseIsolation(%q) = %v, want invalid_plugin", in, err)
		}
	}
}

func FuzzParseIsolation(f *testing.F) {
	for _, s := range []string{"", "shared", "county", "COUNTY", "county\x00", strings.Repeat("县", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := host.ParseIsolation(s)
		if err != nil {
			if errs.CodeOf(err) != host.CodeInvalidPlugin || len(err.Error()) > 200 {
				t.Fatalf("ParseIsolation(%q): %v", s, err)
			}
			return
		}
		if got != host.IsolationShared && got != host.IsolationCounty {
			t.Fatalf("ParseIsolation(%q) = %q", s, got)
		}
		if again, err := host.ParseIsolation(string(got)); err != nil || again != got {
			t.Fatalf("ParseIsolation(%q) = %q, %v; not stable", got, again, err)
		}
	})
}

func isolated(id string) host.Entry {
	e := entry(id)
	e.Isolation = host.IsolationCounty
	return e
}

// pid makes a request of county to e and returns the id of the process
// that served it, as the host knows it.
func pid(t *testing.T, m *host.Manager, e host.Entry, county string) int {
	t.Helper()
	if _, err := m.Call(context.Background(), e, county, request("/echo")); err != nil {
		t.Fatalf("%s in %s: %v", e.ID, county, err)
	}
	if e.Isolation != host.IsolationCounty {
		county = ""
	}
	for _, s := range m.Statuses() {
		if s.Plugin == e.ID && s.Version == e.Version && s.County == county && s.Running {
			return s.PID
		}
	}
	t.Fatalf("no process of %s for %q: %+v", e.ID, county, m.Statuses())
	return 0
}

func TestACountyIsolatedPluginRunsOneProcessPerCountyAndASharedOneOne(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := manager(t, f, fastOptions())
	iso, shared := isolated("notes"), entry("other")
	isoW, isoL := pid(t, m, iso, wengyuan), pid(t, m, iso, lechang)
	shW, shL := pid(t, m, shared, wengyuan), pid(t, m, shared, lechang)
	if isoW == isoL {
		t.Errorf("the county-isolated plugin serves both counties from process %d", isoW)
	}
	if shW != shL {
		t.Errorf("the shared plugin runs processes %d and %d", shW, shL)
	}
	if again := pid(t, m, iso, wengyuan); again != isoW {
		t.Errorf("Wengyuan's second request went to process %d, its first to %d", again, isoW)
	}
	want := map[string]int{"notes/" + lechang: isoL, "notes/" + wengyuan: isoW, "other/": shW}
	st := m.Statuses()
	if len(st) != len(want) {
		t.Fatalf("statuses = %+v", st)
	}
	for _, s := range st {
		if p, ok := want[s.Plugin+"/"+s.County]; !ok || s.PID != p || !s.Running {
			t.Errorf("status %+v, want pid %d", s, p)
		}
	}
}

func TestAnotherCountysRequestsNeverReachACountyIsolatedProcess(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := manager(t, f, fastOptions())
	ctx := context.Background()
	seen := func(e host.Entry, county string) string {
		t.Helper()
		resp, err := m.Call(ctx, e, county, request("/seen"))
		if err != nil {
			t.Fatal(err)
		}
		return string(resp.GetBody())
	}
	for _, e := range []host.Entry{isolated("notes"), entry("other")} {
		for county, text := range map[string]string{wengyuan: "翁源的来文", lechang: "乐昌的来文"} {
			req := &pluginv1.HandleRequest{Method: "POST", Path: "/echo", Body: []byte(`{"text":"` + text + `"}`), RequestId: t.Name()}
			if _, err := m.Call(ctx, e, county, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	w, l := seen(isolated("notes"), wengyuan), seen(isolated("notes"), lechang)
	if !strings.Contains(w, "翁源的来文") || strings.Contains(w, "乐昌") {
		t.Errorf("Wengyuan's process saw %q", w)
	}
	if !strings.Contains(l, "乐昌的来文") || strings.Contains(l, "翁源") {
		t.Errorf("Lechang's process saw %q", l)
	}
	// What a shared process is: it sees both counties' requests, which
	// is what the trust model says of it.
	if s := seen(entry("other"), wengyuan); !strings.Contains(s, "翁源的来文") || !strings.Contains(s, "乐昌的来文") {
		t.Errorf("the shared process saw %q", s)
	}
}

func TestAProcessOfOneCountyRefusesAnotherCountysRequest(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.bin.County = wengyuan
	p := launch(t, f)
	_, err := p.Handle(context.Background(), lechang, request("/echo"))
	if !errors.Is(err, host.ErrOtherCounty) {
		t.Fatalf("Lechang's request at Wengyuan's process = %v, want ErrOtherCounty", err)
	}
	if status, _ := call(t, p, wengyuan, "GET", "/echo", "", ""); status != 200 {
		t.Fatalf("Wengyuan's own request = %d", status)
	}
}

func TestAProcessOfOneCountyRefusesAnotherCountysLiveCapability(t *testing.T) {
	t.Parallel()
	f := setup(t)
	m := manager(t, f, fastOptions())
	ctx := context.Background()
	put := &pluginv1.HandleRequest{Method: "PUT", Path: "/notes/secret", Body: []byte(`{"text":"乐昌的秘密"}`), RequestId: "put"}
	if resp, err := m.Call(ctx, isolated("notes"), lechang, put); err != nil || resp.GetStatus() != 200 {
		t.Fatalf("put in Lechang: %v %v", resp, err)
	}
	// Lechang's request under way: its capability is live, and a plugin
	// that got hold of it (how does not matter) tries it from
	// Wengyuan's process.
	token, revoke := f.deps.Capabilities.Issue(lechang, "notes", "lechang-request", audit.Actor{Kind: "account", Login: "clerk"})
	defer revoke()
	steal := func(e host.Entry) string {
		t.Helper()
		resp, err := m.Call(ctx, e, wengyuan, &pluginv1.HandleRequest{Method: "POST", Path: "/with-capability", Body: []byte(token), RequestId: "steal"})
		if err != nil {
			t.Fatal(err)
		}
		return string(resp.GetBody())
	}
	if body := steal(isolated("notes")); !strings.HasPrefix(body, "denied") || !strings.Contains(body, host.ErrOtherCounty.Error()) || strings.Contains(body, "秘密") {
		t.Fatalf("Lechang's capability at Wengyuan's process: %s, want denied", body)
	}
	// A shared process serves every county's live capability: the
	// refusal above is the isolation's, not the capability's.
	if body := steal(entry("notes")); !strings.Contains(body, "乐昌的秘密") {
		t.Fatalf("Lechang's capability at the shared process: %s", body)
	}
}

// runManager runs m's supervision until the test ends.
func runManager(t *testing.T, m *host.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// running is what runs, as plugin/county.
func running(m *host.Manager) map[string]bool {
	out := map[string]bool{}
	for _, s := range m.Statuses() {
		if s.Running {
			out[s.Plugin+"/"+s.County] = true
		}
	}
	return out
}

func TestACountysIdleProcessStopsAndStartsAgainOnDemand(t *testing.T) {
	t.Parallel()
	f := setup(t)
	opts := fastOptions()
	opts.IdleTimeout, opts.CountyIdleTimeout = time.Hour, 200*time.Millisecond
	m := manager(t, f, opts)
	runManager(t, m)
	iso, shared := isolated("notes"), entry("other")
	first := pid(t, m, iso, wengyuan)
	pid(t, m, shared, wengyuan)
	deadline := time.Now().Add(10 * time.Second)
	for running(m)["notes/"+wengyuan] {
		if time.Now().After(deadline) {
			t.Fatalf("Wengyuan's idle process still runs: %+v", m.Statuses())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !running(m)["other/"] {
		t.Fatalf("the shared process stopped with the county's timeout: %+v", m.Statuses())
	}
	if err := syscall.Kill(first, 0); err == nil {
		t.Fatalf("process %d still runs", first)
	}
	if again := pid(t, m, iso, wengyuan); again == first {
		t.Fatalf("the request after the stop went to process %d", again)
	}
	if st := m.Statuses(); len(st) != 2 || st[0].Crashes != 0 {
		t.Fatalf("a stop for want of use counted as a crash: %+v", st)
	}
}

func TestMaxProcessesStopsTheLeastRecentlyUsedIdleOne(t *testing.T) {
	// Not parallel: it counts the test process's plugin processes.
	f := setup(t)
	opts := fastOptions()
	opts.MaxProcesses = 2
	m := manager(t, f, opts)
	iso := isolated("notes")
	const third = "gd.shaoguan.renhua"
	pid(t, m, iso, wengyuan)
	pid(t, m, iso, lechang)
	pid(t, m, iso, wengyuan)
	pid(t, m, iso, third)
	if r := running(m); len(r) != 2 || !r["notes/"+wengyuan] || !r["notes/"+third] {
		t.Fatalf("running %v, want Wengyuan's and Renhua's (Lechang's was the least recently used)", r)
	}
	if n := len(children(t, os.Getpid())); n != 2 {
		t.Fatalf("%d plugin processes, want 2", n)
	}

	// With every place taken by a process under way, one more is refused.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	busy := make(chan error, 2)
	for _, county := range []string{wengyuan, third} {
		go func() {
			_, err := m.Call(ctx, iso, county, request("/hang"))
			busy <- err
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for calls := 0; calls < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("the hanging calls did not begin: %+v", m.Statuses())
		}
		time.Sleep(10 * time.Millisecond)
		calls = 0
		for _, s := range m.Statuses() {
			calls += s.Calls
		}
	}
	_, err := m.Call(context.Background(), iso, lechang, request("/echo"))
	if errs.CodeOf(err) != host.CodeModuleUnavailable || !strings.Contains(err.Error(), "maximum of 2") {
		t.Fatalf("a third process with two busy: %v", err)
	}
	cancel()
	<-busy
	<-busy
	if _, err := m.Call(context.Background(), iso, lechang, request("/echo")); err != nil {
		t.Fatalf("once they are idle: %v", err)
	}
}

// BenchmarkIsolation is the cost of per-county isolation against the
// shared process, in one run: b.N counties each make their first request
// to a county-isolated plugin (each starts its own process) and to a
// shared one (the first starts it, the others find it running). It
// reports the start to first answer per county, the memory of each
// process after it (resident, and its own: RssAnon), what each process
// costs the host (heap and goroutines), and how many counties' processes
// fit in a GiB.
func BenchmarkIsolation(b *testing.B) {
	f := benchFixture(b)
	opts := host.DefaultManagerOptions()
	opts.MaxProcesses, opts.CountyIdleTimeout = b.N+1, time.Hour
	ctx := context.Background()
	shared, iso := entry("notes"), isolated("notes")
	iso.Version = "1.0.1"
	iso.Manifest.Version = iso.Version
	// The test plugin reports the version it is told to.
	m := host.NewManager(f.deps, opts, func(e host.Entry) (host.Binary, error) {
		bin := f.bin
		bin.Manifest = e.Manifest
		bin.Env = append(slices.Clone(bin.Env), pluginVersionEnv+"="+e.Version)
		return bin, nil
	})
	b.Cleanup(m.Close)
	first := func(e host.Entry, county string) time.Duration {
		start := time.Now()
		resp, err := m.Call(ctx, e, county, &pluginv1.HandleRequest{Method: "POST", Path: "/echo", Body: payload, RequestId: "first"})
		if err != nil || resp.GetStatus() != 200 {
			b.Fatalf("%s in %s: %v %v", e.Version, county, resp, err)
		}
		return time.Since(start)
	}
	hostCost := func() (heap uint64, goroutines int) {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc, runtime.NumGoroutine()
	}
	memory := func(e host.Entry) (rss, own []int) {
		for _, s := range m.Statuses() {
			if s.Version == e.Version && s.Running {
				rss, own = append(rss, statusKiB(b, s.PID, "VmRSS")), append(own, statusKiB(b, s.PID, "RssAnon"))
			}
		}
		slices.Sort(rss)
		slices.Sort(own)
		return rss, own
	}
	median := func(kib []int) float64 { return float64(kib[len(kib)/2]) / 1024 }
	sum := func(kib []int) (n int) {
		for _, k := range kib {
			n += k
		}
		return n
	}
	county := func(i int) string { return fmt.Sprintf("bench.county%04d", i) }

	heap0, g0 := hostCost()
	sharedStart := first(shared, county(0))
	heap1, g1 := hostCost()
	var sharedFirst, isoStart []time.Duration
	b.ResetTimer()
	for i := range b.N {
		isoStart = append(isoStart, first(iso, county(i)))
		b.StopTimer()
		sharedFirst = append(sharedFirst, first(shared, county(i)))
		b.StartTimer()
	}
	b.StopTimer()
	heap2, g2 := hostCost()
	slices.Sort(isoStart)
	slices.Sort(sharedFirst)
	sharedRSS, sharedOwn := memory(shared)
	isoRSS, isoOwn := memory(iso)
	if len(isoRSS) != b.N || len(sharedRSS) != 1 {
		b.Fatalf("%d isolated processes and %d shared, want %d and 1", len(isoRSS), len(sharedRSS), b.N)
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(isoStart[len(isoStart)/2]), "iso-start-p50-ms")
	b.ReportMetric(ms(isoStart[len(isoStart)-1]), "iso-start-max-ms")
	b.ReportMetric(ms(sharedStart), "shared-start-ms")
	b.ReportMetric(ms(sharedFirst[len(sharedFirst)/2]), "shared-first-call-p50-ms")
	b.ReportMetric(median(isoRSS), "iso-rss-MiB")
	b.ReportMetric(median(isoOwn), "iso-anon-MiB")
	b.ReportMetric(float64(sum(isoOwn))/1024, "iso-anon-total-MiB")
	b.ReportMetric(median(sharedRSS), "shared-rss-MiB")
	b.ReportMetric(median(sharedOwn), "shared-anon-MiB")
	perHeap := float64(int64(heap2)-int64(heap1)) / float64(b.N) / (1 << 20)
	b.ReportMetric(perHeap, "iso-host-heap-MiB/proc")
	b.ReportMetric(float64(g2-g1)/float64(b.N), "iso-host-goroutines/proc")
	b.ReportMetric(float64(int64(heap1)-int64(heap0))/(1<<20), "shared-host-heap-MiB")
	b.ReportMetric(float64(g1-g0), "shared-host-goroutines")
	b.ReportMetric(1024/(float64(sum(isoOwn))/1024/float64(b.N)+perHeap), "iso-counties/GiB")

	// Requests once running: one county's, on its own process and on the
	// shared one, taking turns.
	var isoHot, sharedHot []time.Duration
	call := func(e host.Entry) func() error {
		return func() error {
			_, err := m.Call(ctx, e, county(0), &pluginv1.HandleRequest{Method: "POST", Path: "/echo", Body: payload, RequestId: "hot"})
			return err
		}
	}
	for range 5 {
		isoHot = append(isoHot, run(b, 8, 1000, call(iso))...)
		sharedHot = append(sharedHot, run(b, 8, 1000, call(shared))...)
	}
	slices.Sort(isoHot)
	slices.Sort(sharedHot)
	b.ReportMetric(float64(isoHot[len(isoHot)/2])/float64(sharedHot[len(sharedHot)/2]), "iso/shared-request-p50")
}
