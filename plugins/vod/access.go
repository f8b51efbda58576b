package vod

import (
	"slices"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Role codes the module reads in Caller.Roles. The host lets every
// account of the county and the province's operators reach a module's
// routes; what each may do here is the module's to decide.
const (
	// roleCountyAdmin is the county's system administrator.
	roleCountyAdmin = "system_admin"
	// roleUnitAdmin administers one unit: the caller's own.
	roleUnitAdmin = "unit_admin"
	// roleOperator is the provincial IT office's, outside any county.
	roleOperator = "operator"
	// roleVODAdmin is the module's own role (视频管理员), which a county
	// creates and assigns to whoever keeps its catalogue for every unit.
	roleVODAdmin = "vod_admin"
)

// access is what a caller may do in the module:
//
//   - every account of the county watches: lists ready videos, reads
//     them, plays them and records its views;
//   - system_admin and vod_admin manage the whole catalogue (create,
//     update, delete, list unfinished uploads) and read every report;
//   - unit_admin manages its own unit's videos and reads its unit's
//     report;
//   - operators read the catalogue, play videos and read every report
//     (support and the province's usage figures), but change nothing and
//     record no views, which count the county's accounts only.
type access struct {
	account  int64
	unit     int64
	login    string
	county   bool
	unitOnly bool
	operator bool
}

func accessOf(c sdk.Caller) access {
	a := access{account: c.AccountID, unit: c.UnitID, login: c.Login, operator: slices.Contains(c.Roles, roleOperator)}
	a.county = !a.operator && (slices.Contains(c.Roles, roleCountyAdmin) || slices.Contains(c.Roles, roleVODAdmin))
	a.unitOnly = !a.operator && !a.county && c.UnitID > 0 && slices.Contains(c.Roles, roleUnitAdmin)
	return a
}

// canRead: anyone the host let through who is either an operator or an
// account (a caller without an account is not someone the host admits
// to a county, so it is refused here too).
func (a access) canRead() bool { return a.operator || a.account > 0 }

// canManage reports whether the caller may change the videos of unit.
func (a access) canManage(unit int64) bool {
	return a.county || a.unitOnly && unit == a.unit
}

// canManageSome reports whether the caller manages any video at all.
func (a access) canManageSome() bool { return a.county || a.unitOnly }

// canWatch reports whether the caller's views count: an account of the
// county.
func (a access) canWatch() bool { return !a.operator && a.account > 0 }

// reportUnit is the unit a caller's report is limited to, 0 for the
// whole county, and whether it may read a report at all.
func (a access) reportUnit() (int64, bool) {
	switch {
	case a.county || a.operator:
		return 0, true
	case a.unitOnly:
		return a.unit, true
	}
	return 0, false
}
