package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/countycloud/countycloud/core/audit"
	"github.com/countycloud/countycloud/core/errs"
	"github.com/countycloud/countycloud/core/store"
)

// Service manages the organisation of a county (the tenant argument, a
// county code).
type Service interface {
	ListUnits(ctx context.Context, tenant string) ([]Unit, error)
	GetUnit(ctx context.Context, tenant string, id int64) (Unit, error)
	CreateUnit(ctx context.Context, tenant string, in UnitInput) (Unit, error)
	UpdateUnit(ctx context.Context, tenant string, id int64, p UnitPatch) (Unit, error)

	ListAccounts(ctx context.Context, tenant string, f AccountFilter) (AccountPage, error)
	GetAccount(ctx context.Context, tenant string, id int64) (Account, error)
	CreateAccount(ctx context.Context, tenant string, in AccountInput) (Account, error)
	UpdateAccount(ctx context.Context, tenant string, id int64, p AccountPatch) (Account, error)

	ListRoles(ctx context.Context, tenant string) ([]Role, error)
	CreateRole(ctx context.Context, tenant string, in RoleInput) (Role, error)

	ListQuotaRequests(ctx context.Context, tenant, status string) ([]QuotaRequest, error)
	RequestQuota(ctx context.Context, tenant, by string, in QuotaInput) (QuotaRequest, error)
	DecideQuota(ctx context.Context, tenant, by string, id int64, d Decision) (QuotaRequest, error)

	// Template is the staffing-office file for the county to fill in.
	Template(ctx context.Context, tenant, format string) ([]byte, error)
	// Import applies a staffing-office file (CSV or XLSX) all or nothing;
	// with dryRun it only reports what it would do and what is wrong.
	Import(ctx context.Context, tenant string, file []byte, dryRun bool) (ImportReport, error)
}

// Router reaches a county's schema (store.Router).
type Router interface {
	InTenant(ctx context.Context, code string, fn func(ctx context.Context, conn *sqlx.Conn) error) error
	InTenantTx(ctx context.Context, code string, fn func(ctx context.Context, tx *sqlx.Tx) error) error
}

// UnitInput creates a unit. ParentID nil makes a top unit.
type UnitInput struct {
	Name     string `json:"name"`
	Code     string `json:"code,omitempty"`
	ParentID *int64 `json:"parent_id,omitempty"`
	Sort     int    `json:"sort_order,omitempty"`
	Quota    *int   `json:"account_quota,omitempty"`
}

// UnitPatch changes a unit; nil fields stay. ParentID 0 makes it a top
// unit.
type UnitPatch struct {
	Name     *string `json:"name,omitempty"`
	Code     *string `json:"code,omitempty"`
	ParentID *int64  `json:"parent_id,omitempty"`
	Sort     *int    `json:"sort_order,omitempty"`
	Quota    *int    `json:"account_quota,omitempty"`
}

// RoleInput creates a role.
type RoleInput struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type service struct {
	router   Router
	renewals Renewals
}

// Renewals is told, once a change is committed, of the accounts whose
// roles, unit or status it changed and gave a new security version
// (auth.RenewSecurity), so that their old tokens are refused from their
// next request on rather than when the guard's memory of them expires
// (auth.Service).
type Renewals interface {
	SecurityRenewed(tenant string, accounts ...int64)
}

// Option configures the service.
type Option func(*service)

// TellRenewals has the service tell r of every security renewal.
func TellRenewals(r Renewals) Option {
	return func(s *service) { s.renewals = r }
}

// NewService returns the organisation service, reaching counties through
// router.
func NewService(router Router, opts ...Option) Service {
	s := &service{router: router}
	for _, o := range opts {
		o(s)
	}
	return s
}

// renewed tells the renewals of accounts ids of tenant, whose change is
// committed.
func (s *service) renewed(tenant string, ids ...int64) {
	if s.renewals != nil && len(ids) > 0 {
		s.renewals.SecurityRenewed(tenant, ids...)
	}
}

// Template checks that the county can be served, so that a template is
// never handed out for a county that does not exist, then returns it.
func (s *service) Template(ctx context.Context, tenant, format string) ([]byte, error) {
	if err := s.read(ctx, tenant, func(context.Context, querier) error { return nil }); err != nil {
		return nil, err
	}
	data, err := Template(format)
	if err != nil {
		return nil, errs.Invalid(CodeInvalidList, "%v", err)
	}
	return data, nil
}

