package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	kitjwt "github.com/go-kit/kit/auth/jwt"
	"github.com/go-kit/kit/endpoint"
	"github.com/golang-jwt/jwt/v4"
	"golang.org/x/time/rate"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/kit"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// accessClaims are an access token's claims: enough to authorise a
// request without reading the database.
type accessClaims struct {
	jwt.RegisteredClaims
	Kind       Kind     `json:"knd"`
	Tenant     string   `json:"ten,omitempty"`
	Login      string   `json:"lgn"`
	Name       string   `json:"nam,omitempty"`
	Unit       int64    `json:"unt,omitempty"`
	Roles      []string `json:"rol,omitempty"`
	Session    string   `json:"sid"`
	MustChange bool     `json:"mcp,omitempty"`
	// Security is an account's security version at issue.
	Security int64 `json:"sv,omitempty"`
}

const issuer = "countycloud"

// Recorder appends to a county's audit trail.
type Recorder interface {
	Record(ctx context.Context, tenant string, e audit.Entry) error
}

// WriteHolds refuses the writes to a county held for billing
// (registry.Locator), with billing_suspended.
type WriteHolds interface {
	Writable(ctx context.Context, tenant string) error
}

// Limits are the request rates allowed per county and per principal; a
// zero rate is no limit.
type Limits struct {
	CountyPerSecond  float64
	CountyBurst      int
	AccountPerSecond float64
	AccountBurst     int
}

// Guard authenticates, binds to the county, authorises against the policy
// and rate-limits every request: one endpoint middleware per route.
type Guard struct {
	policy    map[string]Rule
	parseJWT  endpoint.Endpoint
	verified  *ttlcache.Cache[string, verifiedAccess]
	sessions  *Sessions
	tokens    *APITokens
	vendors   *VendorTokens
	standings *standings
	trail     Recorder
	holds     WriteHolds
	limits    Limits
	log       *slog.Logger

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// maxLimiters bounds the limiters kept; past it they are dropped and
// start full again, which only ever errs towards letting requests in.
const maxLimiters = 100_000

func newGuard(keys *KeyRing, sessions *Sessions, tokens *APITokens, vendors *VendorTokens, standings *standings, trail Recorder, holds WriteHolds, limits Limits, log *slog.Logger) *Guard {
	claims := func(ctx context.Context, _ any) (any, error) { return ctx.Value(kitjwt.JWTClaimsContextKey), nil }
	return &Guard{
		policy:    Policy(),
		parseJWT:  kitjwt.NewParser(keys.Keyfunc, jwt.SigningMethodHS256, func() jwt.Claims { return &accessClaims{} })(claims),
		verified:  ttlcache.New[string, verifiedAccess](verifiedAccessTTL, maxVerifiedAccess),
		sessions:  sessions,
		tokens:    tokens,
		vendors:   vendors,
		standings: standings,
		trail:     trail,
		holds:     holds,
		limits:    limits,
		log:       log,
		limiters:  map[string]*rate.Limiter{},
	}
}

// For returns the middleware of route, which must have a rule.
func (g *Guard) For(route string) endpoint.Middleware {
	rule, ok := g.policy[route]
	if !ok {
		panic(fmt.Sprintf("route %s has no rule in auth.Policy", route))
	}
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			tenant := PathTenant(ctx)
			p, err := g.authenticate(ctx, rule)
			if err == nil {
				err = authorize(p, rule, route, tenant)
			}
			if err == nil {
				err = g.writable(ctx, p, rule, tenant)
			}
			if err != nil {
				g.recordRefusal(ctx, p, route, tenant, err)
				return nil, err
			}
			if err := g.allow(ctx, p, tenant); err != nil {
				return nil, err
			}
			ctx = WithPrincipal(ctx, p)
			ctx = audit.WithActor(ctx, actorOf(p))
			response, err := next(ctx, request)
			if err != nil && refusal(rule, err) {
				g.recordRefusal(ctx, p, route, tenant, err)
			}
			return response, err
		}
	}
}

// writable refuses a write to a county held for billing, after the
// caller is known to be one who may write there: anyone else learns
// nothing of the hold. Reads, public routes (a citizen's submission
// included) and routes that name no county go on, as do the Settling
// routes an operator calls. One's own credentials are not under a
// county's path: a held county's staff still log in and change a
// password they must change, to read.
func (g *Guard) writable(ctx context.Context, p Principal, rule Rule, tenant string) error {
	if !rule.Write || rule.Public || tenant == "" || g.holds == nil || (rule.Settling && p.Kind == KindOperator) {
		return nil
	}
	return g.holds.Writable(ctx, tenant)
}

// refusal reports whether err, from past the policy, refuses the request
// rather than fails it: what the service forbids (classified content, a
// unit out of reach), and on a write route every answer that it will not
// do what was asked (a bad code, a duplicate, an unknown parent, a body
// too large). The platform's own faults and limits are not refusals.
func refusal(rule Rule, err error) bool {
	switch errs.As(err).Kind {
	case errs.KindForbidden:
		return true
	case errs.KindInternal, errs.KindUnavailable, errs.KindTooManyRequests:
		return false
	default:
		return rule.Write
	}
}

