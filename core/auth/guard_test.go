package auth

import (
	"slices"
	"testing"

	"github.com/countycloud/countycloud/core/errs"
)

// TestAnAccountHoldingAReservedCodeGetsCountyRightsAtMost puts a role by
// every reserved code straight into an account's principal, as a forged
// or stale directory might, and checks every rule of the policy: the
// account gets exactly what an account without roles gets.
func TestAnAccountHoldingAReservedCodeGetsCountyRightsAtMost(t *testing.T) {
	const county = "gd.shaoguan.wengyuan"
	plain := Principal{Kind: KindAccount, ID: 1, Tenant: county}
	for _, code := range ReservedRoles() {
		holder := plain
		holder.Roles = []string{code}
		for route, rule := range Policy() {
			got := authorize(holder, rule, route, county)
			want := authorize(plain, rule, route, county)
			if (got == nil) != (want == nil) {
				t.Errorf("%s with a role %s: %v; an account without roles: %v", route, code, got, want)
			}
		}
	}
}

// TestOnlyAnOperatorHoldsTheOperatorsRole: the operator's routes are
// open to an operator's identity, never to a role of that name.
func TestOnlyAnOperatorHoldsTheOperatorsRole(t *testing.T) {
	rule := Policy()["tenant.list"]
	if !slices.Contains(rule.Roles, RoleOperator) {
		t.Fatalf("tenant.list is not an operator's route: %+v", rule)
	}
	if err := authorize(Principal{Kind: KindOperator, ID: 1, Roles: []string{RoleOperator}}, rule, "tenant.list", ""); err != nil {
		t.Errorf("an operator: %v", err)
	}
	for _, p := range []Principal{
		{Kind: KindAccount, ID: 1, Tenant: "gd.shaoguan.wengyuan", Roles: []string{RoleOperator, RoleCountyAdmin}},
		{Kind: KindAnonymous, Roles: []string{RoleOperator}},
	} {
		if err := authorize(p, rule, "tenant.list", ""); errs.As(err).Kind != errs.KindForbidden {
			t.Errorf("%s holding %v: %v", p.Kind, p.Roles, err)
		}
	}
}

// TestAnAccountElsewhereIsNamedByItsCounty: in a trail not its own, an
// account is its login at its county, with no id or unit that would be
// someone of that trail.
func TestAnAccountElsewhereIsNamedByItsCounty(t *testing.T) {
	p := Principal{Kind: KindAccount, ID: 1, Login: "wyadmin", Tenant: "gd.shaoguan.wengyuan", Unit: 3}
	if a := actorIn(p, p.Tenant); a.ID != 1 || a.Unit != 3 || a.Login != "wyadmin" {
		t.Errorf("at home: %+v", a)
	}
	for _, trail := range []string{"gd.shaoguan.lechang", ""} {
		if a := actorIn(p, trail); a.ID != 0 || a.Unit != 0 || a.Login != "wyadmin@gd.shaoguan.wengyuan" {
			t.Errorf("in %q's trail: %+v", trail, a)
		}
	}
	op := Principal{Kind: KindOperator, ID: 1, Login: "admin"}
	if a := actorIn(op, "gd.shaoguan.lechang"); a.ID != 1 || a.Login != "admin" {
		t.Errorf("an operator: %+v", a)
	}
}
