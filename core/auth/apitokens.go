package auth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// Prefixes of API tokens, so that a leaked one is recognisable by secret
// scanners and tells whose it is: an operator's or a county account's.
const (
	OperatorTokenPrefix = "ccop_"
	AccountTokenPrefix  = "ccak_"
)

// Scopes an API token may carry.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
)

// APIToken describes an API token; the secret itself is shown only when
// it is created.
type APIToken struct {
	ID        int64      `json:"id" db:"id"`
	Name      string     `json:"name" db:"name"`
	Scopes    string     `json:"scopes" db:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" db:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
}

// APITokens stores API tokens hashed in the control plane. A verified
// token is trusted for a few seconds without a look, so automation does
// not pay a database read per request; a revocation reaches this replica
// at once and the others within verifiedTTL. The holder's standing is
// checked on every request: a token of an account whose roles, unit or
// status changed carries them as they are now from its next request on.
type APITokens struct {
	db       *sqlx.DB
	dir      directory
	verified *ttlcache.Cache[string, Principal]
}

// verifiedTTL is how long a verified API token is trusted without a look.
const verifiedTTL = 5 * time.Second

func newToken(prefix string) string {
	return prefix + randomID(32)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewOperatorToken returns a fresh random operator API token.
func NewOperatorToken() string { return newToken(OperatorTokenPrefix) }

// tokenRow is a stored token and its holder.
type tokenRow struct {
	Tenant    string     `db:"tenant_code"`
	Account   int64      `db:"account_id"`
	Scopes    string     `db:"scopes"`
	ExpiresAt *time.Time `db:"expires_at"`
	RevokedAt *time.Time `db:"revoked_at"`
}

// verify returns the principal holding token, as its standing is now.
func (a *APITokens) verify(ctx context.Context, token string, standings *standings) (Principal, error) {
	hash := hashToken(token)
	if p, ok := a.verified.Get(hash); ok {
		switch err := standings.check(ctx, p); {
		case err == nil:
			return p, nil
		case !errors.Is(err, errAccountChanged):
			return Principal{}, err
		}
		a.verified.Delete(hash)
	}
	mark := a.verified.Mark()
	var row tokenRow
	err := a.db.GetContext(ctx, &row, "SELECT tenant_code, account_id, scopes, expires_at, revoked_at FROM api_tokens WHERE token_hash = ?", hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("verify API token: %w", err)
	}
	switch {
	case row.RevokedAt != nil:
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "this API token was revoked")
	case row.ExpiresAt != nil && !time.Now().Before(*row.ExpiresAt):
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenExpired, "this API token has expired")
	}
	p, ok, err := a.dir.principal(ctx, row.Tenant, row.Account)
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "the holder of this API token is disabled or gone")
	}
	// Automation has no one to change a password; the token is the
	// credential.
	p.MustChange = false
	p.Scopes = strings.Split(row.Scopes, ",")
	a.verified.PutSince(mark, hash, p)
	return p, nil
}

// CodeInvalidTokenRequest is the code of an API token request that makes
// no sense.
const CodeInvalidTokenRequest = "invalid_token_request"

// TokenRequest asks for an API token.
type TokenRequest struct {
	Name string `json:"name"`
	// Scopes are "read", "write" or both; read if empty.
	Scopes []string `json:"scopes"`
	// ExpiresInDays is the token's life; 90 if zero, at most 366.
	ExpiresInDays int `json:"expires_in_days"`
}

// NewAPIToken is a created token, shown this once.
type NewAPIToken struct {
	APIToken
	Token string `json:"token"`
}

// Create makes an API token for p.
func (a *APITokens) Create(ctx context.Context, p Principal, req TokenRequest) (NewAPIToken, error) {
	name, err := names.Clean("token name", req.Name, 64)
	if err != nil {
		return NewAPIToken{}, errs.Invalid(CodeInvalidTokenRequest, "%v", err)
	}
	scopes := req.Scopes
	if len(scopes) == 0 {
		scopes = []string{ScopeRead}
	}
	for _, s := range scopes {
		if s != ScopeRead && s != ScopeWrite {
			return NewAPIToken{}, errs.Invalid(CodeInvalidTokenRequest, "scope %q is not one of read, write", s)
		}
	}
	slices.Sort(scopes)
	scopes = slices.Compact(scopes)
	days := req.ExpiresInDays
	if days == 0 {
		days = 90
	}
	if days < 1 || days > 366 {
		return NewAPIToken{}, errs.Invalid(CodeInvalidTokenRequest, "expires_in_days is 1 to 366")
	}
	prefix := AccountTokenPrefix
	if p.Kind == KindOperator {
		prefix = OperatorTokenPrefix
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	expires := now.AddDate(0, 0, days)
	t := NewAPIToken{APIToken: APIToken{Name: name, Scopes: strings.Join(scopes, ","), ExpiresAt: &expires, CreatedAt: now}, Token: newToken(prefix)}
	res, err := a.db.ExecContext(ctx, "INSERT INTO api_tokens (token_hash, tenant_code, account_id, name, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
		hashToken(t.Token), p.Tenant, p.ID, t.Name, t.Scopes, t.ExpiresAt, t.CreatedAt)
	if err != nil {
		return NewAPIToken{}, fmt.Errorf("create API token: %w", err)
	}
	t.ID, _ = res.LastInsertId()
	return t, nil
}

// List returns p's API tokens.
func (a *APITokens) List(ctx context.Context, p Principal) ([]APIToken, error) {
	tokens := []APIToken{}
	err := a.db.SelectContext(ctx, &tokens, "SELECT id, name, scopes, expires_at, revoked_at, created_at FROM api_tokens WHERE tenant_code = ? AND account_id = ? ORDER BY id", p.Tenant, p.ID)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return tokens, nil
}

// CodeTokenNotFound is the code of an API token that is not the caller's.
const CodeTokenNotFound = "api_token_not_found"

// Revoke revokes p's token id.
func (a *APITokens) Revoke(ctx context.Context, p Principal, id int64) error {
	var hash string
	err := a.db.GetContext(ctx, &hash, "SELECT token_hash FROM api_tokens WHERE id = ? AND tenant_code = ? AND account_id = ?", id, p.Tenant, p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound(CodeTokenNotFound, "you have no API token %d", id)
	}
	if err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	if _, err := a.db.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", time.Now().UTC(), id); err != nil {
		return fmt.Errorf("revoke API token: %w", err)
	}
	a.verified.Delete(hash)
	return nil
}

// RevokeAll revokes every API token of (tenant, account): its password
// was changed or reset, so whatever it handed out goes too.
func (a *APITokens) RevokeAll(ctx context.Context, tenant string, account int64) error {
	var hashes []string
	if err := a.db.SelectContext(ctx, &hashes, "SELECT token_hash FROM api_tokens WHERE tenant_code = ? AND account_id = ? AND revoked_at IS NULL", tenant, account); err != nil {
		return fmt.Errorf("revoke API tokens: %w", err)
	}
	if _, err := a.db.ExecContext(ctx, "UPDATE api_tokens SET revoked_at = ? WHERE tenant_code = ? AND account_id = ? AND revoked_at IS NULL", time.Now().UTC(), tenant, account); err != nil {
		return fmt.Errorf("revoke API tokens: %w", err)
	}
	for _, h := range hashes {
		a.verified.Delete(h)
	}
	return nil
}

// bootstrap creates the operator "admin" and the API token named
// "bootstrap" unless they exist. It returns the token in clear only when
// this call created it; it is never retrievable again. With several
// replicas starting at once, exactly one creates it.
func (a *APITokens) bootstrap(ctx context.Context, token string) (string, error) {
	if token == "" {
		token = NewOperatorToken()
	}
	now := time.Now().UTC()
	if _, err := a.db.ExecContext(ctx, "INSERT IGNORE INTO operators (login, name, must_change, created_at) VALUES ('admin', '省级运维管理员', TRUE, ?)", now); err != nil {
		return "", fmt.Errorf("create operator admin: %w", err)
	}
	res, err := a.db.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, tenant_code, account_id, name, scopes, created_at)
		SELECT ?, '', o.id, 'bootstrap', 'read,write', ? FROM operators o WHERE o.login = 'admin'
		AND NOT EXISTS (SELECT 1 FROM api_tokens t WHERE t.tenant_code = '' AND t.account_id = o.id AND t.name = 'bootstrap')`,
		hashToken(token), now)
	if err != nil {
		return "", fmt.Errorf("store bootstrap token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", err
	}
	return token, nil
}

var (
	errMissingToken = &errs.Error{Kind: errs.KindUnauthenticated, Code: errs.CodeUnauthenticated,
		Message: "missing token: send Authorization: Bearer <token> (the CLI reads COUNTYCLOUD_TOKEN)"}
	errInvalidToken = &errs.Error{Kind: errs.KindUnauthenticated, Code: CodeTokenInvalid,
		Message: "invalid token"}
)

// plausibleAPIToken filters out what cannot be a token before a lookup.
// Generated tokens are a prefix and 43 base64url characters; a dev
// server's may be any 8 printable characters and more.
func plausibleAPIToken(token string) bool {
	if len(token) < 8 || len(token) > 256 {
		return false
	}
	for i := 0; i < len(token); i++ {
		if token[i] <= ' ' || token[i] > '~' {
			return false
		}
	}
	return true
}