// querier is what the queries need: a county-scoped connection or a
// transaction on one.
type querier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	SelectContext(ctx context.Context, dest any, query string, args ...any) error
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// read runs fn on the county's schema.
func (s *service) read(ctx context.Context, tenant string, fn func(ctx context.Context, q querier) error) error {
	return s.router.InTenant(ctx, tenant, func(ctx context.Context, conn *sqlx.Conn) error {
		return fn(ctx, conn)
	})
}

// write runs fn in a transaction on the county's schema.
func (s *service) write(ctx context.Context, tenant string, fn func(ctx context.Context, tx *sqlx.Tx) error) error {
	return s.router.InTenantTx(ctx, tenant, fn)
}

// record appends the write to the county's audit trail, in its
// transaction.
func record(ctx context.Context, tx *sqlx.Tx, action, object string, id int64, before, after any) error {
	return audit.Write(ctx, tx, audit.New(ctx, action, object, strconv.FormatInt(id, 10), before, after))
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

const unitColumns = `u.id, u.name, COALESCE(u.code, '') AS code, u.parent_id, u.sort_order, u.account_quota,
(SELECT COUNT(*) FROM accounts a WHERE a.unit_id = u.id AND a.status = 'active') AS accounts, u.created_at, u.updated_at`

func (s *service) ListUnits(ctx context.Context, tenant string) ([]Unit, error) {
	units := []Unit{}
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.SelectContext(ctx, &units, "SELECT "+unitColumns+" FROM units u ORDER BY u.sort_order, u.id")
	})
	return units, err
}

func getUnit(ctx context.Context, q querier, id int64, lock bool) (Unit, error) {
	var u Unit
	query := "SELECT " + unitColumns + " FROM units u WHERE u.id = ?"
	if lock {
		query += " FOR UPDATE"
	}
	err := q.GetContext(ctx, &u, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Unit{}, errs.NotFound(CodeUnitNotFound, "unit %d does not exist", id)
	}
	return u, err
}

func (s *service) GetUnit(ctx context.Context, tenant string, id int64) (Unit, error) {
	var u Unit
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) (err error) {
		u, err = getUnit(ctx, q, id, false)
		return err
	})
	return u, err
}

func (s *service) CreateUnit(ctx context.Context, tenant string, in UnitInput) (Unit, error) {
	name, err := cleanName("unit", CodeInvalidUnit, in.Name)
	if err != nil {
		return Unit{}, err
	}
	if err := checkUnitCode(in.Code); err != nil {
		return Unit{}, err
	}
	if err := checkQuota(in.Quota); err != nil {
		return Unit{}, err
	}
	var u Unit
	err = s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		if in.ParentID != nil {
			if _, err := getUnit(ctx, tx, *in.ParentID, false); err != nil {
				return err
			}
		}
		t := now()
		res, err := tx.ExecContext(ctx, `INSERT INTO units (name, code, parent_id, sort_order, account_quota, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`, name, nullString(in.Code), in.ParentID, in.Sort, in.Quota, t, t)
		if store.IsDuplicate(err) {
			return errs.Conflict(CodeUnitExists, "a unit named %q or coded %q exists already", name, in.Code)
		}
		if err != nil {
			return fmt.Errorf("create unit: %w", err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if u, err = getUnit(ctx, tx, id, false); err != nil {
			return err
		}
		return record(ctx, tx, "org.units.create", "unit", id, nil, u)
	})
	return u, err
}

func (s *service) UpdateUnit(ctx context.Context, tenant string, id int64, p UnitPatch) (Unit, error) {
	var name string
	if p.Name != nil {
		n, err := cleanName("unit", CodeInvalidUnit, *p.Name)
		if err != nil {
			return Unit{}, err
		}
		name = n
	}
	if p.Code != nil {
		if err := checkUnitCode(*p.Code); err != nil {
			return Unit{}, err
		}
	}
	if err := checkQuota(p.Quota); err != nil {
		return Unit{}, err
	}
	var u Unit
	err := s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		cur, err := getUnit(ctx, tx, id, true)
		if err != nil {
			return err
		}
		before := cur
		if p.Name != nil {
			cur.Name = name
		}
		if p.Code != nil {
			cur.Code = *p.Code
		}
		if p.Sort != nil {
			cur.Sort = *p.Sort
		}
		if p.Quota != nil {
			cur.Quota = p.Quota
		}
		if p.ParentID != nil {
			if cur.ParentID, err = checkNewParent(ctx, tx, id, *p.ParentID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE units SET name = ?, code = ?, parent_id = ?, sort_order = ?, account_quota = ?, updated_at = ? WHERE id = ?",
			cur.Name, nullString(cur.Code), cur.ParentID, cur.Sort, cur.Quota, now(), id)
		if store.IsDuplicate(err) {
			return errs.Conflict(CodeUnitExists, "a unit named %q or coded %q exists already", cur.Name, cur.Code)
		}
		if err != nil {
			return fmt.Errorf("update unit %d: %w", id, err)
		}
		if u, err = getUnit(ctx, tx, id, false); err != nil {
			return err
		}
		return record(ctx, tx, "org.units.update", "unit", id, before, u)
	})
	return u, err
}

