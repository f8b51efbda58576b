// Package auth is who may do what: operators' and accounts' passwords
// (argon2id), logins with short-lived access tokens (JWT, HS256 keys with a
// kid, rotated) and one-use refresh tokens, API tokens for automation, the
// policy table of roles, and the guard that enforces it on every route.
package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v4"
	"github.com/jmoiron/sqlx"
	"golang.org/x/time/rate"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/jobs"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// Config tunes the service.
type Config struct {
	AccessTTL  time.Duration
	SessionTTL time.Duration
	Argon2     Argon2Params
	Limits     Limits
	// LoginFailuresPerSource is how many wrong passwords one address may
	// send per 10 minutes, over all accounts, before it must wait.
	LoginFailuresPerSource int
}

// DefaultConfig is what the server runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		AccessTTL:              10 * time.Minute,
		SessionTTL:             12 * time.Hour,
		Argon2:                 DefaultArgon2(),
		LoginFailuresPerSource: 30,
	}
}

// Activity counts what accounts do with their sessions, in the county
// of each (measure.SignIns): the platform's logins and active accounts.
type Activity interface {
	// SignedIn counts p's login with a password, which opened
	// p.Session at at.
	SignedIn(ctx context.Context, p Principal, at time.Time) error
	// Renewed counts p active on the day of at, when its session is
	// renewed.
	Renewed(ctx context.Context, p Principal, at time.Time) error
}

// Service is identity: logins, tokens, passwords, and the guard.
type Service struct {
	cfg       Config
	activity  Activity
	dir       directory
	keys      *KeyRing
	sessions  *Sessions
	tokens    *APITokens
	vendors   *VendorTokens
	standings *standings
	trail     Recorder
	guard     *Guard
	log       *slog.Logger

	mu      sync.Mutex
	sources map[string]*rate.Limiter
	// dummyHash is verified against when a login names no account, so that
	// the answer takes as long as for a wrong password.
	dummyHash string
}

// New returns the identity service on the control-plane pool and the
// counties behind router, recording in trail and counting accounts'
// logins and sessions in activity. Its guard refuses the writes holds
// refuses (nil: no county's writes are ever held).
func New(cfg Config, control *sqlx.DB, router TenantRouter, trail Recorder, activity Activity, holds WriteHolds, log *slog.Logger) *Service {
	dir := directory{control: control, router: router}
	keys := NewKeyRing(control, cfg.AccessTTL)
	sessions := NewSessions(control, cfg.SessionTTL)
	tokens := &APITokens{db: control, dir: dir, verified: ttlcache.New[string, Principal](verifiedTTL, 10000)}
	standings := newStandings(dir)
	vendors := newVendorTokens(control)
	return &Service{
		cfg:       cfg,
		activity:  activity,
		dir:       dir,
		keys:      keys,
		sessions:  sessions,
		tokens:    tokens,
		vendors:   vendors,
		standings: standings,
		trail:     trail,
		guard:     newGuard(keys, sessions, tokens, vendors, standings, trail, holds, cfg.Limits, log),
		log:       log,
		sources:   map[string]*rate.Limiter{},
		dummyHash: cfg.Argon2.HashPassword(randomID(16)),
	}
}

// Guard is the middleware every route is wrapped in.
func (s *Service) Guard() *Guard { return s.guard }

// SecurityRenewed tells this replica that a committed change gave
// accounts of tenant a new security version (RenewSecurity), so that
// their old tokens are refused from their next request on.
func (s *Service) SecurityRenewed(tenant string, accounts ...int64) {
	s.standings.forget(tenant, accounts...)
}

// JobRotateKeys is the kind of the job that rotates the signing keys.
const JobRotateKeys = "auth.rotate-keys"

// RotateKeys is the handler of JobRotateKeys: a new key signs from now
// on, and tokens the retired keys signed stay valid until they expire.
func (s *Service) RotateKeys(ctx context.Context, _ jobs.Job) error {
	kid, err := s.keys.Rotate(ctx)
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "signing keys rotated", "kid", kid)
	return nil
}

// Bootstrap makes sure there is a signing key, the operator "admin" and
// its bootstrap API token, which it returns in clear only when it was
// created now (token, if not empty, is used for it).
func (s *Service) Bootstrap(ctx context.Context, token string) (string, error) {
	if err := s.keys.Ensure(ctx); err != nil {
		return "", err
	}
	return s.tokens.bootstrap(ctx, token)
}

// Tokens is what a login or a refresh returns.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	RefreshToken string    `json:"refresh_token"`
	Principal    Principal `json:"principal"`
}

// Credentials are what a login presents.
type Credentials struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

var errLoginFailed = errs.E(errs.KindUnauthenticated, CodeLoginFailed, "wrong login or password")

