package auth

import (
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

// TestAVendorReachesOnlyTheRoutesThatSaySo: a vendor's principal is
// refused every rule of the policy that does not name vendors, its own
// (Self) routes and public ones aside, whatever roles it were to carry.
func TestAVendorReachesOnlyTheRoutesThatSaySo(t *testing.T) {
	const county = "gd.shaoguan.wengyuan"
	for _, roles := range [][]string{nil, {RoleOperator, RoleCountyAdmin, RoleStaff}} {
		v := Principal{Kind: KindVendor, ID: 1, Login: "Acme", Roles: roles}
		admitted := 0
		for route, rule := range Policy() {
			err := authorize(v, rule, route, county)
			switch {
			case rule.Public || rule.Vendor:
				if err != nil {
					t.Errorf("%s, open to vendors: %v", route, err)
				}
				if rule.Vendor {
					admitted++
				}
			case errs.As(err).Kind != errs.KindForbidden:
				t.Errorf("%s by a vendor holding %v: %v", route, roles, err)
			}
		}
		if admitted == 0 {
			t.Fatal("no route admits vendors")
		}
	}
}