func actorOf(p Principal) audit.Actor {
	return audit.Actor{Kind: string(p.Kind), ID: p.ID, Login: p.Login, Unit: p.Unit}
}

// actorIn is p as the trail of tenant records it. An account's id and
// unit mean something only in its own county: elsewhere (another
// county's trail, the province's) they would name someone else, so
// there it is named by its login at its county, which no login of that
// trail can equal (logins have no @).
func actorIn(p Principal, tenant string) audit.Actor {
	if p.Kind != KindAccount || p.Tenant == tenant {
		return actorOf(p)
	}
	return audit.Actor{Kind: string(p.Kind), Login: p.Login + "@" + p.Tenant}
}

// recordRefusal writes a refused request to the trail of the county of
// its route, or the province's. Refusals spend the county's and the
// caller's rate like requests do, so a flood of them cannot flood the
// trail.
func (g *Guard) recordRefusal(ctx context.Context, p Principal, route, tenant string, err error) {
	if e := errs.As(err); e.Kind == errs.KindInternal || e.Kind == errs.KindUnavailable {
		return
	}
	if p.Kind == "" {
		p = anonymous
	}
	if g.allow(ctx, p, tenant) != nil {
		return
	}
	actx := audit.WithActor(ctx, actorIn(p, tenant))
	// A county that does not exist has no trail to write to.
	if rerr := g.trail.Record(actx, tenant, audit.Refusal(actx, route, "route", route, errs.CodeOf(err))); rerr != nil && errs.CodeOf(rerr) != errs.CodeTenantNotFound {
		g.log.WarnContext(ctx, "recording a refused request failed", "err", rerr)
	}
}

// authenticate establishes who calls; anyone may call a public route.
func (g *Guard) authenticate(ctx context.Context, rule Rule) (Principal, error) {
	token, _ := ctx.Value(kitjwt.JWTContextKey).(string)
	switch {
	case rule.Public:
		return anonymous, nil
	case token == "":
		return Principal{}, errMissingToken
	case strings.Count(token, ".") == 2:
		return g.verifyAccess(ctx, token)
	case strings.HasPrefix(token, VendorTokenPrefix):
		return g.vendors.verify(ctx, token)
	case plausibleAPIToken(token):
		return g.tokens.verify(ctx, token, g.standings)
	default:
		return Principal{}, errInvalidToken
	}
}

// verifiedAccess is an access token that passed verification, kept so
// that a caller's next requests skip parsing and checking it again.
type verifiedAccess struct {
	principal Principal
	expires   time.Time
}

// verifiedAccessTTL bounds how long a verified token is kept; revocation
// is checked on every request regardless. maxVerifiedAccess bounds how
// many are kept (one per caller active in the last few seconds).
const (
	verifiedAccessTTL = 5 * time.Second
	maxVerifiedAccess = 100_000
)

func (g *Guard) verifyAccess(ctx context.Context, token string) (Principal, error) {
	v, ok := g.verified.Get(token)
	if !ok || !time.Now().Before(v.expires) {
		p, expires, err := g.parseAccess(ctx, token)
		if err != nil {
			return Principal{}, err
		}
		v = verifiedAccess{principal: p, expires: expires}
		g.verified.Put(token, v)
	}
	revoked, err := g.sessions.IsRevoked(ctx, v.principal.Session)
	if err != nil {
		return Principal{}, err
	}
	if revoked {
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "this session was ended; log in again")
	}
	if err := g.standings.check(ctx, v.principal); err != nil {
		return Principal{}, err
	}
	return v.principal, nil
}

// parseAccess checks an access token's signature, key, expiry and claims.
func (g *Guard) parseAccess(ctx context.Context, token string) (Principal, time.Time, error) {
	res, err := g.parseJWT(context.WithValue(ctx, kitjwt.JWTContextKey, token), nil)
	switch {
	case errors.Is(err, kitjwt.ErrTokenExpired):
		return Principal{}, time.Time{}, errs.E(errs.KindUnauthenticated, CodeTokenExpired, "the access token has expired; refresh it")
	case err != nil:
		return Principal{}, time.Time{}, errInvalidToken
	}
	c, ok := res.(*accessClaims)
	if !ok || c.Issuer != issuer || c.Session == "" || c.ExpiresAt == nil || (c.Kind != KindOperator && c.Kind != KindAccount) || (c.Kind == KindAccount) == (c.Tenant == "") {
		return Principal{}, time.Time{}, errInvalidToken
	}
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil {
		return Principal{}, time.Time{}, errInvalidToken
	}
	p := Principal{Kind: c.Kind, ID: id, Login: c.Login, Name: c.Name, Tenant: c.Tenant, Unit: c.Unit, Roles: c.Roles, Session: c.Session,
		MustChange: c.MustChange, SecurityVersion: c.Security}
	return p, c.ExpiresAt.Time, nil
}

