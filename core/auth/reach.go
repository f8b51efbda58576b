package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/countycloud/countycloud/core/errs"
)

// CodeOutsideReach refuses a unit admin a change outside their unit.
const CodeOutsideReach = "outside_your_unit"

// unitQuerier reads a county's unit tree.
type unitQuerier interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
}

// maxUnitDepth bounds the walk up the tree; the tree has no cycles (the
// organisation refuses them), so this only guards against a corrupted one.
const maxUnitDepth = 64

// CheckReach refuses the caller of ctx a change to what belongs to unit
// (an account in it, its quota, its accounts' passwords) when the caller
// is confined to a unit above neither: an account that is not the
// county's admin (a unit admin) keeps to its own unit and the units below
// it. roles are the roles the change gives, or those of the account it
// touches: only the county's admins give or touch the county admin's
// role. Operators, county admins and the platform's own work (no
// principal) reach the whole county.
//
// The reach comes from the principal, not from the route: every write a
// unit admin may call checks it in its service, and the reach test over
// the route table proves each does.
func CheckReach(ctx context.Context, q unitQuerier, unit int64, roles []string) error {
	p := PrincipalFrom(ctx)
	if p.Kind != KindAccount || p.Has(RoleCountyAdmin) {
		return nil
	}
	if slices.Contains(roles, RoleCountyAdmin) {
		return errs.E(errs.KindForbidden, CodeOutsideReach, "only the county's administrators give or change the %s role", RoleCountyAdmin)
	}
	for id, depth := unit, 0; depth < maxUnitDepth; depth++ {
		if id == p.Unit {
			return nil
		}
		var parent sql.NullInt64
		err := q.GetContext(ctx, &parent, "SELECT parent_id FROM units WHERE id = ?", id)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !parent.Valid) {
			break
		}
		if err != nil {
			return fmt.Errorf("walk up from unit %d: %w", unit, err)
		}
		id = parent.Int64
	}
	return errs.E(errs.KindForbidden, CodeOutsideReach, "unit %d is outside your unit; ask the county's administrator", unit)
}
