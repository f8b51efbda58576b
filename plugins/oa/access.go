package oa

import (
	"slices"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Role codes the module reads in Caller.Roles: the county's built-in
// roles. The host lets every account of the county and the province's
// operators reach a module's routes; what each may do here is the
// module's to decide, and the workflows' steps decide who acts on a
// document (docs/oa.md).
const (
	// roleCountyAdmin is the county's system administrator.
	roleCountyAdmin = "system_admin"
	// roleUnitAdmin administers one unit: the caller's own.
	roleUnitAdmin = "unit_admin"
	// roleOperator is the provincial IT office's, outside any county.
	roleOperator = "operator"
)

// access is who the caller is to the module.
type access struct {
	account  int64
	unit     int64
	login    string
	roles    []string
	county   bool
	operator bool
}

func accessOf(c sdk.Caller) access {
	a := access{account: c.AccountID, unit: c.UnitID, login: c.Login, roles: c.Roles, operator: slices.Contains(c.Roles, roleOperator)}
	a.county = !a.operator && a.account > 0 && slices.Contains(c.Roles, roleCountyAdmin)
	return a
}

// staff reports whether the caller is an account of the county with a
// unit: who drafts, receives and handles documents.
func (a access) staff() bool { return !a.operator && a.account > 0 && a.unit > 0 }

// has reports whether the caller holds role.
func (a access) has(role string) bool { return !a.operator && slices.Contains(a.roles, role) }

// administers reports whether the caller administers unit's settings in
// the module (its template): a county admin for every unit, a unit admin
// for its own.
func (a access) administers(unit int64) bool {
	return a.county || a.has(roleUnitAdmin) && a.unit == unit && a.account > 0
}

// readsCounty reports whether the caller may read every unit's documents:
// the county's admins and the province's operators (support, usage).
func (a access) readsCounty() bool { return a.county || a.operator }