// notFoundTenant is what a county's route answers a principal of another
// county: exactly what it answers for a county that does not exist.
func notFoundTenant(code string) error {
	return errs.NotFound(errs.CodeTenantNotFound, "tenant %s does not exist", code)
}

func authorize(p Principal, rule Rule, route, tenant string) error {
	if rule.Public {
		return nil
	}
	if p.Kind == KindAccount && tenant != "" && p.Tenant != tenant {
		return notFoundTenant(tenant)
	}
	if p.MustChange && route != "auth.password.change" && route != "auth.me" && route != "auth.logout" {
		return errs.E(errs.KindForbidden, CodePasswordChange, "change your password first: POST /v1/auth/password")
	}
	if p.Scopes != nil {
		need := ScopeRead
		if rule.Write {
			need = ScopeWrite
		}
		if !slices.Contains(p.Scopes, need) && !(need == ScopeRead && slices.Contains(p.Scopes, ScopeWrite)) {
			return errs.E(errs.KindForbidden, CodeForbidden, "this API token lacks the %s scope", need)
		}
	}
	// A vendor reaches the routes that say so and nothing else: not even
	// what is any principal's own, as it has none.
	if p.Kind == KindVendor {
		if rule.Vendor {
			return nil
		}
		return errs.E(errs.KindForbidden, CodeForbidden, "a vendor's token reaches only the feedback on the vendor's modules, not %s", route)
	}
	if rule.Self {
		return nil
	}
	for _, r := range rule.Roles {
		if holds(p, r) {
			return nil
		}
	}
	return errs.E(errs.KindForbidden, CodeForbidden, "%s is not allowed to %s", describe(p), route)
}

// holds reports whether p holds role as the policy means it. The
// operator's role comes only from being an operator, and staff from
// being an account; an account holds no other role than the county roles
// it was given, whatever codes they have.
func holds(p Principal, role string) bool {
	switch {
	case role == RoleOperator:
		return p.Kind == KindOperator
	case role == RoleStaff:
		return p.Kind == KindAccount
	case IsReservedRole(role):
		return false
	}
	return p.Kind == KindAccount && p.Has(role)
}

func describe(p Principal) string {
	if len(p.Roles) == 0 {
		return "an account without roles"
	}
	return "roles " + strings.Join(p.Roles, ", ")
}

// allow spends one request of the caller's rate (an account's or an
// operator's own, or the address's of a caller without a token), then
// one of the county's. The caller's comes first so that one account
// refused for going too fast does not spend its county's requests.
func (g *Guard) allow(ctx context.Context, p Principal, tenant string) error {
	var own *rate.Reservation
	if g.limits.AccountPerSecond > 0 {
		key, who := fmt.Sprintf("principal:%s:%d", p.Tenant, p.ID), "your account"
		switch p.Kind {
		case KindAnonymous:
			key, who = "source:"+kit.SourceAddr(ctx), "your address"
		case KindVendor:
			key, who = "vendor:"+p.Login, "your vendor"
		}
		var err error
		if own, err = g.take(key, g.limits.AccountPerSecond, g.limits.AccountBurst, who); err != nil {
			return err
		}
	}
	if tenant != "" && g.limits.CountyPerSecond > 0 {
		if _, err := g.take("county:"+tenant, g.limits.CountyPerSecond, g.limits.CountyBurst, "county "+tenant); err != nil {
			if own != nil {
				own.Cancel()
			}
			return err
		}
	}
	return nil
}

// take reserves one request of the limiter under key, or says how long
// to wait for it.
func (g *Guard) take(key string, perSecond float64, burst int, who string) (*rate.Reservation, error) {
	g.mu.Lock()
	lim, ok := g.limiters[key]
	if !ok {
		if len(g.limiters) >= maxLimiters {
			clear(g.limiters)
		}
		lim = rate.NewLimiter(rate.Limit(perSecond), burst)
		g.limiters[key] = lim
	}
	g.mu.Unlock()
	r := lim.Reserve()
	if d := r.Delay(); d > 0 {
		r.Cancel()
		return nil, &errs.Error{Kind: errs.KindTooManyRequests, Code: CodeRateLimited, RetryAfter: d,
			Message: fmt.Sprintf("too many requests for %s; retry in %s", who, d.Round(time.Millisecond))}
	}
	return r, nil
}

type pathTenantKey struct{}

// PathTenantToContext is a go-kit ServerBefore function keeping the county
// a request's path names, for the guard to bind the principal to.
func PathTenantToContext(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, pathTenantKey{}, r.PathValue("code"))
}

// PathTenant is the county the request's path names, or "".
func PathTenant(ctx context.Context) string {
	code, _ := ctx.Value(pathTenantKey{}).(string)
	return code
}
