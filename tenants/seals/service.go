// Package seals keeps units' electronic seals (电子印章): an SM2 key pair
// per unit, the private key sealed at rest and never handed out; it signs
// documents for the modules (SM3 digests of their files, in a manifest
// signed with SM2) and verifies them for anyone, without a key.
package seals

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/names"
	"github.com/countycloud/countycloud/core/ttlcache"
)

// Codes of the errors this package returns.
const (
	CodeInvalidSeal     = "invalid_seal"
	CodeInvalidDocument = "invalid_sealed_document"
	CodeUnitNotFound    = "unit_not_found"
	CodeSealNotFound    = "seal_not_found"
	CodeSealExists      = "seal_exists"
	CodeNoSeal          = "unit_has_no_seal"
	CodeSealRevoked     = "seal_revoked"
	CodeSealSuperseded  = "seal_superseded"
	CodeSealKey         = "seal_key_unusable"
)

// Statuses of a seal.
const (
	StatusInUse      = "in_use"
	StatusSuperseded = "superseded"
	StatusRevoked    = "revoked"
)

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
	// InTenantQualified is the county's pool and quoted schema, for a
	// read in one round trip.
	InTenantQualified(ctx context.Context, code string) (*sqlx.DB, string, error)
}

// Control is the control plane's database, which keeps the check of the
// seal key.
type Control interface {
	sqlx.QueryerContext
	sqlx.ExecerContext
}

// Service keeps the seals of the counties behind its router.
type Service struct {
	router  Router
	control Control
	keys    *KeyRing
	now     func() time.Time
	// known are seals verification has read lately, with their public
	// keys parsed. A revocation or a rotation here forgets its seal at
	// once; one on another replica is seen within StatusTTL, as the end
	// of a session is.
	known *ttlcache.Cache[sealRef, knownSeal]
}

// StatusTTL is how long a replica verifies with a seal's status as it
// read it: a revocation made on another replica shows within it.
const StatusTTL = time.Second

// maxKnown bounds the seals kept for verification (those verified in the
// last second).
const maxKnown = 100_000

// NewService returns the seals of the counties behind router, their
// private keys sealed with keys.
func NewService(router Router, control Control, keys *KeyRing, now func() time.Time) *Service {
	return &Service{router: router, control: control, keys: keys, now: now, known: ttlcache.New[sealRef, knownSeal](StatusTTL, maxKnown)}
}

// View is a seal as the county's admins see it. It never holds the
// private key.
type View struct {
	ID           int64      `json:"id" db:"id"`
	UnitID       int64      `json:"unit_id" db:"unit_id"`
	UnitName     string     `json:"unit_name" db:"unit_name"`
	Status       string     `json:"status" db:"-"`
	PublicKey    string     `json:"public_key" db:"-"`
	CreatedAt    time.Time  `json:"created_at" db:"created_at"`
	CreatedBy    string     `json:"created_by" db:"created_by"`
	SupersededAt *time.Time `json:"superseded_at,omitempty" db:"superseded_at"`
	SupersededBy *string    `json:"superseded_by,omitempty" db:"superseded_by"`
	ReplacedBy   *int64     `json:"replaced_by,omitempty" db:"replaced_by"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty" db:"revoked_at"`
	RevokedBy    *string    `json:"revoked_by,omitempty" db:"revoked_by"`
	RevokeReason *string    `json:"revoke_reason,omitempty" db:"revoke_reason"`
}

// row is a seal as stored; only signing reads its sealed private key.
type row struct {
	View
	Public []byte `db:"public_key"`
	Sealed []byte `db:"private_key_sealed"`
}

func (r row) view() View {
	v := r.View
	v.PublicKey = fmt.Sprintf("%x", r.Public)
	v.Status = sealStatus{SupersededAt: v.SupersededAt, RevokedAt: v.RevokedAt}.status()
	return v
}

const selectSeals = `SELECT s.id, s.unit_id, u.name AS unit_name, s.public_key, s.private_key_sealed, s.created_at, s.created_by,
 s.superseded_at, s.superseded_by, s.replaced_by, s.revoked_at, s.revoked_by, s.revoke_reason
FROM seals s JOIN units u ON u.id = s.unit_id`

