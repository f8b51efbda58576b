// Package auth authenticates callers. Until accounts and roles arrive, the
// only principal is an operator holding a token: the bootstrap token
// generated on first start.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-kit/kit/endpoint"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// TokenPrefix marks operator tokens, so that a leaked one is recognisable
// by secret scanners.
const TokenPrefix = "ccop_"

// BootstrapName is the name of the token generated on first start.
const BootstrapName = "bootstrap"

// Operator is an authenticated operator of the provincial IT office.
type Operator struct {
	Name string
}

// OperatorTokens stores operator tokens hashed in the control plane.
// Verified tokens are remembered for a few seconds, so that a request does
// not pay a database read to authenticate.
type OperatorTokens struct {
	db       *sqlx.DB
	verified *ttlcache.Cache[string, Operator]
}

// verifiedTTL is how long a verified token is trusted without a look.
const verifiedTTL = 5 * time.Second

// NewOperatorTokens returns the token store on the control-plane pool.
func NewOperatorTokens(db *sqlx.DB) *OperatorTokens {
	return &OperatorTokens{db: db, verified: ttlcache.New[string, Operator](verifiedTTL, 10000)}
}

// NewToken returns a fresh random operator token.
func NewToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Bootstrap stores the bootstrap token unless one exists. It returns the
// token in clear only when this call created it; it is never retrievable
// again. With several replicas starting at once, exactly one creates it.
// If token is empty, a random one is generated.
func (o *OperatorTokens) Bootstrap(ctx context.Context, token string) (created string, err error) {
	if token == "" {
		token = NewToken()
	}
	res, err := o.db.ExecContext(ctx,
		"INSERT IGNORE INTO operator_tokens (name, token_hash, created_at) VALUES (?, ?, ?)",
		BootstrapName, hashToken(token), time.Now().UTC())
	if err != nil {
		return "", fmt.Errorf("store bootstrap token: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return "", err
	}
	return token, nil
}

// Verify returns the operator holding token.
func (o *OperatorTokens) Verify(ctx context.Context, token string) (Operator, error) {
	hash := hashToken(token)
	if op, ok := o.verified.Get(hash); ok {
		return op, nil
	}
	var op Operator
	err := o.db.GetContext(ctx, &op.Name, "SELECT name FROM operator_tokens WHERE token_hash = ?", hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, errInvalidToken
	}
	if err != nil {
		return Operator{}, fmt.Errorf("verify operator token: %w", err)
	}
	o.verified.Put(hash, op)
	return op, nil
}

var (
	errMissingToken = &errs.Error{Kind: errs.KindUnauthenticated, Code: errs.CodeUnauthenticated,
		Message: "missing token: send Authorization: Bearer <token> (the CLI reads COUNTYCLOUD_TOKEN)"}
	errInvalidToken = &errs.Error{Kind: errs.KindUnauthenticated, Code: errs.CodeUnauthenticated,
		Message: "invalid token"}
)

type bearerKey struct{}
type operatorKey struct{}

// BearerToContext is a go-kit ServerBefore function keeping the request's
// bearer token for the authentication middleware.
func BearerToContext(ctx context.Context, r *http.Request) context.Context {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ctx
	}
	return context.WithValue(ctx, bearerKey{}, strings.TrimSpace(token))
}

// Verifier checks an operator token.
type Verifier interface {
	Verify(ctx context.Context, token string) (Operator, error)
}

// RequireOperator is an endpoint middleware admitting only requests that
// carry a valid operator token.
func RequireOperator(v Verifier) endpoint.Middleware {
	return func(next endpoint.Endpoint) endpoint.Endpoint {
		return func(ctx context.Context, request any) (any, error) {
			token, _ := ctx.Value(bearerKey{}).(string)
			if token == "" {
				return nil, errMissingToken
			}
			op, err := v.Verify(ctx, token)
			if err != nil {
				return nil, err
			}
			return next(context.WithValue(ctx, operatorKey{}, op), request)
		}
	}
}

// OperatorFrom is the operator RequireOperator admitted, for recording who
// did what.
func OperatorFrom(ctx context.Context) (Operator, bool) {
	op, ok := ctx.Value(operatorKey{}).(Operator)
	return op, ok
}
