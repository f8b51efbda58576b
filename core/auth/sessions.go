package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Codes of refused tokens.
const (
	CodeTokenExpired       = "token_expired"
	CodeTokenInvalid       = "token_invalid"
	CodeTokenRevoked       = "token_revoked"
	CodeRefreshTokenReused = "refresh_token_reused"
	CodeLoginFailed        = "login_failed"
	CodeAccountLocked      = "account_locked"
	CodePasswordChange     = "password_change_required"
	CodeForbidden          = "forbidden"
	CodeRateLimited        = "rate_limited"
	CodeLoginThrottled     = "login_throttled"
)

const (
	refreshTokenPrefix = "ccrt_"
	// sessionRevocationWindow is how far back a replica's first poll
	// looks: access tokens live far shorter.
	sessionRevocationWindow = 24 * time.Hour
)

// Sessions are logins: each holds a chain of one-use refresh tokens.
// Revoked sessions are also known in memory, refreshed from the table at
// most once a second, so that an access token of a revoked session is
// refused without a database read per request.
type Sessions struct {
	db  *sqlx.DB
	ttl time.Duration

	mu       sync.Mutex
	revoked  map[string]time.Time
	polledAt time.Time
	since    time.Time
}

// NewSessions returns sessions lasting ttl on the control-plane pool.
func NewSessions(db *sqlx.DB, ttl time.Duration) *Sessions {
	return &Sessions{db: db, ttl: ttl, revoked: map[string]time.Time{}}
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Start opens a session for (tenant, account) at the account's security
// version and returns it with its first refresh token.
func (s *Sessions) Start(ctx context.Context, tenant string, account, securityVersion int64) (session, refresh string, err error) {
	session = randomID(16)
	refresh = refreshTokenPrefix + randomID(32)
	now := time.Now().UTC()
	err = store.InTx(ctx, s.db, nil, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO sessions (id, tenant_code, account_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
			session, tenant, account, now, now.Add(s.ttl)); err != nil {
			return err
		}
		if securityVersion != 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO session_security (session_id, version) VALUES (?, ?)", session, securityVersion); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES (?, ?, ?)",
			hashToken(refresh), session, now)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("start session: %w", err)
	}
	return session, refresh, nil
}

// SessionOwner is whom a session belongs to, and the account's security
// version when it began.
type SessionOwner struct {
	ID              string `db:"id"`
	Tenant          string `db:"tenant_code"`
	Account         int64  `db:"account_id"`
	SecurityVersion int64  `db:"security_version"`
}

// Rotate spends refresh and returns its session with the next refresh
// token. A refresh token presented a second time means two parties hold
// it: the whole session is revoked and CodeRefreshTokenReused returned.
func (s *Sessions) Rotate(ctx context.Context, refresh string) (SessionOwner, string, error) {
	invalid := errs.E(errs.KindUnauthenticated, CodeTokenInvalid, "the refresh token is not valid; log in again")
	now := time.Now().UTC()
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var row struct {
		SessionOwner
		UsedAt    *time.Time `db:"used_at"`
		ExpiresAt time.Time  `db:"expires_at"`
		RevokedAt *time.Time `db:"revoked_at"`
	}
	err = tx.GetContext(ctx, &row, `SELECT s.id, s.tenant_code, s.account_id, COALESCE(v.version, 0) AS security_version, s.expires_at, s.revoked_at, r.used_at
		FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id LEFT JOIN session_security v ON v.session_id = s.id WHERE r.token_hash = ? FOR UPDATE`, hashToken(refresh))
	if errors.Is(err, sql.ErrNoRows) {
		return SessionOwner{}, "", invalid
	}
	if err != nil {
		return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
	}
	switch {
	case row.RevokedAt != nil:
		return SessionOwner{}, "", errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "this session was ended; log in again")
	case row.UsedAt != nil:
		if err := revokeTx(ctx, tx, row.ID, "refresh_reuse", now); err != nil {
			return SessionOwner{}, "", err
		}
		if err := tx.Commit(); err != nil {
			return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
		}
		s.remember(row.ID, now.Add(s.ttl))
		return SessionOwner{}, "", errs.E(errs.KindUnauthenticated, CodeRefreshTokenReused,
			"this refresh token was already used, so it may have been stolen: the session is ended; log in again")
	case !now.Before(row.ExpiresAt):
		return SessionOwner{}, "", errs.E(errs.KindUnauthenticated, CodeTokenExpired, "the session has expired; log in again")
	}
	next := refreshTokenPrefix + randomID(32)
	if _, err := tx.ExecContext(ctx, "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ?", now, hashToken(refresh)); err != nil {
		return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES (?, ?, ?)", hashToken(next), row.ID, now); err != nil {
		return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return SessionOwner{}, "", fmt.Errorf("refresh: %w", err)
	}
	return row.SessionOwner, next, nil
}

func revokeTx(ctx context.Context, tx *sqlx.Tx, session, reason string, now time.Time) error {
	if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL", now, reason, session); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// Revoke ends one session.
func (s *Sessions) Revoke(ctx context.Context, session, reason string) error {
	now := time.Now().UTC()
	if _, err := s.db.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE id = ? AND revoked_at IS NULL", now, reason, session); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.remember(session, now.Add(s.ttl))
	return nil
}

// RevokeAll ends every session of (tenant, account): on a password change
// or reset.
func (s *Sessions) RevokeAll(ctx context.Context, tenant string, account int64, reason string) error {
	now := time.Now().UTC()
	var ids []string
	if err := s.db.SelectContext(ctx, &ids, "SELECT id FROM sessions WHERE tenant_code = ? AND account_id = ? AND revoked_at IS NULL AND expires_at > ?", tenant, account, now); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, "UPDATE sessions SET revoked_at = ?, revoke_reason = ? WHERE tenant_code = ? AND account_id = ? AND revoked_at IS NULL", now, reason, tenant, account); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	for _, id := range ids {
		s.remember(id, now.Add(s.ttl))
	}
	return nil
}

func (s *Sessions) remember(session string, until time.Time) {
	s.mu.Lock()
	s.revoked[session] = until
	s.mu.Unlock()
}

// IsRevoked reports whether session was ended, by this replica or another
// up to a second ago.
func (s *Sessions) IsRevoked(ctx context.Context, session string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.polledAt) >= time.Second {
		if err := s.poll(ctx); err != nil {
			return false, err
		}
	}
	_, ok := s.revoked[session]
	return ok, nil
}

// poll reads the sessions revoked since the last poll. s.mu is held.
func (s *Sessions) poll(ctx context.Context) error {
	now := time.Now().UTC()
	since := s.since
	if since.IsZero() {
		since = now.Add(-sessionRevocationWindow)
	}
	var rows []struct {
		ID        string    `db:"id"`
		RevokedAt time.Time `db:"revoked_at"`
		ExpiresAt time.Time `db:"expires_at"`
	}
	// A second of overlap catches revocations committed with a timestamp
	// just before the previous poll's.
	if err := s.db.SelectContext(ctx, &rows, "SELECT id, revoked_at, expires_at FROM sessions WHERE revoked_at >= ?", since.Add(-time.Second)); err != nil {
		return fmt.Errorf("poll revoked sessions: %w", err)
	}
	for _, r := range rows {
		s.revoked[r.ID] = r.ExpiresAt
		if r.RevokedAt.After(s.since) {
			s.since = r.RevokedAt
		}
	}
	if s.since.IsZero() {
		s.since = since
	}
	for id, until := range s.revoked {
		if now.After(until) {
			delete(s.revoked, id)
		}
	}
	s.polledAt = time.Now()
	return nil
}
