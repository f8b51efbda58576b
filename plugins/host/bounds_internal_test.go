package host

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// Calls of one plugin, and of one county across plugins, are served a
// few at once; those that wait past callWait are refused as
// ResourceExhausted, and the others are served.
func TestHostCallsAreServedAFewAtOnce(t *testing.T) {
	t.Parallel()
	caps := NewCapabilities(time.Minute, time.Now)
	counties := NewCountyCalls()
	for _, tc := range []struct {
		name     string
		counties []string
		plugins  []string
		most     int32
	}{
		{"one plugin, three counties", []string{"gd.shaoguan.wengyuan", "gd.shaoguan.lechang", "gd.shaoguan.renhua"}, []string{"flood"}, pluginCalls},
		{"one county, three plugins", []string{"gd.shaoguan.wengyuan"}, []string{"a", "b", "c"}, countyCalls},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var running, most atomic.Int32
			release := make(chan struct{})
			handler := func(context.Context, any) (any, error) {
				for n := running.Add(1); ; {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				<-release
				running.Add(-1)
				return "served", nil
			}
			var wg sync.WaitGroup
			var refused atomic.Int32
			for _, plugin := range tc.plugins {
				l := newCallLimits(plugin, DefaultHostCallRate, caps, counties)
				for i := range 100 {
					token, revoke := caps.Issue(tc.counties[i%len(tc.counties)], plugin, "r1", audit.Actor{Kind: "account", Login: "clerk"})
					defer revoke()
					wg.Go(func() {
						_, err := l.intercept(context.Background(), &pluginv1.GetRecordRequest{Capability: token}, &grpc.UnaryServerInfo{}, handler)
						if status.Code(err) == codes.ResourceExhausted {
							refused.Add(1)
						}
					})
				}
			}
			time.Sleep(2 * callWait)
			close(release)
			wg.Wait()
			if most.Load() != tc.most || refused.Load() == 0 {
				t.Fatalf("%d calls at once (want %d), %d refused", most.Load(), tc.most, refused.Load())
			}
		})
	}
}

// A plugin past its calls a second waits for its turn up to callWait,
// then is refused; the rate is the operator's (--plugin-host-calls).
func TestHostCallsPastTheRateAreRefused(t *testing.T) {
	// Not parallel: what the rate lets through is counted in wall time, which tests beside it would stretch.
	caps := NewCapabilities(time.Minute, time.Now)
	token, revoke := caps.Issue("gd.shaoguan.wengyuan", "chatty", "r1", audit.Actor{Kind: "account", Login: "clerk"})
	defer revoke()
	const perSecond, calls = 10, 40
	l := newCallLimits("chatty", perSecond, caps, NewCountyCalls())
	handler := func(context.Context, any) (any, error) { return "served", nil }
	var served, refused atomic.Int32
	var wg sync.WaitGroup
	for range calls {
		wg.Go(func() {
			_, err := l.intercept(context.Background(), &pluginv1.GetRecordRequest{Capability: token}, &grpc.UnaryServerInfo{}, handler)
			switch {
			case err == nil:
				served.Add(1)
			case status.Code(err) == codes.ResourceExhausted:
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// A burst of one, then one every 100 ms for the half second the
	// others wait: six, and a few more on a slow machine.
	if served.Load() > 12 || served.Load()+refused.Load() != calls {
		t.Fatalf("%d served and %d refused of %d calls at %d a second", served.Load(), refused.Load(), calls, perSecond)
	}
}