// checkNewParent returns the parent a unit may take: nil for 0 (a top
// unit), else an existing unit that is neither the unit nor below it.
func checkNewParent(ctx context.Context, q querier, id, parent int64) (*int64, error) {
	if parent == 0 {
		return nil, nil
	}
	var parents []struct {
		ID     int64         `db:"id"`
		Parent sql.NullInt64 `db:"parent_id"`
	}
	if err := q.SelectContext(ctx, &parents, "SELECT id, parent_id FROM units"); err != nil {
		return nil, err
	}
	up := map[int64]sql.NullInt64{}
	for _, p := range parents {
		up[p.ID] = p.Parent
	}
	if _, ok := up[parent]; !ok {
		return nil, errs.NotFound(CodeUnitNotFound, "parent unit %d does not exist", parent)
	}
	for at, steps := parent, 0; ; steps++ {
		if at == id {
			return nil, errs.Conflict(CodeUnitCycle, "unit %d cannot move under %d, which is itself or below it", id, parent)
		}
		next := up[at]
		if !next.Valid || steps > len(up) {
			break
		}
		at = next.Int64
	}
	return &parent, nil
}

func (s *service) ListRoles(ctx context.Context, tenant string) ([]Role, error) {
	roles := []Role{}
	err := s.read(ctx, tenant, func(ctx context.Context, q querier) error {
		return q.SelectContext(ctx, &roles, "SELECT id, code, name, builtin FROM roles ORDER BY builtin DESC, code")
	})
	return roles, err
}

func (s *service) CreateRole(ctx context.Context, tenant string, in RoleInput) (Role, error) {
	if !roleCodePattern.MatchString(in.Code) {
		return Role{}, errs.Invalid(CodeInvalidRole, "role code %q: use 2 to 64 lowercase letters, digits or underscores, starting with a letter", in.Code)
	}
	if err := checkNotReserved(in.Code); err != nil {
		return Role{}, err
	}
	name, err := cleanName("role", CodeInvalidRole, in.Name)
	if err != nil {
		return Role{}, err
	}
	r := Role{Code: in.Code, Name: name}
	err = s.write(ctx, tenant, func(ctx context.Context, tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO roles (code, name, builtin, created_at) VALUES (?, ?, FALSE, ?)", r.Code, r.Name, now())
		if store.IsDuplicate(err) {
			return errs.Conflict(CodeRoleExists, "role %s exists already", r.Code)
		}
		if err != nil {
			return err
		}
		if r.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		return record(ctx, tx, "org.roles.create", "role", r.ID, nil, r)
	})
	return r, err
}

// roleIDs resolves role codes to ids, refusing unknown ones.
func roleIDs(ctx context.Context, q querier, codes []string) ([]int64, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	var roles []Role
	if err := q.SelectContext(ctx, &roles, "SELECT id, code, name, builtin FROM roles"); err != nil {
		return nil, err
	}
	byCode := map[string]int64{}
	var known []string
	for _, r := range roles {
		byCode[r.Code] = r.ID
		known = append(known, r.Code)
	}
	ids := make([]int64, 0, len(codes))
	seen := map[int64]bool{}
	for _, c := range codes {
		if err := checkNotReserved(c); err != nil {
			return nil, err
		}
		id, ok := byCode[c]
		if !ok {
			return nil, errs.Invalid(CodeUnknownRole, "role %q does not exist; the county has %s", c, strings.Join(known, ", "))
		}
		if !seen[id] {
			ids = append(ids, id)
			seen[id] = true
		}
	}
	return ids, nil
}