// CheckKey proves the configured seal key is the one the platform's
// seals are kept under: ErrWrongKey if it is not. The first replica to
// start with a key leaves a check sealed under it for the others.
func (s *Service) CheckKey(ctx context.Context) error {
	if s.keys.ephemeral {
		return nil
	}
	var sealed []byte
	err := sqlx.GetContext(ctx, s.control, &sealed, "SELECT sealed FROM seal_key_check WHERE id = 1")
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.control.ExecContext(ctx, "INSERT IGNORE INTO seal_key_check (id, sealed, created_at) VALUES (1, ?, ?)",
			s.keys.seal([]byte(checkText), checkBinding), s.now().UTC()); err != nil {
			return fmt.Errorf("keep the seal key's check: %w", err)
		}
		// Another replica may have been first: read what won.
		err = sqlx.GetContext(ctx, s.control, &sealed, "SELECT sealed FROM seal_key_check WHERE id = 1")
	}
	if err != nil {
		return fmt.Errorf("read the seal key's check: %w", err)
	}
	if plain, err := s.keys.open(sealed, checkBinding); err != nil || string(plain) != checkText {
		return ErrWrongKey
	}
	return nil
}

// List is the county's seals, of one unit if unit is not 0, newest first.
func (s *Service) List(ctx context.Context, tenant string, unit int64) ([]View, error) {
	list := []View{}
	err := s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		q, args := selectSeals+" ORDER BY s.id DESC", []any{}
		if unit != 0 {
			q, args = selectSeals+" WHERE s.unit_id = ? ORDER BY s.id DESC", []any{unit}
		}
		var rows []row
		if err := sqlx.SelectContext(ctx, conn, &rows, q, args...); err != nil {
			return fmt.Errorf("list seals: %w", err)
		}
		for _, r := range rows {
			list = append(list, r.view())
		}
		return nil
	})
	return list, err
}

// CreateRequest asks for a unit's first seal.
type CreateRequest struct {
	UnitID int64 `json:"unit_id"`
}

// Create makes a unit's seal: a new SM2 key pair, the private key sealed.
// A unit with a seal in use rotates it instead.
func (s *Service) Create(ctx context.Context, tenant string, in CreateRequest) (View, error) {
	var v View
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if err := lockUnit(ctx, tx, in.UnitID); err != nil {
			return err
		}
		current, err := inUse(ctx, tx, in.UnitID)
		if err != nil {
			return err
		}
		if current != nil {
			return errs.Conflict(CodeSealExists, "unit %d already has seal %d in use; rotate it to give the unit a new key (该单位已有在用印章，请轮换)", in.UnitID, current.ID)
		}
		if v, err = s.insert(ctx, tx, tenant, in.UnitID); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "seals.create", "seal", strconv.FormatInt(v.ID, 10), nil, v))
	})
	return v, err
}

// Rotate gives the unit of seal id a new key pair. The old seal is kept,
// superseded, so that what it sealed still verifies; it seals no more.
func (s *Service) Rotate(ctx context.Context, tenant string, id int64) (View, error) {
	var v View
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		old, err := lockSeal(ctx, tx, id)
		if err != nil {
			return err
		}
		switch old.Status {
		case StatusRevoked:
			return errs.Conflict(CodeSealRevoked, "seal %d was revoked on %s; create the unit a new seal instead (印章已吊销)", id, old.RevokedAt.Format(time.RFC3339))
		case StatusSuperseded:
			return errs.Conflict(CodeSealSuperseded, "seal %d was already replaced by seal %d; rotate that one (印章已被替换)", id, *old.ReplacedBy)
		}
		if v, err = s.insert(ctx, tx, tenant, old.UnitID); err != nil {
			return err
		}
		by := audit.ActorFrom(ctx).Login
		if _, err := tx.ExecContext(ctx, "UPDATE seals SET superseded_at = ?, superseded_by = ?, replaced_by = ? WHERE id = ?", v.CreatedAt, by, v.ID, id); err != nil {
			return fmt.Errorf("supersede seal %d: %w", id, err)
		}
		after := old
		after.Status, after.SupersededAt, after.SupersededBy, after.ReplacedBy = StatusSuperseded, &v.CreatedAt, &by, &v.ID
		if err := audit.Write(ctx, tx, audit.New(ctx, "seals.rotate", "seal", strconv.FormatInt(id, 10), old, after)); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.New(ctx, "seals.create", "seal", strconv.FormatInt(v.ID, 10), nil, v))
	})
	s.known.Delete(sealRef{tenant, id})
	return v, err
}

// RevokeRequest says why a seal is revoked.
type RevokeRequest struct {
	Reason string `json:"reason"`
}

