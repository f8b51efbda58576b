package org

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/countycloud/countycloud/core/auth"
	"github.com/countycloud/countycloud/core/errs"
)

// CodeOutsideReach refuses a unit admin a change outside their unit.
const CodeOutsideReach = "outside_your_unit"

type reachKey struct{}

// withinUnit returns ctx confining account changes made under it to unit
// and the units below it: a unit admin's reach. Without it the whole
// county is in reach.
func withinUnit(ctx context.Context, unit int64) context.Context {
	return context.WithValue(ctx, reachKey{}, unit)
}

// confine applies the caller's reach: a unit admin who is not also the
// county's admin keeps to their own unit.
func confine(ctx context.Context) context.Context {
	p := auth.PrincipalFrom(ctx)
	if p.Kind == auth.KindAccount && !p.Has(auth.RoleCountyAdmin) {
		return withinUnit(ctx, p.Unit)
	}
	return ctx
}

// reach is the unit changes under ctx are confined to, 0 for none.
func reach(ctx context.Context) int64 {
	unit, _ := ctx.Value(reachKey{}).(int64)
	return unit
}

// maxUnitDepth bounds the walk up the tree; the tree has no cycles (see
// checkNewParent), so this only guards against a corrupted one.
const maxUnitDepth = 64

// checkReach refuses a change to an account in unit, or one giving the
// county admin's role, from a caller confined to a unit above neither.
func checkReach(ctx context.Context, q querier, unit int64, roles []string) error {
	top := reach(ctx)
	if top == 0 {
		return nil
	}
	if slices.Contains(roles, auth.RoleCountyAdmin) {
		return errs.E(errs.KindForbidden, CodeOutsideReach, "only the county's administrators give or change the %s role", auth.RoleCountyAdmin)
	}
	for id, depth := unit, 0; depth < maxUnitDepth; depth++ {
		if id == top {
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
