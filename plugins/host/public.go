package host

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/kit/endpoint"
	httptransport "github.com/go-kit/kit/transport/http"
	"golang.org/x/time/rate"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/plugins/sdk"
	"github.com/countycloud/countycloud/plugins/sdk/proto/pluginv1"
)

// CodePublicRouteNotFound is the answer to every public request the host
// does not pass to a module: no such county, a county not serving, a
// module it has not enabled, a route the manifest does not open. They
// answer alike, so that nobody learns from outside which counties use
// which modules.
const CodePublicRouteNotFound = "public_route_not_found"

// PublicOptions bound what anyone may send to the modules' public routes.
type PublicOptions struct {
	// BodyLimit is the largest body of a public request, in bytes;
	// DefaultPublicBodyLimit if zero.
	BodyLimit int64
	// PerSecond is the public requests one address may make a second, in
	// bursts of Burst; DefaultPublicRate and twice that if zero.
	PerSecond float64
	Burst     int
}

// Defaults of PublicOptions: a citizen's form is a few KiB, and a person
// submits and queries far less often than once a second.
const (
	DefaultPublicBodyLimit = 64 << 10
	DefaultPublicRate      = 1.0
)

func (o PublicOptions) withDefaults() PublicOptions {
	if o.BodyLimit <= 0 {
		o.BodyLimit = DefaultPublicBodyLimit
	}
	if o.PerSecond <= 0 {
		o.PerSecond = DefaultPublicRate
	}
	if o.Burst <= 0 {
		o.Burst = max(1, int(2*o.PerSecond))
	}
	return o
}

// PublicAuditAction is the action of the audit entry the host writes for
// every public request that reaches a county: the actor anonymous, the
// source the caller's address, the object the module.
const PublicAuditAction = "module.public"

// PublicRoutes serves the routes the modules' manifests open to anyone,
// without a token:
//
//	GET, POST, PUT, PATCH, DELETE  /v1/public/{code}/modules/{plugin}/…
//
// The path after the module is what the module sees, and the request
// reaches the module only if the method and that path match one of the
// manifest's public routes, the county is ready and has the module
// enabled; nothing else is reachable under the prefix. Each address has
// its own rate, bodies their own limit and the checks of every JSON body
// (kit.ReadJSON, the classified guard among them), the module's answer
// the rules of answer, and each request that reaches a county an entry
// in its audit trail.
func (s *Service) PublicRoutes(opts PublicOptions, guard func(route string) endpoint.Middleware, serverOpts ...httptransport.ServerOption) []kit.Route {
	opts = opts.withDefaults()
	p := &public{service: s, limits: &addressLimits{perSecond: opts.PerSecond, burst: opts.Burst, limiters: map[string]*rate.Limiter{}}}
	var routes []kit.Route
	for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		routes = append(routes, kit.Route{Method: method, Pattern: "/v1/public/{code}/modules/{plugin}/{path...}", Name: "module.public",
			MaxBody: opts.BodyLimit, Handler: kit.NewServer(guard("module.public"), p.serve, decodePublic, encodeCall, serverOpts...)})
	}
	return routes
}

type public struct {
	service *Service
	limits  *addressLimits
}

// publicRequest is a public request as decoded: its body's problem, if
// it has one, waits until the address's rate is spent, so that bad
// bodies cost a flood as much as good ones and are audited like them.
type publicRequest struct {
	moduleRequest
	bodyErr error
}

func decodePublic(ctx context.Context, r *http.Request) (any, error) {
	body, bodyErr := kit.ReadJSON(r)
	headers := map[string]string{}
	for _, h := range requestHeaders {
		if v := r.Header.Get(h); v != "" {
			headers[h] = v
		}
	}
	return publicRequest{bodyErr: bodyErr, moduleRequest: moduleRequest{tenant: r.PathValue("code"), plugin: r.PathValue("plugin"), call: &pluginv1.HandleRequest{
		Method: r.Method, Path: "/" + r.PathValue("path"), Query: r.URL.RawQuery, Headers: headers, Body: body,
		Caller:    &pluginv1.Caller{Kind: CallerAnonymous, Login: CallerAnonymous, Address: kit.SourceAddr(ctx)},
		RequestId: kit.RequestID(ctx),
	}}}, nil
}

func (p *public) serve(ctx context.Context, request any) (any, error) {
	r := request.(publicRequest)
	address := r.call.GetCaller().GetAddress()
	if err := p.limits.allow(address); err != nil {
		return nil, err
	}
	if err := p.service.tenants.Ready(ctx, r.tenant); err != nil {
		return nil, notPublic(r.moduleRequest)
	}
	trail := &publicTrail{entry: p.entry(ctx, r.moduleRequest, address)}
	resp, err := p.call(withPublicTrail(ctx, trail), r)
	if trail.settle() {
		p.audit(ctx, r.tenant, r.plugin, trail.entry, err)
	}
	if err != nil {
		return nil, err
	}
	return publicAnswer(r.tenant, r.plugin, r.call.GetMethod(), resp)
}

