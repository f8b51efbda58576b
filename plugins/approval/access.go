package approval

import (
	"slices"

	"github.com/countycloud/countycloud/plugins/sdk"
)

// Role codes the module reads in Caller.Roles: the county's built-in
// roles. The host lets every account of the county and the province's
// operators reach a module's routes; what each may do here is the
// module's to decide (docs/approval.md).
const (
	// roleCountyAdmin is the county's system administrator, who keeps
	// the catalogue (DOMAIN.md: the preparation phase cleans it up).
	roleCountyAdmin = "system_admin"
	// roleOperator is the provincial IT office's, outside any county.
	roleOperator = "operator"
	// roleClerk and roleLeader are a department's: its clerks examine
	// and take materials at the counter, its leaders decide.
	roleClerk  = "clerk"
	roleLeader = "leader"
)

// access is who the caller is to the module.
type access struct {
	account  int64
	unit     int64
	login    string
	county   bool
	operator bool
	// clerk and leader say the caller holds the role in its unit.
	clerk, leader bool
}

func accessOf(c sdk.Caller) access {
	a := access{account: c.AccountID, unit: c.UnitID, login: c.Login, operator: c.Kind == sdk.CallerOperator && slices.Contains(c.Roles, roleOperator)}
	a.clerk, a.leader = slices.Contains(c.Roles, roleClerk), slices.Contains(c.Roles, roleLeader)
	a.county = !a.operator && c.Kind == sdk.CallerAccount && a.account > 0 && slices.Contains(c.Roles, roleCountyAdmin)
	return a
}

// staff reports whether the caller is an account of the county with a
// unit: every clerk, leader and admin of its departments.
func (a access) staff() bool { return !a.operator && a.account > 0 && a.unit > 0 }

// keepsCatalogue reports whether the caller may change the county's
// catalogue: its system admins only. A department's staff read it.
func (a access) keepsCatalogue() bool { return a.county }

// readsCatalogue reports whether the caller may read the staff view of
// the catalogue: the county's accounts and the province's operators
// (support, usage).
func (a access) readsCatalogue() bool { return a.staff() || a.county || a.operator }
