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
)

// Sign seals a document of tenant for unit with the unit's seal in use:
// it signs the manifest of the files' names and SM3 digests, the county,
// the unit, the seal and the time. Who may ask is the caller's to decide
// (the plugin host lets a module seal for the unit of the account it
// acts for, or for any unit if that account is a county admin).
func (s *Service) Sign(ctx context.Context, tenant string, unit int64, files []File) (Seal, error) {
	if err := checkFiles(files); err != nil {
		return Seal{}, errs.Invalid(CodeInvalidDocument, "%s", errs.As(err).Message)
	}
	var seal Seal
	err := s.router.InTenantTx(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		current, err := inUse(ctx, tx, unit)
		if err != nil {
			return err
		}
		if current == nil {
			return s.noSeal(ctx, tx, unit)
		}
		secret, err := s.keys.open(current.Sealed, privateKeyBinding(tenant, current.ID))
		if err != nil {
			return errs.Wrap(err, errs.KindInternal, CodeSealKey, "seal %d cannot be opened with this server's --seal-key", current.ID)
		}
		defer clear(secret)
		priv, err := sm2.NewPrivateKey(secret)
		if err != nil {
			return errs.Wrap(err, errs.KindInternal, CodeSealKey, "seal %d does not hold an SM2 key", current.ID)
		}
		seal.Manifest = Manifest{Version: Version, Algorithm: Algorithm, County: tenant, UnitID: unit, UnitName: current.UnitName,
			SealID: current.ID, SealedAt: s.now().UTC().Truncate(time.Microsecond), Files: files}
		if seal.Signature, err = priv.Sign(rand.Reader, seal.canonical(), sm2.DefaultSM2SignerOpts); err != nil {
			return fmt.Errorf("sign with seal %d: %w", current.ID, err)
		}
		return audit.Write(ctx, tx, audit.New(ctx, "seals.sign", "seal", strconv.FormatInt(current.ID, 10), nil, seal.Manifest))
	})
	return seal, err
}

// noSeal says why unit has no seal to sign with.
func (s *Service) noSeal(ctx context.Context, q sqlx.QueryerContext, unit int64) error {
	var last struct {
		ID        int64      `db:"id"`
		RevokedAt *time.Time `db:"revoked_at"`
	}
	err := sqlx.GetContext(ctx, q, &last, "SELECT id, revoked_at FROM seals WHERE unit_id = ? ORDER BY id DESC LIMIT 1", unit)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		var n int
		if err := sqlx.GetContext(ctx, q, &n, "SELECT COUNT(*) FROM units WHERE id = ?", unit); err != nil {
			return fmt.Errorf("read unit %d: %w", unit, err)
		}
		if n == 0 {
			return errs.NotFound(CodeUnitNotFound, "the county has no unit %d", unit)
		}
		return errs.Conflict(CodeNoSeal, "unit %d has no seal; a county admin creates one (该单位尚无电子印章)", unit)
	case err != nil:
		return fmt.Errorf("read unit %d's seals: %w", unit, err)
	case last.RevokedAt != nil:
		return errs.Conflict(CodeSealRevoked, "unit %d's seal %d was revoked on %s and it has no other; a county admin creates a new one (印章已吊销)",
			unit, last.ID, last.RevokedAt.Format(time.RFC3339))
	default:
		return errs.Conflict(CodeNoSeal, "unit %d has no seal in use (该单位无在用印章)", unit)
	}
}

// File states in a verdict.
const (
	FileIntact    = "intact"
	FileChanged   = "changed"
	FileMissing   = "missing"
	FileNotSealed = "not_sealed"
)

// FileCheck is what verification found of one file.
type FileCheck struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

// Verdict is what verification found: Valid when the document is intact
// (every sealed file present and unchanged, nothing added, the signature
// the unit's) and its seal was not revoked.
type Verdict struct {
	Valid bool `json:"valid"`
	// Intact says the files and the signature are as sealed; the fields
	// of the seal (county, unit, time) can be trusted only when it is.
	Intact         bool        `json:"intact"`
	SignatureValid bool        `json:"signature_valid"`
	County         string      `json:"county"`
	UnitID         int64       `json:"unit_id"`
	UnitName       string      `json:"unit_name"`
	SealID         int64       `json:"seal_id"`
	SealedAt       time.Time   `json:"sealed_at"`
	Status         string      `json:"status"`
	SupersededAt   *time.Time  `json:"superseded_at,omitempty"`
	RevokedAt      *time.Time  `json:"revoked_at,omitempty"`
	RevokeReason   string      `json:"revoke_reason,omitempty"`
	Files          []FileCheck `json:"files"`
	// Problems say, in Chinese then English, each thing that is wrong.
	Problems []string `json:"problems"`
}

