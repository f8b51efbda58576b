package host

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/time/rate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// What a plugin may cost the host through the protocol, whatever it
// sends.
const (
	// brokerPending is how many of a plugin's messages on go-plugin's
	// broker stream the host holds at once. go-plugin keeps each
	// (a map entry and a goroutine) for brokerHeld unless the host dials
	// it, which this host never does: so a plugin flooding the stream
	// waits, rather than growing the host.
	brokerPending = 16
	brokerHeld    = 5 * time.Second
	// maxHostConns is how many connections a plugin may hold to the host
	// services; it needs one.
	maxHostConns = 4
	// maxHostStreams bounds the calls under way on one connection, so
	// that calls past the limits below wait in the plugin, not in the
	// host.
	maxHostStreams = 32
	// A plugin has at most pluginCalls host-service calls under way and
	// Deps.HostCallRate a second; a county at most countyCalls, across
	// its plugins. A call past them waits up to callWait, then is refused
	// with ResourceExhausted (sdk.ErrBusy). One process of a plugin serves
	// every county that enables it, so its bound is that of a province's
	// counties at work at once: half the default database pool, leaving
	// the rest to the platform and the other plugins; what keeps one
	// county's flood from the others is the county's bound.
	pluginCalls = 16
	countyCalls = 8
	callWait    = 500 * time.Millisecond
)

// brokerStream is the host's side of go-plugin's broker stream, holding
// a plugin to brokerPending messages every brokerHeld.
func brokerStream() grpc.StreamClientInterceptor {
	slots := make(chan struct{}, brokerPending)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil || method != "/plugin.GRPCBroker/StartStream" {
			return s, err
		}
		return &boundedStream{ClientStream: s, slots: slots}, nil
	}
}

type boundedStream struct {
	grpc.ClientStream
	slots chan struct{}
}

func (s *boundedStream) RecvMsg(m any) error {
	select {
	case s.slots <- struct{}{}:
	case <-s.Context().Done():
		return s.Context().Err()
	}
	if err := s.ClientStream.RecvMsg(m); err != nil {
		<-s.slots
		return err
	}
	time.AfterFunc(brokerHeld, func() { <-s.slots })
	return nil
}

// serveHost serves the host services to a plugin on ln until ctx ends:
// at most maxHostConns connections, maxHostStreams calls on each, the
// call limits of calls, and no request with a field the host does not
// know (refuseUnknownFields). A pool of stream workers, one for each call
// a plugin may have served at once, serves the calls, as the SDK's
// server does for the host's calls: a call runs on a goroutine whose stack grew
// serving others, rather than on a new one that grows its stack again
// for each call (the database driver's calls grow it).
func serveHost(ctx context.Context, ln net.Listener, tlsConfig *tls.Config, calls *callLimits, register func(*grpc.Server)) {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(maxHostMessage),
		grpc.MaxConcurrentStreams(maxHostStreams),
		grpc.ChainUnaryInterceptor(calls.intercept, refuseUnknownFields),
		grpc.NumStreamWorkers(pluginCalls),
	}
	if tlsConfig != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsConfig)))
	}
	s := grpc.NewServer(opts...)
	register(s)
	stop := context.AfterFunc(ctx, s.Stop)
	defer stop()
	_ = s.Serve(netutil.LimitListener(ln, maxHostConns))
}

// CountyCalls bounds each county's host-service calls under way, across
// the plugins serving it. One is shared by every process of a Manager.
type CountyCalls struct {
	mu    sync.Mutex
	slots map[string]chan struct{}
}

// NewCountyCalls returns the bounds of no county yet.
func NewCountyCalls() *CountyCalls { return &CountyCalls{slots: map[string]chan struct{}{}} }

func (c *CountyCalls) of(county string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.slots[county]
	if !ok {
		s = make(chan struct{}, countyCalls)
		c.slots[county] = s
	}
	return s
}

// callLimits are one plugin process's bounds on its host-service calls.
type callLimits struct {
	plugin   string
	caps     *Capabilities
	counties *CountyCalls
	rate     *rate.Limiter
	slots    chan struct{}
}

func newCallLimits(plugin string, perSecond int, caps *Capabilities, counties *CountyCalls) *callLimits {
	return &callLimits{plugin: plugin, caps: caps, counties: counties,
		rate: rate.NewLimiter(rate.Limit(perSecond), max(1, perSecond/10)), slots: make(chan struct{}, pluginCalls)}
}

// capabilityRequest is every host-service request: each carries the
// capability of the request it serves.
type capabilityRequest interface{ GetCapability() string }

func (l *callLimits) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	wait, cancel := context.WithTimeout(ctx, callWait)
	defer cancel()
	if err := l.rate.Wait(wait); err != nil {
		return nil, status.Errorf(codes.ResourceExhausted, "plugin %s calls the host more than %.0f times a second; try again later", l.plugin, float64(l.rate.Limit()))
	}
	release, err := acquire(wait, l.slots)
	if err != nil {
		return nil, status.Errorf(codes.ResourceExhausted, "plugin %s has %d calls to the host under way; try again when one is answered", l.plugin, pluginCalls)
	}
	defer release()
	// A call whose capability does not check is refused by the service
	// itself; only a live capability names a county to count against.
	if r, ok := req.(capabilityRequest); ok {
		if c, err := l.caps.Check(r.GetCapability()); err == nil && c.Plugin == l.plugin {
			releaseCounty, err := acquire(wait, l.counties.of(c.County))
			if err != nil {
				return nil, status.Errorf(codes.ResourceExhausted, "county %s has %d calls to the host under way; try again when one is answered", c.County, countyCalls)
			}
			defer releaseCounty()
		}
	}
	return handler(ctx, req)
}

func acquire(ctx context.Context, slots chan struct{}) (func(), error) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
