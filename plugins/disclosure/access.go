package disclosure

import (
	"slices"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Role codes the module reads in Caller.Roles: the county's built-in
// roles. The host lets every account of the county and the province's
// operators reach a module's routes; what each may do here is the
// module's to decide (docs/disclosure.md).
const (
	// roleCountyAdmin is the county's system administrator, at the IT
	// office (县信息中心).
	roleCountyAdmin = "system_admin"
	// roleUnitAdmin administers one unit: the caller's own.
	roleUnitAdmin = "unit_admin"
	// roleBusinessAdmin (业务管理员) keeps a unit's business in the
	// system: here, its disclosure information.
	roleBusinessAdmin = "business_admin"
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
	a := access{account: c.AccountID, unit: c.UnitID, login: c.Login, roles: c.Roles, operator: c.Kind == sdk.CallerOperator && slices.Contains(c.Roles, roleOperator)}
	a.county = !a.operator && a.account > 0 && slices.Contains(c.Roles, roleCountyAdmin)
	return a
}

// staff reports whether the caller is an account of the county with a
// unit.
func (a access) staff() bool { return !a.operator && a.account > 0 && a.unit > 0 }

// has reports whether the caller holds role.
func (a access) has(role string) bool { return a.staff() && slices.Contains(a.roles, role) }

// edits reports whether the caller edits unit's disclosure information
// (its form, its documents' drafts): the unit's admin or business admin,
// or a county admin for any unit. A clerk or a leader does not: the unit
// answers for what it puts online (谁上网，谁负责).
func (a access) edits(unit int64) bool {
	return a.county || a.unit == unit && (a.has(roleUnitAdmin) || a.has(roleBusinessAdmin))
}

// publishes reports whether the caller publishes unit's information: its
// admin, or a county admin.
func (a access) publishes(unit int64) bool {
	return a.county || a.unit == unit && a.has(roleUnitAdmin)
}

// readsUnit reports whether the caller reads unit's drafts and index:
// the unit's own accounts, the county office, the county's admins and
// the province's operators.
func (a access) readsUnit(unit int64, s settings) bool {
	return a.readsCounty(s) || a.staff() && a.unit == unit
}

// readsCounty reports whether the caller reads every unit's drafts,
// reports and the county's index.
func (a access) readsCounty(s settings) bool { return a.county || a.operator || a.office(s) }

// office reports whether the caller acts for the county office that
// grades reported information: a county admin (the IT office), or the
// admin or business admin of the unit the settings name.
func (a access) office(s settings) bool {
	if a.county {
		return true
	}
	return s.OfficeUnitID > 0 && a.unit == s.OfficeUnitID && (a.has(roleUnitAdmin) || a.has(roleBusinessAdmin))
}
