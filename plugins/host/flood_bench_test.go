package host_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/plugins/host"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// BenchmarkAnotherCountyWhileAPluginFloods measures Lechang's requests
// while the hostile plugin, serving Wengyuan, floods the host with
// everything at once (2,000 host calls at a time, output, every CPU
// spinning), against the same requests with the plugin idle, in rounds
// taking turns within one run:
//
//	go test ./plugins/host -run '^$' -bench AnotherCountyWhileAPluginFloods -benchtime 2000x
//
// COUNTYCLOUD_BENCH_FLOOD=cpu (or print, calls, or several, comma
// separated) floods with those only.
//
// Two requests of Lechang's: a module request of the notes plugin that
// reads a record through the host (module), and a query of Lechang's
// schema as a platform route makes one (query). Each reports p50 and p99
// in µs idle and flooded, and the flooded p99 against the idle (the goal
// is at most 2).
const floodEnv = "COUNTYCLOUD_BENCH_FLOOD"

func BenchmarkAnotherCountyWhileAPluginFloods(b *testing.B) {
	f := benchFixture(b)
	notes := launchBench(b, f, f.bin)
	hostile := launchBench(b, f, hostileBinary(f))
	if _, err := notes.Handle(context.Background(), lechang, &pluginv1.HandleRequest{Method: "PUT", Path: "/notes/bench", Body: []byte(`{"text":"乐昌"}`), RequestId: "put"}); err != nil {
		b.Fatal(err)
	}
	requests := []struct {
		name string
		call func() error
	}{
		{"module", func() error {
			resp, err := notes.Handle(context.Background(), lechang, &pluginv1.HandleRequest{Method: "GET", Path: "/get", RequestId: "get"})
			if err == nil && resp.GetStatus() != 200 {
				b.Fatalf("Lechang's request: %d %s", resp.GetStatus(), resp.GetBody())
			}
			return err
		}},
		{"query", func() error {
			return f.deps.Router.InTenant(context.Background(), lechang, func(ctx context.Context, conn *sqlx.Conn) error {
				var n int
				return conn.GetContext(ctx, &n, "SELECT COUNT(*) FROM plugin_records")
			})
		}},
	}
	const rounds = 5
	idle := make([][]time.Duration, len(requests))
	flooded := make([][]time.Duration, len(requests))
	b.ResetTimer()
	for range rounds {
		n := max(1, b.N/rounds)
		for i, req := range requests {
			idle[i] = append(idle[i], run(b, 1, n, req.call)...)
		}
		stop := flood(hostile)
		for i, req := range requests {
			flooded[i] = append(flooded[i], run(b, 1, n, req.call)...)
		}
		stop()
	}
	b.StopTimer()
	for i, req := range requests {
		slices.Sort(idle[i])
		slices.Sort(flooded[i])
		p := func(l []time.Duration, q int) time.Duration { return l[len(l)*q/100] }
		b.ReportMetric(float64(p(idle[i], 50).Microseconds()), req.name+"-idle-p50-µs")
		b.ReportMetric(float64(p(idle[i], 99).Microseconds()), req.name+"-idle-p99-µs")
		b.ReportMetric(float64(p(flooded[i], 50).Microseconds()), req.name+"-flooded-p50-µs")
		b.ReportMetric(float64(p(flooded[i], 99).Microseconds()), req.name+"-flooded-p99-µs")
		b.ReportMetric(float64(p(flooded[i], 99))/float64(p(idle[i], 99)), req.name+"-flooded/idle-p99")
	}
}

// flood has the hostile plugin flood the host until stop is called,
// which returns once the flood has ended.
func flood(hostile *host.Process) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			hostile.Handle(ctx, wengyuan, &pluginv1.HandleRequest{Path: "/flood", Query: "n=2000&d=10s&what=" + os.Getenv(floodEnv), RequestId: "flood"})
		}
	})
	// The flood under way before the first request.
	time.Sleep(200 * time.Millisecond)
	return func() {
		cancel()
		wg.Wait()
	}
}

func launchBench(b *testing.B, f fixture, bin host.Binary) *host.Process {
	b.Helper()
	p, err := host.Launch(context.Background(), bin, f.deps)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(p.Close)
	return p
}