// Verify checks a seal against the document's files (their names and
// SM3 digests): the signature with the unit's public key, each file's
// digest, and whether the seal has been revoked (by this replica, at
// once; by another, within StatusTTL). It needs no private key.
func (s *Service) Verify(ctx context.Context, seal Seal, files []File) (Verdict, error) {
	if err := seal.check(); err != nil {
		return Verdict{}, err
	}
	if err := checkFiles(files); err != nil {
		return Verdict{}, errs.Invalid(CodeInvalidDocument, "%s", errs.As(err).Message)
	}
	c, err := s.checkSeal(ctx, seal)
	if err != nil {
		return Verdict{}, err
	}
	st := c.status
	verdict := Verdict{County: seal.County, UnitID: seal.UnitID, UnitName: seal.UnitName, SealID: seal.SealID, SealedAt: seal.SealedAt,
		Status: st.status(), SupersededAt: st.SupersededAt, RevokedAt: st.RevokedAt, Files: []FileCheck{}, Problems: []string{},
		SignatureValid: c.signatureValid}
	if st.RevokeReason != nil {
		verdict.RevokeReason = *st.RevokeReason
	}
	if !verdict.SignatureValid {
		verdict.Problems = append(verdict.Problems, fmt.Sprintf("印章签名无效：印章本身被改动或伪造 (the signature is not seal %d's over this seal: the seal itself was altered or forged)", seal.SealID))
	}
	given := map[string]string{}
	for _, f := range files {
		given[f.Name] = f.SM3
	}
	filesIntact := true
	for _, f := range seal.Files {
		check := FileCheck{Name: f.Name, Status: FileIntact}
		digest, ok := given[f.Name]
		switch {
		case !ok:
			check.Status = FileMissing
			verdict.Problems = append(verdict.Problems, fmt.Sprintf("缺少文件 %s (file %s was sealed but is missing)", f.Name, f.Name))
		case digest != f.SM3:
			check.Status = FileChanged
			verdict.Problems = append(verdict.Problems, fmt.Sprintf("文件 %s 已被改动 (file %s changed after sealing)", f.Name, f.Name))
		}
		filesIntact = filesIntact && check.Status == FileIntact
		verdict.Files = append(verdict.Files, check)
		delete(given, f.Name)
	}
	for _, f := range files {
		if _, extra := given[f.Name]; extra {
			filesIntact = false
			verdict.Files = append(verdict.Files, FileCheck{Name: f.Name, Status: FileNotSealed})
			verdict.Problems = append(verdict.Problems, fmt.Sprintf("文件 %s 不在印章范围内 (file %s was not sealed)", f.Name, f.Name))
		}
	}
	verdict.Intact = verdict.SignatureValid && filesIntact
	if st.RevokedAt != nil {
		verdict.Problems = append(verdict.Problems, fmt.Sprintf("印章已于 %s 吊销 (seal %d revoked since %s)", st.RevokedAt.Format(time.RFC3339), seal.SealID, st.RevokedAt.Format(time.RFC3339)))
	}
	verdict.Valid = verdict.Intact && st.RevokedAt == nil
	return verdict, nil
}

// sealStatus is what verification reads of a seal: its unit, public key
// and whether it was replaced or revoked.
type sealStatus struct {
	UnitID       int64      `db:"unit_id"`
	Public       []byte     `db:"public_key"`
	SupersededAt *time.Time `db:"superseded_at"`
	RevokedAt    *time.Time `db:"revoked_at"`
	RevokeReason *string    `db:"revoke_reason"`
}

func (st sealStatus) status() string {
	switch {
	case st.RevokedAt != nil:
		return StatusRevoked
	case st.SupersededAt != nil:
		return StatusSuperseded
	default:
		return StatusInUse
	}
}

// status reads seal id of county: one statement naming the county's
// schema, one round trip, where a pooled connection's USE would be a
// second.
func (s *Service) status(ctx context.Context, county string, id int64) (sealStatus, error) {
	db, schema, err := s.router.InTenantQualified(ctx, county)
	if err != nil {
		return sealStatus{}, err
	}
	var st sealStatus
	err = db.GetContext(ctx, &st, "SELECT unit_id, public_key, superseded_at, revoked_at, revoke_reason FROM "+schema+".seals WHERE id = ?", id)
	if errors.Is(err, sql.ErrNoRows) {
		return sealStatus{}, errs.NotFound(CodeSealNotFound, "county %s has no seal %d (该县无此印章)", county, id)
	}
	if err != nil {
		return sealStatus{}, fmt.Errorf("read seal %d: %w", id, err)
	}
	return st, nil
}

// sealCheck is what a seal's verification finds before it looks at the
// files: the seal's status and whether its signature is the unit's.
type sealCheck struct {
	status         sealStatus
	signatureValid bool
}

// checkSeal reads seal's status and checks its signature.
func (s *Service) checkSeal(ctx context.Context, seal Seal) (sealCheck, error) {
	k, err := s.knownSeal(ctx, seal.County, seal.SealID)
	if err != nil {
		return sealCheck{}, err
	}
	valid := k.status.UnitID == seal.UnitID && sm2.VerifyASN1WithSM2(k.public, nil, seal.canonical(), seal.Signature)
	return sealCheck{status: k.status, signatureValid: valid}, nil
}

// sealRef names a seal: its county and id.
type sealRef struct {
	county string
	id     int64
}

// knownSeal is a seal's status as verification read it, its public key
// parsed.
type knownSeal struct {
	status sealStatus
	public *ecdsa.PublicKey
}

// knownSeal is seal id of county as read within StatusTTL, or read now.
func (s *Service) knownSeal(ctx context.Context, county string, id int64) (knownSeal, error) {
	ref := sealRef{county, id}
	if k, ok := s.known.Get(ref); ok {
		return k, nil
	}
	mark := s.known.Mark()
	st, err := s.status(ctx, county, id)
	if err != nil {
		return knownSeal{}, err
	}
	pub, err := sm2.NewPublicKey(st.Public)
	if err != nil {
		return knownSeal{}, fmt.Errorf("seal %d's public key: %w", id, err)
	}
	k := knownSeal{status: st, public: pub}
	s.known.PutSince(mark, ref, k)
	return k, nil
}