// Login checks creds against tenant's accounts ("" for operators) and
// opens a session. Wrong passwords make the account wait longer and
// longer (Backoff), and an address sending many is throttled.
func (s *Service) Login(ctx context.Context, tenant string, creds Credentials, source string) (Tokens, error) {
	if wait := s.sourceWait(source); wait > 0 {
		return Tokens{}, &errs.Error{Kind: errs.KindTooManyRequests, Code: CodeLoginThrottled, RetryAfter: wait,
			Message: "too many failed logins from your address; wait before trying again"}
	}
	if creds.Login == "" || creds.Password == "" || len(creds.Login) > 64 || len(creds.Password) > 4*MaxPasswordLen {
		return Tokens{}, errs.Invalid(CodeLoginFailed, "send login and password")
	}
	c, ok, err := s.dir.find(ctx, tenant, creds.Login)
	if err != nil {
		return Tokens{}, err
	}
	now := time.Now()
	if ok && c.LockedUntil != nil && now.Before(*c.LockedUntil) {
		wait := c.LockedUntil.Sub(now)
		s.record(ctx, tenant, c, "auth.login", audit.Refused, CodeAccountLocked)
		return Tokens{}, &errs.Error{Kind: errs.KindTooManyRequests, Code: CodeAccountLocked, RetryAfter: wait,
			Message: fmt.Sprintf("too many wrong passwords: this account may try again in %s", wait.Round(time.Second))}
	}
	hash := s.dummyHash
	if ok && c.PasswordHash != nil {
		hash = *c.PasswordHash
	}
	match, err := VerifyPassword(hash, creds.Password)
	if err != nil {
		return Tokens{}, fmt.Errorf("login %q: %w", creds.Login, err)
	}
	if !ok || c.PasswordHash == nil || !c.Active || !match {
		s.sourceFailed(source)
		if ok {
			if err := s.dir.loginFailed(ctx, tenant, c.ID, c.FailedLogins+1); err != nil {
				return Tokens{}, err
			}
			s.record(ctx, tenant, c, "auth.login", audit.Refused, CodeLoginFailed)
		}
		return Tokens{}, errLoginFailed
	}
	if c.FailedLogins > 0 {
		if err := s.dir.loginSucceeded(ctx, tenant, c.ID); err != nil {
			return Tokens{}, err
		}
	}
	roles, err := s.dir.roles(ctx, tenant, c.ID)
	if err != nil {
		return Tokens{}, err
	}
	p := c.principal(tenant, roles)
	session, refresh, err := s.sessions.Start(ctx, tenant, p.ID, p.SecurityVersion)
	if err != nil {
		return Tokens{}, err
	}
	p.Session = session
	if tenant != "" {
		// A login the county cannot count does not happen: its session
		// ends unused.
		if err := s.activity.SignedIn(ctx, p, now); err != nil {
			_ = s.sessions.Revoke(ctx, session, "not_counted")
			return Tokens{}, err
		}
	}
	s.record(ctx, tenant, c, "auth.login", audit.OK, "")
	return s.issue(ctx, p, refresh)
}

// record writes a login to the trail of the county, or the province's
// for operators, as the one who tried.
func (s *Service) record(ctx context.Context, tenant string, c credential, action, outcome, code string) {
	kind := KindAccount
	if tenant == "" {
		kind = KindOperator
	}
	actx := audit.WithActor(ctx, audit.Actor{Kind: string(kind), ID: c.ID, Login: c.Login, Unit: c.Unit})
	id := strconv.FormatInt(c.ID, 10)
	e := audit.New(actx, action, subject(tenant), id, nil, nil)
	if outcome == audit.Refused {
		e = audit.Refusal(actx, action, subject(tenant), id, code)
	}
	s.note(ctx, tenant, e)
}

// note appends e to the trail of tenant (or the province's) for what is
// not written in a transaction of its own. A trail that cannot be written
// is logged, not the caller's failure: the event has happened.
func (s *Service) note(ctx context.Context, tenant string, e audit.Entry) {
	if err := s.trail.Record(ctx, tenant, e); err != nil {
		s.log.WarnContext(ctx, "audit of "+e.Action+" failed", "err", err)
	}
}

func (s *Service) issue(ctx context.Context, p Principal, refresh string) (Tokens, error) {
	now := time.Now()
	access, err := s.keys.sign(ctx, accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   strconv.FormatInt(p.ID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
		},
		Kind: p.Kind, Tenant: p.Tenant, Login: p.Login, Name: p.Name, Unit: p.Unit, Roles: p.Roles, Session: p.Session, MustChange: p.MustChange,
		Security: p.SecurityVersion,
	})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(s.cfg.AccessTTL.Seconds()), RefreshToken: refresh, Principal: p}, nil
}

// Refresh spends a refresh token for new tokens. A session outlives no
// change to its account's roles, unit, status or password: the account
// logs in again.
func (s *Service) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	owner, next, err := s.sessions.Rotate(ctx, refresh)
	if err != nil {
		return Tokens{}, err
	}
	p, ok, err := s.dir.principal(ctx, owner.Tenant, owner.Account)
	if err != nil {
		return Tokens{}, err
	}
	if !ok {
		_ = s.sessions.Revoke(ctx, owner.ID, "account_gone")
		return Tokens{}, errAccountDisabled
	}
	if p.SecurityVersion != owner.SecurityVersion {
		_ = s.sessions.Revoke(ctx, owner.ID, "account_changed")
		return Tokens{}, errAccountChanged
	}
	p.Session = owner.ID
	if owner.Tenant != "" {
		if err := s.activity.Renewed(ctx, p, time.Now()); err != nil {
			return Tokens{}, err
		}
	}
	return s.issue(ctx, p, next)
}