// Revoke ends seal id: it seals no more, and verification of what it
// sealed says since when it is revoked.
func (s *Service) Revoke(ctx context.Context, tenant string, id int64, in RevokeRequest) (View, error) {
	reason, err := names.Clean("reason", in.Reason, 200)
	if err != nil {
		return View{}, errs.Invalid(CodeInvalidSeal, "%v", err)
	}
	if reason == "" {
		return View{}, errs.Invalid(CodeInvalidSeal, "say why the seal is revoked: \"reason\" (吊销原因)")
	}
	var v View
	err = s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		old, err := lockSeal(ctx, tx, id)
		if err != nil {
			return err
		}
		if old.Status == StatusRevoked {
			return errs.Conflict(CodeSealRevoked, "seal %d was already revoked on %s (印章已吊销)", id, old.RevokedAt.Format(time.RFC3339))
		}
		at, by := s.now().UTC().Truncate(time.Microsecond), audit.ActorFrom(ctx).Login
		if _, err := tx.ExecContext(ctx, "UPDATE seals SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?", at, by, reason, id); err != nil {
			return fmt.Errorf("revoke seal %d: %w", id, err)
		}
		v = old
		v.Status, v.RevokedAt, v.RevokedBy, v.RevokeReason = StatusRevoked, &at, &by, &reason
		return audit.Write(ctx, tx, audit.New(ctx, "seals.revoke", "seal", strconv.FormatInt(id, 10), old, v))
	})
	s.known.Delete(sealRef{tenant, id})
	return v, err
}

// insert makes unit a new key pair and keeps it, the private key sealed
// to the county and the new row's id.
func (s *Service) insert(ctx context.Context, tx *sqlx.Tx, tenant string, unit int64) (View, error) {
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return View{}, fmt.Errorf("generate an SM2 key: %w", err)
	}
	public, err := publicBytes(&priv.PublicKey)
	if err != nil {
		return View{}, err
	}
	secret := priv.D.FillBytes(make([]byte, 32))
	defer clear(secret)
	at, by := s.now().UTC().Truncate(time.Microsecond), audit.ActorFrom(ctx).Login
	// The row first, for the id its sealed key is bound to.
	res, err := tx.ExecContext(ctx, "INSERT INTO seals (unit_id, public_key, private_key_sealed, created_at, created_by) VALUES (?, ?, '', ?, ?)", unit, public, at, by)
	if err != nil {
		return View{}, fmt.Errorf("keep the seal: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return View{}, fmt.Errorf("keep the seal: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE seals SET private_key_sealed = ? WHERE id = ?", s.keys.seal(secret, privateKeyBinding(tenant, id)), id); err != nil {
		return View{}, fmt.Errorf("keep the seal's key: %w", err)
	}
	r, err := lockSeal(ctx, tx, id)
	return r, err
}

// publicBytes is pub uncompressed (04 || X || Y), as sm2.NewPublicKey
// reads it.
func publicBytes(pub *ecdsa.PublicKey) ([]byte, error) {
	k, err := sm2.PublicKeyToECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("encode an SM2 public key: %w", err)
	}
	return k.Bytes(), nil
}

func lockUnit(ctx context.Context, tx *sqlx.Tx, unit int64) error {
	var id int64
	err := tx.GetContext(ctx, &id, "SELECT id FROM units WHERE id = ? FOR UPDATE", unit)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.NotFound(CodeUnitNotFound, "the county has no unit %d", unit)
	}
	if err != nil {
		return fmt.Errorf("read unit %d: %w", unit, err)
	}
	return nil
}

func lockSeal(ctx context.Context, tx *sqlx.Tx, id int64) (View, error) {
	var r row
	err := tx.GetContext(ctx, &r, selectSeals+" WHERE s.id = ? FOR UPDATE", id)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, errs.NotFound(CodeSealNotFound, "the county has no seal %d", id)
	}
	if err != nil {
		return View{}, fmt.Errorf("read seal %d: %w", id, err)
	}
	return r.view(), nil
}

// inUse is unit's seal in use, nil if none.
func inUse(ctx context.Context, q sqlx.QueryerContext, unit int64) (*row, error) {
	var r row
	err := sqlx.GetContext(ctx, q, &r, selectSeals+" WHERE s.unit_id = ? AND s.superseded_at IS NULL AND s.revoked_at IS NULL ORDER BY s.id DESC LIMIT 1", unit)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read unit %d's seal: %w", unit, err)
	}
	return &r, nil
}
