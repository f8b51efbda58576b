package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// KindVendor is a module's vendor calling with a token an operator issued
// for it. Its principal's Login is the vendor's name as the plugin
// namespace holds it; it holds no role, and the guard admits it only to
// the routes whose rule says Vendor.
const KindVendor Kind = "vendor"

// VendorTokenPrefix begins every vendor token, so that a leaked one is
// recognisable and tells whose it is.
const VendorTokenPrefix = "ccvd_"

// Codes of the vendor tokens' errors.
const (
	CodeVendorNotFound      = "vendor_not_found"
	CodeVendorTokenNotFound = "vendor_token_not_found"
)

// VendorToken describes a vendor's token; the secret is shown only when
// it is created.
type VendorToken struct {
	ID        int64      `json:"id" db:"id"`
	Vendor    string     `json:"vendor" db:"vendor"`
	Name      string     `json:"name" db:"name"`
	ExpiresAt time.Time  `json:"expires_at" db:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
	CreatedAt time.Time  `json:"created_at" db:"created_at"`
	CreatedBy string     `json:"created_by" db:"created_by"`
}

// NewVendorToken is a created vendor token, shown this once.
type NewVendorToken struct {
	VendorToken
	Token string `json:"token"`
}

// VendorTokenRequest asks for a vendor's token.
type VendorTokenRequest struct {
	Name string `json:"name"`
	// ExpiresInDays is the token's life; 90 if zero, at most 366.
	ExpiresInDays int `json:"expires_in_days"`
}

// Vendors says whether a vendor owns any module of the plugin catalog.
type Vendors interface {
	VendorKnown(ctx context.Context, vendor string) (bool, error)
}

// VendorTokens stores vendors' tokens hashed in the control plane, beside
// the operators' and accounts' API tokens and verified the same way: a
// verified token is trusted for a few seconds, and a revocation reaches
// this replica at once and the others within verifiedTTL.
type VendorTokens struct {
	db       *sqlx.DB
	verified *ttlcache.Cache[string, Principal]
}

func newVendorTokens(db *sqlx.DB) *VendorTokens {
	return &VendorTokens{db: db, verified: ttlcache.New[string, Principal](verifiedTTL, 10000)}
}

// verify returns the vendor principal holding token.
func (v *VendorTokens) verify(ctx context.Context, token string) (Principal, error) {
	hash := hashToken(token)
	if p, ok := v.verified.Get(hash); ok {
		return p, nil
	}
	mark := v.verified.Mark()
	var row VendorToken
	err := v.db.GetContext(ctx, &row, "SELECT id, vendor, name, expires_at, revoked_at, created_at, created_by FROM vendor_tokens WHERE token_hash = ?", hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Principal{}, errInvalidToken
	}
	if err != nil {
		return Principal{}, fmt.Errorf("verify vendor token: %w", err)
	}
	switch {
	case row.RevokedAt != nil:
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenRevoked, "this vendor token was revoked")
	case !time.Now().Before(row.ExpiresAt):
		return Principal{}, errs.E(errs.KindUnauthenticated, CodeTokenExpired, "this vendor token has expired")
	}
	p := Principal{Kind: KindVendor, ID: row.ID, Login: row.Vendor, Name: row.Name}
	v.verified.PutSince(mark, hash, p)
	return p, nil
}

// CreateVendorToken has the calling operator issue a token for vendor,
// which must own a module of the catalog.
func (s *Service) CreateVendorToken(ctx context.Context, vendors Vendors, vendor string, req VendorTokenRequest) (NewVendorToken, error) {
	known, err := vendors.VendorKnown(ctx, vendor)
	if err != nil {
		return NewVendorToken{}, err
	}
	if !known {
		return NewVendorToken{}, errs.NotFound(CodeVendorNotFound, "no module of the catalog is vendor %q's", vendor)
	}
	name, err := names.Clean("token name", req.Name, 64)
	if err != nil {
		return NewVendorToken{}, errs.Invalid(CodeInvalidTokenRequest, "%v", err)
	}
	days := req.ExpiresInDays
	if days == 0 {
		days = 90
	}
	if days < 1 || days > 366 {
		return NewVendorToken{}, errs.Invalid(CodeInvalidTokenRequest, "expires_in_days is 1 to 366")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	t := NewVendorToken{VendorToken: VendorToken{Vendor: vendor, Name: name, ExpiresAt: now.AddDate(0, 0, days), CreatedAt: now, CreatedBy: PrincipalFrom(ctx).Login},
		Token: newToken(VendorTokenPrefix)}
	res, err := s.vendors.db.ExecContext(ctx, "INSERT INTO vendor_tokens (token_hash, vendor, name, expires_at, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)",
		hashToken(t.Token), t.Vendor, t.Name, t.ExpiresAt, t.CreatedAt, t.CreatedBy)
	if err != nil {
		return NewVendorToken{}, fmt.Errorf("create vendor token: %w", err)
	}
	t.ID, _ = res.LastInsertId()
	s.note(ctx, "", audit.New(ctx, "auth.vendor_tokens.create", "vendor_token", strconv.FormatInt(t.ID, 10), nil, t.VendorToken))
	return t, nil
}

// VendorTokens lists vendor's tokens.
func (s *Service) VendorTokens(ctx context.Context, vendor string) ([]VendorToken, error) {
	tokens := []VendorToken{}
	err := s.vendors.db.SelectContext(ctx, &tokens, "SELECT id, vendor, name, expires_at, revoked_at, created_at, created_by FROM vendor_tokens WHERE vendor = ? ORDER BY id", vendor)
	if err != nil {
		return nil, fmt.Errorf("list vendor tokens: %w", err)
	}
	return tokens, nil
}

// RevokeVendorToken revokes vendor's token id.
func (s *Service) RevokeVendorToken(ctx context.Context, vendor string, id int64) error {
	var hash string
	err := s.vendors.db.GetContext(ctx, &hash, "SELECT token_hash FROM vendor_tokens WHERE id = ? AND vendor = ?", id, vendor)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound(CodeVendorTokenNotFound, "vendor %q has no token %d", vendor, id)
	}
	if err != nil {
		return fmt.Errorf("revoke vendor token: %w", err)
	}
	if _, err := s.vendors.db.ExecContext(ctx, "UPDATE vendor_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", time.Now().UTC(), id); err != nil {
		return fmt.Errorf("revoke vendor token: %w", err)
	}
	s.vendors.verified.Delete(hash)
	s.note(ctx, "", audit.New(ctx, "auth.vendor_tokens.revoke", "vendor_token", strconv.FormatInt(id, 10), nil, nil))
	return nil
}