// Logout ends p's session.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if p.Session == "" {
		return errs.Invalid(CodeTokenInvalid, "an API token has no session to end; revoke it instead")
	}
	if err := s.sessions.Revoke(ctx, p.Session, "logout"); err != nil {
		return err
	}
	s.note(ctx, p.Tenant, audit.New(ctx, "auth.logout", subject(p.Tenant), strconv.FormatInt(p.ID, 10), nil, nil))
	return nil
}

// CreateToken makes an API token for p.
func (s *Service) CreateToken(ctx context.Context, p Principal, req TokenRequest) (NewAPIToken, error) {
	t, err := s.tokens.Create(ctx, p, req)
	if err == nil {
		s.note(ctx, p.Tenant, audit.New(ctx, "auth.tokens.create", "api_token", strconv.FormatInt(t.ID, 10), nil, t.APIToken))
	}
	return t, err
}

// RevokeToken revokes p's API token id.
func (s *Service) RevokeToken(ctx context.Context, p Principal, id int64) error {
	err := s.tokens.Revoke(ctx, p, id)
	if err == nil {
		s.note(ctx, p.Tenant, audit.New(ctx, "auth.tokens.revoke", "api_token", strconv.FormatInt(id, 10), nil, nil))
	}
	return err
}

// PasswordChange is a principal changing its own password.
type PasswordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
}

// ChangePassword sets p's password after checking the current one. Every
// session and API token of p is revoked; the caller gets a fresh login.
func (s *Service) ChangePassword(ctx context.Context, p Principal, req PasswordChange) (Tokens, error) {
	c, ok, err := s.dir.find(ctx, p.Tenant, p.Login)
	if err != nil {
		return Tokens{}, err
	}
	if !ok || c.ID != p.ID {
		return Tokens{}, errLoginFailed
	}
	if c.PasswordHash == nil {
		return Tokens{}, errs.E(errs.KindForbidden, CodePasswordChange, "this account has no password yet; an administrator issues one")
	}
	match, err := VerifyPassword(*c.PasswordHash, req.Current)
	if err != nil {
		return Tokens{}, err
	}
	if !match {
		return Tokens{}, errs.E(errs.KindForbidden, CodeLoginFailed, "the current password is wrong")
	}
	if req.New == req.Current {
		return Tokens{}, errs.Invalid(CodeWeakPassword, "the new password must differ from the current one")
	}
	if err := CheckPassword(req.New, p.Login); err != nil {
		return Tokens{}, err
	}
	hash := s.cfg.Argon2.HashPassword(req.New)
	version := p.SecurityVersion
	if err := s.dir.write(ctx, p.Tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := setPassword(ctx, tx, p.Tenant, p.ID, hash, false); err != nil {
			return err
		}
		if p.Tenant != "" {
			if err := RenewSecurity(ctx, tx, p.ID); err != nil {
				return err
			}
			if err := tx.GetContext(ctx, &version, "SELECT version FROM account_security WHERE account_id = ?", p.ID); err != nil {
				return fmt.Errorf("read the security version: %w", err)
			}
		}
		return audit.Write(ctx, tx, audit.New(ctx, "auth.password.change", subject(p.Tenant), strconv.FormatInt(p.ID, 10), nil, nil))
	}); err != nil {
		return Tokens{}, err
	}
	s.SecurityRenewed(p.Tenant, p.ID)
	if err := s.revokeEverything(ctx, p.Tenant, p.ID, "password_changed"); err != nil {
		return Tokens{}, err
	}
	session, refresh, err := s.sessions.Start(ctx, p.Tenant, p.ID, version)
	if err != nil {
		return Tokens{}, err
	}
	fresh := p
	fresh.MustChange, fresh.Session, fresh.Scopes, fresh.SecurityVersion = false, session, nil, version
	return s.issue(ctx, fresh, refresh)
}

func (s *Service) revokeEverything(ctx context.Context, tenant string, id int64, reason string) error {
	if err := s.sessions.RevokeAll(ctx, tenant, id, reason); err != nil {
		return err
	}
	return s.tokens.RevokeAll(ctx, tenant, id)
}

// sourceWait is how long source must wait before its next login.
func (s *Service) sourceWait(source string) time.Duration {
	s.mu.Lock()
	lim, ok := s.sources[source]
	s.mu.Unlock()
	if !ok {
		return 0
	}
	r := lim.Reserve()
	defer r.Cancel()
	return r.Delay()
}

func (s *Service) sourceFailed(source string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lim, ok := s.sources[source]
	if !ok {
		if len(s.sources) >= maxLimiters {
			clear(s.sources)
		}
		n := s.cfg.LoginFailuresPerSource
		lim = rate.NewLimiter(rate.Every(10*time.Minute/time.Duration(n)), n)
		s.sources[source] = lim
	}
	lim.Allow()
}