// call passes r to its module if the county enabled it and its manifest
// opens the route.
func (p *public) call(ctx context.Context, r publicRequest) (*pluginv1.HandleResponse, error) {
	m, err := p.service.module(ctx, r.tenant, r.plugin)
	if errs.CodeOf(err) == CodeModuleNotEnabled {
		return nil, notPublic(r.moduleRequest)
	}
	if err != nil {
		return nil, err
	}
	e, err := p.service.entry(ctx, r.plugin, m.Version)
	if err != nil {
		return nil, err
	}
	if !matchPublic(e.Manifest.Public, r.call.GetMethod(), r.call.GetPath()) {
		return nil, notPublic(r.moduleRequest)
	}
	if r.bodyErr != nil {
		return nil, r.bodyErr
	}
	r.call.Settings = m.Settings
	return p.service.manager.Call(ctx, e, r.tenant, r.call)
}

func notPublic(r moduleRequest) error {
	return errs.NotFound(CodePublicRouteNotFound, "no public route %s %s of module %s in county %s", r.call.GetMethod(), r.call.GetPath(), r.plugin, r.tenant)
}

// entry is r's entry in its county's trail: passed to the module
// (whatever the module then answers, which is the module's to audit).
func (p *public) entry(ctx context.Context, r moduleRequest, address string) audit.Entry {
	return audit.Entry{At: p.service.now().UTC(), ActorKind: CallerAnonymous, ActorLogin: CallerAnonymous, Action: PublicAuditAction,
		ObjectType: "module", ObjectID: r.plugin, Outcome: audit.OK, RequestID: clip(kit.RequestID(ctx), maxRequestID), Source: address}
}

// audit records e in county's trail, refused with its code if the host
// refused the request.
func (p *public) audit(ctx context.Context, county, plugin string, e audit.Entry, refused error) {
	if refused != nil {
		code := errs.CodeOf(refused)
		e.Outcome, e.Code = audit.Refused, &code
	}
	ctx = context.WithoutCancel(ctx)
	db, schema, err := p.service.manager.deps.Router.InTenantQualified(ctx, county)
	if err == nil {
		err = audit.WriteIn(ctx, db, schema, e)
	}
	if err != nil {
		p.service.manager.deps.Log.WarnContext(ctx, "recording a public request failed", "county", county, "plugin", plugin, "err", err)
	}
}

// publicTrail is a public request's entry in its county's trail, which a
// submission the module makes for the request writes in its own
// transaction (Submissions.Submit): one commit for the two, where the
// host would otherwise write the entry in a second once the module has
// answered.
type publicTrail struct {
	entry audit.Entry

	// mu is held through a submission's transaction, so that the
	// request, answered meanwhile, waits to learn whether it wrote the
	// entry.
	mu              sync.Mutex
	written, closed bool
}

type publicTrailKey struct{}

func withPublicTrail(ctx context.Context, t *publicTrail) context.Context {
	return context.WithValue(ctx, publicTrailKey{}, t)
}

func publicTrailFrom(ctx context.Context) *publicTrail {
	t, _ := ctx.Value(publicTrailKey{}).(*publicTrail)
	return t
}

// carry runs write with the entry to write alongside, or nil once it is
// written or its request answered; the entry counts as written if write
// succeeds.
func (t *publicTrail) carry(write func(entry *audit.Entry) error) error {
	if t == nil {
		return write(nil)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.written || t.closed {
		return write(nil)
	}
	if err := write(&t.entry); err != nil {
		return err
	}
	t.written = true
	return nil
}

// settle closes t to submissions and reports whether its entry is still
// to be written.
func (t *publicTrail) settle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	return !t.written
}

// matchPublic reports whether method and path (as the module would see
// it) match one of routes: the same method, as many segments, each equal
// to the route's or matched by a {name}, which takes any one segment but
// an empty one, . or .. .
func matchPublic(routes []sdk.PublicRoute, method, path string) bool {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return false
	}
	segments := strings.Split(rest, "/")
	for _, r := range routes {
		pattern, ok := strings.CutPrefix(r.Path, "/")
		if r.Method != method || !ok {
			continue
		}
		if matchSegments(strings.Split(pattern, "/"), segments) {
			return true
		}
	}
	return false
}

func matchSegments(pattern, segments []string) bool {
	if len(pattern) != len(segments) {
		return false
	}
	for i, want := range pattern {
		got := segments[i]
		if len(want) > 2 && want[0] == '{' && want[len(want)-1] == '}' {
			if got == "" || got == "." || got == ".." {
				return false
			}
			continue
		}
		if got != want {
			return false
		}
	}
	return true
}

// addressLimits is each address's rate of public requests.
type addressLimits struct {
	perSecond float64
	burst     int

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// limitKey is what one caller's rate is kept under: an IPv4 address (as
// itself, also when written as IPv6), or an IPv6 address's /64, the
// network one subscriber is given: counted address by address, anyone
// with one would have 2^64 rates of their own, enough to try query codes
// without limit and to push every other address's rate out of the map.
func limitKey(address string) string {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return address
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// maxAddressLimiters bounds the limiters kept; past it they are dropped
// and start full again, which only ever errs towards letting requests in.
const maxAddressLimiters = 100_000

func (l *addressLimits) allow(address string) error {
	key := limitKey(address)
	l.mu.Lock()
	lim, ok := l.limiters[key]
	if !ok {
		if len(l.limiters) >= maxAddressLimiters {
			clear(l.limiters)
		}
		lim = rate.NewLimiter(rate.Limit(l.perSecond), l.burst)
		l.limiters[key] = lim
	}
	l.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return &errs.Error{Kind: errs.KindTooManyRequests, Code: auth.CodeRateLimited, RetryAfter: d,
			Message: fmt.Sprintf("too many public requests from your address; retry in %s", d.Round(time.Millisecond))}
	}
	return nil
}
