package auth

import (
	"context"
	"slices"
)

// Kind is what sort of principal a caller is.
type Kind string

// Principals: the provincial IT office's operators, a county's accounts,
// and anyone else (citizens and enterprises on a county's public pages).
const (
	KindOperator  Kind = "operator"
	KindAccount   Kind = "account"
	KindAnonymous Kind = "anonymous"
)

// Role codes the policy names. Operators hold RoleOperator; county
// accounts hold the roles assigned to them in their county. The staff
// roles (leader, clerk, business_admin) read as RoleStaff until a route
// needs one of them by name.
const (
	RoleOperator    = "operator"
	RoleCountyAdmin = "system_admin"
	RoleUnitAdmin   = "unit_admin"
	RoleClerk       = "clerk"
)

// ReservedRoles are the codes the platform gives a meaning of its own: the
// operator's role, the role every account holds without being given it,
// and the kinds of principal. No county may create or give a role by one
// of these codes, and an account's principal never carries one, so that
// no county's role table can reach a right the policy keeps for the
// platform.
func ReservedRoles() []string {
	return []string{RoleOperator, RoleStaff, string(KindAccount), string(KindAnonymous)}
}

// IsReservedRole reports whether code is one of ReservedRoles.
func IsReservedRole(code string) bool { return slices.Contains(ReservedRoles(), code) }

// Principal is who is calling: established from a token, then bound to
// the request's county and checked against the policy.
type Principal struct {
	Kind  Kind   `json:"kind"`
	ID    int64  `json:"id,omitempty"`
	Login string `json:"login,omitempty"`
	Name  string `json:"name,omitempty"`
	// Tenant is the county an account belongs to; "" for operators.
	Tenant string   `json:"tenant,omitempty"`
	Unit   int64    `json:"unit_id,omitempty"`
	Roles  []string `json:"roles,omitempty"`
	// Session is the login an access token belongs to.
	Session string `json:"-"`
	// Scopes limit an API token ("read", "write"); empty for logins.
	Scopes []string `json:"scopes,omitempty"`
	// MustChange holds a caller whose password was handed out by someone
	// else to changing it before anything else.
	MustChange bool `json:"must_change_password,omitempty"`
	// SecurityVersion is the account's security version when its token
	// was issued: a change of its roles, unit, status or password gives
	// the account a new one, and a token of an older one is refused.
	SecurityVersion int64 `json:"-"`
}

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// anonymous is the principal of a request without a token.
var anonymous = Principal{Kind: KindAnonymous, Login: "anonymous"}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom is the caller the guard admitted; anonymous if none.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return anonymous
}
